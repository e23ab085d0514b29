"""The explorer's numbers: counts aggregated once per granularity, re-sliced per control change.

The log is reduced once per granularity (:func:`retainkit.engine.reduce`) and
aggregated once into small dense tables split by *every* segment (cohort
counts, bracket counts, CRR counts, :class:`Cube`). A control change only
filters and sums those tables; summing counts over segments is exact because
each customer has exactly one acquisition segment (definitions §3, §4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from ..cohorts import (
    add_retention,
    average_curve,
    bracket_retention,
    cohort_counts,
    cohort_table_from_counts,
    explain_empty,
)
from ..engine import Activity, reduce
from ..exceptions import DataError, ParameterError
from ..inputs import Subscriptions, Transactions
from ..metrics import CRR_COLUMNS, crr_rates, crr_table
from ..periods import period_label, period_start
from ._common import MISSING


class Cube:
    """Counts of one aggregate as dense arrays: (segment combination, cell, ...) -> value.

    ``combos`` holds the segment labels of each combination (row). Filtering
    keeps combinations; splitting sums them per value of one segment column;
    both are exact for counts because a customer has one acquisition segment.
    """

    def __init__(
        self, frame: pd.DataFrame, segments: list[str], axes: list[tuple[str, np.ndarray]], values: list[str]
    ) -> None:
        self.segments = segments
        if segments:
            codes = frame.groupby(segments, sort=True, observed=True).ngroup().to_numpy()
            self.combos = (
                frame[segments]
                .assign(_g=codes)
                .drop_duplicates("_g")
                .sort_values("_g")
                .drop(columns="_g")
                .reset_index(drop=True)
            )
        else:
            codes = np.zeros(len(frame), dtype=np.int64)
            self.combos = pd.DataFrame(index=[0])
        shape = [len(self.combos)] + [len(labels) for _, labels in axes]
        flat = codes.astype(np.int64)
        for col, labels in axes:
            pos = np.searchsorted(labels, frame[col].to_numpy())
            flat = flat * len(labels) + pos
        self.arrays: dict[str, np.ndarray] = {}
        for v in values:
            arr = np.zeros(int(np.prod(shape)), dtype=np.float64)
            np.add.at(arr, flat, frame[v].to_numpy(dtype=np.float64))
            self.arrays[v] = arr.reshape(shape)

    def mask(self, column: str | None, keep: Sequence[str]) -> np.ndarray:
        if column is None:
            return np.ones(len(self.combos), dtype=bool)
        return self.combos[column].isin(list(keep)).to_numpy()

    def groups(self, split: str | None, mask: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Split value code of each kept combination, and the split values."""
        if split is None:
            return np.zeros(int(mask.sum()), dtype=np.int64), []
        codes, uniques = pd.factorize(self.combos.loc[mask, split], sort=True)
        return codes.astype(np.int64), [str(u) for u in uniques]

    def summed(
        self, name: str, mask: np.ndarray, group: np.ndarray, n_groups: int, sl: tuple[slice, ...] = ()
    ) -> np.ndarray:
        """Sum of array ``name`` over the kept combinations, per group: (groups, ...)."""
        arr = self.arrays[name][mask]
        if sl:
            arr = arr[(slice(None), *sl)]
        out = np.zeros((max(n_groups, 1), *arr.shape[1:]), dtype=np.float64)
        if len(arr):
            np.add.at(out, group, arr)
        return out


@dataclass
class Prepared:
    """Everything aggregated once per (data, freq): dense counts split by every segment."""

    freq: str
    act: Activity
    cohorts: np.ndarray  # period indices of the cohorts, sorted
    labels: np.ndarray  # their labels
    cube: Cube  # (combo, cohort, age)
    brackets: Cube | None = None  # (combo, cohort, bracket), lazily
    bracket_info: pd.DataFrame | None = None
    crr: Cube | None = None  # (combo, period), lazily
    crr_periods: pd.DataFrame | None = None
    crr_attrs: dict[str, Any] = field(default_factory=dict)


def seg_labels(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), MISSING).map(str)


