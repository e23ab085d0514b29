"""Sparklines: a small inline SVG of a figure's latest periods, drawn without JavaScript.

The same bytes for the same values (coordinates rounded to 0.1 px), no text
inside the drawing (its description is the SVG's ``<title>`` and
``aria-label``), so it reads the same in the interactive and the ``svg``
report and in print.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .format import esc

WIDTH = 200
HEIGHT = 40
PAD = 4


def _finite(x: float) -> bool:
    return x is not None and math.isfinite(x)


def _f(x: float) -> str:
    text = f"{x:.1f}"
    return "0.0" if text == "-0.0" else text


def sparkline_svg(
    values: Sequence[float],
    lo: Sequence[float] = (),
    hi: Sequence[float] = (),
    *,
    label: str = "",
    width: int = WIDTH,
    height: int = HEIGHT,
    color: str = "#1f5f99",
) -> str:
    """An SVG line of ``values`` (oldest first), the last point marked, with a band from ``lo`` to ``hi``.

    Missing values (NaN) leave a gap. The vertical scale spans the values and
    the band; a flat series is drawn in the middle. ``label`` describes the
    line for screen readers and as a tooltip. Returns '' for no finite value.
    """
    vals = [float(v) if _finite(v) else math.nan for v in values]
    band = len(lo) == len(vals) == len(hi) and any(_finite(a) and _finite(b) for a, b in zip(lo, hi))
    pool = [v for v in vals if _finite(v)]
    if not pool:
        return ""
    if band:
        pool += [float(v) for v in (*lo, *hi) if _finite(v)]
    vmin, vmax = min(pool), max(pool)
    n = len(vals)

    def x(i: int) -> float:
        return PAD + (width - 2 * PAD) * (i / (n - 1) if n > 1 else 0.5)

    def y(v: float) -> float:
        if vmax == vmin:
            return height / 2
        return height - PAD - (height - 2 * PAD) * (v - vmin) / (vmax - vmin)

    parts = []
    if band:
        top = [(x(i), y(float(b))) for i, b in enumerate(hi) if _finite(b) and _finite(lo[i])]
        bottom = [(x(i), y(float(a))) for i, a in enumerate(lo) if _finite(a) and _finite(hi[i])][::-1]
        points = " ".join(f"{_f(px)},{_f(py)}" for px, py in top + bottom)
        parts.append(f'<polygon class="rk-spark-band" points="{points}" fill="{color}" fill-opacity="0.16"/>')
    runs: list[list[tuple[float, float]]] = [[]]
    for i, v in enumerate(vals):
        if _finite(v):
            runs[-1].append((x(i), y(v)))
        elif runs[-1]:
            runs.append([])
    for run in runs:
        if len(run) > 1:
            points = " ".join(f"{_f(px)},{_f(py)}" for px, py in run)
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="2" '
                'stroke-linejoin="round" stroke-linecap="round"/>'
            )
    last = max(i for i, v in enumerate(vals) if _finite(v))
    parts.append(f'<circle cx="{_f(x(last))}" cy="{_f(y(vals[last]))}" r="3" fill="{color}"/>')
    title = f"<title>{esc(label)}</title>" if label else ""
    aria = f' aria-label="{esc(label)}"' if label else ""
    return (
        f'<svg class="rk-spark" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img"{aria}>{title}{"".join(parts)}</svg>'
    )


__all__ = ["HEIGHT", "WIDTH", "sparkline_svg"]
