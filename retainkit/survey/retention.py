"""Later retention of promoters, passives and detractors (or any survey group), see :mod:`retainkit.survey`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._deprecation import renamed_kwargs
from .._stats import safe_ratio, wilson_interval
from ..exceptions import DataError, ParameterError
from ..inputs import Transactions
from ..periods import last_complete_period, local_days
from ..readers import check_columns
from ..timestamps import Where, parse_timestamps
from ._common import (
    CSAT_SCALE,
    N_EXAMPLES,
    NPS_GROUPS,
    NPS_HINT,
    NPS_SCALE,
    check_scale,
    question_type_codes,
    rows_where,
    satisfied_threshold,
    validate_scores,
)


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
    given: list[Any] = [horizon_days] if np.ndim(horizon_days) == 0 else list(horizon_days)  # type: ignore[arg-type]
    for h in given:
        if isinstance(h, bool) or not float(h).is_integer() or h < 1:
            raise ParameterError(f"horizon_days={horizon_days!r}: every horizon must be a whole number of days >= 1.")
    horizons = [int(h) for h in given]
    mapping = {"customer_id": customer_id, "timestamp": timestamp, "question": question}
    mapping["group" if by else "score"] = by or score
    check_columns(mapping, [str(c) for c in responses.columns])
    tz = transactions.tz
    frame = responses.reset_index(drop=True)
    index = responses.index
    if question is not None:
        qtype = question_type_codes(frame[question], question, question_types)
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
            values, unscored = validate_scores(raw, score, NPS_SCALE, "NPS", NPS_HINT)
            grp = nps_group(np.where(unscored, 0, values))
            order = list(NPS_GROUPS)
        else:
            sc = check_scale(scale if scale is not None else CSAT_SCALE)
            threshold = satisfied_threshold(sc, satisfied_min)
            values, unscored = validate_scores(
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
            f"({rows_where(index, pos, text.iloc[pos[:N_EXAMPLES]].tolist())}). Fix them or pass date_format=."
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
