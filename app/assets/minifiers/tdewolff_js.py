"""minify (tdewolff-minify) for JavaScript: a parser, so it renames locals and needs no guard.

Every minified bundle is parsed again with tree-sitter (``bridge/bundle.py``).
"""

from __future__ import annotations

from .options import MinifyOptions
from .tdewolff import run


def minify(text: str, options: MinifyOptions | None = None) -> str:
    return run("minify", "application/javascript", text)
