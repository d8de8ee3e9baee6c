"""Jinja globals: ``bundle_url(name)`` and ``bundle_tags(name)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app
from markupsafe import Markup, escape

from .errors import AssetError, MissingBundleError
from .manifest import Entry

if TYPE_CHECKING:
    from .extension import PipelineState


def _state() -> PipelineState:
    return current_app.extensions["assets"]  # type: ignore[no-any-return]


def entry_url(entry: Entry, base_url: str | None) -> str:
    """The public URL of a built file: the manifest's, or under ``ASSETS_URL`` (a CDN)."""
    if base_url:
        return f"{base_url.rstrip('/')}/{entry.file}"
    return entry.url


def bundle_entry(name: str, state: PipelineState | None = None) -> Entry | None:
    """The bundle's entry; in development a failed first build yields None (the overlay
    shows the error) instead of a 500."""
    state = state or _state()
    try:
        return state.resolver.entry(name)
    except MissingBundleError:
        raise
    except AssetError:
        if state.auto_build:
            return None
        raise


def source_urls(name: str, state: PipelineState | None = None) -> list[str] | None:
    """With ``ASSETS_DEBUG`` (and auto-build), the URLs of a bundle's own source files.

    None when the bundle must be compiled (SCSS), as webassets builds such bundles
    even in debug mode.
    """
    state = state or _state()
    if not (state.assets_debug and state.auto_build):
        return None
    spec = state.resolver.spec()
    if name not in spec.outputs:
        state.resolver.entry(name)  # raises MissingBundleError naming it
    if spec.compiles(name):
        return None
    base = (state.base_url or state.static_url).rstrip("/")
    return [f"{base}/{src}" for src in spec.files(name, depends=False)]


def bundle_url(name: str) -> str:
    entry = bundle_entry(name)
    return entry_url(entry, _state().base_url) if entry else ""


def bundle_tags(name: str) -> Markup:
    state = _state()
    sources = source_urls(name, state)
    if sources is not None:
        kind = state.resolver.spec().bundles[name].kind
        tag = '<link rel="stylesheet" href="{}">' if kind == "css" else '<script src="{}"></script>'
        return Markup("\n".join(tag.format(escape(u)) for u in sources))
    entry = bundle_entry(name, state)
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
