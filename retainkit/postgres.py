"""PostgreSQL as a source of transaction logs (definitions §1), aggregated on the server.

A ``postgresql://`` URL with ``table=`` or ``query=`` becomes an ibis table
expression over a psycopg connection. retainkit's one narwhals
implementation of the aggregation step (:mod:`retainkit.backends`) then runs
on it unchanged: narwhals compiles every step to SQL through ibis, the server
computes it, and only the small tables (validation counts, cohort histogram,
CRR marks) come back. This module holds what is specific to PostgreSQL:

* connecting (credentials from the URL, the ``PG*`` environment variables and
  ``.pgpass``, all resolved by libpq) and naming the source without its
  password (:func:`redact`);
* the normalising step written as SQL (:func:`normalise`): the instant / wall
  time in microseconds, the local day number, and text timestamps and
  amounts parsed without failing the query on a bad value;
* turning every database error into a :class:`~retainkit.exceptions.DataError`
  that says what failed, with any password replaced by ``***``
  (:func:`database_errors`);
* pulling the few columns of small logs as Arrow through the ADBC PostgreSQL
  driver (:func:`fetch_arrow`), for the numpy reduction of
  :mod:`retainkit.engine`.

Install with ``pip install "retainkit[postgres]"``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode, urlsplit, urlunsplit

from .exceptions import DataError, ParameterError

#: URL schemes recognised as PostgreSQL sources
SCHEMES: tuple[str, ...] = ("postgresql", "postgres")
#: seconds libpq waits for a server before giving up
CONNECT_TIMEOUT = 10
#: sources of at most this many rows are pulled whole (the mapped columns, as Arrow through ADBC) into a polars
#: LazyFrame: validation, data summary and aggregation then run locally. Measured at 10M rows on a local server
#: (benchmarks/results.md, "PostgreSQL"): 63 s and 1.4 GiB this way, 943 s and 0.2 GiB with every step on the
#: server; the limit keeps the client's memory to a few GiB, as the polars / DuckDB limit does
PULL_MAX_ROWS = 25_000_000
#: larger sources are validated on the server; when at most this many rows are usable, customer id, day, key and
#: amount of the kept rows are then pulled for retainkit's numpy reduction. Off by default: at 10M rows it saved
#: 14 % over every step on the server (815 s vs 943 s) for 1.2 GiB of client memory
LOCAL_REDUCE_MAX_ROWS = 0

_REDACTED = "***"
# ISO 8601 dates and times as retainkit's file readers accept them, with an optional UTC offset or Z
_ISO_TEXT = (
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"([ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?)?"
)
_OFFSET = r"(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)"
_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"


def is_postgres_url(source: Any) -> bool:
    """True for a string starting with ``postgresql://`` or ``postgres://``."""
    return isinstance(source, str) and source.split("://", 1)[0].lower() in SCHEMES and "://" in source


def redact(url: str) -> str:
    """The URL with its password (in the user part or a ``password=`` parameter) replaced by ``***``.

    >>> redact("postgresql://ana:s3cret@db.example.com:5432/shop?sslmode=require&password=x")
    'postgresql://ana:***@db.example.com:5432/shop?sslmode=require&password=***'
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":" + _REDACTED
        netloc = f"{userinfo}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, _REDACTED if k.lower() == "password" else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every non-empty secret replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, _REDACTED)
    return text


def _require() -> tuple[Any, Any]:
    """psycopg and ibis, or a DataError saying how to install them."""
    try:
        import ibis
        import psycopg
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise DataError(
            f"reading from PostgreSQL needs the postgres extra ({exc.name} is missing): "
            'pip install "retainkit[postgres]".'
        ) from exc
    return psycopg, ibis


def _forms(password: str | None) -> tuple[str, ...]:
    """A password as written and as it appears percent-encoded in a URL (each form is scrubbed)."""
    if not password:
        return ()
    return tuple(dict.fromkeys((password, quote(password, safe=""), quote_plus(password))))


def _password_of(connection: Any) -> tuple[str, ...]:
    try:
        return _forms(connection.info.password)
    except Exception:  # noqa: BLE001 - a closed connection has no info; nothing to hide then
        return ()


def _where(url_or_conn: Any) -> str:
    """``host:port/database`` of a URL or connection, for messages."""
    if isinstance(url_or_conn, str):
        parts = urlsplit(url_or_conn)
        host = parts.hostname or "(default host)"
        port = f":{parts.port}" if parts.port else ""
        return f"{host}{port}{parts.path or '/'}"
    info = url_or_conn.info
    return f"{info.host}:{info.port}/{info.dbname}"


def describe_error(exc: BaseException, what: str, secrets: tuple[str, ...] = ()) -> str:
    """One line naming the failure of ``what`` and the server's reason, secrets removed, with a hint."""
    psycopg, _ = _require()
    errors = psycopg.errors
    message = " ".join(str(exc).split()) or type(exc).__name__
    hint = ""
    if isinstance(exc, errors.InsufficientPrivilege):
        hint = " Ask the table's owner for read access (GRANT SELECT ON <table> TO <role>)."
    elif isinstance(exc, errors.UndefinedTable):
        hint = " Check the table name and schema (schema.table), or the FROM clause of the query."
    elif isinstance(exc, errors.UndefinedColumn):
        hint = " Check the column names in the query."
    elif isinstance(exc, psycopg.OperationalError):
        if "password" in message.lower() or "authentication" in message.lower():
            hint = " Check the user and password (URL, PGUSER/PGPASSWORD or ~/.pgpass)."
        else:
            hint = " Check that the server runs and the host and port are right (URL, PGHOST/PGPORT)."
    return scrub(f"{what}: {message}.{hint}", secrets)


