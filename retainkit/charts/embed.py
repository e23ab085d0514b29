"""Offline Vega embedding: the Vega/Vega-Lite/vega-embed bundle, chart specs, script-safe JSON.

One home for drawing Altair charts in HTML without the network, used by the
report (:mod:`retainkit.report.page`) and the widgets: one on-disk cache of
the bundle, one escaping rule for JSON inside ``<script>``.
"""

from __future__ import annotations

import functools
import html
import itertools
import json
import os
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import altair as alt

from .._files import atomic_write
from ..exceptions import ReportError
from ._theme import theme_config

#: numbers the widget chart elements (with a random part: outputs of several apps share a page)
_ids = itertools.count(1)


def script_json(obj: Any) -> str:
    """JSON safe to place inside a ``<script>`` element (no ``</script>``, no ``<!--``)."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def vl_version() -> str:
    m = re.match(r"v?(\d+)\.(\d+)", alt.SCHEMA_VERSION)
    return f"{m[1]}.{m[2]}" if m else ""


def cache_dir() -> Path:
    base = os.environ.get("RETAINKIT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "retainkit"
    )
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
        js = vlc.javascript_bundle(vl_version=version)  # type: ignore[call-arg]  # the stub omits snippet's default
        try:
            atomic_write(cache, js)
        except OSError:  # pragma: no cover - a read-only home still works, just slower
            pass
    if re.search(r"</script|<!--", js, re.IGNORECASE):  # pragma: no cover - checked for this vl-convert
        raise ReportError("the Vega bundle contains '</script' or '<!--' and cannot be inlined safely.")
    return js


def chart_spec(chart: Any, *, validate: bool = True) -> dict[str, Any]:
    """Vega-Lite dict of an Altair chart with the retainkit theme config merged in.

    ``validate=False`` skips Altair's schema validation (the widgets redraw
    on every control change; their charts are validated by the tests).
    """
    spec = chart.to_dict(validate=validate) if hasattr(chart, "to_dict") else dict(chart)
    config = theme_config()
    for key, val in spec.get("config", {}).items():
        base = config.get(key)
        config[key] = {**base, **val} if isinstance(val, dict) and isinstance(base, dict) else val
    spec["config"] = config
    return spec


@functools.lru_cache(maxsize=1)
def vega_loader_html() -> str:
    """A script defining ``window.vegaEmbed`` once per page (the offline bundle of :func:`vega_bundle`).

    The bundle is evaluated only when ``vegaEmbed`` is not defined yet, so two
    apps on one page do not load it twice (the widgets' way of embedding it).
    """
    code = script_json(vega_bundle())
    return f"<script type=\"text/javascript\">if(typeof window.vegaEmbed!=='function'){{(0,eval)({code});}}</script>"


def chart_output_html(spec: Mapping[str, Any], *, name: str = "chart") -> str:
    """HTML that draws a Vega-Lite spec with vega-embed once the bundle is on the page.

    If vega-embed never arrives (or the spec fails) the element shows a short
    message instead of staying blank. Used by the widgets, whose outputs are
    replaced on every change (ids are unique per call).
    """
    cid = f"rk-{name}-{uuid.uuid4().hex[:10]}-{next(_ids)}"
    return (
        f'<div class="rk-chart" id="{cid}" data-rk-chart="{html.escape(name)}"></div>'
        '<script type="text/javascript">(function(){'
        f'var el=document.getElementById("{cid}");var spec={script_json(spec)};var tries=0;'
        "function draw(){"
        "if(typeof window.vegaEmbed!=='function'){"
        "if(++tries>200){el.className+=' rk-chart-error';el.textContent='The chart library did not load.';return;}"
        "setTimeout(draw,50);return;}"
        "window.vegaEmbed(el,spec,{renderer:'svg',actions:false,mode:'vega-lite'})"
        ".catch(function(e){el.className+=' rk-chart-error';el.textContent='Chart failed: '+e;});}"
        "draw();})();</script>"
    )


__all__ = [
    "cache_dir",
    "chart_output_html",
    "chart_spec",
    "script_json",
    "vega_bundle",
    "vega_loader_html",
    "vl_version",
]
