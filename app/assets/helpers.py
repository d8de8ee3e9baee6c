"""Jinja globals: ``bundle_url(name)``, ``bundle_tags(name, **attrs)``, ``bundle_preload``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from .errors import AssetError, MissingBundleError
from .pipeline import Pipeline, current

if TYPE_CHECKING:
    from .manifest import Entry
    from .resolvers import View


def entry_url(entry: Entry, base_url: str | None) -> str:
    """The public URL of a built file: the manifest's, or under ``ASSETS_URL`` (a CDN)."""
    if base_url:
        return f"{base_url.rstrip('/')}/{entry.file}"
    return entry.url


def bundle_entry(
    name: str, pipeline: Pipeline | None = None, view: View | None = None
) -> Entry | None:
    """The bundle's entry; in development a failed first build yields None (the overlay
    shows the error) instead of a 500. ``view``: the resolver's, for this request."""
    pipeline = pipeline or current()
    try:
        return (view or pipeline.resolver).entry(name)
    except MissingBundleError:
        raise
    except AssetError:
        if pipeline.settings.auto_build:
            return None
        raise


def members(
    name: str, pipeline: Pipeline | None = None, view: View | None = None
) -> tuple[str, ...]:
    """The built bundles a template naming ``name`` links: itself, or a container's parts.

    In development an ``assets.yml`` that does not load yet gives ``(name,)``: the page
    renders and the overlay shows the error.
    """
    pipeline = pipeline or current()
    try:
        return (view or pipeline.resolver).members(name)
    except MissingBundleError:
        raise
    except AssetError:
        if pipeline.settings.auto_build:
            return (name,)
        raise


def source_urls(
    name: str, pipeline: Pipeline | None = None, view: View | None = None
) -> list[str] | None:
    """With ``ASSETS_DEBUG`` (and auto-build), the URLs of a bundle's own source files.

    None when the bundle must be compiled (SCSS), as webassets builds such bundles
    even in debug mode.
    """
    pipeline = pipeline or current()
    settings = pipeline.settings
    if not (settings.assets_debug and settings.auto_build):
        return None
    view = view or pipeline.resolver
    try:
        spec = view.spec()
    except AssetError:
        return None  # assets.yml does not load: bundle_entry gives the overlay its error
    if spec is None or name not in spec.outputs:
        view.entry(name)  # raises MissingBundleError naming it
    assert spec is not None  # auto-build: the dynamic resolver has the declarations
    if spec.compiles(name) or spec.bundles[name].debug is False:
        return None  # webassets builds these even in debug mode
    urls = []
    for src in spec.files(name, depends=False):
        root, rest = spec.load_path.root_of(src)
        if not root.url:
            return None  # a private source folder (webassets' directory): link the build
        if settings.base_url and root is spec.load_path.primary:
            urls.append(f"{settings.base_url.rstrip('/')}/{rest}")
        else:
            urls.append(spec.load_path.url(src))
    return urls


def bundle_url(name: str) -> str:
    pipeline = current()
    view = pipeline.resolver.view()
    parts = members(name, pipeline, view)
    if len(parts) != 1:
        raise AssetError(f"bundle '{name}' links {len(parts)} files; use bundle_tags('{name}')")
    entry = bundle_entry(parts[0], pipeline, view)
    return entry_url(entry, pipeline.settings.base_url) if entry else ""


def _kind(view: View, name: str) -> str:
    spec = view.spec()
    assert spec is not None  # only asked with ASSETS_DEBUG sources, in development
    return spec.bundles[name].kind


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


def _tag(kind: str, url: str) -> tuple[str, str]:
    """A tag around its attributes: what comes before them, and after."""
    if kind == "css":
        return f'<link rel="stylesheet" href="{escape(url)}"', ">"
    return f'<script src="{escape(url)}"', "></script>"


def _preload(kind: str, url: str) -> tuple[str, str]:
    kind_as = "style" if kind == "css" else "script"
    return f'<link rel="preload" href="{escape(url)}" as="{kind_as}"', ">"


def _sri(pipeline: Pipeline, integrity: str, cors: str) -> str:
    if not pipeline.settings.sri:
        return ""
    return f' integrity="{escape(integrity)}" crossorigin="{cors}"'


def bundle_tags(name: str, **attrs: Any) -> Markup:
    """The ``<link>``/``<script>`` tag(s) of a bundle, with SRI when ``ASSETS_SRI``.

    Extra attributes are escaped: ``bundle_tags("js_all", defer=True, nonce=csp_nonce())``,
    ``async_=True``, ``type="module"``, ``media="print"``, ``crossorigin="use-credentials"``.
    A bundle without an output (a container) gives the tags of each of its parts.
    """
    return _render(name, attrs, _tag)


def bundle_preload(name: str, **attrs: Any) -> Markup:
    """``<link rel="preload">`` for a bundle, with the same ``integrity``/``crossorigin``
    as its tag, so the browser uses the preloaded response instead of fetching twice."""
    return _render(name, attrs, _preload)


Make = Callable[[str, str], tuple[str, str]]
_MEMO_MAX = 4096  # tags kept per app: bundles x (tag, preload) x crossorigin values


def _render(name: str, attrs: dict[str, Any], make: Make) -> Markup:
    """One ``make(kind, url)`` per built part of bundle ``name``, attributes inside."""
    pipeline = current()
    crossorigin = attrs.pop("crossorigin", None)
    cors = "anonymous" if crossorigin is None else str(escape(crossorigin))
    extra = _attrs(attrs)
    view = pipeline.resolver.view()  # one read of the change gate per request
    out = []
    for part in members(name, pipeline, view):
        sources = source_urls(part, pipeline, view)
        if sources is not None:  # ASSETS_DEBUG: the sources, without SRI
            kind = _kind(view, part)
            given = "" if crossorigin is None else f' crossorigin="{cors}"'
            out += [head + given + extra + tail for head, tail in (make(kind, u) for u in sources)]
            continue
        entry = bundle_entry(part, pipeline, view)
        if entry is None:  # development: the overlay shows why
            if make is not _preload:
                out.append(f"<!-- bundle '{escape(part)}' failed to build -->")
            continue
        head, tail = _built_tag(pipeline, part, entry, cors, make)
        out.append(head + extra + tail)
    return Markup("\n".join(out))


def _built_tag(
    pipeline: Pipeline, part: str, entry: Entry, cors: str, make: Make
) -> tuple[str, str]:
    """The tag of a built part around where its extra attributes go, remembered per
    entry: a rebuild makes a new entry object, so it is never served from an old one."""
    key = (part, make, cors)
    memo = pipeline.tags.get(key)
    if memo is not None and memo[0] is entry:
        return memo[1], memo[2]
    head, tail = make(entry.type, entry_url(entry, pipeline.settings.base_url))
    head += _sri(pipeline, entry.integrity, cors)
    if pipeline.settings.auto_build and make is not _preload:
        head += f' data-bundle="{escape(part)}"'  # the live-reload client finds it by name
    if len(pipeline.tags) >= _MEMO_MAX:
        pipeline.tags.clear()
    pipeline.tags[key] = (entry, head, tail)
    return head, tail
