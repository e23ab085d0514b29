"""The workshop notebooks as files and executed by papermill: model answers, blanks and a wrong answer each.

Every notebook runs twice: with ``solutions=True`` (every check must pass) and as a
learner would leave it, with one exercise answered wrongly (that check must print the
exact feedback) and the others blank ("not answered yet").
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from retainkit import workshop

from ..conftest import execute_notebook

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks" / "workshop"
NAMES = [
    "01_crr_by_hand",
    "02_cohort_triangle",
    "03_averages_mislead",
    "04_clv_and_five_percent",
    "05_loyalty_programs",
    "06_recurring_reports",
    "07_case_cdnow",
]

#: One wrong answer per notebook, as a learner would type it, and the exact feedback printed.
WRONG = {
    "01_crr_by_hand": (
        "01.4",
        "(7 - 2) / 10",
        (
            "✘ Exercise 01.4: not right yet. 0.5 is not it.\n  Hint: More than one known mistake gives this answer. "
            "If you counted the retained customers one by one (in S and in E) and divided by S: that is the identity "
            "CRR of exercise 01.5. Here plug the three counts into (E - N) / S. If you used everyone who ever bought "
            "before 1 April as S: S is only who was active in the 90 days before 1 April."
        ),
    ),
    "02_cohort_triangle": (
        "02.3",
        "active.div(active.shift(1, axis=1)).fillna({0: 1.0})",
        (
            "✘ Exercise 02.3: not right yet. Not the classic retention triangle.\n  Hint: If you divided each month by "
            "the month before (month-over-month): retention divides every age by the cohort's size at age 0."
        ),
    ),
    "03_averages_mislead": (
        "03.2",
        "(model.alpha_, model.beta_)",
        (
            "✘ Exercise 03.2: not right yet. [0.668088, 3.8061] is not it.\n  Hint: If you reused the High End fit from "
            "above: refit on the Regular cohort."
        ),
    ),
    "04_clv_and_five_percent": (
        "04.3",
        "impact.metrics['npv_increase']",
        (
            "✘ Exercise 04.3: not right yet. 34.3055 is not it.\n  Hint: If you gave the rise in money per customer: "
            "the question asks for it as a percent of the NPV before."
        ),
    ),
    "05_loyalty_programs": (
        "05.7",
        "lift.retention_lift + 0.02",
        (
            "✘ Exercise 05.7: not right yet. 0.0819901 is not it.\n  Hint: Four numbers: each group's mean active share "
            'in the baseline window and in the post window. For the next hint: workshop.hint("05.7", 2).'
        ),
    ),
    "06_recurring_reports": (
        "06.3",
        "'6 0 * * 1'",
        (
            "✘ Exercise 06.3: not right yet. '6 0 * * 1' is not it.\n  Hint: If you wrote the hour first: the minute "
            "comes first, then the hour."
        ),
    ),
    "07_case_cdnow": (
        "07.2",
        "rk.crr_table(cd, 'Q', window='90D').set_index('period').loc['1997-Q3', 'crr_counts']",
        (
            "✘ Exercise 07.2: not right yet. 0.788238 is not it.\n  Hint: If you used (E - N) / S: it counts the "
            "customers who came back after a break as retained. The question asks for the identity CRR."
        ),
    ),
}


def _cells(name: str) -> list[dict]:
    return json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]


def _checked_ids(cells: list[dict]) -> list[str]:
    return [
        m
        for c in cells
        if c["cell_type"] == "code"
        for m in re.findall(r'workshop\.check\("(\d\d\.\d+)"', "".join(c["source"]))
    ]


def test_every_notebook_is_listed():
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == NAMES
    assert sorted({n[:2] for n in NAMES}) == sorted(workshop.exercises()["notebook"].unique())


@pytest.mark.parametrize("name", NAMES)
def test_notebook_files_are_clean_and_cover_their_exercises(name):
    cells = _cells(name)
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    assert "solutions: bool = False  # fill in model answers" in "".join(tagged[0]["source"])
    for c in cells:
        if c["cell_type"] == "code":
            assert c["outputs"] == [] and c["execution_count"] is None, "commit notebooks without outputs"
            assert len("".join(c["source"]).splitlines()) <= 16, "a longer cell is a function waiting to move"
    assert _checked_ids(cells) == list(workshop.exercises(name[:2])["exercise"])
    text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert "**Discuss" in text and "**Take-aways.**" in text
    assert "../shared" not in text and "/work/" not in text


def test_no_notebook_shows_an_option_the_cli_does_not_have():
    text = "".join("".join(c["source"]) for n in NAMES for c in _cells(n))
    assert "--sample" not in text


def test_contractual_and_non_contractual_are_defined_once():
    defined = [n for n in NAMES if "**Contractual**" in "".join("".join(c["source"]) for c in _cells(n))]
    assert defined == ["03_averages_mislead"]


def _outputs(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    texts = []
    for c in cells:
        if c["cell_type"] == "code" and _checked_ids([c]):
            texts.append("".join("".join(o.get("data", {}).get("text/plain", "")) for o in c["outputs"]))
    assert len(texts) == len(_checked_ids(cells))
    return texts


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_with_solutions_passes_every_check(name, tmp_path):
    out = tmp_path / f"{name}-solved.ipynb"
    execute_notebook(
        NOTEBOOKS / f"{name}.ipynb",
        out,
        parameters={"solutions": True},
        cwd=str(tmp_path),
        progress_bar=False,
        kernel_name="python3",
    )
    ids = list(workshop.exercises(name[:2])["exercise"])
    for eid, text in zip(ids, _outputs(out)):
        assert text.startswith(f"✔ Exercise {eid}: correct"), text


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_as_a_learner_leaves_it_with_one_wrong_answer(name, tmp_path):
    eid, wrong, expected = WRONG[name]
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    var = "answer_" + eid.replace(".", "_")
    cell = next(
        c for c in nb.cells if c.cell_type == "code" and c.source.rstrip().splitlines()[-1].startswith(f"{var} = ")
    )
    cell.source = f"{var} = {wrong}  # a learner's wrong answer"
    src = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, src)
    out = tmp_path / f"{name}-learner.ipynb"
    execute_notebook(
        src, out, parameters={"solutions": False}, cwd=str(tmp_path), progress_bar=False, kernel_name="python3"
    )
    ids = list(workshop.exercises(name[:2])["exercise"])
    for i, text in zip(ids, _outputs(out)):
        if i == eid:
            assert text == expected
        else:
            assert text.startswith(f"… Exercise {i}: not answered yet"), text
