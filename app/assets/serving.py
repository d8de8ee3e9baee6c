"""Production serving through WhiteNoise.

WhiteNoise already does what a static server must get right: precompressed
``.br``/``.gz`` chosen by ``Accept-Encoding`` with ``Vary``, ETags and 304s, range
requests, and a file index built once at start-up (so no path from a URL ever
reaches the file system: ``..`` and absolute paths are simply not in the index).
We tell it which files are content-hashed and so may be cached forever, and give it
the index ourselves: only regular files inside ``static/`` after symlinks, never
``gen/dev/`` or dotfiles. The manifest is read per request (a build may replace it under
a running server), and a file deleted since start-up is a 404, not a dropped connection.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, request
from whitenoise import WhiteNoise

from .declare import OUTPUT_DIR, display_path

# name.<8 hex>.ext directly in gen/ (bundles and url() assets): safe to cache forever.
_HASHED = re.compile(rf"^{OUTPUT_DIR}/(?:[^/]+/)*[^/]+\.[0-9a-f]{{8}}\.[A-Za-z0-9]+$")
SHORT_MAX_AGE = 60
MANIFEST = f"{OUTPUT_DIR}/manifest.json"
DEV = f"{OUTPUT_DIR}/dev"

log = logging.getLogger("app.assets")
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
    wn = _WhiteNoise(app.wsgi_app, max_age=SHORT_MAX_AGE, add_headers_function=_headers)
    base = "/" + prefix.strip("/") + "/"
    files = servable_files(static)
    for path in files:
        rel = Path(path).relative_to(static).as_posix()
        if rel != MANIFEST:  # rebuilt under a running server: read per request instead
            wn.add_file_to_dictionary(base + rel, path, stat_cache=files)
    app.wsgi_app = wn  # type: ignore[method-assign]
    static_view = app.view_functions.get("static")
    if static_view is not None:
        app.view_functions["static"] = _guarded(static_view, static)


class _WhiteNoise(WhiteNoise):
    def serve(self, static_file: Any, environ: Any, start_response: Any) -> Any:
        try:
            return WhiteNoise.serve(static_file, environ, start_response)
        except OSError:
            # Gone since start-up (its index entry is older): the app answers, with a
            # 404 or the file as it is now, instead of a dropped connection.
            return self.application(environ, start_response)


def _skipped(rel: str) -> bool:
    # Lock files and temporaries are ours; gen/dev/ is development's (with source maps).
    parts = rel.split("/")
    return any(p.startswith(".") for p in parts) or rel == DEV or rel.startswith(DEV + "/")


def servable_files(static: Path) -> dict[str, os.stat_result]:
    """Regular files under ``static/`` production may serve, with their ``stat``.

    Symlinks are followed only while they stay inside ``static/``; FIFOs, sockets and
    dangling links are skipped. Anything skipped that a user made is named in one warning.
    """
    top = os.path.realpath(static)
    found: dict[str, os.stat_result] = {}
    odd: list[str] = []

    def walk(folder: str, rel: str, above: frozenset[str]) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            odd.append(f"{rel or '.'} ({exc.strerror})")
            return
        for e in entries:
            r = rel + e.name
            if _skipped(r):
                continue
            real = os.path.realpath(e.path)
            if not real.startswith(top + os.sep):
                odd.append(f"{r} (links outside static/)")
                continue
            try:
                st = os.stat(e.path)
            except OSError:
                odd.append(f"{r} (dangling symlink)")
                continue
            if stat.S_ISDIR(st.st_mode):
                if real not in above:  # a link to a folder above it would loop
                    walk(e.path, r + "/", above | {real})
            elif stat.S_ISREG(st.st_mode):
                found[e.path] = st
            else:
                odd.append(f"{r} (not a regular file)")

    walk(str(static), "", frozenset({top}))
    if odd:
        more = f" and {len(odd) - 5} more" if len(odd) > 5 else ""
        log.warning("%s: not served: %s%s", display_path(static), ", ".join(odd[:5]), more)
    return found


def _guarded(view: Callable[..., Any], static: Path) -> Callable[..., Any]:
    """Flask's fallback static route (files made after start-up): the same rules as the
    index, and the manifest read fresh on each request."""
    top = os.path.realpath(static)

    def static_view(filename: str) -> Any:
        path = os.path.join(static, filename)
        if _skipped(filename) or not os.path.realpath(path).startswith(top + os.sep):
            abort(404)
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                abort(404)  # a FIFO would block the worker
            if filename == MANIFEST:
                return _fresh(Path(path).read_bytes())
        except OSError:
            abort(404)
        return view(filename=filename)

    return static_view


def _fresh(data: bytes) -> Any:
    resp = Response(data, mimetype="application/json")
    resp.cache_control.public = True
    resp.cache_control.max_age = SHORT_MAX_AGE
    resp.set_etag(hashlib.sha256(data).hexdigest()[:32])
    return resp.make_conditional(request)
