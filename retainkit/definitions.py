"""The definitions document: every number's contract, readable from code.

``retainkit/definitions.md`` (shipped in the package; ``docs/definitions.md``
in the repository and the documentation site include it) holds the sections
§1-§6 and their numbered items. This module finds a section or item by its
citation (``"4"``, ``"§4"``, ``"4.3"``, ``'§3 "Uncertainty"'``), returns it as
markdown or HTML, and finds the citations in a text, so the published report
can embed the definitions it cites and the test suite can check that every
citation in the repository resolves.

Examples
--------
>>> from retainkit import definitions
>>> definitions.resolve('§3 "Average retention curve"').number
'3.5'
>>> definitions.section("4").splitlines()[0]
'## 4. Customer retention rate (CRR) and churn'
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import mistune

from .exceptions import ParameterError

__all__ = [
    "Citation",
    "Item",
    "citations",
    "embed_html",
    "items",
    "link_citations",
    "resolve",
    "section",
    "section_html",
    "text",
]

_HEADING = re.compile(r"^(#{2,3})\s+(\d+)\.(\d*)\s+(.+?)\s*$")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")
# §N, §N.M, optionally followed by a quoted item title: §N "Title", §N ("Title"), §N, "Title".
# The title starts with a letter and may wrap onto one more line (docstrings).
CITATION = re.compile(
    r"§(?P<section>\d+)(?:\.(?P<item>\d+))?"
    r"(?:(?:,\s*|\s+\(?)\"(?P<title>[A-Za-z][^\"\n]{0,80}(?:\n[^\"\n]{0,80})?)\")?"
)


@dataclass(frozen=True)
class Item:
    """A section (``number`` "4") or a numbered item (``number`` "4.3") of the definitions.

    Attributes
    ----------
    number : str
        "4" for section §4, "4.3" for its third item.
    title : str
        The heading text without its number, e.g. "Who is a customer at a boundary".
    markdown : str
        The heading line and everything up to the next heading of the same or a higher level.
    terms : tuple of str
        The terms set in bold in it (named items such as "BG/NBD").
    """

    number: str
    title: str
    markdown: str
    terms: tuple[str, ...]

    @property
    def anchor(self) -> str:
        """HTML id used by :func:`section_html` ("def-4", "def-4-3")."""
        return "def-" + self.number.replace(".", "-")

    @property
    def section(self) -> str:
        return self.number.split(".")[0]


@dataclass(frozen=True)
class Citation:
    """One citation found in a text: the section, the item number and the quoted title (the last two optional)."""

    section: str
    item: str | None
    title: str | None
    text: str

    @property
    def ref(self) -> str:
        """The citation as :func:`resolve` reads it."""
        number = self.section + (f".{self.item}" if self.item else "")
        return number + (f' "{self.title}"' if self.title else "")


def text() -> str:
    """The whole definitions document (markdown)."""
    return _text()


@lru_cache(maxsize=1)
def _text() -> str:
    return resources.files("retainkit").joinpath("definitions.md").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _items() -> tuple[Item, ...]:
    lines = _text().splitlines()
    heads: list[tuple[int, int, str, str]] = []  # line, level, number, title
    fenced = False
    for i, line in enumerate(lines):
        if line.startswith("```"):
            fenced = not fenced
        if fenced:
            continue
        m = _HEADING.match(line)
        if m:
            number = m[2] + (f".{m[3]}" if m[3] else "")
            heads.append((i, len(m[1]), number, m[4]))
        elif line.startswith("## "):  # an unnumbered section (the appendix) ends the one before it
            heads.append((i, 2, "", line[3:].strip()))
    out = []
    for j, (start, level, number, title) in enumerate(heads):
        end = next((h[0] for h in heads[j + 1 :] if h[1] <= level), len(lines))
        if not number:
            continue
        body = "\n".join(lines[start:end]).strip() + "\n"
        out.append(Item(number, title, body, tuple(dict.fromkeys(_BOLD.findall(body)))))
    return tuple(out)


def items() -> tuple[Item, ...]:
    """Every section and numbered item, in document order."""
    return _items()


def _norm(title: str) -> str:
    return " ".join(title.replace('"', "").split()).casefold()


def _bare(title: str) -> str:
    """A heading title without a trailing parenthesis: "Shifted-beta-geometric (sBG)" -> "shifted-beta-geometric"."""
    return _norm(re.sub(r"\s*\([^)]*\)\s*$", "", title))


def resolve(ref: str) -> Item:
    """The section or item a citation names.

    Parameters
    ----------
    ref : str
        ``"4"``, ``"§4"``, ``"4.3"``, ``'§3 "Uncertainty"'`` or ``'3 "Uncertainty"'``. A quoted
        title is matched (case-insensitively) against the section's own title, the titles of its
        items (with or without a trailing parenthesis) and the terms set in bold in the section.

    Raises
    ------
    ParameterError
        Nothing in the document matches.
    """
    raw = str(ref).strip()
    m = CITATION.fullmatch(raw if raw.startswith("§") else "§" + raw)
    if m is None:
        raise ParameterError(f"{ref!r} is not a definitions citation; write e.g. '4', '4.3' or '3 \"Uncertainty\"'.")
    number = m["section"] + (f".{m['item']}" if m["item"] else "")
    found = [it for it in _items() if it.number == number]
    if not found:
        raise ParameterError(
            f"§{number} is not in the definitions (sections: "
            + ", ".join(f"§{it.number}" for it in _items() if "." not in it.number)
            + ")."
        )
    item = found[0]
    if not m["title"]:
        return item
    want = _norm(m["title"])
    # the items first, then the section itself: a term set in bold belongs to the item that defines it
    scope = [it for it in _items() if it.number.startswith(number + ".")] + [item]
    for it in scope:
        if want in (_norm(it.title), _bare(it.title)):
            return it
    for it in scope:
        if want in {_norm(t) for t in it.terms}:
            return it
    raise ParameterError(
        f'§{number} has no item "{m["title"]}"; its items are: '
        + "; ".join(f"§{it.number} {it.title}" for it in scope)
        + "."
    )


def section(ref: str) -> str:
    """Markdown of the section or item ``ref`` names (see :func:`resolve`), heading included."""
    return resolve(ref).markdown


_MARKDOWN = mistune.create_markdown(escape=True, plugins=["table"])


def section_html(ref: str, *, heading_level: int | None = None) -> str:
    """HTML of the section or item ``ref`` names, wrapped in ``<section id="def-N">``.

    Raw HTML in the document is escaped, never passed through. ``heading_level`` shifts the
    headings so the section's own heading becomes ``<h{heading_level}>`` (for embedding in a page
    that already has its ``<h1>``/``<h2>``). The output is the same for the same document.
    """
    item = resolve(ref)
    body = str(_MARKDOWN(item.markdown))
    if heading_level is not None:
        top = item.markdown.split(" ", 1)[0].count("#")
        shift = heading_level - top

        def move(m: re.Match[str]) -> str:
            return f"<{m[1]}h{min(6, max(1, int(m[2]) + shift))}"

        body = re.sub(r"<(/?)h([1-6])", move, body)
    return f'<section class="rk-definition" id="{item.anchor}">\n{body}</section>\n'


def citations(source: str) -> list[Citation]:
    """Every citation (§N, §N.M, §N "Title") in ``source``, in order."""
    return [
        Citation(m["section"], m["item"], " ".join(m["title"].split()) if m["title"] else None, m[0])
        for m in CITATION.finditer(source)
    ]


def link_citations(html: str) -> str:
    """Turn each §N / §N.M in (already escaped) HTML text into a link to its embedded section.

    The links point to the ids :func:`section_html` gives (``#def-4``, ``#def-4-3``), so they work
    in a page that also holds :func:`embed_html` of those sections.
    """

    def link(m: re.Match[str]) -> str:
        number = m["section"] + (f".{m['item']}" if m["item"] else "")
        return f'<a href="#def-{number.replace(".", "-")}">{m[0]}</a>'

    return re.sub(r"§(?P<section>\d+)(?:\.(?P<item>\d+))?", link, html)


def embed_html(
    refs: Iterable[str], *, heading_level: int = 3, title: str = "The definitions cited on this page"
) -> str:
    """A collapsible block with the sections or items ``refs`` name (in document order, each once).

    For pages that cite the definitions (the published report's methodology): a reader of the
    HTML can read what "§3" means without the repository. The block is a ``<details>`` element
    that browsers open when a link from :func:`link_citations` points into it. Escaped and
    deterministic like :func:`section_html`; no script.
    """
    wanted = {resolve(r).number for r in refs}
    order = [it.number for it in _items() if it.number in wanted]
    body = "".join(section_html(n, heading_level=heading_level) for n in order)
    label = _html.escape(title) + " (" + ", ".join(f"§{n}" for n in order) + ")"
    return f'<details class="rk-details rk-definitions"><summary>{label}</summary>{body}</details>'