class ExplorerViews:
    """The re-slicing half of :class:`~retainkit.widgets.CohortExplorer` (a mixin).

    Needs on ``self``: ``data``, ``segments``, ``window``, ``brackets``,
    ``_cache`` and the controls ``freq``, ``cohort_range``, ``filter_by``,
    ``filter_values``, ``split_by``, ``min_size``, ``kind``, ``metric``,
    ``intervals``.
    """

    if TYPE_CHECKING:  # provided by CohortExplorer and its controls (retainkit.widgets.controls)
        data: Transactions | Subscriptions
        segments: list[str]
        window: str | int
        brackets: list[tuple[int, ...]]
        _cache: dict[str, Prepared]
        freq: Any
        cohort_range: Any
        filter_by: Any
        filter_values: Any
        split_by: Any
        min_size: Any
        kind: Any
        metric: Any
        intervals: Any

    def prepared(self, freq: str | None = None) -> Prepared:
        """The per-granularity aggregates (cached): Activity and cohort counts split by every segment."""
        freq = freq or self.freq.value
        if freq not in self._cache:
            act = reduce(self.data, freq)
            counts = cohort_counts(act, by=list(self.segments))
            if counts.empty:
                explain_empty(act)
            for s in self.segments:
                counts[s] = seg_labels(counts[s])
            cohorts = np.sort(counts["_cohort"].unique().astype(np.int64))
            ages = np.arange(int(counts["age"].max()) + 1, dtype=np.int64)
            values = ["size", "size_complete", "active", "active_on_or_after"] + (
                ["revenue"] if "revenue" in counts.columns else []
            )
            cube = Cube(counts, list(self.segments), [("_cohort", cohorts), ("age", ages)], values)
            self._cache[freq] = Prepared(
                freq=freq,
                act=act,
                cohorts=cohorts,
                labels=np.asarray(period_label(cohorts, freq), dtype=object),
                cube=cube,
            )
        return self._cache[freq]

    def _brackets(self, prep: Prepared) -> Cube:
        if prep.brackets is None:
            given = cast(list[tuple[int, int]], self.brackets)  # as the user gave them; bracket_retention checks them
            b = bracket_retention(prep.act, given, prep.freq, by=list(self.segments) or None)
            for s in self.segments:
                b[s] = seg_labels(b[s])
            b["_cohort"] = b["cohort"].map(dict(zip(prep.labels, prep.cohorts))).astype("int64")
            info = pd.DataFrame(
                {
                    "bracket": [f"{lo}-{hi}" for lo, hi in self.brackets],
                    "age_from": [lo for lo, _ in self.brackets],
                    "age_to": [hi for _, hi in self.brackets],
                }
            )
            b["_b"] = b["bracket"].map({k: i for i, k in enumerate(info["bracket"])}).astype("int64")
            prep.brackets = Cube(
                b, list(self.segments), [("_cohort", prep.cohorts), ("_b", np.arange(len(info)))], ["size", "active"]
            )
            prep.bracket_info = info
        return prep.brackets

    def _crr(self, prep: Prepared) -> Cube:
        if prep.crr is None:
            c = crr_table(self.data, prep.freq, window=self.window, by=list(self.segments) or None)
            for s in self.segments:
                c[s] = seg_labels(c[s])
            periods = c.groupby(["period_start", "period"], sort=True)["window_covered"].all().reset_index()
            c["_p"] = np.searchsorted(periods["period_start"].to_numpy(), c["period_start"].to_numpy())
            prep.crr = Cube(
                c,
                list(self.segments),
                [("_p", np.arange(len(periods)))],
                ["start_customers", "end_customers", "new", "retained", "lost", "reactivated"],
            )
            prep.crr_periods = periods
            prep.crr_attrs = dict(c.attrs)
        return prep.crr

    @property
    def _filter_col(self) -> str | None:
        return self.filter_by.value or None

    @property
    def _split_col(self) -> str | None:
        return self.split_by.value or None

    def _selected_range(self, prep: Prepared) -> tuple[int, int]:
        i0, i1 = self.cohort_range.index
        return int(prep.cohorts[i0]), int(prep.cohorts[i1])

    def _segment_mask(self, frame: pd.DataFrame) -> np.ndarray:
        col = self._filter_col
        if col is None:
            return np.ones(len(frame), dtype=bool)
        return frame[col].isin(list(self.filter_values.value)).to_numpy()

    def compute_view(self) -> dict[str, pd.DataFrame]:
        """Re-slice the precomputed tables for the current control values (no chart, no display).

        Returns a dict with ``table``, ``pooled``, ``average``, ``crr`` (see the
        class docstring); also stored on the app.
        """
        prep = self.prepared()
        if self._filter_col is not None and not self.filter_values.value:
            raise ParameterError(f"no value of '{self._filter_col}' is selected under Keep; select at least one.")
        i0, i1 = self.cohort_range.index
        split = self._split_col
        cube = prep.cube
        mask = cube.mask(self._filter_col, self.filter_values.value)
        sl = (slice(i0, i1 + 1),)
        pooled_sums = {k: cube.summed(k, mask, np.zeros(int(mask.sum()), np.int64), 1, sl) for k in cube.arrays}
        keep_pooled = self._big_enough(pooled_sums["size"])
        pooled = self._cohort_frame(prep, pooled_sums, keep_pooled, None, [], i0)
        if pooled.empty:
            need = (
                f"no cohort with at least {self.min_size.value:,} customers. Lower the minimum cohort size or "
                "widen the selection."
                if self.min_size.value > 1
                else "no customer. Widen the selection."
            )
            raise DataError(f"no cohort is left: {self._describe_selection()} has {need}")
        if split:
            group, names = cube.groups(split, mask)
            sums = {k: cube.summed(k, mask, group, len(names), sl) for k in cube.arrays}
            keep = self._big_enough(sums["size"])
            table = self._cohort_frame(prep, sums, keep, split, names, i0)
        else:
            sums, keep, names, table = pooled_sums, keep_pooled, [], pooled
        average = self._average_frame(table)
        kind = self.kind.value if self.metric.value == "customers" else "classic"
        view = self._bracket_frame(prep, split, i0, i1, keep) if kind == "brackets" else table
        crr = self._crr_view(prep, i0, i1)
        if not self.intervals.value:
            view = view.drop(columns=[x for x in view.columns if x.endswith(("_lo", "_hi"))])
        self.table, self.pooled, self.average, self.crr = view, pooled, average, crr
        return {"table": view, "pooled": pooled, "average": average, "crr": crr}

    def _big_enough(self, size: np.ndarray) -> np.ndarray:
        """(groups, cohorts) mask of cohorts with at least min_size customers (size at age 0)."""
        return size[:, :, 0] >= max(self.min_size.value, 1)

    def _cohort_frame(
        self,
        prep: Prepared,
        sums: dict[str, np.ndarray],
        keep: np.ndarray,
        split: str | None,
        names: list[str],
        i0: int,
    ) -> pd.DataFrame:
        """The cohort_table frame (definitions §3) of the summed dense counts, finished by the library."""
        size = sums["size"]
        observed = (size > 0) & keep[:, :, None]
        gi, ci, ki = np.nonzero(observed)
        counts: dict[str, Any] = {}
        if split:
            counts[split] = np.asarray(names, dtype=object)[gi] if len(gi) else np.array([], dtype=object)
        counts["_cohort"] = prep.cohorts[ci + i0]
        counts["age"] = ki.astype(np.int64)
        for name in ("size", "size_complete", "active", "active_on_or_after"):
            counts[name] = sums[name][gi, ci, ki].astype(np.int64)
        if "revenue" in sums:
            counts["revenue"] = sums["revenue"][gi, ci, ki]
        return cohort_table_from_counts(pd.DataFrame(counts), prep.act, [split] if split else [])

    def _average_frame(self, table: pd.DataFrame) -> pd.DataFrame:
        """average_curve of the view (definitions §3): size-weighted over observed, complete cells."""
        return average_curve(table)

    def _bracket_frame(self, prep: Prepared, split: str | None, i0: int, i1: int, keep: np.ndarray) -> pd.DataFrame:
        """Bracket retention (definitions §3) for the selection, shaped like bracket_retention()."""
        cube = self._brackets(prep)
        mask = cube.mask(self._filter_col, self.filter_values.value)
        group, names = cube.groups(split, mask)
        if split:  # align split values with the cohort view's (same labels, maybe fewer)
            _, all_names = prep.cube.groups(split, prep.cube.mask(self._filter_col, self.filter_values.value))
            remap = np.array([all_names.index(nm) for nm in names], dtype=np.int64) if names else np.zeros(0, np.int64)
            group, names = remap[group] if len(group) else group, all_names
        n_groups = max(len(names), 1)
        sl = (slice(i0, i1 + 1),)
        size = cube.summed("size", mask, group, n_groups, sl)
        active = cube.summed("active", mask, group, n_groups, sl)
        size = size * keep[: size.shape[0], :, None]
        gi, ci, bi = np.nonzero(size > 0)
        n, a = size[gi, ci, bi], active[gi, ci, bi]
        info = prep.bracket_info
        assert info is not None  # set with prep.brackets
        cols: dict[str, Any] = {}
        if split:
            cols[split] = np.asarray(names, dtype=object)[gi]
        cohort_idx = ci + i0
        cols["cohort"] = prep.labels[cohort_idx]
        cols["cohort_start"] = period_start(prep.cohorts[cohort_idx], prep.freq) if len(gi) else pd.DatetimeIndex([])
        cols["bracket"] = info["bracket"].to_numpy()[bi]
        cols["age_from"] = info["age_from"].to_numpy()[bi]
        cols["age_to"] = info["age_to"].to_numpy()[bi]
        cols["size"] = n.astype(np.int64)
        cols["active"] = a.astype(np.int64)
        out = add_retention(pd.DataFrame(cols))
        out.attrs.update(
            {
                "freq": prep.freq,
                "as_of": str(prep.act.as_of),
                "tz": prep.act.tz,
                "by": [split] if split else [],
                "kind": "brackets",
            }
        )
        return out

    def _crr_view(self, prep: Prepared, i0: int, i1: int) -> pd.DataFrame:
        """CRR (definitions §4) of the filtered customers, periods from the first selected cohort on.

        Split: one row per (segment, period), the segment column first, as
        ``crr_table(..., by=split)`` returns it (a customer's segment is the
        one of their first purchase, so the segments' counts sum to the pooled ones).
        """
        cube = self._crr(prep)
        periods = prep.crr_periods
        assert periods is not None  # set with prep.crr
        split = self._split_col
        mask = cube.mask(self._filter_col, self.filter_values.value)
        group, names = cube.groups(split, mask)
        n = max(len(names), 1)
        sums = {k: cube.summed(k, mask, group, n).astype(np.int64) for k in cube.arrays}
        frames = []
        for gi in range(n):
            g = periods[["period", "period_start"]].copy()
            for k, v in sums.items():
                g[k] = v[gi]
            if split:
                g.insert(0, split, names[gi])
            g["window_covered"] = periods["window_covered"].to_numpy()
            frames.append(g)
        g = crr_rates(pd.concat(frames, ignore_index=True))
        start = period_start(prep.cohorts[i0], prep.freq)
        g = g[g["period_start"] >= start].reset_index(drop=True)
        g = g[([split] if split else []) + CRR_COLUMNS]
        g.attrs.update(prep.crr_attrs)
        g.attrs["by"] = [split] if split else []
        return g

    def _describe_selection(self) -> str:
        parts = [f"cohorts {self.cohort_range.value[0]} to {self.cohort_range.value[1]}"]
        if self._filter_col is not None:
            vals = ", ".join(self.filter_values.value) or "nothing"
            parts.append(f"{self._filter_col} in [{vals}]")
        return "the selection (" + "; ".join(parts) + ")"


__all__ = ["Cube", "ExplorerViews", "Prepared", "seg_labels"]
