"""Lift a loyalty programme actually produced, measured from a transaction log (definitions §6 "Measured ROI").

:func:`measure_program_lift`: difference in differences against comparison
customers matched on pre-join activity, or the plain treated-vs-holdout
difference for a randomised holdout, with bootstrap 95 % intervals. The naive
members-vs-others gap is returned next to a warning that members self-select.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from .._deprecation import renamed_kwargs
from ..exceptions import DataError, ParameterError
from ..periods import check_freq
from .panel import ActivityPanel, activity_panel, per_customer_flag
from .result import NAIVE_WARNING, ProgramLift, finish_lift

_UNITS = {"D": "days", "W": "weeks", "M": "months", "Q": "quarters", "Y": "years"}


def _boot_weights(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    return rng.multinomial(n, np.full(n, 1.0 / n), size=size).astype("float64")


@renamed_kwargs(gross_margin="margin")
def measure_program_lift(
    frame: Any,
    *,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = "amount",
    member: str = "is_member",
    join_date: str = "member_since",
    freq: str = "M",
    pre_periods: int = 3,
    match_periods: int = 3,
    post_periods: int = 3,
    design: str = "auto",
    holdout: str | None = None,
    spend_bins: int = 3,
    skip_join_period: bool = True,
    n_boot: int = 500,
    seed: int | None = 0,
    costs: float | None = None,
    margin: float | None = None,
    as_of: Any = None,
    tz: str | None = None,
) -> ProgramLift:
    """Lift a programme (or any dated retention initiative) produced (definitions §6).

    Outcomes, per customer and period (``freq``): *active* (>= 1 purchase, a
    row with amount >= 0 or unknown, definitions §1) and *spend* (sum of
    amounts, refunds included). "Retention" here is the share of customers
    active per period; spend is per customer per period (inactive = 0).

    Windows around each member's join period J (lengths in periods):

    ``baseline`` = J-m-b .. J-m-1 | ``matching`` = J-m .. J-1 | ``join`` = J | ``post`` = J+1 .. J+a

    with b = ``pre_periods``, m = ``match_periods``, a = ``post_periods``. The
    join period is left out (``skip_join_period``) because people often join
    at checkout, so it holds a purchase by construction.

    Designs
    -------
    ``"did"`` (matched difference in differences; the default without a
    holdout): each member is compared with never-members who, in the same
    calendar periods, had the same activity in the matching window:
    frequency (active periods), recency (periods since the last active one)
    and spend band (``spend_bins`` quantile bands of the members' matching-
    window spend). Non-members are thus given the member's join date as a
    pseudo join date and matched exactly within these bins (coarsened exact
    matching; one comparison customer may serve several join dates). The lift
    is the members' change from baseline to post minus the matched
    comparisons' change, averaged over strata weighted by their member counts
    (the effect on the matched members). The change is measured from the
    baseline window, NOT from the matching window: differencing the very
    window one matched on biases the estimate by regression to the mean when
    members self-select on their usual activity level (Daw & Hatfield 2018).
    Identifying assumption: without the programme, matched members and
    comparisons would have changed by the same amount between the baseline
    and post windows. Members without a complete baseline/post window, who
    were not customers before the baseline window, or whose stratum has no
    comparison customer are left out and counted.

    ``"randomized"`` (with ``holdout``): every customer with a start date in
    ``join_date`` took part; those with ``holdout`` true were held out at
    random. The lift is the plain difference of post-window means, treated
    minus holdout (``member`` is not used).

    Intervals: bootstrap (``n_boot`` resamples of customers, members and
    comparisons resampled separately; the whole matching is kept, the strata
    means are recomputed), 95 % percentile interval.

    Parameters
    ----------
    frame : pandas.DataFrame or retainkit.Transactions
        Transaction log; a Transactions object is read from ``.frame``
        (its ``as_of`` and ``tz`` are used unless given).
    customer_id, timestamp, amount, member, join_date : str
        Column names. ``member``: yes/no flag (any true row makes the
        customer a member). ``join_date``: the member's join (start) date,
        missing for others; the earliest per customer is used. ``amount``
        may be None (then only the retention lift is measured).
    freq : {"D", "W", "M", "Q", "Y"}
    pre_periods, match_periods, post_periods : int
        Window lengths (see above), >= 1.
    design : {"auto", "did", "randomized"}
        ``"auto"``: "randomized" when ``holdout`` is given, else "did".
    holdout : str, optional
        Yes/no column marking the randomised holdout.
    spend_bins : int
        Number of spend bands for matching (1 = do not match on spend).
    skip_join_period : bool
    n_boot : int
        Bootstrap resamples (>= 50 for an interval; 0 = no interval).
    seed : int or None
    costs : float, optional
        Programme cost per member per period (rewards + service, currency).
        With ``margin`` it gives the implied ROI
        ``(margin * spend_lift - costs) / costs``.
    margin : float, optional
    as_of, tz
        Only complete periods up to ``as_of`` are used (definitions §1, §2);
        default: the end of the day of the latest timestamp, report zone UTC.

    Returns
    -------
    ProgramLift

    Raises
    ------
    DataError
        A column is missing, flags/dates do not parse, no member can be measured.
    ParameterError
        Bad window lengths, design, costs.
    """
    if hasattr(frame, "frame") and hasattr(frame, "as_of"):
        as_of = frame.as_of if as_of is None else as_of
        tz = getattr(frame, "tz", None) if tz is None else tz
        frame = frame.frame
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(f"frame must be a pandas DataFrame or retainkit Transactions, not {type(frame).__name__}.")
    tz = tz or "UTC"
    freq = check_freq(freq)
    design = _check_options(
        pre_periods, match_periods, post_periods, spend_bins, n_boot, design, holdout, costs, margin
    )
    needed = [customer_id, timestamp, join_date] + ([member] if design == "did" else [holdout])
    has_amount = _check_columns(frame, needed, amount)
    df = frame[[c for c in dict.fromkeys(needed + ([amount] if has_amount else []))]].copy()
    panel = activity_panel(
        df,
        customer_id=customer_id,
        timestamp=timestamp,
        amount=amount if has_amount else None,
        join_date=join_date,
        freq=freq,
        tz=tz,
        as_of=as_of,
        windows=(pre_periods, match_periods, post_periods),
    )
    b, m, a = int(pre_periods), int(match_periods), int(post_periods)
    jp = 1 if skip_join_period else 0
    windows = {"baseline_periods": b, "match_periods": m, "post_periods": a}
    rng = np.random.default_rng(seed)
    n_c = len(panel.customer_ids)
    if design == "randomized":
        return _randomized(
            panel.active,
            panel.spend,
            panel.join,
            panel.has_join,
            per_customer_flag(panel.rows, holdout, panel.customer_codes, n_c),
            panel.first_buy,
            b,
            m,
            a,
            jp,
            panel.n_periods,
            has_amount,
            panel.customer_ids,
            freq,
            windows,
            n_boot,
            seed,
            rng,
            costs,
            margin,
        )
    is_mem = per_customer_flag(panel.rows, member, panel.customer_codes, n_c)
    return _matched_did(
        panel, is_mem, member, b, m, a, jp, spend_bins, has_amount, freq, windows, n_boot, seed, rng, costs, margin
    )


# --------------------------------------------------------------------------- the steps of measure_program_lift
def _check_options(
    pre_periods: int,
    match_periods: int,
    post_periods: int,
    spend_bins: int,
    n_boot: int,
    design: str,
    holdout: str | None,
    costs: float | None,
    margin: float | None,
) -> str:
    """Validate the window lengths, bootstrap size, design and costs; returns the design ("did" or "randomized")."""
    for name, v in (("pre_periods", pre_periods), ("match_periods", match_periods), ("post_periods", post_periods)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ParameterError(f"{name}={v!r} must be a whole number of periods >= 1.")
    if not isinstance(spend_bins, (int, np.integer)) or spend_bins < 1:
        raise ParameterError(f"spend_bins={spend_bins!r} must be an integer >= 1 (1 = do not match on spend).")
    if not isinstance(n_boot, (int, np.integer)) or (n_boot != 0 and n_boot < 50):
        raise ParameterError(f"n_boot={n_boot!r}: use 0 (no interval) or at least 50 resamples (500+ recommended).")
    if design not in ("auto", "did", "randomized"):
        raise ParameterError(f"design={design!r} must be 'auto', 'did' or 'randomized'.")
    if design == "auto":
        design = "randomized" if holdout is not None else "did"
    if design == "randomized" and holdout is None:
        raise ParameterError("design='randomized' needs holdout='<column>' naming the randomised holdout flag.")
    if costs is not None:
        if margin is None:
            raise ParameterError("costs given without margin: the implied ROI needs both.")
        if not costs > 0:
            raise ParameterError(f"costs={costs!r} must be > 0 (programme cost per member per period).")
        if not 0 <= margin <= 1:
            raise ParameterError(f"margin={margin!r} must lie in [0, 1]; write 35 % as 0.35.")
    return design


def _check_columns(frame: pd.DataFrame, needed: list[str], amount: str | None) -> bool:
    """Raise DataError for a missing column; returns whether amounts are measured."""
    has_amount = amount is not None and amount in frame.columns
    if amount is not None and not has_amount:
        raise DataError(
            f"column {amount!r} (amount) is not in the data (columns: {list(frame.columns)}). "
            "Pass amount=None to measure the retention lift only."
        )
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(
            f"column(s) {missing} not in the data (columns: {list(frame.columns)}). "
            "Map them with customer_id=..., timestamp=..., member=..., join_date=..., holdout=..."
        )
    return has_amount


def _eligible_members(
    panel: ActivityPanel, is_mem: np.ndarray, member: str, b: int, m: int, a: int, jp: int
) -> tuple[dict[str, int], np.ndarray, np.ndarray, np.ndarray]:
    """(counts, members measured, their join periods, never-members), counting every exclusion by reason."""
    join, has_join, first_buy, n_per = panel.join, panel.has_join, panel.first_buy, panel.n_periods
    counts: dict[str, int] = {"members": int(is_mem.sum())}
    counts["excluded_member_without_join_date"] = int((is_mem & ~has_join).sum())
    nonmem = np.flatnonzero(~is_mem)
    if nonmem.size == 0:
        raise DataError(f"column {member!r}: every customer is a member, so there is no comparison group.")
    mem = np.flatnonzero(is_mem & has_join)
    J = join[mem]
    too_early = J - m - b < 0
    too_late = J + jp + a - 1 >= n_per
    new_cust = ~too_early & (first_buy[mem] >= J - m - b)
    counts["excluded_member_window_before_data"] = int(too_early.sum())
    counts["excluded_member_post_window_incomplete"] = int((too_late & ~too_early).sum())
    counts["excluded_member_not_yet_customer_at_baseline"] = int((new_cust & ~too_late).sum())
    ok = ~(too_early | too_late | new_cust)
    mem, J = mem[ok], J[ok]
    if mem.size == 0:
        raise DataError(
            "no member can be measured: each needs a complete baseline + matching window "
            f"({b}+{m} periods) after their first purchase and {a} complete periods after joining. "
            f"Exclusions: { {k: v for k, v in counts.items() if k.startswith('excluded')} }."
        )
    return counts, mem, J, nonmem


def _profile(
    A: np.ndarray, S: np.ndarray, rows: np.ndarray, Jr: np.ndarray, b: int, m: int, a: int, jp: int
) -> dict[str, np.ndarray]:
    """Matching-window frequency, recency and spend, and the baseline-to-post changes, per (customer, join period)."""
    off_m = np.arange(-m, 0)
    off_b = np.arange(-m - b, -m)
    off_a = np.arange(jp, jp + a)
    am = A[rows[:, None], Jr[:, None] + off_m]
    sm = S[rows[:, None], Jr[:, None] + off_m]
    freq_ = am.sum(1)
    last_active = np.where(am.any(1), m - 1 - np.argmax(am[:, ::-1], axis=1), -1)
    recency = np.where(freq_ > 0, m - last_active, m + 1)
    d_a = A[rows[:, None], Jr[:, None] + off_a].mean(1) - A[rows[:, None], Jr[:, None] + off_b].mean(1)
    d_s = S[rows[:, None], Jr[:, None] + off_a].mean(1) - S[rows[:, None], Jr[:, None] + off_b].mean(1)
    return dict(freq=freq_.astype("int64"), recency=recency.astype("int64"), spend=sm.sum(1), d_a=d_a, d_s=d_s)


@dataclass
class _Matching:
    """Members and comparison rows after coarsened exact matching, strata indexed densely."""

    mem: np.ndarray  # member rows used
    J: np.ndarray  # their join periods
    pm: dict[str, np.ndarray]
    c_rows: np.ndarray  # comparison (customer, pseudo join period) rows
    c_J: np.ndarray
    pc: dict[str, np.ndarray]
    m_s: np.ndarray  # stratum of each member
    c_s: np.ndarray  # stratum of each comparison row
    n_s: int
    c_units: np.ndarray  # distinct comparison customers
    c_u: np.ndarray  # comparison customer of each comparison row
    edges: np.ndarray  # spend band edges


def _match(
    panel: ActivityPanel,
    counts: dict[str, int],
    mem: np.ndarray,
    J: np.ndarray,
    nonmem: np.ndarray,
    b: int,
    m: int,
    a: int,
    jp: int,
    spend_bins: int,
    has_amount: bool,
) -> _Matching:
    """Match each member with never-members of the same pre-join activity in the same calendar periods."""
    A, S, first_buy = panel.active, panel.spend, panel.first_buy
    pm = _profile(A, S, mem, J, b, m, a, jp)
    if has_amount and spend_bins > 1 and (pm["freq"] > 0).any():
        qs = np.quantile(pm["spend"][pm["freq"] > 0], np.linspace(0, 1, spend_bins + 1)[1:-1])
        edges = np.unique(qs)
    else:
        edges = np.array([])

    def band(p: dict[str, np.ndarray]) -> np.ndarray:
        return np.where(p["freq"] > 0, 1 + np.searchsorted(edges, p["spend"], side="right"), 0)

    pm["band"] = band(pm)
    # comparison rows: every never-member x every distinct member join period
    Js = np.unique(J)
    c_rows, c_J = [], []
    for j in Js:
        elig = nonmem[(first_buy[nonmem] < j - m - b)]
        c_rows.append(elig)
        c_J.append(np.full(elig.size, j))
    c_rows_a, c_J_a = np.concatenate(c_rows), np.concatenate(c_J)
    pc = _profile(A, S, c_rows_a, c_J_a, b, m, a, jp)
    pc["band"] = band(pc)

    def code(Jr: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
        # one integer per stratum (join period, frequency, recency, spend band)
        return ((Jr * (m + 1) + p["freq"]) * (m + 2) + p["recency"]) * (spend_bins + 1) + p["band"]

    strata, m_stratum = np.unique(code(J, pm), return_inverse=True)
    key_c = code(c_J_a, pc)
    pos = np.clip(np.searchsorted(strata, key_c), 0, strata.size - 1)
    c_stratum = np.where(strata[pos] == key_c, pos, -1)
    has_comp = np.zeros(len(strata), bool)
    has_comp[c_stratum[c_stratum >= 0]] = True
    matched = has_comp[m_stratum]
    counts["excluded_member_no_comparison_in_stratum"] = int((~matched).sum())
    if not matched.any():
        raise DataError(
            "no member has a comparison customer with the same pre-join activity; "
            "try spend_bins=1 or a shorter match_periods."
        )
    mem, J, m_stratum = mem[matched], J[matched], m_stratum[matched]
    for k in list(pm):
        pm[k] = pm[k][matched]
    keep_c = c_stratum >= 0
    keep_c &= np.isin(c_stratum, np.unique(m_stratum))
    c_rows_a, c_J_a, c_stratum = c_rows_a[keep_c], c_J_a[keep_c], c_stratum[keep_c]
    for k in list(pc):
        pc[k] = pc[k][keep_c]
    # re-index strata densely
    used, m_s = np.unique(m_stratum, return_inverse=True)
    c_s = np.searchsorted(used, c_stratum)
    n_s = used.size
    c_units, c_u = np.unique(c_rows_a, return_inverse=True)
    counts["members_used"] = int(mem.size)
    counts["comparison_customers"] = int(c_units.size)
    counts["comparison_rows"] = int(c_rows_a.size)
    return _Matching(mem, J, pm, c_rows_a, c_J_a, pc, m_s, c_s, n_s, c_units, c_u, edges)


def _att_estimator(mt: _Matching):
    """The effect on the matched members for bootstrap weights: att(wm, wc, "d_a" or "d_s") -> one value per resample."""
    mem, m_s, c_s, n_s, c_units, c_u, pm, pc = mt.mem, mt.m_s, mt.c_s, mt.n_s, mt.c_units, mt.c_u, mt.pm, mt.pc
    Mi = sparse.csr_matrix((np.ones(mem.size), (np.arange(mem.size), m_s)), shape=(mem.size, n_s))
    Ci = sparse.csr_matrix((np.ones(c_s.size), (c_u, c_s)), shape=(c_units.size, n_s))
    Md = {k: sparse.csr_matrix((pm[k], (np.arange(mem.size), m_s)), shape=(mem.size, n_s)) for k in ("d_a", "d_s")}
    Cd = {k: sparse.csr_matrix((pc[k], (c_u, c_s)), shape=(c_units.size, n_s)) for k in ("d_a", "d_s")}

    def att(wm: np.ndarray, wc: np.ndarray, key: str) -> np.ndarray:
        # wm: (B, n_members), wc: (B, n_comparison units) -> ATT per resample
        mc = np.asarray((Mi.T @ wm.T).T)
        ms = np.asarray((Md[key].T @ wm.T).T)
        cc = np.asarray((Ci.T @ wc.T).T)
        cs = np.asarray((Cd[key].T @ wc.T).T)
        valid = (mc > 0) & (cc > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            diff = np.where(valid, ms / np.where(mc > 0, mc, 1) - cs / np.where(cc > 0, cc, 1), 0.0)
        w = np.where(valid, mc, 0.0)
        return (w * diff).sum(1) / w.sum(1)

    return att


def _did_trajectory(
    A: np.ndarray, S: np.ndarray, mt: _Matching, b: int, m: int, a: int, jp: int, has_amount: bool
) -> pd.DataFrame:
    """Member means and stratum-weighted comparison means by period relative to joining."""
    mem, J, c_rows_a, c_J_a, m_s, c_s, n_s = mt.mem, mt.J, mt.c_rows, mt.c_J, mt.m_s, mt.c_s, mt.n_s
    rel = np.arange(-m - b, jp + a)
    traj_rows = []
    wm_s = np.bincount(m_s, minlength=n_s).astype("float64")
    nc_s = np.bincount(c_s, minlength=n_s).astype("float64")
    c_w = wm_s[c_s] / nc_s[c_s]  # each comparison row stands for (members / comparisons) of its stratum
    for k in rel:
        for grp, rows, Jr, w in (("members", mem, J, np.ones(mem.size)), ("matched comparison", c_rows_a, c_J_a, c_w)):
            act = A[rows, Jr + k]
            sp = S[rows, Jr + k]
            traj_rows.append(
                (
                    grp,
                    int(k),
                    _window(k, b, m, jp),
                    float(np.average(act, weights=w)),
                    float(np.average(sp, weights=w)) if has_amount else float("nan"),
                    int(rows.size),
                )
            )
    return pd.DataFrame(
        traj_rows, columns=["group", "relative_period", "window", "active_share", "spend_per_customer", "customers"]
    )


def _matched_did(
    panel: ActivityPanel,
    is_mem: np.ndarray,
    member: str,
    b: int,
    m: int,
    a: int,
    jp: int,
    spend_bins: int,
    has_amount: bool,
    freq: str,
    windows: dict[str, int],
    n_boot: int,
    seed: int | None,
    rng: np.random.Generator,
    costs: float | None,
    margin: float | None,
) -> ProgramLift:
    """The matched difference-in-differences design of :func:`measure_program_lift` (definitions §6)."""
    A, S = panel.active, panel.spend
    counts, mem, J, nonmem = _eligible_members(panel, is_mem, member, b, m, a, jp)
    mt = _match(panel, counts, mem, J, nonmem, b, m, a, jp, spend_bins, has_amount)
    att = _att_estimator(mt)
    ones_m, ones_c = np.ones((1, mt.mem.size)), np.ones((1, mt.c_units.size))
    est_a = float(att(ones_m, ones_c, "d_a")[0])
    est_s = float(att(ones_m, ones_c, "d_s")[0]) if has_amount else float("nan")
    reps = _bootstrap(
        lambda wm, wc: (att(wm, wc, "d_a"), att(wm, wc, "d_s") if has_amount else None),
        mt.mem.size,
        mt.c_units.size,
        n_boot,
        rng,
    )
    trajectory = _did_trajectory(A, S, mt, b, m, a, jp, has_amount)
    naive_a, naive_s = _naive_gap(A, S, is_mem, panel.first_buy, mt.mem, mt.J, jp, a)
    desc = (
        f"matched difference in differences: {mt.mem.size:,} members vs {mt.c_units.size:,} never-members "
        f"matched on frequency, recency{' and spend' if mt.edges.size or not has_amount else ''} in the "
        f"{m} {_UNITS[freq]} before joining; change from the {b} {_UNITS[freq]} before those to the {a} after joining"
    )
    return finish_lift(
        "did",
        desc,
        est_a,
        est_s,
        reps,
        naive_a,
        naive_s,
        NAIVE_WARNING,
        trajectory,
        counts,
        np.asarray(panel.customer_ids[mt.mem]),
        freq,
        windows,
        n_boot,
        seed,
        costs,
        margin,
        has_amount,
    )


def _window(k: int, b: int, m: int, jp: int) -> str:
    if k < -m:
        return "baseline"
    if k < 0:
        return "matching"
    if k < jp:
        return "join"
    return "post"


def _bootstrap(stat, n_m: int, n_c: int, n_boot: int, rng: np.random.Generator) -> pd.DataFrame:
    """Resample members and comparison units separately; returns replicate estimates."""
    out_a: list[np.ndarray] = []
    out_s: list[np.ndarray] = []
    chunk = max(1, min(n_boot, int(5e6 // max(n_m + n_c, 1))))
    done = 0
    while done < n_boot:
        size = min(chunk, n_boot - done)
        ra, rs = stat(_boot_weights(rng, n_m, size), _boot_weights(rng, n_c, size))
        out_a.append(ra)
        out_s.append(rs if rs is not None else np.full(size, np.nan))
        done += size
    if not out_a:
        return pd.DataFrame({"retention_lift": [], "spend_lift": []})
    return pd.DataFrame({"retention_lift": np.concatenate(out_a), "spend_lift": np.concatenate(out_s)})


def _naive_gap(A, S, is_mem, first_buy, mem, J, jp, a) -> tuple[float, float]:
    """Members' post-join means minus all non-members' means in the same calendar periods."""
    nonmem = ~is_mem
    n_per = A.shape[1]
    t = np.arange(n_per)
    acquired = nonmem[:, None] & (first_buy[:, None] < t[None, :])
    n_t = acquired.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_t = (A * acquired).sum(0) / n_t
        spend_t = (S * acquired).sum(0) / n_t
    cols = J[:, None] + np.arange(jp, jp + a)[None, :]
    rows = mem[:, None]
    gap_a = float(np.nanmean(A[rows, cols] - share_t[cols]))
    gap_s = float(np.nanmean(S[rows, cols] - spend_t[cols]))
    return gap_a, gap_s


def _randomized(
    A,
    S,
    join,
    has_join,
    hold,
    first_buy,
    b,
    m,
    a,
    jp,
    n_per,
    has_amount,
    cust_ids,
    freq,
    windows,
    n_boot,
    seed,
    rng,
    costs,
    margin,
) -> ProgramLift:
    part = np.flatnonzero(has_join)
    counts: dict[str, int] = {"participants": int(part.size)}
    Jp = join[part]
    late = Jp + jp + a - 1 >= n_per
    counts["excluded_post_window_incomplete"] = int(late.sum())
    part, Jp = part[~late], Jp[~late]
    treated = ~hold[part]
    if treated.sum() == 0 or (~treated).sum() == 0:
        raise DataError(
            "a randomised design needs both treated and holdout customers with a complete post window "
            f"(treated {int(treated.sum())}, holdout {int((~treated).sum())})."
        )
    off = np.arange(jp, jp + a)
    ya = A[part[:, None], Jp[:, None] + off].mean(1)
    ys = S[part[:, None], Jp[:, None] + off].mean(1)
    t_idx, h_idx = np.flatnonzero(treated), np.flatnonzero(~treated)
    counts.update(
        members=int(t_idx.size),
        members_used=int(t_idx.size),
        comparison_customers=int(h_idx.size),
        comparison_rows=int(h_idx.size),
    )

    def stat(wt: np.ndarray, wh: np.ndarray):
        da = wt @ ya[t_idx] / wt.sum(1) - wh @ ya[h_idx] / wh.sum(1)
        ds = wt @ ys[t_idx] / wt.sum(1) - wh @ ys[h_idx] / wh.sum(1)
        return da, (ds if has_amount else None)

    est_a = float(ya[t_idx].mean() - ya[h_idx].mean())
    est_s = float(ys[t_idx].mean() - ys[h_idx].mean()) if has_amount else float("nan")
    reps = _bootstrap(stat, t_idx.size, h_idx.size, n_boot, rng)
    rel = np.arange(-min(m + b, int(Jp.min())), jp + a)
    rows = []
    for k in rel:
        for grp, idx in (("treated", t_idx), ("holdout", h_idx)):
            r, c = part[idx], Jp[idx] + k
            okc = c >= 0
            rows.append(
                (
                    grp,
                    int(k),
                    _window(k, b, m, jp),
                    float(A[r[okc], c[okc]].mean()),
                    float(S[r[okc], c[okc]].mean()) if has_amount else float("nan"),
                    int(okc.sum()),
                )
            )
    trajectory = pd.DataFrame(
        rows, columns=["group", "relative_period", "window", "active_share", "spend_per_customer", "customers"]
    )
    desc = (
        f"randomised holdout: {t_idx.size:,} treated vs {h_idx.size:,} held out; difference of means over the "
        f"{a} {_UNITS[freq]} after the start"
    )
    return finish_lift(
        "randomized",
        desc,
        est_a,
        est_s,
        reps,
        float("nan"),
        float("nan"),
        "",
        trajectory,
        counts,
        np.asarray(cust_ids[part[t_idx]]),
        freq,
        windows,
        n_boot,
        seed,
        costs,
        margin,
        has_amount,
    )


__all__ = ["NAIVE_WARNING", "ProgramLift", "measure_program_lift"]
