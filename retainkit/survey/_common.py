"""Shared pieces of the survey metrics: scales, score validation, grouping and the per-metric statistics.

Private to :mod:`retainkit.survey`; the definitions are stated in that package's docstring.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .._stats import Z95, safe_ratio, wilson_interval
from ..exceptions import DataError, ParameterError
from ..readers import check_columns

NPS_SCALE = (0, 10)
CSAT_SCALE = (1, 5)
CES_SCALE = (1, 7)
NPS_GROUPS = ("promoter", "passive", "detractor")
QUESTION_TYPES = ("nps", "csat", "ces")
N_EXAMPLES = 3


# --------------------------------------------------------------------------- validation
def check_scale(scale: Any, name: str = "scale") -> tuple[int, int]:
    try:
        lo, hi = scale
        ok = float(lo).is_integer() and float(hi).is_integer() and lo < hi
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ParameterError(f"{name}={scale!r} must be two whole numbers (lowest, highest), e.g. (1, 5).")
    return int(lo), int(hi)


def score_series(responses: Any, score: str) -> tuple[pd.Series, str]:
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


def rows_where(index: pd.Index, positions: np.ndarray, values: Sequence[Any]) -> str:
    shown = []
    for pos, value in zip(positions[:N_EXAMPLES], values[:N_EXAMPLES]):
        shown.append(f"row {index[pos]!r}: {value!r}")
    return ", ".join(shown)


def validate_scores(
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
                f"({rows_where(raw.index, pos, raw.iloc[pos[:N_EXAMPLES]].tolist())}). Scores must be whole "
                f"numbers from {lo} to {hi}; convert labels such as 'Very likely' to numbers first."
            )
    with np.errstate(invalid="ignore"):
        bad = ~empty & ((values < lo) | (values > hi) | (values != np.round(values)))
    if bad.any():
        pos = np.flatnonzero(bad)
        raise DataError(
            f"column '{column}': {int(bad.sum()):,} of {int((~empty).sum()):,} {what} scores are not whole "
            f"numbers from {lo} to {hi} ({rows_where(raw.index, pos, values[pos[:N_EXAMPLES]].tolist())}).{hint}"
        )
    return values, empty


def by_columns(responses: Any, by: str | Iterable[str] | None) -> list[str]:
    if by is None:
        return []
    cols = [by] if isinstance(by, str) else list(by)
    if not isinstance(responses, pd.DataFrame):
        raise ParameterError("by= needs responses as a DataFrame holding the group columns.")
    check_columns({f"by column '{c}'": c for c in cols}, [str(c) for c in responses.columns])
    return cols


def grouped(values: np.ndarray, empty: np.ndarray, responses: Any, by: list[str]):
    """Yield (group key tuple, scores without empties, number of empties) per group (or once)."""
    if not by:
        yield (), values[~empty], int(empty.sum())
        return
    keys = responses.loc[:, by].reset_index(drop=True)
    for key, idx in keys.groupby(by, sort=True, dropna=False).indices.items():
        key = key if isinstance(key, tuple) else (key,)
        yield key, values[idx][~empty[idx]], int(empty[idx].sum())


# --------------------------------------------------------------------------- metrics
NPS_HINT = (
    " NPS uses the 0-10 'how likely are you to recommend us' scale. For 1-5 satisfaction "
    "answers use csat(); a 1-10 scale is not an NPS scale (rescale it deliberately, or ask 0-10)."
)


def nps_stats(x: np.ndarray) -> dict[str, float]:
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


def satisfied_threshold(scale: tuple[int, int], satisfied_min: int | None) -> int:
    if satisfied_min is None:
        return scale[1] - 1
    if not float(satisfied_min).is_integer() or not scale[0] < satisfied_min <= scale[1]:
        raise ParameterError(
            f"satisfied_min={satisfied_min!r} must be a whole number above {scale[0]} and at most {scale[1]} "
            f"(scale={scale}); the default is the top two boxes ({scale[1] - 1} and {scale[1]})."
        )
    return int(satisfied_min)


def csat_stats(x: np.ndarray, threshold: int) -> dict[str, float]:
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


def ces_stats(x: np.ndarray, scale: tuple[int, int]) -> dict[str, float]:
    n = len(x)
    mean = float(x.mean()) if n else np.nan
    sd = float(x.std(ddof=1)) if n > 1 else np.nan
    if n > 1:
        half = float(stats.t.ppf(0.975, n - 1)) * sd / np.sqrt(n)
        lo, hi = max(mean - half, scale[0]), min(mean + half, scale[1])
    else:
        lo = hi = np.nan
    return {"responses": n, "ces": mean, "ces_lo": lo, "ces_hi": hi, "ces_sd": sd}


def question_type_codes(raw: pd.Series, column: str, mapping: dict[str, str] | None) -> np.ndarray:
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
            f"'nps', 'csat' or 'ces' ({rows_where(raw.index, pos, text.iloc[pos[:N_EXAMPLES]].tolist())}; values "
            f"{unknown}). Map your labels with question_types={{'{unknown[0]}': 'nps', ...}}."
        )
    return mapped.to_numpy(dtype=object)
