"""PostgreSQL benchmark: the aggregation pushed down to the server vs pulling the rows (``make bench-postgres``).

A throwaway local server (scripts/pg-test-cluster.sh) gets a seeded log made
server-side with ``generate_series`` (integer customer ids, ``timestamp``
orders over three years, amounts with about 5 % refunds). Each contender runs
in its own process (peak memory ``ru_maxrss`` is its own); wall time is the
best of ``--repeat`` runs. Every contender must return the same monthly cohort
table (active customers and revenue per cell, definitions §3), or the run fails.

Contenders (load = ``load_transactions`` with its validation queries and the data summary):

- ``pushed down``: retainkit with every step as SQL on the server
  (``PULL_MAX_ROWS = LOCAL_REDUCE_MAX_ROWS = -1``); only small tables come back.
- ``server validation + numpy``: validation and data summary as SQL on the
  server, then customer id, day and amount of the kept rows through the ADBC
  driver into retainkit's numpy reduction (``PULL_MAX_ROWS = -1``).
- ``pulled into polars``: the mapped columns of the whole source through ADBC
  into a polars LazyFrame; everything else runs locally (the default up to
  ``PULL_MAX_ROWS`` rows).
- ``export to pandas``: ``SELECT *`` through ADBC into pandas, then
  ``load_transactions(frame)`` (what a manual export does).
- ``hand SQL``: one hand-written GROUP BY query for the cohort table (the floor
  for a server-side cohort table; no validation, no CRR).

Writes (or replaces) the section "PostgreSQL" of benchmarks/results.md.
Usage: ``python benchmarks/bench_postgres.py [--sizes 1e6,1e7] [--repeat 1] [--url URL]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCRIPT = ROOT / "scripts" / "pg-test-cluster.sh"
AS_OF = "2024-12-31"
SECTION = "## PostgreSQL: pushed-down aggregation vs pulling the rows"

CONTENDERS = {
    "pushed down": "load_transactions(url, table=...) with every step as SQL on the server",
    "server validation + numpy": "validation and summary on the server; kept rows' id, day, amount via ADBC",
    "pulled into polars": "the mapped columns via ADBC into polars; everything else local",
    "export to pandas": "SELECT * via ADBC -> pandas -> load_transactions(frame)",
    "hand SQL": "one GROUP BY query for the cohort table (no validation, no CRR)",
}

HAND_SQL = """
WITH m AS (
  SELECT customer_id, (EXTRACT(YEAR FROM ts)::int - 1970) * 12 + EXTRACT(MONTH FROM ts)::int - 1 AS p,
         bool_or(amount >= 0) AS bought, sum(amount) AS revenue
  FROM {table} WHERE ts <= TIMESTAMP '{as_of} 23:59:59.999999'
  GROUP BY 1, 2
), f AS (SELECT customer_id, min(p) AS c FROM m WHERE bought GROUP BY 1)
SELECT f.c AS cohort, m.p - f.c AS age, count(*) FILTER (WHERE m.bought) AS active, sum(m.revenue) AS revenue
FROM m JOIN f USING (customer_id) WHERE m.p >= f.c GROUP BY 1, 2 ORDER BY 1, 2
"""


# --------------------------------------------------------------------------- worker side
def _cohort_key(table) -> dict:
    """(cohort month index, age) -> (active, revenue rounded to cents), for the equality check."""
    out = {}
    for row in table.itertuples(index=False):
        cohort = row.cohort
        if isinstance(cohort, str):  # retainkit's label "YYYY-MM"
            year, month = map(int, cohort.split("-")[:2])
            cohort = (year - 1970) * 12 + month - 1
        active = 0 if row.active != row.active else int(row.active)  # NaN: not observed
        revenue = 0.0 if row.revenue != row.revenue else round(float(row.revenue), 2)
        if active or revenue:
            out[f"{int(cohort)}:{int(row.age)}"] = [active, revenue]
    return out


def worker(name: str, url: str, table: str) -> dict:
    import warnings

    import retainkit as rk
    from retainkit import postgres as rkpg

    warnings.simplefilter("ignore")
    kw = dict(customer_id="customer_id", timestamp="ts", amount="amount", as_of=AS_OF)
    times = {}
    t0 = time.perf_counter()
    if name == "hand SQL":
        import adbc_driver_postgresql.dbapi as adbc

        with adbc.connect(url) as con, con.cursor() as cur:
            cur.execute(HAND_SQL.format(table=table, as_of=AS_OF))
            cohorts = cur.fetch_arrow_table().to_pandas()
        times["cohort_table"] = time.perf_counter() - t0
        cohorts["revenue"] = cohorts["revenue"].astype(float)
        return {"times": times, "total": time.perf_counter() - t0, "cohort": _cohort_key(cohorts)}
    if name == "export to pandas":
        import adbc_driver_postgresql.dbapi as adbc

        with adbc.connect(url) as con, con.cursor() as cur:
            cur.execute(f"SELECT customer_id, ts, amount FROM {table}")
            frame = cur.fetch_arrow_table().to_pandas()
        times["export"] = time.perf_counter() - t0
        source, extra = frame, {}
    else:
        rkpg.PULL_MAX_ROWS = 10**12 if name == "pulled into polars" else -1
        rkpg.LOCAL_REDUCE_MAX_ROWS = -1 if name == "pushed down" else 10**12
        source, extra = url, {"table": table}
    t = time.perf_counter()
    tx = rk.load_transactions(source, **kw, **extra)
    summary = tx.summary
    times["load"] = time.perf_counter() - t
    t = time.perf_counter()
    cohorts = rk.cohort_table(tx, "M")
    times["cohort_table"] = time.perf_counter() - t
    t = time.perf_counter()
    crr = rk.crr_table(tx, "M", window="90D")
    times["crr_table"] = time.perf_counter() - t
    return {
        "times": times,
        "total": time.perf_counter() - t0,
        "cohort": _cohort_key(cohorts),
        "rows_kept": summary.rows_kept,
        "crr_periods": int(len(crr)),
    }


# --------------------------------------------------------------------------- driver side
def start_cluster() -> dict[str, str]:
    proc = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True, check=True)
    return dict(shlex.split(line)[0].split("=", 1) for line in proc.stdout.splitlines() if "=" in line)


def make_table(url: str, n: int) -> str:
    """A seeded log of ``n`` rows generated on the server; returns its name."""
    import psycopg

    name = f"bench_orders_{n}"
    customers = max(n // 10, 1)
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"DROP TABLE IF EXISTS {name}")
        con.execute("SELECT setseed(0.42)")
        con.execute(f"""
            CREATE UNLOGGED TABLE {name} AS
            SELECT i AS order_id,
                   1 + floor(power(random(), 1.5) * {customers})::int AS customer_id,
                   TIMESTAMP '2022-01-01' + random() * INTERVAL '1095 days' AS ts,
                   round((CASE WHEN random() < 0.05 THEN -1 ELSE 1 END * random() * 120)::numeric, 2) AS amount
            FROM generate_series(1, {n}) AS i""")
        con.execute(f"ANALYZE {name}")
    return name


def run_one(name: str, url: str, table: str) -> dict:
    code = (
        f"import json, resource, sys; sys.path.insert(0, {str(HERE)!r}); import bench_postgres as b; "
        f"r = b.worker({name!r}, {url!r}, {table!r}); "
        "r['peak_mib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; print(json.dumps(r))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"{name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _fmt(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds:.2f}"


def section(
    results: dict[int, dict[str, dict]], server: str, setup_s: dict[int, float], load: tuple[float, float]
) -> str:
    lines = [
        SECTION,
        "",
        "`python benchmarks/bench_postgres.py` (`make bench-postgres`): a throwaway "
        f"{server} on this machine (default settings, `fsync=off`), the log generated server-side "
        "(`generate_series`; integer customer ids, `timestamp` orders over 2022-2024, 5 % refunds, "
        "one customer per ten rows). Each contender in its own process; wall seconds of one run; "
        "`load` includes the validation queries and the data summary. Every contender returned the "
        "same monthly cohort table. Load average of the machine at the start and the end of the run: "
        f"{load[0]:.1f} and {load[1]:.1f} (2 cores; other work ran alongside, so compare the rows of a "
        "table with each other rather than with other sections).",
        "",
    ]
    for n, res in results.items():
        lines += [
            f"### {n:,} rows (generated in {setup_s[n]:.0f} s)",
            "",
            "| contender | what runs | export | load | cohort_table | crr_table | total | peak memory |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, r in res.items():
            t = r["times"]
            lines.append(
                f"| {name} | {CONTENDERS[name]} | {_fmt(t.get('export'))} | {_fmt(t.get('load'))} | "
                f"{_fmt(t.get('cohort_table'))} | {_fmt(t.get('crr_table'))} | {r['total']:.2f} | "
                f"{r['peak_mib']:,.0f} MiB |"
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_section(text: str, path: Path) -> None:
    """Replace the PostgreSQL section of results.md (up to the next ``## `` heading), or append it."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# retainkit benchmarks\n"
    if SECTION in old:
        start = old.index(SECTION)
        nxt = old.find("\n## ", start + len(SECTION))
        new = old[:start] + text + (old[nxt:] if nxt >= 0 else "")
    else:
        new = old.rstrip() + "\n\n" + text
    path.write_text(new, encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1e6,1e7")
    ap.add_argument("--url", default=None, help="an existing server (default: start a throwaway one)")
    ap.add_argument("--out", default=str(HERE / "results.md"))
    ap.add_argument("--skip", default="", help="comma-separated contenders to leave out")
    args = ap.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    env = None if args.url else start_cluster()
    url = args.url or env["RETAINKIT_PG_URL"]
    try:
        import psycopg

        with psycopg.connect(url) as con:
            server = "PostgreSQL " + con.execute("SHOW server_version").fetchone()[0].split()[0]
        load_before = os.getloadavg()[0]
        results, setup = {}, {}
        for n in sizes:
            t = time.perf_counter()
            table = make_table(url, n)
            setup[n] = time.perf_counter() - t
            print(f"{n:,} rows generated in {setup[n]:.1f} s", file=sys.stderr)
            res = {}
            for name in CONTENDERS:
                if name in skip:
                    continue
                res[name] = run_one(name, url, table)
                print(
                    f"  {name}: {res[name]['times']} total {res[name]['total']:.2f} s, {res[name]['peak_mib']:.0f} MiB",
                    file=sys.stderr,
                )
            ref = next(iter(res.values()))["cohort"]
            for name, r in res.items():
                if r["cohort"] != ref:
                    diff = [k for k in set(ref) | set(r["cohort"]) if ref.get(k) != r["cohort"].get(k)][:5]
                    raise SystemExit(f"{name} returned a different cohort table at {n:,} rows: {diff}")
            results[n] = res
        load = (load_before, os.getloadavg()[0])
        write_section(section(results, server, setup, load), Path(args.out))
        print(f"wrote {args.out} ({platform.node()})", file=sys.stderr)
    finally:
        if env is not None:
            subprocess.run(["bash", str(SCRIPT), "stop", env["RETAINKIT_PG_DIR"]], capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