@contextlib.contextmanager
def database_errors(what: str, secrets: tuple[str, ...] = ()) -> Iterator[None]:
    """Turn any psycopg / ibis / ADBC error inside the block into a DataError naming ``what``."""
    psycopg, ibis = _require()
    try:
        yield
    except DataError:
        raise
    except (psycopg.Error, ibis.common.exceptions.IbisError) as exc:
        raise DataError(describe_error(exc, what, secrets)) from None
    except Exception as exc:  # noqa: BLE001 - ADBC raises its own DB-API errors
        if type(exc).__module__.startswith("adbc_driver"):
            raise DataError(describe_error(exc, what, secrets)) from None
        raise


def connect(url: str) -> Any:
    """A psycopg connection (autocommit) for ``url``; libpq adds ``PG*`` variables and ``.pgpass``.

    Raises DataError naming the server (never the password) when it cannot
    be reached or refuses the credentials.
    """
    psycopg, _ = _require()
    raw = urlsplit(url).password
    secrets = (*((raw,) if raw else ()), *_forms(unquote(raw) if raw else None))
    secrets += tuple(f for k, v in parse_qsl(urlsplit(url).query) if k.lower() == "password" for f in _forms(v))
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
    except psycopg.Error as exc:
        raise DataError(describe_error(exc, f"PostgreSQL {redact(url)}: could not connect", secrets)) from None


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def source_sql(table: str | None, query: str | None) -> str:
    """The SELECT that reads the source: ``table`` ("orders" or "schema.orders") or ``query``."""
    if (table is None) == (query is None):
        raise ParameterError("a PostgreSQL source needs exactly one of table='orders' or query='SELECT ...'.")
    if table is not None:
        if not isinstance(table, str) or not table.strip():
            raise ParameterError(f"table={table!r} is not a table name; pass e.g. table='orders' or 'sales.orders'.")
        return "SELECT * FROM " + ".".join(_ident(p) for p in table.strip().split("."))
    text = str(query).strip().rstrip(";").strip()
    if not text:
        raise ParameterError("query= is empty; pass a SELECT statement.")
    return text + "\n"  # a trailing -- comment must not swallow what is put after the query


def open_source(url: str, *, table: str | None = None, query: str | None = None) -> tuple[Any, str]:
    """An ibis table reading ``table`` or ``query`` at ``url``, and its description (password redacted).

    The source is checked once with ``LIMIT 0`` (it exists, the role may read
    it, the query runs); the rows stay on the server.
    """
    select = source_sql(table, query)
    _, ibis = _require()
    name = f"{redact(url)} " + (f"table {table}" if table is not None else "query")
    con = connect(url)
    secrets = _password_of(con)
    what = f"PostgreSQL {redact(url)}: " + (f"table {table!r}" if table is not None else "the query")
    with database_errors(what + " could not be read", secrets):
        with con.cursor() as cur:
            cur.execute(f"SELECT * FROM ({select}) AS retainkit_source LIMIT 0")  # type: ignore[arg-type]
            schema = _schema(ibis, cur.description)
        # session settings only: JIT compiling the long period expressions costs more than it saves, and
        # the aggregation's sorts stay in memory
        with con.cursor() as cur:
            cur.execute("SET jit = off")
            cur.execute("SET work_mem = '64MB'")
        backend = ibis.postgres.from_connection(con)
        backend.compiler = _compiler()
        return backend.sql(select, schema=schema), name


