"""rcssmin: cssmin's rules as one regular expression, in C."""

from __future__ import annotations

from .css_scan import scan_css
from .guard import guarded


def _run(text: str) -> str:
    import rcssmin

    return str(rcssmin.cssmin(text))


minify = guarded("rcssmin", _run, scan_css)
