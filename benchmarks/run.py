"""Benchmarks: retainkit against the tools analysts use (``make bench``).

Every contender reads the same seeded Parquet log (benchmarks/datagen.py) and
runs in its own process, so peak memory (``ru_maxrss``) is its own. Wall time is
the best of ``--repeat`` runs after one warm-up (a single cold run at 50M rows).
All contenders of a task must return the same numbers, or the run fails.

Tasks:

- ``cohort``: monthly cohort x age distinct active customers and revenue
  (definitions §3): ``retainkit.cohort_table`` end to end (load + table) on each
  local engine, the tutorial pandas recipe, a hand-written DuckDB query and a
  hand-written polars query (benchmarks/peers.py).
- ``crr``: ``retainkit.crr_table`` for 36 monthly periods (90-day window,
  definitions §4) against a per-period pandas loop.

Writes benchmarks/results.md (machine, versions, tables, target checks).
Usage: ``python benchmarks/run.py [--sizes 1e6,1e7,5e7] [--repeat 3] [--out PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

AS_OF = "2023-12-31"

#: contender -> (task, description)
CONTENDERS: dict[str, tuple[str, str]] = {
    "retainkit (polars)": ("cohort", "cohort_table(load_transactions(path, backend='polars'))"),
    "retainkit (duckdb)": ("cohort", "cohort_table(load_transactions(path, backend='duckdb'))"),
    "retainkit (pandas)": ("cohort", "cohort_table(load_transactions(pd.read_parquet(path)))"),
    "tutorial pandas": ("cohort", "to_period('M'), groupby min, nunique, pivot"),
    "hand DuckDB SQL": ("cohort", "GROUP BY (customer, month), join first month, count"),
    "hand polars lazy": ("cohort", "min().over(customer), n_unique per (cohort, age)"),
    "retainkit crr (polars)": ("crr", "crr_table(load_transactions(path, backend='polars'))"),
    "retainkit crr (duckdb)": ("crr", "crr_table(load_transactions(path, backend='duckdb'))"),
    "retainkit crr (pandas)": ("crr", "crr_table(load_transactions(pd.read_parquet(path)))"),
    "pandas loop over periods": ("crr", "for each month: sets of customers in the trailing 90 days"),
}
HAND = ("hand DuckDB SQL", "hand polars lazy")
#: contenders skipped at 50M rows (they need the whole log as pandas objects several times over)
SKIP_AT_50M = (
    "retainkit (pandas)",
    "retainkit crr (pandas)",
    "pandas loop over periods",
    "retainkit crr (polars)",
    "retainkit crr (duckdb)",
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


def run_contender(name: str, path: str):
    """Run one contender once; returns a small pandas frame (for the agreement check)."""
    import pandas as pd
    import peers

    if name.startswith("retainkit"):
        import retainkit as rk

        engine = name[name.index("(") + 1 : -1]
        if engine == "pandas":
            source = pd.read_parquet(path, columns=peers.COLUMNS)
            tx = rk.load_transactions(source, amount="amount", as_of=AS_OF)
        else:
            tx = rk.load_transactions(path, amount="amount", as_of=AS_OF, backend=engine)
        if " crr " in name:
            t = rk.crr_table(tx, "M", window="90D")
            return t[["period", "start_customers", "end_customers", "retained"]].reset_index(drop=True)
        return _cohort_result(rk.cohort_table(tx, "M"))
    if name == "tutorial pandas":
        return peers.tutorial_pandas(path)
    if name == "hand DuckDB SQL":
        return peers.duckdb_sql(path)
    if name == "hand polars lazy":
        return peers.polars_lazy(path)
    if name == "pandas loop over periods":
        return peers.tutorial_crr_loop(path, 90)
    raise SystemExit(f"unknown contender {name!r}")


def worker(name: str, path: str, repeat: int, warmup: bool, out: str) -> None:
    times = []
    if warmup:
        run_contender(name, path)
    result = None
    for _ in range(max(repeat, 1)):
        t0 = time.perf_counter()
        result = run_contender(name, path)
        times.append(time.perf_counter() - t0)
    result.to_pickle(out)
    peak = _peak_rss()
    print(json.dumps({"times": times, "peak_bytes": peak}))


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
        info["best"] = min(info["times"])
        return info


def _comparable(frame):
    """Cohort cells without any row (active 0, revenue 0) exist only in retainkit's table: drop them."""
    if "revenue" in frame.columns:
        frame = frame.loc[(frame["active"] != 0) | (frame["revenue"] != 0)].reset_index(drop=True)
    return frame


