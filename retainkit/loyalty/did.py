"""Matched difference in differences, the default design of :func:`~retainkit.loyalty.measure_program_lift`.

Members are matched to never-members on pre-join frequency, recency and spend
(coarsened exact matching); the effect is the stratum-weighted difference of
their baseline-to-post changes, with bootstrap intervals (definitions §6
"Measured ROI").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from ..exceptions import DataError
from .panel import ActivityPanel
from .result import NAIVE_WARNING, PERIOD_UNITS, ProgramLift, bootstrap, finish_lift, window_name


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
                    window_name(int(k), b, m, jp),
                    float(np.average(act, weights=w)),
                    float(np.average(sp, weights=w)) if has_amount else float("nan"),
                    int(rows.size),
                )
            )
    return pd.DataFrame(
        traj_rows, columns=["group", "relative_period", "window", "active_share", "spend_per_customer", "customers"]
    )


def matched_did(
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
    reps = bootstrap(
        lambda wm, wc: (att(wm, wc, "d_a"), att(wm, wc, "d_s") if has_amount else None),
        mt.mem.size,
        mt.c_units.size,
        n_boot,
        rng,
    )
    trajectory = _did_trajectory(A, S, mt, b, m, a, jp, has_amount)
    naive_a, naive_s = naive_gap(A, S, is_mem, panel.first_buy, mt.mem, mt.J, jp, a)
    desc = (
        f"matched difference in differences: {mt.mem.size:,} members vs {mt.c_units.size:,} never-members "
        f"matched on frequency, recency{' and spend' if mt.edges.size or not has_amount else ''} in the "
        f"{m} {PERIOD_UNITS[freq]} before joining; change from the {b} {PERIOD_UNITS[freq]} before those to the {a} after joining"
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


def naive_gap(A, S, is_mem, first_buy, mem, J, jp, a) -> tuple[float, float]:
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
