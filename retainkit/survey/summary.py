"""One headline row per question type (and period) from a mixed responses table (see :mod:`retainkit.survey`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import DataError, ParameterError
from ..periods import check_freq, check_tz, period_index, period_label, period_start
from ..readers import check_columns
from ..timestamps import Where, parse_timestamps
from ._common import (
    CES_SCALE,
    CSAT_SCALE,
    N_EXAMPLES,
    NPS_HINT,
    NPS_SCALE,
    QUESTION_TYPES,
    ces_stats,
    check_scale,
    csat_stats,
    nps_stats,
    question_type_codes,
    rows_where,
    satisfied_threshold,
    validate_scores,
)


def survey_summary(
    responses: pd.DataFrame,
    *,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    score: str = "score",
    question: str = "question",
    question_types: dict[str, str] | None = None,
    freq: str | None = None,
    tz: str = "UTC",
    csat_scale: tuple[int, int] = CSAT_SCALE,
    csat_satisfied_min: int | None = None,
    ces_scale: tuple[int, int] = CES_SCALE,
    date_format: str | None = None,
) -> pd.DataFrame:
    """One headline row per question type (and period) from a mixed responses table.

    Surveys are outside docs/definitions.md §1-§6; the metrics are those of
    :func:`nps`, :func:`csat` and :func:`ces` (module docstring). With
    ``freq`` the responses are split by the period of their timestamp
    (definitions §2 periods, in the report time zone ``tz`` as in definitions
    §1). Every period with responses is reported, including the current,
    partial one: a survey metric is a mean over responses, not an
    accumulating count, so a partial period is not biased downwards, only
    smaller (its interval shows that).

    Parameters
    ----------
    responses : DataFrame
        One row per answer. Not modified.
    customer_id, timestamp, score, question : str
        Column names. ``question`` holds the type of each answer: 'nps',
        'csat' or 'ces' (case-insensitive), or labels mapped by
        ``question_types``. ``timestamp`` is needed only with ``freq``.
    question_types : dict, optional
        Your label -> 'nps' / 'csat' / 'ces', e.g. ``{"recommend": "nps"}``.
    freq : {"D", "W", "M", "Q", "Y"}, optional
    tz : str
    csat_scale, csat_satisfied_min, ces_scale
        Passed to :func:`csat` / :func:`ces`.
    date_format : str, optional
        strftime pattern of the timestamp column when not ISO 8601.

    Returns
    -------
    pandas.DataFrame
        One row per question type present (per period): ``question``, with
        ``freq`` also ``period`` and ``period_start``, then ``metric`` ('NPS',
        'CSAT', 'CES'), ``unit``, ``value``, ``lo``, ``hi`` (NPS in points,
        CSAT as a fraction, CES as a mean score), ``responses`` (scored),
        ``customers`` (distinct respondents with a score), ``missing``.
    """
    if not isinstance(responses, pd.DataFrame):
        raise ParameterError(f"survey_summary() needs a pandas DataFrame, not {type(responses).__name__}.")
    mapping: dict[str, str | None] = {"customer_id": customer_id, "score": score, "question": question}
    if freq is not None:
        freq = check_freq(freq)
        tz = check_tz(tz)
        mapping["timestamp"] = timestamp
    check_columns(mapping, [str(c) for c in responses.columns])
    csat_scale = check_scale(csat_scale, "csat_scale")
    ces_scale = check_scale(ces_scale, "ces_scale")
    threshold = satisfied_threshold(csat_scale, csat_satisfied_min)
    frame = responses.reset_index(drop=True)
    qtype = question_type_codes(frame[question], question, question_types)
    periods = None
    if freq is not None:
        ts = parse_timestamps(frame[timestamp], tz, date_format, timestamp, Where(0))
        bad = ts.isna().to_numpy()
        if bad.any():
            pos = np.flatnonzero(bad)
            raise DataError(
                f"column '{timestamp}': {int(bad.sum()):,} responses have no usable date "
                f"({rows_where(responses.index, pos, frame[timestamp].iloc[pos[:N_EXAMPLES]].tolist())}); "
                "with freq= every response needs one. Fix or drop those rows."
            )
        periods = period_index(ts, freq, tz)
    specs = {
        "nps": (NPS_SCALE, "NPS", "points (-100..100)", NPS_HINT),
        "csat": (
            csat_scale,
            "CSAT",
            f"share of {threshold}-{csat_scale[1]} on {csat_scale[0]}-{csat_scale[1]}",
            " Pass csat_scale=(lowest, highest) if your CSAT uses another scale.",
        ),
        "ces": (
            ces_scale,
            "CES",
            f"mean on {ces_scale[0]}-{ces_scale[1]}",
            " Pass ces_scale=(lowest, highest) if your CES uses another scale.",
        ),
    }
    rows = []
    for qt in QUESTION_TYPES:
        sel = np.flatnonzero(qtype == qt)
        if not len(sel):
            continue
        scale, metric, unit, hint = specs[qt]
        raw = responses[score].iloc[sel]
        values, empty = validate_scores(raw, f"{score}' (question type '{qt}'", scale, metric, hint)
        cust = frame[customer_id].iloc[sel].to_numpy(dtype=object)
        groups = (
            [(None, np.arange(len(sel)))]
            if periods is None
            else sorted(pd.Series(periods[sel]).groupby(periods[sel]).indices.items())
        )
        for p, idx in groups:
            x = values[idx][~empty[idx]]
            if qt == "nps":
                st_ = nps_stats(x)
                value, lo, hi = st_["nps"], st_["nps_lo"], st_["nps_hi"]
            elif qt == "csat":
                st_ = csat_stats(x, threshold)
                value, lo, hi = st_["csat"], st_["csat_lo"], st_["csat_hi"]
            else:
                st_ = ces_stats(x, ces_scale)
                value, lo, hi = st_["ces"], st_["ces_lo"], st_["ces_hi"]
            row: dict[str, Any] = {"question": qt}
            if periods is not None and freq is not None and p is not None:
                row["period"] = period_label(int(p), freq)
                row["period_start"] = period_start(int(p), freq, tz)
            scored_customers = pd.Series(cust[idx][~empty[idx]]).dropna()
            row.update(
                {
                    "metric": metric,
                    "unit": unit,
                    "value": value,
                    "lo": lo,
                    "hi": hi,
                    "responses": len(x),
                    "customers": int(scored_customers.nunique()),
                    "missing": int(empty[idx].sum()),
                }
            )
            rows.append(row)
    cols = [
        "question",
        *(["period", "period_start"] if freq else []),
        "metric",
        "unit",
        "value",
        "lo",
        "hi",
        "responses",
        "customers",
        "missing",
    ]
    return pd.DataFrame(rows, columns=cols)
