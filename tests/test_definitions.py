"""Every citation of the definitions resolves inside the repository (docs/definitions.md).

Scans the package, the tests, the notebooks, the documentation and the report
templates for citations of the forms §N, §N.M and §N "Item" (also §N ("Item")
and §N, "Item") and checks each against the headings and named items of
``retainkit/definitions.md``, the file shipped in the package that
``docs/definitions.md`` includes. Citations in this file are built with
``SIGN`` so the scan does not read the deliberately wrong ones below.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from retainkit import definitions
from retainkit.exceptions import ParameterError

ROOT = Path(__file__).resolve().parents[1]
SIGN = "\N{SECTION SIGN}"
SCANNED = ["retainkit", "tests", "notebooks", "docs", "retainkit/templates", "README.md", "benchmarks"]
SUFFIXES = {".py", ".md", ".ipynb", ".j2", ".html", ".css", ".yaml", ".yml", ".txt", ".cfg", ".toml"}
SKIP_DIRS = {"__pycache__", ".ipynb_checkpoints", "_screens", "_generated"}

#: the section headings of the contract; the numbering and titles must not drift
CONTRACT_SECTIONS = {
    "1": "Inputs",
    "2": "Periods, cohorts, ages",
    "3": "Cohort retention",
    "4": "Customer retention rate (CRR) and churn",
    "5": "Lifetime value",
    "6": "Loyalty-program ROI",
}


def _files() -> list[Path]:
    out: set[Path] = set()
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            out.add(path)
            continue
        for f in path.rglob("*"):
            if f.is_file() and f.suffix in SUFFIXES and not SKIP_DIRS.intersection(f.relative_to(ROOT).parts):
                out.add(f)
    return sorted(out)


def _text(path: Path) -> str:
    raw = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        nb = json.loads(raw)
        return "\n\n".join("".join(c.get("source", "")) for c in nb.get("cells", []))
    return raw


def _all_citations() -> list[tuple[str, definitions.Citation]]:
    found = []
    for path in _files():
        text = _text(path)
        for cit in definitions.citations(text):
            found.append((str(path.relative_to(ROOT)), cit))
    return found


def test_every_citation_in_the_repository_resolves():
    found = _all_citations()
    # the scan itself must work: the package alone cites the definitions a few hundred times
    assert len(found) > 200, f"only {len(found)} citations found: is the scanner broken?"
    assert {cit.section for _, cit in found} >= set(CONTRACT_SECTIONS)
    assert any(cit.title for _, cit in found), "no quoted item citation found"
    bad = []
    for where, cit in found:
        try:
            definitions.resolve(cit.ref)
        except ParameterError as exc:
            bad.append(f"{where}: {cit.text!r}: {exc}")
    assert not bad, "citations that do not resolve in retainkit/definitions.md:\n" + "\n".join(bad)


def test_notebooks_and_report_template_are_scanned():
    files = {str(p.relative_to(ROOT)) for p in _files()}
    assert "notebooks/explore_cohorts.ipynb" in files
    assert any(f.startswith("retainkit/templates/") for f in files)
    assert "docs/definitions.md" in files and "README.md" in files


def test_contract_sections_keep_their_numbers_and_headings():
    sections = {it.number: it.title for it in definitions.items() if "." not in it.number}
    assert sections == CONTRACT_SECTIONS


def test_docs_page_includes_the_shipped_file():
    page = (ROOT / "docs" / "definitions.md").read_text(encoding="utf-8")
    assert '--8<-- "retainkit/definitions.md"' in page
    assert (ROOT / "retainkit" / "definitions.md").read_text(encoding="utf-8") == definitions.text()


@pytest.mark.parametrize(
    ("ref", "number"),
    [
        ("4", "4"),
        (SIGN + "4", "4"),
        ("4.3", "4.3"),
        (SIGN + '3 "Average retention curve"', "3.5"),
        (SIGN + '3 "average  retention curve"', "3.5"),  # case and spacing do not matter
        (SIGN + '5 "Shifted-beta-geometric"', "5.2"),  # heading without its "(sBG)"
        (SIGN + '5 "BG/NBD"', "5.3"),  # a term set in bold inside 5.3
        (SIGN + '5 "Lifetime value"', "5"),  # the section's own title
        (SIGN + '6 "Scenario (planned) ROI"', "6.1"),
    ],
)
def test_resolve_finds_sections_items_and_terms(ref, number):
    assert definitions.resolve(ref).number == number


@pytest.mark.parametrize(
    "ref", ["9", "4.99", SIGN + '3 "Churn of the moon"', SIGN + '4 "Average retention curve"', "x"]
)
def test_resolve_rejects_what_is_not_in_the_document(ref):
    with pytest.raises(ParameterError):
        definitions.resolve(ref)


def test_citation_forms_are_parsed():
    text = (
        f'definitions {SIGN}2-{SIGN}4; see {SIGN}3 "Uncertainty", {SIGN}4 ("Who is a customer at\n'
        f'    a boundary"), {SIGN}6, "Measured ROI" and {SIGN}3.5.'
    )
    refs = [c.ref for c in definitions.citations(text)]
    assert refs == ["2", "4", '3 "Uncertainty"', '4 "Who is a customer at a boundary"', '6 "Measured ROI"', "3.5"]
    # a quote after a section sign that is code, not an item title, is not read as one
    assert [c.ref for c in definitions.citations(f'note = "definitions {SIGN}5"}})')] == ["5"]


def test_an_unresolvable_citation_is_reported(tmp_path):
    """The scan fails on a wrong citation (guards against a test that cannot fail)."""
    wrong = f'"""Docstring citing definitions {SIGN}7 and {SIGN}3 "Retention of ghosts"."""'
    bad = [c.ref for c in definitions.citations(wrong) if not _resolves(c.ref)]
    assert bad == ["7", '3 "Retention of ghosts"']


def _resolves(ref: str) -> bool:
    try:
        definitions.resolve(ref)
    except ParameterError:
        return False
    return True


def test_section_html_is_escaped_and_deterministic():
    html = definitions.section_html("1", heading_level=3)
    assert html.startswith('<section class="rk-definition" id="def-1">')
    assert "<h3>1. Inputs</h3>" in html and "<h4>1.1 Transaction log</h4>" in html
    assert html == definitions.section_html("1", heading_level=3)
    assert "<script" not in html


def test_no_file_points_outside_the_repository():
    """Nothing refers to the contract's old home (a clone does not have it)."""
    pattern = re.compile(r"retention-definitions\.md|\.\./shared/|/work/(?:shared|main|wt)\b")
    bad = []
    for path in _files():
        if path == Path(__file__).resolve():
            continue
        for i, line in enumerate(_text(path).splitlines(), 1):
            if pattern.search(line):
                bad.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()[:100]}")
    assert not bad, "references to files outside the repository:\n" + "\n".join(bad)
