"""CSV text encodings (definitions §1 "Inputs"): UTF-8 with or without BOM by default, ``encoding=`` otherwise.

A file that does not decode is a DataError naming the line, the byte and the
fix, on every file engine; with the encoding given, German city names load
intact (DuckDB decodes Latin-1 itself; polars, and DuckDB for other
encodings, get the rows decoded by pandas).
"""

from __future__ import annotations

import pandas as pd
import pytest

import retainkit as rk
from retainkit.encoding import check_encoding, find_decode_problem

ENGINES = ("pandas", "polars", "duckdb")
CITIES = ["München", "Köln", "Zürich", "Berlin"]


def _text(euro: bool = False) -> str:
    rows = ["customer_id,timestamp,amount,city"]
    for i in range(40):
        city = CITIES[i % 4]
        rows.append(f"c{i % 7},2024-{1 + i % 12:02d}-{1 + i % 27:02d},{10 + i}.5,{city}{' €' if euro else ''}")
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("bom", [False, True])
def test_utf8_with_or_without_bom(tmp_path, engine, bom):
    path = tmp_path / "tx.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + _text().encode("utf-8"))
    tx = rk.load_transactions(path, amount="amount", segments="city", backend=engine)
    assert sorted(set(tx.frame["city"])) == sorted(CITIES)
    assert tx.summary.rows_kept == 40


@pytest.mark.parametrize("engine", ENGINES)
def test_latin1_without_encoding_names_line_byte_and_fix(tmp_path, engine):
    path = tmp_path / "tx.csv"
    path.write_bytes(_text().encode("latin-1"))
    with pytest.raises(rk.DataError) as err:
        rk.load_transactions(path, amount="amount", segments="city", backend=engine)
    msg = str(err.value)
    assert "line 2 is not valid UTF-8" in msg and "0xFC" in msg  # the ü of München, line 1 is the header
    assert 'encoding="latin-1"' in msg and 'encoding="cp1252"' in msg and "--encoding" in msg


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_with_the_encoding_given_the_names_load_intact(tmp_path, engine, encoding):
    path = tmp_path / "tx.csv"
    path.write_bytes(_text(euro=encoding == "cp1252").encode(encoding))
    tx = rk.load_transactions(path, amount="amount", segments="city", backend=engine, encoding=encoding)
    cities = sorted(set(tx.frame["city"].str.replace(" €", "")))
    assert cities == sorted(CITIES)
    if encoding == "cp1252":
        assert tx.frame["city"].str.endswith(" €").all()
    ref = rk.load_transactions(pd.read_csv(path, encoding=encoding), amount="amount", segments="city")
    pd.testing.assert_frame_equal(rk.cohort_table(tx, by="city"), rk.cohort_table(ref, by="city"))


def test_a_bad_byte_deep_in_a_large_file_is_found_by_line(tmp_path):
    path = tmp_path / "tx.csv"
    lines = _text().splitlines()
    body = "\n".join(lines[:1] + [f"c{i},2024-01-02,1.0,Berlin" for i in range(300_000)]) + "\n"
    path.write_bytes(body.encode() + "c9,2024-01-03,2.0,Köln\n".encode("latin-1"))
    problem = find_decode_problem(path, "utf-8")
    assert problem.line == 300_002 and problem.bad == b"\xf6"
    assert problem.offset == len(body.encode()) + len("c9,2024-01-03,2.0,K")
    with pytest.raises(rk.DataError, match="line 300002 is not valid UTF-8"):
        rk.load_transactions(path, segments="city")


def test_subscriptions_take_the_encoding_too(tmp_path):
    path = tmp_path / "subs.csv"
    path.write_bytes("customer_id,start,end,city\na,2024-01-01,,Zürich\n".encode("latin-1"))
    with pytest.raises(rk.DataError, match="not valid UTF-8"):
        rk.load_subscriptions(path, segments="city")
    subs = rk.load_subscriptions(path, segments="city", encoding="latin-1", as_of="2024-06-30")
    assert subs.frame["city"].tolist() == ["Zürich"]


def test_encoding_names_are_checked():
    assert check_encoding(None) == check_encoding("") == check_encoding("UTF8") == "utf-8-sig"
    assert check_encoding("Latin1") == "iso8859-1"
    with pytest.raises(rk.ParameterError, match="not a text encoding"):
        check_encoding("klingon")
    with pytest.raises(rk.ParameterError, match="not a text encoding"):
        rk.load_transactions(pd.DataFrame({"customer_id": [1], "timestamp": ["2024-01-01"]}), encoding="klingon")
