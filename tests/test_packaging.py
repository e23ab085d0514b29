"""Project hygiene: one package list, an explicit sorted public API, docstrings citing the definitions."""

from __future__ import annotations

import inspect
import re
import tomllib
from pathlib import Path

import yaml

import retainkit

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from PyPI names
CONDA_TO_PYPI = {"python-duckdb": "duckdb", "python-build": "build"}


def _name(spec: str) -> str:
    return re.split(r"[<>=!\[ ;]", spec.strip(), maxsplit=1)[0].lower()


def test_pyproject_and_environment_list_the_same_packages():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    py = {_name(s) for s in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        py |= {_name(s) for s in extra}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = set()
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            name = _name(dep)
            if name not in ("python", "pip"):
                conda.add(CONDA_TO_PYPI.get(name, name))
        else:  # the pip: section (packages conda-forge does not have), without the project itself
            conda |= {_name(d) for d in dep.get("pip", []) if not d.startswith("-")}
    assert py == conda, f"only in pyproject: {sorted(py - conda)}; only in environment.yml: {sorted(conda - py)}"


def test_public_api_is_explicit_and_sorted():
    names = retainkit.__all__
    assert names == sorted(names, key=lambda s: (s.startswith("_"), s.lower())) or names == sorted(names)
    for name in names:
        assert hasattr(retainkit, name), name


def test_public_functions_cite_the_definitions():
    missing = []
    for name in retainkit.__all__:
        obj = getattr(retainkit, name)
        if inspect.isfunction(obj) and obj.__module__.startswith("retainkit"):
            doc = inspect.getdoc(obj) or ""
            if "§" not in doc and "definitions" not in doc.lower():
                missing.append(name)
    assert not missing, f"public functions whose docstring cites no definitions section: {missing}"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make test" in ci


def test_notebooks_are_committed_without_outputs():
    import json

    for nb in ROOT.glob("**/*.ipynb"):
        if ".ipynb_checkpoints" in nb.parts or ".venv" in nb.parts or "reports" in nb.parts:
            continue
        cells = json.loads(nb.read_text())["cells"]
        assert not any(c.get("outputs") for c in cells if c["cell_type"] == "code"), nb
