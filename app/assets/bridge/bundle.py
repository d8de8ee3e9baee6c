"""A declared bundle, built in memory by webassets' filter chain with our filters."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from webassets import Bundle
from webassets import Environment as WebassetsEnvironment
from webassets.filter import Filter

from ..cache import Cache
from ..compiled import Compiled
from ..declare import OUTPUT_DIR, BundleSpec, Ref, Spec, display_path
from ..engines import lookup
from ..errors import BuildError
from ..jsparse import JSSyntaxError
from ..minifiers import MinifyOptions
from .filters import Collector, CompileFilter, JoinJS, JSSyntaxFilter, UrlFilter, js_parses
from .minifying import CSSMinifyFilter, JSMinifyFilter


def make_environment(static_folder: Path, static_url: str = "/static") -> WebassetsEnvironment:
    env = WebassetsEnvironment(directory=str(static_folder), url=static_url)
    # We own caching, versioning and the manifest; webassets only merges and filters.
    env.cache = False
    env.manifest = False
    env.auto_build = False
    env.url_expire = False
    return env


def _filters(
    bundle: BundleSpec, collector: Collector, *, minify: bool, dev: bool, browsers: tuple[str, ...]
) -> list[Filter]:
    # Syntax first, on the untouched sources: positions must be the user's own.
    filters: list[Filter] = [JSSyntaxFilter(collector)] if bundle.kind == "js" else []
    options = MinifyOptions(browsers=browsers)
    for name in bundle.filters:
        info = lookup(name, bundle.kind)
        assert info is not None, name  # the spec accepts registered names only
        if info.role == "compiler":
            filters.append(CompileFilter(info.name, collector, dev=dev))
        elif minify:
            cls = CSSMinifyFilter if bundle.kind == "css" else JSMinifyFilter
            filters.append(cls(info.name, bundle.kind, bundle.name, collector.cache, options))
    if bundle.kind == "js":
        filters.append(JoinJS())
    elif not any(isinstance(c, Ref | BundleSpec) for c in bundle.contents):
        filters.append(UrlFilter(collector))
    return filters


def to_bundle(
    spec: Spec,
    bundle: BundleSpec,
    collector: Collector,
    *,
    minify: bool,
    dev: bool,
    browsers: tuple[str, ...] = (),
) -> Bundle:
    """Turn one declared bundle (nested ones included) into a webassets Bundle.

    ``browsers``: the browserslist queries (``ASSETS_BROWSERS``) its minifiers target.
    """
    if bundle.browsers is not None:  # the bundle's config; nested bundles inherit it
        browsers = bundle.browsers
    contents: list[Any] = []
    for item in bundle.contents:
        nested = spec.bundles[item.name] if isinstance(item, Ref) else item
        if isinstance(nested, BundleSpec):
            b = to_bundle(spec, nested, collector, minify=minify, dev=dev, browsers=browsers)
            contents.append(b)
        else:
            contents.append(str(spec.load_path.path(nested)))  # absolute: any static root
    filters = _filters(bundle, collector, minify=minify, dev=dev, browsers=browsers)
    return Bundle(*contents, filters=filters)


def compile_bundle(
    spec: Spec,
    name: str,
    *,
    minify: bool = True,
    dev: bool = False,
    cache: Cache | None = None,
    browsers: tuple[str, ...] = (),
) -> Compiled:
    """Build one bundle in memory; raises :class:`BuildError` with file and line.

    ``browsers``: ``Settings.browsers``, the targets of lightningcss's prefixes and lowering.
    """
    bundle = spec.bundles[name]
    for rel in spec.files(name):
        # Deleted or renamed since assets.yml was read (development keeps the spec).
        if not spec.load_path.path(rel).is_file():
            raise BuildError(
                f"source '{rel}' no longer exists in static/; restore it or update assets.yml",
                file=display_path(spec.path),
                line=bundle.line,
                bundle=name,
            )
    output = bundle.output or f"{OUTPUT_DIR}/{name}.{bundle.kind}"
    collector = Collector(spec.load_path, name, cache, output=output)
    wa = to_bundle(spec, bundle, collector, minify=minify, dev=dev, browsers=browsers)
    wa.output = bundle.output or f"{name}.{bundle.kind}"  # written to a buffer, not here
    wa.env = make_environment(spec.static_folder)
    buf = io.StringIO()
    try:
        wa.build(force=True, output=buf)
    except BuildError:
        raise
    except UnicodeDecodeError as exc:
        raise _decode_error(spec, name, exc) from None
    except OSError as exc:
        target = display_path(Path(exc.filename)) if exc.filename else None
        raise BuildError(f"cannot read source: {exc.strerror}", file=target, bundle=name) from None
    except Exception as exc:  # webassets wraps filter failures in its own types
        raise BuildError(f"{type(exc).__name__}: {exc}", bundle=name) from None
    files = list(spec.files(name))
    files += [f for f in collector.files if f not in files]
    text = buf.getvalue()
    if text and not text.endswith("\n"):
        text += "\n"
    if bundle.kind == "js":
        _check_output(spec, bundle, text, minify=minify, cache=cache)
    assets = tuple(sorted((lg, rel, data) for lg, (rel, data) in collector.assets.items()))
    return Compiled(
        name,
        bundle.kind,
        text.encode("utf-8"),
        tuple(files),
        assets,
        tuple(sorted(collector.lookup_dirs)),
        tuple(collector.warnings),
    )


def _check_output(
    spec: Spec, bundle: BundleSpec, text: str, *, minify: bool, cache: Cache | None
) -> None:
    """Every source parsed, so a bundle that does not is the minifier's (or join's) fault."""
    try:
        js_parses(text, cache)
    except JSSyntaxError as exc:
        engines = _minifiers(spec, bundle) if minify else []
        who = "/".join(engines) or "join_js"
        what = "minified output" if engines else "joined bundle"
        raise BuildError(
            f"{who} produced invalid JavaScript: {exc.message} at line {exc.line} of the {what}",
            bundle=bundle.name,
        ) from None


def _minifiers(spec: Spec, bundle: BundleSpec) -> list[str]:
    """The minifiers a bundle (nested bundles included) runs, in order of appearance."""
    found: list[str] = []
    stack = [bundle]
    while stack:
        current = stack.pop(0)
        for f in current.filters:
            info = lookup(f, current.kind)
            if info is not None and info.role == "minifier" and info.name not in found:
                found.append(info.name)
        for item in current.contents:
            if isinstance(item, Ref):
                stack.append(spec.bundles[item.name])
            elif isinstance(item, BundleSpec):
                stack.append(item)
    return found


def _decode_error(spec: Spec, name: str, exc: UnicodeDecodeError) -> BuildError:
    """webassets does not say which file failed to decode: find it, and the line."""
    for rel in spec.files(name):
        path = spec.load_path.path(rel)
        try:
            raw = path.read_bytes()
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            line = raw.count(b"\n", 0, bad.start) + 1
            return BuildError(
                f"not valid UTF-8 ({bad.reason}); save it as UTF-8",
                file=display_path(path),
                line=line,
                bundle=name,
            )
        except OSError:
            continue
    return BuildError(f"a source is not valid UTF-8 ({exc.reason})", bundle=name)
