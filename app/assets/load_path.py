"""Where static files live: the app's static folder and each blueprint's, in order.

Sources are named by *logical paths*, as in ``assets.yml``: ``js/main.js`` is in the
app's static folder; ``admin/js/x.js`` is ``js/x.js`` in blueprint ``admin``'s static
folder when that blueprint has one (Flask-Assets' rule). Outputs always go to the app's
folder (the *primary* root), under ``gen/``. No Flask import: callers build the roots.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Root:
    folder: Path  # absolute
    prefix: str = ""  # "" for the app's folder, "admin/" for blueprint admin's
    url: str = "/static"  # the URL path the folder is served under ("": not served)


class LoadPath:
    """Ordered static roots: ``find(logical)`` gives the file, ``logical(path)`` the name."""

    def __init__(self, roots: Iterable[Root]) -> None:
        # Absolute folders: logical() compares them with absolute paths.
        self.roots = tuple(
            r if r.folder.is_absolute() else Root(Path(os.path.abspath(r.folder)), r.prefix, r.url)
            for r in roots
        )
        if not self.roots or self.roots[0].prefix:
            raise ValueError("the first root must be the app's static folder (no prefix)")
        for r in self.roots[1:]:
            if r.prefix == "" and not r.url:
                continue  # a source folder (webassets' directory/load_path): not served
            if not r.prefix.endswith("/") or r.prefix.startswith("/"):
                raise ValueError(f"a blueprint root's prefix is 'name/', not {r.prefix!r}")
        # Unprefixed roots, searched in order: source folders first, the app's folder last.
        self._plain = (*(r for r in self.roots[1:] if not r.prefix), self.roots[0])
        # Longest prefix first: a blueprint's prefix decides before the app's "".
        self._by_prefix = sorted(self.roots, key=lambda r: len(r.prefix), reverse=True)
        # Longest folder first: a nested root claims its own files.
        self._by_folder = sorted(self.roots, key=lambda r: len(str(r.folder)), reverse=True)

    @classmethod
    def single(cls, folder: str | os.PathLike[str], url: str = "/static") -> LoadPath:
        return cls([Root(Path(os.path.abspath(folder)), "", url)])

    def with_sources(self, folders: Iterable[Path]) -> LoadPath:
        """This load path with extra source folders (searched before the app's; not served)."""
        extra = [Root(Path(os.path.abspath(f)), "", "") for f in folders]
        extra = [r for r in extra if r not in self.roots]
        if not extra:
            return self
        return LoadPath([self.roots[0], *extra, *self.roots[1:]])

    @property
    def primary(self) -> Root:
        """The app's static folder: outputs (``gen/``) live here."""
        return self.roots[0]

    @property
    def static(self) -> Path:
        return self.primary.folder

    def folders(self) -> list[Path]:
        return [r.folder for r in self.roots]

    def root_of(self, logical: str) -> tuple[Root, str]:
        """The root that owns a logical path, and the path inside that root."""
        for root in self._by_prefix:
            if root.prefix and logical.startswith(root.prefix):
                return root, logical[len(root.prefix) :]
        if len(self._plain) > 1:
            # The first folder holding the path (for a glob: its folder part) owns it.
            fixed = re.split(r"[*?\[]", logical, maxsplit=1)[0]
            probe = fixed if fixed == logical else fixed.rpartition("/")[0]
            for root in self._plain:
                if (root.folder / probe.lstrip("/")).exists():
                    return root, logical
        return self.primary, logical

    def path(self, logical: str) -> Path:
        """Where ``logical`` is (or would be): the file system path, existing or not."""
        root, rest = self.root_of(logical)
        # "admin//x" must not become the absolute "/x" (pathlib drops what is left of it).
        return root.folder / rest.lstrip("/")

    def find(self, logical: str) -> Path | None:
        """The file for a logical path, or None when there is no such file.

        A path leading out of its root (``..``, a symlink) finds nothing.
        """
        path = self.path(logical)
        if not path.is_file():
            return None
        root = os.path.realpath(self.root_of(logical)[0].folder)
        return path if os.path.realpath(path).startswith(root.rstrip(os.sep) + os.sep) else None

    def logical(self, path: str | os.PathLike[str]) -> str | None:
        """The logical path of a file under some root (None outside them all)."""
        full = os.path.abspath(path)
        for root in self._by_folder:
            base = str(root.folder).rstrip(os.sep) + os.sep
            if full.startswith(base):
                logical = root.prefix + full[len(base) :].replace(os.sep, "/")
                # A file of the app's folder under "admin/" is hidden by blueprint admin's:
                # no logical path names it.
                return logical if self.root_of(logical)[0] is root else None
        return None

    def url(self, logical: str) -> str:
        """The URL a source file is served at (``ASSETS_DEBUG`` links sources)."""
        root, rest = self.root_of(logical)
        return f"{root.url.rstrip('/')}/{rest}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LoadPath) and self.roots == other.roots

    def __hash__(self) -> int:
        return hash(self.roots)

    def __repr__(self) -> str:
        return f"LoadPath({list(self.roots)!r})"
