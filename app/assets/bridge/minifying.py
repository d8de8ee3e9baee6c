"""Our minifying webassets filters: verified, re-parsed, cached by content and options.

JS is minified per file (an edit re-minifies one file) and every bundle is parsed again
with tree-sitter after the join (``bundle.py``). CSS is minified per bundle, and every
CSS minifier's output is parsed again here with lightningcss.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from webassets.filter import Filter

from ..cache import PARSE_CACHE_MIN, Cache
from ..cssparse import CSSSyntaxError, check_css, parser_version
from ..declare import display_path
from ..digests import cache_key
from ..errors import BuildError
from ..minifiers import NO_OPTIONS, MinifyError, MinifyOptions, minify


class MinifyFilter(Filter):
    """A verified minifier, cached by content: per file for JS, per bundle for CSS."""

    max_debug_level = None

    def __init__(
        self,
        engine: str,
        kind: str,
        bundle: str,
        cache: Cache | None,
        options: MinifyOptions = NO_OPTIONS,
    ) -> None:
        super().__init__()
        self.name = engine
        self.engine = engine
        self.kind = kind
        self.bundle = bundle
        self.cache = cache
        self.options = options

    def _minify(self, text: str, source: str | None) -> str:
        ck = cache_key("min", self.kind, self.engine, self.options.key(), text)
        if self.cache:
            hit = self.cache.get(ck)
            if hit is not None:
                return hit.decode("utf-8")
        try:
            result = minify(text, self.engine, self.kind, self.options)
        except MinifyError as exc:
            raise self._error(exc, source) from None
        self._check(text, result)
        if self.cache:
            self.cache.put(ck, result.encode("utf-8"))
        return result

    def _error(self, exc: MinifyError, source: str | None) -> BuildError:
        if source:
            return BuildError(
                f"{self.engine}: {exc.args[0]}",
                file=display_path(Path(source)),
                line=exc.line,
                bundle=self.bundle,
            )
        where = f" at line {exc.line} of the compiled bundle" if exc.line else ""
        return BuildError(f"{self.engine}: {exc.args[0]}{where}", bundle=self.bundle)

    def _check(self, text: str, result: str) -> None:
        """JS output is parsed once the bundle is joined (``bundle.py``)."""

    def unique(self) -> Any:
        return (self.engine, self.options.key())


class JSMinifyFilter(MinifyFilter):
    """Minify each JS file on its own, so an edit re-minifies only that file."""

    def input(self, _in: Any, out: Any, source_path: str, **kw: Any) -> None:
        out.write(self._minify(_in.read(), source_path))


class CSSMinifyFilter(MinifyFilter):
    """Minify the compiled CSS of the whole bundle; parse the result with lightningcss."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.sources: list[tuple[str, str]] = []  # (path, compiled CSS): to place errors

    def input(self, _in: Any, out: Any, source_path: str, **kw: Any) -> None:
        text = _in.read()
        self.sources.append((source_path, text))
        out.write(text)

    def output(self, _in: Any, out: Any, **kw: Any) -> None:
        out.write(self._minify(_in.read(), None))

    def _check(self, text: str, result: str) -> None:
        """A minifier broke the CSS if its output does not parse but its input did.

        Input lightningcss rejects (an IE ``*zoom`` hack) passes through cssmin and rcssmin
        as it always has; minify and lightningcss fail on it first, in ``_error``.
        """
        cache = self.cache if len(result) >= PARSE_CACHE_MIN else None
        ck = cache_key("css-syntax", parser_version(), result) if cache else ""
        if cache and cache.get(ck) is not None:
            return
        try:
            check_css(result)
        except CSSSyntaxError as exc:
            try:
                check_css(text)
            except CSSSyntaxError:
                return
            where = f" at line {exc.line} of the minified output" if exc.line else ""
            raise BuildError(
                f"{self.engine} produced invalid CSS: {exc.message}{where}", bundle=self.bundle
            ) from None
        if cache:
            cache.put(ck, b"ok")

    def _error(self, exc: MinifyError, source: str | None) -> BuildError:
        """A CSS parse error names the source file it is in (and its line, in a .css)."""
        for path, text in self.sources if exc.line else ():
            try:
                check_css(text)
            except CSSSyntaxError as found:
                compiled = Path(path).suffix != ".css"
                note = f" (line {found.line} of the CSS compiled from it)" if compiled else ""
                return BuildError(
                    f"{self.engine}: CSS parse error: {found.message}{note}",
                    file=display_path(Path(path)),
                    line=None if compiled else found.line,
                    column=None if compiled else found.column,
                    bundle=self.bundle,
                )
        return super()._error(exc, source)
