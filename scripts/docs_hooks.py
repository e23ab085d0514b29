"""MkDocs hooks of the documentation site, and the runner that keeps its examples honest.

Used by ``mkdocs.yml`` (``hooks:``) and by the tests (``tests/test_docs_examples.py``):

* **Examples that run.** :func:`code_blocks` reads the fenced code blocks of a page and the HTML
  comment that may precede each (invisible on the site and on GitHub):

  - ``<!-- no-run: why -->``: the block is only compiled (it needs Spark, a database server, cron...);
  - ``<!-- raises: DataError -->``: the block must raise that exception; ``Name: message`` is its output;
  - ``<!-- warns: DataQualityWarning -->``: the block must warn so; ``Name: message`` is its output;
  - ``<!-- gallery: name -->``: the block must leave an Altair chart in ``chart``; the build renders it
    to ``gallery/name.svg``;
  - ``<!-- output -->`` before a ``text`` block: what the python block before it prints (``...``
    matches anything, whitespace runs are equal).

  :func:`run_page` executes a page's python blocks in order in one namespace and fails on the first
  block that raises unexpectedly, prints something else than its shown output, or uses a deprecated
  retainkit name.
* **Chart gallery.** ``on_files`` runs ``docs/gallery.md`` and adds one SVG per gallery block
  (rendered by vl-convert, offline) to the site, so the images are regenerated on every build.
* **Included files.** A line ``--8<-- "path/from/the/repository.md"`` in a page is replaced by that
  file (the definitions shipped in the package, the benchmark results, the workshop's facilitator
  guide), its relative links rewritten for the page: into the site when they point into docs/,
  to the repository path in code otherwise. A missing file fails the build.
* **Definitions links.** ``on_page_content`` turns every citation (§4, §3.5, §3 "Average retention
  curve") in a page, including the API pages built from docstrings, into a link to its heading on the
  definitions page.
"""

from __future__ import annotations

import contextlib
import doctest
import html as _html
import io
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import vl_convert as vlc
from markdown.extensions.toc import slugify
from mkdocs.structure.files import File, Files
from mkdocs.utils import get_relative_url

