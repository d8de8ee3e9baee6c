"""Jinja globals: ``bundle_url(name)`` and ``bundle_tags(name)``."""

from __future__ import annotations

from flask import current_app
from markupsafe import Markup, escape

from .manifest import Entry


def _state():  # type: ignore[no-untyped-def]
    return current_app.extensions["assets"]


def entry_url(entry: Entry, base_url: str | None) -> str:
    """The public URL of a built file: the manifest's, or under ``ASSETS_URL`` (a CDN)."""
    if base_url:
        return f"{base_url.rstrip('/')}/{entry.file}"
    return entry.url


def bundle_url(name: str) -> str:
    state = _state()
    return entry_url(state.resolver.entry(name), state.base_url)


def bundle_tags(name: str) -> Markup:
    state = _state()
    entry = state.resolver.entry(name)
    url = escape(entry_url(entry, state.base_url))
    sri = ""
    if state.sri:
        sri = f' integrity="{escape(entry.integrity)}" crossorigin="anonymous"'
    if entry.type == "css":
        return Markup(f'<link rel="stylesheet" href="{url}"{sri}>')
    return Markup(f'<script src="{url}"{sri}></script>')
