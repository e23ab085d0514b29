"""Export an executed report notebook to one deterministic, offline HTML page (nbconvert)."""

from __future__ import annotations

import copy
from typing import Any

from .._version import __version__
from .page import TEMPLATES


def prepare_for_export(nb: Any, *, title: str | None = None, drop_empty: bool = True) -> Any:
    """Deterministic, offline-safe copy of an executed notebook for HTML export.

    Cell ids are renumbered (papermill injects random ones), the widget state
    is dropped (it references a CDN loader), and code cells without output are
    removed when ``drop_empty``; cells tagged ``remove-cell`` are always removed.
    """
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    if title is not None:
        nb.metadata["title"] = title
    cells = [c for c in nb.cells
             if "remove-cell" not in c.get("metadata", {}).get("tags", [])
             and not (drop_empty and c.cell_type == "code" and not c.get("outputs"))]
    for i, c in enumerate(cells):
        c["id"] = f"cell-{i:03d}"
    nb.cells = cells
    return nb


def export_html(nb: Any, *, include_input: bool = False, title: str | None = None) -> str:
    """Export an executed notebook to one self-contained HTML page (nbconvert).

    ``include_input=False`` hides code and prompts (the report); True keeps
    the code (failed runs, so the traceback can be read in context). The page
    loads nothing from the network: retainkit's template has no require.js,
    MathJax, Mermaid or widget scripts.
    """
    from nbconvert import HTMLExporter

    nb = prepare_for_export(nb, title=title, drop_empty=not include_input)
    exporter = HTMLExporter(
        template_name="lab",
        extra_template_paths=[str(TEMPLATES)],
        template_file="report.html.j2",
        exclude_input=not include_input,
        exclude_input_prompt=not include_input,
        exclude_output_prompt=True,
    )
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    body, _ = exporter.from_notebook_node(nb, resources={"rk_css": css, "rk_version": __version__,
                                                         "metadata": {"name": title or "retention report"}})
    return body



__all__ = ["export_html", "prepare_for_export"]
