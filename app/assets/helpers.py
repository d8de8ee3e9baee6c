"""Jinja globals: ``bundle_url(name)``, ``bundle_tags(name, **attrs)``, ``bundle_preload``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

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


_ATTR_NAME = re.compile(r"^[A-Za-z_:][-A-Za-z0-9_:.]*$")
# Ours to set: a template overriding them would break SRI or the link itself.
_RESERVED = frozenset({"href", "src", "rel", "integrity", "as"})


def _attrs(attrs: dict[str, Any]) -> str:
    """``defer=True, async_=True, nonce="x"`` -> `` defer async nonce="x"``, escaped.

    A trailing ``_`` is dropped (``async_``, ``type_``) and other ``_`` become ``-``
    (``data_x`` -> ``data-x``); False and None leave the attribute out.
    """
    out = []
    for key, value in attrs.items():
        name = key.removesuffix("_").replace("_", "-") if key != "_" else key
        if not _ATTR_NAME.match(name) or name.lower() in _RESERVED:
            raise TypeError(f"bundle_tags(): attribute {key!r} cannot be set here")
        if value is None or value is False:
            continue
        out.append(f" {name}" if value is True else f' {name}="{escape(value)}"')
    return "".join(out)


def _tag(kind: str, url: str, attrs: str) -> str:
    if kind == "css":
        return f'<link rel="stylesheet" href="{escape(url)}"{attrs}>'
    return f'<script src="{escape(url)}"{attrs}></script>'


def _sri(state: PipelineState, integrity: str, crossorigin: Any) -> str:
    if not state.sri:
        return ""
    cors = "anonymous" if crossorigin is None else crossorigin
    return f' integrity="{escape(integrity)}" crossorigin="{escape(cors)}"'


def bundle_tags(name: str, **attrs: Any) -> Markup:
    """The ``<link>``/``<script>`` tag(s) of a bundle, with SRI when ``ASSETS_SRI``.

    Extra attributes are escaped: ``bundle_tags("js_all", defer=True, nonce=csp_nonce())``,
    ``async_=True``, ``type="module"``, ``media="print"``, ``crossorigin="use-credentials"``.
    """
    state = _state()
    crossorigin = attrs.pop("crossorigin", None)
    extra = _attrs(attrs)
    sources = source_urls(name, state)
    if sources is not None:
        kind = state.resolver.spec().bundles[name].kind
        cors = "" if crossorigin is None else f' crossorigin="{escape(crossorigin)}"'
        return Markup("\n".join(_tag(kind, u, cors + extra) for u in sources))
    entry = bundle_entry(name, state)
    if entry is None:
        return Markup(f"<!-- bundle '{escape(name)}' failed to build -->")
    sri = _sri(state, entry.integrity, crossorigin)
    if state.auto_build:
        sri += f' data-bundle="{escape(name)}"'  # the live-reload client finds it by name
    return Markup(_tag(entry.type, entry_url(entry, state.base_url), sri + extra))


def bundle_preload(name: str, **attrs: Any) -> Markup:
    """``<link rel="preload">`` for a bundle, with the same ``integrity``/``crossorigin``
    as its tag, so the browser uses the preloaded response instead of fetching twice."""
    state = _state()
    crossorigin = attrs.pop("crossorigin", None)
    extra = _attrs(attrs)
    sources = source_urls(name, state)
    if sources is not None:
        kind = state.resolver.spec().bundles[name].kind
        cors = "" if crossorigin is None else f' crossorigin="{escape(crossorigin)}"'
        return Markup("\n".join(_preload(kind, u, cors + extra) for u in sources))
    entry = bundle_entry(name, state)
    if entry is None:
        return Markup("")
    sri = _sri(state, entry.integrity, crossorigin)
    return Markup(_preload(entry.type, entry_url(entry, state.base_url), sri + extra))


def _preload(kind: str, url: str, attrs: str) -> str:
    kind_as = "style" if kind == "css" else "script"
    return f'<link rel="preload" href="{escape(url)}" as="{kind_as}"{attrs}>'
