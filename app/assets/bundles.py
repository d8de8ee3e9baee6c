"""The one module that imports webassets: spec -> webassets Bundles and filters.

webassets resolves contents, nests bundles and runs the filter chain; our filters
add what it lacks: libsass with an exact dependency list (from the source map),
a JS syntax check (a real parser, on each source and on the minified bundle),
minifiers that verify they kept the program's meaning, and a JS join that cannot
fuse two files into one expression.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sass
from webassets import Bundle
from webassets import Environment as WebassetsEnvironment
from webassets.filter import Filter

from .cache import Cache, file_digest, key
from .errors import BuildError
from .jsparse import JSSyntaxError, check_syntax, grammar_version
from .minify import MinifyError, join_js, minify_css, minify_js
from .spec import BundleSpec, Ref, Spec, display_path


@dataclass
class Collector:
    """What one compile read, shared by the filters of one bundle build."""

    static: Path
    bundle: str
    cache: Cache | None = None
    files: list[str] = field(default_factory=list)
    # Files referenced by url() in CSS: hashed name (beside the output) -> bytes.
    assets: dict[str, bytes] = field(default_factory=dict)

    def add(self, path: str | os.PathLike[str]) -> None:
        full = os.path.abspath(path)
        root = str(self.static) + os.sep
        # Every save in development passes here: a prefix cut, not relpath, when inside.
        rel = full[len(root) :] if full.startswith(root) else os.path.relpath(full, self.static)
        rel = rel.replace(os.sep, "/")
        if rel not in self.files:
            self.files.append(rel)


_SASS_WHERE = re.compile(r"on line (\d+)(?::(\d+))? of (.+?)\s*$", re.MULTILINE)
_MAP_COMMENT = re.compile(r"\n?/\*# sourceMappingURL=[^*]*\*/\s*$")


class SassFilter(Filter):
    """Compile each .scss/.sass source with libsass, recording every file it read."""

    name = "libsass"
    max_debug_level = None

    def __init__(self, collector: Collector, *, dev: bool) -> None:
        super().__init__()
        self.collector = collector
        self.dev = dev

    def input(self, _in: Any, out: Any, source_path: str, **kw: Any) -> None:
        if Path(source_path).suffix not in (".scss", ".sass"):
            out.write(_in.read())
            return
        cache = self.collector.cache
        ck = key("sass", os.path.abspath(source_path), str(self.dev))
        hit = cache.get_json(ck) if cache else None
        if hit and all(file_digest(p) == d for p, d in hit["deps"]):
            for p, _ in hit["deps"]:
                self.collector.add(p)
            out.write(hit["css"])
            return
        started = time.time_ns()
        try:
            css, smap = sass.compile(
                filename=source_path,
                source_map_filename=source_path + ".map",
                output_style="expanded",
                include_paths=[str(self.collector.static)],
                source_map_embed=self.dev,
                source_map_contents=self.dev,
            )
        except sass.CompileError as exc:
            raise _sass_error(str(exc), self.collector.bundle) from None
        base = os.path.dirname(source_path)
        deps = [os.path.abspath(os.path.join(base, src)) for src in json.loads(smap)["sources"]]
        for p in deps:
            self.collector.add(p)
        if not self.dev:
            css = _MAP_COMMENT.sub("\n", css)
        if cache and not _modified_since(deps, started):
            # A list keeps libsass's order of sources.
            cache.put_json(ck, {"deps": [[p, file_digest(p)] for p in deps], "css": css})
        out.write(css)


def _modified_since(paths: list[str], started_ns: int) -> bool:
    """A file edited during the compile may not match the output: do not cache that."""
    for p in paths:
        try:
            if os.stat(p).st_mtime_ns >= started_ns - 10_000_000:
                return True
        except OSError:
            return True
    return False


def _sass_error(text: str, bundle: str) -> BuildError:
    first = text.strip().splitlines()[0] if text.strip() else "compile error"
    first = first.removeprefix("Error: ").strip()
    m = _SASS_WHERE.search(text)
    if not m:
        return BuildError(f"SCSS error: {first}", bundle=bundle)
    line, col, path = int(m.group(1)), m.group(2), m.group(3)
    col_txt = f" (column {col})" if col else ""
    return BuildError(
        f"SCSS error: {first}{col_txt}", file=display_path(Path(path)), line=line, bundle=bundle
    )


def digest_name(output: str, data: bytes) -> str:
    """``gen/app.css`` -> ``gen/app.1a2b3c4d.css`` (first 8 hex of the content's sha256)."""
    digest = hashlib.sha256(data).hexdigest()[:8]
    stem, dot, ext = output.rpartition(".")
    if not dot or "/" in ext:
        return f"{output}.{digest}"
    return f"{stem}.{digest}.{ext}"


_URL = re.compile(r"""url\(\s*(?:(["'])(.*?)\1|([^)'"\s]+))\s*\)""")
_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|/|#)", re.IGNORECASE)


class UrlFilter(Filter):
    """Copy files referenced by relative url()s under hashed names; point the CSS at them.

    A url() resolves relative to the source file that names it (for SCSS, the entry
    point: libsass does not rewrite urls from partials), as a browser would.
    """

    name = "css_urls"
    max_debug_level = None

    def __init__(self, collector: Collector) -> None:
        super().__init__()
        self.collector = collector

    def input(self, _in: Any, out: Any, source_path: str, **kw: Any) -> None:
        base = Path(source_path).parent
        static = self.collector.static

        def rewrite(m: re.Match[str]) -> str:
            url = m.group(2) if m.group(1) else m.group(3)
            if not url or _EXTERNAL.match(url):
                return m.group(0)
            path_part = re.split(r"[?#]", url, maxsplit=1)[0]
            suffix = url[len(path_part) :]
            target = Path(os.path.normpath(base / path_part))
            try:
                target.relative_to(static)
                data = target.read_bytes()
            except (ValueError, OSError):
                raise self._missing(url, source_path) from None
            self.collector.add(target)
            name = digest_name(target.name, data)
            self.collector.assets[name] = data
            return f'url("{name}{suffix}")'

        out.write(_URL.sub(rewrite, _in.read()))

    def _missing(self, url: str, source_path: str) -> BuildError:
        # The compiled CSS has no line of its own: find the source that wrote the url().
        static = self.collector.static
        for rel in [*self.collector.files, Path(source_path).relative_to(static).as_posix()]:
            try:
                lines = (static / rel).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                continue
            for i, line in enumerate(lines, 1):
                if url in line:
                    return BuildError(
                        f"url({url}) names a file that does not exist in static/",
                        file=display_path(static / rel),
                        line=i,
                        bundle=self.collector.bundle,
                    )
        return BuildError(
            f"url({url}) names a file that does not exist in static/",
            file=display_path(Path(source_path)),
            bundle=self.collector.bundle,
        )


def js_parses(text: str, cache: Cache | None) -> None:
    """Raise JSSyntaxError unless ``text`` is a valid classic script; cache a pass by content.

    Only the verdict "this exact text parsed" is cached: an error is re-found (and so
    reported with its position) on every build until the file is fixed.
    """
    ck = key("js-syntax", grammar_version(), "classic", text) if cache else ""
    if cache and cache.get(ck) is not None:
        return
    check_syntax(text, module=False)
    if cache:
        cache.put(ck, b"ok")


class JSSyntaxFilter(Filter):
    """Parse every JS source as the user wrote it, before any other filter changes it.

    First in each JS bundle's filter list, so the line and column it reports refer to
    the source file itself. Equal across bundles (same name, no ``unique()``), so a
    nested bundle's file is checked once, under the name of the bundle being compiled.
    """

    name = "js_syntax"
    max_debug_level = None

    def __init__(self, collector: Collector) -> None:
        super().__init__()
        self.collector = collector

    def input(self, _in: Any, out: Any, source_path: str, **kw: Any) -> None:
        text = _in.read()
        try:
            js_parses(text, self.collector.cache)
        except JSSyntaxError as exc:
            raise BuildError(
                exc.message,
                file=display_path(Path(source_path)),
                line=exc.line,
                column=exc.column,
                bundle=self.collector.bundle,
            ) from None
        out.write(text)


class MinifyFilter(Filter):
    """A verified minifier, cached by content: per file for JS, per bundle for CSS."""

    max_debug_level = None

    def __init__(self, engine: str, kind: str, bundle: str, cache: Cache | None) -> None:
        super().__init__()
        self.name = engine
        self.engine = engine
        self.kind = kind
        self.bundle = bundle
        self.cache = cache

    def _minify(self, text: str, source: str | None) -> str:
        ck = key("min", self.kind, self.engine, text)
        if self.cache:
            hit = self.cache.get(ck)
            if hit is not None:
                return hit.decode("utf-8")
        fn = minify_css if self.kind == "css" else minify_js
        try:
            result = fn(text, self.engine)
        except MinifyError as exc:
            if source:
                raise BuildError(
                    f"{self.engine}: {exc.args[0]}",
                    file=display_path(Path(source)),
                    line=exc.line,
                    bundle=self.bundle,
                ) from None
            where = f" at line {exc.line} of the compiled bundle" if exc.line else ""
            raise BuildError(f"{self.engine}: {exc.args[0]}{where}", bundle=self.bundle) from None
        if self.cache:
            self.cache.put(ck, result.encode("utf-8"))
        return result

    def unique(self) -> Any:
        return self.engine


class JSMinifyFilter(MinifyFilter):
    """Minify each JS file on its own, so an edit re-minifies only that file."""

    def input(self, _in: Any, out: Any, source_path: str, **kw: Any) -> None:
        out.write(self._minify(_in.read(), source_path))


class CSSMinifyFilter(MinifyFilter):
    """Minify the compiled CSS of the whole bundle."""

    def output(self, _in: Any, out: Any, **kw: Any) -> None:
        out.write(self._minify(_in.read(), None))


class JoinJS(Filter):
    """Concatenate JS sources so that no file can change the meaning of the next."""

    name = "join_js"
    max_debug_level = None

    def concat(self, out: Any, hunks: list[Any], **kw: Any) -> None:
        out.write(join_js([h.data() for h, _ in hunks]))


def make_environment(static_folder: Path, static_url: str = "/static") -> WebassetsEnvironment:
    env = WebassetsEnvironment(directory=str(static_folder), url=static_url)
    # We own caching, versioning and the manifest; webassets only merges and filters.
    env.cache = False
    env.manifest = False
    env.auto_build = False
    env.url_expire = False
    return env


def to_bundle(
    spec: Spec, bundle: BundleSpec, collector: Collector, *, minify: bool, dev: bool
) -> Bundle:
    """Turn one declared bundle (nested ones included) into a webassets Bundle."""
    contents: list[Any] = []
    for item in bundle.contents:
        if isinstance(item, Ref):
            contents.append(
                to_bundle(spec, spec.bundles[item.name], collector, minify=minify, dev=dev)
            )
        elif isinstance(item, BundleSpec):
            contents.append(to_bundle(spec, item, collector, minify=minify, dev=dev))
        else:
            contents.append(item)
    # Syntax first, on the untouched sources: positions must be the user's own.
    filters: list[Filter] = [JSSyntaxFilter(collector)] if bundle.kind == "js" else []
    for name in bundle.filters:
        if name == "libsass":
            filters.append(SassFilter(collector, dev=dev))
        elif minify:
            cls = CSSMinifyFilter if bundle.kind == "css" else JSMinifyFilter
            filters.append(cls(name, bundle.kind, bundle.name, collector.cache))
    if bundle.kind == "js":
        filters.append(JoinJS())
    elif not any(isinstance(c, Ref | BundleSpec) for c in bundle.contents):
        filters.append(UrlFilter(collector))
    return Bundle(*contents, filters=filters)


def compile_bundle(
    spec: Spec,
    name: str,
    *,
    minify: bool = True,
    dev: bool = False,
    cache: Cache | None = None,
) -> Compiled:
    """Build one bundle in memory; raises :class:`BuildError` with file and line."""
    bundle = spec.bundles[name]
    for rel in spec.files(name):
        # Deleted or renamed since assets.yml was read (development keeps the spec).
        if not (spec.static_folder / rel).is_file():
            raise BuildError(
                f"source '{rel}' no longer exists in static/; restore it or update assets.yml",
                file=display_path(spec.path),
                line=bundle.line,
                bundle=name,
            )
    collector = Collector(spec.static_folder, name, cache)
    wa = to_bundle(spec, bundle, collector, minify=minify, dev=dev)
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
    for f in collector.files:
        if f not in files:
            files.append(f)
    text = buf.getvalue()
    if text and not text.endswith("\n"):
        text += "\n"
    if bundle.kind == "js":
        _check_output(spec, bundle, text, minify=minify, cache=cache)
    assets = tuple(sorted(collector.assets.items()))
    return Compiled(name, bundle.kind, text.encode("utf-8"), tuple(files), assets)


def _check_output(
    spec: Spec, bundle: BundleSpec, text: str, *, minify: bool, cache: Cache | None
) -> None:
    """Every source parsed, so a bundle that does not is the minifier's (or join's) fault."""
    try:
        js_parses(text, cache)
    except JSSyntaxError as exc:
        engines = _js_engines(spec, bundle) if minify else []
        who = "/".join(engines) or "join_js"
        what = "minified output" if engines else "joined bundle"
        raise BuildError(
            f"{who} produced invalid JavaScript: {exc.message} at line {exc.line} of the {what}",
            bundle=bundle.name,
        ) from None


def _js_engines(spec: Spec, bundle: BundleSpec) -> list[str]:
    """The minifiers a JS bundle (nested bundles included) runs, in order of appearance."""
    found: list[str] = []
    stack = [bundle]
    while stack:
        current = stack.pop(0)
        found += [f for f in current.filters if f != "libsass" and f not in found]
        for item in current.contents:
            if isinstance(item, Ref):
                stack.append(spec.bundles[item.name])
            elif isinstance(item, BundleSpec):
                stack.append(item)
    return found


def _decode_error(spec: Spec, name: str, exc: UnicodeDecodeError) -> BuildError:
    """webassets does not say which file failed to decode: find it, and the line."""
    for rel in spec.files(name):
        path = spec.static_folder / rel
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


@dataclass(frozen=True)
class Compiled:
    name: str
    kind: str
    data: bytes
    sources: tuple[str, ...]  # every file read, relative to static/
    assets: tuple[tuple[str, bytes], ...] = ()  # url() files: hashed name -> bytes
