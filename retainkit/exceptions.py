"""Exception hierarchy: one type per failure kind.

``RetainkitError`` is the base; catch it to catch everything retainkit raises on
purpose. Messages always say what was wrong, where (column, row, value) and how
to fix it.
"""

from __future__ import annotations


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


__all__ = ["ConvergenceError", "DataError", "ParameterError", "ReportError", "RetainkitError"]
