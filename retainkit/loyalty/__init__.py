"""Loyalty-program ROI: planned scenarios and lift measured from data.

Implements definitions §6 ("Loyalty-program ROI"):

* :func:`scenario_roi` -- planned ROI of a programme from explicit assumptions
  (members, baseline retention and spend, expected lifts, margin, reward
  economics, costs, fee, horizon, discount rate), as a period-by-period table
  plus ROI, NPV, payback period and the break-even retention lift.
  :data:`PRESETS` holds illustrative starting points for four programme types.
* :func:`measure_program_lift` -- the lift a programme (or any retention
  initiative with a known start date per customer) actually produced, from a
  transaction log: difference in differences against comparison customers
  matched on pre-join activity, or the plain treated-vs-holdout difference for
  a randomised holdout, with bootstrap 95 % intervals. The naive
  members-vs-others gap is returned next to a warning that members
  self-select.
* :func:`simulate_program` -- seeded synthetic logs with a known true lift,
  with or without self-selection, to check the estimator (and for teaching);
  it lives with the other generators in :mod:`retainkit.datasets`.

Modules: :mod:`~retainkit.loyalty.scenario` (planned ROI, on the parameters and
presets of :mod:`~retainkit.loyalty.parameters`),
:mod:`~retainkit.loyalty.measured` (measured lift: options and the activity
panel of :mod:`~retainkit.loyalty.panel`, then the design of
:mod:`~retainkit.loyalty.did` or :mod:`~retainkit.loyalty.randomized`; results
and bootstrap in :mod:`~retainkit.loyalty.result`).
"""

from __future__ import annotations

from ..datasets import simulate_program
from .measured import measure_program_lift
from .parameters import PARAMETERS, PRESETS, preset_parameters
from .result import NAIVE_WARNING, ProgramLift
from .scenario import TABLE_COLUMNS, ScenarioResult, break_even_retention_lift, scenario_roi, sensitivity

__all__ = [
    "NAIVE_WARNING",
    "PARAMETERS",
    "PRESETS",
    "TABLE_COLUMNS",
    "ProgramLift",
    "ScenarioResult",
    "break_even_retention_lift",
    "measure_program_lift",
    "preset_parameters",
    "scenario_roi",
    "sensitivity",
    "simulate_program",
]
