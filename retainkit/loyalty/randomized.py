"""The randomised-holdout design of :func:`~retainkit.loyalty.measure_program_lift` (definitions §6 "Measured ROI").

Treated minus holdout means over the post window, with bootstrap intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import DataError
from .result import PERIOD_UNITS, ProgramLift, bootstrap, finish_lift, window_name


def randomized(
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
    reps = bootstrap(stat, t_idx.size, h_idx.size, n_boot, rng)
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
                    window_name(k, b, m, jp),
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
        f"{a} {PERIOD_UNITS[freq]} after the start"
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
