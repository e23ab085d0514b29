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

Modules: :mod:`~retainkit.survey.scores` (:func:`nps`, :func:`csat`,
:func:`ces`), :mod:`~retainkit.survey.summary` (:func:`survey_summary`),
:mod:`~retainkit.survey.retention` (:func:`retention_by_survey_group`,
:func:`nps_group`); scales, validation and the per-metric statistics they
share are in ``retainkit/survey/_common.py``.
"""

from __future__ import annotations

from ._common import CES_SCALE as CES_SCALE  # the scales and labels stay importable from retainkit.survey
from ._common import CSAT_SCALE as CSAT_SCALE
from ._common import NPS_GROUPS as NPS_GROUPS
from ._common import NPS_SCALE as NPS_SCALE
from ._common import QUESTION_TYPES as QUESTION_TYPES
from .retention import nps_group, retention_by_survey_group
from .scores import ces, csat, nps
from .summary import survey_summary

__all__ = ["ces", "csat", "nps", "nps_group", "retention_by_survey_group", "survey_summary"]
