"""Minifiers: one module per engine, each exposing ``minify(text, options=None) -> text``.

An engine raises :class:`MinifyError` (message, input line) when it fails or when its
guard finds a literal it damaged. Engines are found through the filter registry
(``engines.py``), so adding one is a module here plus one registry line.
"""

from __future__ import annotations

from ..engines import lookup
from .css_scan import css_chunks, scan_css
from .guard import MinifyError
from .join import join_js
from .js_scan import scan_js
from .options import NO_OPTIONS, MinifyOptions

__all__ = [
    "NO_OPTIONS",
    "MinifyError",
    "MinifyOptions",
    "css_chunks",
    "css_protected",
    "join_js",
    "js_literals",
    "minify",
]


def minify(
    text: str, engine: str, kind: str | None = None, options: MinifyOptions | None = None
) -> str:
    """Minify ``text`` with the registered engine ``engine`` (jsmin, cssmin, ...).

    ``kind`` ("js" or "css") picks the engine of a name registered for both (``minify``).
    """
    info = lookup(engine, kind)
    if info is None or info.role != "minifier":
        raise ValueError(f"unknown minifier {engine!r}" + (f" for {kind}" if kind else ""))
    result: str = info.load().minify(text, options or NO_OPTIONS)
    return result


def js_literals(source: str) -> list[str]:
    """Every string, template literal and regex literal in ``source``, in order, as raw text.

    Comments are skipped. A template literal is listed once, as a whole; literals inside
    its ``${...}`` substitutions are part of it. Raises MinifyError on unterminated ones.
    """
    return [source[s.start : s.end] for s in scan_js(source)]


def css_protected(source: str) -> list[str]:
    """Every CSS string and calc()/min()/max()/clamp() expression, in order, as raw text."""
    return [source[s.start : s.end] for s in scan_css(source)]
