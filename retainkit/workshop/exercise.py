"""A workshop exercise, its tiered hints and the verdict of checking an answer.

:class:`Exercise` carries the question, the model answer (a callable), the
catalogue of known mistakes and the hints; :class:`CheckResult` is what
:func:`retainkit.workshop.check` returns and :class:`Hint` what
:func:`retainkit.workshop.hint` returns (:func:`hint_for`). The comparison
itself is in :mod:`retainkit.workshop.checking`.
"""

from __future__ import annotations

import html
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CheckResult", "Exercise", "Hint", "hint_for"]


# ============================================================================= results
@dataclass(frozen=True)
class CheckResult:
    """The verdict of :func:`retainkit.workshop.check` (displays as a coloured box in Jupyter).

    Attributes
    ----------
    exercise : str
        Exercise id, e.g. "02.3".
    status : {"correct", "wrong", "unanswered"}
    message : str
        What was found.
    hint : str
        What to think about next (empty when correct).
    model : str
        The model solution in code, shown once the answer is right.
    """

    exercise: str
    status: str
    message: str
    hint: str = ""
    model: str = ""

    @property
    def ok(self) -> bool:
        """True when the answer is right."""
        return self.status == "correct"

    @property
    def answered(self) -> bool:
        """True unless the answer is still None."""
        return self.status != "unanswered"

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        if self.status == "correct":
            head = f"✔ Exercise {self.exercise}: correct. {self.message}".rstrip()
            return head + (f"\n  Model solution: {self.model}" if self.model else "")
        if self.status == "unanswered":
            return f"… Exercise {self.exercise}: not answered yet. {self.message}".rstrip()
        return f"✘ Exercise {self.exercise}: not right yet. {self.message}".rstrip() + (
            f"\n  Hint: {self.hint}" if self.hint else ""
        )

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour, bg, icon, title = {
            "correct": ("#2e7d32", "#eef7ee", "✔", "correct"),
            "wrong": ("#c62828", "#fdeeee", "✘", "not right yet"),
            "unanswered": ("#6d6d6d", "#f4f4f4", "…", "not answered yet"),
        }[self.status]
        parts = [f"<b>{icon} Exercise {html.escape(self.exercise)}: {title}.</b> {html.escape(self.message)}"]
        if self.hint:
            parts.append(f"<br><b>Hint:</b> {html.escape(self.hint)}")
        if self.model and self.ok:
            parts.append(f"<br><b>Model solution:</b> <code>{html.escape(self.model)}</code>")
        return (
            f'<div class="retainkit-check" data-exercise="{html.escape(self.exercise)}" '
            f'data-status="{self.status}" style="border-left:4px solid {colour};background:{bg};'
            f'padding:6px 10px;margin:4px 0;color:#222">' + "".join(parts) + "</div>"
        )


@dataclass(frozen=True)
class Hint:
    """One tier of an exercise's hints (:func:`retainkit.workshop.hint`).

    Attributes
    ----------
    exercise : str
    level : int
        1 = the gentlest nudge.
    levels : int
        How many tiers the exercise has.
    text : str
    """

    exercise: str
    level: int
    levels: int
    text: str

    def __str__(self) -> str:
        more = (
            f' Still stuck? workshop.hint("{self.exercise}", {self.level + 1}).'
            if self.level < self.levels
            else " That is the last hint; ask your neighbour or the facilitator."
        )
        return f"Hint {self.level} of {self.levels} for exercise {self.exercise}: {self.text}{more}"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return (
            f'<div class="retainkit-hint" data-exercise="{html.escape(self.exercise)}" '
            f'data-level="{self.level}" style="border-left:4px solid #b08500;background:#fdf8e8;'
            f'padding:6px 10px;margin:4px 0;color:#222">{html.escape(str(self))}</div>'
        )


# ============================================================================= exercises
@dataclass(frozen=True)
class Exercise:
    """One workshop exercise.

    Attributes
    ----------
    id : str
        "NN.k".
    question : str
        The question, as in the notebook.
    kind : str
        How answers are compared: "rate" (fraction or percent), "percent"
        (a percent, or its fraction), "number", "numbers" (a sequence),
        "matrix" (cohorts x ages), "choice", "ids" (a set of customer ids),
        "cron", "date".
    expected : callable
        Computes the model answer (from the shared data and retainkit).
    hints : tuple of str
        Tiered hints, gentlest first; nudges, never the solution code.
    model : str
        Model solution in code, shown once the answer is right.
    mistakes : callable
        Returns ``[(wrong_value, feedback), ...]``: answers learners
        typically give, each with feedback that starts "If you ...".
    tol, rel : float
        Absolute (for rates: on the fraction) and relative tolerance.
    options : dict
        For "choice": accepted spelling -> canonical option.
    fields : tuple of str
        For "numbers" answers given as a dict: the keys in order.
    field_hints : tuple of str
        For "numbers": feedback per position, used when exactly that value is off.
    level : {"everyone", "pandas"}
        "pandas" marks exercises that need pandas beyond changing a number.
    """

    id: str
    question: str
    kind: str
    expected: Callable[[], Any]
    hints: tuple[str, ...]
    model: str = ""
    mistakes: Callable[[], list[tuple[Any, str]]] = field(default=lambda: [])
    tol: float = 1e-9
    rel: float = 0.0
    options: Mapping[str, str] = field(default_factory=dict)
    fields: tuple[str, ...] = ()
    field_hints: tuple[str, ...] = ()
    level: str = "everyone"

    @property
    def notebook(self) -> str:
        """ "NN" of the exercise id."""
        return self.id.split(".")[0]

    @property
    def hint(self) -> str:
        """The first-tier hint."""
        return self.hints[0]


def hint_for(ex: Exercise, level: int = 1) -> Hint:
    """Tier ``level`` of an exercise's hints (levels above the last give the last)."""
    if isinstance(level, bool) or not isinstance(level, numbers.Integral) or level < 1:
        raise ValueError(f"level={level!r} must be a whole number >= 1 (1 = the gentlest hint).")
    n = len(ex.hints)
    k = min(int(level), n)
    return Hint(ex.id, k, n, ex.hints[k - 1])