def _compiler() -> Any:
    """ibis' PostgreSQL compiler with three changes, set on the backend instance of one source only.

    * PostgreSQL casts boolean to ``integer`` only, not to ``bigint`` or
      ``smallint``; narwhals counts true values as ``CAST(b AS BIGINT)`` and
      null ids as ``CAST(b AS SMALLINT)``: booleans go through ``integer``.
    * A filter on a window function (``x == x.min().over(...)``) compiles to
      QUALIFY, which sqlglot rewrites for PostgreSQL into a filtered subquery
      but leaves the outer filter's columns naming the inner table (ibis 12,
      sqlglot 26-30): those columns are unqualified here.
    * A SELECT that adds retainkit's temporary ``__`` columns (the steps of
      the period arithmetic in :func:`retainkit.backends.with_period`) ends
      in ``OFFSET 0``, so PostgreSQL computes each step once per row instead
      of inlining it, and so repeating it, into every later step (18 s -> 1.8 s
      for a cohort table of 200,000 rows).

    tests/test_postgres.py compares every table with the pandas path, so a
    change in either library that breaks the SQL fails there.
    """
    import sqlglot.expressions as sge
    from ibis.backends.sql.compilers.postgres import PostgresCompiler

    class Compiler(PostgresCompiler):
        def visit_Cast(self, op: Any, *, arg: Any, to: Any) -> Any:
            if op.arg.dtype.is_boolean() and to.is_integer() and not to.is_int32():
                arg = sge.Cast(this=arg, to=sge.DataType.build("INT"))
            return super().visit_Cast(op, arg=arg, to=to)

        visit_TryCast = visit_Cast

        def visit_Select(self, op: Any, **kwargs: Any) -> Any:
            result = super().visit_Select(op, **kwargs)
            if isinstance(result, sge.Select) and any(str(name).startswith("__") for name in op.values):
                # a step of retainkit's period arithmetic (columns __p_z, __p_era, ...): computed once per row
                # instead of being inlined, and so repeated, in every later step
                result = result.offset(0, copy=False)
            qualify = result.args.get("qualify") if isinstance(result, sge.Select) else None
            if qualify is not None:
                # sqlglot turns QUALIFY into a subquery "_t" filtered outside; a column outside the
                # window function must then name _t's column, not the inner table's alias
                for column in list(qualify.find_all(sge.Column)):
                    if column.find_ancestor(sge.Window) is None:
                        column.set("table", None)
            return result

    return Compiler()


def source_columns(url: str, *, table: str | None = None, query: str | None = None) -> tuple[list[str], str]:
    """Column names of ``table`` or ``query`` at ``url`` and the source's description; the connection is closed.

    Used to check report parameters before a kernel starts.
    """
    native, name = open_source(url, table=table, query=query)
    try:
        return list(native.columns), name
    finally:
        native.get_backend().con.close()


def split_password(url: str) -> tuple[str, str | None]:
    """``url`` without its password, and the password (None when the URL has none).

    The report runner hands the notebook the URL without the password and the
    password in the kernel's ``PGPASSWORD`` (:func:`password_environment`), so
    it is written into no notebook, summary or page.
    """
    parts = urlsplit(url)
    password = unquote(parts.password) if parts.password is not None else None
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = userinfo.split(":", 1)[0] + "@" + host
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    in_query = [v for k, v in pairs if k.lower() == "password"]
    if in_query:
        password = in_query[-1]
        pairs = [(k, v) for k, v in pairs if k.lower() != "password"]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(pairs), parts.fragment)), password


@contextlib.contextmanager
def password_environment(password: str | None) -> Iterator[None]:
    """Set ``PGPASSWORD`` for processes started inside the block (the report's kernel); restore it after."""
    if password is None:
        yield
        return
    old = os.environ.get("PGPASSWORD")
    os.environ["PGPASSWORD"] = password
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PGPASSWORD", None)
        else:
            os.environ["PGPASSWORD"] = old


