"""The one module that imports webassets: spec -> webassets Bundles and filters.

webassets resolves contents, nests bundles and runs the filter chain; our filters
add what it lacks: libsass with an exact dependency list (from the source map),
minifiers that verify they kept the program's meaning, and a JS join that cannot
fuse two files into one expression.
"""

from __future__ import annotations

import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sass
from webassets import Bundle
from webassets import Environment as WebassetsEnvironment
from webassets.filter import Filter

from .errors import BuildError
from .minify import MinifyError, join_js, minify_css, minify_js
from .spec import BundleSpec, Ref, Spec, display_path


@dataclass
class Collector:
    """What one compile read, shared by the filters of one bundle build."""

    static: Path
    bundle: str
    files: list[str] = field(default_factory=list)

    def add(self, path: str | os.PathLike[str]) -> None:
        rel = Path(os.path.relpath(os.path.abspath(path), self.static)).as_posix()
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
        for src in json.loads(smap).get("sources", []):
            self.collector.add(os.path.join(base, src))
        if not self.dev:
            css = _MAP_COMMENT.sub("\n", css)
        out.write(css)


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


class MinifyFilter(Filter):
    """Run a verified minifier over the whole bundle."""

    max_debug_level = None

    def __init__(self, engine: str, kind: str, bundle: str) -> None:
        super().__init__()
        self.name = engine
        self.engine = engine
        self.kind = kind
        self.bundle = bundle

    def output(self, _in: Any, out: Any, **kw: Any) -> None:
        fn = minify_css if self.kind == "css" else minify_js
        try:
            out.write(fn(_in.read(), self.engine))
        except MinifyError as exc:
            where = f" at line {exc.line} of the joined bundle" if exc.line else ""
            raise BuildError(f"{self.engine}: {exc.args[0]}{where}", bundle=self.bundle) from None

    def unique(self) -> Any:
        return self.engine


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
    filters: list[Filter] = []
    for name in bundle.filters:
        if name == "libsass":
            filters.append(SassFilter(collector, dev=dev))
        elif minify:
            filters.append(MinifyFilter(name, bundle.kind, bundle.name))
    if bundle.kind == "js":
        filters.append(JoinJS())
    return Bundle(*contents, filters=filters)


def compile_bundle(spec: Spec, name: str, *, minify: bool = True, dev: bool = False) -> Compiled:
    """Build one bundle in memory; raises :class:`BuildError` with file and line."""
    bundle = spec.bundles[name]
    collector = Collector(spec.static_folder, name)
    wa = to_bundle(spec, bundle, collector, minify=minify, dev=dev)
    wa.output = bundle.output or f"{name}.{bundle.kind}"  # written to a buffer, not here
    wa.env = make_environment(spec.static_folder)
    buf = io.StringIO()
    try:
        wa.build(force=True, output=buf)
    except BuildError:
        raise
    except UnicodeDecodeError as exc:
        raise BuildError(f"a source is not valid UTF-8 ({exc.reason})", bundle=name) from None
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
    return Compiled(name, bundle.kind, text.encode("utf-8"), tuple(files))


@dataclass(frozen=True)
class Compiled:
    name: str
    kind: str
    data: bytes
    sources: tuple[str, ...]  # every file read, relative to static/
