"""minify (tdewolff-minify) for CSS.

It drops what it cannot parse without a word (``a{`` ``b{`` becomes ``a{}``), so its
input is parsed first with lightningcss: a broken stylesheet fails with its line.
"""

from __future__ import annotations

from ..cssparse import CSSSyntaxError, check_css
from .guard import MinifyError
from .options import MinifyOptions
from .tdewolff import run


def minify(text: str, options: MinifyOptions | None = None) -> str:
    try:
        check_css(text)
    except CSSSyntaxError as exc:
        raise MinifyError(f"CSS parse error: {exc.message}", exc.line) from None
    return run("minify", "text/css", text)
