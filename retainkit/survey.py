"""Satisfaction surveys: NPS, CSAT and CES with intervals, and retention by survey group.

Survey metrics are **outside** docs/definitions.md §1-§6 (its appendix lists them); this module states
the standard definitions it uses:

* **NPS** (Net Promoter Score, Reichheld 2003, "The One Number You Need to
  Grow", HBR): answers to "how likely are you to recommend us?" on the 0-10
  integer scale; promoters score 9-10, passives 7-8, detractors 0-6;
  NPS = 100 * (share of promoters - share of detractors), in points from
  -100 to 100. 95 % interval: NPS is 100 times the mean of the per-response
  score X = +1 (promoter), 0 (passive), -1 (detractor), whose variance is
  ``p_P + p_D - (p_P - p_D)^2``; the interval is the normal approximation
  ``NPS ± 1.96 * 100 * sqrt(var / n)``, clipped to [-100, 100]. It is poor
  for small n or extreme shares (with n = 1 or all responses in one group
  the width is 0): read the ``responses`` column next to it.
* **CSAT** (customer satisfaction score): share of responses in the top two
  boxes of the scale (4 or 5 on the default 1-5 scale), with a 95 % Wilson
  interval (the interval retainkit uses for every share, definitions §3
  "Uncertainty").
* **CES** (customer effort score): mean of the effort answers on the scale
  (default 1-7, "the company made it easy for me to handle my issue",
  higher = easier), with a 95 % Student-t interval clipped to the scale.

Every function validates the scale: scores must be whole numbers inside it;
anything else is a DataError naming the rows and values. Empty scores
(unanswered questions) are excluded and counted in the ``missing`` column.

:func:`retention_by_survey_group` ties surveys to retention: it uses the
activity rule of definitions §1 (refunds are not purchases) and the
whole-calendar-day windows of definitions §4, and handles right-censoring
like definitions §2 (only fully observed horizons are counted).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ._deprecation import renamed_kwargs
from ._stats import Z95, safe_ratio, wilson_interval
from .exceptions import DataError, ParameterError
from .inputs import Transactions
from .periods import check_freq, check_tz, last_complete_period, local_days, period_index, period_label, period_start
from .readers import check_columns
from .timestamps import Where, parse_timestamps

NPS_SCALE = (0, 10)
CSAT_SCALE = (1, 5)
CES_SCALE = (1, 7)
NPS_GROUPS = ("promoter", "passive", "detractor")
QUESTION_TYPES = ("nps", "csat", "ces")
_N_EXAMPLES = 3


# --------------------------------------------------------------------------- validation
def _check_scale(scale: Any, name: str = "scale") -> tuple[int, int]:
    try:
        lo, hi = scale
        ok = float(lo).is_integer() and float(hi).is_integer() and lo < hi
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ParameterError(f"{name}={scale!r} must be two whole numbers (lowest, highest), e.g. (1, 5).")
    return int(lo), int(hi)


def _score_series(responses: Any, score: str) -> tuple[pd.Series, str]:
    """The score column (or the array itself) as a Series, and the name used in messages."""
    if isinstance(responses, pd.DataFrame):
        check_columns({"score": score}, [str(c) for c in responses.columns])
        return responses[score], score
    if isinstance(responses, (pd.Series, np.ndarray, list, tuple)):
        s = pd.Series(responses)
        return s.reset_index(drop=True) if not isinstance(responses, pd.Series) else s, "score"
    raise ParameterError(
        f"responses must be a pandas DataFrame (with the score column) or a sequence of scores, "
        f"not {type(responses).__name__}."
    )


def _where(index: pd.Index, positions: np.ndarray, values: Sequence[Any]) -> str:
    shown = []
    for pos, value in zip(positions[:_N_EXAMPLES], values[:_N_EXAMPLES]):
        shown.append(f"row {index[pos]!r}: {value!r}")
    return ", ".join(shown)


def _validate_scores(
    raw: pd.Series, column: str, scale: tuple[int, int], what: str, hint: str = ""
) -> tuple[np.ndarray, np.ndarray]:
    """Return (float scores with NaN for empty, mask of empty) or raise DataError."""
    lo, hi = scale
    if pd.api.types.is_bool_dtype(raw.dtype):
        raise DataError(f"column '{column}' holds true/false values, not {what} scores ({lo}-{hi}).")
    if pd.api.types.is_numeric_dtype(raw.dtype):
        values = raw.astype("float64").to_numpy()
        empty = np.isnan(values)
    else:
        text = raw.astype("string").str.strip()
        empty = (text.isna() | (text == "")).to_numpy(dtype=bool)
        values = pd.to_numeric(text.mask(text == ""), errors="coerce").astype("float64").to_numpy()
        bad = ~empty & np.isnan(values)
        if bad.any():
            pos = np.flatnonzero(bad)
            raise DataError(
                f"column '{column}': {int(bad.sum()):,} {what} scores are not numbers "
                f"({_where(raw.index, pos, raw.iloc[pos[:_N_EXAMPLES]].tolist())}). Scores must be whole "
                f"numbers from {lo} to {hi}; convert labels such as 'Very likely' to numbers first."
            )
    with np.errstate(invalid="ignore"):
        bad = ~empty & ((values < lo) | (values > hi) | (values != np.round(values)))
    if bad.any():
        pos = np.flatnonzero(bad)
        raise DataError(
            f"column '{column}': {int(bad.sum()):,} of {int((~empty).sum()):,} {what} scores are not whole "
            f"numbers from {lo} to {hi} ({_where(raw.index, pos, values[pos[:_N_EXAMPLES]].tolist())}).{hint}"
        )
    return values, empty


def _by_columns(responses: Any, by: str | Iterable[str] | None) -> list[str]:
    if by is None:
        return []
    cols = [by] if isinstance(by, str) else list(by)
    if not isinstance(responses, pd.DataFrame):
        raise ParameterError("by= needs responses as a DataFrame holding the group columns.")
    check_columns({f"by column '{c}'": c for c in cols}, [str(c) for c in responses.columns])
    return cols


def _grouped(values: np.ndarray, empty: np.ndarray, responses: Any, by: list[str]):
    """Yield (group key tuple, scores without empties, number of empties) per group (or once)."""
    if not by:
        yield (), values[~empty], int(empty.sum())
        return
    keys = responses.loc[:, by].reset_index(drop=True)
    for key, idx in keys.groupby(by, sort=True, dropna=False).indices.items():
        key = key if isinstance(key, tuple) else (key,)
        yield key, values[idx][~empty[idx]], int(empty[idx].sum())


# --------------------------------------------------------------------------- metrics
_NPS_HINT = (
    " NPS uses the 0-10 'how likely are you to recommend us' scale. For 1-5 satisfaction "
    "answers use csat(); a 1-10 scale is not an NPS scale (rescale it deliberately, or ask 0-10)."
)


def _nps_stats(x: np.ndarray) -> dict[str, float]:
    n = len(x)
    promoters = int((x >= 9).sum())
    detractors = int((x <= 6).sum())
    passives = n - promoters - detractors
    if n:
        pp, pd_ = promoters / n, detractors / n
        var = pp + pd_ - (pp - pd_) ** 2
        se = 100.0 * np.sqrt(max(var, 0.0) / n)
        value = 100.0 * (pp - pd_)
        lo, hi = max(value - Z95 * se, -100.0), min(value + Z95 * se, 100.0)
    else:
        pp = pd_ = value = se = lo = hi = np.nan
    return {
        "responses": n,
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
        "promoter_share": pp,
        "passive_share": passives / n if n else np.nan,
        "detractor_share": pd_,
        "nps": value,
        "nps_lo": lo,
        "nps_hi": hi,
        "nps_se": se,
    }


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
    raw, column = _score_series(responses, score)
    by_cols = _by_columns(responses, by)
    values, empty = _validate_scores(raw, column, NPS_SCALE, "NPS", _NPS_HINT)
    rows = []
    for key, x, missing in _grouped(values, empty, responses, by_cols):
        rows.append({**dict(zip(by_cols, key)), **_nps_stats(x), "missing": missing})
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


def _satisfied_min(scale: tuple[int, int], satisfied_min: int | None) -> int:
    if satisfied_min is None:
        return scale[1] - 1
    if not float(satisfied_min).is_integer() or not scale[0] < satisfied_min <= scale[1]:
        raise ParameterError(
            f"satisfied_min={satisfied_min!r} must be a whole number above {scale[0]} and at most {scale[1]} "
            f"(scale={scale}); the default is the top two boxes ({scale[1] - 1} and {scale[1]})."
        )
    return int(satisfied_min)


def _csat_stats(x: np.ndarray, threshold: int) -> dict[str, float]:
    n = len(x)
    sat = int((x >= threshold).sum())
    lo, hi = wilson_interval(sat, n)
    return {
        "responses": n,
        "satisfied": sat,
        "csat": float(safe_ratio(sat, n)),
        "csat_lo": float(lo),
        "csat_hi": float(hi),
        "mean_score": float(x.mean()) if n else np.nan,
    }


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
    scale = _check_scale(scale)
    threshold = _satisfied_min(scale, satisfied_min)
    raw, column = _score_series(responses, score)
    by_cols = _by_columns(responses, by)
    values, empty = _validate_scores(
        raw, column, scale, "CSAT", " Pass scale=(lowest, highest) if your survey uses another scale."
    )
    rows = [
        {**dict(zip(by_cols, key)), **_csat_stats(x, threshold), "missing": missing}
        for key, x, missing in _grouped(values, empty, responses, by_cols)
    ]
    cols = [*by_cols, "responses", "missing", "satisfied", "csat", "csat_lo", "csat_hi", "mean_score"]
    return pd.DataFrame(rows, columns=cols)


def _ces_stats(x: np.ndarray, scale: tuple[int, int]) -> dict[str, float]:
    n = len(x)
    mean = float(x.mean()) if n else np.nan
    sd = float(x.std(ddof=1)) if n > 1 else np.nan
    if n > 1:
        half = float(stats.t.ppf(0.975, n - 1)) * sd / np.sqrt(n)
        lo, hi = max(mean - half, scale[0]), min(mean + half, scale[1])
    else:
        lo = hi = np.nan
    return {"responses": n, "ces": mean, "ces_lo": lo, "ces_hi": hi, "ces_sd": sd}


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
    scale = _check_scale(scale)
    raw, column = _score_series(responses, score)
    by_cols = _by_columns(responses, by)
    values, empty = _validate_scores(
        raw, column, scale, "CES", " Pass scale=(lowest, highest) if your survey uses another scale."
    )
    rows = [
        {**dict(zip(by_cols, key)), **_ces_stats(x, scale), "missing": missing}
        for key, x, missing in _grouped(values, empty, responses, by_cols)
    ]
    return pd.DataFrame(rows, columns=[*by_cols, "responses", "missing", "ces", "ces_lo", "ces_hi", "ces_sd"])


# --------------------------------------------------------------------------- summary
def _question_types(raw: pd.Series, column: str, mapping: dict[str, str] | None) -> np.ndarray:
    text = raw.astype("string").str.strip()
    mapped = text.str.lower()
    if mapping:
        for k, v in mapping.items():
            if v not in QUESTION_TYPES:
                raise ParameterError(f"question_types={{{k!r}: {v!r}}}: the type must be one of {QUESTION_TYPES}.")
        lookup = {str(k).strip(): v for k, v in mapping.items()}
        mapped = text.map(lambda t: lookup.get(t, t.lower()) if isinstance(t, str) else t).astype("string")
    bad = ~mapped.isin(QUESTION_TYPES).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        pos = np.flatnonzero(bad)
        unknown = pd.unique(text[bad].fillna("<empty>"))[:5].tolist()
        raise DataError(
            f"column '{column}': {int(bad.sum()):,} rows have a question type that is not "
            f"'nps', 'csat' or 'ces' ({_where(raw.index, pos, text.iloc[pos[:_N_EXAMPLES]].tolist())}; values "
            f"{unknown}). Map your labels with question_types={{'{unknown[0]}': 'nps', ...}}."
        )
    return mapped.to_numpy(dtype=object)


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
    mapping = {"customer_id": customer_id, "score": score, "question": question}
    if freq is not None:
        freq = check_freq(freq)
        tz = check_tz(tz)
        mapping["timestamp"] = timestamp
    check_columns(mapping, [str(c) for c in responses.columns])
    csat_scale = _check_scale(csat_scale, "csat_scale")
    ces_scale = _check_scale(ces_scale, "ces_scale")
    threshold = _satisfied_min(csat_scale, csat_satisfied_min)
    frame = responses.reset_index(drop=True)
    qtype = _question_types(frame[question], question, question_types)
    periods = None
    if freq is not None:
        ts = parse_timestamps(frame[timestamp], tz, date_format, timestamp, Where(0))
        bad = ts.isna().to_numpy()
        if bad.any():
            pos = np.flatnonzero(bad)
            raise DataError(
                f"column '{timestamp}': {int(bad.sum()):,} responses have no usable date "
                f"({_where(responses.index, pos, frame[timestamp].iloc[pos[:_N_EXAMPLES]].tolist())}); "
                "with freq= every response needs one. Fix or drop those rows."
            )
        periods = period_index(ts, freq, tz)
    specs = {
        "nps": (NPS_SCALE, "NPS", "points (-100..100)", _NPS_HINT),
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
        values, empty = _validate_scores(raw, f"{score}' (question type '{qt}'", scale, metric, hint)
        cust = frame[customer_id].iloc[sel].to_numpy(dtype=object)
        groups = (
            [(None, np.arange(len(sel)))]
            if periods is None
            else sorted(pd.Series(periods[sel]).groupby(periods[sel]).indices.items())
        )
        for p, idx in groups:
            x = values[idx][~empty[idx]]
            if qt == "nps":
                st_ = _nps_stats(x)
                value, lo, hi = st_["nps"], st_["nps_lo"], st_["nps_hi"]
            elif qt == "csat":
                st_ = _csat_stats(x, threshold)
                value, lo, hi = st_["csat"], st_["csat_lo"], st_["csat_hi"]
            else:
                st_ = _ces_stats(x, ces_scale)
                value, lo, hi = st_["ces"], st_["ces_lo"], st_["ces_hi"]
            row = {"question": qt}
            if periods is not None:
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


# --------------------------------------------------------------------------- retention by group
def _id_strings(values: pd.Series) -> pd.Series:
    """Customer ids as stripped strings, so 123, 123.0 and ' 123' match (ids are compared as text)."""
    s = values
    if pd.api.types.is_float_dtype(s.dtype):
        whole = s.dropna()
        if len(whole) and (whole == np.round(whole)).all():
            s = s.astype("Int64")
    return s.astype("string").str.strip()


def nps_group(scores: Any) -> np.ndarray:
    """'promoter' (9-10), 'passive' (7-8) or 'detractor' (0-6) for validated 0-10 scores (Reichheld 2003)."""
    x = np.asarray(scores, dtype="float64")
    return np.where(x >= 9, "promoter", np.where(x >= 7, "passive", "detractor")).astype(object)


@renamed_kwargs(group="by")
def retention_by_survey_group(
    responses: pd.DataFrame,
    transactions: Transactions,
    *,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    score: str = "score",
    kind: str = "nps",
    question: str | None = None,
    question_types: dict[str, str] | None = None,
    scale: tuple[int, int] | None = None,
    satisfied_min: int | None = None,
    by: str | None = None,
    horizon_days: int | Sequence[int] = 90,
    anchor: str = "first",
    date_format: str | None = None,
) -> pd.DataFrame:
    """Later retention of promoters, passives and detractors (or any survey group).

    Does satisfaction predict retention in *this* data? For each respondent
    the anchor is the local calendar day d of their response (in the
    transactions' report time zone, definitions §1 "Time zone"); they are
    *retained at horizon H* when they made at least one purchase on the days
    d + 1 .. d + H (whole calendar days, as the trailing windows of
    definitions §4). A purchase is a row with amount >= 0 or an unknown
    amount; refunds (amount < 0) are not purchases (definitions §1 "What
    counts as activity"). Purchases on the response day itself are not
    counted: a post-purchase survey is usually answered on the day of the
    purchase that triggered it.

    Right-censoring (as definitions §2 "Observed cell"): a respondent counts
    at horizon H only when the whole window is observed, d + H <= the last
    complete day of ``transactions.as_of``. The others are not counted and
    are reported in the ``censored`` column, never treated as lost.

    The survey metrics themselves are outside docs/definitions.md §1-§6:
    NPS groups are Reichheld's (2003) promoters 9-10, passives 7-8,
    detractors 0-6; CSAT groups are 'satisfied' (>= ``satisfied_min``,
    default top two boxes) and 'not satisfied'.

    Parameters
    ----------
    responses : DataFrame
        One row per answer. Not modified.
    transactions : Transactions
        From :func:`retainkit.load_transactions`; its ``as_of`` and time zone
        are used.
    customer_id, timestamp, score : str
        Columns of ``responses``. Ids are matched to the transaction log as
        text (``123`` matches ``"123"``).
    kind : {"nps", "csat"}
        How scores become groups (ignored when ``by`` is given).
    question : str, optional
        Column with the question type of each answer; when given, only the
        answers of type ``kind`` are used (labels as in
        :func:`survey_summary`, mapped with ``question_types``).
    scale, satisfied_min
        CSAT scale (default 1-5) and threshold (default top two boxes).
    by : str, optional
        A column of ready-made groups (e.g. a segment you defined); scores
        are then not needed.
    horizon_days : int or sequence of int
        Window length(s) in days (default 90). Several horizons give a
        retention curve after the anchor (one set of rows per horizon, each
        with its own censoring).
    anchor : {"first", "all"}
        "first": one anchor per customer, their earliest (scored) response;
        "all": every response is its own anchor (respondents who answer often
        then weigh more).
    date_format : str, optional
        strftime pattern of the response timestamps when not ISO 8601.

    Returns
    -------
    pandas.DataFrame
        One row per (horizon, group), groups in a fixed order (promoter,
        passive, detractor / satisfied, not satisfied / sorted custom
        groups), also when a group is empty: ``horizon_days``, ``group``,
        ``respondents`` (anchors with a fully observed window), ``retained``,
        ``retention`` (fraction; NaN for 0 respondents), ``retention_lo``,
        ``retention_hi`` (95 % Wilson, definitions §3 "Uncertainty"),
        ``censored`` (anchors left out because the window is not fully
        observed). ``DataFrame.attrs`` holds ``as_of``, ``last_complete_day``
        and ``excluded_unscored`` / ``excluded_undated`` counts.

    Raises
    ------
    ParameterError
        Not a Transactions object, bad ``kind`` / ``horizon_days`` / ``anchor``.
    DataError
        Missing columns, invalid scores, unparseable dates, or no respondent id
        found in the transaction log (the id columns probably do not match).
    """
    if not isinstance(transactions, Transactions):
        raise ParameterError(
            f"transactions must be a retainkit Transactions object, not {type(transactions).__name__}. "
            "Load it first: tx = retainkit.load_transactions(df, customer_id=..., timestamp=..., amount=...)."
        )
    if not isinstance(responses, pd.DataFrame):
        raise ParameterError(f"responses must be a pandas DataFrame, not {type(responses).__name__}.")
    if kind not in ("nps", "csat"):
        raise ParameterError(f"kind={kind!r} must be 'nps' or 'csat' (or pass by='<column>' for your own groups).")
    if anchor not in ("first", "all"):
        raise ParameterError(f"anchor={anchor!r} must be 'first' (earliest response per customer) or 'all'.")
    horizons = [horizon_days] if np.ndim(horizon_days) == 0 else list(horizon_days)
    for h in horizons:
        if isinstance(h, bool) or not float(h).is_integer() or h < 1:
            raise ParameterError(f"horizon_days={horizon_days!r}: every horizon must be a whole number of days >= 1.")
    horizons = [int(h) for h in horizons]
    mapping = {"customer_id": customer_id, "timestamp": timestamp, "question": question}
    mapping["group" if by else "score"] = by or score
    check_columns(mapping, [str(c) for c in responses.columns])
    tz = transactions.tz
    frame = responses.reset_index(drop=True)
    index = responses.index
    if question is not None:
        qtype = _question_types(frame[question], question, question_types)
        keep = qtype == kind
        frame, index = frame.loc[keep].reset_index(drop=True), index[keep]

    # groups
    if by is not None:
        labels = frame[by].astype("string")
        unscored = labels.isna().to_numpy(dtype=bool)
        order = sorted(pd.unique(labels.dropna()).tolist())
        grp = labels.to_numpy(dtype=object)
    else:
        raw = frame[score].set_axis(index)
        if kind == "nps":
            values, unscored = _validate_scores(raw, score, NPS_SCALE, "NPS", _NPS_HINT)
            grp = nps_group(np.where(unscored, 0, values))
            order = list(NPS_GROUPS)
        else:
            sc = _check_scale(scale if scale is not None else CSAT_SCALE)
            threshold = _satisfied_min(sc, satisfied_min)
            values, unscored = _validate_scores(
                raw, score, sc, "CSAT", " Pass scale=(lowest, highest) for another scale."
            )
            grp = np.where(values >= threshold, "satisfied", "not satisfied").astype(object)
            order = ["satisfied", "not satisfied"]

    # anchors: local day of each response
    ts = parse_timestamps(frame[timestamp], tz, date_format, timestamp, Where(0))
    undated = ts.isna().to_numpy()
    text = frame[timestamp].astype("string").str.strip()
    bad_dates = undated & (text.notna() & (text != "")).to_numpy(dtype=bool)
    if bad_dates.any():
        pos = np.flatnonzero(bad_dates)
        raise DataError(
            f"column '{timestamp}': {int(bad_dates.sum()):,} response dates could not be parsed "
            f"({_where(index, pos, text.iloc[pos[:_N_EXAMPLES]].tolist())}). Fix them or pass date_format=."
        )
    ids = _id_strings(frame[customer_id])
    no_id = ids.isna().to_numpy() | (ids == "").fillna(True).to_numpy()
    usable = ~unscored & ~undated & ~no_id
    day = np.zeros(len(frame), dtype="int64")
    if usable.any():
        day[usable] = local_days(ts[usable], tz)
    anchors = pd.DataFrame(
        {
            "cid": ids.to_numpy(dtype=object)[usable],
            "day": day[usable],
            "group": grp[usable],
            "ts": ts[usable].to_numpy(),
        }
    )
    if anchor == "first":
        anchors = anchors.sort_values(["ts", "day"], kind="stable").drop_duplicates("cid", keep="first")

    # purchases (definitions §1): amount >= 0 or unknown; refunds are not purchases
    tx = transactions.frame
    purchase = (
        ~(tx["amount"] < 0).fillna(False).to_numpy(dtype=bool)
        if "amount" in tx.columns
        else np.ones(len(tx), dtype=bool)
    )
    # ids are matched as text; only the distinct ids are converted (cheap on long logs)
    tx_codes, tx_uniques = pd.factorize(tx["customer_id"])
    tx_names = pd.Index(_id_strings(pd.Series(tx_uniques)).to_numpy(dtype=object))
    a_code = tx_names.get_indexer(pd.Index(anchors["cid"].to_numpy(dtype=object))).astype("int64")
    if len(anchors) and not (a_code >= 0).any():
        raise DataError(
            f"none of the {anchors['cid'].nunique():,} respondent ids in column '{customer_id}' appear in the "
            f"transaction log (respondents e.g. {anchors['cid'].head(3).tolist()}; customers e.g. "
            f"{tx_names[:3].tolist()}). Check that both use the same customer id."
        )
    t_code = tx_codes[purchase].astype("int64")
    tx_days = local_days(tx["timestamp"][purchase], tz)
    lo_day = int(min(tx_days.min() if len(tx_days) else 0, anchors["day"].min() if len(anchors) else 0))
    span = int(max(tx_days.max() if len(tx_days) else 0, anchors["day"].max() if len(anchors) else 0)) - lo_day
    width = span + max(horizons) + 2
    tx_key = np.sort(t_code * width + (tx_days - lo_day))
    a_day = anchors["day"].to_numpy(dtype="int64") - lo_day
    # respondents without any transaction (code -1) get a key range no purchase falls into
    a_base = np.where(a_code >= 0, a_code * width + a_day, -2 * width)

    last_day = last_complete_period(transactions.as_of, "D", tz)
    out = []
    for h in horizons:
        observed = anchors["day"].to_numpy() + h <= last_day
        hits = np.searchsorted(tx_key, a_base + h, side="right") - np.searchsorted(tx_key, a_base, side="right")
        retained = hits > 0
        g = anchors["group"].to_numpy(dtype=object)
        for name in order:
            mine = g == name
            n = int((mine & observed).sum())
            k = int((mine & observed & retained).sum())
            lo, hi = wilson_interval(k, n)
            out.append(
                {
                    "horizon_days": h,
                    "group": name,
                    "respondents": n,
                    "retained": k,
                    "retention": float(safe_ratio(k, n)),
                    "retention_lo": float(lo),
                    "retention_hi": float(hi),
                    "censored": int((mine & ~observed).sum()),
                }
            )
    result = pd.DataFrame(
        out,
        columns=[
            "horizon_days",
            "group",
            "respondents",
            "retained",
            "retention",
            "retention_lo",
            "retention_hi",
            "censored",
        ],
    )
    result.attrs.update(
        {
            "as_of": transactions.as_of,
            "last_complete_day": pd.Timestamp(np.datetime64(last_day, "D")).date(),
            "excluded_unscored": int(unscored.sum()),
            "excluded_undated": int(undated.sum()),
            "excluded_no_customer_id": int((no_id & ~unscored & ~undated).sum()),
            "anchor": anchor,
        }
    )
    return result


__all__ = ["ces", "csat", "nps", "nps_group", "retention_by_survey_group", "survey_summary"]