def _schema(ibis: Any, description: Any) -> Any:
    """An ibis schema from a psycopg cursor description (PostgreSQL type names)."""
    from ibis.backends.sql.datatypes import PostgresType

    fields = {}
    for col in description:
        if col.name in fields:
            raise DataError(f"the query returns two columns named '{col.name}'; give them distinct names (AS ...).")
        fields[col.name] = PostgresType.from_string(col.type_display)
    return ibis.schema(fields)


def secrets_of(table: Any) -> tuple[str, ...]:
    """The password of the connection behind an ibis table (to keep it out of messages)."""
    return _password_of(table.get_backend().con)


def where_of(table: Any) -> str:
    """``host:port/database`` of the connection behind an ibis table."""
    return _where(table.get_backend().con)


def normalise(table: Any, ts: str, kind: str, aware: bool, tz: str, fmt: str | None, amount: str | None = None) -> Any:
    """``table`` plus ``__key``, ``__day``, ``__ts_missing`` (and ``__amount``), computed in SQL (§1).

    ``__key`` is the instant in microseconds since the epoch for
    ``timestamptz`` / text with UTC offsets, and the wall time for
    ``timestamp without time zone`` / ``date`` / text without offsets (naive
    values are in the report time zone ``tz``); ``__day`` is the local day
    number since 1970-01-01 in ``tz``. Text that is not an ISO 8601 date-time
    becomes NULL (counted as unparseable, like the file readers) instead of
    failing the query; ``__amount`` is text parsed as a number, NULL where it
    is not one.
    """
    if fmt is not None:
        raise date_format_error(fmt, ts)
    c = _ident(ts)
    tzs = tz.replace("'", "''")
    missing = f"{c} IS NULL"
    if kind == "string":
        text = f"btrim(CAST({c} AS text))"
        missing = f"({c} IS NULL OR {text} = '')"
        parsed = _parse_text(text, aware)
    elif kind == "datetime_tz":
        parsed = c
    elif kind in ("datetime", "date"):
        parsed = f"CAST({c} AS timestamp)"
    else:
        raise DataError(f"column '{ts}' has type {kind}, which is not a date or time.")
    # EXTRACT(EPOCH ...) is numeric (exact) on PostgreSQL 14+; on a naive timestamp it is the wall time.
    # The day number is a date difference (integer arithmetic, the floor of the local microseconds / day).
    key = f"CAST(EXTRACT(EPOCH FROM {parsed}) * 1000000 AS bigint)"
    local = f"(({parsed}) AT TIME ZONE '{tzs}')" if aware else f"({parsed})"
    day = f"CAST(CAST({local} AS date) - DATE '1970-01-01' AS bigint)"
    extra = ""
    if amount is not None:
        a = f"btrim(CAST({_ident(amount)} AS text))"
        extra = f", CASE WHEN {a} ~ '{_NUMBER}' THEN CAST({a} AS double precision) END AS __amount"
    source = table.get_backend().compile(table)
    # OFFSET 0 keeps PostgreSQL from inlining this step into every later one: the planner would repeat
    # the key and day expressions inside each derived column (the period arithmetic of retainkit.backends)
    sql = (
        f"SELECT *, {key} AS __key, {day} AS __day, ({missing}) AS __ts_missing{extra} "
        f"FROM ({source}) AS retainkit_raw OFFSET 0"
    )
    _, ibis = _require()
    fields = dict(table.schema().items())
    fields.update({"__key": "int64", "__day": "int64", "__ts_missing": "boolean"})
    if amount is not None:
        fields["__amount"] = "float64"
    return table.get_backend().sql(sql, schema=ibis.schema(fields))


def date_format_error(fmt: str, ts: str) -> ParameterError:
    """The error for ``date_format=`` with a PostgreSQL source (small or large: the same rule for both)."""
    return ParameterError(
        f"date_format={fmt!r} is not supported for PostgreSQL sources. Convert the column in SQL instead: "
        f"query=\"SELECT *, to_timestamp({ts}, 'DD/MM/YYYY') AS ts FROM ...\" and timestamp='ts'."
    )


