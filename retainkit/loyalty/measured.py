"""Lift a loyalty programme actually produced, measured from a transaction log (definitions §6 "Measured ROI").

:func:`measure_program_lift`: difference in differences against comparison
customers matched on pre-join activity, or the plain treated-vs-holdout
difference for a randomised holdout, with bootstrap 95 % intervals. The naive
members-vs-others gap is returned next to a warning that members self-select.

This module checks the options and builds the activity panel; the designs are in
:mod:`~retainkit.loyalty.did` (matched difference in differences) and
:mod:`~retainkit.loyalty.randomized` (randomised holdout); both resample with
:func:`~retainkit.loyalty.result.bootstrap`.
"""

from typing import Any

import numpy as np
import pandas as pd

from .._deprecation import renamed_kwargs
from ..exceptions import DataError, ParameterError
from ..periods import check_freq
from .did import matched_did
from .panel import activity_panel, per_customer_flag
from .randomized import randomized
from .result import NAIVE_WARNING, ProgramLift


@renamed_kwargs(gross_margin="margin")
def measure_program_lift(
    frame: Any,
    *,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = "amount",
    member: str = "is_member",
    join_date: str = "member_since",
    freq: str = "M",
    pre_periods: int = 3,
    match_periods: int = 3,
    post_periods: int = 3,
    design: str = "auto",
    holdout: str | None = None,
    spend_bins: int = 3,
    skip_join_period: bool = True,
    n_boot: int = 500,
    seed: int | None = 0,
    costs: float | None = None,
    margin: float | None = None,
    as_of: Any = None,
    tz: str | None = None,
) -> ProgramLift:
    """Lift a programme (or any dated retention initiative) produced (definitions §6).

    Outcomes, per customer and period (``freq``): *active* (>= 1 purchase, a
    row with amount >= 0 or unknown, definitions §1) and *spend* (sum of
    amounts, refunds included). "Retention" here is the share of customers
    active per period; spend is per customer per period (inactive = 0).

    Windows around each member's join period J (lengths in periods):

    ``baseline`` = J-m-b .. J-m-1 | ``matching`` = J-m .. J-1 | ``join`` = J | ``post`` = J+1 .. J+a

    with b = ``pre_periods``, m = ``match_periods``, a = ``post_periods``. The
    join period is left out (``skip_join_period``) because people often join
    at checkout, so it holds a purchase by construction.

    Designs
    -------
    ``"did"`` (matched difference in differences; the default without a
    holdout): each member is compared with never-members who, in the same
    calendar periods, had the same activity in the matching window:
    frequency (active periods), recency (periods since the last active one)
    and spend band (``spend_bins`` quantile bands of the members' matching-
    window spend). Non-members are thus given the member's join date as a
    pseudo join date and matched exactly within these bins (coarsened exact
    matching; one comparison customer may serve several join dates). The lift
    is the members' change from baseline to post minus the matched
    comparisons' change, averaged over strata weighted by their member counts
    (the effect on the matched members). The change is measured from the
    baseline window, NOT from the matching window: differencing the very
    window one matched on biases the estimate by regression to the mean when
    members self-select on their usual activity level (Daw & Hatfield 2018).
    Identifying assumption: without the programme, matched members and
    comparisons would have changed by the same amount between the baseline
    and post windows. Members without a complete baseline/post window, who
    were not customers before the baseline window, or whose stratum has no
    comparison customer are left out and counted.

    ``"randomized"`` (with ``holdout``): every customer with a start date in
    ``join_date`` took part; those with ``holdout`` true were held out at
    random. The lift is the plain difference of post-window means, treated
    minus holdout (``member`` is not used).

    Intervals: bootstrap (``n_boot`` resamples of customers, members and
    comparisons resampled separately; the whole matching is kept, the strata
    means are recomputed), 95 % percentile interval.

    Parameters
    ----------
    frame : pandas.DataFrame or retainkit.Transactions
        Transaction log; a Transactions object is read from ``.frame``
        (its ``as_of`` and ``tz`` are used unless given).
    customer_id, timestamp, amount, member, join_date : str
        Column names. ``member``: yes/no flag (any true row makes the
        customer a member). ``join_date``: the member's join (start) date,
        missing for others; the earliest per customer is used. ``amount``
        may be None (then only the retention lift is measured).
    freq : {"D", "W", "M", "Q", "Y"}
    pre_periods, match_periods, post_periods : int
        Window lengths (see above), >= 1.
    design : {"auto", "did", "randomized"}
        ``"auto"``: "randomized" when ``holdout`` is given, else "did".
    holdout : str, optional
        Yes/no column marking the randomised holdout.
    spend_bins : int
        Number of spend bands for matching (1 = do not match on spend).
    skip_join_period : bool
    n_boot : int
        Bootstrap resamples (>= 50 for an interval; 0 = no interval).
    seed : int or None
    costs : float, optional
        Programme cost per member per period (rewards + service, currency).
        With ``margin`` it gives the implied ROI
        ``(margin * spend_lift - costs) / costs``.
    margin : float, optional
    as_of, tz
        Only complete periods up to ``as_of`` are used (definitions §1, §2);
        default: the end of the day of the latest timestamp, report zone UTC.

    Returns
    -------
    ProgramLift

    Raises
    ------
    DataError
        A column is missing, flags/dates do not parse, no member can be measured.
    ParameterError
        Bad window lengths, design, costs.
    """
    if hasattr(frame, "frame") and hasattr(frame, "as_of"):
        as_of = frame.as_of if as_of is None else as_of
        tz = getattr(frame, "tz", None) if tz is None else tz
        frame = frame.frame
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(f"frame must be a pandas DataFrame or retainkit Transactions, not {type(frame).__name__}.")
    tz = tz or "UTC"
    freq = check_freq(freq)
    design = _check_options(
        pre_periods, match_periods, post_periods, spend_bins, n_boot, design, holdout, costs, margin
    )
    flag = member if design == "did" else holdout
    assert flag is not None  # _check_options: the randomised design needs holdout=
    needed = [customer_id, timestamp, join_date, flag]
    has_amount = _check_columns(frame, needed, amount)
    df = frame[[c for c in dict.fromkeys(needed + ([amount] if has_amount else []))]].copy()
    panel = activity_panel(
        df,
        customer_id=customer_id,
        timestamp=timestamp,
        amount=amount if has_amount else None,
        join_date=join_date,
        freq=freq,
        tz=tz,
        as_of=as_of,
        windows=(pre_periods, match_periods, post_periods),
    )
    b, m, a = int(pre_periods), int(match_periods), int(post_periods)
    jp = 1 if skip_join_period else 0
    windows = {"baseline_periods": b, "match_periods": m, "post_periods": a}
    rng = np.random.default_rng(seed)
    n_c = len(panel.customer_ids)
    if design == "randomized":
        return randomized(
            panel.active,
            panel.spend,
            panel.join,
            panel.has_join,
            per_customer_flag(panel.rows, flag, panel.customer_codes, n_c),
            panel.first_buy,
            b,
            m,
            a,
            jp,
            panel.n_periods,
            has_amount,
            panel.customer_ids,
            freq,
            windows,
            n_boot,
            seed,
            rng,
            costs,
            margin,
        )
    is_mem = per_customer_flag(panel.rows, member, panel.customer_codes, n_c)
    return matched_did(
        panel, is_mem, member, b, m, a, jp, spend_bins, has_amount, freq, windows, n_boot, seed, rng, costs, margin
    )


