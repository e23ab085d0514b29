"""Deprecated spellings, kept working for one release with a DeprecationWarning naming the new one.

Every rename is listed in CHANGELOG.md.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pandas as pd

from .exceptions import ParameterError

F = TypeVar("F", bound=Callable[..., Any])


def warn_renamed(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that ``old`` is a deprecated spelling of ``new``."""
    warnings.warn(
        f"{old} is deprecated and will be removed in the next release; use {new} instead.",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def renamed_kwargs(**renames: str) -> Callable[[F], F]:
    """Accept the old keyword names given as ``old="new"``, with a warning.

    Passing both spellings is a :class:`ParameterError`.
    """

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise ParameterError(f"pass {new}= only: {old}= is its deprecated spelling.")
                    warn_renamed(f"{func.__name__}({old}=...)", f"{new}=")
                    kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def module_getattr(module: str, aliases: Mapping[str, tuple[str, Any]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) serving deprecated names: ``{old: (new name, object)}``."""

    def __getattr__(name: str) -> Any:
        if name in aliases:
            new, obj = aliases[name]
            warn_renamed(f"{module}.{name}", f"{module}.{new}")
            return obj
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__


def renamed_attribute(owner: str, old: str, new: str) -> property:
    """A read-only property ``old`` returning attribute ``new``, with a warning (``owner`` names the class)."""

    def get(self: Any) -> Any:
        warn_renamed(f"{owner}.{old}", f"{owner}.{new}")
        return getattr(self, new)

    return property(get, doc=f"Deprecated spelling of ``{new}`` (removed in the next release).")


class _LegacySummary(pd.DataFrame):
    """A tidy ``metric``/``value`` frame that still answers the old ``summary["name"]`` look-up, with a warning.

    Derived frames (``.copy()``, slices, ``set_index``) are plain DataFrames.
    """

    _metadata = ["_legacy", "_legacy_owner"]

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    def _legacy_value(self, key: Any) -> tuple[bool, Any]:
        legacy = getattr(self, "_legacy", None)
        if legacy is None or not isinstance(key, str) or key in self.columns or key not in legacy:
            return False, None
        owner = getattr(self, "_legacy_owner", "result")
        warn_renamed(f"{owner}.summary[{key!r}]", f"{owner}.metrics[{key!r}]", stacklevel=4)
        return True, legacy[key]

    def __getitem__(self, key: Any) -> Any:
        found, value = self._legacy_value(key)
        return value if found else super().__getitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        found, value = self._legacy_value(key)
        return value if found else super().get(key, default)


def legacy_summary(frame: pd.DataFrame, metrics: Mapping[str, Any], owner: str) -> pd.DataFrame:
    """``frame`` (a result's new ``.summary``) answering the old ``summary["name"]`` look-up for one release.

    ``summary["roi"]`` and ``summary.get("roi")``, for a name that is no column
    of ``frame`` but a key of ``metrics`` (the dict or Series ``.summary`` used
    to be), return ``metrics["roi"]`` with a DeprecationWarning naming
    ``<owner>.metrics["roi"]``.
    """
    out = _LegacySummary(frame)
    out._legacy = dict(metrics)
    out._legacy_owner = owner
    return out


def metrics_summary(metrics: Mapping[str, Any], owner: str) -> pd.DataFrame:
    """``metrics`` as a tidy frame (``metric``, ``value``) for a result's ``.summary`` (see :func:`legacy_summary`)."""
    return legacy_summary(pd.DataFrame({"metric": list(metrics), "value": list(metrics.values())}), metrics, owner)
