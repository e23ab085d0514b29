"""Offline Vega embedding: the Vega/Vega-Lite/vega-embed bundle, chart specs, script-safe JSON.

One home for drawing Altair charts in HTML without the network, used by the
report (:mod:`retainkit.report.page`) and the widgets: one on-disk cache of
the bundle, one escaping rule for JSON inside ``<script>``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import altair as alt

from .._files import atomic_write
from ..exceptions import ReportError
from ._theme import theme_config


def script_json(obj: Any) -> str:
    """JSON safe to place inside a ``<script>`` element (no ``</script>``, no ``<!--``)."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def vl_version() -> str:
    m = re.match(r"v?(\d+)\.(\d+)", alt.SCHEMA_VERSION)
    return f"{m[1]}.{m[2]}" if m else ""


def cache_dir() -> Path:
    base = os.environ.get("RETAINKIT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "retainkit")
    return Path(base)


def vega_bundle() -> str:
    """The Vega, Vega-Lite and vega-embed JavaScript (offline, from vl-convert), ~0.9 MB.

    Defines ``window.vegaEmbed``; include it once per page. Building it takes
    vl-convert several seconds, so it is cached on disk per vl-convert and
    Vega-Lite version (``$RETAINKIT_CACHE`` or ``~/.cache/retainkit``).
    """
    import vl_convert as vlc

    version = vl_version()
    cache = cache_dir() / f"vega-bundle-vlc{getattr(vlc, '__version__', 'x')}-vl{version}.js"
    js = None
    if cache.is_file():
        try:
            js = cache.read_text(encoding="utf-8")
        except OSError:  # pragma: no cover
            js = None
    if not js or "window.vegaEmbed" not in js:
        js = vlc.javascript_bundle(vl_version=version)
        try:
            atomic_write(cache, js)
        except OSError:  # pragma: no cover - a read-only home still works, just slower
            pass
    if re.search(r"</script|<!--", js, re.IGNORECASE):  # pragma: no cover - checked for this vl-convert
        raise ReportError("the Vega bundle contains '</script' or '<!--' and cannot be inlined safely.")
    return js


def chart_spec(chart: Any) -> dict[str, Any]:
    """Vega-Lite dict of an Altair chart with the retainkit theme config merged in."""
    spec = chart.to_dict() if hasattr(chart, "to_dict") else dict(chart)
    config = theme_config()
    for key, val in spec.get("config", {}).items():
        config[key] = {**config.get(key, {}), **val} if isinstance(val, dict) and isinstance(config.get(key), dict) else val
    spec["config"] = config
    return spec


__all__ = ["cache_dir", "chart_spec", "script_json", "vega_bundle", "vl_version"]
