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
            raise sass_error(str(exc)) from None
        base = path.parent
        read = [os.path.abspath(base / src) for src in json.loads(smap)["sources"]]
        if not dev:
            css = _MAP_COMMENT.sub("\n", css)
        # An import is looked up beside the importing file, then in each include path:
        # a file created in one of those folders may change what it resolves to. The
        # last include path is the final fallback: a file there changes nothing found.
        dirs = {os.path.dirname(p) for p in read} | set(include[:-1])
        return CompileResult(css, tuple(read), tuple(sorted(dirs)))

    def close(self) -> None:
        pass


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
