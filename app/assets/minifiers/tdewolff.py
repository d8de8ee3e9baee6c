"""tdewolff-minify (Go, PyPI wheel ``tdewolff-minify``): what its JS and CSS engines share.

Its settings are global to the process, so they are set once, under a lock that every
call holds (the development server builds on several threads).
"""

from __future__ import annotations

import re
import threading

from .guard import MinifyError

# ECMAScript version whose syntax the minifier may *introduce* (0 = the newest: it turns
# ``a != null ? a : b`` into ``a ?? b``, which Safari 12 cannot parse). 5 keeps to
# syntax the input already uses; on the benchmark corpus it costs under 0.1 % of gzip.
JS_VERSION = 5

_lock = threading.Lock()
_configured = False
_POSITION = re.compile(r" on line (\d+) and column (\d+)")


def run(engine: str, mediatype: str, text: str) -> str:
    """Minify ``text``; raises MinifyError with the input line of a syntax error."""
    global _configured
    import minify  # imported on first use: production never loads it

    with _lock:
        if not _configured:
            minify.config({"js-version": JS_VERSION})
            _configured = True
        try:
            return str(minify.string(mediatype, text))
        except minify.MinifyError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "failed"
            m = _POSITION.search(first)
            message = _POSITION.sub("", first) + (f", column {m.group(2)}" if m else "")
            line = int(m.group(1)) if m else None
            raise MinifyError(f"{engine} failed: {message}", line) from None
