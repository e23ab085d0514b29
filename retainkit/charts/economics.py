"""Charts of retention economics: where the "5 %" claim holds (definitions §5). Altair specs only."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from ._theme import PALETTE, layered

__all__ = ["claim_grid_chart"]

_NONE = "no payback (NPV before <= 0)"


def claim_grid_chart(
    grid: pd.DataFrame,
    *,
    claimed_range: tuple[float, float] = (25.0, 85.0),
    title: str | None = None,
    subtitle: str | None = None,
) -> alt.LayerChart:
    """Heatmap of :func:`retainkit.economics.five_percent_claim_grid` (Reichheld & Sasser 1990; definitions §5).

    Each cell is a (base retention, profit growth per year of tenure) pair,
    coloured by where its percent rise in NPV per acquired customer falls
    relative to ``claimed_range`` (default Reichheld & Sasser's 25-85 %) and
    labelled with the percent; cells whose NPV before the lift is not positive
    (a percent of nothing) are marked.

    Parameters
    ----------
    grid : pandas.DataFrame
        With ``retention``, ``margin_growth`` and ``profit_increase_pct``.
    claimed_range : (float, float)
        Percent range to compare with.
    title, subtitle : str, optional

    Returns
    -------
    altair.LayerChart
    """
    need = {"retention", "margin_growth", "profit_increase_pct"}
    if not isinstance(grid, pd.DataFrame) or not need <= set(grid.columns):
        raise ParameterError(f"grid needs the columns {sorted(need)}; pass five_percent_claim_grid(...).")
    lo, hi = (float(v) for v in claimed_range)
    pct = grid["profit_increase_pct"].to_numpy(dtype="float64")
    below, inside, above = f"below {lo:g} %", f"{lo:g}-{hi:g} %", f"above {hi:g} %"
    band = np.select([np.isnan(pct), pct < lo, pct <= hi], [_NONE, below, inside], above)
    data = grid[["retention", "margin_growth", "profit_increase_pct"]].assign(
        band=band, label=[("n/a" if np.isnan(v) else f"{v:.0f} %") for v in pct]
    )
    domain = [below, inside, above, _NONE]
    colors = ["#dbe6f0", PALETTE[0], "#e8a36b", "#f2f2f2"]
    base = alt.Chart(data).encode(
        x=alt.X("margin_growth:O", title="profit growth per year of tenure", axis=alt.Axis(format=".0%", labelAngle=0)),
        y=alt.Y("retention:O", title="base retention", sort="descending", axis=alt.Axis(format=".0%")),
    )
    rect = base.mark_rect(stroke="white").encode(
        color=alt.Color("band:N", title="percent rise in NPV", scale=alt.Scale(domain=domain, range=colors)),
        tooltip=[
            alt.Tooltip("retention:O", format=".0%"),
            alt.Tooltip("margin_growth:O", format=".0%"),
            alt.Tooltip("profit_increase_pct:Q", title="percent rise", format=".1f"),
        ],
    )
    text = base.mark_text(fontSize=12).encode(
        text="label:N", color=alt.condition(alt.datum.band == inside, alt.value("white"), alt.value("#1b2733"))
    )
    return layered(rect, text).properties(
        width=320,
        height=220,
        title=alt.Title(
            title or "Percent rise in NPV per customer from +5 points of retention", subtitle=subtitle or ""
        ),
    )
