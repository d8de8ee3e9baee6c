"""Joining whole scripts so that none can change the meaning of its neighbour."""

from __future__ import annotations

import re

_LINE_BREAK = re.compile(r"[\n\r\u2028\u2029]")


def _ends_with_semicolon(part: str) -> bool:
    """Whether the part's last line is a plain statement ending in ``;``.

    Cheap and conservative: looks at the last line only, never scans the whole file. A
    false "no" costs one empty statement; a false "yes" could fuse two files, so a line
    with any character that might start a comment or a literal counts as "no".
    """
    text = part.rstrip()
    breaks = list(_LINE_BREAK.finditer(text, max(0, len(text) - 65536)))
    last = text[breaks[-1].end() :] if breaks else text
    if not breaks and len(text) > 65536:
        return False  # a huge single line (minified code): don't guess
    return last.endswith(";") and not any(c in last for c in "/'\"`")


def join_js(parts: list[str]) -> str:
    """Concatenate whole JS files so that none can change the meaning of its neighbour.

    Each part gets a trailing newline (ending any trailing ``//`` comment) and, unless it
    already ends with ``;``, a ``;`` line: an empty statement is harmless between complete
    scripts but stops ``})()`` + ``(() => ...)()`` becoming one call.  Separators only ever go
    *after* a part, so a file's leading ``"use strict"`` directive stays a directive.
    """
    out: list[str] = []
    for index, part in enumerate(parts):
        if not part.strip():
            continue
        if index and part.startswith("#!"):
            # A hashbang is only legal at the very start of a script.
            part = "//" + part
        if not part.endswith(("\n", "\r", "\u2028", "\u2029")):
            part += "\n"
        out.append(part)
        if not _ends_with_semicolon(part):
            out.append(";\n")
    return "".join(out)
