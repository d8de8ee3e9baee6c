"""Jinja globals: ``bundle_url(name)`` and ``bundle_tags(name)``."""

from __future__ import annotations

from flask import current_app
from markupsafe import Markup, escape

from .errors import AssetError, MissingBundleError
from .manifest import Entry


def _state():  # type: ignore[no-untyped-def]
    return current_app.extensions["assets"]


def entry_url(entry: Entry, base_url: str | None) -> str:
    """The public URL of a built file: the manifest's, or under ``ASSETS_URL`` (a CDN)."""
    if base_url:
        return f"{base_url.rstrip('/')}/{entry.file}"
    return entry.url


def _entry(name: str) -> Entry | None:
    """The bundle's entry; in development a failed first build yields None (the overlay
    shows the error) instead of a 500."""
    state = _state()
    try:
        return state.resolver.entry(name)
    except MissingBundleError:
        raise
    except AssetError:
        if state.auto_build:
            return None
        raise


def bundle_url(name: str) -> str:
    entry = _entry(name)
    return entry_url(entry, _state().base_url) if entry else ""


def bundle_tags(name: str) -> Markup:
    state = _state()
    entry = _entry(name)
    if entry is None:
        return Markup(f"<!-- bundle '{escape(name)}' failed to build -->")
    url = escape(entry_url(entry, state.base_url))
    attrs = ""
    if state.sri:
        attrs += f' integrity="{escape(entry.integrity)}" crossorigin="anonymous"'
    if state.auto_build:
        attrs += f' data-bundle="{escape(name)}"'  # the live-reload client finds it by name
    if entry.type == "css":
        return Markup(f'<link rel="stylesheet" href="{url}"{attrs}>')
    return Markup(f'<script src="{url}"{attrs}></script>')
