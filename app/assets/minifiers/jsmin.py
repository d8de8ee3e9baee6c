"""jsmin: strips comments and whitespace (the chosen default for JS)."""

from __future__ import annotations

from .guard import guarded
from .js_scan import scan_js


def _run(text: str) -> str:
    import jsmin

    return str(jsmin.jsmin(text))


# jsmin mangles template literals and can misread a regex after ")" as a division.
minify = guarded("jsmin", _run, scan_js, lambda spans: [s for s in spans if s.kind != "string"])
