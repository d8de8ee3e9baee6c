"""Production: templates' unchanged ``url_for('static', filename=...)`` link digested copies.

The app's own ``url_for`` is wrapped (``app.url_for``, which ``flask.url_for`` calls, and
the Jinja global bound to it): for the ``static`` endpoint, one dict lookup swaps the file
name for its digested copy (``img/leaf.svg`` -> ``gen/img/leaf.1a2b3c4d.svg``) and Flask
builds the URL as usual (script root, ``_external``, ``_anchor``); under ``ASSETS_URL``
the CDN URL is returned directly. A file not in the manifest keeps Flask's plain URL (and
a 404 when it does not exist). Cheaper than a ``url_defaults`` callback, which Flask runs
for every endpoint and which cannot return a CDN URL (``bench/static_files.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from .manifest import FileEntry


def digested_url_for(
    original: Callable[..., str], files: dict[str, FileEntry], base_url: str | None
) -> Callable[..., str]:
    """``original`` (an app's ``url_for``) linking the digested copies of ``files``."""
    digested = {logical: e.file for logical, e in files.items()}
    base = base_url.rstrip("/") + "/" if base_url else None

    def url_for(endpoint: str, /, **values: Any) -> str:
        if endpoint == "static":
            rel = digested.get(values.get("filename"))  # type: ignore[arg-type]
            if rel is not None:
                if base is not None and values.keys() <= {"filename", "_external"}:
                    return base + rel  # already absolute (or a CDN path)
                values["filename"] = rel
        return original(endpoint, **values)

    return url_for


def install(app: Flask, files: dict[str, FileEntry], base_url: str | None) -> None:
    """Make ``app`` link digested copies; nothing to do when the manifest lists none."""
    if not files:
        return
    url_for = digested_url_for(app.url_for, files, base_url)
    app.url_for = url_for  # type: ignore[method-assign]
    # Flask binds the Jinja global when it creates the environment: rebind it.
    app.jinja_env.globals["url_for"] = url_for
