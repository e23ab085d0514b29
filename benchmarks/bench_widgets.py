"""Interaction latency of the cohort explorer on a ~1M-row log.

What is timed (kernel side, no browser):

* load: ``load_transactions`` of the generated frame;
* build: ``CohortExplorer(tx)`` -- the once-per-load aggregation at the
  initial granularity (reduce, cohort counts split by every segment, CRR)
  plus the first view;
* first switch to another granularity (its aggregation, done once, cached);
* re-slice: ``compute_view()`` alone for each control change (the tables);
* interaction: setting the control's ``.value`` until the callback returns
  (re-slice + Altair spec of the visible chart + widget updates). The browser
  then draws the spec with vega-embed; that part is not in these figures.

Each interaction is repeated (toggling between two values) and the median and
maximum are reported. Usage::

    .venv/bin/python benchmarks/bench_widgets.py [--customers 250000] [--repeats 7]

Prints a Markdown table and writes it to benchmarks/results_widgets.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import retainkit as rk
from retainkit import widgets as wd
from retainkit.charts import embed

HERE = Path(__file__).resolve().parent


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=250_000)
    ap.add_argument("--periods", type=int, default=24)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out", type=Path, default=HERE / "results_widgets.md")
    args = ap.parse_args()

    embed.vega_loader_html()  # the Vega bundle is cached on disk after the first run; not an interaction
    t = time.perf_counter()
    frame = rk.datasets.make_transactions(n_customers=args.customers, periods=args.periods, seed=1).frame
    gen = time.perf_counter() - t
    rows = len(frame)
    t = time.perf_counter()
    tx = rk.load_transactions(frame, amount="amount", order_id="order_id", segments=["channel", "country", "is_member"])
    load = time.perf_counter() - t
    t = time.perf_counter()
    app = wd.CohortExplorer(tx)
    build = time.perf_counter() - t
    once = {}
    for f in ("W", "Q"):
        once[f] = timed(lambda: setattr(app.freq, "value", f))
        app.freq.value = "M"
    # bracket and CRR aggregates are built lazily on first use; warm them up (once per load)
    app.kind.value = "brackets"
    app.kind.value = "classic"

    scenarios = [
        ("retention kind: classic <-> unbounded", "kind", "unbounded", "classic"),
        ("retention kind: classic <-> brackets", "kind", "brackets", "classic"),
        ("metric: customers <-> cumulative revenue", "metric", "cum_revenue", "customers"),
        ("split by channel on / off", "split_by", "channel", ""),
        ("filter: country in {DE, FR} <-> all values", "filter_values", ("DE", "FR"), None),
        ("cohort range: last 12 <-> all", "cohort_range", None, None),
        ("min. cohort size 5000 <-> 0", "min_size", 5000, 0),
        ("intervals off / on", "intervals", False, True),
        ("granularity (cached): M <-> Q", "freq", "Q", "M"),
    ]
    results = []
    for label, name, a, b in scenarios:
        ctl = app.controls[name]
        if name == "filter_values":
            app.filter_by.value = "country"
            a, b = ("DE", "FR"), tuple(app.filter_values.options)
        if name == "cohort_range":
            n = len(ctl.options)
            a, b = (ctl.options[n - 12], ctl.options[-1]), (ctl.options[0], ctl.options[-1])
        inter, slice_ = [], []
        for i in range(args.repeats):
            value = a if i % 2 == 0 else b
            inter.append(timed(lambda: setattr(ctl, "value", value)))
            assert app.last_error is None, app.status.value
            slice_.append(timed(app.compute_view))
        ctl.value = b
        if name == "filter_values":
            app.filter_by.value = ""
        results.append((label, statistics.median(slice_), max(slice_), statistics.median(inter), max(inter)))

    lines = [
        "# Cohort explorer interaction latency (benchmarks/bench_widgets.py)",
        "",
        f"Log: retainkit.datasets.make_transactions({args.customers:,} customers, {args.periods} months, seed=1): "
        f"**{rows:,} rows**, 3 segment columns (channel x country x is_member). "
        f"Machine: {platform.machine()}, Python {platform.python_version()}; other jobs may have shared the 2 cores.",
        "",
        "Once per data load / granularity (aggregation):",
        "",
        "| step | seconds |",
        "|---|---|",
        f"| generate the log (not part of the app) | {gen:.1f} |",
        f"| load_transactions | {load:.2f} |",
        f"| build the explorer at M (reduce, cohort counts x segments, CRR, first view) | {build:.2f} |",
        f"| first switch to W (its aggregation, cached afterwards) | {once['W']:.2f} |",
        f"| first switch to Q | {once['Q']:.2f} |",
        "",
        f"Per control change (median / max of {args.repeats}, milliseconds). *Re-slice* = the tables "
        "(compute_view); *interaction* = the whole kernel-side callback, including the Altair spec of the "
        "visible chart; the browser then draws it with vega-embed.",
        "",
        "| control change | re-slice median | re-slice max | interaction median | interaction max |",
        "|---|---|---|---|---|",
    ]
    for label, sm, sx, im, ix in results:
        lines.append(f"| {label} | {sm * 1000:.0f} | {sx * 1000:.0f} | {im * 1000:.0f} | {ix * 1000:.0f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
