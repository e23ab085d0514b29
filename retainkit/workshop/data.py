"""The workshop's data: small hand-made logs, published counts and generated data with a known truth.

Everything here is deterministic and ships with the package, so the workshop
runs offline. The checker (:mod:`retainkit.workshop.checking`) computes every
expected answer from these data with retainkit's own functions; nothing is
typed in.

* :func:`crr_log` (notebook 01): twelve customers of a shop, Q4 2022 - Q2 2023
  (definitions §1, §4).
* :func:`cohort_log` (notebook 02): sixteen customers, January - May 2023
  (definitions §2, §3); :func:`cohort_mix_log`: one big promotion cohort among
  small regular ones, where a plain mean of rates and the size-weighted curve
  differ by more than 10 points (definitions §3 "Average retention curve").
* :data:`FADER_HARDIE` (notebook 03): survivor counts published by Fader &
  Hardie (2007); :func:`mixture_retention`: two customer types that never
  change (definitions §5).
* :func:`program_data`, :func:`holdout_data` (notebook 05): loyalty programmes
  generated with a known lift, observational and randomised (definitions §6);
  :data:`TIERS` and :func:`tier_spend`: a cumulative-discount scheme and a
  spend distribution.
* :func:`cdnow_log` (notebook 07): the public CDNOW log of a 1990s online CD
  shop, shipped in ``retainkit/data/`` (MIT-licensed copy from the
  ``lifetimes`` package; see ``retainkit/data/CDNOW-README.md``).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from ..data import Transactions, load_transactions
from ..exceptions import ParameterError
from ..loyalty import ProgramLift, measure_program_lift, simulate_program

__all__ = [
    "CDNOW_AS_OF",
    "CDNOW_FILE",
    "CLV_EXAMPLE",
    "COHORT_AS_OF",
    "COHORT_MIX",
    "CRR_AS_OF",
    "CRR_EXAMPLE",
    "CRR_PERIOD",
    "CRR_WINDOW",
    "FADER_HARDIE",
    "HOLDOUT_SIM",
    "MIXTURE",
    "PAPERMILL_DEMO",
    "PROGRAM_BOOT",
    "PROGRAM_SIM",
    "TIERS",
    "cdnow_log",
    "cohort_log",
    "cohort_mix_log",
    "crr_log",
    "customers_at",
    "fader_hardie",
    "holdout_data",
    "holdout_lift",
    "load_cdnow",
    "load_cohort_log",
    "load_cohort_mix",
    "load_crr_log",
    "mixture_retention",
    "program_data",
    "program_lift",
    "tier_spend",
]

# ----------------------------------------------------------------------------- notebook 01
#: The textbook CRR example (definitions §4 "From counts"): S = 500 at the start,
#: N = 50 new customers, 100 lost during the period.
CRR_EXAMPLE: dict[str, int] = {"start": 500, "new": 50, "lost": 100}

# (customer, date, amount): a shop's purchases, Q4 2022 - Q2 2023, for notebook 01.
_CRR_ROWS: tuple[tuple[str, str, float], ...] = (
    ("Ana", "2022-11-05", 34.0),
    ("Finn", "2022-10-12", 52.0),
    ("Kai", "2022-10-20", 18.0),
    ("Gus", "2022-12-03", 41.0),
    ("Lea", "2022-12-15", 27.0),
    ("Finn", "2023-01-05", 45.0),
    ("Ben", "2023-01-15", 60.0),
    ("Dan", "2023-01-25", 22.0),
    ("Cleo", "2023-02-02", 38.0),
    ("Ana", "2023-02-10", 30.0),
    ("Jo", "2023-02-21", 75.0),
    ("Eva", "2023-03-08", 19.0),
    ("Cleo", "2023-03-15", 44.0),
    ("Lea", "2023-03-30", 25.0),
    ("Hana", "2023-04-11", 58.0),
    ("Ben", "2023-04-20", 63.0),
    ("Ana", "2023-05-03", 36.0),
    ("Gus", "2023-05-19", 47.0),
    ("Ivo", "2023-05-27", 29.0),
    ("Hana", "2023-06-02", 51.0),
    ("Cleo", "2023-06-11", 40.0),
    ("Jo", "2023-06-25", 70.0),
)
#: as_of of the CRR log: the end of Q2 2023, so Q4 2022, Q1 and Q2 2023 are complete.
CRR_AS_OF = "2023-06-30"
#: the quarter the notebook-01 exercises ask about, and the activity window used
CRR_PERIOD = "2023-Q2"
CRR_WINDOW = "90D"

# ----------------------------------------------------------------------------- notebook 02
# (customer, date, amount): monthly purchases Jan - May 2023, for notebook 02.
_COHORT_ROWS: tuple[tuple[str, str, float], ...] = (
    ("Ana", "2023-01-04", 30.0),
    ("Ben", "2023-01-09", 45.0),
    ("Cleo", "2023-01-15", 25.0),
    ("Dan", "2023-01-21", 60.0),
    ("Eva", "2023-01-28", 35.0),
    ("Ana", "2023-02-03", 28.0),
    ("Cleo", "2023-02-11", 22.0),
    ("Finn", "2023-02-06", 50.0),
    ("Gus", "2023-02-14", 15.0),
    ("Hana", "2023-02-19", 40.0),
    ("Ivo", "2023-02-25", 33.0),
    ("Ana", "2023-03-02", 31.0),
    ("Ben", "2023-03-18", 47.0),
    ("Finn", "2023-03-09", 52.0),
    ("Ivo", "2023-03-22", 30.0),
    ("Jo", "2023-03-05", 65.0),
    ("Kai", "2023-03-12", 20.0),
    ("Lea", "2023-03-27", 38.0),
    ("Eva", "2023-04-07", 36.0),
    ("Finn", "2023-04-13", 49.0),
    ("Hana", "2023-04-16", 42.0),
    ("Jo", "2023-04-20", 61.0),
    ("Max", "2023-04-08", 27.0),
    ("Nia", "2023-04-24", 55.0),
    ("Ana", "2023-05-06", 29.0),
    ("Hana", "2023-05-10", 44.0),
    ("Jo", "2023-05-14", 66.0),
    ("Lea", "2023-05-17", 35.0),
    ("Max", "2023-05-21", 26.0),
    ("Olu", "2023-05-11", 48.0),
    ("Pia", "2023-05-03", 21.0),
    ("Pia", "2023-05-30", 24.0),
)
#: as_of of the cohort log: the end of May 2023 (the last purchase is on 30 May,
#: so without it May would be a partial month).
COHORT_AS_OF = "2023-05-31"

#: The cohort mix of notebook 02 (definitions §3): per acquisition month, the
#: cohort size and how many of them buy again in each later month. March is a
#: promotion that brought many bargain hunters who rarely come back.
COHORT_MIX: dict[str, Any] = {
    "as_of": "2024-05-31",
    "cohorts": {  # month: (size, returners at age 1, 2, 3, ...)
        "2024-01": (40, 20, 16, 14, 12),
        "2024-02": (40, 19, 15, 13),
        "2024-03": (600, 60, 36),
        "2024-04": (40, 21),
        "2024-05": (40,),
    },
}


def _frame(rows: Iterable[tuple[str, str, float]]) -> pd.DataFrame:
    f = pd.DataFrame(list(rows), columns=["customer_id", "timestamp", "amount"])
    f["timestamp"] = pd.to_datetime(f["timestamp"])
    return f.sort_values(["timestamp", "customer_id"], kind="stable").reset_index(drop=True)


def _load(frame: pd.DataFrame, as_of: str) -> Transactions:
    return load_transactions(frame, customer_id="customer_id", timestamp="timestamp", amount="amount", as_of=as_of)


def crr_log() -> pd.DataFrame:
    """The notebook-01 purchase log (12 customers, Q4 2022 - Q2 2023; definitions §1, §4).

    Returns
    -------
    pandas.DataFrame
        A new frame with ``customer_id`` (first names), ``timestamp`` (naive
        dates, UTC) and ``amount``. Load it with :func:`load_crr_log`.
    """
    return _frame(_CRR_ROWS)


def cohort_log() -> pd.DataFrame:
    """The notebook-02 purchase log (16 customers, Jan - May 2023; definitions §2, §3).

    Returns
    -------
    pandas.DataFrame
        A new frame with ``customer_id``, ``timestamp`` and ``amount``. Load it
        with :func:`load_cohort_log` (``as_of`` = 31 May 2023).
    """
    return _frame(_COHORT_ROWS)


def load_crr_log() -> Transactions:
    """:func:`crr_log` loaded with ``as_of`` = 30 June 2023 (definitions §1)."""
    return _load(crr_log(), CRR_AS_OF)


def load_cohort_log() -> Transactions:
    """:func:`cohort_log` loaded with ``as_of`` = 31 May 2023 (definitions §1, §2)."""
    return _load(cohort_log(), COHORT_AS_OF)


def cohort_mix_log() -> pd.DataFrame:
    """A purchase log whose cohorts differ a lot in size (definitions §3 "Average retention curve").

    Built from :data:`COHORT_MIX`: every customer buys on the 5th of their
    first month; the first ``returners[k-1]`` customers of a cohort (a nested
    set, so the returners of age k also returned at age k - 1) buy again on the
    12th of month c + k. The big March promotion cohort returns far less than
    the small regular cohorts, so a plain mean of the cohorts' rates is far
    above the size-weighted average curve.

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` ("2024-03-0001", ...), ``timestamp``, ``amount``.
    """
    rows: list[tuple[str, str, float]] = []
    for month, (size, *returners) in COHORT_MIX["cohorts"].items():
        start = pd.Period(month, "M")
        ids = [f"{month}-{i:04d}" for i in range(1, size + 1)]
        rows += [(c, f"{start}-05", 25.0) for c in ids]
        for age, n in enumerate(returners, start=1):
            rows += [(c, f"{start + age}-12", 30.0) for c in ids[:n]]
    return _frame(rows)


def load_cohort_mix() -> Transactions:
    """:func:`cohort_mix_log` loaded with ``as_of`` = 31 May 2024 (definitions §1, §2)."""
    return _load(cohort_mix_log(), COHORT_MIX["as_of"])


def customers_at(
    log: pd.DataFrame,
    boundary: Any,
    window: str | int = CRR_WINDOW,
    *,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
) -> set[str]:
    """Who "is a customer" at a period boundary, from a transaction log (definitions §4).

    A customer is anyone with a purchase in the trailing activity window
    [b - W, b): with daily data and W = 90 days, the 90 calendar days ending
    the day before ``boundary``. This is the by-hand version of what
    :func:`retainkit.crr_table` computes for S (at the period's first instant)
    and E (at the next period's first instant). Refund rows are not handled
    here (the workshop logs have none).

    Parameters
    ----------
    log : pandas.DataFrame
        Purchase log with naive (local) timestamps.
    boundary : date-like
        First instant of a period, e.g. ``"2023-04-01"``.
    window : str or int
        "90D" or a number of days.
    customer_id, timestamp : str
        Column names.

    Returns
    -------
    set of str
        Customer ids.
    """
    text = str(window).strip().rstrip("Dd")
    if isinstance(window, bool) or not (isinstance(window, numbers.Integral) or text.isdigit()):
        raise ParameterError(f"window={window!r} must be a number of days such as '90D' or 90.")
    days = int(text)
    if days < 1:
        raise ParameterError(f"window={window!r} must be a positive number of days, e.g. '90D'.")
    b = pd.Timestamp(boundary).normalize()
    ts = pd.to_datetime(log[timestamp])
    inside = (ts >= b - pd.Timedelta(days=days)) & (ts < b)
    return set(log.loc[inside, customer_id].astype(str))


# ----------------------------------------------------------------------------- notebook 03
#: Fader & Hardie (2007), "How to project customer retention", Table 1: customers
#: still active at the start of years 0..12 of two cohorts of 1,000.
FADER_HARDIE: dict[str, list[int]] = {
    "regular": [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173],
    "high_end": [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394],
}

#: The two customer types of notebook 03's heterogeneity exercise.
MIXTURE: dict[str, tuple[float, ...]] = {"churn": (0.5, 0.1), "shares": (0.5, 0.5)}


def fader_hardie() -> pd.DataFrame:
    """The Fader & Hardie (2007) survivor counts as a tidy frame (definitions §5).

    Returns
    -------
    pandas.DataFrame
        ``year`` (0..12), ``regular``, ``high_end`` (customers still active).
    """
    return pd.DataFrame(
        {"year": np.arange(len(FADER_HARDIE["regular"])), **{k: np.array(v) for k, v in FADER_HARDIE.items()}}
    )


def mixture_retention(churn: Iterable[float], shares: Iterable[float], periods: int = 10) -> pd.DataFrame:
    """Aggregate survival and retention of a mix of customer types with constant churn (definitions §5).

    Type i churns with the same probability ``churn[i]`` every period (nobody
    ever changes), so S_i(t) = (1 - churn_i)^t. The population's survival is
    S(t) = sum_i share_i S_i(t) and its retention rate r_t = S(t) / S(t-1)
    rises with t because the high-churn types leave first: heterogeneity
    (the discrete version of the sBG story).

    Parameters
    ----------
    churn : iterable of float
        Per-period churn probability of each type, each in [0, 1].
    shares : iterable of float
        Share of each type at t = 0 (normalised to sum to 1).
    periods : int
        Last period t.

    Returns
    -------
    pandas.DataFrame
        ``period`` (0..periods), ``survival_<i>`` per type, ``survival``
        (aggregate), ``retention_rate`` (aggregate r_t; NaN at t = 0) and
        ``share_<i>`` (type i's share of the customers still there).
    """
    c = np.asarray(list(churn), dtype="float64")
    w = np.asarray(list(shares), dtype="float64")
    if c.ndim != 1 or c.size == 0 or c.shape != w.shape:
        raise ParameterError("churn and shares must be two lists of the same, non-zero length.")
    if np.any((c < 0) | (c > 1)) or not np.all(np.isfinite(c)):
        raise ParameterError(f"churn={c.tolist()} must be probabilities in [0, 1] (write 10 % as 0.1).")
    if np.any(w < 0) or not w.sum() > 0:
        raise ParameterError(f"shares={w.tolist()} must be non-negative and not all zero.")
    if isinstance(periods, bool) or not isinstance(periods, numbers.Integral) or periods < 1:
        raise ParameterError(f"periods={periods!r} must be a whole number >= 1.")
    w = w / w.sum()
    t = np.arange(int(periods) + 1)
    each = (1.0 - c[None, :]) ** t[:, None]
    total = each @ w
    out = pd.DataFrame({"period": t})
    for i in range(c.size):
        out[f"survival_{i}"] = each[:, i]
    out["survival"] = total
    with np.errstate(divide="ignore", invalid="ignore"):
        out["retention_rate"] = np.r_[np.nan, total[1:] / total[:-1]]
        for i in range(c.size):
            out[f"share_{i}"] = w[i] * each[:, i] / total
    return out


# ----------------------------------------------------------------------------- notebook 04
#: The CLV example of notebook 04 (definitions §5 "Simple margin multiple").
CLV_EXAMPLE: dict[str, Any] = {"margin": 100.0, "retention": 0.8, "discount_rate": 0.1}

# ----------------------------------------------------------------------------- notebook 05
#: Notebook 05's simulated programme with a known truth (observational: heavy buyers join more).
PROGRAM_SIM: dict[str, Any] = {
    "n_customers": 3000,
    "n_periods": 24,
    "retention_lift": 0.05,
    "self_selection": 1.5,
    "seed": 1,
}
#: The same programme run as a randomised trial: half of the customers held out at random.
HOLDOUT_SIM: dict[str, Any] = {
    "n_customers": 3000,
    "n_periods": 24,
    "retention_lift": 0.05,
    "randomized": True,
    "seed": 1,
}
PROGRAM_BOOT = 200

#: A cumulative-discount scheme (notebook 05): (yearly spend threshold, discount on
#: spend above it). Spend from 0 to 200 earns nothing, 200-500 earns 2 %, ...
TIERS: tuple[tuple[float, float], ...] = ((0.0, 0.0), (200.0, 0.02), (500.0, 0.05), (1000.0, 0.10))


@lru_cache(maxsize=1)
def _program() -> tuple[pd.DataFrame, pd.DataFrame, ProgramLift]:
    p = dict(PROGRAM_SIM)
    log, customers = simulate_program(p.pop("n_customers"), p.pop("n_periods"), **p)
    return log, customers, measure_program_lift(log, n_boot=PROGRAM_BOOT, seed=0)


@lru_cache(maxsize=1)
def _holdout() -> tuple[pd.DataFrame, pd.DataFrame, ProgramLift]:
    p = dict(HOLDOUT_SIM)
    log, customers = simulate_program(p.pop("n_customers"), p.pop("n_periods"), **p)
    return log, customers, measure_program_lift(log, holdout="holdout", n_boot=PROGRAM_BOOT, seed=0)


def program_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Notebook 05's simulated loyalty programme (known truth; definitions §6).

    Generated by :func:`retainkit.loyalty.simulate_program` with
    :data:`PROGRAM_SIM`: the programme truly raises members' monthly
    activity by 5 points, and heavy buyers join far more often.

    Returns
    -------
    (log, customers) : tuple of pandas.DataFrame
        Copies of the transaction log and the per-customer truth.
    """
    log, customers, _ = _program()
    return log.copy(), customers.copy()


def program_lift() -> ProgramLift:
    """:func:`retainkit.measure_program_lift` on :func:`program_data` (``n_boot`` = :data:`PROGRAM_BOOT`, seed 0).

    Computed once per session (definitions §6 "Measured ROI").
    """
    return _program()[2]


def holdout_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The same programme as :func:`program_data`, run as a randomised holdout test (definitions §6).

    Generated with :data:`HOLDOUT_SIM`: every customer gets a start month, half
    of them at random are held out (column ``holdout``); the treated gain 5
    points of monthly activity after the start.

    Returns
    -------
    (log, customers) : tuple of pandas.DataFrame
        Copies of the transaction log and the per-customer truth.
    """
    log, customers, _ = _holdout()
    return log.copy(), customers.copy()


def holdout_lift() -> ProgramLift:
    """:func:`retainkit.measure_program_lift` with ``holdout="holdout"`` on :func:`holdout_data` (definitions §6)."""
    return _holdout()[2]


def tier_spend(n_members: int = 2000, seed: int = 5) -> pd.Series:
    """Yearly spend of a loyalty programme's members (notebook 05's tier example; definitions §6).

    Log-normal with a median of 250 and a long right tail (a few members spend
    thousands), rounded to cents.

    Parameters
    ----------
    n_members : int
        Number of members (>= 1).
    seed : int
        Random seed (the default gives the workshop's numbers).

    Returns
    -------
    pandas.Series
        ``spend`` per member, indexed 1..n_members.
    """
    if isinstance(n_members, bool) or not isinstance(n_members, numbers.Integral) or n_members < 1:
        raise ParameterError(f"n_members={n_members!r} must be a whole number >= 1.")
    rng = np.random.default_rng(seed)
    spend = np.round(np.exp(np.log(250.0) + 0.9 * rng.standard_normal(int(n_members))), 2)
    return pd.Series(spend, index=pd.RangeIndex(1, int(n_members) + 1, name="member"), name="spend")


# ----------------------------------------------------------------------------- notebook 06
#: The parameters notebook 06's exercise passes to its papermill demo.
PAPERMILL_DEMO: dict[str, int] = {"start": 120, "end": 110, "new": 20}

# ----------------------------------------------------------------------------- notebook 07
#: The CDNOW log shipped with the package, and the end of its observation window.
CDNOW_FILE = "cdnow_master.txt.gz"
CDNOW_AS_OF = "1998-06-30"


def cdnow_log() -> pd.DataFrame:
    """The CDNOW purchase log (a real online CD shop, 1997-1998; definitions §1).

    23,570 customers who made their first purchase at CDNOW in the first
    quarter of 1997, followed to the end of June 1998: 69,659 purchase rows
    (several rows of one customer on one day are separate orders). The file
    ships in ``retainkit/data/`` (see ``CDNOW-README.md`` there for its source
    and licence).

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` (str), ``timestamp`` (date), ``cds`` (number of CDs)
        and ``amount`` (US dollars).
    """
    with resources.as_file(resources.files("retainkit") / "data" / CDNOW_FILE) as path:
        frame = pd.read_csv(
            path,
            sep=r"\s+",
            skiprows=1,
            header=None,
            names=["customer_id", "date", "cds", "amount"],
            dtype={"customer_id": str, "date": str},
        )
    frame["timestamp"] = pd.to_datetime(frame.pop("date"), format="%Y%m%d")
    return frame[["customer_id", "timestamp", "cds", "amount"]]


def load_cdnow() -> Transactions:
    """:func:`cdnow_log` loaded with ``as_of`` = 30 June 1998 (definitions §1)."""
    return _load(cdnow_log(), CDNOW_AS_OF)
