"""Report parameters: one schema for notebook, runner and CLI; errors before any kernel."""

from __future__ import annotations

import ast

import papermill
import pytest
from hypothesis import given
from hypothesis import strategies as st

from retainkit.exceptions import ParameterError
from retainkit.params import (
    PARAMETER_NAMES,
    SCHEMA,
    ReportParams,
    as_of_label,
    from_namespace,
    parameters_cell_source,
    validate_params,
)
from retainkit.report import NOTEBOOK


@pytest.fixture
def csv(tmp_path):
    p = tmp_path / "tx.csv"
    p.write_text("cust,when,value,chan\n1,2024-01-05,10,web\n2,2024-02-05,12,shop\n", encoding="utf-8")
    return p


def _ok(csv, **kw):
    return validate_params({"data": str(csv), "customer_id": "cust", "timestamp": "when", "amount": "value", **kw})


def test_notebook_parameters_cell_matches_schema():
    info = papermill.inspect_notebook(str(NOTEBOOK))
    assert list(info) == list(PARAMETER_NAMES)
    for p in SCHEMA:
        got = info[p.name]
        assert got["inferred_type_name"] == p.type.__name__
        assert ast.literal_eval(got["default"]) == p.default
        assert got["help"] == p.help


def test_symlinked_notebook_is_the_package_notebook():
    from pathlib import Path

    link = Path(__file__).resolve().parents[1] / "notebooks" / "retention_report.ipynb"
    assert link.is_symlink()
    assert link.resolve() == NOTEBOOK.resolve()


def test_parameters_cell_source_is_valid_python_with_help():
    src = parameters_cell_source()
    ns: dict = {}
    exec(src, ns)  # noqa: S102 - our own generated source
    assert {k: ns[k] for k in PARAMETER_NAMES} == {p.name: p.default for p in SCHEMA}
    for line in src.splitlines():
        assert "  # " in line and line.count("=") == 1  # papermill can parse it


def test_defaults_validate_against_the_sample():
    p = validate_params()
    assert p == ReportParams()
    assert p.data_path.is_file()


def test_bool_parameters_accept_bools_and_their_spellings(csv):
    assert _ok(csv).customer_list is True and _ok(csv).drop_duplicates is False
    assert _ok(csv, customer_list="false", drop_duplicates="yes").to_dict()["customer_list"] is False
    assert _ok(csv, drop_duplicates="True").drop_duplicates is True
    assert _ok(csv, customer_list=0, drop_duplicates=True).customer_list is False


def test_strings_are_converted_like_cli_values(csv):
    p = _ok(csv, margin="0.25", max_cohorts="12", discount_rate="0", freq="monthly", window="13W", charts="SVG")
    assert p.margin == 0.25 and p.max_cohorts == 12 and p.discount_rate == 0.0
    assert p.freq == "M" and p.window == "91D" and p.charts == "svg"


@pytest.mark.parametrize(
    "changes, name, fragment",
    [
        ({"freq": "fortnight"}, "freq", "not a period granularity"),
        ({"charts": "png"}, "charts", "not one of"),
        ({"max_cohorts": "many"}, "max_cohorts", "not an integer"),
        ({"max_cohorts": 0}, "max_cohorts", "at least 1"),
        ({"margin": 2}, "margin", "share of revenue"),
        ({"discount_rate": -0.1}, "discount_rate", "yearly rate"),
        ({"as_of": "2024-13-45"}, "as_of", "not a date"),
        ({"tz": "Mars/Olympus"}, "tz", "time zone"),
        ({"window": "3M"}, "window", "days or weeks"),
        ({"title": ""}, "title", "must not be empty"),
        ({"margin": True}, "margin", "bool"),
        ({"title": 5}, "title", "must be a string"),
        ({"customer_list": "maybe"}, "customer_list", "true or false"),
        ({"drop_duplicates": 2}, "drop_duplicates", "true or false"),
        ({"previous_report": "/no/such/report"}, "previous_report", "not a report folder"),
    ],
)
def test_bad_values_name_the_parameter(csv, changes, name, fragment):
    with pytest.raises(ParameterError) as exc:
        _ok(csv, **changes)
    assert str(exc.value).startswith(f"parameter {name!r}:")
    assert fragment in str(exc.value)
    assert exc.value.parameter == name


def test_unknown_parameter_suggests_the_right_name(csv):
    with pytest.raises(ParameterError, match=r"parameter 'frq': unknown parameter\. Did you mean 'freq'\?"):
        _ok(csv, frq="M")


def test_missing_file(tmp_path):
    with pytest.raises(ParameterError, match=r"parameter 'data': .*no such file"):
        validate_params({"data": str(tmp_path / "missing.csv")})


@pytest.mark.parametrize(
    "name, column",
    [
        ("customer_id", "customer"),
        ("timestamp", "ts"),
        ("amount", "revenue"),
        ("segment", "chann"),
        ("order_id", "order"),
    ],
)
def test_unmapped_column_names_parameter_and_lists_columns(csv, name, column):
    with pytest.raises(ParameterError) as exc:
        _ok(csv, **{name: column})
    msg = str(exc.value)
    assert msg.startswith(f"parameter {name!r}: column {column!r} is not in tx.csv")
    assert "'cust', 'when', 'value', 'chan'" in msg


def test_close_column_name_is_suggested(csv):
    with pytest.raises(ParameterError, match="Did you mean .*'chan'"):
        _ok(csv, segment="chen")


def test_optional_columns_may_be_empty(csv):
    p = _ok(csv, amount="", order_id="", segment="")
    assert p.amount == "" and p.segment == ""


def test_unsupported_file_type(tmp_path):
    f = tmp_path / "data.xlsx"
    f.write_bytes(b"PK")
    with pytest.raises(ParameterError, match=r"parameter 'data': .*unsupported file type"):
        validate_params({"data": str(f)})


def test_check_data_false_skips_file_checks():
    p = validate_params({"data": "/not/here.csv"}, check_data=False)
    assert p.data == "/not/here.csv"


def test_from_namespace_reads_notebook_globals(csv):
    ns = {"data": str(csv), "customer_id": "cust", "timestamp": "when", "amount": "value", "other": 1}
    assert from_namespace(ns).customer_id == "cust"


def test_as_of_label():
    assert as_of_label("2024-06-30") == "2024-06-30"
    assert as_of_label("2024-06-30T18:00") == "2024-06-30T1800"
    assert validate_params(as_of="2024-06-30").as_of_label == "2024-06-30"
    assert validate_params().as_of_label == ""


def test_replace_revalidates():
    p = validate_params()
    assert p.replace(freq="q").freq == "Q"
    with pytest.raises(ParameterError, match="'freq'"):
        p.replace(freq="fortnight")


@given(st.sampled_from(["d", "D", "week", "W", "m", "Month", "MS", "q", "Quarterly", "y", "A"]))
def test_every_documented_freq_alias_is_accepted(freq):
    assert validate_params({"freq": freq}, check_data=False).freq in "DWMQY"


def test_lang_and_currency_are_checked(csv):
    p = _ok(csv, lang="EL", currency="amd")
    assert (p.lang, p.currency) == ("el", "AMD")
    assert _ok(csv).lang == "en"
    with pytest.raises(ParameterError, match=r"parameter 'lang':.*choose one of en, el, hy"):
        _ok(csv, lang="fr")
    with pytest.raises(ParameterError, match=r"parameter 'currency':.*ISO 4217"):
        _ok(csv, currency="euro")
