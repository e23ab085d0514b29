"""Independent brute-force references: plain Python loops over customers and dates.

Nothing here imports retainkit's period or engine code: periods are computed
from ``datetime.date`` fields, so a shared bug cannot hide.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

import pandas as pd

EPOCH = dt.date(1970, 1, 1)
MONDAY0 = dt.date(1969, 12, 29)


def period_of_date(d: dt.date, freq: str) -> int:
    if freq == "D":
        return (d - EPOCH).days
    if freq == "W":
        return (d - MONDAY0).days // 7
    if freq == "M":
        return (d.year - 1970) * 12 + d.month - 1
    if freq == "Q":
        return (d.year - 1970) * 4 + (d.month - 1) // 3
    if freq == "Y":
        return d.year - 1970
    raise ValueError(freq)


def start_date_of(p: int, freq: str) -> dt.date:
    p = int(p)
    if freq == "D":
        return EPOCH + dt.timedelta(days=p)
    if freq == "W":
        return MONDAY0 + dt.timedelta(days=7 * p)
    months = {"M": 1, "Q": 3, "Y": 12}[freq] * p
    return dt.date(1970 + months // 12, months % 12 + 1, 1)


def local_date(ts: pd.Timestamp, tz: str) -> dt.date:
    return ts.tz_convert(tz).date()


def last_complete(as_of: pd.Timestamp, tz: str, freq: str) -> int:
    """Latest period whose last instant (next start - 1 ns) is <= as_of."""
    local = as_of.tz_convert(tz)
    p = period_of_date(local.date(), freq)
    next_start = pd.Timestamp(start_date_of(p + 1, freq)).tz_localize(tz)
    return p if next_start - pd.Timedelta(1, "ns") <= local else p - 1


def rows_of(tx):
    out = []
    for cid, ts, amt in zip(
        tx.frame["customer_id"], tx.frame["timestamp"], tx.frame["amount"] if tx.has_amount else [None] * len(tx.frame)
    ):
        a = None if amt is None or (isinstance(amt, float) and math.isnan(amt)) else float(amt)
        out.append((cid, ts, a))
    return out


def brute_cohorts(tx, freq: str):
    """{(cohort_period, age): dict(size, active, on_or_after, revenue)} for observed cells."""
    lc = last_complete(tx.as_of, tx.tz, freq)
    rows = [(c, period_of_date(local_date(t, tx.tz), freq), a) for c, t, a in rows_of(tx)]
    rows = [r for r in rows if r[1] <= lc]
    first, last, active_periods = {}, {}, defaultdict(set)
    for c, p, a in rows:
        if a is None or a >= 0:
            first[c] = min(first.get(c, p), p)
            last[c] = max(last.get(c, p), p)
            active_periods[c].add(p)
    cells = {}
    for c, f in first.items():
        for k in range(0, lc - f + 1):
            cell = cells.setdefault((f, k), {"size": 0, "active": 0, "on_or_after": 0, "revenue": 0.0})
            cell["size"] += 1
            if f + k in active_periods[c]:
                cell["active"] += 1
            if last[c] - f >= k:
                cell["on_or_after"] += 1
    for c, p, a in rows:
        if c in first and p >= first[c] and a is not None:
            cells[(first[c], p - first[c])]["revenue"] += a
    return cells


def brute_crr(tx, freq: str, window_days: int):
    """Per period p: dict(S, E, N, retained, lost, reactivated) from identities (definitions §4)."""
    lc = last_complete(tx.as_of, tx.tz, freq)
    buys = [(c, local_date(t, tx.tz)) for c, t, a in rows_of(tx) if a is None or a >= 0]
    first_day = {}
    for c, d in buys:
        first_day[c] = min(first_day.get(c, d), d)
    p0 = period_of_date(min(d for _, d in buys), freq)

    def members(boundary: dt.date) -> set:
        lo = boundary - dt.timedelta(days=window_days)
        return {c for c, d in buys if lo <= d < boundary}

    out = {}
    for p in range(p0, lc + 1):
        b0, b1 = start_date_of(p, freq), start_date_of(p + 1, freq)
        S, E = members(b0), members(b1)
        new = {c for c in E if b0 <= first_day[c] < b1}
        out[p] = {
            "S": len(S),
            "E": len(E),
            "N": len(new),
            "retained": len(S & E),
            "lost": len(S - E),
            "reactivated": len(E - S - new),
        }
    return out


def brute_purchase_metrics(tx, freq: str, by: str | None = None, include_partial: bool = False) -> dict:
    """purchase_metrics by a loop over customers: {(segment, period or 'overall'): metrics}.

    A purchase is a row with amount >= 0 or unknown; a customer's segment is
    the value on their earliest purchase row (the first such row on ties);
    customers without a purchase have segment None.
    """
    frame = tx.frame.reset_index(drop=True)
    limit = last_complete(tx.as_of, tx.tz, freq) + (1 if include_partial else 0)
    rows = []
    for i, (cid, ts, amt) in enumerate(rows_of(tx)):
        d = local_date(ts, tx.tz)
        rows.append(
            {
                "i": i,
                "c": cid,
                "ts": ts,
                "day": d,
                "p": period_of_date(d, freq),
                "a": amt,
                "buy": amt is None or amt >= 0,
            }
        )
    first: dict = {}
    for r in rows:  # earliest purchase per customer, first row on ties
        if r["buy"] and (r["c"] not in first or r["ts"] < first[r["c"]]["ts"]):
            first[r["c"]] = r
    seg = {c: (frame.loc[r["i"], by] if by else None) for c, r in first.items()}
    groups: dict = defaultdict(list)
    for r in rows:
        if r["p"] <= limit:
            s = seg.get(r["c"]) if by else None
            groups[(s, r["p"])].append(r)
            groups[(s, "overall")].append(r)
    out = {}
    for key, g in groups.items():
        buys = [r for r in g if r["buy"]]
        per_c: dict = defaultdict(list)
        for r in buys:
            per_c[r["c"]].append(r)
        known = [r for r in buys if r["a"] is not None]
        buy_rev = sum(r["a"] for r in known)
        gaps = []
        for c in per_c:  # gaps ending in this group, between the customer's consecutive distinct purchase days
            days = sorted({r["day"] for r in rows if r["c"] == c and r["buy"]})
            for prev, cur in zip(days, days[1:]):
                p = period_of_date(cur, freq)
                if p <= limit and (key[1] == "overall" or p == key[1]):
                    gaps.append((cur - prev).days)
        n_c = len(per_c)
        out[key] = {
            "customers": n_c,
            "orders": len(buys),
            "revenue": sum(r["a"] for r in g if r["a"] is not None),
            "repeat_customers": sum(1 for v in per_c.values() if len(v) >= 2),
            "aov": buy_rev / len(known) if known else math.nan,
            "median_days_between_purchases": float(pd.Series(gaps, dtype=float).median()) if gaps else math.nan,
            "repeat_revenue_share": (
                sum(r["a"] for r in known if first[r["c"]]["i"] != r["i"]) / buy_rev if buy_rev else math.nan
            ),
        }
    return out


def _blank(value) -> bool:
    """A missing value: None, NaN, NaT, pd.NA, or text that is empty after stripping."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip() == ""


