"""Exception hierarchy: one type per failure kind.

``RetainkitError`` is the base; catch it to catch everything retainkit raises on
purpose. Messages always say what was wrong, where (column, row, value) and how
to fix it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class RetainkitError(Exception):
    """Base class of every error retainkit raises on purpose."""


class DataError(RetainkitError, ValueError):
    """The input data cannot be analysed as given (missing column, no usable rows, ...)."""


class ParameterError(RetainkitError, ValueError):
    """A function argument or report parameter is invalid."""


class ConvergenceError(RetainkitError, RuntimeError):
    """A model fit did not converge; the message says what to try."""


class ReportError(RetainkitError, RuntimeError):
    """A report run failed; the executed notebook is kept next to the error."""


class HistoryError(DataError):
    """Closed periods differ from the previous report of the schedule beyond the tolerance (exit code 4).

    Attributes
    ----------
    changes : list
        The :class:`~retainkit.report.history.HistoryChange` items (period,
        figure, now, then).
    """

    def __init__(self, message: str, *, changes: Sequence[object] = ()) -> None:
        super().__init__(message)
        self.changes = list(changes)


class ReportRunError(ReportError):
    """A report run failed around the notebook's code: a cell timed out, or the kernel died.

    Attributes
    ----------
    status : str
        How the run ended, as the run record and the index say it
        (``"timed out"``, ``"failed"``).
    notebook, html : Path or None
        The kept executed notebook and its readable HTML export, if any.
    """

    def __init__(
        self, message: str, *, status: str = "failed", notebook: Path | None = None, html: Path | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.notebook = notebook
        self.html = html


class ReportExecutionError(ReportError):
    """A cell of the report notebook raised; the executed notebook is kept.

    Attributes
    ----------
    cell : int or None
        Number of the failed cell among the notebook's own code cells (the
        injected parameters cell not counted); None when unknown.
    ename, evalue : str
        The error's class name and message inside the kernel.
    notebook, html : Path or None
        The kept executed notebook (``retention-report.FAILED.ipynb``) and its
        readable HTML export (with code); None when they could not be written.
    traceback : list of str
        The kernel's traceback lines (may contain ANSI colour codes).
    """

    def __init__(
        self,
        message: str,
        *,
        cell: int | None = None,
        ename: str = "",
        evalue: str = "",
        notebook: Path | None = None,
        html: Path | None = None,
        traceback: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.cell = cell
        self.ename = ename
        self.evalue = evalue
        self.notebook = notebook
        self.html = html
        self.traceback = list(traceback)


__all__ = [
    "ConvergenceError",
    "DataError",
    "HistoryError",
    "ParameterError",
    "ReportError",
    "ReportExecutionError",
    "ReportRunError",
    "RetainkitError",
]
