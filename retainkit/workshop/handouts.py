"""Offline hand-outs of the workshop: executed notebooks and the slide deck as self-contained HTML.

Every page works without a network: charts are SVG drawn in the kernel, the
maths is typeset by a MathJax inlined into the page
(:func:`retainkit.report.mathjax_script`), and no script or stylesheet is
loaded from anywhere. Widget cells print their default result, so a static
page shows it.

Run from the repository (``make handouts``)::

    python -m retainkit.workshop.handouts --notebooks notebooks/workshop --out build/handouts
"""

from __future__ import annotations

import argparse
import logging
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

import nbformat
import papermill as pm

from ..exceptions import ParameterError
from ..report import export_html

__all__ = ["export_handouts", "main", "render_notebook", "render_slides"]

log = logging.getLogger(__name__)

#: A line holding only three dashes separates two slides.
SLIDE_BREAK = re.compile(r"^---\s*$", re.MULTILINE)


def render_notebook(
    path: str | Path, out_html: str | Path, *, solutions: bool = False, kernel_name: str = "python3"
) -> Path:
    """Execute a workshop notebook with papermill and export it as an offline HTML hand-out.

    Parameters
    ----------
    path : path-like
        The notebook (committed without outputs).
    out_html : path-like
        Where to write the page.
    solutions : bool
        Fill in the model answers (the facilitator's copy) or leave the
        exercises blank (the learners' copy).
    kernel_name : str

    Returns
    -------
    pathlib.Path
        ``out_html``.
    """
    src, out = Path(path), Path(out_html)
    if not src.is_file():
        raise ParameterError(f"notebook {str(src)!r} does not exist.")
    with tempfile.TemporaryDirectory(prefix="retainkit-handout-") as tmp:
        executed = Path(tmp) / src.name
        pm.execute_notebook(
            str(src),
            str(executed),
            parameters={"solutions": solutions},
            cwd=tmp,
            kernel_name=kernel_name,
            progress_bar=False,
        )
        nb = nbformat.read(executed, as_version=4)
    for cell in nb.cells:  # papermill's injected cell is noise in a hand-out
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
    title = _title(nb) + (" (with solutions)" if solutions else "")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(export_html(nb, include_input=True, title=title, math=True, template="notebook"), encoding="utf-8")
    return out


def _title(nb: nbformat.NotebookNode) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return "retainkit workshop"


def render_slides(markdown: str | Path, out_html: str | Path, *, title: str = "Retention math workshop") -> Path:
    """Render a Markdown slide deck (slides separated by ``---`` lines) to one offline HTML page.

    Each slide fills the window; the page scrolls slide by slide (Page Down,
    space or the arrow keys) and prints one slide per page. Maths is typeset
    offline.

    Parameters
    ----------
    markdown : path-like
        The deck.
    out_html : path-like
    title : str

    Returns
    -------
    pathlib.Path
        ``out_html``.
    """
    text = Path(markdown).read_text(encoding="utf-8")
    slides = [s.strip() for s in SLIDE_BREAK.split(text) if s.strip()]
    if not slides:
        raise ParameterError(f"{str(markdown)!r} has no slides (separate slides with a line '---').")
    nb = nbformat.v4.new_notebook(metadata={"title": title})
    nb.cells = [nbformat.v4.new_markdown_cell(s) for s in slides]
    out = Path(out_html)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(export_html(nb, include_input=True, title=title, math=True, template="slides"), encoding="utf-8")
    return out


def export_handouts(
    notebooks_dir: str | Path, out_dir: str | Path, *, solutions: bool = False, names: Sequence[str] | None = None
) -> list[Path]:
    """Every workshop notebook (and ``slides.md`` when present) as offline HTML in ``out_dir``.

    Parameters
    ----------
    notebooks_dir : path-like
        ``notebooks/workshop`` of the repository.
    out_dir : path-like
    solutions : bool
        Also fill in the model answers (file names end in ``-solutions``).
    names : sequence of str, optional
        Only these notebooks (stems, e.g. ``["03_averages_mislead"]``).

    Returns
    -------
    list of pathlib.Path
        The pages written.
    """
    folder, out = Path(notebooks_dir), Path(out_dir)
    notebooks = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if names is not None:
        notebooks = [p for p in notebooks if p.stem in set(names)]
    if not notebooks:
        raise ParameterError(f"no workshop notebooks (NN_name.ipynb) found in {str(folder)!r}.")
    written = []
    for nb_path in notebooks:
        target = out / f"{nb_path.stem}{'-solutions' if solutions else ''}.html"
        log.info("rendering %s", target.name)
        written.append(render_notebook(nb_path, target, solutions=solutions))
    deck = folder / "slides.md"
    if deck.is_file() and names is None:
        written.append(render_slides(deck, out / "slides.html"))
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m retainkit.workshop.handouts --notebooks DIR --out DIR [--solutions]``."""
    parser = argparse.ArgumentParser(
        prog="python -m retainkit.workshop.handouts",
        description="Render the workshop notebooks and slides as offline HTML.",
    )
    parser.add_argument("--notebooks", default="notebooks/workshop", help="folder of the workshop notebooks")
    parser.add_argument("--out", default="build/handouts", help="output folder")
    parser.add_argument("--solutions", action="store_true", help="fill in the model answers")
    parser.add_argument("--only", nargs="*", default=None, help="only these notebooks (e.g. 03_averages_mislead)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        pages = export_handouts(args.notebooks, args.out, solutions=args.solutions, names=args.only)
    except ParameterError as exc:
        parser.error(str(exc))
    for page in pages:
        log.info("wrote %s", page)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
