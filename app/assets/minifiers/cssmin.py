"""cssmin: the YUI compressor's CSS rules (the chosen default for CSS)."""

from __future__ import annotations

from .css_scan import css_chunks, scan_css
from .guard import guarded


def _run(text: str) -> str:
    import cssmin

    # Its regexes take superlinear time: pieces cut between top-level rules, same output.
    return "".join(cssmin.cssmin(chunk) for chunk in css_chunks(text))


minify = guarded("cssmin", _run, scan_css)
