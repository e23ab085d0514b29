"""Period arithmetic: integer period indices, labels, boundaries, completeness.

Implements definitions §2 ("Periods, cohorts, ages"). A *period index* is an
integer count of periods since the epoch, so cohort ages are plain integer
differences:

========  =====================================  ==============
freq      period                                 index 0 is
========  =====================================  ==============
``D``     calendar day                           1970-01-01
``W``     ISO week, Monday start                 week of Mon 1969-12-29
``M``     calendar month (default)               1970-01
``Q``     calendar quarter                       1970-Q1
``Y``     calendar year                          1970
========  =====================================  ==============

All arithmetic is on the *local* calendar of the report time zone: timestamps
are converted to it first (definitions §1 "Time zone").
"""

from __future__ import annotations

import datetime as _dt
import re

import numpy as np
import pandas as pd

from .exceptions import ParameterError

FREQS: tuple[str, ...] = ("D", "W", "M", "Q", "Y")
#: "no period" (e.g. a customer who never purchased): period indices are negative before 1970, so
#: -1 is a real period (December 1969 for months) and cannot mark a missing one
NO_PERIOD: int = int(np.iinfo(np.int64).min)
FREQ_NAMES = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year"}
#: Mean length of a year in days: the Gregorian calendar's 365.2425 (definitions §2).
DAYS_PER_YEAR = 365.2425
#: The one table of period lengths: mean days per period. A week is 7 days, a day 1; a month is a
#: twelfth and a quarter a quarter of the mean year. Used to convert rates and lengths between
#: granularities (a yearly discount rate per period, a model's time unit); never for calendar arithmetic.
PERIOD_DAYS: dict[str, float] = {
    "D": 1.0,
    "W": 7.0,
    "M": DAYS_PER_YEAR / 12.0,
    "Q": DAYS_PER_YEAR / 4.0,
    "Y": DAYS_PER_YEAR,
}
#: Periods per year, derived from :data:`PERIOD_DAYS` (D 365.2425, W 52.1775, M 12, Q 4, Y 1).
PERIODS_PER_YEAR: dict[str, float] = {f: DAYS_PER_YEAR / days for f, days in PERIOD_DAYS.items()}
_ALIASES = {
    "DAY": "D",
    "DAILY": "D",
    "WEEK": "W",
    "WEEKLY": "W",
    "W-MON": "W",
    "MONTH": "M",
    "MONTHLY": "M",
    "MS": "M",
    "ME": "M",
    "QUARTER": "Q",
    "QUARTERLY": "Q",
    "QS": "Q",
    "QE": "Q",
    "YEAR": "Y",
    "YEARLY": "Y",
    "ANNUAL": "Y",
    "A": "Y",
    "YS": "Y",
    "YE": "Y",
}
_ONE_NS = pd.Timedelta(1, "ns")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?")
#: the forms an ``as_of`` string may take (named in every error about one)
AS_OF_FORMS = (
    "an ISO date YYYY-MM-DD (the end of that day is used) or an ISO date-time "
    "YYYY-MM-DDTHH:MM[:SS], optionally with an offset (Z or +HH:MM)"
)


def check_freq(freq: str) -> str:
    """Return the canonical one-letter code for ``freq`` or raise ParameterError."""
    if isinstance(freq, str):
        f = freq.strip().upper()
        f = _ALIASES.get(f, f)
        if f in FREQS:
            return f
    raise ParameterError(
        f"freq={freq!r} is not a period granularity. Use one of "
        + ", ".join(f"'{k}' ({v})" for k, v in FREQ_NAMES.items())
        + "."
    )


def check_tz(tz: str) -> str:
    """Validate a time-zone name (IANA, e.g. 'Europe/Berlin')."""
    try:
        pd.Timestamp("2000-01-01").tz_localize(tz)
    except Exception:  # noqa: BLE001 - any failure means the name is unusable
        raise ParameterError(
            f"tz={tz!r} is not a time zone name. Use an IANA name such as 'UTC', 'Europe/Berlin' or 'America/New_York'."
        ) from None
    return tz


# ---------------------------------------------------------------- day numbers
def local_days(timestamps, tz: str = "UTC") -> np.ndarray:
    """Local calendar day number (days since 1970-01-01) of each timestamp.

    Timezone-aware values are converted to ``tz``; naive values are taken as
    already being in ``tz`` (definitions §1).
    """
    s = pd.Series(timestamps) if not isinstance(timestamps, (pd.Series, pd.DatetimeIndex)) else timestamps
    dt = s.dt if isinstance(s, pd.Series) else s
    if getattr(dt, "tz", None) is not None:
        s = (
            dt.tz_convert(tz).tz_localize(None)
            if isinstance(s, pd.DatetimeIndex)
            else dt.tz_convert(tz).dt.tz_localize(None)
        )
    values = np.asarray(s, dtype="datetime64[ns]")
    return values.astype("datetime64[D]").astype("int64")


