"""The result of a measured programme lift (definitions §6 "Measured ROI").

:class:`ProgramLift` holds the estimates, their bootstrap intervals, the naive
gap with its warning, the trajectory around joining (``table``) and the counts;
:func:`finish_lift` assembles it from the bootstrap replicates of
:func:`bootstrap` (members and comparison units resampled separately).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._deprecation import renamed_attribute
from .parameters import is_missing

#: Shown with every naive members-vs-others gap (definitions §6).
NAIVE_WARNING = (
    "Naive gap = members after joining vs all non-members in the same periods. Members "
    "self-select: frequent, big-spending customers join more often, so this gap mixes the "
    "programme's effect with who joins. Do not read it as the programme's effect; use the "
    "matched difference-in-differences (or randomised) estimate."
)


@dataclass(frozen=True)
class ProgramLift:
    """Result of :func:`measure_program_lift` (definitions §6, "Measured ROI").

    Attributes
    ----------
    design : {"did", "randomized"}
        ``"did"``: matched difference in differences; ``"randomized"``:
        treated minus randomised holdout.
    design_description : str
        One sentence saying what was compared with what.
    summary : pandas.DataFrame
        Tidy: ``metric`` (``retention_lift``, ``spend_lift``, ``implied_roi``,
        ``naive_retention_gap``, ``naive_spend_gap``), ``estimate``,
        ``ci_low``, ``ci_high`` (bootstrap 95 % percentile interval; NaN for
        the naive gaps), ``unit``, ``note``.
    retention_lift, spend_lift : float
        Lift in the share of customers active per period (absolute) and in
        spend per customer per period (currency).
    retention_lift_ci, spend_lift_ci, implied_roi_ci : tuple of float
    implied_roi : float
        (margin * spend_lift - costs) / costs, NaN without ``costs``.
    naive_retention_gap, naive_spend_gap : float
        Members vs everyone else; see ``naive_warning``.
    naive_warning : str
    table : pandas.DataFrame
        The trajectory: means by period relative to the join period: ``group`` ("members" /
        "matched comparison", or "treated" / "holdout"), ``relative_period``,
        ``window`` ("baseline", "matching", "join", "post"), ``active_share``,
        ``spend_per_customer``, ``customers``. Comparison means are weighted
        to the members' strata.
    counts : dict
        ``members`` (with a join date), ``members_used``, ``comparison_customers``,
        ``comparison_rows`` and the exclusion counts by reason.
    used_members : numpy.ndarray
        Customer ids of the members (treated) the estimate is about.
    freq : str
    windows : dict
        Lengths: ``baseline_periods``, ``match_periods``, ``post_periods``.
    n_boot, seed : int
    trajectory : pandas.DataFrame
        Deprecated spelling of ``table`` (a DeprecationWarning; removed in the
        next release).
    """

    design: str
    design_description: str
    summary: pd.DataFrame
    retention_lift: float
    retention_lift_ci: tuple[float, float]
    spend_lift: float
    spend_lift_ci: tuple[float, float]
    implied_roi: float
    implied_roi_ci: tuple[float, float]
    naive_retention_gap: float
    naive_spend_gap: float
    naive_warning: str
    table: pd.DataFrame
    counts: dict[str, int]
    used_members: np.ndarray
    freq: str
    windows: dict[str, int]
    n_boot: int
    seed: int | None
    replicates: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    trajectory = renamed_attribute("ProgramLift", "trajectory", "table")

    def _repr_html_(self) -> str:
        def fmt(v: float, pct: bool) -> str:
            return "n/a" if is_missing(v) else (f"{v:+.1%}" if pct else f"{v:+,.2f}")

        rows = []
        for _, r in self.summary.iterrows():
            pct = r["unit"] in ("share of customers", "ratio")
            ci = "" if is_missing(r["ci_low"]) else f"{fmt(r['ci_low'], pct)} to {fmt(r['ci_high'], pct)}"
            rows.append(
                f"<tr><td>{html.escape(r['metric'])}</td><td>{fmt(r['estimate'], pct)}</td>"
                f"<td>{ci}</td><td>{html.escape(str(r['note']))}</td></tr>"
            )
        return (
            f"<p><b>Measured lift</b> ({html.escape(self.design_description)}; "
            f"{self.counts.get('members_used', 0):,} members, "
            f"{self.counts.get('comparison_customers', 0):,} comparison customers)</p>"
            "<table><tr><th>metric</th><th>estimate</th><th>95 % interval</th><th>note</th></tr>"
            + "".join(rows)
            + "</table>"
        )

    def __repr__(self) -> str:
        lo, hi = self.retention_lift_ci
        return (
            f"<ProgramLift design={self.design} retention_lift={self.retention_lift:+.4f} "
            f"[{lo:+.4f}, {hi:+.4f}] spend_lift={self.spend_lift:+.4g}>"
        )


def ci95(x: np.ndarray) -> tuple[float, float]:
    x = np.asarray(x, dtype="float64")
    x = x[np.isfinite(x)]
    if x.size < 50:
        return (float("nan"), float("nan"))
    lo, hi = np.quantile(x, [0.025, 0.975])
    return (float(lo), float(hi))


def finish_lift(
    design,
    desc,
    est_a,
    est_s,
    reps,
    naive_a,
    naive_s,
    warning,
    trajectory,
    counts,
    used,
    freq,
    windows,
    n_boot,
    seed,
    costs,
    margin,
    has_amount,
) -> ProgramLift:
    ci_a = ci95(reps["retention_lift"]) if n_boot else (float("nan"),) * 2
    ci_s = ci95(reps["spend_lift"]) if n_boot and has_amount else (float("nan"),) * 2
    if costs is not None and has_amount:
        roi = (margin * est_s - costs) / costs
        roi_reps = (margin * reps["spend_lift"] - costs) / costs
        ci_r = ci95(roi_reps) if n_boot else (float("nan"),) * 2
        roi_note = f"(margin {margin:g} x spend lift - costs {costs:g}) / costs, per member per period"
    else:
        roi, ci_r = float("nan"), (float("nan"),) * 2
        roi_note = "pass costs= and margin= for the implied ROI" + ("" if has_amount else " (needs amounts)")
    naive_note = warning if design == "did" else "randomised: the treated-vs-holdout difference above is the estimate"
    summary = pd.DataFrame(
        [
            ("retention_lift", est_a, *ci_a, "share of customers", "active share per period, " + design),
            ("spend_lift", est_s, *ci_s, "currency", "spend per customer per period, " + design),
            ("implied_roi", roi, *ci_r, "ratio", roi_note),
            ("naive_retention_gap", naive_a, float("nan"), float("nan"), "share of customers", naive_note),
            ("naive_spend_gap", naive_s, float("nan"), float("nan"), "currency", naive_note),
        ],
        columns=["metric", "estimate", "ci_low", "ci_high", "unit", "note"],
    )
    return ProgramLift(
        design=design,
        design_description=desc,
        summary=summary,
        retention_lift=est_a,
        retention_lift_ci=ci_a,
        spend_lift=est_s,
        spend_lift_ci=ci_s,
        implied_roi=float(roi),
        implied_roi_ci=ci_r,
        naive_retention_gap=naive_a,
        naive_spend_gap=naive_s,
        naive_warning=warning if design == "did" else "",
        table=trajectory,
        counts=counts,
        used_members=used,
        freq=freq,
        windows=windows,
        n_boot=int(n_boot),
        seed=seed,
        replicates=reps,
    )


#: Plural unit names of the period codes, for the result's description.
PERIOD_UNITS = {"D": "days", "W": "weeks", "M": "months", "Q": "quarters", "Y": "years"}


def boot_weights(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """``size`` rows of bootstrap weights for ``n`` units (how often each unit is drawn)."""
    return rng.multinomial(n, np.full(n, 1.0 / n), size=size).astype("float64")


def window_name(k: int, b: int, m: int, jp: int) -> str:
    """The window of period ``k`` relative to joining: baseline, matching, join or post."""
    if k < -m:
        return "baseline"
    if k < 0:
        return "matching"
    if k < jp:
        return "join"
    return "post"


def bootstrap(stat, n_m: int, n_c: int, n_boot: int, rng: np.random.Generator) -> pd.DataFrame:
    """Resample members and comparison units separately; returns replicate estimates."""
    out_a: list[np.ndarray] = []
    out_s: list[np.ndarray] = []
    chunk = max(1, min(n_boot, int(5e6 // max(n_m + n_c, 1))))
    done = 0
    while done < n_boot:
        size = min(chunk, n_boot - done)
        ra, rs = stat(boot_weights(rng, n_m, size), boot_weights(rng, n_c, size))
        out_a.append(ra)
        out_s.append(rs if rs is not None else np.full(size, np.nan))
        done += size
    if not out_a:
        return pd.DataFrame({"retention_lift": [], "spend_lift": []})
    return pd.DataFrame({"retention_lift": np.concatenate(out_a), "spend_lift": np.concatenate(out_s)})


__all__ = [
    "NAIVE_WARNING",
    "PERIOD_UNITS",
    "ProgramLift",
    "boot_weights",
    "bootstrap",
    "ci95",
    "finish_lift",
    "window_name",
]
