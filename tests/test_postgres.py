"""PostgreSQL sources against a real server: the numbers equal the pandas path, bad connections fail clearly.

A throwaway cluster is started by scripts/pg-test-cluster.sh (127.0.0.1 only, a
free port, a temporary directory owned by an unprivileged user) and removed
afterwards. Every table is compared with the pandas/numpy path of retainkit
(itself checked against brute-force loops), both with the aggregation on the
server and with the rows pulled as Arrow into the numpy reduction
(definitions §1-§4). Without the postgres extra or a PostgreSQL server these
tests skip with the reason; under CI=true a skip is a failure (conftest.py).
"""

from __future__ import annotations

import importlib.util
import shlex
import socket
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import retainkit as rk
from retainkit import postgres as rkpg
from retainkit.datasets import SAMPLE_COLUMNS, sample_path

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "pg-test-cluster.sh"


@dataclass(frozen=True)
class Cluster:
    url: str
    password: str
    outsider_url: str
    directory: str

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1].split("/")[0])

    def url_without_password(self) -> str:
        return self.url.replace(f":{self.password}@", "@")


@pytest.fixture(scope="session")
def pg() -> Cluster:
    missing = [m for m in ("ibis", "psycopg", "adbc_driver_postgresql") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"the postgres extra is not installed ({', '.join(missing)}): pip install 'retainkit[postgres]'")
    proc = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True, timeout=600)
    if proc.returncode:
        pytest.skip(f"no PostgreSQL server could be started by {SCRIPT.name}: {proc.stderr.strip()[-500:]}")
    env = dict(shlex.split(line)[0].split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    cluster = Cluster(
        env["RETAINKIT_PG_URL"], env["RETAINKIT_PG_PASSWORD"], env["RETAINKIT_PG_OUTSIDER_URL"], env["RETAINKIT_PG_DIR"]
    )
    try:
        yield cluster
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", cluster.directory], capture_output=True, timeout=120)


@pytest.fixture(params=["server", "server+numpy", "pulled"])
def reduction(request, monkeypatch):
    """Every path: every step as SQL on the server; validation on the server and the kept rows' id, day and
    amount pulled as Arrow into the numpy reduction; the whole source pulled as Arrow into polars."""
    if request.param != "pulled":
        monkeypatch.setattr(rkpg, "PULL_MAX_ROWS", -1)
    monkeypatch.setattr(rkpg, "LOCAL_REDUCE_MAX_ROWS", 10**9 if request.param == "server+numpy" else -1)
    return request.param


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-9)
    assert a.attrs == b.attrs


SUMMARY_FIELDS = (
    "rows_read",
    "rows_kept",
    "dropped",
    "notes",
    "customers",
    "first_timestamp",
    "last_timestamp",
    "as_of",
    "tz",
    "columns",
)


def _same_summary(got: rk.DataSummary, ref: rk.DataSummary) -> None:
    for name in SUMMARY_FIELDS:
        assert getattr(got, name) == getattr(ref, name), name
    # like every lazy engine, examples quote values (no line numbers), and none for repeated order ids or
    # unknown amounts; every dropped reason and every refund note has its examples
    assert set(got.examples) <= set(ref.examples)
    assert set(got.examples) >= set(got.dropped) - {"repeated_order_id", "exact_duplicate"}


def _load_table(pg: Cluster, name: str, frame: pd.DataFrame, types: dict[str, str]) -> None:
    """Create table ``name`` with the given SQL types and copy ``frame`` into it (psycopg COPY)."""
    import psycopg

    cols = ", ".join(f'"{c}" {types[c]}' for c in frame.columns)
    with psycopg.connect(pg.url, autocommit=True) as con:
        con.execute(f'DROP TABLE IF EXISTS "{name}"')
        con.execute(f'CREATE TABLE "{name}" ({cols})')
        with con.cursor().copy(f'COPY "{name}" FROM STDIN') as copy:
            for row in frame.itertuples(index=False):
                copy.write_row(
                    [None if (v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v))) else v for v in row]
                )


