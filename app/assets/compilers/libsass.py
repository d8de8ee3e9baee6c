"""libsass: SCSS through the C library (the chosen compiler).

Its source map's ``sources`` name every file a compile read, partials that only
define mixins included: an exact dependency list without parsing ``@import``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from ..declare import display_path
from ..errors import BuildError
from ..load_path import LoadPath
from . import CompileResult

_WHERE = re.compile(r"on line (\d+)(?::(\d+))? of (.+?)\s*$", re.MULTILINE)
_MAP_COMMENT = re.compile(r"\n?/\*# sourceMappingURL=[^*]*\*/\s*$")
# The module system, which libsass does not implement: it copies these rules into the
# CSS unchanged (a 23-byte "stylesheet" that styles nothing), so they are an error.
_MODULE_RULE = re.compile(r"^[ \t]*@(use|forward)\b[^\n]*", re.MULTILINE)


class LibSass:
    suffixes = (".scss", ".sass")

    def compile(self, path: Path, load_path: LoadPath, *, dev: bool) -> CompileResult:
        import sass

        include = [str(f) for f in load_path.folders()]
        try:
            css, smap = sass.compile(
                filename=str(path),
                source_map_filename=f"{path}.map",
                output_style="expanded",
                include_paths=include,
                source_map_embed=dev,
                source_map_contents=dev,
            )
        except sass.CompileError as exc:
            err = sass_error(str(exc))
            # Module-system code usually fails to parse first (``math.div(...)``): say why.
            failed = [str(path)] + ([os.path.abspath(err.file)] if err.file else [])
            _refuse_module_system(failed, None, path)
            raise err from None
        base = path.parent
        read = [os.path.abspath(base / src) for src in json.loads(smap)["sources"]]
        _refuse_module_system(read, css, path)
        if not dev:
            css = _MAP_COMMENT.sub("\n", css)
        # An import is looked up beside the importing file, then in each include path:
        # a file created in one of those folders may change what it resolves to. The
        # last include path is the final fallback: a file there changes nothing found.
        dirs = {os.path.dirname(p) for p in read} | set(include[:-1])
        return CompileResult(css, tuple(read), tuple(sorted(dirs)))

    def close(self) -> None:
        pass


def _refuse_module_system(read: list[str], css: str | None, entry: Path) -> None:
    """Fail in one line on ``@use``/``@forward``, naming the file and line.

    libsass copies such a rule into the CSS (it takes it for a CSS at-rule), so the
    sources are searched only when the CSS has one (``css=None``: it failed to compile).
    """
    if css is not None and not _MODULE_RULE.search(css):
        return
    for p in read:
        try:
            text = Path(p).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        m = _MODULE_RULE.search(text)
        if m:
            line = text.count("\n", 0, m.start()) + 1
            raise _module_error(m.group(1), display_path(Path(p)), line)
    m = _MODULE_RULE.search(css or "")
    if m:  # reached the output some other way (an inline source, an @import of CSS)
        raise _module_error(m.group(1), display_path(entry), None)


def _module_error(rule: str, file: str, line: int | None) -> BuildError:
    return BuildError(
        f"@{rule} is the Sass module system, which libsass does not implement (it would "
        "ship the rule as CSS): switch this bundle's filter to dartsass",
        file=file,
        line=line,
    )


def sass_error(text: str) -> BuildError:
    first = text.strip().splitlines()[0] if text.strip() else "compile error"
    first = first.removeprefix("Error: ").strip()
    m = _WHERE.search(text)
    if not m:
        return BuildError(f"SCSS error: {first}")
    line, col, path = int(m.group(1)), m.group(2), m.group(3)
    col_txt = f" (column {col})" if col else ""
    return BuildError(f"SCSS error: {first}{col_txt}", file=display_path(Path(path)), line=line)


def compiler() -> LibSass:
    return LibSass()
