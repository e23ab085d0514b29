"""The checker (retainkit.workshop.checking / catalogue): forms, feedback rules, hints, tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import retainkit as rk
from retainkit import workshop
from retainkit.exceptions import ParameterError

IDS = list(workshop.EXERCISES)


@pytest.mark.parametrize("eid", IDS)
def test_model_answer_passes_and_none_is_unanswered(eid):
    res = workshop.check(eid, workshop.solution(eid))
    assert res.ok and res.status == "correct", str(res)
    assert str(res).startswith(f"✔ Exercise {eid}: correct.")
    for blank in (None, ...):
        res = workshop.check(eid, blank)
        assert res.status == "unanswered" and not res.ok
        assert str(res).startswith(f"… Exercise {eid}: not answered yet.")


@pytest.mark.parametrize("eid", IDS)
def test_every_catalogued_mistake_gets_its_own_conditional_feedback(eid):
    ex = workshop.exercise(eid)
    catalogue = ex.mistakes()
    for value, text in catalogue:
        assert text.startswith("If you "), (eid, text)  # named conditionally, never asserted
        res = workshop.check(eid, value)
        assert res.status == "wrong", (eid, value)
        same = [t for v, t in catalogue if workshop.check(eid, v).hint == res.hint]
        if res.hint.startswith("More than one known mistake gives this answer. "):
            assert text in res.hint  # a collision names every mistake that gives the number
        else:
            assert res.hint == text, (eid, value, res.hint)
        assert text in same


@pytest.mark.parametrize("eid", IDS)
def test_wrong_answers_never_raise_and_always_hint(eid):
    for junk in ("abc", object(), [1.0, 2.0, 3.0], {"x": 1}, -12345.678, True, pd.DataFrame({"a": [1]})):
        res = workshop.check(eid, junk)
        assert res.status == "wrong", (eid, junk, str(res))
        assert res.hint, (eid, junk)
        assert str(res).startswith(f"✘ Exercise {eid}: not right yet.")


@settings(max_examples=60, deadline=None)
@given(
    eid=st.sampled_from(IDS),
    answer=st.one_of(
        st.none(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(),
        st.text(max_size=12),
        st.lists(st.floats(allow_nan=True), max_size=6),
        st.lists(st.lists(st.floats(allow_nan=True), min_size=5, max_size=5), max_size=5),
    ),
)
def test_check_never_raises(eid, answer):
    res = workshop.check(eid, answer)
    assert res.status in ("correct", "wrong", "unanswered")
    assert isinstance(res._repr_html_(), str)


@pytest.mark.parametrize("eid", IDS)
def test_hints_come_in_tiers_and_never_print_the_solution(eid):
    ex = workshop.exercise(eid)
    assert len(ex.hints) >= 2, eid
    for level in range(1, len(ex.hints) + 1):
        h = workshop.hint(eid, level)
        assert (h.level, h.levels) == (level, len(ex.hints))
        assert str(h).startswith(f"Hint {level} of {len(ex.hints)} for exercise {eid}: {ex.hints[level - 1]}")
        assert ex.model not in h.text
        assert "retention_profit_impact(" not in h.text and "solution(" not in h.text
    assert workshop.hint(eid, 99).level == len(ex.hints)
    assert f'workshop.hint("{eid}", 2)' in str(workshop.hint(eid))
    assert "last hint" in str(workshop.hint(eid, len(ex.hints)))


def test_hint_text_for_the_triangle():
    assert str(workshop.hint("02.3")) == (
        "Hint 1 of 3 for exercise 02.3: You already have `active` (counts). What does each row need to be divided "
        'by? Still stuck? workshop.hint("02.3", 2).'
    )
    assert 'data-level="2"' in workshop.hint("02.3", 2)._repr_html_()
    with pytest.raises(ParameterError, match="level"):
        workshop.hint("02.3", 0)


def test_unknown_exercise_is_a_parameter_error():
    with pytest.raises(ParameterError, match="02.3"):
        workshop.check("99.9", 1)
    with pytest.raises(ParameterError):
        workshop.exercises("42")
    with pytest.raises(ParameterError):
        workshop.hint("99.9")


def test_exercise_table_lists_levels():
    table = workshop.exercises()
    assert list(table.columns) == ["exercise", "notebook", "kind", "level", "question", "model"]
    assert sorted(table["notebook"].unique()) == ["01", "02", "03", "04", "05", "06", "07"]
    assert set(table.loc[table["level"] == "pandas", "exercise"]) >= {"02.3", "05.7"}
    assert list(workshop.exercises("3")["exercise"]) == [e for e in IDS if e.startswith("03.")]


def test_result_display_is_escaped():
    res = workshop.check("01.6", "<script>")
    assert "<script>" not in res._repr_html_()
    assert 'data-status="wrong"' in res._repr_html_()


@pytest.mark.parametrize("answer", [0.8, 80, "80%", "80 %", np.float64(0.8), pd.Series([0.8]), [80.0], 0.80001])
def test_rate_forms_are_accepted(answer):
    assert workshop.check("01.1", answer).ok


def test_values_are_quoted_as_typed_never_rescaled():
    assert str(workshop.check("01.1", 79)).splitlines()[0] == "✘ Exercise 01.1: not right yet. 79 is not it."
    assert workshop.check("01.1", 79.6).hint.startswith("Close: check the rounding")
    assert "'79 %' is not it." in str(workshop.check("01.1", "79 %"))
    assert "105138.47 is not it." in str(workshop.check("05.3", 105138.47))


def test_s_e_n_forms():
    s, e, n = workshop.solution("01.3")
    for form in (
        (s, e, n),
        [s, e, n],
        np.array([s, e, n]),
        pd.Series([s, e, n]),
        {"S": s, "E": e, "N": n},
        {"s": s, "e": e, "n": n},
    ):
        assert workshop.check("01.3", form).ok, form


def test_id_forms():
    for form in ("gus", "Gus", ["Gus"], {"GUS"}, pd.Series(["Gus"]), np.array(["Gus"])):
        assert workshop.check("01.6", form).ok


def test_fitted_model_is_an_answer():
    model = rk.ShiftedBetaGeoFitter().fit(workshop.FADER_HARDIE["regular"][:8])
    assert workshop.check("03.2", model).ok
    assert workshop.check("03.2", {"alpha": 0.704, "beta": 1.182}).ok


# --------------------------------------------------------------------------- tables (02.3)
def _hand_active() -> pd.DataFrame:
    log = workshop.cohort_log()
    month = log["timestamp"].dt.year * 12 + log["timestamp"].dt.month - 1
    cohort = month.groupby(log["customer_id"]).transform("min")
    hand = log.assign(cohort=cohort, age=month - cohort)
    return hand.groupby(["cohort", "age"])["customer_id"].nunique().unstack("age")


def test_triangle_forms():
    sol = workshop.solution("02.3")
    active = _hand_active()
    for form in (
        sol,
        sol * 100,
        sol.to_numpy(),
        sol.to_numpy().tolist(),
        sol.reset_index(),
        sol.rename(index=lambda x: x.replace("-", "/")),
        active.div(active[0], axis=0),
    ):
        assert workshop.check("02.3", form).ok


def _line(res) -> list[str]:
    return str(res).split("\n")


def test_triangle_feedback_exact():
    sol = workshop.solution("02.3")
    active = _hand_active()
    mom = active / active.shift(1, axis=1)
    mom[0] = 1.0
    assert _line(workshop.check("02.3", mom)) == [
        "✘ Exercise 02.3: not right yet. Not the classic retention triangle.",
        "  Hint: If you divided each month by the month before (month-over-month): retention divides every age by "
        "the cohort's size at age 0.",
    ]
    assert _line(workshop.check("02.3", 100 * mom)) == _line(workshop.check("02.3", mom))
    bad = mom.copy()
    bad.iloc[0, 4] = 0.7  # no longer the catalogued mistake: the message quotes the learner's own value
    assert _line(workshop.check("02.3", bad))[0] == (
        "✘ Exercise 02.3: not right yet. 6 cell(s) differ, e.g. cohort 2023-01, age 2: yours 1."
    )
    assert workshop.check("02.3", sol.fillna(0)).hint.startswith("If you filled the empty cells with 0")
    cohorts = rk.cohort_table(workshop.load_cohort_log())
    assert workshop.check("02.3", rk.retention_matrix(cohorts, "unbounded")).hint.startswith(
        "If you counted customers active at age k OR LATER"
    )
    assert workshop.check("02.3", 100 * rk.retention_matrix(cohorts, "unbounded")).hint.startswith(
        "If you counted customers active at age k OR LATER"
    )
    assert workshop.check("02.3", active).hint.startswith("If you left the counts of active customers undivided")
    assert _line(workshop.check("02.3", sol.round(2))) == [
        "✘ Exercise 02.3: not right yet. Nearly: the numbers differ in the last digits.",
        "  Hint: Close: every cell is within 0.01 of the right value and the missing cells are right. Check the "
        "rounding (3 decimals, or leave the numbers unrounded).",
    ]
    assert workshop.check("02.3", (100 * sol).round(0)).hint.startswith("Close: every cell")
    assert workshop.check("02.3", sol.T).hint.startswith("If you put the cohorts across the columns")
    assert "as_of='2023-05-31'" in workshop.check("02.3", sol.iloc[:-1, :-1]).hint
    assert "pivot" in workshop.check("02.3", cohorts).message