def days_to_period(days, freq: str) -> np.ndarray:
    """Map local day numbers to period indices of ``freq``.

    Uses a day -> period lookup table over the covered range (cheaper than
    calendar math per row on large logs).
    """
    freq = check_freq(freq)
    days = np.asarray(days, dtype="int64")
    if freq == "D":
        return days.copy()
    if freq == "W":
        return (days + 3) // 7  # 1970-01-01 is a Thursday; Monday 1969-12-29 = day -3
    if days.size == 0:
        return days.copy()
    lo, hi = int(days.min()), int(days.max())
    table = _months_of(np.arange(lo, hi + 1, dtype="int64"))
    if freq == "Q":
        table = table // 3
    elif freq == "Y":
        table = table // 12
    return table[days - lo]


def _months_of(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[M]").astype("int64")


def period_index(timestamps, freq: str = "M", tz: str = "UTC") -> np.ndarray:
    """Period index of each timestamp (definitions §2)."""
    return days_to_period(local_days(timestamps, tz), freq)


def period_start_day(index, freq: str) -> np.ndarray:
    """First local day number of each period index."""
    freq = check_freq(freq)
    idx = np.asarray(index, dtype="int64")
    if freq == "D":
        return idx.copy()
    if freq == "W":
        return idx * 7 - 3
    months = idx * {"M": 1, "Q": 3, "Y": 12}[freq]
    return months.astype("datetime64[M]").astype("datetime64[D]").astype("int64")


def period_start(index, freq: str, tz: str | None = None):
    """Start of period(s) as a Timestamp / DatetimeIndex (naive local, or aware in ``tz``)."""
    scalar = np.ndim(index) == 0
    days = np.atleast_1d(period_start_day(index, freq))
    out = pd.DatetimeIndex(days.astype("datetime64[D]").astype("datetime64[ns]"))
    if tz is not None:
        out = out.tz_localize(tz, nonexistent="shift_forward", ambiguous=np.zeros(len(out), bool))
    return out[0] if scalar else out


def period_label(index, freq: str):
    """Human label of period index(es): '2024-01-31', '2024-W05', '2024-01', '2024-Q1', '2024'."""
    freq = check_freq(freq)
    scalar = np.ndim(index) == 0
    idx = np.atleast_1d(np.asarray(index, dtype="int64"))
    if freq == "M":
        labels = idx.astype("datetime64[M]").astype(str)
    elif freq == "Y":
        labels = idx.astype("datetime64[Y]").astype(str)
    elif freq == "D":
        labels = idx.astype("datetime64[D]").astype(str)
    elif freq == "Q":
        years = (idx // 4) + 1970
        labels = np.array([f"{y}-Q{q + 1}" for y, q in zip(years, idx % 4)], dtype=object)
    else:  # ISO week: the ISO year is the year of the week's Thursday
        thursdays = (idx * 7).astype("datetime64[D]")
        labels = np.array(
            [f"{d.isocalendar()[0]}-W{d.isocalendar()[1]:02d}" for d in thursdays.astype(_dt.date)],
            dtype=object,
        )
    labels = labels.astype(object)
    return labels[0] if scalar else labels


def parse_period_label(label: str, freq: str) -> int:
    """Inverse of :func:`period_label` (also accepts any date inside the period)."""
    freq = check_freq(freq)
    text = str(label).strip()
    m = re.fullmatch(r"(\d{4})-W(\d{2})", text)
    if m and freq == "W":
        monday = _dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
        return int(days_to_period([np.datetime64(monday, "D").astype("int64")], "W")[0])
    m = re.fullmatch(r"(\d{4})-Q([1-4])", text)
    if m and freq == "Q":
        return (int(m[1]) - 1970) * 4 + int(m[2]) - 1
    if re.fullmatch(r"\d{4}", text):
        text = text + "-01-01"
    elif re.fullmatch(r"\d{4}-\d{1,2}", text):
        text = text + "-01"
    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError):
        raise ParameterError(f"{label!r} is not a {FREQ_NAMES[freq]} label or a date.") from None
    return int(days_to_period(local_days(pd.Series([ts.tz_localize(None)])), freq)[0])


# ---------------------------------------------------------------- as_of
def parse_as_of(as_of, tz: str = "UTC") -> pd.Timestamp | None:
    """Turn an ``as_of`` argument into a timezone-aware instant.

    A date given without a time means the *end* of that day in the report time
    zone (definitions §1 "As-of date"): ``"1998-06-30"`` includes every row of
    30 June. Naive datetimes are taken to be in ``tz``.

    Strings must be ISO 8601: ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM[:SS[.f]]``
    (a space may replace the ``T``), optionally with ``Z`` or ``+HH:MM``;
    anything else (``30/06/1998``, ``06/30/1998``, ``yesterday``) raises
    ParameterError naming these forms (:data:`AS_OF_FORMS`). ``date``,
    ``datetime``, ``pandas.Timestamp`` and ``numpy.datetime64`` values are
    accepted as they are.
    """
    if as_of is None:
        return None
    date_only = False
    if isinstance(as_of, str):
        text = as_of.strip()
        date_only = bool(_ISO_DATE.fullmatch(text))
        if not date_only and not _ISO_DATETIME.fullmatch(text):
            raise ParameterError(
                f"as_of={as_of!r} is not accepted: write it as {AS_OF_FORMS}, e.g. 2024-06-30 or "
                "2024-06-30T18:00. Other spellings (30/06/2024, 06/30/2024) are ambiguous."
            )
        try:
            ts = pd.Timestamp(text)
        except (ValueError, TypeError):
            raise ParameterError(
                f"as_of={as_of!r} is not a date (no such day): write it as {AS_OF_FORMS}, e.g. 2024-06-30."
            ) from None
    elif isinstance(as_of, _dt.datetime) or isinstance(as_of, pd.Timestamp):
        ts = pd.Timestamp(as_of)
    elif isinstance(as_of, (_dt.date, np.datetime64)):
        ts = pd.Timestamp(as_of)
        date_only = isinstance(as_of, _dt.date)
    else:
        raise ParameterError(f"as_of={as_of!r} must be a date string, date or datetime, not {type(as_of).__name__}.")
    if ts is pd.NaT or pd.isna(ts):
        raise ParameterError(f"as_of={as_of!r} is not a date.")
    if (
        not pd.Timestamp.min.tz_localize(None)
        < ts.tz_localize(None)
        < pd.Timestamp.max.tz_localize(None) - pd.Timedelta(days=1)
    ):
        when = "in the future" if ts.year > 2000 else "in the past"
        raise ParameterError(
            f"as_of={as_of!r} cannot be used: it is {when}, outside the dates pandas represents "
            f"({pd.Timestamp.min:%Y-%m-%d} to {pd.Timestamp.max:%Y-%m-%d}). Write it as {AS_OF_FORMS}."
        )
    if date_only:
        ts = ts.normalize() + pd.Timedelta(days=1) - _ONE_NS
    ts = ts.as_unit("ns")
    if ts.tzinfo is None:
        ts = ts.tz_localize(tz, nonexistent="shift_forward", ambiguous=False)
    else:
        ts = ts.tz_convert(tz)
    return ts


def period_offset(freq: str, n: int = 1) -> pd.DateOffset:
    """The calendar length of ``n`` periods of ``freq`` (a day, a week, a month, ...), for date arithmetic."""
    freq = check_freq(freq)
    return {
        "D": pd.DateOffset(days=n),
        "W": pd.DateOffset(weeks=n),
        "M": pd.DateOffset(months=n),
        "Q": pd.DateOffset(months=3 * n),
        "Y": pd.DateOffset(years=n),
    }[freq]


def end_of_day(ts: pd.Timestamp, tz: str = "UTC") -> pd.Timestamp:
    """Last instant (ns) of the local day containing ``ts``."""
    local = ts.tz_convert(tz).tz_localize(None).normalize() + pd.Timedelta(days=1) - _ONE_NS
    return local.as_unit("ns").tz_localize(tz, nonexistent="shift_forward", ambiguous=False)


def last_complete_period(as_of: pd.Timestamp, freq: str, tz: str = "UTC") -> int:
    """Index of the latest period whose last instant is <= ``as_of`` (definitions §2)."""
    local = as_of.tz_convert(tz).tz_localize(None).as_unit("ns") + _ONE_NS
    return int(period_index(pd.Series([local]), freq)[0]) - 1


def current_period(as_of: pd.Timestamp, freq: str, tz: str = "UTC") -> int:
    """Index of the period containing ``as_of`` (partial unless it just ended)."""
    local = as_of.tz_convert(tz).tz_localize(None).as_unit("ns")
    return int(period_index(pd.Series([local]), freq)[0])


__all__ = [
    "AS_OF_FORMS",
    "DAYS_PER_YEAR",
    "FREQS",
    "FREQ_NAMES",
    "NO_PERIOD",
    "PERIODS_PER_YEAR",
    "PERIOD_DAYS",
    "check_freq",
    "current_period",
    "days_to_period",
    "last_complete_period",
    "local_days",
    "parse_as_of",
    "parse_period_label",
    "period_index",
    "period_label",
    "period_offset",
    "period_start",
    "period_start_day",
]