def _parse_text(text: str, aware: bool) -> str:
    """SQL parsing ISO 8601 text to timestamp(tz) or NULL, never raising on a bad value.

    CASE evaluates its branches in order, so the cast only sees text whose
    shape and calendar day (no 30 February) have been checked.
    """
    shape = _ISO_TEXT + (_OFFSET + "?" if aware else "") + r"\s*$"
    y, m, d = (f"CAST(substr({text}, {a}, {n}) AS int)" for a, n in ((1, 4), (6, 2), (9, 2)))
    month_end = f"EXTRACT(DAY FROM make_date({y}, {m}, 1) + interval '1 month' - interval '1 day')"
    target = "timestamptz" if aware else "timestamp"
    # a text offset of +HHMM is read by PostgreSQL as well as +HH:MM; a Z means UTC
    return f"CASE WHEN {text} ~ '{shape}' THEN CASE WHEN {d} <= {month_end} THEN CAST({text} AS {target}) END END"


def adbc_uri(table: Any) -> str:
    """A libpq URI of the connection behind ``table`` (with its password: never print it)."""
    info = table.get_backend().con.info
    params = {
        k: v for k, v in info.get_parameters().items() if k in ("host", "port", "dbname", "user", "sslmode", "options")
    }
    if info.password:
        params["password"] = info.password
    return "postgresql:///?" + urlencode(params)


def fetch_arrow(table: Any) -> Any:
    """The rows of an ibis expression as a pyarrow Table, streamed by the ADBC PostgreSQL driver.

    The SQL is compiled by ibis and run on a second connection (COPY in
    binary, Arrow-native); used for the few columns of logs small enough to
    reduce locally.
    """
    return _fetch_sql(table, table.get_backend().compile(table))


def _fetch_sql(table: Any, sql: str) -> Any:
    """Rows of ``sql`` on the connection behind ``table`` as a pyarrow Table (ADBC)."""
    try:
        import adbc_driver_postgresql.dbapi as adbc
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise DataError(
            'pulling rows from PostgreSQL needs the postgres extra: pip install "retainkit[postgres]".'
        ) from exc
    secrets = secrets_of(table)
    with database_errors(f"PostgreSQL {where_of(table)}: reading the rows failed", secrets):
        with adbc.connect(adbc_uri(table)) as conn, conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetch_arrow_table()


def pull_if_small(table: Any, columns: list[str]) -> Any | None:
    """``columns`` of ``table`` as a polars LazyFrame when it has at most :data:`PULL_MAX_ROWS` rows, else None.

    One ``count(*)`` on the server decides; the rows then come as Arrow
    (ADBC, binary COPY), numeric columns as double precision. Types keep
    their meaning (definitions §1): ``timestamptz`` arrives as an instant in
    UTC, ``timestamp`` and ``date`` as wall times, text as text.
    """
    if PULL_MAX_ROWS < 0:
        return None
    backend = table.get_backend()
    source = backend.compile(table)
    secrets = secrets_of(table)
    with database_errors(f"PostgreSQL {where_of(table)}: counting the rows failed", secrets):
        with backend.con.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM ({source}) AS retainkit_count")  # type: ignore[arg-type]
            rows = int(cur.fetchone()[0])
    if rows > PULL_MAX_ROWS:
        return None
    schema = table.schema()
    exprs = [
        f"CAST({_ident(c)} AS double precision) AS {_ident(c)}" if schema[c].is_decimal() else _ident(c)
        for c in columns
    ]
    sql = f"SELECT {', '.join(exprs)} FROM ({source}) AS retainkit_pull"
    import polars as pl

    pulled = pl.from_arrow(_fetch_sql(table, sql)).lazy()
    backend.con.close()  # the rows are here; the server is not asked again
    return pulled


def is_ibis_table(native: Any) -> bool:
    """True for an ibis table expression on a PostgreSQL connection."""
    if not (type(native).__module__.startswith("ibis.") and type(native).__name__ == "Table"):
        return False
    try:
        return native.get_backend().name == "postgres"
    except Exception:  # noqa: BLE001 - an unbound ibis table has no backend
        return False


__all__ = [
    "CONNECT_TIMEOUT",
    "LOCAL_REDUCE_MAX_ROWS",
    "SCHEMES",
    "connect",
    "database_errors",
    "date_format_error",
    "describe_error",
    "fetch_arrow",
    "is_ibis_table",
    "is_postgres_url",
    "normalise",
    "open_source",
    "password_environment",
    "pull_if_small",
    "redact",
    "scrub",
    "secrets_of",
    "source_columns",
    "source_sql",
    "split_password",
    "where_of",
]