from retainkit import definitions
from retainkit.charts.embed import chart_spec, vl_version

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GALLERY_PAGE = "gallery.md"

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n`]*)$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<kind>no-run|raises|warns|gallery|output)\s*:?\s*(?P<value>.*?)\s*-->\s*$")
_CHECKER = doctest.OutputChecker()
_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


# =========================================================================== reading blocks
@dataclass
class Block:
    """One fenced code block of a page."""

    lang: str
    code: str
    line: int  # line number of the opening fence (1-based)
    marker: tuple[str, str] | None = None  # (kind, value) of the comment just before it
    expected: str | None = None  # the text block marked <!-- output --> right after it


def code_blocks(text: str) -> list[Block]:
    """The fenced code blocks of a markdown page, with their markers and expected outputs."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = m["indent"], m["fence"]
        lang = m["info"].strip().split(" ")[0].strip("{}.").lower()
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not (
            lines[j].strip().startswith(fence)
            and lines[j].strip() == fence[0] * len(lines[j].strip())
            and len(lines[j].strip()) >= len(fence)
        ):
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        mm = _MARKER.match(lines[k]) if k >= 0 else None
        blocks.append(Block(lang, "\n".join(body) + "\n", i + 1, (mm["kind"], mm["value"]) if mm else None))
        i = j + 1
    out: list[Block] = []
    for b in blocks:
        if b.marker and b.marker[0] == "output":
            if out and out[-1].lang in ("python", "py"):
                out[-1].expected = b.code
            continue
        out.append(b)
    return out


def python_blocks(path: Path) -> list[Block]:
    return [b for b in code_blocks(path.read_text(encoding="utf-8")) if b.lang in ("python", "py")]


# =========================================================================== running blocks
class ExampleError(AssertionError):
    """A documentation example did not do what its page says."""


@dataclass
class PageRun:
    """What running a page produced: its namespace and the gallery charts by name."""

    namespace: dict[str, Any] = field(default_factory=dict)
    charts: dict[str, Any] = field(default_factory=dict)
    blocks_run: int = 0
    blocks_compiled: int = 0


def run_page(path: Path, *, cwd: Path | None = None) -> PageRun:
    """Execute the python blocks of one page in order, in one namespace (see the module docstring)."""
    path = path.resolve()
    rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
    run = PageRun(namespace={"__name__": "__docs_example__"})
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        for block in python_blocks(path):
            where = f"{rel}:{block.line}"
            code = compile(block.code, where, "exec")
            kind, value = block.marker or ("", "")
            if kind == "no-run":
                if not value:
                    raise ExampleError(f"{where}: <!-- no-run: ... --> needs a reason")
                run.blocks_compiled += 1
                continue
            printed = _execute(code, run.namespace, where, kind, value)
            run.blocks_run += 1
            if kind == "gallery":
                chart = run.namespace.get("chart")
                if chart is None or not hasattr(chart, "to_dict"):
                    raise ExampleError(f"{where}: a gallery block must leave an Altair chart in `chart`")
                run.charts[value] = chart
                run.namespace.pop("chart")
            if block.expected is not None and not _CHECKER.check_output(block.expected, printed, _FLAGS):
                raise ExampleError(f"{where}: the page shows\n{block.expected}\nbut the code printed\n{printed}")
    finally:
        os.chdir(old)
    return run


def _execute(code: Any, namespace: dict[str, Any], where: str, kind: str, value: str) -> str:
    out = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out):
        warnings.simplefilter("always")
        try:
            exec(code, namespace)  # noqa: S102 - running the documentation's own examples is the point
        except Exception as exc:  # compared with the marker below
            names = [k.__name__ for k in type(exc).__mro__]
            if kind != "raises" or value not in names:
                raise ExampleError(f"{where}: raised {type(exc).__name__}: {exc}") from exc
            print(f"{type(exc).__name__}: {exc}")
        else:
            if kind == "raises":
                raise ExampleError(f"{where}: should raise {value} (the page says so) but did not")
    for w in caught:
        if issubclass(w.category, DeprecationWarning) and str(w.filename) == where:
            raise ExampleError(f"{where}: uses a deprecated name: {w.message}")
    if kind == "warns":
        shown = [w for w in caught if value in [k.__name__ for k in w.category.__mro__]]
        if not shown:
            raise ExampleError(f"{where}: should warn {value} (the page says so) but did not")
        for w in shown:
            out.write(f"{w.category.__name__}: {w.message}\n")
    return out.getvalue()


def render_svg(chart: Any) -> str:
    """SVG of an Altair chart with retainkit's theme, rendered offline by vl-convert."""
    return str(vlc.vegalite_to_svg(chart_spec(chart), vl_version=vl_version()))


# =========================================================================== mkdocs hooks
def on_files(files: Files, config: Any) -> Files:
    """Render the chart gallery: one SVG per ``<!-- gallery: name -->`` block of gallery.md."""
    page = Path(config["docs_dir"]) / GALLERY_PAGE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = run_page(page, cwd=Path(config["docs_dir"]))
    for name, chart in sorted(run.charts.items()):
        files.append(File.generated(config, f"gallery/{name}.svg", content=render_svg(chart)))
    return files


_SKIP_TAGS = re.compile(r"^<(/?)(code|pre|a|script|style|h[1-6])\b", re.IGNORECASE)
_TAG_OR_TEXT = re.compile(r"(<[^>]+>)")


def _anchor(item: definitions.Item) -> str:
    heading = item.markdown.splitlines()[0].lstrip("#").strip()
    return str(slugify(heading, "-"))


def link_citations_in_html(html: str, page_url: str, definitions_url: str = "definitions.html") -> str:
    """Link every citation in the text of ``html`` (not in code, links or headings) to the definitions page."""
    href = get_relative_url(definitions_url, page_url)
    depth = 0
    parts = _TAG_OR_TEXT.split(html)
    for i, part in enumerate(parts):
        if part.startswith("<"):
            m = _SKIP_TAGS.match(part)
            if m and not part.endswith("/>"):
                depth += -1 if m[1] else 1
                depth = max(depth, 0)
            continue
        if depth or "§" not in part:
            continue

        def link(m: re.Match[str]) -> str:
            ref = m["section"] + (f".{m['item']}" if m["item"] else "")
            if m["title"]:
                ref += f' "{" ".join(m["title"].split())}"'
            try:
                item = definitions.resolve(ref)
            except Exception:  # noqa: BLE001 - stays text; tests/test_definitions.py fails on it
                return m[0]
            title = _html.escape(f"{item.number} {item.title}")
            return f'<a class="rk-cite" href="{href}#{_anchor(item)}" title="{title}">{m[0]}</a>'

        # quotes need no escaping in text; docstring renderers may still write them as &quot;
        parts[i] = definitions.CITATION.sub(link, part.replace("&quot;", '"'))
    return "".join(parts)


_INCLUDE = re.compile(r'^--8<-- "(?P<path>[^"]+)"[ \t]*$', re.MULTILINE)
_LINK = re.compile(r"(?<![!\\])\[(?P<text>[^\]]+)\]\((?P<target>[^)\s]+)\)")


def include_files(markdown: str, page_uri: str) -> str:
    """Replace each ``--8<-- "path"`` line by the repository file, its links rewritten for ``page_uri``."""

    def include(m: re.Match[str]) -> str:
        src = (ROOT / m["path"]).resolve()
        if not src.is_file() or not src.is_relative_to(ROOT):
            raise FileNotFoundError(f"{page_uri}: included file {m['path']!r} does not exist")
        return rewrite_links(src.read_text(encoding="utf-8"), src.parent, page_uri)

    return _INCLUDE.sub(include, markdown)


def rewrite_links(text: str, src_dir: Path, page_uri: str) -> str:
    """Relative links of a file in ``src_dir``, made to work on the page ``page_uri`` of the site."""
    page_dir = (DOCS / page_uri).parent

    def fix(m: re.Match[str]) -> str:
        target = m["target"]
        if re.match(r"^([a-z][a-z0-9+.-]*:|#|/)", target):
            return m[0]
        path, _, anchor = target.partition("#")
        resolved = (src_dir / path).resolve()
        if resolved.is_relative_to(DOCS.resolve()):
            rel = Path(os.path.relpath(resolved, page_dir)).as_posix()
            return f"[{m['text']}]({rel}{'#' + anchor if anchor else ''})"
        where = resolved.relative_to(ROOT).as_posix() if resolved.is_relative_to(ROOT) else path
        return f"{m['text']} (`{where}` in the repository)"

    return _LINK.sub(fix, text)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    return include_files(markdown, page.file.src_uri)


_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):<code>(~?)([\w.]+)</code>")


def sphinx_roles_to_links(html: str) -> str:
    """Docstrings' Sphinx roles (``:func:`~retainkit.x.y` ``) as code, linked when the target is documented."""

    def sub(m: re.Match[str]) -> str:
        tilde, target = m.groups()
        short = target.rsplit(".", 1)[-1] if tilde else target
        if "." not in target:
            return f"<code>{short}</code>"
        return f'<autoref identifier="{target}" optional><code>{short}</code></autoref>'

    return _ROLE.sub(sub, html)


def on_page_content(html: str, page: Any, config: Any, files: Files) -> str:
    return link_citations_in_html(sphinx_roles_to_links(html), page.url)
