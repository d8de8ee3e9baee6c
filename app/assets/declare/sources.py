"""Where declared paths lead: sources found through the load path, outputs under gen/.

A source is a logical path (or glob) owned by one root of the :class:`LoadPath`; it
must stay inside that root once symlinks are followed. An output always goes under
the primary root's ``gen/``.
"""

from __future__ import annotations

import glob
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

from ..errors import ConfigError
from ..load_path import LoadPath, Root
from .draft import Value
from .model import OUTPUT_DIR

_GLOB_CHARS = re.compile(r"[*?\[]")
# A path segment of an output: what every server, CDN and file system takes as is.
_SEGMENT = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")
# "%(version)s" with the one separator before it (or after it, at the start of a name).
_VERSION = re.compile(r"(?:(?<=/)|^)%\(version\)s[-._]?|[-._]?%\(version\)s")

ErrorFactory = Callable[[str, int | None, str | None], ConfigError]


class Sources:
    """Checks paths against one load path; remembers the glob patterns it expanded."""

    def __init__(self, load_path: LoadPath, error: ErrorFactory) -> None:
        self.load_path = load_path
        self.error = error
        self._globs: set[str] = set()
        self._real: dict[Path, str] = {}
        self._real_dirs: dict[str, str] = {}
        self._gen_dirs: dict[str, bool] = {}

    def globs(self) -> tuple[str, ...]:
        return tuple(sorted(self._globs))

    def expand(self, value: Value, bundle: str) -> list[str]:
        """The logical paths of the files a source (or glob) names, normalized."""
        pattern, line = value.text, value.line
        if "://" in pattern or pattern.startswith("//"):
            message = (
                f"source '{pattern}' is a remote URL: remote files are not bundled; "
                "vendor the file into static/ and name it here"
            )
            raise self.error(message, line, bundle)
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
        if not _inside(self.realpath(str(full)), self.real(root)):
            raise self.error(f"source '{logical}' is outside static/", line, bundle)
        try:
            mode = os.stat(full).st_mode
        except OSError:
            mode = 0
        if stat.S_ISDIR(mode):
            raise self.error(f"source '{logical}' is a directory, not a file", line, bundle)
        if not stat.S_ISREG(mode):
            raise self.error(
                f"source '{logical}' not found (looked in static/; not a bundle name either)",
                line,
                bundle,
            )
        return root.prefix + os.path.normpath(rest).replace(os.sep, "/").lstrip("/")

    def is_output(self, logical: str) -> bool:
        """Whether a logical path is under the primary root's ``gen/``."""
        root, rest = self.load_path.root_of(logical)
        if root is not self.load_path.primary:
            return False
        return os.path.normpath(rest).split(os.sep, 1)[0] == OUTPUT_DIR

    def output(self, value: Value, bundle: str) -> str:
        """Where the output is built, relative to the primary root: always under ``gen/``.

        webassets writes outputs anywhere under its directory (``js/packed.js``); here they
        are built at the same relative path under ``gen/`` (``gen/js/packed.js``), so
        ``gen/`` stays the one folder the build owns. A leftover ``%(version)s`` is dropped
        with the separator before it: outputs are content-hashed anyway.
        """
        text, line = value.text, value.line
        plain = _VERSION.sub("", text)
        where = (
            f"output '{text}' must be a relative path inside static/ (built under {OUTPUT_DIR}/)"
        )
        if not plain or os.path.isabs(plain) or "\\" in plain or plain.startswith("~"):
            raise self.error(where, line, bundle)
        parts = plain.split("/")
        if any(p in ("..",) for p in parts):
            raise self.error(where, line, bundle)
        parts = [p for p in parts if p not in ("", ".")]
        for part in parts:
            if len(part.encode("utf-8")) > 255:
                raise self.error(
                    f"output '{text[:40]}...': a path segment is over 255 bytes", line, bundle
                )
            if not _SEGMENT.match(part):
                shown = text.encode("unicode_escape").decode("ascii")
                raise self.error(
                    f"output '{shown}' may use only letters, digits and '._-/', "
                    "with no segment starting with '.'",
                    line,
                    bundle,
                )
        if not parts:
            raise self.error(where, line, bundle)
        if parts[0] != OUTPUT_DIR:
            parts = [OUTPUT_DIR, *parts]
        norm = "/".join(parts)
        if len(parts) > 2 and parts[1] == "dev":
            message = (
                f"output '{text}' would land in {OUTPUT_DIR}/dev/, where development builds go"
            )
            raise self.error(message, line, bundle)
        if Path(norm).suffix not in (".css", ".js"):
            raise self.error(f"output '{text}' must end in .css or .js", line, bundle)
        static = self.load_path.static
        gen_real = os.path.join(self.real(self.load_path.primary), OUTPUT_DIR)
        # A symlinked gen/ (or subfolder) must not lead writes outside static/gen/.
        for existing in (os.path.join(static, OUTPUT_DIR), os.path.dirname(static / norm)):
            if not self._inside_gen(existing, gen_real):
                raise self.error(f"output '{text}' resolves outside static/gen/", line, bundle)
        return norm

    def realpath(self, path: str) -> str:
        """``os.path.realpath``, each folder resolved once: a large spec names many
        files in few folders, and resolving is an ``lstat`` per path segment."""
        folder, name = os.path.split(path)
        if name in ("", ".", "..") or os.path.islink(path):
            return os.path.realpath(path)
        real = self._real_dirs.get(folder)
        if real is None:
            real = self._real_dirs[folder] = os.path.realpath(folder)
        return os.path.join(real, name)

    def _inside_gen(self, folder: str, gen_real: str) -> bool:
        """Whether an output folder (if it exists) resolves inside ``gen/``; each folder
        is resolved once, not once per bundle written to it."""
        if folder not in self._gen_dirs:
            real = os.path.realpath(folder)
            self._gen_dirs[folder] = not os.path.exists(folder) or _inside(real, gen_real)
        return self._gen_dirs[folder]

    def real(self, root: Root) -> str:
        """The root folder with symlinks resolved (computed once per root)."""
        if root.folder not in self._real:
            self._real[root.folder] = os.path.realpath(root.folder)
        return self._real[root.folder]


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
