"""rjsmin: jsmin's rules as one regular expression, in C."""

from __future__ import annotations

from .guard import guarded
from .js_scan import scan_js


def _run(text: str) -> str:
    import rjsmin

    return str(rjsmin.jsmin(text))


minify = guarded("rjsmin", _run, scan_js, lambda spans: [s for s in spans if s.kind != "string"])