def _norm(value):
    """A value as loading compares it: strings stripped, NaN equal to NaN, -0.0 equal to 0.0."""
    if _blank(value):
        return ("<missing>",)
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float):
        return value + 0.0
    return value


def brute_load_summary(
    frame: pd.DataFrame,
    *,
    amount: str | None,
    tz: str,
    as_of: pd.Timestamp,
    order_id: str | None = None,
    segments: tuple = (),
    drop_duplicates: bool = False,
) -> dict:
    """The counts of definitions §1 by a loop over rows: what load_transactions' summary must report.

    ``frame`` has ``customer_id``, ``timestamp`` (typed: aware, or naive wall times in ``tz``) and
    the mapped amount / order id / segment columns. ``as_of`` is aware. Returns
    ``{"dropped": {...}, "notes": {...}, "rows_kept": int, "customers": int}`` without zero counts.
    """
    dropped: dict = defaultdict(int)
    notes: dict = defaultdict(int)
    rows = []
    for i in range(len(frame)):
        r = frame.iloc[i]
        cid, ts = r["customer_id"], r["timestamp"]
        if _blank(cid):
            dropped["null_customer_id"] += 1
            continue
        if _blank(ts):
            dropped["missing_timestamp"] += 1
            continue
        ts = (
            ts.tz_convert(tz)
            if ts.tzinfo is not None
            else ts.tz_localize(tz, nonexistent="shift_forward", ambiguous=False)
        )
        if ts > as_of:
            dropped["after_as_of"] += 1
            continue
        amt = None
        if amount is not None:
            a = r[amount]
            amt = None if _blank(a) else float(a)
            if amt is None:
                notes["missing_amount"] += 1
        rows.append(
            {
                "i": i,
                "c": _norm(cid),
                "ts": ts,
                "a": amt,
                "o": _norm(r[order_id]) if order_id else None,
                "seg": tuple("(missing)" if pd.isna(r[s]) else str(r[s]) for s in segments),
            }
        )
    if order_id:
        seen, kept = set(), []
        for row in rows:
            if row["o"] != ("<missing>",) and row["o"] in seen:
                dropped["repeated_order_id"] += 1
                continue
            seen.add(row["o"])
            kept.append(row)
        rows = kept
    seen_rows, kept = set(), []
    for row in rows:
        ident = (row["c"], row["ts"].value, ("nan",) if row["a"] is None else row["a"] + 0.0, row["o"], row["seg"])
        if ident in seen_rows:
            if drop_duplicates:
                dropped["exact_duplicate"] += 1
                continue
            notes["exact_duplicates_kept"] += 1
        seen_rows.add(ident)
        kept.append(row)
    rows = kept
    if amount is not None:
        first_buy: dict = {}
        for row in rows:
            if row["a"] is None or row["a"] >= 0:
                first_buy[row["c"]] = min(first_buy.get(row["c"], row["ts"]), row["ts"])
        refund_customers = set()
        for row in rows:
            if row["a"] is not None and row["a"] < 0:
                notes["refund_rows"] += 1
                refund_customers.add(row["c"])
                if row["c"] in first_buy and row["ts"] < first_buy[row["c"]]:
                    notes["refunds_before_first_purchase"] += 1
        notes["refund_only_customers"] = len(refund_customers - set(first_buy))
    return {
        "dropped": {k: v for k, v in dropped.items() if v},
        "notes": {k: v for k, v in notes.items() if v},
        "rows_kept": len(rows),
        "customers": len({row["c"] for row in rows}),
    }
