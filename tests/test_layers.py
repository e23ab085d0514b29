"""The package's layers point one way (README "Architecture"): a static check of every import.

Reads every module of ``retainkit/`` with :mod:`ast` (nothing is imported) and
fails on

(a) an import circle between retainkit modules,
(b) an import that points up the layer order below,
(c) an import of a retainkit module inside a function or class (the way
    circles are usually hidden), and
(d) importing another module's private name (``from .x import _name``);
    a package may import its own private submodules (``from . import _theme``)
    and private helper modules may be imported by their public names
    (``from ._stats import wilson_interval``).

Keep :data:`LAYERS` and the README's "Architecture" section in step.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "retainkit"

#: layer name -> modules (a package name covers its submodules), lowest first.
#: A module may import modules of its own layer or of lower layers only.
LAYERS: dict[str, tuple[str, ...]] = {
    "core": (
        "exceptions",
        "_deprecation",
        "_version",
        "_codes",
        "_rowkernels",
        "_stats",
        "_files",
        "i18n",
        "definitions",
    ),
    "inputs": (
        "periods",
        "encoding",
        "inputs",
        "rows",
        "timestamps",
        "readers",
        "postgres",
        "native_log",
        "native_periods",
        "native_prepare",
        "native_counts",
        "native_rows",
        "sources",
        "native",
        "drops",
        "subscription_data",
        "data",
        "datasets",
    ),
    "engine": ("_kernels", "backends", "activity", "boundaries", "engine"),
    "math": ("cohorts", "metrics", "subscriptions", "survey", "economics", "clv", "loyalty"),
    "presentation": ("charts", "widgets"),
    "running": ("report", "params", "cli", "cron", "workshop"),
    "api": ("__init__",),
}

#: (rule, module) pairs known to break a rule, each with the reason. The test
#: fails when an entry no longer breaks its rule, so the list only shrinks.
KNOWN: dict[tuple[str, str], str] = {}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def _resolve(importer: str, level: int, module: str | None) -> str:
    """Absolute retainkit-relative name of a relative import's base ('' = the retainkit package)."""
    base = importer.split(".") if importer != "__init__" else []
    if not _is_package(importer) or importer == "__init__":
        base = base[:-1] if importer != "__init__" else []
    if level > 1:
        base = base[: len(base) - (level - 1)]
    parts = base + (module.split(".") if module else [])
    return ".".join(parts)


def _imports(name: str, path: Path) -> list[tuple[str, str, bool, int]]:
    """(target module, imported name or '', at module level, line) of every retainkit import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    for node in tree.body:  # `if TYPE_CHECKING:` / try blocks at module level count as module level
        if isinstance(node, (ast.If, ast.Try)):
            top |= {id(n) for n in ast.walk(node)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if not (node.module or "").startswith("retainkit"):
                    continue
                base = (node.module or "").removeprefix("retainkit").lstrip(".")
            else:
                base = _resolve(name, node.level, node.module)
            for alias in node.names:
                sub = f"{base}.{alias.name}" if base else alias.name
                target = sub if sub in MODULES else (base or "__init__")
                out.append((target, alias.name, id(node) in top, node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "retainkit" or alias.name.startswith("retainkit."):
                    target = alias.name.removeprefix("retainkit").lstrip(".") or "__init__"
                    out.append((target, "", id(node) in top, node.lineno))
    return out


def _layer(module: str) -> int:
    names = list(LAYERS)
    for i, layer in enumerate(names):
        for m in LAYERS[layer]:
            if module == m or module.startswith(m + "."):
                return i
    raise AssertionError(f"module retainkit.{module} is in no layer: add it to LAYERS (and the README).")


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _violations(rule: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, imports in GRAPH.items():
        for target, imported, at_top, line in imports:
            where = f"retainkit/{MODULES[name].relative_to(PACKAGE)}:{line}"
            if rule == "up" and _layer(target) > _layer(name):
                found.setdefault(name, []).append(f"{where} imports {target} (a higher layer)")
            elif rule == "function-level import" and not at_top:
                found.setdefault(name, []).append(f"{where} imports {target} inside a function or class")
            elif rule == "private name" and imported.startswith("_") and not imported.startswith("__"):
                own_package = name if _is_package(name) else name.rpartition(".")[0]
                if not (target == f"{own_package}.{imported}".lstrip(".") and target in MODULES):
                    found.setdefault(name, []).append(f"{where} imports the private name {imported} from {target}")
    return found


def _check(rule: str) -> None:
    found = _violations(rule)
    top = lambda m: m.split(".")[0]  # noqa: E731
    known = {m for (r, m) in KNOWN if r == rule}
    unexpected = {m: v for m, v in found.items() if top(m) not in known}
    assert not unexpected, "\n".join(x for v in unexpected.values() for x in v)
    stale = sorted(m for m in known if not any(top(f) == m for f in found))
    assert not stale, f"KNOWN lists {stale} for '{rule}' but they no longer break it: remove them."


def test_every_module_has_a_layer():
    for name in MODULES:
        _layer(name)


def test_no_import_circle():
    edges = {name: sorted({t for t, _, _, _ in imports if t != name}) for name, imports in GRAPH.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in edges.get(node, []):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                pytest.fail("import circle: " + " -> ".join(f"retainkit.{m}" for m in cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(edges):
        if name not in state:
            visit(name)


def test_imports_point_down_the_layers():
    _check("up")


def test_no_function_level_import_of_a_retainkit_module():
    _check("function-level import")


def test_no_private_name_of_another_module_is_imported():
    _check("private name")


def test_the_checks_catch_what_they_should(tmp_path):
    """The AST reading itself: a hidden import, a private name and an upward import are all seen."""
    source = (
        "from .cohorts import cohort_table\nfrom ._stats import _hidden\ndef f():\n    from .report import run_report\n"
    )
    path = tmp_path / "probe.py"
    path.write_text(source, encoding="utf-8")
    got = _imports("metrics", path)
    assert ("cohorts", "cohort_table", True, 1) in got
    assert ("_stats", "_hidden", True, 2) in got
    assert ("report", "run_report", False, 4) in got
    assert _layer("report") > _layer("metrics") > _layer("engine") > _layer("inputs")


def test_the_readme_lists_the_same_layers():
    """README "Architecture" has one bullet per layer naming exactly the modules of LAYERS."""
    text = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Architecture") :]
    section = section[: section.index("\n## ", 3)]
    bullets = re.findall(r"^\* \*\*(\w+)\*\*: (.*(?:\n  .*)*)", section, flags=re.MULTILINE)
    listed = {
        name: {m.rstrip("/") for m in re.findall(r"`([\w/]+)`", body) if not m.startswith("load_")}
        for name, body in bullets
    }
    expected = {name: set(mods) for name, mods in LAYERS.items() if name != "api"}
    assert list(listed) == list(expected), f"README layers {list(listed)} != LAYERS {list(expected)}"
    for name, mods in expected.items():
        assert listed[name] == mods, f"layer {name}: README lists {sorted(listed[name])}, LAYERS has {sorted(mods)}"
