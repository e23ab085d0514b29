"""NPS, CSAT and CES with their 95 % intervals, overall or split ``by`` columns (see :mod:`retainkit.survey`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from ._common import (
    CES_SCALE,
    CSAT_SCALE,
    NPS_HINT,
    NPS_SCALE,
    by_columns,
    ces_stats,
    check_scale,
    csat_stats,
    grouped,
    nps_stats,
    satisfied_threshold,
    score_series,
    validate_scores,
)


def nps(responses: Any, *, score: str = "score", by: str | Iterable[str] | None = None) -> pd.DataFrame:
    """Net Promoter Score in points with a 95 % interval (Reichheld 2003).

    Not covered by docs/definitions.md §1-§6 (surveys are outside it); the
    definition used is the standard one (see the module docstring):
    promoters 9-10, passives 7-8, detractors 0-6,
    NPS = 100 * (p_promoters - p_detractors), 95 % normal-approximation
    interval from var = (p_P + p_D - (p_P - p_D)^2) / n, clipped to
    [-100, 100].

    Parameters
    ----------
    responses : DataFrame or sequence of scores
        One row per answer. Not modified.
    score : str
        Column with the 0-10 answers. Empty values are unanswered and counted
        in ``missing``.
    by : str or list of str, optional
        Group columns (one output row per group).

    Returns
    -------
    pandas.DataFrame
        One row (per group): the ``by`` columns, ``responses`` (scored),
        ``missing``, ``promoters``, ``passives``, ``detractors``,
        ``promoter_share``, ``passive_share``, ``detractor_share`` (fractions),
        ``nps``, ``nps_lo``, ``nps_hi``, ``nps_se`` (points). NaN when a group
        has no scored response.

    Raises
    ------
    DataError
        A score that is not a whole number from 0 to 10 (rows and values named),
        or a missing column.
    """
    raw, column = score_series(responses, score)
    by_cols = by_columns(responses, by)
    values, empty = validate_scores(raw, column, NPS_SCALE, "NPS", NPS_HINT)
    rows = []
    for key, x, missing in grouped(values, empty, responses, by_cols):
        rows.append({**dict(zip(by_cols, key)), **nps_stats(x), "missing": missing})
    cols = [
        *by_cols,
        "responses",
        "missing",
        "promoters",
        "passives",
        "detractors",
        "promoter_share",
        "passive_share",
        "detractor_share",
        "nps",
        "nps_lo",
        "nps_hi",
        "nps_se",
    ]
    return pd.DataFrame(rows, columns=cols)


def csat(
    responses: Any,
    *,
    score: str = "score",
    scale: tuple[int, int] = CSAT_SCALE,
    satisfied_min: int | None = None,
    by: str | Iterable[str] | None = None,
) -> pd.DataFrame:
    """Customer satisfaction score: share of satisfied answers, with a Wilson interval.

    Not covered by docs/definitions.md §1-§6 (surveys are outside it); the
    standard top-two-box definition is used: CSAT = share of answers
    >= ``satisfied_min`` (default: the two highest points of the scale, 4-5
    on 1-5), with the 95 % Wilson interval of definitions §3 "Uncertainty".

    Parameters
    ----------
    responses : DataFrame or sequence of scores
    score : str
        Score column; empty = unanswered (counted in ``missing``).
    scale : (int, int)
        Lowest and highest point of the answer scale (default 1-5).
    satisfied_min : int, optional
        Lowest score counted as satisfied (default ``scale[1] - 1``).
    by : str or list of str, optional
        Group columns.

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``responses``, ``missing``, ``satisfied``, ``csat``,
        ``csat_lo``, ``csat_hi`` (fractions), ``mean_score``.
    """
    scale = check_scale(scale)
    threshold = satisfied_threshold(scale, satisfied_min)
    raw, column = score_series(responses, score)
    by_cols = by_columns(responses, by)
    values, empty = validate_scores(
        raw, column, scale, "CSAT", " Pass scale=(lowest, highest) if your survey uses another scale."
    )
    rows = [
        {**dict(zip(by_cols, key)), **csat_stats(x, threshold), "missing": missing}
        for key, x, missing in grouped(values, empty, responses, by_cols)
    ]
    cols = [*by_cols, "responses", "missing", "satisfied", "csat", "csat_lo", "csat_hi", "mean_score"]
    return pd.DataFrame(rows, columns=cols)


def ces(
    responses: Any, *, score: str = "score", scale: tuple[int, int] = CES_SCALE, by: str | Iterable[str] | None = None
) -> pd.DataFrame:
    """Customer effort score: mean answer with a 95 % Student-t interval.

    Not covered by docs/definitions.md §1-§6 (surveys are outside it); the
    standard CES 2.0 definition is used: the mean of the answers on the
    effort scale (default 1-7, higher = easier), 95 % interval
    mean ± t(0.975, n - 1) * sd / sqrt(n), clipped to the scale (NaN for
    n < 2; width 0 when every answer is the same).

    Parameters
    ----------
    responses : DataFrame or sequence of scores
    score : str
    scale : (int, int)
        Lowest and highest point of the scale (default 1-7).
    by : str or list of str, optional

    Returns
    -------
    pandas.DataFrame
        ``by`` columns, ``responses``, ``missing``, ``ces``, ``ces_lo``,
        ``ces_hi``, ``ces_sd``.
    """
    scale = check_scale(scale)
    raw, column = score_series(responses, score)
    by_cols = by_columns(responses, by)
    values, empty = validate_scores(
        raw, column, scale, "CES", " Pass scale=(lowest, highest) if your survey uses another scale."
    )
    rows = [
        {**dict(zip(by_cols, key)), **ces_stats(x, scale), "missing": missing}
        for key, x, missing in grouped(values, empty, responses, by_cols)
    ]
    return pd.DataFrame(rows, columns=[*by_cols, "responses", "missing", "ces", "ces_lo", "ces_hi", "ces_sd"])