# --------------------------------------------------------------------------- the bundled sample
def test_sample_table_gives_the_pandas_numbers(pg, reduction):
    kw = dict(SAMPLE_COLUMNS)
    ref = rk.load_transactions(sample_path(), **kw)
    tx = rk.load_transactions(pg.url, table="orders", **kw)
    assert tx.backend == ("polars" if reduction == "pulled" else "postgres")
    for args in [
        dict(),
        dict(freq="W"),
        dict(freq="Q", include_partial=True),
        dict(by="channel"),
        dict(by=["country", "is_member"]),
        dict(cohort_key="channel", by="country"),
    ]:
        _same(rk.cohort_table(ref, **args), rk.cohort_table(tx, **args))
    for args in [dict(), dict(window="30D"), dict(freq="W", window="13W"), dict(by="channel")]:
        _same(rk.crr_table(ref, **args), rk.crr_table(tx, **args))
    _same(rk.purchase_metrics(ref), rk.purchase_metrics(tx))
    _same_summary(tx.summary, ref.summary)
    assert tx.summary.source == f"{rkpg.redact(pg.url)} table orders"
    assert pg.password not in str(tx.summary) and "***" in tx.summary.source


def test_query_source_and_materialised_frame(pg):
    kw = dict(SAMPLE_COLUMNS)
    ref = rk.load_transactions(sample_path(), **kw, as_of="2024-06-30")
    tx = rk.load_transactions(pg.url, query="SELECT *\nFROM orders -- every order\n;", **kw, as_of="2024-06-30")
    _same(rk.cohort_table(ref), rk.cohort_table(tx))
    _same_summary(tx.summary, ref.summary)
    frame = tx.frame.sort_values(["customer_id", "timestamp", "order_id"]).reset_index(drop=True)
    expected = ref.frame.sort_values(["customer_id", "timestamp", "order_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)
    # renamed columns in the query are mapped like file columns
    tx2 = rk.load_transactions(
        pg.url,
        query='SELECT customer_id AS cust, "timestamp" AS ordered_at, amount FROM orders',
        customer_id="cust",
        timestamp="ordered_at",
        amount="amount",
        as_of="2024-06-30",
    )
    ref2 = rk.load_transactions(sample_path(), amount="amount", as_of="2024-06-30")
    _same(rk.crr_table(ref2), rk.crr_table(tx2))


# --------------------------------------------------------------------------- generated logs
def generated_log(seed: int, kind: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A messy log (pandas reference frame, frame to store) with refunds, unknown amounts, duplicates,
    repeated order ids, empty ids, rows after as_of and in the future, times near midnight.

    ``kind``: "timestamptz" (aware instants), "timestamp" (naive wall times) or "text" (ISO strings,
    some unparseable or empty).
    """
    rng = np.random.default_rng(seed)
    n = 600
    base = pd.Timestamp("2023-01-01", tz="UTC")
    minutes = rng.integers(0, 60 * 24 * 560, n)
    # a quarter of the rows within an hour of a UTC midnight: days differ by time zone
    near = rng.random(n) < 0.25
    minutes = np.where(near, (minutes // 1440) * 1440 + rng.integers(-60, 60, n), minutes)
    ts = base + pd.to_timedelta(minutes, unit="min") + pd.to_timedelta(np.arange(n), unit="us")
    ts = pd.Series(ts)
    ts.iloc[:5] = pd.Timestamp("2099-03-01 10:00", tz="UTC") + pd.to_timedelta(np.arange(5), unit="h")  # future
    customers = np.array([f"c{i:03d}" for i in range(60)], dtype=object)
    cust = pd.Series(customers[rng.integers(0, 60, n)], dtype=object)
    cust.iloc[[7, 8]] = None
    cust.iloc[9] = "  "
    amount = pd.Series(np.round(rng.gamma(2.0, 20.0, n), 2))
    refunds = rng.random(n) < 0.1
    amount[refunds] = -amount[refunds]
    amount.iloc[[10, 11]] = np.nan
    amount.iloc[12] = 0.0
    order_id = pd.Series([f"o{i}" for i in range(n)], dtype=object)
    order_id.iloc[20:25] = order_id.iloc[30:35].to_numpy()  # repeated order ids
    seg = pd.Series(rng.choice(np.array(["web", "shop", None], dtype=object), n), dtype=object)
    frame = pd.DataFrame({"customer_id": cust, "ts": ts, "amount": amount, "order_id": order_id, "seg": seg})
    frame = pd.concat([frame, frame.iloc[100:110]], ignore_index=True)  # exact duplicates
    # a table has no row order: the "first" row of a repeated order id is the earliest (as on every lazy
    # engine), so the reference file lists rows in time order
    frame = frame.sort_values("ts", kind="stable", ignore_index=True)
    if kind == "timestamptz":
        return frame, frame
    if kind == "timestamp":
        naive = frame.assign(ts=frame["ts"].dt.tz_localize(None))
        return naive, naive
    text = frame["ts"].dt.strftime("%Y-%m-%d %H:%M:%S.%f").astype(object)
    text.iloc[40] = "garbage"
    text.iloc[41] = "2024-02-30 10:00:00"
    text.iloc[42] = ""
    text.iloc[43] = None
    text.iloc[44] = " 2024-03-01T12:30 "
    stored = frame.assign(ts=text)
    return stored, stored


TYPES = {"customer_id": "text", "amount": "numeric(12, 2)", "order_id": "text", "seg": "text"}
CASES = [
    ("timestamptz", "America/New_York", None, 1),
    ("timestamp", "Europe/Berlin", "2024-05-31", 2),
    ("text", "Asia/Kolkata", "2024-04-15 13:30", 3),
    ("timestamptz", "Asia/Kolkata", "2024-06-30", 4),
]


@pytest.fixture(scope="module")
def generated_tables(pg):
    names = {}
    for kind, _, _, seed in CASES:
        stored, _ = generated_log(seed, kind)
        name = f"log_{kind}_{seed}"
        _load_table(pg, name, stored, {**TYPES, "ts": kind})
        names[(kind, seed)] = name
    return names


@pytest.mark.parametrize("kind,tz,as_of,seed", CASES)
def test_generated_logs_give_the_pandas_numbers(pg, generated_tables, reduction, kind, tz, as_of, seed):
    _, ref_frame = generated_log(seed, kind)
    name = generated_tables[(kind, seed)]
    for extra in [dict(order_id="order_id"), dict(drop_duplicates=True), dict()]:
        kw = dict(timestamp="ts", amount="amount", segments="seg", tz=tz, as_of=as_of, **extra)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # future rows / unusable rows warn on both paths
            ref = rk.load_transactions(ref_frame, **kw)
            tx = rk.load_transactions(pg.url, table=name, **kw)
        _same_summary(tx.summary, ref.summary)
        assert tx.summary.notes.get("refund_rows", 0) > 0
        if not extra:
            assert tx.summary.notes["exact_duplicates_kept"] > 0
            continue
        for freq in ("D", "W", "M", "Q"):
            _same(rk.cohort_table(ref, freq, by="seg"), rk.cohort_table(tx, freq, by="seg"))
        for freq, window in (("M", "90D"), ("W", 30), ("Q", 120)):
            _same(rk.crr_table(ref, freq, window=window), rk.crr_table(tx, freq, window=window))
        _same(rk.crr_table(ref, "M", by="seg"), rk.crr_table(tx, "M", by="seg"))
        _same(rk.purchase_metrics(ref, "M", by="seg"), rk.purchase_metrics(tx, "M", by="seg"))


def test_generated_log_dropped_rows_are_counted_by_reason(pg, generated_tables):
    name = generated_tables[("text", 3)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = rk.load_transactions(
            pg.url,
            table=name,
            timestamp="ts",
            amount="amount",
            order_id="order_id",
            tz="Asia/Kolkata",
            as_of="2024-04-15",
        ).summary
    assert s.dropped["null_customer_id"] == 3
    assert s.dropped["unparseable_timestamp"] == 2
    assert s.dropped["missing_timestamp"] == 2
    assert s.dropped["repeated_order_id"] >= 5
    assert s.dropped["after_as_of"] > 0
    joined = " ".join(s.examples["unparseable_timestamp"])
    assert "garbage" in joined and "2024-02-30" in joined
    assert s.notes["missing_amount"] == 2


def test_time_zone_types(pg):
    """timestamptz is an instant converted to the report time zone; timestamp is a wall time in it (§1)."""
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "aware": ["2024-01-31 23:30:00+00", "2024-02-01 00:30:00+00"],
            "naive": ["2024-01-31 23:30:00", "2024-02-01 00:30:00"],
        }
    )
    _load_table(pg, "tz_types", frame, {"customer_id": "text", "aware": "timestamptz", "naive": "timestamp"})
    aware = rk.load_transactions(pg.url, table="tz_types", timestamp="aware", tz="Europe/Berlin", as_of="2024-03-31")
    naive = rk.load_transactions(pg.url, table="tz_types", timestamp="naive", tz="Europe/Berlin", as_of="2024-03-31")
    # 23:30 UTC on 31 January is 00:30 on 1 February in Berlin: both customers join in February
    assert rk.cohort_table(aware).query("age == 0")["cohort"].astype(str).tolist() == ["2024-02"]
    assert rk.cohort_table(naive).query("age == 0")["cohort"].astype(str).tolist() == ["2024-01", "2024-02"]
    assert str(aware.summary.first_timestamp) == "2024-02-01 00:30:00+01:00"
    assert str(naive.summary.first_timestamp) == "2024-01-31 23:30:00+01:00"


# --------------------------------------------------------------------------- credentials
def test_credentials_from_the_environment_and_pgpass(pg, tmp_path, monkeypatch, reduction):
    bare = pg.url_without_password()
    for var in ("PGPASSWORD", "PGPASSFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    with pytest.raises(rk.DataError, match="could not connect"):
        rk.load_transactions(bare, table="orders")
    monkeypatch.setenv("PGPASSWORD", pg.password)
    assert rk.cohort_table(rk.load_transactions(bare, table="orders", amount="amount")).shape[0] > 0
    monkeypatch.delenv("PGPASSWORD")
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{pg.port}:retainkit:retainkit:{pg.password}\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    tx = rk.load_transactions(bare, table="orders", amount="amount")
    assert rk.crr_table(tx).shape[0] > 0
    # PGHOST / PGPORT / PGUSER / PGDATABASE fill what the URL leaves out
    for var, value in (
        ("PGHOST", "127.0.0.1"),
        ("PGPORT", str(pg.port)),
        ("PGUSER", "retainkit"),
        ("PGDATABASE", "retainkit"),
    ):
        monkeypatch.setenv(var, value)
    assert len(rk.load_transactions("postgresql://", table="orders").summary.columns) == 2


def test_redact():
    assert rkpg.redact("postgresql://ana:s3cret@db:5432/shop") == "postgresql://ana:***@db:5432/shop"
    assert (
        rkpg.redact("postgres://ana@db/shop?password=s3cret&sslmode=require")
        == "postgres://ana@db/shop?password=***&sslmode=require"
    )
    assert rkpg.redact("postgresql://db/shop") == "postgresql://db/shop"
    assert rkpg.is_postgres_url("postgresql://x/y") and rkpg.is_postgres_url("POSTGRES://x")
    assert not rkpg.is_postgres_url("orders.csv") and not rkpg.is_postgres_url(Path("postgresql:/x"))


def test_split_password_and_the_kernel_environment(monkeypatch):
    assert rkpg.split_password("postgresql://a:p%40ss@h:5/d") == ("postgresql://a@h:5/d", "p@ss")
    assert rkpg.split_password("postgresql://a@h/d?sslmode=require&password=zz") == (
        "postgresql://a@h/d?sslmode=require",
        "zz",
    )
    assert rkpg.split_password("postgresql://h/d") == ("postgresql://h/d", None)
    import os

    monkeypatch.setenv("PGPASSWORD", "before")
    with rkpg.password_environment("during"):
        assert os.environ["PGPASSWORD"] == "during"
    assert os.environ["PGPASSWORD"] == "before"
    monkeypatch.delenv("PGPASSWORD")
    with rkpg.password_environment("during"):
        pass
    assert "PGPASSWORD" not in os.environ


# --------------------------------------------------------------------------- bad input
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fails(pg: Cluster, match: str, source: str, **kwargs) -> str:
    with pytest.raises(rk.DataError, match=match) as info:
        rk.load_transactions(source, **kwargs)
    message = str(info.value)
    assert pg.password not in message and "s3cret" not in message
    return message


def test_bad_connections_and_sources_fail_clearly(pg, reduction):
    down = f"postgresql://retainkit:s3cret@127.0.0.1:{_free_port()}/retainkit"
    msg = _fails(pg, "could not connect", down, table="orders")
    assert "Connection refused" in msg and "retainkit:***@127.0.0.1" in msg
    wrong = pg.url.replace(pg.password, "s3cret")
    assert "password authentication failed" in _fails(pg, "could not connect", wrong, table="orders")
    assert "does not exist" in _fails(pg, "table 'nope' could not be read", pg.url, table="nope")
    assert "Did you mean 'customer_id'" in _fails(pg, "not in the data", pg.url, table="orders", customer_id="customer")
    assert "permission denied" in _fails(pg, "could not be read", pg.outsider_url, table="orders")
    _fails(pg, "the query could not be read.*syntax error", pg.url, query="SELEC * FROM orders")
    _fails(pg, "no rows", pg.url, query="SELECT * FROM orders WHERE false")
    # an error while the server runs the aggregation (not at the LIMIT 0 check)
    _fails(
        pg,
        "failed.*division by zero",
        pg.url,
        query='SELECT customer_id, "timestamp", 1 / (amount - amount) AS amount FROM orders',
        amount="amount",
    )
    with pytest.raises(rk.ParameterError, match="exactly one of"):
        rk.load_transactions(pg.url)
    with pytest.raises(rk.ParameterError, match="exactly one of"):
        rk.load_transactions(pg.url, table="orders", query="SELECT 1")
    with pytest.raises(rk.ParameterError, match="PostgreSQL source"):
        rk.load_transactions(sample_path(), table="orders")
    with pytest.raises(rk.ParameterError, match="date_format"):
        rk.load_transactions(pg.url, table="log_text_3", timestamp="ts", date_format="%d/%m/%Y")


# --------------------------------------------------------------------------- reports
def _report_args(out: Path, *extra: str) -> list[str]:
    return [
        "report",
        *extra,
        "--order-id",
        "order_id",
        "--segment",
        "channel",
        "--as-of",
        "2024-06-30",
        "--generated-at",
        "test",
        "--out",
        str(out),
        "-q",
    ]


def _published(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_report_from_a_table_equals_the_csv_report_and_hides_the_password(pg, tmp_path, capsys):
    import json

    from retainkit import cli

    ref_out, out = tmp_path / "csv", tmp_path / "pg"
    assert cli.main(_report_args(ref_out, "--data", "sample")) == 0
    assert cli.main(_report_args(out, "--data", pg.url, "--table", "orders")) == 0
    printed = capsys.readouterr()
    assert pg.password not in printed.out + printed.err
    folder = Path("monthly-by-channel") / "2024-06-30"  # reports/<schedule>/<as_of>/
    ref = json.loads((ref_out / folder / "report-summary.json").read_text())
    got = json.loads((out / folder / "report-summary.json").read_text())
    assert got["rows_kept"] == ref["rows_kept"] and got["kpis"].keys() == ref["kpis"].keys()
    for name, kpi in ref["kpis"].items():  # the same figures; sums may differ in the last bit by summation order
        mine = got["kpis"][name]
        assert mine.keys() == kpi.keys() and mine["display"] == kpi["display"], name
        for field, value in kpi.items():
            if isinstance(value, float) or (isinstance(value, list) and all(isinstance(v, float) for v in value)):
                # a figure, or a series of them (the sparkline's values)
                assert mine[field] == pytest.approx(value, rel=1e-12, nan_ok=True), (name, field)
            else:
                assert mine[field] == value, (name, field)
    for name, content in _published(out).items():
        assert pg.password.encode() not in content, name
    html = (out / folder / "retention-report.html").read_text(encoding="utf-8")
    assert f"source: {pg.url_without_password()} table orders" in html
    assert got["params"]["data"] == pg.url_without_password() and got["params"]["table"] == "orders"


@pytest.mark.slow
def test_report_from_a_query_file_in_yaml_and_bad_sources_keep_the_previous_report(pg, tmp_path, monkeypatch, capsys):
    from retainkit import cli

    out = tmp_path / "reports"
    sql = tmp_path / "orders.sql"
    sql.write_text('SELECT order_id, customer_id, "timestamp", amount, channel\nFROM orders;\n', encoding="utf-8")
    yaml_file = tmp_path / "monthly.yaml"
    yaml_file.write_text(f"data: {pg.url_without_password()}\nquery_file: {sql}\n", encoding="utf-8")
    monkeypatch.setenv("PGPASSWORD", pg.password)
    assert cli.main(["report", "-f", str(yaml_file), *_report_args(out)[1:]]) == 0
    monkeypatch.delenv("PGPASSWORD")
    before = _published(out)
    assert "monthly-by-channel/2024-06-30/retention-report.html" in before

    down = f"postgresql://retainkit:s3cret@127.0.0.1:{_free_port()}/retainkit"
    wrong = pg.url.replace(pg.password, "s3cret")
    empty = tmp_path / "empty.sql"
    empty.write_text("SELECT * FROM orders WHERE false", encoding="utf-8")
    failing = tmp_path / "failing.sql"
    failing.write_text(
        'SELECT order_id, customer_id, "timestamp", 1 / (amount - amount) AS amount, channel FROM orders',
        encoding="utf-8",
    )
    cases = [
        (["--data", down, "--table", "orders"], 3, "could not connect"),
        (["--data", wrong, "--table", "orders"], 3, "password authentication failed"),
        (["--data", pg.url, "--table", "nope"], 3, "does not exist"),
        (["--data", pg.outsider_url, "--table", "orders"], 3, "permission denied"),
        (["--data", pg.url, "--table", "orders", "--customer-id", "customer"], 2, "Did you mean 'customer_id'"),
        (["--data", pg.url], 2, "parameter 'table'"),
        (["--data", "sample", "--table", "orders"], 2, "only for a PostgreSQL source"),
        (["--data", pg.url, "--query-file", str(tmp_path / "missing.sql")], 2, "parameter 'query_file'"),
        (["--data", pg.url, "--query-file", str(empty)], 3, "no rows"),
        (["--data", pg.url, "--query-file", str(failing)], 3, "division by zero"),
    ]
    for args, code, message in cases:
        assert cli.main(_report_args(out, *args)) == code, args
        printed = capsys.readouterr()
        assert message in printed.err, (args, printed.err)
        assert pg.password not in printed.out + printed.err and "s3cret" not in printed.out + printed.err
        # the published report is untouched; each attempt only adds its run record (runs/) and index row
        after = {
            k: v
            for k, v in _published(out).items()
            if "FAILED" not in k and k != "index.html" and not k.startswith("runs/")
        }
        assert after == {k: v for k, v in before.items() if k != "index.html" and not k.startswith("runs/")}, args
    for name, content in _published(out).items():
        assert pg.password.encode() not in content and b"s3cret" not in content, name


def test_parameters_for_a_database_are_checked_without_opening_a_file(pg, tmp_path):
    from retainkit.params import validate_params

    p = validate_params(data=pg.url, table="orders", order_id="order_id")
    assert p.is_database and p.data_source == pg.url and p.query is None
    with pytest.raises(rk.ParameterError, match="parameter 'segment'.*not in .*table orders"):
        validate_params(data=pg.url, table="orders", segment="chanel")
    with pytest.raises(rk.DataError, match="could not connect"):
        validate_params(data=f"postgresql://retainkit@127.0.0.1:{_free_port()}/retainkit", table="orders")
    assert validate_params(data=pg.url, query_file=str(SCRIPT), check_data=False).query_file == str(SCRIPT)
