"""Our webassets filters: what the chain lacks, around engines from ``engines.py``.

Compilers with exact dependencies (every file read, every folder an import looked
in), a JS syntax check on each source, url() files copied under hashed names, and a
JS join that cannot fuse files. The minifying filters are in ``minifying.py``.
"""

from __future__ import annotations

import os
import posixpath
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from webassets.filter import Filter

from .. import css_urls
from ..cache import PARSE_CACHE_MIN, Cache
from ..compilers import Compiler
from ..declare import OUTPUT_DIR, display_path
from ..digests import cache_key, file_digest, listing_digest, sha256_hex
from ..engines import lookup
from ..errors import AssetError, BuildError
from ..jsparse import JSSyntaxError, check_syntax, grammar_version
from ..load_path import LoadPath
from ..minifiers import join_js
from ..static_files import digest_path


@dataclass
class Collector:
    """What one bundle's compile read, shared by its filters."""

    load_path: LoadPath
    bundle: str
    cache: Cache | None = None
    files: list[str] = field(default_factory=list)  # logical paths, in order
    lookup_dirs: set[str] = field(default_factory=set)  # absolute folders
    # The bundle's output (static-relative, e.g. "gen/app.css"): url()s are relative to it.
    output: str = f"{OUTPUT_DIR}/bundle"
    # Files referenced by url() in CSS: logical path -> (digested copy, bytes).
    assets: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # the compilers', one line each
    _roots: tuple[str, ...] = ()

    def add(self, path: str | os.PathLike[str]) -> None:
        """Record a file the build read; one outside every static root is an error."""
        rel = self.load_path.logical(path)
        if rel is None or not self._inside_roots(path):
            raise BuildError(
                f"reads {display_path(Path(path))}, which is outside the static folders; "
                "move it under static/",
                bundle=self.bundle,
            )
        if rel not in self.files:
            self.files.append(rel)

    def _inside_roots(self, path: str | os.PathLike[str]) -> bool:
        # After symlinks: a link inside static/ must not publish a file from elsewhere.
        if not self._roots:
            self._roots = tuple(os.path.realpath(f) + os.sep for f in self.load_path.folders())
        return os.path.realpath(path).startswith(self._roots)


_compilers: dict[str, Compiler] = {}


def compiler(engine: str) -> Compiler:
    """One instance per engine per process (a compiler may keep a process alive)."""
    if engine not in _compilers:
        info = lookup(engine)
        assert info is not None and info.role == "compiler", engine
        _compilers[engine] = info.load().compiler()
    return _compilers[engine]


class CompileFilter(Filter):
    """Compile each source the engine handles; cached by every file and folder it used."""

    max_debug_level = None

    def __init__(self, engine: str, collector: Collector, *, dev: bool) -> None:
        super().__init__()
        self.name = engine
        self.engine = engine
        self.collector = collector
        self.dev = dev

    def unique(self) -> Any:
        return self.engine

    def input(self, _in: Any, out: Any, source_path: str, **kw: Any) -> None:
        engine = compiler(self.engine)
        if Path(source_path).suffix not in engine.suffixes:
            out.write(_in.read())
            return
        cache = self.collector.cache
        ck = cache_key("compile", self.engine, os.path.abspath(source_path), str(self.dev))
        hit = cache.get_json(ck) if cache else None
        if hit and _still_valid(hit):
            self._record(hit["files"], hit["dirs"], hit.get("warnings", ()))
            out.write(hit["css"])
            return
        started = time.time_ns()
        try:
            result = engine.compile(Path(source_path), self.collector.load_path, dev=self.dev)
        except AssetError as exc:
            exc.bundle = self.collector.bundle
            raise
        self._record(result.files_read, result.lookup_dirs, result.warnings)
        if cache and not _modified_since([*result.files_read, *result.lookup_dirs], started):
            entry = {
                "files": [[p, file_digest(p)] for p in result.files_read],
                "dirs": [[d, listing_digest(d, skip=OUTPUT_DIR)] for d in result.lookup_dirs],
                "css": result.text,
                "warnings": list(result.warnings),  # a cached compile still shows them
            }
            cache.put_json(ck, entry)
        out.write(result.text)

    def _record(self, files: Any, dirs: Any, warnings: Any) -> None:
        for f in files:
            self.collector.add(f if isinstance(f, str) else f[0])
        self.collector.lookup_dirs.update(d if isinstance(d, str) else d[0] for d in dirs)
        self.collector.warnings.extend(w for w in warnings if w not in self.collector.warnings)


def _still_valid(hit: dict[str, Any]) -> bool:
    return all(file_digest(p) == d for p, d in hit["files"]) and all(
        listing_digest(f, skip=OUTPUT_DIR) == d for f, d in hit["dirs"]
    )


def _modified_since(paths: list[str], started_ns: int) -> bool:
    """A file edited during the compile may not match the output: do not cache that."""
    for p in paths:
        try:
            if os.stat(p).st_mtime_ns >= started_ns - 10_000_000:
                return True
        except OSError:
            return True
    return False


class UrlFilter(Filter):
    """Point relative url()s at the files' digested copies (``gen/img/leaf.<hash>.svg``,
    the same copies ``static_files`` makes of every static file), relative to the output.

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

        def rewrite(m: re.Match[str]) -> str:
            url = css_urls.url_of(m)
            if not url or css_urls.EXTERNAL.match(url):
                return m.group(0)
            path_part = re.split(r"[?#]", url, maxsplit=1)[0]
            suffix = url[len(path_part) :]
            target = Path(os.path.normpath(base / path_part))
            try:
                logical = self.collector.load_path.logical(target)
                if logical is None:
                    raise ValueError(target)
                data = target.read_bytes()
            except (ValueError, OSError):
                raise self._missing(url, source_path) from None
            self.collector.add(target)
            rel = digest_path(logical, sha256_hex(data))
            self.collector.assets[logical] = (rel, data)
            href = posixpath.relpath(rel, posixpath.dirname(self.collector.output))
            return f'url("{href}{suffix}")'

        out.write(css_urls.URL.sub(rewrite, _in.read()))

    def _missing(self, url: str, source_path: str) -> BuildError:
        # The compiled CSS has no line of its own: find the source that wrote the url().
        lp = self.collector.load_path
        own = lp.logical(source_path)
        for rel in [*self.collector.files, *([own] if own else [])]:
            path = lp.path(rel)
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                continue
            for i, line in enumerate(lines, 1):
                if url in line:
                    return BuildError(
                        f"url({url}) names a file that does not exist in static/",
                        file=display_path(path),
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
    reported with its position) on every build until the file is fixed. Small texts
    parse faster (about 0.1 ms per KB) than a cache entry is written and read back.
    """
    if len(text) < PARSE_CACHE_MIN:
        cache = None
    ck = cache_key("js-syntax", grammar_version(), "classic", text) if cache else ""
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


class JoinJS(Filter):
    """Concatenate JS sources so that no file can change the meaning of the next."""

    name = "join_js"
    max_debug_level = None

    def concat(self, out: Any, hunks: list[Any], **kw: Any) -> None:
        out.write(join_js([h.data() for h, _ in hunks]))
