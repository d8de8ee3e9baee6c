"""Production serving through WhiteNoise.

WhiteNoise already does what a static server must get right: precompressed
``.br``/``.gz`` chosen by ``Accept-Encoding`` with ``Vary``, ETags and 304s, range
requests, and a file index built once at start-up (so no path from a URL ever
reaches the file system: ``..`` and absolute paths are simply not in the index).
We only tell it which files are content-hashed and so may be cached forever.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, abort
from whitenoise import WhiteNoise

from .declare import OUTPUT_DIR

# name.<8 hex>.ext directly in gen/ (bundles and url() assets): safe to cache forever.
_HASHED = re.compile(rf"^{OUTPUT_DIR}/(?:[^/]+/)*[^/]+\.[0-9a-f]{{8}}\.[A-Za-z0-9]+$")
SHORT_MAX_AGE = 60
# A year: the longest value caches honour; the name changes whenever the bytes do.
FOREVER = "public, max-age=31536000, immutable"


def is_hashed(path: str, url: str) -> bool:
    rel = url.split("/static/", 1)[-1] if "/static/" in url else url.lstrip("/")
    return bool(_HASHED.match(rel))


def _headers(headers: Any, path: str, url: str) -> None:
    if is_hashed(path, url):
        headers["Cache-Control"] = FOREVER


def wrap_static(app: Flask, static: Path, prefix: str) -> None:
    """Serve ``static/`` through WhiteNoise in front of the Flask app."""
    wn = WhiteNoise(
        app.wsgi_app,
        root=str(static),
        prefix=prefix.strip("/") + "/",
        max_age=SHORT_MAX_AGE,
        add_headers_function=_headers,
    )
    # Lock files and temporaries are ours, not the site's.
    wn.files = {url: f for url, f in wn.files.items() if "/." not in url}
    app.wsgi_app = wn  # type: ignore[method-assign]
    static_view = app.view_functions.get("static")
    if static_view is not None:
        app.view_functions["static"] = _no_hidden(static_view)


def _no_hidden(view: Callable[..., Any]) -> Callable[..., Any]:
    """Flask's fallback static route: never serve dotfiles (locks, temporaries)."""

    def static(filename: str) -> Any:
        if any(part.startswith(".") for part in filename.split("/")):
            abort(404)
        return view(filename=filename)

    return static