def _agree(results: list[dict]) -> tuple[bool, str]:
    import pandas as pd

    ok = [dict(r, result=_comparable(r["result"])) for r in results if "result" in r]
    if len(ok) < 2:
        return True, "fewer than two results"
    ref = ok[0]
    for r in ok[1:]:
        try:
            pd.testing.assert_frame_equal(ref["result"], r["result"], check_exact=False, rtol=1e-9, check_dtype=False)
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


def _fmt_bytes(b: float) -> str:
    return f"{b / 2**30:.2f} GiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e6,1e7,5e7", help="comma-separated row counts")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per contender (best is kept)")
    parser.add_argument("--only", default="", help="comma-separated contender names (default: all)")
    parser.add_argument("--out", default=str(HERE / "results.md"))
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per contender process")
    args = parser.parse_args(argv)
    sizes = [int(float(s)) for s in args.sizes.split(",") if s]
    chosen = [c for c in CONTENDERS if not args.only or c in args.only.split(",")]
    started = time.strftime("%Y-%m-%d %H:%M")
    sections = []
    checks = []
    all_agree = True
    for n in sizes:
        # generate (or find) the log in a child process, so this driver stays small
        path = Path(
            subprocess.run(
                [sys.executable, str(HERE / "datagen.py"), str(n)], check=True, capture_output=True, text=True
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        big = n >= 50_000_000
        for task in ("cohort", "crr"):
            names = [c for c in chosen if CONTENDERS[c][0] == task and not (big and c in SKIP_AT_50M)]
            if not names:
                continue
            results = []
            for name in names:
                print(f"[{n:,} rows] {name} ...", file=sys.stderr, flush=True)
                r = _run_worker(name, path, 1 if big else args.repeat, not big, args.timeout)
                print(f"    {r.get('best', r.get('error'))}", file=sys.stderr, flush=True)
                results.append(r)
            agree, how = _agree(results)
            all_agree &= agree
            sections.append((n, task, results, agree, how))
            checks += _targets(n, task, results)
    text = _report(started, machine(), sections, checks, all_agree, args)
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    return 0 if all_agree else 1


def _by(results: list[dict]) -> dict[str, dict]:
    return {r["name"]: r for r in results if "best" in r}


def _targets(n: int, task: str, results: list[dict]) -> list[tuple[str, str, bool]]:
    r = _by(results)
    out = []
    rk_names = [k for k in r if k.startswith("retainkit (") and k != "retainkit (pandas)"]
    if task == "cohort" and n == 10_000_000 and rk_names and "tutorial pandas" in r:
        best_rk = min(rk_names, key=lambda k: r[k]["best"])
        ratio = r["tutorial pandas"]["best"] / r[best_rk]["best"]
        out.append((f"10M rows: {best_rk} vs tutorial recipe", f"{ratio:.1f}x faster (target >= 5x)", ratio >= 5))
        hands = [h for h in HAND if h in r]
        if hands:
            fastest = min(hands, key=lambda k: r[k]["best"])
            rel = r[best_rk]["best"] / r[fastest]["best"]
            out.append(
                (
                    f"10M rows: {best_rk} vs fastest hand-written ({fastest})",
                    f"{rel:.2f}x its time (target <= 1.2x)",
                    rel <= 1.2,
                )
            )
    if task == "cohort" and n >= 50_000_000 and rk_names:
        hands = [h for h in HAND if h in r]
        if hands:
            leaner = min(hands, key=lambda k: r[k]["peak_bytes"])
            best_rk = min(rk_names, key=lambda k: r[k]["peak_bytes"])
            rel = r[best_rk]["peak_bytes"] / r[leaner]["peak_bytes"]
            out.append(
                (
                    f"{n // 1_000_000}M rows from Parquet: peak memory of {best_rk} vs {leaner}",
                    f"{rel:.2f}x (target <= 1.2x)",
                    rel <= 1.2,
                )
            )
    if task == "crr" and n == 10_000_000 and "pandas loop over periods" in r:
        crr_names = [k for k in r if k.startswith("retainkit crr")]
        if crr_names:
            best = min(crr_names, key=lambda k: r[k]["best"])
            ratio = r["pandas loop over periods"]["best"] / r[best]["best"]
            out.append(
                (
                    f"10M rows, 36 monthly periods: {best} vs pandas loop",
                    f"{ratio:.1f}x faster (target >= 5x)",
                    ratio >= 5,
                )
            )
    return out


def _report(started, info, sections, checks, all_agree, args) -> str:
    lines = [
        "# retainkit benchmarks",
        "",
        f"Run {started} with `python benchmarks/run.py --sizes {args.sizes} --repeat {args.repeat}`"
        " (`make bench`). Each contender runs in its own process on the same seeded Parquet log"
        " (benchmarks/datagen.py: 36 months, rows/10 customers, 2 % refunds); time is the best of"
        f" {args.repeat} runs after a warm-up (one cold run at 50M rows), end to end from the Parquet"
        " file; memory is the process's peak resident set (Python and imports included).",
        "",
        "## Machine",
        "",
        *[f"- {k}: {v}" for k, v in info.items()],
        "",
        "## Targets",
        "",
        "| check | measured | met |",
        "|---|---|---|",
        *[f"| {a} | {b} | {'yes' if ok else 'NO'} |" for a, b, ok in checks],
        "",
        f"All contenders of each task returned identical numbers: {'yes' if all_agree else 'NO'}.",
        "",
        "Without `backend=`, `load_transactions(path)` scans Parquet with polars up to 20M rows and with"
        " DuckDB above (the fastest and the leanest engine in these tables). Up to 25M rows"
        " (`retainkit.backends.LOCAL_REDUCE_MAX_ROWS`) the engine hands only customer id, day and amount"
        " of the kept rows to retainkit's numpy reduction; above, the whole aggregation stays in the engine"
        " (the 50M-row figures).",
        "",
    ]
    for n, task, results, agree, how in sections:
        title = (
            "cohort table (monthly cohorts x ages: active, revenue)"
            if task == "cohort"
            else "CRR, 36 monthly periods, 90-day window"
        )
        lines += [
            f"## {n:,} rows: {title}",
            "",
            "| contender | what | best wall time | peak memory | agreement |",
            "|---|---|---|---|---|",
        ]
        fastest = min((r["best"] for r in results if "best" in r), default=None)
        for r in results:
            what = CONTENDERS[r["name"]][1]
            if "best" in r:
                rel = f" ({r['best'] / fastest:.1f}x)" if fastest and r["best"] != fastest else " (fastest)"
                lines.append(
                    f"| {r['name']} | {what} | {r['best']:.2f} s{rel} | {_fmt_bytes(r['peak_bytes'])} |"
                    f" {'ok' if agree else 'DIFFERS'} |"
                )
            else:
                lines.append(f"| {r['name']} | {what} | {r['error']} | | |")
        lines += ["", f"Agreement: {how}.", ""]
    skipped = ", ".join(SKIP_AT_50M)
    lines += ["At 50M rows only the Parquet-scanning engines run (skipped: " + skipped + ").", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1", sys.argv[6])
        sys.exit(0)
    sys.exit(main())
