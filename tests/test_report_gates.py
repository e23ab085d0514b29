"""Reports never publish a wrong picture: data and freshness gates, warnings, nothing of the machine.

Real CLI runs (in-process ``retainkit.cli.main``) on several inputs: the
CDNOW log written day-first with a few broken rows, a stale feed, a Latin-1
file with an outlier year, the bundled sample. A few reports are built once
per module (each run starts a kernel); the failing runs check the exit code,
the message and that the published report is byte-identical afterwards.
"""

from __future__ import annotations

import contextlib
import getpass
import io
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retainkit import cli
from retainkit.datasets import sample_path

pytestmark = pytest.mark.slow

EXIT_OK, EXIT_FAILED, EXIT_PARAMETER, EXIT_DATA = 0, 1, 2, 3


def run(*args: str) -> tuple[int, str]:
    """``retainkit report ...`` in this process: (exit code, stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        # --keep-notebook: the tests read the executed notebook's streams (no stderr output in any cell)
        code = cli.main(["report", "-q", "--keep-notebook", *args])
    return code, err.getvalue()


@pytest.fixture(scope="module")
def inputs(cdnow, tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    part = cdnow[cdnow["customer_id"].astype(int) <= 4000].reset_index(drop=True)
    day = pd.to_datetime(part["date"], format="%Y%m%d")
    dmy = part.assign(date=day.dt.strftime("%d/%m/%Y"))
    paths = {"dmy": folder / "cdnow_dmy.csv", "iso": folder / "cdnow_iso.csv"}
    dmy.to_csv(paths["dmy"], index=False)
    part.assign(date=day.dt.strftime("%Y-%m-%d")).to_csv(paths["iso"], index=False)
    rng = np.random.default_rng(3)
    for share in (0.03, 0.10):
        broken = dmy.copy()
        broken.loc[rng.choice(len(broken), int(share * len(broken)), replace=False), "date"] = "31/13/1998"
        paths[f"broken{int(share * 100)}"] = folder / f"cdnow_dmy_broken{int(share * 100)}.csv"
        broken.to_csv(paths[f"broken{int(share * 100)}"], index=False)
    ambiguous = dmy[day.dt.day <= 12]
    paths["ambiguous"] = folder / "cdnow_ambiguous.csv"
    ambiguous.to_csv(paths["ambiguous"], index=False)
    sample = pd.read_csv(sample_path())
    sample["city"] = np.array(["München", "Köln", "Zürich", "Berlin"])[np.arange(len(sample)) % 4]
    sample.loc[5, "timestamp"] = "1900-03-04 10:00:00"  # a mistyped year
    paths["latin1"] = folder / "sample_latin1.csv"
    paths["latin1"].write_bytes(sample.to_csv(index=False).encode("latin-1"))
    return paths


@pytest.fixture(scope="module")
def reports(inputs, tmp_path_factory):
    """The published reports, built once: {name: (exit code, stderr, report folder)}."""
    out = tmp_path_factory.mktemp("reports")

    # named schedules for the CDNOW copies (a derived schedule name refuses a second data source: exit 2),
    # all under one reports folder
    def cdnow_args(schedule: str = "cdnow") -> list[str]:
        return ["--timestamp", "date", "--schedule", schedule, "--out", str(out / "cdnow")]

    built = {
        "sample": run("--data", "sample", "--segment", "channel", "--as-of", "2024-12-31", "--out", str(out / "s"))
        + (out / "s" / "monthly-by-channel" / "2024-12-31",),
        "dmy_warning": run("--data", str(inputs["broken3"]), *cdnow_args(), "--as-of", "1998-06-30")
        + (out / "cdnow" / "cdnow" / "1998-06-30",),
        # the clean file on a schedule of its own: on the "cdnow" schedule the history check would rightly
        # refuse it (exit 4), its closed months differ from the report built from the broken copy
        "stale_allowed": run(
            "--data", str(inputs["dmy"]), *cdnow_args("cdnow-full"), "--as-of", "1998-09-30", "--allow-stale"
        )
        + (out / "cdnow" / "cdnow-full" / "1998-09-30",),
        "latin1": run(
            "--data",
            str(inputs["latin1"]),
            "--segment",
            "city",
            "--encoding",
            "latin-1",
            "--as-of",
            "2024-12-31",
            "--charts",
            "svg",
            "--out",
            str(out / "l"),
        )
        + (out / "l" / "monthly-by-city" / "2024-12-31",),
    }
    return out, built


def _pages(out: Path) -> dict[Path, bytes]:
    """Every published report page under a reports folder (any schedule, any date), with its bytes."""
    return {p: p.read_bytes() for p in sorted(out.rglob("retention-report.html"))}


def _summary(folder: Path) -> dict:
    return json.loads((folder / "report-summary.json").read_text(encoding="utf-8"))


def test_every_report_published(reports):
    _, built = reports
    for name, (code, err, folder) in built.items():
        assert code == EXIT_OK, (name, err)
        assert (folder / "retention-report.html").is_file()


def test_nothing_of_the_machine_in_any_published_page(reports, inputs):
    out, built = reports
    user = getpass.getuser()
    machine = [str(out), str(inputs["dmy"].parent), str(Path.home()), os.getcwd(), str(Path(cli.__file__).parent)]
    for name, (_, _, folder) in built.items():
        html = (folder / "retention-report.html").read_text(encoding="utf-8")
        for text in machine:
            assert text not in html, (name, text)
        assert f"/{user}/" not in html and "site-packages" not in html
        assert "Traceback" not in html and not re.search(r"\.py:\d+", html)
        # a printed Python warning or error ("RuntimeWarning: ...") in what the page shows: the Vega library's
        # code and the embedded definitions (which name DataError as a term) aside
        shown = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S | re.I)
        shown = re.sub(r'<details class="[^"]*rk-definitions[^"]*".*?</details>', "", shown, flags=re.S)
        assert not re.search(r"\b[A-Z]\w*(Warning|Error)\b", shown), (
            name,
            re.findall(r"\w*(?:Warning|Error)\b", shown),
        )
        nb = json.loads((folder / "retention-report.ipynb").read_text(encoding="utf-8"))
        streams = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("name") == "stderr"]
        assert not streams, (name, streams)


def test_the_header_shows_the_first_and_last_transaction(reports):
    _, built = reports
    html = (built["dmy_warning"][2] / "retention-report.html").read_text(encoding="utf-8")
    assert "first transaction Jan 1, 1997, last Jun 30, 1998" in html  # dates in the page language
    summary = _summary(built["dmy_warning"][2])
    assert (summary["first_transaction"], summary["last_transaction"]) == ("1997-01-01", "1998-06-30")


def test_a_clean_run_is_ok_without_banner(reports):
    _, built = reports
    code, err, folder = built["sample"]
    assert _summary(folder)["status"] == "ok" and _summary(folder)["warnings"] == []
    assert "warning" not in err
    assert 'class="rk-warning rk-banner"' not in (folder / "retention-report.html").read_text(encoding="utf-8")


def test_between_one_percent_and_the_gate_the_report_warns_everywhere(reports):
    _, built = reports
    code, err, folder = built["dmy_warning"]
    summary = _summary(folder)
    assert summary["status"] == "warning"
    assert any("(3.0%) are unusable" in w and "31/13/1998" in w for w in summary["warnings"])
    assert "retainkit: warning:" in err and "(3.0%) are unusable" in err
    html = (folder / "retention-report.html").read_text(encoding="utf-8")
    assert html.index('class="rk-warning rk-banner"') < html.index("Headline figures")


def test_dmy_report_has_the_numbers_of_the_iso_log(reports, inputs, tmp_path):
    _, built = reports
    code, err = run(
        "--data", str(inputs["iso"]), "--timestamp", "date", "--as-of", "1998-06-30", "--out", str(tmp_path)
    )
    assert code == EXIT_OK, err
    clean = _summary(tmp_path / "monthly" / "1998-06-30")["kpis"]
    broken = _summary(built["dmy_warning"][2])["kpis"]
    # 3 % of the rows were dropped from the day-first copy: close, and the clean day-first log is exact
    assert broken["customers"]["value"] <= clean["customers"]["value"]
    code, err = run(
        "--data", str(inputs["dmy"]), "--timestamp", "date", "--as-of", "1998-06-30", "--out", str(tmp_path / "dmy")
    )
    assert code == EXIT_OK, err
    dmy = _summary(tmp_path / "dmy" / "monthly" / "1998-06-30")["kpis"]
    assert {k: v["value"] for k, v in dmy.items()} == {k: v["value"] for k, v in clean.items()}


def test_stale_data_fails_with_exit_3_unless_allowed(reports, inputs):
    out, built = reports
    folder = built["stale_allowed"][2]
    assert any("allowed by allow_stale" in w for w in _summary(folder)["warnings"])
    before = (folder / "retention-report.html").read_bytes()
    pages = _pages(out / "cdnow")
    code, err = run(
        "--data",
        str(inputs["dmy"]),
        "--timestamp",
        "date",
        "--schedule",
        "cdnow",
        "--out",
        str(out / "cdnow"),
        "--as-of",
        "1998-09-30",
    )
    assert code == EXIT_DATA
    assert "last transaction is dated 1998-06-30" in err and "--as-of 1998-06-30" in err and "--allow-stale" in err
    assert (folder / "retention-report.html").read_bytes() == before
    assert _pages(out / "cdnow") == pages  # nothing published anywhere else either


@pytest.mark.parametrize(
    "case,args,message",
    [
        ("broken10", [], "more than max_dropped=5.0%"),
        ("ambiguous", [], "every date fits both day/month/year and month/day/year"),
    ],
)
def test_bad_data_fails_with_exit_3_and_the_report_untouched(reports, inputs, case, args, message):
    out, built = reports
    folder = built["dmy_warning"][2]
    before = {p.name: p.read_bytes() for p in folder.iterdir() if "FAILED" not in p.name}
    pages = _pages(out / "cdnow")
    code, err = run(
        "--data",
        str(inputs[case]),
        "--timestamp",
        "date",
        "--schedule",
        "cdnow",
        "--out",
        str(out / "cdnow"),
        "--as-of",
        "1998-06-30",
        *args,
    )
    assert code == EXIT_DATA and message in err
    assert {p.name for p in folder.iterdir()} == set(before)  # no file added (nor a FAILED one) to the report
    for name, content in before.items():
        assert (folder / name).read_bytes() == content
    assert _pages(out / "cdnow") == pages  # nothing published anywhere else either


def test_undecodable_input_fails_with_exit_3_naming_line_and_fix(reports, inputs):
    out, built = reports
    folder = built["latin1"][2]
    before = (folder / "retention-report.html").read_bytes()
    pages = _pages(out / "l")
    code, err = run(
        "--data", str(inputs["latin1"]), "--segment", "city", "--as-of", "2024-12-31", "--out", str(out / "l")
    )
    assert code == EXIT_DATA
    assert "line 2 is not valid UTF-8" in err and "--encoding latin-1" in err
    assert (folder / "retention-report.html").read_bytes() == before
    assert _pages(out / "l") == pages  # nothing published anywhere else either


def test_latin1_names_and_an_outlier_year_are_published_as_notes(reports):
    _, built = reports
    folder = built["latin1"][2]
    html = (folder / "retention-report.html").read_text(encoding="utf-8")
    for city in ("München", "Köln", "Zürich"):
        assert city in html
    summary = _summary(folder)
    assert summary["status"] == "warning"
    assert any("far from the rest" in w and "1900" in w for w in summary["warnings"])
    assert "far from the rest" in html


@pytest.mark.parametrize(
    "as_of,message",
    [
        ("30/06/1998", "not accepted"),
        ("06/30/1998", "not accepted"),
        ("1998-6-30", "not accepted"),
        ("2999-01-01", "in the future"),
        ("yesterday", "YYYY-MM-DD"),
    ],
)
def test_as_of_means_one_thing(inputs, tmp_path, as_of, message):
    code, err = run("--data", str(inputs["dmy"]), "--timestamp", "date", "--as-of", as_of, "--out", str(tmp_path))
    assert code == EXIT_PARAMETER and message in err and "YYYY-MM-DD" in err
    # nothing published: no schedule or report folder, only the index and the record of the failed attempt
    assert not list(tmp_path.rglob("retention-report.html"))
    assert {p.name for p in tmp_path.iterdir()} <= {"index.html", "runs"}


def test_as_of_from_yaml_and_p_pairs_is_checked_the_same_way(inputs, tmp_path):
    yaml_file = tmp_path / "params.yaml"
    yaml_file.write_text(f"data: {inputs['dmy']}\ntimestamp: date\nas_of: 30/06/1998\n", encoding="utf-8")
    code, err = run("-f", str(yaml_file), "--out", str(tmp_path / "out"))
    assert code == EXIT_PARAMETER and "not accepted" in err
    code, err = run("--data", str(inputs["dmy"]), "-p", "as_of", "06/30/1998", "--out", str(tmp_path / "out"))
    assert code == EXIT_PARAMETER and "not accepted" in err
