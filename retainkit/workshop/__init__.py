"""Shared data and self-checking exercises for the workshop notebooks (``notebooks/workshop/``).

The workshop teaches retention math with the same functions analysts use.
Every exercise has an id ``"NN.k"`` (notebook NN, exercise k). A learner writes
an answer in code and calls :func:`check`, which says right / not right yet /
not answered yet, with feedback that names a known mistake only
conditionally ("If you divided by E, ..."); :func:`hint` gives tiered hints to
a stuck learner; :func:`solution` returns the model answer (the notebooks'
``solutions`` parameter fills every answer with it).

Modules: :mod:`~retainkit.workshop.data` (the workshop's data),
:mod:`~retainkit.workshop.exercise` (exercises, hints, verdicts),
:mod:`~retainkit.workshop.checking` (the checker),
``ex01_crr`` ... ``ex07_cdnow`` (one per notebook's exercises, with the
helpers those notebooks show) and :mod:`~retainkit.workshop.catalogue`
(every exercise by id). Expected answers are never typed in: they are computed
from the shared data with retainkit's own functions (definitions §1-§6).
"""

from __future__ import annotations

from .catalogue import EXERCISES, check, exercise, exercises, hint, solution
from .data import (
    CDNOW_AS_OF,
    CDNOW_FILE,
    CLV_EXAMPLE,
    COHORT_AS_OF,
    COHORT_MIX,
    CRR_AS_OF,
    CRR_EXAMPLE,
    CRR_PERIOD,
    CRR_WINDOW,
    FADER_HARDIE,
    HOLDOUT_SIM,
    MIXTURE,
    PAPERMILL_DEMO,
    PROGRAM_BOOT,
    PROGRAM_SIM,
    TIERS,
    cdnow_log,
    cohort_log,
    cohort_mix_log,
    crr_log,
    customers_at,
    fader_hardie,
    holdout_data,
    holdout_lift,
    load_cdnow,
    load_cohort_log,
    load_cohort_mix,
    load_crr_log,
    mixture_retention,
    program_data,
    program_lift,
    tier_spend,
)
from .ex01_crr import MOVED_PURCHASE
from .ex05_loyalty import did_by_hand, tier_discount, tier_table
from .exercise import CheckResult, Exercise, Hint

__all__ = [
    "CDNOW_AS_OF",
    "CDNOW_FILE",
    "CLV_EXAMPLE",
    "COHORT_AS_OF",
    "COHORT_MIX",
    "CRR_AS_OF",
    "CRR_EXAMPLE",
    "CRR_PERIOD",
    "CRR_WINDOW",
    "CheckResult",
    "EXERCISES",
    "Exercise",
    "FADER_HARDIE",
    "HOLDOUT_SIM",
    "Hint",
    "MIXTURE",
    "MOVED_PURCHASE",
    "PAPERMILL_DEMO",
    "PROGRAM_BOOT",
    "PROGRAM_SIM",
    "TIERS",
    "cdnow_log",
    "check",
    "cohort_log",
    "cohort_mix_log",
    "crr_log",
    "customers_at",
    "did_by_hand",
    "exercise",
    "exercises",
    "fader_hardie",
    "hint",
    "holdout_data",
    "holdout_lift",
    "load_cdnow",
    "load_cohort_log",
    "load_cohort_mix",
    "load_crr_log",
    "mixture_retention",
    "program_data",
    "program_lift",
    "solution",
    "tier_discount",
    "tier_spend",
    "tier_table",
]
