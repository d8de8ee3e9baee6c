"""Where declared paths lead: sources found through the load path, outputs under gen/.

A source is a logical path (or glob) owned by one root of the :class:`LoadPath`; it
must stay inside that root once symlinks are followed. An output always goes under
the primary root's ``gen/``.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable
from pathlib import Path

from ..errors import ConfigError
from ..load_path import LoadPath, Root
from .draft import Value
from .model import OUTPUT_DIR, VERSION_PLACEHOLDER

_GLOB_CHARS = re.compile(r"[*?\[]")

ErrorFactory = Callable[[str, int | None, str | None], ConfigError]


class Sources:
    """Checks paths against one load path; remembers the glob patterns it expanded."""

    def __init__(self, load_path: LoadPath, error: ErrorFactory) -> None:
        self.load_path = load_path
        self.error = error
        self._globs: set[str] = set()
        self._real: dict[Path, str] = {}

    def globs(self) -> tuple[str, ...]:
        return tuple(sorted(self._globs))

    def expand(self, value: Value, bundle: str) -> list[str]:
        """The logical paths of the files a source (or glob) names, normalized."""
        pattern, line = value.text, value.line
        if os.path.isabs(pattern) or pattern.startswith("~"):
            raise self.error(f"source '{pattern}' must be relative to static/", line, bundle)
        matches = self.glob(pattern, line, bundle) if _GLOB_CHARS.search(pattern) else [pattern]
        return [self.check(logical, line, bundle) for logical in matches]

    def glob(self, pattern: str, line: int, bundle: str) -> list[str]:
        """Matches in the root owning the pattern, sorted, build outputs left out."""
        self._globs.add(pattern)
        root, rest = self.load_path.root_of(pattern)
        matches = sorted(
            root.prefix + p
            for p in glob.glob(rest, root_dir=root.folder, recursive=True)
            if (root.folder / p).is_file() and not self.is_output(root.prefix + p)
        )
        if not matches:
            raise self.error(f"glob '{pattern}' matches no file in static/", line, bundle)
        return matches

    def check(self, logical: str, line: int, bundle: str) -> str:
        if self.is_output(logical):
            raise self.error(f"source '{logical}' is a build output (under gen/)", line, bundle)
        root, rest = self.load_path.root_of(logical)
        full = self.load_path.path(logical)
        if not _inside(os.path.realpath(full), self.real(root)):
            raise self.error(f"source '{logical}' is outside static/", line, bundle)
        if full.is_dir():
            raise self.error(f"source '{logical}' is a directory, not a file", line, bundle)
        if not full.is_file():
            raise self.error(
                f"source '{logical}' not found (looked in static/; not a bundle name either)",
                line,
                bundle,
            )
        return root.prefix + Path(os.path.normpath(rest)).as_posix().lstrip("/")

    def is_output(self, logical: str) -> bool:
        """Whether a logical path is under the primary root's ``gen/``."""
        root, rest = self.load_path.root_of(logical)
        parts = Path(os.path.normpath(rest)).parts
        return root is self.load_path.primary and bool(parts) and parts[0] == OUTPUT_DIR

    def output(self, value: Value, bundle: str) -> str:
        """The output path relative to the primary root, version placeholder removed."""
        text, line = value.text, value.line
        plain = text.replace("." + VERSION_PLACEHOLDER, "").replace(VERSION_PLACEHOLDER, "")
        norm = os.path.normpath(plain) if plain else ""
        if (
            os.path.isabs(plain)
            or not norm.startswith(OUTPUT_DIR + os.sep)
            or ".." in Path(plain).parts
            or "%" in norm
        ):
            raise self.error(
                f"output '{text}' must be a file under static/{OUTPUT_DIR}/ (e.g. gen/app.css)",
                line,
                bundle,
            )
        if Path(norm).suffix not in (".css", ".js"):
            raise self.error(f"output '{text}' must end in .css or .js", line, bundle)
        static = self.load_path.static
        gen_real = os.path.join(self.real(self.load_path.primary), OUTPUT_DIR)
        # A symlinked gen/ (or subfolder) must not lead writes outside static/gen/.
        for existing in (static / OUTPUT_DIR, (static / norm).parent):
            if existing.exists() and not _inside(os.path.realpath(existing), gen_real):
                raise self.error(f"output '{text}' resolves outside static/gen/", line, bundle)
        return Path(norm).as_posix()

    def real(self, root: Root) -> str:
        """The root folder with symlinks resolved (computed once per root)."""
        if root.folder not in self._real:
            self._real[root.folder] = os.path.realpath(root.folder)
        return self._real[root.folder]


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