# --------------------------------------------------------------------------- the steps of measure_program_lift
def _check_options(
    pre_periods: int,
    match_periods: int,
    post_periods: int,
    spend_bins: int,
    n_boot: int,
    design: str,
    holdout: str | None,
    costs: float | None,
    margin: float | None,
) -> str:
    """Validate the window lengths, bootstrap size, design and costs; returns the design ("did" or "randomized")."""
    for name, v in (("pre_periods", pre_periods), ("match_periods", match_periods), ("post_periods", post_periods)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ParameterError(f"{name}={v!r} must be a whole number of periods >= 1.")
    if not isinstance(spend_bins, (int, np.integer)) or spend_bins < 1:
        raise ParameterError(f"spend_bins={spend_bins!r} must be an integer >= 1 (1 = do not match on spend).")
    if not isinstance(n_boot, (int, np.integer)) or (n_boot != 0 and n_boot < 50):
        raise ParameterError(f"n_boot={n_boot!r}: use 0 (no interval) or at least 50 resamples (500+ recommended).")
    if design not in ("auto", "did", "randomized"):
        raise ParameterError(f"design={design!r} must be 'auto', 'did' or 'randomized'.")
    if design == "auto":
        design = "randomized" if holdout is not None else "did"
    if design == "randomized" and holdout is None:
        raise ParameterError("design='randomized' needs holdout='<column>' naming the randomised holdout flag.")
    if costs is not None:
        if margin is None:
            raise ParameterError("costs given without margin: the implied ROI needs both.")
        if not costs > 0:
            raise ParameterError(f"costs={costs!r} must be > 0 (programme cost per member per period).")
        if not 0 <= margin <= 1:
            raise ParameterError(f"margin={margin!r} must lie in [0, 1]; write 35 % as 0.35.")
    return design


def _check_columns(frame: pd.DataFrame, needed: list[str], amount: str | None) -> bool:
    """Raise DataError for a missing column; returns whether amounts are measured."""
    has_amount = amount is not None and amount in frame.columns
    if amount is not None and not has_amount:
        raise DataError(
            f"column {amount!r} (amount) is not in the data (columns: {list(frame.columns)}). "
            "Pass amount=None to measure the retention lift only."
        )
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(
            f"column(s) {missing} not in the data (columns: {list(frame.columns)}). "
            "Map them with customer_id=..., timestamp=..., member=..., join_date=..., holdout=..."
        )
    return has_amount


__all__ = ["NAIVE_WARNING", "ProgramLift", "measure_program_lift"]
