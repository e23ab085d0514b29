"""Reading the mapped columns of a file or an in-memory frame, with column checks (definitions §1).

CSV and Parquet files, pandas, polars, DuckDB and Spark frames; a missing or
misspelt column raises :class:`~retainkit.exceptions.DataError` with the
closest names that exist. CSV text is UTF-8 (with or without a byte order
mark) unless ``encoding`` says otherwise; a file that does not decode raises
DataError naming the line, the byte and the fix (:mod:`retainkit.encoding`).
"""

from __future__ import annotations

import difflib
import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from .encoding import DEFAULT_ENCODING, check_decodes, decode_error, find_decode_problem, is_utf8
from .exceptions import DataError
from .inputs import COPY_ON_WRITE


def describe_source(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return type(source).__module__.split(".")[0] + "." + type(source).__name__


def is_file_source(source: Any) -> bool:
    return isinstance(source, (str, os.PathLike))


def file_kind(path: Path) -> str:
    name = path.name.lower()
    if path.is_dir():
        return "parquet"
    for suffix in (".parquet", ".pq", ".parq"):
        if name.endswith(suffix):
            return "parquet"
    for suffix in (".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz", ".txt", ".tsv", ".tsv.gz"):
        if name.endswith(suffix):
            return "csv"
    raise DataError(
        f"{path}: unsupported file type. retainkit reads CSV (.csv, .csv.gz, .tsv) and Parquet "
        "(.parquet or a directory of Parquet files). Export the data to one of these (e.g. "
        "`pd.read_excel(path).to_csv('data.csv', index=False)`) or pass a pandas DataFrame."
    )


def _plain(path: Path) -> bool:
    """An uncompressed file (the decoding check reads its bytes)."""
    return path.is_file() and not path.name.lower().endswith((".gz", ".bz2", ".zip", ".xz"))


def _undecodable(path: Path, encoding: str) -> DataError | None:
    """The decoding DataError when ``path`` does not decode as ``encoding`` (None when it does)."""
    if _plain(path):
        problem = find_decode_problem(path, encoding)
        if problem is not None:
            return decode_error(path, encoding, problem)
    return None


def _reader_encoding(encoding: str) -> str:
    """The encoding handed to pandas' CSV readers: plain UTF-8 (they skip a byte order mark themselves)."""
    return "utf-8" if is_utf8(encoding) else encoding


def file_columns(path: Path, kind: str, encoding: str = DEFAULT_ENCODING) -> list[str]:
    try:
        if kind == "parquet":
            import pyarrow.dataset as ds

            return list(ds.dataset(str(path), format="parquet").schema.names)
        sep = "\t" if ".tsv" in path.name.lower() else ","
        source: Any = path
        if _plain(path) and not encoding.startswith(("utf-16", "utf-32")):
            # the header line alone: a bad byte further down is the row reader's to report, with its line
            with open(path, "rb") as fh:
                header = fh.readline()
            try:
                source = io.StringIO(header.decode(encoding))
            except UnicodeDecodeError:
                source = path
        return [str(c) for c in pd.read_csv(source, nrows=0, sep=sep, encoding=_reader_encoding(encoding)).columns]
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - report any reader failure as a data error
        bad = _undecodable(path, encoding) if kind == "csv" else None
        if bad is not None:
            raise bad from None
        raise DataError(
            f"{path}: could not be read as {kind.upper()} ({type(exc).__name__}: {exc}). "
            f"Check that it is a {kind.upper()} file with a header row."
        ) from exc


def _read_file(
    path: Path, kind: str, columns: list[str], as_text: Iterable[str], encoding: str = DEFAULT_ENCODING
) -> pd.DataFrame:
    as_text = [c for c in as_text if c in columns]
    try:
        if kind == "parquet":
            return pd.read_parquet(path, columns=columns)
        sep = "\t" if ".tsv" in path.name.lower() else ","
        dtype = {c: "string" for c in as_text}
        try:
            return pd.read_csv(
                path, usecols=columns, dtype=dtype, sep=sep, engine="pyarrow", encoding=_reader_encoding(encoding)
            )
        except Exception:  # noqa: BLE001 - pyarrow is strict; the C parser tells us more
            return pd.read_csv(
                path, usecols=columns, dtype=dtype, sep=sep, low_memory=False, encoding=_reader_encoding(encoding)
            )
    except Exception as exc:  # noqa: BLE001
        bad = _undecodable(path, encoding) if kind == "csv" else None
        if bad is not None:
            raise bad from None
        raise DataError(f"{path}: could not be read as {kind.upper()} ({type(exc).__name__}: {exc}).") from exc


def _to_pandas(source: Any, columns: list[str]) -> pd.DataFrame:
    """Convert an in-memory frame of a supported library to pandas (selected columns)."""
    if isinstance(source, pd.DataFrame):
        # with copy-on-write the selection shares the caller's data and copies on a write: no copy needed
        return source.loc[:, columns] if COPY_ON_WRITE else source.loc[:, columns].copy()
    mod = type(source).__module__.split(".")[0]
    if mod == "polars":
        import polars as pl

        if isinstance(source, pl.LazyFrame):
            source = source.select(columns).collect()
        return source.select(columns).to_pandas()
    if mod == "duckdb":
        return source.project(", ".join(f'"{c}"' for c in columns)).df()
    if mod == "pyspark":
        return source.select(*columns).toPandas()
    raise DataError(
        f"source of type {type(source).__name__} is not supported. Pass a CSV/Parquet path, "
        "a pandas or polars DataFrame, a DuckDB relation or a Spark DataFrame."
    )


def source_columns(source: Any) -> list[str]:
    if isinstance(source, pd.DataFrame):
        return [str(c) for c in source.columns]
    mod = type(source).__module__.split(".")[0]
    if mod == "polars":
        return list(source.collect_schema().names()) if hasattr(source, "collect_schema") else list(source.columns)
    if mod in ("duckdb", "pyspark"):
        return list(source.columns)
    raise DataError(
        f"source of type {type(source).__name__} is not supported. Pass a CSV/Parquet path, "
        "a pandas or polars DataFrame, a DuckDB relation or a Spark DataFrame."
    )


def suggest(name: str, available: list[str]) -> str:
    lower = {c.lower().strip(): c for c in available}
    if name.lower().strip() in lower:
        return f" Did you mean '{lower[name.lower().strip()]}'? (names are case-sensitive)"
    close = difflib.get_close_matches(name, available, n=3, cutoff=0.5)
    if not close:
        close = difflib.get_close_matches(name.lower(), list(lower), n=3, cutoff=0.5)
        close = [lower[c] for c in close]
    if close:
        return " Did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    return ""


def check_columns(mapping: dict[str, str | None], available: list[str]) -> None:
    """Raise DataError for every mapped column that is not in ``available``."""
    problems = []
    for role, col in mapping.items():
        if col is None:
            continue
        if col not in available:
            shown = ", ".join(f"'{c}'" for c in available[:20]) + (" ..." if len(available) > 20 else "")
            problems.append(
                f"column '{col}' (the {role}) is not in the data.{suggest(col, available)} "
                f"Available columns: {shown}. Map it with {role}='<column name>'."
            )
    if problems:
        raise DataError("\n".join(problems))


def read_mapped(
    source: Any, mapping: dict[str, str | None], as_text: Iterable[str], encoding: str = DEFAULT_ENCODING
) -> tuple[pd.DataFrame, str, int]:
    """Read the mapped columns; returns (frame, source description, line offset for messages).

    ``encoding`` applies to CSV files (a codec name, see :func:`retainkit.encoding.check_encoding`).
    """
    columns = list(dict.fromkeys(c for c in mapping.values() if c is not None))
    if is_file_source(source):
        path = Path(source).expanduser()
        if not path.exists():
            raise DataError(f"{path}: no such file (working directory: {Path.cwd()}). Check the path.")
        kind = file_kind(path)
        if kind == "csv" and is_utf8(encoding) and _plain(path):
            check_decodes(path, encoding)  # pyarrow would hand undecodable text on as bytes
        check_columns(mapping, file_columns(path, kind, encoding))
        frame = _read_file(path, kind, columns, as_text, encoding)
        # CSV line numbers count the header as line 1; Parquet rows count from 0.
        return frame, str(path), (2 if kind == "csv" else 0)
    check_columns(mapping, source_columns(source))
    return _to_pandas(source, columns).reset_index(drop=True), describe_source(source), 0


__all__ = [
    "check_columns",
    "describe_source",
    "file_columns",
    "file_kind",
    "is_file_source",
    "read_mapped",
    "source_columns",
    "suggest",
]
