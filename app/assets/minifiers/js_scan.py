"""The JavaScript literals a minifier must keep: strings, templates and regexes, in order.

From the same tree-sitter parser that checks every source's syntax (``jsparse``), so
the guard and the syntax check never disagree about where a regex or template starts
(a hand-written lexer has to guess whether ``/`` divides), at C speed.
"""

from __future__ import annotations

from ..jsparse import JSSyntaxError, literal_spans
from .guard import MinifyError, Span


def scan_js(source: str) -> list[Span]:
    """Outermost literals of ``source``; :class:`MinifyError` (with its line) when the
    text does not parse (a guard's input always has: its sources were checked)."""
    try:
        return [Span(start, end, kind) for start, end, kind in literal_spans(source)]
    except JSSyntaxError as exc:
        raise MinifyError(exc.message, exc.line) from None
