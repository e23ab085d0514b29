"""Seeded synthetic data with known truth, and the bundled sample.

:func:`make_transactions` simulates a shop: customers are acquired every month
(with growth and seasonality) through channels of different quality; each
customer has their own churn probability (beta-distributed: the shifted-beta-
geometric story of definitions §5), purchase rate (gamma) and spend level;
some purchases are refunded; a loyalty programme is joined mostly by heavy
buyers (self-selection) and truly lowers churn by a known amount. The true
parameters are returned alongside, so tests and workshops can compare
estimates with truth. :func:`make_subscriptions` does the same for
subscription intervals, and :func:`simulate_program` draws a monthly log with
a loyalty programme of known effect, with or without self-selection, to check
:func:`retainkit.loyalty.measure_program_lift` (definitions §6). Same
arguments and seed -> identical data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .data import load_transactions
from .exceptions import ParameterError

#: channel -> (share of acquisitions, sBG alpha, sBG beta) of the per-period churn probability
DEFAULT_CHANNELS: dict[str, tuple[float, float, float]] = {
    "organic": (0.35, 1.2, 3.0),
    "paid_search": (0.30, 1.6, 2.4),
    "social": (0.20, 2.0, 2.0),
    "referral": (0.15, 0.9, 3.6),
}
DEFAULT_COUNTRIES: dict[str, float] = {"DE": 0.4, "FR": 0.25, "NL": 0.15, "ES": 0.12, "IT": 0.08}
#: relative purchase intensity by calendar month (Nov/Dec peak)
SEASONALITY = np.array([0.9, 0.85, 0.95, 1.0, 1.0, 0.95, 0.9, 0.9, 1.0, 1.05, 1.25, 1.4])

SAMPLE_FILE = "sample_transactions.csv"
SAMPLE_SUBSCRIPTIONS_FILE = "sample_subscriptions.csv"
#: how the bundled sample is made (regenerate with `python -m retainkit.datasets`)
SAMPLE_ARGS: dict[str, Any] = {"n_customers": 3000, "start": "2023-01-01", "periods": 24, "seed": 7}
#: column mapping of the bundled sample for load_transactions
SAMPLE_COLUMNS: dict[str, Any] = {
    "customer_id": "customer_id",
    "timestamp": "timestamp",
    "amount": "amount",
    "order_id": "order_id",
    "segments": ("channel", "country", "is_member"),
}


@dataclass(frozen=True)
class SyntheticData:
    """A generated log and the truth behind it (unpacks as ``frame, truth``)."""

    frame: pd.DataFrame
    truth: dict[str, Any] = field(default_factory=dict)

    def __iter__(self):
        return iter((self.frame, self.truth))


@dataclass(frozen=True)
class SyntheticProgram(SyntheticData):
    """A generated log with a loyalty programme of known effect (:func:`simulate_program`).

    Like :class:`SyntheticData` (``frame``, ``truth``) plus ``customers``, the
    truth per customer; unpacks as ``frame, customers``.
    """

    customers: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __iter__(self):
        return iter((self.frame, self.customers))


def _check(n_customers: int, periods: int) -> None:
    if not isinstance(n_customers, (int, np.integer)) or n_customers < 1:
        raise ParameterError(f"n_customers={n_customers!r} must be a positive integer.")
    if not isinstance(periods, (int, np.integer)) or periods < 1:
        raise ParameterError(f"periods={periods!r} must be a positive integer (months).")


def make_transactions(
    n_customers: int = 2000,
    start: str = "2023-01-01",
    periods: int = 24,
    seed: int = 0,
    *,
    channels: dict[str, tuple[float, float, float]] | None = None,
    countries: dict[str, float] | None = None,
    purchase_shape: float = 2.0,
    purchase_rate: float = 0.9,
    spend_mean: float = 45.0,
    refund_prob: float = 0.03,
    growth: float = 0.03,
    member_share: float = 0.25,
    member_churn_reduction: float = 0.30,
    member_rate_lift: float = 0.15,
    self_selection: float = 1.0,
) -> SyntheticData:
    """Simulate a monthly transaction log with known parameters.

    Parameters
    ----------
    n_customers : int
        Customers acquired over the whole span.
    start : str
        First day of the first month.
    periods : int
        Number of months simulated.
    seed : int
        Random seed: same arguments and seed give identical data.
    channels : dict, optional
        channel -> (acquisition share, alpha, beta): each customer's monthly
        churn probability is drawn from Beta(alpha, beta) (sBG, definitions §5).
    purchase_shape, purchase_rate : float
        Each customer's expected purchases per month while alive is
        Gamma(shape, rate/shape) (mean ``purchase_rate``), times seasonality.
    spend_mean : float
        Mean order value; each customer's own mean is gamma distributed and
        order values are lognormal around it.
    refund_prob : float
        Probability that an order is refunded (a negative row 0-20 days later).
    growth : float
        Monthly growth of acquisitions.
    member_share : float
        Approximate share of customers who join the loyalty programme.
    member_churn_reduction, member_rate_lift : float
        True effect of membership: churn probability x (1 - reduction) and
        purchase rate x (1 + lift) after joining.
    self_selection : float
        How strongly joining depends on the customer's own purchase rate
        (0 = random joining; 1 = heavy buyers join far more often).

    Returns
    -------
    SyntheticData
        ``frame`` with columns order_id, customer_id, timestamp (naive ISO,
        UTC), amount, channel, country, is_member, member_since; ``truth`` with
        every parameter and per-customer latent values.
    """
    _check(n_customers, periods)
    rng = np.random.default_rng(seed)
    channels = channels or DEFAULT_CHANNELS
    countries = countries or DEFAULT_COUNTRIES
    start_ts = pd.Timestamp(start).normalize()
    month0 = start_ts.to_period("M")
    month_starts = pd.period_range(month0, periods=periods + 1, freq="M").to_timestamp()
    month_days = np.diff(month_starts.values).astype("timedelta64[D]").astype(int)

    # acquisition month of each customer: growth and seasonality
    weights = (1 + growth) ** np.arange(periods) * SEASONALITY[(month_starts[:-1].month - 1)]
    acq = np.sort(rng.choice(periods, size=n_customers, p=weights / weights.sum()))
    ch_names = list(channels)
    ch_share = np.array([channels[c][0] for c in ch_names])
    ch = rng.choice(len(ch_names), size=n_customers, p=ch_share / ch_share.sum())
    alpha = np.array([channels[c][1] for c in ch_names])[ch]
    beta = np.array([channels[c][2] for c in ch_names])[ch]
    theta = rng.beta(alpha, beta)
    co_names = list(countries)
    co_p = np.array(list(countries.values()))
    co = rng.choice(len(co_names), size=n_customers, p=co_p / co_p.sum())
    lam = rng.gamma(purchase_shape, purchase_rate / purchase_shape, size=n_customers)
    spend = rng.gamma(4.0, spend_mean / 4.0, size=n_customers)
    first_day = rng.integers(0, month_days[acq])

    # loyalty programme: joining odds grow with the customer's own purchase rate (self-selection)
    score = np.exp(self_selection * np.log(lam / lam.mean()))
    join_p = np.clip(member_share * score / score.mean(), 0, 0.95)
    will_join = rng.random(n_customers) < join_p
    join_delay = rng.integers(1, 7, size=n_customers)  # months after acquisition
    join_month = np.where(will_join, acq + join_delay, periods + 1)

    rows_c, rows_day, rows_month = [], [], []
    alive = np.zeros(n_customers, dtype=bool)
    joined = np.zeros(n_customers, dtype=bool)
    for m in range(periods):
        new = acq == m
        alive |= new
        idx = np.flatnonzero(alive)
        is_member_now = join_month[idx] <= m
        joined[idx[is_member_now]] = True
        rate = lam[idx] * SEASONALITY[month_starts[m].month - 1] * np.where(is_member_now, 1 + member_rate_lift, 1.0)
        first = new[idx]
        # new customers: the acquisition purchase plus Poisson purchases in the rest of the month
        frac = np.where(first, (month_days[m] - first_day[idx]) / month_days[m], 1.0)
        count = rng.poisson(rate * frac)
        cust = np.repeat(idx, count)
        lo = np.where(acq[cust] == m, first_day[cust], 0)
        day = lo + (rng.random(len(cust)) * (month_days[m] - lo)).astype(int)
        newc = idx[first]
        rows_c += [newc, cust]
        rows_day += [first_day[newc] + (month_starts[m] - start_ts).days, day + (month_starts[m] - start_ts).days]
        rows_month += [np.full(len(newc), m), np.full(len(cust), m)]
        # churn at the end of the month (members churn less once joined)
        p_churn = theta[idx] * np.where(is_member_now, 1 - member_churn_reduction, 1.0)
        churn = rng.random(len(idx)) < p_churn
        alive[idx[churn]] = False

    c = np.concatenate(rows_c)
    d = np.concatenate(rows_day)
    seconds = rng.integers(7 * 3600, 23 * 3600, size=len(c))
    ts = start_ts + pd.to_timedelta(d, unit="D") + pd.to_timedelta(seconds, unit="s")
    amount = np.round(spend[c] * rng.lognormal(-0.125, 0.5, size=len(c)), 2)
    amount[rng.random(len(c)) < 0.01] = 0.0  # free orders (vouchers): still purchases
    frame = pd.DataFrame({"customer_id": c, "timestamp": ts, "amount": amount})
    refunded = rng.random(len(frame)) < refund_prob
    ref = frame.loc[refunded].copy()
    ref["timestamp"] = ref["timestamp"] + pd.to_timedelta(rng.integers(0, 21, size=len(ref)), unit="D")
    ref["amount"] = -ref["amount"]
    frame = pd.concat([frame, ref], ignore_index=True)
    end_ts = month_starts[-1]
    frame = frame.loc[frame["timestamp"] < end_ts].sort_values(["timestamp", "customer_id"], kind="stable")
    frame = frame.reset_index(drop=True)
    member = joined
    member_since = pd.Series(pd.NaT, index=range(n_customers), dtype="datetime64[ns]")
    jm = np.clip(join_month, 0, periods)
    member_since[member] = month_starts[jm[member]] + pd.to_timedelta(rng.integers(0, 28, size=member.sum()), unit="D")
    cid = frame["customer_id"].to_numpy()
    out = pd.DataFrame(
        {
            "order_id": [f"O{i:07d}" for i in range(1, len(frame) + 1)],
            "customer_id": [f"C{x + 1:06d}" for x in cid],
            "timestamp": frame["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S"),
            "amount": frame["amount"].round(2),
            "channel": np.array(ch_names, dtype=object)[ch[cid]],
            "country": np.array(co_names, dtype=object)[co[cid]],
            "is_member": member[cid],
            "member_since": member_since.iloc[cid].dt.strftime("%Y-%m-%d").fillna("").to_numpy(),
        }
    )
    truth = {
        "args": {"n_customers": n_customers, "start": str(start_ts.date()), "periods": periods, "seed": seed},
        "channels": {k: {"share": v[0], "alpha": v[1], "beta": v[2]} for k, v in channels.items()},
        "countries": dict(countries),
        "purchase_shape": purchase_shape,
        "purchase_rate": purchase_rate,
        "spend_mean": spend_mean,
        "refund_prob": refund_prob,
        "growth": growth,
        "member_churn_reduction": member_churn_reduction,
        "member_rate_lift": member_rate_lift,
        "self_selection": self_selection,
        "customers": pd.DataFrame(
            {
                "customer_id": [f"C{x + 1:06d}" for x in range(n_customers)],
                "acquisition_month": acq,
                "channel": np.array(ch_names)[ch],
                "churn_probability": theta,
                "purchase_rate": lam,
                "mean_spend": spend,
                "is_member": member,
            }
        ),
    }
    return SyntheticData(frame=out, truth=truth)


def make_subscriptions(
    n_customers: int = 1000,
    start: str = "2023-01-01",
    periods: int = 24,
    seed: int = 0,
    *,
    alpha: float = 1.0,
    beta: float = 3.0,
    plans: dict[str, float] | None = None,
    upgrade_prob: float = 0.03,
) -> SyntheticData:
    """Simulate monthly subscriptions (sBG churn with Beta(alpha, beta)) with MRR and upgrades.

    Returns ``frame`` with customer_id, start, end (empty = active), mrr, plan,
    one row per interval at a constant price (an upgrade ends one interval and
    starts the next), and ``truth`` with alpha/beta and per-customer churn
    probabilities.
    """
    _check(n_customers, periods)
    rng = np.random.default_rng(seed)
    plans = plans or {"basic": 19.0, "pro": 49.0, "team": 99.0}
    names = list(plans)
    start_ts = pd.Timestamp(start).normalize()
    month_starts = pd.period_range(start_ts.to_period("M"), periods=periods + 1, freq="M").to_timestamp()
    acq = rng.integers(0, periods, size=n_customers)
    theta = rng.beta(alpha, beta, size=n_customers)
    plan = rng.choice(len(names), size=n_customers, p=[0.6, 0.3, 0.1][: len(names)] if len(names) == 3 else None)
    rows = []
    for i in range(n_customers):
        m = int(acq[i])
        day = int(rng.integers(0, 28))
        cur_start = month_starts[m] + pd.Timedelta(days=day)
        p = int(plan[i])
        t = m
        while True:
            t += 1
            if t > periods:
                rows.append((i, cur_start, pd.NaT, plans[names[p]], names[p]))
                break
            if rng.random() < theta[i]:
                end = month_starts[min(t, periods)] + pd.Timedelta(days=day)
                if end >= month_starts[-1]:
                    rows.append((i, cur_start, pd.NaT, plans[names[p]], names[p]))
                else:
                    rows.append((i, cur_start, end, plans[names[p]], names[p]))
                break
            if p + 1 < len(names) and rng.random() < upgrade_prob:
                switch = month_starts[t] + pd.Timedelta(days=day)
                if switch >= month_starts[-1]:
                    continue
                rows.append((i, cur_start, switch, plans[names[p]], names[p]))
                cur_start, p = switch, p + 1
    f = pd.DataFrame(rows, columns=["c", "start", "end", "mrr", "plan"])
    out = pd.DataFrame(
        {
            "customer_id": [f"S{c + 1:05d}" for c in f["c"]],
            "start": f["start"].dt.strftime("%Y-%m-%d"),
            "end": f["end"].dt.strftime("%Y-%m-%d").fillna(""),
            "mrr": f["mrr"],
            "plan": f["plan"],
        }
    )
    truth = {
        "alpha": alpha,
        "beta": beta,
        "plans": dict(plans),
        "upgrade_prob": upgrade_prob,
        "churn_probability": theta,
        "args": {"n_customers": n_customers, "start": str(start_ts.date()), "periods": periods, "seed": seed},
    }
    return SyntheticData(frame=out, truth=truth)


def simulate_program(
    n_customers: int = 4000,
    n_periods: int = 24,
    *,
    retention_lift: float = 0.10,
    spend_lift: float = 0.0,
    member_share: float = 0.3,
    self_selection: float = 0.0,
    randomized: bool = False,
    join_range: tuple[int, int] | None = None,
    start: str = "2022-01-01",
    seed: int | None = 0,
) -> SyntheticProgram:
    """Monthly transaction log with a loyalty programme of known effect (definitions §6).

    Each customer has a usual activity level p (probability of buying in a
    month, 0.05..0.75) and a usual spend per active month mu (log-normal,
    median 40). Everyone buys in month 0, then independently each month with
    probability p, spending mu times a Gamma(4) / 4 noise.

    * Observational programme (``randomized=False``): a customer becomes a
      member with probability ``member_share`` when ``self_selection=0``;
      with ``self_selection > 0`` the log-odds rise by ``self_selection``
      per standard deviation of a heavy-buyer score (logit p + 0.5 log mu),
      i.e. frequent, big spenders join more often. A member joins at checkout
      in a month J drawn uniformly from ``join_range`` (default
      7 .. n_periods-5, which leaves room for 3+3 pre-join months and 3 full
      months after), so J holds a purchase.
    * Randomised initiative (``randomized=True``): every customer gets a start
      month J; half, at random, are held out (``holdout`` true).

    From month J+1 on, treated customers buy with probability p +
    ``retention_lift`` and spend mu * (1 + ``spend_lift``) per active month.

    Returns
    -------
    SyntheticProgram
        Like the :class:`SyntheticData` of :func:`make_transactions`: ``frame``
        (the log below), ``truth`` (the true lifts and the arguments) and
        ``customers`` (the truth per customer, below); unpacks as
        ``log, customers``.

    log : pandas.DataFrame
        ``customer_id``, ``timestamp`` (naive), ``amount``, ``is_member``,
        ``member_since`` (NaT for non-members; the start date for every
        participant when randomised), and ``holdout`` when randomised.
    customers : pandas.DataFrame
        One row per customer: ``customer_id``, ``activity`` (p),
        ``spend_level`` (mu), ``is_member`` (treated), ``join_period`` (J or
        -1), ``true_retention_effect`` and ``true_spend_effect`` (expected
        change per post month for the treated: p+lift-p and
        (p+lift) mu (1+spend_lift) - p mu; 0 otherwise).
    """
    if not 0 <= retention_lift <= 0.25:
        raise ParameterError(f"retention_lift={retention_lift!r} must lie in [0, 0.25] (activity stays <= 1).")
    if n_periods < 12:
        raise ParameterError(f"n_periods={n_periods!r} must be >= 12 to leave room for the windows.")
    if not 0 < member_share < 1:
        raise ParameterError(f"member_share={member_share!r} must lie in (0, 1).")
    rng = np.random.default_rng(seed)
    n, T = int(n_customers), int(n_periods)
    lo, hi = join_range if join_range is not None else (7, T - 5)
    if not 1 <= lo <= hi <= T - 2:
        raise ParameterError(f"join_range=({lo}, {hi}) must satisfy 1 <= first <= last <= n_periods - 2.")
    p = 0.05 + 0.70 * rng.beta(2.0, 3.0, n)
    mu = np.exp(np.log(40.0) + 0.5 * rng.standard_normal(n))
    score = np.log(p / (1 - p))
    score = (score - score.mean()) / score.std() + 0.5 * (np.log(mu) - np.log(mu).mean()) / np.log(mu).std()
    J = rng.integers(lo, hi + 1, n)
    if randomized:
        hold = rng.random(n) < 0.5
        treated = ~hold
    else:
        logit = np.log(member_share / (1 - member_share)) + self_selection * score
        treated = rng.random(n) < 1 / (1 + np.exp(-logit))
    t = np.arange(T)
    post = treated[:, None] & (t[None, :] > J[:, None])
    prob = p[:, None] + np.where(post, retention_lift, 0.0)
    active = rng.random((n, T)) < prob
    active[:, 0] = True
    if not randomized:
        active[treated, J[treated]] = True  # joins at checkout
    spend = mu[:, None] * rng.gamma(4.0, 0.25, (n, T)) * np.where(post, 1.0 + spend_lift, 1.0)
    ci, pi = np.nonzero(active)
    starts = pd.date_range(pd.Timestamp(start), periods=T, freq="MS")
    day = rng.integers(0, 28, ci.size)
    secs = rng.integers(0, 86_400, ci.size)
    ts = starts[pi] + pd.to_timedelta(day, "D") + pd.to_timedelta(secs, "s")
    join_ts = starts[J] + pd.to_timedelta(rng.integers(0, 28, n), "D")
    ids = np.arange(1, n + 1)
    if not randomized:
        # the join date is the day of the checkout purchase in month J
        jrow = treated[ci] & (pi == J[ci])
        first_idx = pd.Series(np.flatnonzero(jrow)).groupby(ci[jrow]).first()
        join_ts = pd.DatetimeIndex(join_ts).to_numpy().copy()
        join_ts[first_idx.index.to_numpy()] = np.asarray(ts)[first_idx.to_numpy()]
        join_ts = pd.DatetimeIndex(join_ts)
    since = pd.Series(pd.DatetimeIndex(join_ts)).where(pd.Series(treated | randomized), pd.NaT)
    log = pd.DataFrame(
        {
            "customer_id": ids[ci],
            "timestamp": ts,
            "amount": np.round(spend[ci, pi], 2),
            "is_member": treated[ci],
            "member_since": since.to_numpy()[ci],
        }
    )
    if randomized:
        log["holdout"] = hold[ci]
    log = log.sort_values(["timestamp", "customer_id"], kind="stable").reset_index(drop=True)
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "activity": p,
            "spend_level": mu,
            "is_member": treated,
            "join_period": np.where(treated | randomized, J, -1),
            "true_retention_effect": np.where(treated, retention_lift, 0.0),
            "true_spend_effect": np.where(treated, (p + retention_lift) * mu * (1 + spend_lift) - p * mu, 0.0),
        }
    )
    truth = {
        "retention_lift": retention_lift,
        "spend_lift": spend_lift,
        "member_share": member_share,
        "self_selection": self_selection,
        "randomized": randomized,
        "args": {"n_customers": n, "n_periods": T, "join_range": (int(lo), int(hi)), "start": str(start), "seed": seed},
    }
    return SyntheticProgram(frame=log, truth=truth, customers=customers)


def sample_path(name: str = SAMPLE_FILE) -> Path:
    """Path of a bundled sample file (``sample_transactions.csv`` or ``sample_subscriptions.csv``)."""
    path = Path(str(resources.files("retainkit") / "data" / name))
    if not path.exists():
        raise FileNotFoundError(f"bundled sample {name!r} is missing from the installation ({path}).")
    return path


def load_sample(**kwargs: Any):
    """The bundled sample transaction log, loaded with its column mapping (keyword overrides allowed)."""
    args = dict(SAMPLE_COLUMNS)
    args.update(kwargs)
    return load_transactions(sample_path(), **args)


def write_samples(folder: Path | None = None) -> list[Path]:
    """Regenerate the bundled samples (deterministic)."""
    folder = Path(folder) if folder else Path(__file__).parent / "data"
    folder.mkdir(parents=True, exist_ok=True)
    tx = make_transactions(**SAMPLE_ARGS).frame
    p1 = folder / SAMPLE_FILE
    tx.to_csv(p1, index=False, lineterminator="\n")
    subs = make_subscriptions(n_customers=800, start="2023-01-01", periods=24, seed=7).frame
    p2 = folder / SAMPLE_SUBSCRIPTIONS_FILE
    subs.to_csv(p2, index=False, lineterminator="\n")
    return [p1, p2]


__all__ = [
    "DEFAULT_CHANNELS",
    "SAMPLE_COLUMNS",
    "SyntheticData",
    "SyntheticProgram",
    "load_sample",
    "make_subscriptions",
    "make_transactions",
    "sample_path",
    "simulate_program",
    "write_samples",
]

if __name__ == "__main__":  # pragma: no cover
    for p in write_samples():
        print(p, p.stat().st_size)
