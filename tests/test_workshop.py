"""Workshop checkers (retainkit.workshop) and the workshop notebooks (notebooks/workshop/).

Expected answers are compared with independent references: per-customer
loops over the raw rows (S, E, N, the cohort triangle, the average curve),
hand-worked formulas (CRR example, margin multiple as a brute-force discounted
sum, mixture retention) and Fader & Hardie's published sBG estimates.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import retainkit as rk
from retainkit import workshop
from retainkit.exceptions import ParameterError

from .conftest import execute_notebook

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks" / "workshop"
NAMES = ["01_crr_by_hand", "02_cohort_triangle", "03_averages_mislead", "04_clv_and_five_percent",
         "05_loyalty_programs", "06_recurring_reports"]
IDS = list(workshop.exercises()["exercise"])


# --------------------------------------------------------------------------- every exercise
@pytest.mark.parametrize("eid", IDS)
def test_model_answer_passes_and_none_is_unanswered(eid):
    res = workshop.check(eid, workshop.solution(eid))
    assert res.ok and res.status == "correct", str(res)
    assert "✔" in str(res)
    for blank in (None, ...):
        res = workshop.check(eid, blank)
        assert res.status == "unanswered" and not res.ok
        assert "not answered yet" in str(res)


@pytest.mark.parametrize("eid", IDS)
def test_wrong_answers_never_raise_and_always_hint(eid):
    for junk in ("abc", object(), [1.0, 2.0, 3.0], {"x": 1}, -12345.678, True, pd.DataFrame({"a": [1]})):
        res = workshop.check(eid, junk)
        assert res.status == "wrong", (eid, junk, str(res))
        assert res.hint, (eid, junk)
        assert "✘" in str(res)


@settings(max_examples=60, deadline=None)
@given(eid=st.sampled_from(IDS),
       answer=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.text(max_size=12),
                        st.lists(st.floats(allow_nan=True), max_size=6),
                        st.lists(st.lists(st.floats(allow_nan=True), min_size=5, max_size=5), max_size=5)))
def test_check_never_raises(eid, answer):
    res = workshop.check(eid, answer)
    assert res.status in ("correct", "wrong", "unanswered")
    assert isinstance(res._repr_html_(), str)


def test_unknown_exercise_is_a_parameter_error():
    with pytest.raises(ParameterError, match="02.3"):
        workshop.check("99.9", 1)
    with pytest.raises(ParameterError):
        workshop.exercises("42")


def test_every_notebook_has_exercises():
    assert sorted(workshop.exercises()["notebook"].unique()) == ["01", "02", "03", "04", "05", "06"]


def test_result_display_is_escaped():
    res = workshop.check("01.6", "<script>")
    assert "<script>" not in res._repr_html_()
    assert 'data-status="wrong"' in res._repr_html_()


# --------------------------------------------------------------------------- notebook 01
def test_crr_example_by_hand():
    s, n, lost = 500, 50, 100
    e = s - lost + n
    assert workshop.solution("01.1") == pytest.approx((e - n) / s) == pytest.approx(0.8)
    assert workshop.solution("01.2") == pytest.approx(lost / s)


def _brute_sen(log: pd.DataFrame, start: str, end: str, window: int = 90):
    """S, E, N, reactivated by looping over the rows (definitions §4)."""
    b0, b1 = pd.Timestamp(start), pd.Timestamp(end)
    S, E, first = set(), set(), {}
    for cid, ts in zip(log["customer_id"], log["timestamp"]):
        first[cid] = min(first.get(cid, ts), ts)
        if b0 - pd.Timedelta(days=window) <= ts < b0:
            S.add(cid)
        if b1 - pd.Timedelta(days=window) <= ts < b1:
            E.add(cid)
    N = {c for c in E if b0 <= first[c] < b1}
    return S, E, N, E - S - N


def test_s_e_n_against_a_loop():
    S, E, N, R = _brute_sen(workshop.crr_log(), "2023-04-01", "2023-07-01")
    assert workshop.solution("01.3") == (len(S), len(E), len(N))
    assert workshop.solution("01.4") == pytest.approx((len(E) - len(N)) / len(S))
    assert workshop.solution("01.5") == pytest.approx(len(S & E) / len(S))
    assert set(workshop.solution("01.6")) == R and R  # the log is built so that someone comes back
    assert workshop.solution("01.4") != pytest.approx(workshop.solution("01.5"))


def test_customers_at_agrees_with_crr_table_every_quarter():
    log = workshop.crr_log()
    tab = rk.crr_table(workshop.load_crr_log(), freq="Q", window="90D")
    for _, row in tab.iterrows():
        start = row["period_start"]
        end = (pd.Period(row["period"].replace("-", ""), "Q") + 1).start_time
        S, E, N, R = _brute_sen(log, str(start.date()), str(end.date()))
        assert len(workshop.customers_at(log, start)) == len(S) == row["start_customers"]
        assert len(workshop.customers_at(log, end)) == len(E) == row["end_customers"]
        assert (len(N), len(R)) == (row["new"], row["reactivated"])


@pytest.mark.parametrize("answer", [0.8, 80, "80%", "80 %", np.float64(0.8), pd.Series([0.8]), [80.0], 0.80001])
def test_rate_forms_are_accepted(answer):
    assert workshop.check("01.1", answer).ok


@pytest.mark.parametrize("answer, words", [
    (400 / 450, "divided by E"),
    (0.9, "subtract the new"),
    (0.2, "churn"),
    (0.7, "INCLUDING the new"),
    (400, "Divide it by S"),
    (0.79, "Close"),
])
def test_crr_hints_name_the_mistake(answer, words):
    res = workshop.check("01.1", answer)
    assert not res.ok and words in res.hint, res.hint


def test_s_e_n_forms_and_hints():
    s, e, n = workshop.solution("01.3")
    for form in ((s, e, n), [s, e, n], np.array([s, e, n]), pd.Series([s, e, n]), {"S": s, "E": e, "N": n},
                 {"s": s, "e": e, "n": n}):
        assert workshop.check("01.3", form).ok, form
    assert "Q1 2023" in workshop.check("01.3", (5, 8, 5)).hint
    assert "order" in workshop.check("01.3", (e, s, n)).hint
    assert "reactivated" in workshop.check("01.3", (s, e, n + 1)).hint
    assert workshop.check("01.3", (s + 1, e, n)).hint.startswith("S is off")
    assert workshop.check("01.3", (s, e - 1, n)).hint.startswith("E is off")
    assert "Expected 3 numbers" in workshop.check("01.3", (s, e)).message


def test_identity_vs_count_hints_and_id_forms():
    assert "count formula" in workshop.check("01.5", workshop.solution("01.4")).hint
    assert "identity" in workshop.check("01.4", workshop.solution("01.5")).hint
    for form in ("gus", "Gus", ["Gus"], {"GUS"}, pd.Series(["Gus"]), np.array(["Gus"])):
        assert workshop.check("01.6", form).ok
    assert "new customers" in workshop.check("01.6", ["Hana", "Ivo"]).hint
    assert "part of that" in workshop.check("01.6", ["Gus", "Hana", "Ivo"]).hint


# --------------------------------------------------------------------------- notebook 02
def _brute_triangle(log: pd.DataFrame, last_month: int):
    """Classic retention per (cohort, age) by looping over purchases; NaN where unobserved."""
    month = {i: ts.year * 12 + ts.month - 1 for i, ts in enumerate(log["timestamp"])}
    first: dict[str, int] = {}
    for i, cid in enumerate(log["customer_id"]):
        first[cid] = min(first.get(cid, month[i]), month[i])
    cohorts = sorted(set(first.values()))
    active = defaultdict(set)
    for i, cid in enumerate(log["customer_id"]):
        active[(first[cid], month[i] - first[cid])].add(cid)
    size = {c: sum(1 for v in first.values() if v == c) for c in cohorts}
    ages = range(last_month - cohorts[0] + 1)
    out = np.full((len(cohorts), len(ages)), np.nan)
    for r, c in enumerate(cohorts):
        for k in ages:
            if c + k <= last_month:
                out[r, k] = len(active[(c, k)]) / size[c]
    return out, active, size, cohorts


def test_triangle_against_a_loop():
    log = workshop.cohort_log()
    brute, active, size, cohorts = _brute_triangle(log, 2023 * 12 + 4)
    sol = workshop.solution("02.3")
    np.testing.assert_allclose(sol.to_numpy(dtype=float), brute, equal_nan=True)
    assert workshop.solution("02.1") == size[2023 * 12 + 1]
    assert workshop.solution("02.2") == pytest.approx(brute[0, 2])
    jan = cohorts[0]
    later = {c for (co, k), ids in active.items() if co == jan and k >= 1 for c in ids}
    assert workshop.solution("02.4") == pytest.approx(len(later) / size[jan])
    observed = [c for c in cohorts if c + 2 <= 2023 * 12 + 4]
    assert workshop.solution("02.5") == pytest.approx(
        sum(len(active[(c, 2)]) for c in observed) / sum(size[c] for c in observed))


def test_triangle_forms():
    sol = workshop.solution("02.3")
    for form in (sol, sol * 100, sol.to_numpy(), sol.to_numpy().tolist(), sol.reset_index(),
                 sol.rename(index=lambda x: x.replace("-", "/"))):
        assert workshop.check("02.3", form).ok


def test_triangle_hints():
    sol = workshop.solution("02.3")
    zeros = workshop.check("02.3", sol.fillna(0))
    assert not zeros.ok and "not zero" in zeros.hint
    cohorts = rk.cohort_table(workshop.load_cohort_log())
    assert "unbounded" in workshop.check("02.3", rk.retention_matrix(cohorts, "unbounded")).hint
    assert "counts of active" in workshop.check("02.3", rk.retention_matrix(cohorts, "active")).hint
    assert "unbounded" in workshop.check("02.3", 100 * rk.retention_matrix(cohorts, "unbounded")).hint
    assert "as_of" in workshop.check("02.3", sol.iloc[:-1, :-1]).hint
    assert "pivot" in workshop.check("02.3", cohorts).message
    bad = sol.copy()
    bad.iloc[1, 1] = 0.9
    assert "1 cell(s) differ" in workshop.check("02.3", bad).message


def test_average_and_censoring_hints():
    m = workshop.solution("02.3")
    assert "mean" in workshop.check("02.5", float(m[2].mean())).hint
    assert "not observed" in workshop.check("02.5", 6 / 14).hint
    assert "unbounded" in workshop.check("02.2", workshop.solution("02.4") - 0.2).hint
    for form in ("unknown", "NaN", float("nan"), "Unobserved"):
        assert workshop.check("02.6", form).ok
    res = workshop.check("02.6", 0)
    assert not res.ok and "not a zero" in res.hint


# --------------------------------------------------------------------------- notebook 03
def test_mixture_by_hand():
    s1 = 0.5 * 0.5 + 0.5 * 0.9
    s2 = 0.5 * 0.25 + 0.5 * 0.81
    assert workshop.solution("03.1") == pytest.approx(s2 / s1)
    assert "period 1" in workshop.check("03.1", s1).hint


@settings(max_examples=50, deadline=None)
@given(churn=st.lists(st.floats(0.0, 0.99), min_size=1, max_size=4), seed=st.integers(0, 10_000))
def test_mixture_retention_never_falls(churn, seed):
    shares = np.random.default_rng(seed).random(len(churn)) + 0.01
    m = workshop.mixture_retention(churn, shares, periods=15)
    r = m["retention_rate"].to_numpy()[1:]
    r = r[np.isfinite(r)]
    assert np.all(np.diff(r) >= -1e-12)  # sorting: the aggregate rate never falls
    assert m["survival"].iloc[0] == pytest.approx(1.0)


def test_mixture_and_customers_at_reject_bad_input():
    with pytest.raises(ParameterError):
        workshop.mixture_retention([50, 10], [0.5, 0.5])
    with pytest.raises(ParameterError):
        workshop.mixture_retention([0.5], [0.5, 0.5])
    with pytest.raises(ParameterError):
        workshop.customers_at(workshop.crr_log(), "2023-04-01", window="0D")


def test_sbg_against_fader_hardie_published():
    a, b = workshop.solution("03.2")
    assert (round(a, 3), round(b, 3)) == (0.704, 1.182)  # Fader & Hardie (2007), Regular
    from retainkit.clv import ShiftedBetaGeometric

    model = ShiftedBetaGeometric().fit(workshop.FADER_HARDIE["regular"][:8])
    assert workshop.check("03.2", model).ok
    assert workshop.check("03.2", {"alpha": 0.704, "beta": 1.182}).ok
    assert "order" in workshop.check("03.2", (b, a)).hint
    assert "years 0-7" in workshop.check("03.2", ShiftedBetaGeometric().fit(workshop.FADER_HARDIE["regular"])).hint
    # S(12) by hand from the published closed form with the fitted parameters
    from scipy.special import betaln

    assert workshop.solution("03.3") == pytest.approx(1000 * math.exp(betaln(a, b + 12) - betaln(a, b)))


def test_naive_projection_by_hand():
    assert workshop.solution("03.4") == pytest.approx(241 * (241 / 262) ** 5)
    assert "actual" in workshop.check("03.3", 173).hint
    assert "naive" in workshop.check("03.3", 241 * (241 / 262) ** 5).hint
    assert workshop.check("03.5", "(b)").ok and "loyal" in workshop.check("03.5", "a").hint


# --------------------------------------------------------------------------- notebook 04
def test_clv_against_brute_force_sum():
    t = np.arange(1, 2001)
    brute = float((100 * 0.8**t / 1.1**t).sum())
    assert workshop.solution("04.1") == pytest.approx(brute)
    brute85 = float((100 * 0.85**t / 1.1**t).sum())
    assert workshop.solution("04.2") == pytest.approx(brute85 / brute - 1)
    assert "start" in workshop.check("04.1", 100 * 1.1 / 0.3).hint
    assert "discounting" in workshop.check("04.1", 400).hint
    assert "MORE" in workshop.check("04.2", 0.0625).hint


def test_profit_claims_follow_the_economics_module():
    from retainkit.economics import retention_profit_impact

    s = retention_profit_impact().summary
    assert workshop.solution("04.3") == pytest.approx(100 * (s["npv_after"] - s["npv_before"]) / s["npv_before"])
    assert workshop.check("04.3", workshop.solution("04.3") / 100).ok  # a fraction is fine
    assert "04.3" in workshop.check("04.4", workshop.solution("04.3")).hint
    assert workshop.solution("04.5") < workshop.solution("04.3")  # a costly lift gains less
    assert "not free" in workshop.check("04.5", workshop.solution("04.3")).hint


# --------------------------------------------------------------------------- notebook 05
def test_loyalty_answers():
    from retainkit.loyalty import PRESETS

    p = PRESETS["points"]
    assert workshop.solution("05.1") == pytest.approx(p["earn_rate"] * p["point_value"] * (1 - p["breakage"]))
    assert "breakage" in workshop.check("05.1", p["earn_rate"] * p["point_value"]).hint
    log, truth = workshop.program_data()
    assert truth["true_retention_effect"].max() == pytest.approx(workshop.PROGRAM_SIM["retention_lift"])
    gap = workshop.solution("05.4") + workshop.PROGRAM_SIM["retention_lift"]
    # the naive gap, recomputed from the log: members after joining vs non-members, same months
    assert gap > 2 * workshop.PROGRAM_SIM["retention_lift"]  # self-selection inflates it a lot
    assert "subtract" in workshop.check("05.4", gap).hint
    assert workshop.check("05.5", "b").ok and "known" in workshop.check("05.5", "a").hint


# --------------------------------------------------------------------------- notebook 06
def test_reporting_answers():
    assert workshop.solution("06.2") == pytest.approx((110 - 20) / 120)
    for form in ("0 6 * * 1", "00 06 * * MON", "0 6 * * mon"):
        assert workshop.check("06.3", form).ok
    assert "minute" in workshop.check("06.3", "6 0 * * 1").hint
    assert "5 fields" in workshop.check("06.3", "0 6 * *").message
    assert workshop.solution("06.4") == "2024-06-30"
    assert workshop.check("06.4", pd.Timestamp("2024-06-30")).ok
    assert "partial" in workshop.check("06.4", "2024-07-01").hint
    assert "injected" not in workshop.check("06.1", "parameters").message
    assert "ADDS" in workshop.check("06.1", "injected-parameters").hint


# --------------------------------------------------------------------------- the notebooks as files
def _cells(name: str) -> list[dict]:
    return json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]


def _checked_ids(cells: list[dict]) -> list[str]:
    import re

    return [m for c in cells if c["cell_type"] == "code"
            for m in re.findall(r'workshop\.check\("(\d\d\.\d+)"', "".join(c["source"]))]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_files_are_clean_and_cover_their_exercises(name):
    cells = _cells(name)
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    assert "solutions: bool = False  # fill in model answers" in "".join(tagged[0]["source"])
    for c in cells:
        if c["cell_type"] == "code":
            assert c["outputs"] == [] and c["execution_count"] is None, "commit notebooks without outputs"
    assert _checked_ids(cells) == list(workshop.exercises(name[:2])["exercise"])


def test_facilitator_guide_names_every_notebook():
    guide = (NOTEBOOKS / "README.md").read_text(encoding="utf-8")
    for name in NAMES:
        assert name in guide
    for cmd in ("make report", "make test", "make lab"):
        assert cmd in guide


# --------------------------------------------------------------------------- executing them (papermill)
def _run(name: str, solutions: bool, tmp_path: Path) -> list[str]:
    out = tmp_path / f"{name}-{solutions}.ipynb"
    execute_notebook(NOTEBOOKS / f"{name}.ipynb", out, parameters={"solutions": solutions},
                        cwd=str(tmp_path), progress_bar=False, kernel_name="python3")
    cells = json.loads(out.read_text(encoding="utf-8"))["cells"]
    texts = []
    for c in cells:
        if c["cell_type"] == "code" and _checked_ids([c]):
            texts.append("".join("".join(o.get("data", {}).get("text/plain", "")) for o in c["outputs"]))
    assert len(texts) == len(_checked_ids(cells))
    return texts


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_with_solutions_passes_every_check(name, tmp_path):
    texts = _run(name, True, tmp_path)
    ids = list(workshop.exercises(name[:2])["exercise"])
    for eid, text in zip(ids, texts):
        assert text.startswith(f"✔ Exercise {eid}: correct"), text


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_without_solutions_runs_to_the_end_unanswered(name, tmp_path):
    texts = _run(name, False, tmp_path)
    ids = list(workshop.exercises(name[:2])["exercise"])
    for eid, text in zip(ids, texts):
        assert text.startswith(f"… Exercise {eid}: not answered yet"), text
