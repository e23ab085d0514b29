"""The built wheel works without the source checkout (packaging, README "Installation").

Builds the wheel with ``python -m build`` (no build isolation: no network),
installs it with ``--no-deps`` into a fresh venv whose only other packages are
the dev venv's site-packages (added through a .pth file, so nothing is
downloaded), and checks from a directory outside the checkout that the bundled
sample data and report notebook are found through importlib.resources and that
the ``retainkit`` command runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]

CHECK = r"""
import importlib.resources as res, json, sys
import retainkit
files = res.files("retainkit")
data = files / "data" / "sample_transactions.csv"
nb = files / "notebooks" / "retention_report.ipynb"
from retainkit import definitions
print(json.dumps({
    "definitions": definitions.resolve("4.3").title,
    "definitions_html": 'id="def-4"' in definitions.section_html("4"),
    "module": retainkit.__file__,
    "data": data.is_file() and data.read_text(encoding="utf-8").startswith(""),
    "data_rows": sum(1 for _ in data.open(encoding="utf-8")) - 1,
    "notebook": nb.is_file() and "cells" in json.loads(nb.read_text(encoding="utf-8")),
}))
"""


def _run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)], cwd=ROOT)
    wheels = list(out.glob("retainkit-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory, wheel) -> Path:
    env_dir = tmp_path_factory.mktemp("venv") / "clean"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(env_dir)
    py = env_dir / "bin" / "python"
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    # the dev venv's packages (pandas, altair, ...) without its editable retainkit: plain path entry,
    # whose own .pth files (the editable finder) are not processed
    (site / "zz_dev_site_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "--quiet", str(wheel)]
    )
    return env_dir


def test_wheel_contains_package_data(wheel):
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    assert "retainkit/data/sample_transactions.csv" in names
    assert "retainkit/notebooks/retention_report.ipynb" in names
    assert "retainkit/backends.py" in names
    for lang in ("el", "hy"):  # the catalogues are read as .po at run time (retainkit.i18n)
        assert f"retainkit/locale/{lang}/LC_MESSAGES/retainkit.po" in names
    assert "retainkit/locale/glossary.csv" in names and "retainkit/locale/retainkit.pot" in names
    assert "retainkit/definitions.md" in names, "the definitions document must ship in the wheel"
    # the workshop: its package, the CDNOW log with its licence note, the hand-out templates
    for name in (
        "retainkit/workshop/checking.py",
        "retainkit/data/cdnow_master.txt.gz",
        "retainkit/data/CDNOW-README.md",
        "retainkit/templates/notebook.html.j2",
        "retainkit/templates/slides.html.j2",
    ):
        assert name in names, name


def test_installed_wheel_finds_bundled_files_outside_the_checkout(fresh_venv, tmp_path):
    import json

    py = fresh_venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    out = json.loads(_run([str(py), "-c", CHECK], cwd=tmp_path, env=env).stdout.strip().splitlines()[-1])
    assert Path(out["module"]).resolve().is_relative_to(fresh_venv.resolve()), out["module"]
    assert out["data"] and out["data_rows"] > 1000
    assert out["notebook"]
    assert out["definitions"] == "Who is a customer at a boundary"
    assert out["definitions_html"]


def test_retainkit_command_runs_from_the_wheel(fresh_venv, tmp_path):
    exe = fresh_venv / "bin" / "retainkit"
    assert exe.exists(), "the wheel did not install the retainkit console script"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = _run([str(exe), "--help"], cwd=tmp_path, env=env)
    assert "report" in proc.stdout


LANG_CHECK = r"""
import json
import retainkit
from retainkit.i18n import catalogue_path, glossary, translator
print(json.dumps({
    "po": str(catalogue_path("hy")),
    "el": translator("el").gettext("Customer retention report"),
    "hy_money": translator("hy").format_currency(1234.5, "AMD"),
    "glossary": [g["term"] for g in glossary("el") if g["key"] == "cohort"],
}, ensure_ascii=False))
"""


def test_installed_wheel_speaks_greek_and_armenian(fresh_venv, tmp_path):
    import json

    py = fresh_venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    out = json.loads(_run([str(py), "-c", LANG_CHECK], cwd=tmp_path, env=env).stdout.strip().splitlines()[-1])
    assert Path(out["po"]).resolve().is_relative_to(fresh_venv.resolve()), out["po"]
    assert out["el"] == "Αναφορά διατήρησης πελατών"
    assert out["hy_money"] == "1\u00a0234,50\u00a0֏"
    assert out["glossary"] == ["κοόρτη"]
