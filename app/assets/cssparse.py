"""CSS syntax checks with a real parser (lightningcss, Rust), for minified output.

:func:`check_css` parses a stylesheet without error recovery and raises
:class:`CSSSyntaxError` at the first error with a 1-based line and column of the text
given. lightningcss rejects what no browser can read (an empty or broken selector, a
stray ``}``, a broken at-rule prelude, ``*zoom``-style IE hacks) but accepts any value
of a declaration it does not know, as browsers do.

No Flask, no webassets; lightningcss is imported on first use.
"""

from __future__ import annotations

import functools
import re

__all__ = ["CSSSyntaxError", "check_css", "parse_error", "parser_version"]

# lightningcss 0.3.2 (Python) formats "<what> at <file>:<line>:<column>", line 0-based.
_AT = re.compile(r"^(?:Parsing stylesheet failed: )?(?P<msg>.*?) at (?:.*):(\d+):(\d+)$", re.S)


class CSSSyntaxError(Exception):
    """The first error of a stylesheet: ``message`` at ``line``:``column`` (1-based)."""

    def __init__(self, message: str, line: int | None, column: int | None) -> None:
        super().__init__(message, line, column)  # all in args: pickles across processes
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        return self.message if self.line is None else f"{self.message} (line {self.line})"


def parse_error(exc: Exception) -> CSSSyntaxError:
    """lightningcss's ValueError as a CSSSyntaxError with 1-based line and column."""
    text = str(exc).strip()
    m = _AT.match(text)
    if m is None:
        return CSSSyntaxError(text.removeprefix("Parsing stylesheet failed: "), None, None)
    return CSSSyntaxError(m.group("msg"), int(m.group(2)) + 1, int(m.group(3)))


@functools.cache
def parser_version() -> str:
    """Names the parser, for cache keys of parse verdicts."""
    from importlib.metadata import version

    return f"lightningcss-{version('lightningcss')}"


def check_css(text: str) -> None:
    """Raise :class:`CSSSyntaxError` unless lightningcss parses ``text`` without recovery."""
    import lightningcss

    try:
        lightningcss.process_stylesheet(text, error_recovery=False, minify=True)
    except ValueError as exc:
        raise parse_error(exc) from None
