"""Period indexes (definitions §2) of day numbers on narwhals frames, computed in their engine."""

from __future__ import annotations

import narwhals as nw


def _fdiv(a: nw.Expr, b: int, backend: str) -> nw.Expr:
    """Floor division by a positive constant (narwhals' generic ``//`` is slow SQL on DuckDB)."""
    if backend == "polars":
        return a // b
    return (a / b).floor().cast(nw.Int64)


def with_period(
    lf: nw.LazyFrame, day: str, freq: str, out: str, offset: int = 0, backend: str = "polars"
) -> nw.LazyFrame:
    """Add column ``out``: the period index (definitions §2) of day number ``day + offset``.

    Months come from the civil-from-days algorithm in integer arithmetic, in
    steps (engines without common-subexpression elimination would otherwise
    expand the nested expression).
    """
    d = nw.col(day) + offset if offset else nw.col(day)

    def fd(x: nw.Expr, k: int) -> nw.Expr:
        return _fdiv(x, k, backend)

    if freq == "D":
        return lf.with_columns(d.cast(nw.Int64).alias(out))
    if freq == "W":
        return lf.with_columns(fd(d + 3, 7).cast(nw.Int64).alias(out))
    z, era, doe, yoe, mp = (f"__{out}_{x}" for x in ("z", "era", "doe", "yoe", "mp"))
    lf = lf.with_columns((d + 719_468).alias(z))
    lf = lf.with_columns(fd(nw.col(z), 146_097).alias(era))
    lf = lf.with_columns((nw.col(z) - nw.col(era) * 146_097).alias(doe))
    e = nw.col(doe)
    lf = lf.with_columns(fd(e - fd(e, 1_460) + fd(e, 36_524) - fd(e, 146_096), 365).alias(yoe))
    y = nw.col(yoe)
    lf = lf.with_columns(fd(5 * (e - (365 * y + fd(y, 4) - fd(y, 100))) + 2, 153).alias(mp))
    # civil month m = mp + 3 (mp < 10) else mp - 9, civil year = yoe + 400 era + (m <= 2), so
    # months since 1970-01 = (yoe + 400 era - 1970) * 12 + mp + 2
    months = (y + nw.col(era) * 400 - 1_970) * 12 + nw.col(mp) + 2
    if freq == "Q":
        months = fd(months, 3)
    elif freq == "Y":
        months = fd(months, 12)
    return lf.with_columns(months.cast(nw.Int64).alias(out)).drop(z, era, doe, yoe, mp)


__all__ = [
    "with_period",
]
