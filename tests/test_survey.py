"""Tests for retainkit.survey: hand-worked values, independent formulas, brute-force loops."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

import retainkit as rk
from retainkit.exceptions import DataError, ParameterError
from retainkit.survey import ces, csat, nps, nps_group, retention_by_survey_group, survey_summary

Z = 1.959963984540054


# --------------------------------------------------------------------------- NPS
def test_nps_hand_worked():
    # 10, 9 promoters; 7 passive; 3, 6 detractors; one unanswered
    out = nps(pd.DataFrame({"score": [10, 9, 7, 3, None, 6]})).iloc[0]
    assert (out["responses"], out["missing"]) == (5, 1)
    assert (out["promoters"], out["passives"], out["detractors"]) == (2, 1, 2)
    assert out["nps"] == 0.0
    # var = 0.4 + 0.4 - 0^2 = 0.8; se = 100 * sqrt(0.8 / 5) = 40
    assert out["nps_se"] == pytest.approx(40.0)
    assert out["nps_lo"] == pytest.approx(-Z * 40) and out["nps_hi"] == pytest.approx(Z * 40)
    assert out["promoter_share"] + out["passive_share"] + out["detractor_share"] == pytest.approx(1)


def test_nps_boundaries_of_groups():
    assert nps_group([0, 6, 7, 8, 9, 10]).tolist() == ["detractor"] * 2 + ["passive"] * 2 + ["promoter"] * 2
    assert nps([9, 10, 10]).iloc[0]["nps"] == 100
    assert nps([0, 6]).iloc[0]["nps"] == -100
    assert nps([7, 8]).iloc[0]["nps"] == 0


def _nps_reference(scores):
    """NPS and se from the per-response +1/0/-1 score (mean and population sd), by a loop."""
    x = []
    for s in scores:
        x.append(1 if s >= 9 else (0 if s >= 7 else -1))
    n = len(x)
    mean = sum(x) / n
    var = sum((v - mean) ** 2 for v in x) / n
    return 100 * mean, 100 * math.sqrt(var / n)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 10), min_size=1, max_size=200))
def test_nps_matches_per_response_reference(scores):
    out = nps(scores).iloc[0]
    ref, se = _nps_reference(scores)
    assert out["nps"] == pytest.approx(ref, abs=1e-9)
    assert out["nps_se"] == pytest.approx(se, abs=1e-9)
    assert -100 <= out["nps_lo"] <= out["nps"] <= out["nps_hi"] <= 100


def test_nps_interval_against_bootstrap_and_coverage():
    rng = np.random.default_rng(7)
    scores = rng.choice([10, 8, 3], size=400, p=[0.5, 0.3, 0.2])
    out = nps(scores).iloc[0]
    x = np.select([scores >= 9, scores >= 7], [1.0, 0.0], -1.0)
    boot = 100 * x[rng.integers(0, len(x), size=(4000, len(x)))].mean(axis=1)
    assert out["nps_se"] == pytest.approx(boot.std(), rel=0.06)
    # coverage of the 95 % interval by simulation: true NPS = 30
    sims = rng.multinomial(300, [0.5, 0.3, 0.2], size=3000)
    hits = 0
    for p_, _, d_ in sims:
        samp = [10] * p_ + [8] * (300 - p_ - d_) + [0] * d_
        r = nps(samp).iloc[0]
        hits += r["nps_lo"] <= 30 <= r["nps_hi"]
    assert 0.93 <= hits / len(sims) <= 0.97


def test_nps_by_group_and_frame_untouched():
    df = pd.DataFrame({"score": [10, 0, 9, 9, 5], "country": ["de", "de", "fr", "fr", "fr"]})
    before = df.copy()
    out = nps(df, by="country")
    assert out["country"].tolist() == ["de", "fr"]
    assert out["nps"].tolist() == pytest.approx([0.0, 100 * (2 - 1) / 3])
    pd.testing.assert_frame_equal(df, before)


@pytest.mark.parametrize(
    "bad, needle",
    [
        ([11, 5], "row 0: 11"),
        ([7.5, 5], "row 0: 7.5"),
        ([-1], "row 0: -1"),
        (["9", "great"], "'great'"),
    ],
)
def test_nps_rejects_off_scale(bad, needle):
    with pytest.raises(DataError, match="0 to 10") as err:
        nps(bad)
    assert needle in str(err.value)


def test_nps_errors_name_index_labels_and_columns():
    df = pd.DataFrame({"score": [3, 12]}, index=["r1", "r2"])
    with pytest.raises(DataError, match="row 'r2': 12"):
        nps(df)
    with pytest.raises(DataError, match="Did you mean 'score'"):
        nps(df, score="Score")
    with pytest.raises(DataError, match="true/false"):
        nps([True, False])
    assert nps(pd.DataFrame({"score": ["9", " 10 ", ""]})).iloc[0][["responses", "missing", "nps"]].tolist() == [
        2,
        1,
        100,
    ]
    empty = nps(pd.DataFrame({"score": [None, None]})).iloc[0]
    assert empty["responses"] == 0 and np.isnan(empty["nps"])


# --------------------------------------------------------------------------- CSAT / CES
def _wilson(k, n, z=Z):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_csat_hand_worked_and_scale():
    out = csat([5, 4, 3, 1, 2, None]).iloc[0]
    assert (out["responses"], out["missing"], out["satisfied"]) == (5, 1, 2)
    assert out["csat"] == 0.4 and out["mean_score"] == 3.0
    lo, hi = _wilson(2, 5)
    assert out["csat_lo"] == pytest.approx(lo) and out["csat_hi"] == pytest.approx(hi)
    # 1-10 scale, satisfied = 8+
    ten = csat([10, 8, 7, 2], scale=(1, 10), satisfied_min=8).iloc[0]
    assert ten["csat"] == 0.5
    with pytest.raises(DataError, match="1 to 5.*scale="):
        csat([6, 4])
    with pytest.raises(ParameterError, match="satisfied_min"):
        csat([4], satisfied_min=9)
    with pytest.raises(ParameterError, match="scale"):
        csat([4], scale=(5, 1))


def test_ces_against_scipy_t_interval():
    x = [7, 6, 5, 5, 2, 6, 4]
    out = ces(x).iloc[0]
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=stats.sem(x))
    assert out["ces"] == pytest.approx(np.mean(x))
    assert out["ces_lo"] == pytest.approx(lo) and out["ces_hi"] == pytest.approx(hi)
    assert out["ces_sd"] == pytest.approx(np.std(x, ddof=1))
    one = ces([4]).iloc[0]
    assert one["ces"] == 4 and np.isnan(one["ces_lo"])
    clipped = ces([7, 7, 7, 6]).iloc[0]
    assert clipped["ces_hi"] == 7  # the t-interval is clipped to the scale
    with pytest.raises(DataError, match="1 to 7"):
        ces([8])
    assert ces([1, 5], scale=(1, 5)).iloc[0]["ces"] == 3


# --------------------------------------------------------------------------- summary
def _mixed():
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "a", "b", "c", "d", "a"],
            "timestamp": [
                "2024-01-03",
                "2024-01-20",
                "2024-02-02",
                "2024-01-05",
                "2024-02-07",
                "2024-02-09",
                "2024-02-10",
                "2024-03-01",
            ],
            "score": [10, 6, 8, 5, 2, 4, None, 6],
            "question": ["NPS", "nps", "nps", "CSAT", "csat", "csat", "csat", "ces"],
        }
    )


def test_survey_summary_matches_single_metrics():
    df = _mixed()
    out = survey_summary(df).set_index("question")
    assert out.index.tolist() == ["nps", "csat", "ces"]
    n = nps(df[df["question"].str.lower() == "nps"]).iloc[0]
    c = csat(df[df["question"].str.lower() == "csat"]).iloc[0]
    assert out.loc["nps", ["value", "lo", "hi"]].tolist() == pytest.approx([n["nps"], n["nps_lo"], n["nps_hi"]])
    assert out.loc["csat", ["value", "lo", "hi"]].tolist() == pytest.approx([c["csat"], c["csat_lo"], c["csat_hi"]])
    assert out.loc["csat", "missing"] == 1 and out.loc["csat", "customers"] == 3
    assert out.loc["ces", "value"] == 6 and np.isnan(out.loc["ces", "lo"])


def test_survey_summary_by_period():
    out = survey_summary(_mixed(), freq="M")
    nps_rows = out[out["question"] == "nps"]
    assert nps_rows["period"].tolist() == ["2024-01", "2024-02"]
    assert nps_rows["value"].tolist() == pytest.approx([0.0, 0.0])  # {10, 6} then {8}
    assert nps_rows["responses"].tolist() == [2, 1]
    assert out[out["question"] == "csat"]["period"].tolist() == ["2024-01", "2024-02"]
    assert out["period_start"].iloc[0] == pd.Timestamp("2024-01-01", tz="UTC")


def test_survey_summary_validation():
    df = _mixed()
    df.loc[7, "question"] = "effort"
    with pytest.raises(DataError, match="question_types=.*'effort'"):
        survey_summary(df)
    assert survey_summary(df, question_types={"effort": "ces"})["question"].tolist() == ["nps", "csat", "ces"]
    df2 = _mixed()
    df2.loc[1, "score"] = 11
    with pytest.raises(DataError, match="question type 'nps'.*row 1: 11"):
        survey_summary(df2)
    df3 = _mixed()
    df3.loc[3, "score"] = 7  # 7 is fine for NPS but not for a 1-5 CSAT
    with pytest.raises(DataError, match="CSAT.*row 3: 7"):
        survey_summary(df3)
    with pytest.raises(ParameterError, match="freq"):
        survey_summary(_mixed(), freq="fortnight")


# --------------------------------------------------------------------------- retention by group
def _tx(rows, as_of, tz="UTC"):
    df = pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount"])
    return rk.load_transactions(df, amount="amount", tz=tz, as_of=as_of)


def test_retention_by_group_hand_worked():
    responses = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 5, 6],
            "timestamp": ["2024-01-10", "2024-01-10", "2024-01-10", "2024-01-10", "2024-01-10", "2024-05-01"],
            "score": [10, 9, 8, 2, 0, 3],
        }
    )
    tx = _tx(
        [
            ("1", "2024-01-10 15:00", 20.0),  # same day as the response: not counted
            ("1", "2024-02-15", 20.0),  # day 36: retained at 90, not at 30
            ("2", "2024-01-11", 5.0),  # next day: retained
            ("3", "2024-01-12", -5.0),  # refund: not a purchase
            ("4", "2024-04-09", 8.0),  # day 90: inside (d, d + 90]
            ("5", "2024-04-10", 8.0),  # day 91: outside
            ("6", "2024-05-02", 8.0),  # retained, but the 90-day window ends 30 Jul > as_of: censored
        ],
        as_of="2024-06-30",
    )
    out = retention_by_survey_group(responses, tx, horizon_days=[30, 90]).set_index(["horizon_days", "group"])
    assert out.loc[(30, "promoter"), ["respondents", "retained"]].tolist() == [2, 1]
    assert out.loc[(90, "promoter"), ["respondents", "retained"]].tolist() == [2, 2]
    assert out.loc[(90, "passive"), ["respondents", "retained"]].tolist() == [1, 0]
    assert out.loc[(90, "detractor"), ["respondents", "retained", "censored"]].tolist() == [2, 1, 1]
    assert out.loc[(30, "detractor"), ["respondents", "retained", "censored"]].tolist() == [3, 1, 0]
    lo, hi = _wilson(1, 2)
    assert out.loc[(90, "detractor"), "retention"] == 0.5
    assert out.loc[(90, "detractor"), ["retention_lo", "retention_hi"]].tolist() == pytest.approx([lo, hi])


def test_retention_horizon_censoring_at_as_of_exactly():
    responses = pd.DataFrame({"customer_id": ["a"], "timestamp": ["2024-04-01"], "score": [10]})
    tx = _tx([("a", "2024-06-30 23:00", 1.0)], as_of="2024-06-30")
    # 1 Apr + 90 days = 30 Jun = the last complete day: observed, and the purchase on it counts
    out = retention_by_survey_group(responses, tx, horizon_days=90)
    assert out.set_index("group").loc["promoter", ["respondents", "retained", "censored"]].tolist() == [1, 1, 0]
    out = retention_by_survey_group(responses, tx, horizon_days=91)
    assert out.set_index("group").loc["promoter", ["respondents", "censored"]].tolist() == [0, 1]
    assert np.isnan(out.set_index("group").loc["promoter", "retention"])
    assert out["group"].tolist() == ["promoter", "passive", "detractor"]  # empty groups still listed


def test_retention_time_zone_and_anchor_modes():
    # 2024-01-02 03:00 UTC is still 1 Jan in New York: the response day, not counted
    responses = pd.DataFrame(
        {"customer_id": ["a", "a"], "timestamp": ["2024-01-01 12:00", "2024-03-01"], "score": [10, 3]}
    )
    tx = _tx(
        [("a", "2024-01-02 03:00+00:00", 1.0), ("a", "2024-03-20", 1.0)], as_of="2024-12-31", tz="America/New_York"
    )
    first = retention_by_survey_group(responses, tx, horizon_days=30).set_index("group")
    assert first.loc["promoter", ["respondents", "retained"]].tolist() == [1, 0]
    assert first.loc["detractor", "respondents"] == 0
    every = retention_by_survey_group(responses, tx, horizon_days=30, anchor="all").set_index("group")
    assert every.loc["detractor", ["respondents", "retained"]].tolist() == [1, 1]
    utc = _tx([("a", "2024-01-02 03:00+00:00", 1.0)], as_of="2024-12-31")
    assert (
        retention_by_survey_group(responses, utc, horizon_days=30).set_index("group").loc["promoter", "retained"] == 1
    )


def test_retention_csat_question_filter_and_custom_groups():
    df = _mixed()
    tx = _tx([("a", "2024-01-06", 1.0), ("b", "2024-03-01", 1.0), ("c", "2024-02-10", 1.0)], as_of="2024-12-31")
    out = retention_by_survey_group(df, tx, kind="csat", question="question", horizon_days=30).set_index("group")
    # CSAT answers: a 5 (5 Jan; buys 6 Jan), b 2 (7 Feb; buys 1 Mar), c 4 (9 Feb; buys 10 Feb), d unanswered
    assert out.loc["satisfied", ["respondents", "retained"]].tolist() == [2, 2]
    assert out.loc["not satisfied", ["respondents", "retained"]].tolist() == [1, 1]
    assert retention_by_survey_group(df, tx, kind="csat", question="question").attrs["excluded_unscored"] == 1
    df["tier"] = ["x", "y", "x", "x", "y", "x", None, "y"]
    custom = retention_by_survey_group(df, tx, by="tier", horizon_days=30)
    with pytest.warns(DeprecationWarning, match=r"group=.*by="):
        old = retention_by_survey_group(df, tx, group="tier", horizon_days=30)
    pd.testing.assert_frame_equal(old, custom)
    assert custom["group"].tolist() == ["x", "y"]
    assert custom["respondents"].sum() == 3  # first response of a, b, c


def test_retention_errors():
    responses = pd.DataFrame({"customer_id": [1], "timestamp": ["2024-01-01"], "score": [9]})
    tx = _tx([("zz", "2024-01-05", 1.0)], as_of="2024-12-31")
    with pytest.raises(DataError, match="none of the 1 respondent ids"):
        retention_by_survey_group(responses, tx)
    with pytest.raises(ParameterError, match="load_transactions"):
        retention_by_survey_group(responses, pd.DataFrame())
    with pytest.raises(ParameterError, match="horizon_days"):
        retention_by_survey_group(responses, tx, horizon_days=0)
    with pytest.raises(ParameterError, match="kind"):
        retention_by_survey_group(responses, tx, kind="ces")
    bad = responses.assign(timestamp=["not a date"])
    with pytest.raises(DataError, match="timestamp"):
        retention_by_survey_group(bad, tx)


def _brute_retention(responses, purchases, as_of_day, horizon):
    """responses: list of (customer, date, score); purchases: list of (customer, date, amount)."""
    first: dict = {}
    for cust, day, score in sorted(responses, key=lambda r: r[1]):
        first.setdefault(cust, (day, score))
    res = {g: [0, 0, 0] for g in ("promoter", "passive", "detractor")}  # respondents, retained, censored
    for cust, (day, score) in first.items():
        g = "promoter" if score >= 9 else ("passive" if score >= 7 else "detractor")
        if day + dt.timedelta(days=horizon) > as_of_day:
            res[g][2] += 1
            continue
        res[g][0] += 1
        if any(c == cust and amt >= 0 and day < d <= day + dt.timedelta(days=horizon) for c, d, amt in purchases):
            res[g][1] += 1
    return res


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(0, 200), st.integers(0, 10)), min_size=1, max_size=15),
    st.lists(
        st.tuples(st.sampled_from("abcdefg"), st.integers(0, 213), st.sampled_from([-5.0, 0.0, 10.0])),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from([1, 30, 90]),
)
def test_retention_matches_brute_force(resp, purch, horizon):
    base = dt.date(2024, 1, 1)
    resp = [(c, base + dt.timedelta(days=d), s) for c, d, s in resp]
    purch = [(c, base + dt.timedelta(days=d), a) for c, d, a in purch]
    as_of = dt.date(2024, 8, 1)
    if not {c for c, _, _ in resp} & {c for c, _, _ in purch}:
        purch.append((resp[0][0], base, 1.0))
    responses = pd.DataFrame(resp, columns=["customer_id", "timestamp", "score"])
    responses["timestamp"] = pd.to_datetime(responses["timestamp"]) + pd.Timedelta(hours=9)
    tx = _tx([(c, pd.Timestamp(d) + pd.Timedelta(hours=13), a) for c, d, a in purch], as_of=as_of.isoformat())
    out = retention_by_survey_group(responses, tx, horizon_days=horizon).set_index("group")
    ref = _brute_retention(resp, [p for p in purch if p[1] <= as_of], as_of, horizon)
    for g, (n, k, cens) in ref.items():
        assert out.loc[g, ["respondents", "retained", "censored"]].tolist() == [n, k, cens], g
