"""Benchmarks: retainkit against the tools analysts use (``make bench``).

Every contender runs in its own process on the same seeded Parquet log
(benchmarks/datagen.py), so its peak memory (the process's peak resident set,
``VmHWM``, Python and imports included) is its own. Wall time is the best of
``--repeat`` runs after one warm-up run; the median is reported next to it.
Loading and computing are timed apart and together. All contenders of a task
must return the same numbers (on the columns they compute), or the run fails.

Logs (each at every size): ``ordered`` (time-ordered, ids in order of arrival)
and ``shuffled`` (random row order, sparse ids), each with integer and with
string ids; their shape is printed in results.md.

Tasks:

- ``cohort``: monthly cohorts x ages (definitions §3). retainkit end to end
  from Parquet (default engine, and polars / DuckDB chosen explicitly) and from
  a pandas DataFrame already in memory (``load_transactions(df)`` then
  ``cohort_table``); the peers of benchmarks/peers.py, each counts-only and for
  the same table (active + revenue): the tutorial pandas recipe (reading the
  Parquet file timed apart, so it serves both paths), polars, DuckDB.
- ``crr``: ``crr_table`` for 36 monthly periods (90-day window, definitions
  §4), from Parquet and from a DataFrame, against a pandas loop over periods.
- ``again``: a second question on the same loaded data (another freq, a
  retention matrix of another kind, a ``by=`` split, CRR) after the first
  ``cohort_table``.

Writes benchmarks/results.md (machine, log shapes, tables, target checks).
Usage: ``python benchmarks/run.py [--sizes 1e7,5e7] [--repeat 3] [--logs ordered-int,...] [--only NAMES]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

AS_OF = "2023-12-31"
LOGS = ("ordered-int", "shuffled-int", "ordered-str", "shuffled-str")


#: contender -> (task, form, description); form: "table" (active + revenue), "counts" (active only)
CONTENDERS: dict[str, tuple[str, str, str]] = {
    "retainkit": ("cohort", "table", "load_transactions(path) + cohort_table (default engine)"),
    "retainkit polars": ("cohort", "table", "load_transactions(path, backend='polars') + cohort_table"),
    "retainkit duckdb": ("cohort", "table", "load_transactions(path, backend='duckdb') + cohort_table"),
    "retainkit DataFrame": ("cohort", "table", "load_transactions(df) + cohort_table, df in memory"),
    "tutorial counts": ("cohort", "counts", "pandas: to_period('M'), transform('min'), nunique, pivot"),
    "tutorial table": ("cohort", "table", "pandas: the recipe extended to active + revenue"),
    "polars counts": ("cohort", "counts", "polars lazy: min().over(customer), n_unique"),
    "polars table": ("cohort", "table", "polars lazy: first month by group_by + join, n_unique + sum"),
    "duckdb counts": ("cohort", "counts", "DuckDB SQL: GROUP BY (customer, month), join first month, count"),
    "duckdb table": ("cohort", "table", "DuckDB SQL: same with bought flag and revenue per (customer, month)"),
    "retainkit crr": ("crr", "crr", "load_transactions(path) + crr_table (default engine)"),
    "retainkit crr DataFrame": ("crr", "crr", "load_transactions(df) + crr_table, df in memory"),
    "pandas loop": ("crr", "crr", "pandas: per month, sets of customers in the trailing 90 days"),
    "retainkit again": ("again", "again", "load_transactions(path, segments=...) + 5 questions"),
    "retainkit again DataFrame": ("again", "again", "load_transactions(df, segments=...) + 5 questions"),
}
#: contenders that need the whole log as pandas objects several times over: one cold run at 50M rows
HEAVY = (
    "tutorial counts",
    "tutorial table",
    "pandas loop",
    "retainkit DataFrame",
    "retainkit crr DataFrame",
    "retainkit again DataFrame",
)
#: contenders run at 50M rows (the others answer the same questions at 10M)
AT_50M = (
    "retainkit",
    "retainkit polars",
    "retainkit duckdb",
    "polars counts",
    "polars table",
    "duckdb counts",
    "duckdb table",
    "tutorial counts",
    "retainkit crr",
    "retainkit again",
)


# --------------------------------------------------------------------------- worker side
def _cohort_result(table):
    import pandas as pd

    from retainkit.periods import parse_period_label

    out = pd.DataFrame(
        {
            "cohort": [parse_period_label(c, "M") for c in table["cohort"]],
            "age": table["age"].astype("int64"),
            "active": table["active"].astype("int64"),
            "revenue": table["revenue"].astype("float64"),
        }
    )
    return out.sort_values(["cohort", "age"]).reset_index(drop=True)


def _clock():
    return time.perf_counter()


def run_contender(name: str, path: str, state: dict) -> tuple[dict, object]:
    """Run one contender once: ({phase: seconds}, small result frame). ``state`` survives repetitions."""
    import pandas as pd
    import peers

    def frame():
        if "df" not in state:  # read once per process, outside the timed phases (the frame is "in memory")
            t = _clock()
            state["df"] = pd.read_parquet(path, columns=peers.COLUMNS + (["channel"] if "again" in name else []))
            state["read"] = _clock() - t
        return state["df"]

    if name.startswith("retainkit"):
        import retainkit as rk

        segments = "channel" if "again" in name else ()
        if "DataFrame" in name:
            df = frame()
            t0 = _clock()
            tx = rk.load_transactions(df, amount="amount", as_of=AS_OF, segments=segments)
        else:
            t0 = _clock()
            backend = name.split()[-1] if name.split()[-1] in ("polars", "duckdb") else None
            tx = rk.load_transactions(path, amount="amount", as_of=AS_OF, segments=segments, backend=backend)
        t1 = _clock()
        if " crr" in name:
            table = rk.crr_table(tx, "M", window="90D")
            t2 = _clock()
            result = table[["period", "start_customers", "end_customers", "retained"]].reset_index(drop=True)
            return {"load": t1 - t0, "compute": t2 - t1, "total": t2 - t0}, result
        table = rk.cohort_table(tx, "M")
        t2 = _clock()
        times = {"load": t1 - t0, "compute": t2 - t1, "total": t2 - t0}
        if "again" in name:
            for label, question in [
                ("freq W", lambda: rk.cohort_table(tx, "W")),
                ("freq Q", lambda: rk.cohort_table(tx, "Q")),
                ("kind unbounded", lambda: rk.retention_matrix(rk.cohort_table(tx, "M"), "unbounded")),
                ("by channel", lambda: rk.cohort_table(tx, "M", by="channel")),
                ("crr", lambda: rk.crr_table(tx, "M")),
            ]:
                t = _clock()
                question()
                times[label] = _clock() - t
        t = _clock()
        tx.summary  # noqa: B018 - reading the summary (computed on first access for lazy engines)
        times["summary"] = _clock() - t
        return times, _cohort_result(table)
    if name.startswith("tutorial") or name == "pandas loop":
        t0 = _clock()
        df = pd.read_parquet(path, columns=peers.COLUMNS)
        t1 = _clock()
        fn = {
            "tutorial counts": peers.tutorial_counts,
            "tutorial table": peers.tutorial_table,
            "pandas loop": lambda d: peers.crr_loop(d, 90),
        }[name]
        result = fn(df)
        t2 = _clock()
        return {"read": t1 - t0, "compute": t2 - t1, "total": t2 - t0}, result
    fn = {
        "polars counts": peers.polars_counts,
        "polars table": peers.polars_table,
        "duckdb counts": peers.duckdb_counts,
        "duckdb table": peers.duckdb_table,
    }[name]
    t0 = _clock()
    result = fn(path)
    return {"total": _clock() - t0}, result


def worker(name: str, path: str, repeat: int, warmup: bool, out: str) -> None:
    state: dict = {}
    if warmup:
        run_contender(name, path, state)
    runs, result = [], None
    for _ in range(max(repeat, 1)):
        times, result = run_contender(name, path, state)
        runs.append(times)
    result.to_pickle(out)
    info = {"runs": runs, "peak_bytes": _peak_rss()}
    if "read" in state:
        info["frame_read"] = state["read"]
    print(json.dumps(info))


def _peak_rss() -> int:
    """Peak resident set of this process since exec, in bytes (VmHWM; ru_maxrss survives exec on Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# --------------------------------------------------------------------------- driver side
def _run_worker(name: str, path: Path, repeat: int, warmup: bool, timeout: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.pkl")
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            name,
            str(path),
            str(repeat),
            "1" if warmup else "0",
            out,
        ]
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            return {"name": name, "error": f"timed out after {timeout:.0f} s"}
        if proc.returncode != 0:
            return {"name": name, "error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        import pandas as pd

        info["result"] = pd.read_pickle(out)
        info["name"] = name
        phases = info["runs"][0].keys()
        info["best"] = {p: min(r[p] for r in info["runs"]) for p in phases}
        info["median"] = {p: statistics.median(r[p] for r in info["runs"]) for p in phases}
        return info


def _comparable(frame, form: str):
    """Cells without any buyer exist only in retainkit's table (observed, 0 active): drop them."""
    if "revenue" in frame.columns and form == "table":
        return frame.loc[(frame["active"] != 0) | (frame["revenue"] != 0)].reset_index(drop=True)
    frame = frame.loc[frame["active"] != 0, ["cohort", "age", "active"]]
    return frame.reset_index(drop=True)


def _agree(results: list[dict]) -> tuple[bool, str]:
    import pandas as pd

    ok = [r for r in results if "result" in r]
    if len(ok) < 2:
        return True, "fewer than two results"
    ref = ok[0]
    for r in ok[1:]:
        form = CONTENDERS[r["name"]][1]
        if form == "again":
            form = "table"
        a = _comparable(ref["result"], form) if form in ("table", "counts") else ref["result"]
        b = _comparable(r["result"], form) if form in ("table", "counts") else r["result"]
        try:
            pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, check_dtype=False)
        except AssertionError as exc:
            return False, f"{r['name']} differs from {ref['name']}: {str(exc).splitlines()[0]}"
    return True, f"all {len(ok)} identical"


def machine() -> dict[str, str]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kib / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    import duckdb
    import narwhals
    import numpy
    import pandas
    import polars
    import pyarrow

    import retainkit

    return {
        "cpu": f"{cpu} ({os.cpu_count()} logical cores)",
        "memory": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": ", ".join(
            f"{m.__name__} {m.__version__}" for m in (retainkit, pandas, numpy, polars, duckdb, narwhals, pyarrow)
        ),
    }


