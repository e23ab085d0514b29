"""The examples of the documentation site (and the README's quick start) run, and print what the pages show.

Every python block of every page under docs/ and of README.md is compiled; the blocks not marked
``<!-- no-run: why -->`` are executed page by page in one namespace (in a
temporary folder), and the text block marked ``<!-- output -->`` after a block
must match what it printed (``...`` matches anything). See
scripts/docs_hooks.py for the markers.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

import retainkit.charts

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

_spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "scripts" / "docs_hooks.py")
assert _spec and _spec.loader
hooks = importlib.util.module_from_spec(_spec)
sys.modules["docs_hooks"] = hooks  # dataclasses look their module up there
_spec.loader.exec_module(hooks)

PAGES = sorted(p for p in [*DOCS.rglob("*.md"), ROOT / "README.md"] if hooks.python_blocks(p))
#: pages whose every block must run: the guides, the cookbook, getting started and the error page
MUST_RUN = [
    "index.md",
    "getting-started.md",
    "bad-data.md",
    "gallery.md",
    "guides/analyst.md",
    "guides/reports.md",
    "cookbook/segments.md",
    "cookbook/subscriptions.md",
    "cookbook/surveys.md",
    "cookbook/clv.md",
    "cookbook/loyalty.md",
]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_page_examples_run_and_print_what_the_page_shows(page, tmp_path):
    run = hooks.run_page(page, cwd=tmp_path)
    assert run.blocks_run + run.blocks_compiled == len(hooks.python_blocks(page))


def test_the_guides_and_cookbook_are_runnable():
    assert set(MUST_RUN) <= {p.relative_to(DOCS).as_posix() for p in PAGES if p.is_relative_to(DOCS)}, (
        "a page lost its examples"
    )
    for name in MUST_RUN:
        no_run = [b for b in hooks.python_blocks(DOCS / name) if b.marker and b.marker[0] == "no-run"]
        allowed = {"getting-started.md": 1, "guides/reports.md": 2}.get(name, 0)
        assert len(no_run) <= allowed, f"{name}: {len(no_run)} blocks do not run"


def test_gallery_shows_every_chart_function():
    text = (DOCS / "gallery.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"<!--\s*gallery:\s*(\w+)\s*-->", text))
    functions = {n for n in retainkit.charts.__all__ if n != "theme_config"}
    assert functions <= shown, f"charts without a gallery entry: {sorted(functions - shown)}"
    for name in shown:
        assert f"(gallery/{name}.svg)" in text, f"gallery.md does not show gallery/{name}.svg"


def test_runner_catches_a_wrong_output_and_a_missing_error(tmp_path):
    """The checks above can fail (the runner is not a rubber stamp)."""
    page = tmp_path / "page.md"
    page.write_text("```python\nprint(1 + 1)\n```\n\n<!-- output -->\n```text\n3\n```\n", encoding="utf-8")
    with pytest.raises(hooks.ExampleError, match="printed"):
        hooks.run_page(page, cwd=tmp_path)
    page.write_text("<!-- raises: DataError -->\n```python\nx = 1\n```\n", encoding="utf-8")
    with pytest.raises(hooks.ExampleError, match="should raise"):
        hooks.run_page(page, cwd=tmp_path)
    page.write_text(
        "```python\nimport warnings\nwarnings.warn('old_name is deprecated', DeprecationWarning)\n```\n",
        encoding="utf-8",
    )
    with pytest.raises(hooks.ExampleError, match="deprecated"):
        hooks.run_page(page, cwd=tmp_path)
    page.write_text("<!-- no-run: why -->\n```python\nx = (\n```\n", encoding="utf-8")
    with pytest.raises(SyntaxError):
        hooks.run_page(page, cwd=tmp_path)
