"""The facilitator kit in notebooks/workshop/: guide, cheat sheet, quiz, slides."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import retainkit as rk
from retainkit import workshop

WORKSHOP = Path(__file__).resolve().parents[2] / "notebooks" / "workshop"


def _read(name: str) -> str:
    return (WORKSHOP / name).read_text(encoding="utf-8")


def test_guide_has_two_sessions_prerequisites_and_every_notebook():
    guide = _read("README.md")
    assert "**Session 1" in guide and "**Session 2" in guide and "break" in guide
    for nb in sorted(WORKSHOP.glob("*.ipynb")):
        assert f"`{nb.stem}`" in guide, nb.stem
        assert nb.stem[:2] in re.findall(r"\*\*(\d\d) ·", guide), nb.stem  # notes per notebook
    pandas_level = set(workshop.exercises().query("level == 'pandas'")["exercise"])
    prerequisites = guide.split("## Timetable")[0]
    assert all(eid in prerequisites for eid in pandas_level), pandas_level
    assert guide.count("*Discuss") >= 7  # a discussion prompt per notebook
    for doc in ("cheatsheet.md", "quiz.md", "slides.md"):
        assert doc in guide


def test_session_minutes_add_up_to_three_hours_each():
    guide = _read("README.md")
    for session in guide.split("**Session ")[1:3]:
        table = session.split("\n\n")[1]
        minutes = [int(m) for m in re.findall(r"^\| [\d:]+ \| .*? \| (\d+) \|", table, flags=re.M)]
        assert sum(minutes) == 180, minutes


def test_cheat_sheet_summarises_every_definitions_section():
    sheet = _read("cheatsheet.md")
    for n in range(1, 7):
        assert f"## §{n} " in sheet


def test_quiz_has_ten_questions_and_answers_that_retainkit_confirms():
    quiz = _read("quiz.md")
    questions, answers = quiz.split("## Answers")
    assert len(re.findall(r"^\s?\d+\. ", questions, flags=re.M)) == 10
    assert len(re.findall(r"^\s?\d+\. ", answers, flags=re.M)) == 10
    assert rk.crr_from_counts(start=1000, end=1100, new=300) == pytest.approx(0.80) and "CRR = 80 %" in answers
    assert (100 + 50 + 50) / 1200 == pytest.approx(0.1667, abs=1e-4) and "16.7 %" in answers
    assert (0.1 + 0.5 + 0.5) / 3 == pytest.approx(0.3667, abs=1e-4) and "36.7 %" in answers
    assert rk.clv_margin_multiple(100, 0.9, 0.1) == pytest.approx(450) and "**450**" in answers
    assert 100 * 1 * 0.01 * (1 - 0.30) == pytest.approx(0.70) and "0.70 euro" in answers
    assert "25–85 %" in answers and "net of the" in answers


def test_slides_are_short_and_cite_the_claim_correctly():
    slides = _read("slides.md")
    n = len([s for s in re.split(r"^---\s*$", slides, flags=re.M) if s.strip()])
    assert 10 <= n <= 16
    assert "25–85 %" in slides and "Reichheld & Sasser (1990)" in slides
    assert "--data sample" in slides and "--sample" not in slides.replace("--data sample", "")


def test_kit_refers_to_nothing_outside_the_repository():
    for name in ("README.md", "cheatsheet.md", "quiz.md", "slides.md"):
        text = _read(name)
        assert "../shared" not in text and "/work/" not in text, name
