"""Export an executed report notebook to one deterministic, offline HTML page (nbconvert)."""

from __future__ import annotations

import copy
import re
from importlib import resources
from typing import Any

from .._version import __version__
from ..charts.embed import script_json
from ..exceptions import ParameterError
from .page import TEMPLATES

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = "[interactive controls: open the notebook in JupyterLab to use them]"
#: MathJax 3 bundle inlined into pages with ``math=True``: TeX input, SVG output, every TeX extension
#: included and the glyphs drawn from the script itself, so nothing is fetched (no fonts, no components).
MATHJAX_BUNDLE = "static/mathjax/es5/tex-svg-full.js"
#: MathJax configuration: the notebook's $...$ and $$...$$; no menu (it would load accessibility code).
MATHJAX_CONFIG = {
    "tex": {
        "inlineMath": [["$", "$"], ["\\(", "\\)"]],
        "displayMath": [["$$", "$$"], ["\\[", "\\]"]],
        "processEscapes": True,
    },
    "svg": {"fontCache": "global"},
    "options": {"enableMenu": False},
}
EXPORT_TEMPLATES = {"report": "report.html.j2", "notebook": "notebook.html.j2", "slides": "slides.html.j2"}


def machine_output(nb: Any) -> list[str]:
    """Text a report's cells wrote to stderr (warnings, log lines of libraries): never part of the page.

    The report notebook turns Python warnings into notes under Data quality
    (:meth:`retainkit.report.Page.collect_warnings`); whatever still reaches
    stderr (a library's log line, a warning raised before the setup cell)
    is dropped from the published page by :func:`prepare_for_export` and
    listed by the runner in ``report-summary.json`` instead.
    """
    out = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            if o.get("output_type") == "stream" and o.get("name") == "stderr":
                text = _without_paths("".join(o.get("text", "")))
                if text and text not in out:
                    out.append(text)
    return out


#: "/some/dir/module.py:12: " in front of a printed Python warning
_WARNING_PREFIX = re.compile(r"^\S*\.py:\d+: ", re.MULTILINE)
_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[/\\][^/\\\s:'\"]+){2,}")


def _without_paths(text: str) -> str:
    """stderr text without the machine's file paths: warning prefixes cut, other paths reduced to file names."""
    lines: list[str] = []
    for line in _WARNING_PREFIX.sub("", text).splitlines():
        if line.startswith("  ") and lines:  # the source line a printed warning repeats
            continue
        lines.append(_PATH.sub(lambda m: m.group(0).replace("\\", "/").rsplit("/", 1)[-1], line).strip())
    return " ".join(x for x in lines if x)


def prepare_for_export(nb: Any, *, title: str | None = None, drop_empty: bool = True, drop_stderr: bool = False) -> Any:
    """Deterministic, offline-safe copy of an executed notebook for HTML export.

    Cell ids are renumbered (papermill injects random ones), the widget state
    is dropped (it references a CDN loader) and every widget view is replaced
    by a one-line note (a static page has no kernel to run it), stderr output is
    dropped when ``drop_stderr`` (see :func:`machine_output`), and code cells
    without output are removed when ``drop_empty``; cells tagged
    ``remove-cell`` are always removed.
    """
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    if title is not None:
        nb.metadata["title"] = title
    if drop_stderr:
        for c in nb.cells:
            if c.cell_type == "code":
                c["outputs"] = [
                    o
                    for o in c.get("outputs", [])
                    if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
                ]
    cells = [
        c
        for c in nb.cells
        if "remove-cell" not in c.get("metadata", {}).get("tags", [])
        and not (drop_empty and c.cell_type == "code" and not c.get("outputs"))
    ]
    for i, c in enumerate(cells):
        c["id"] = f"cell-{i:03d}"
        for out in c.get("outputs", []):
            if WIDGET_MIME in out.get("data", {}):  # no kernel offline: say so instead of the widget's repr
                out["data"] = {"text/plain": WIDGET_NOTE}
    nb.cells = cells
    return nb


def mathjax_script() -> str:
    """The MathJax configuration and bundle as inline ``<script>`` elements (offline; no ``src``).

    The bundle comes from the ``django-static-mathjax`` package (MathJax
    3.2.2, Apache-2.0; it has no Django dependency), read with
    importlib.resources.
    """
    bundle = (resources.files("mathjax") / MATHJAX_BUNDLE).read_text(encoding="utf-8")
    bundle = bundle.replace("</script", "<\\/script")  # cannot close the inline element early
    return (
        f'<script>window.MathJax = {script_json(MATHJAX_CONFIG)};</script>\n<script id="rk-mathjax">{bundle}</script>'
    )


def export_html(
    nb: Any,
    *,
    include_input: bool = False,
    title: str | None = None,
    math: bool = False,
    template: str = "report",
    lang: str = "en",
) -> str:
    """Export an executed notebook to one self-contained HTML page (nbconvert).

    ``include_input=False`` hides code, prompts and stderr (the report); True keeps
    the code (failed runs, so the traceback can be read in context; notebook
    hand-outs). The page loads nothing from the network: retainkit's
    templates have no require.js, Mermaid, widget or CDN MathJax scripts.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        An executed notebook.
    include_input : bool
        Show code cells and prompts.
    title : str, optional
    math : bool
        Render the Markdown cells' TeX ($...$, $$...$$) with a MathJax that is
        inlined into the page (about 2 MB; works offline).
    template : {"report", "notebook", "slides"}
        "report": retainkit's report stylesheet; "notebook": JupyterLab's look
        (notebook hand-outs); "slides": JupyterLab's look, one Markdown cell
        per screen.
    lang : {"en", "el", "hy"}
        The page's ``<html lang>`` (the report's language).

    Returns
    -------
    str
        The HTML page; the same notebook and arguments give the same bytes.
    """
    from nbconvert import HTMLExporter

    if template not in EXPORT_TEMPLATES:
        raise ParameterError(f"template={template!r} must be one of {sorted(EXPORT_TEMPLATES)}.")
    nb = prepare_for_export(nb, title=title, drop_empty=not include_input, drop_stderr=not include_input)
    exporter = HTMLExporter(
        template_name="lab",
        extra_template_paths=[str(TEMPLATES)],
        template_file=EXPORT_TEMPLATES[template],
        exclude_input=not include_input,
        exclude_input_prompt=not include_input,
        exclude_output_prompt=True,
    )
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    body, _ = exporter.from_notebook_node(
        nb,
        resources={
            "rk_css": css,
            "rk_version": __version__,
            "rk_math": mathjax_script() if math else "",
            "rk_lang": lang,
            "metadata": {"name": title or "retention report"},
        },
    )
    return body


__all__ = [
    "EXPORT_TEMPLATES",
    "MATHJAX_CONFIG",
    "WIDGET_MIME",
    "WIDGET_NOTE",
    "export_html",
    "machine_output",
    "mathjax_script",
    "prepare_for_export",
]