def _load_avg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e7,5e7", help="comma-separated row counts")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per contender (best and median kept)")
    parser.add_argument("--logs", default=",".join(LOGS), help=f"comma-separated logs out of {', '.join(LOGS)}")
    parser.add_argument("--logs-big", default="", help="logs run at 50M rows and more (default: the same as --logs)")
    parser.add_argument("--only", default="", help="comma-separated contender names (default: all)")
    parser.add_argument("--out", default=str(HERE / "results.md"))
    parser.add_argument("--json", default="", help="also write the raw timings here")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per contender process")
    args = parser.parse_args(argv)
    sizes = [int(float(s)) for s in args.sizes.split(",") if s]
    logs = [g for g in args.logs.split(",") if g]
    logs_big = [g for g in args.logs_big.split(",") if g] or logs
    chosen = [c for c in CONTENDERS if not args.only or c in args.only.split(",")]
    started = time.strftime("%Y-%m-%d %H:%M")
    sections, shapes, raw = [], {}, []
    all_agree = True
    for n in sizes:
        big = n >= 50_000_000
        for log in logs_big if big else logs:
            shape, ids = log.split("-")
            # generate (or find) the log in a child process, so this driver stays small
            path = Path(
                subprocess.run(
                    [sys.executable, str(HERE / "datagen.py"), str(n), shape, ids],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            shapes[(n, log)] = _describe(path)
            for task in ("cohort", "crr", "again"):
                names = [c for c in chosen if CONTENDERS[c][0] == task and (not big or c in AT_50M)]
                if task != "cohort" and log not in ("ordered-int", "shuffled-int"):
                    names = [c for c in names if c in ("retainkit crr", "retainkit again")]
                if big and log.endswith("-str"):
                    names = [c for c in names if not c.startswith("tutorial")]
                if not names:
                    continue
                results = []
                for name in names:
                    heavy = big and name in HEAVY
                    load_start = _load_avg()
                    print(f"[{n:,} rows, {log}] {name} ... (load {load_start})", file=sys.stderr, flush=True)
                    r = _run_worker(name, path, 1 if heavy else args.repeat, not heavy, args.timeout)
                    r["load_avg"] = f"{load_start.split()[0]} / {_load_avg().split()[0]}"
                    print(f"    {r.get('best', r.get('error'))}", file=sys.stderr, flush=True)
                    results.append(r)
                    raw.append({k: v for k, v in r.items() if k != "result"} | {"rows": n, "log": log, "task": task})
                agree, how = _agree(results)
                all_agree &= agree
                sections.append((n, log, task, results, agree, how))
        text = _write(started, shapes, sections, all_agree, args, raw)  # after each size: a partial run still counts
    print(text)
    return 0 if all_agree else 1


def _write(started, shapes, sections, all_agree, args, raw) -> str:
    if args.json:
        Path(args.json).write_text(json.dumps(raw, indent=1), encoding="utf-8")
    import report_md

    text = report_md.render(started, machine(), shapes, sections, all_agree, args, CONTENDERS)
    out = Path(args.out)
    if out.exists():  # the PostgreSQL and report sections come from their own scripts: kept
        kept = report_md.sections_of(out.read_text(encoding="utf-8"), report_md.OTHER_SECTIONS)
        text = "\n".join([text.rstrip() + "\n", *kept])
    out.write_text(text, encoding="utf-8")
    return text


def _describe(path: Path) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys, json; sys.path.insert(0, {str(HERE)!r}); import datagen; "
            f"print(json.dumps(datagen.describe(__import__('pathlib').Path({str(path)!r}))))",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    info = json.loads(out.strip().splitlines()[-1])
    info["file_mb"] = path.stat().st_size / 1e6
    return info


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1", sys.argv[6])
        sys.exit(0)
    sys.exit(main())
