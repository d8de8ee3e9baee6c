"""The manifest: what the current build produced, as versioned, sorted JSON.

One validating parser reads every manifest (disk, a URL, a bucket): anything it
accepts is safe to emit into a page, and anything else is one :class:`ManifestError`.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .compiled import Compiled
from .declare import OUTPUT_DIR, display_path
from .digests import digest_name, integrity
from .errors import ManifestError
from .manifest_parts import layout, parse_extra, parse_groups
from .output import atomic_write

VERSION = 1
FILENAME = "manifest.json"
# A built file: under gen/, plain segments (no "..", no leading dot), no URL syntax.
_FILE = re.compile(
    rf"^{OUTPUT_DIR}/(?:[A-Za-z0-9_-][A-Za-z0-9._-]*/)*[A-Za-z0-9_-][A-Za-z0-9._-]*$"
)
# A static file's logical path: the same plain segments (the digested copy's name is built
# from it); other files keep their plain URLs.
_LOGICAL = re.compile(r"^(?:[A-Za-z0-9_-][A-Za-z0-9._-]*/)*[A-Za-z0-9_-][A-Za-z0-9._-]*$")


def plain_path(logical: str) -> bool:
    """Whether a static file's name can be digested and listed (plain segments)."""
    return bool(_LOGICAL.match(logical))


_INTEGRITY = re.compile(r"^sha(?:256|384|512)-[A-Za-z0-9+/]+={0,2}$")
TYPES = ("css", "js")
# Far more than any real manifest: a bigger file is not one of ours.
MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Entry:
    file: str  # relative to static/, e.g. "gen/app.1a2b3c4d.css"
    url: str
    type: str
    integrity: str
    bytes: int
    sources: tuple[str, ...]
    # Files the output names by url(): their digested copies (static-relative, e.g.
    # "gen/img/leaf.1a2b3c4d.svg", also in the manifest's ``files``; builds before
    # those put them beside the output); None when unknown (older manifests).
    assets: tuple[str, ...] | None = None

    def files(self) -> tuple[str, ...]:
        return (self.file, *(self.assets or ()))

    @classmethod
    def of(cls, compiled: Compiled, output: str, static_url: str) -> Entry:
        """The entry of a compiled bundle declared with ``output`` (e.g. ``gen/app.css``)."""
        rel = digest_name(output, compiled.data)
        return cls(
            file=rel,
            url=f"{static_url.rstrip('/')}/{rel}",
            type=compiled.kind,
            integrity=integrity(compiled.data),
            bytes=len(compiled.data),
            sources=compiled.sources,
            assets=tuple(rel for _, rel, _ in compiled.assets),
        )


@dataclass(frozen=True)
class FileEntry:
    """A static file's digested copy (JSON ``files``): ``img/leaf.svg`` ->
    ``gen/img/leaf.1a2b3c4d.svg``, what ``url_for('static', ...)`` links in production."""

    file: str  # relative to static/
    url: str
    integrity: str
    bytes: int


@dataclass(frozen=True)
class Manifest:
    bundles: dict[str, Entry]
    # Older builds kept for rolling deploys, newest first.
    previous: tuple[dict[str, Entry], ...] = field(default=())
    # Digested static files (logical path -> copy), and those of each build in
    # ``previous`` (JSON ``previous_files``, parallel to ``previous``).
    files: dict[str, FileEntry] = field(default_factory=dict)
    previous_files: tuple[dict[str, FileEntry], ...] = field(default=())
    # Bundles without an output that templates name: the bundles each links, in order.
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # webassets' ``extra`` of a bundle (EXTRA in the ``{% assets %}`` tag).
    extra: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_json(self) -> bytes:
        doc: dict[str, Any] = {"version": VERSION, "bundles": _dump(self.bundles)}
        if self.files:
            doc["files"] = _dump_files(self.files)
        if self.previous:
            doc["previous"] = [_dump(b) for b in self.previous]
            if any(self.previous_files):
                doc["previous_files"] = [_dump_files(f) for f in self._aligned()]
        if self.groups:
            doc["groups"] = {n: list(m) for n, m in self.groups.items()}
        if self.extra:
            doc["extra"] = self.extra
        return layout(doc).encode()

    def _aligned(self) -> tuple[dict[str, FileEntry], ...]:
        """``previous_files`` with one map per build in ``previous``."""
        pad = len(self.previous) - len(self.previous_files)
        return (*self.previous_files, *({} for _ in range(pad)))[: len(self.previous)]

    def builds(self) -> tuple[dict[str, Entry], ...]:
        return (self.bundles, *self.previous)

    def file_builds(self) -> tuple[dict[str, FileEntry], ...]:
        """The digested static files of each kept build, current first."""
        return (self.files, *self._aligned())

    def successor(
        self, bundles: dict[str, Entry], keep: int, files: dict[str, FileEntry] | None = None
    ) -> Manifest:
        """The manifest of a new build: this one's files move to ``previous`` (rolling
        deploys may still link them) when the new build differs, ``keep`` at most."""
        files = self.files if files is None else files
        previous, previous_files = self.previous, self._aligned()
        changed = _files(self.bundles) != _files(bundles) or _files(self.files) != _files(files)
        if (self.bundles or self.files) and changed:
            previous = (self.bundles, *previous)
            previous_files = (self.files, *previous_files)
        new = replace(self, bundles=bundles, files=files)
        return new.with_history(previous, previous_files, keep)

    def updated(
        self, bundles: dict[str, Entry], files: dict[str, FileEntry] | None = None
    ) -> Manifest:
        """The same build with some bundles rebuilt (``build <bundle>``): no new history."""
        new_files = self.files if files is None else files
        merged = {**self.bundles, **bundles}
        return replace(self, bundles=merged, files=new_files, previous_files=self._aligned())

    def trimmed(self, keep: int) -> Manifest:
        """This manifest keeping ``keep`` older builds at most."""
        return self.with_history(self.previous, self._aligned(), keep)

    def with_history(
        self,
        previous: tuple[dict[str, Entry], ...],
        previous_files: tuple[dict[str, FileEntry], ...],
        keep: int,
    ) -> Manifest:
        n = max(keep, 0)
        return replace(self, previous=previous[:n], previous_files=previous_files[:n])


def _files(entries: dict[str, Entry] | dict[str, FileEntry]) -> dict[str, str]:
    return {n: e.file for n, e in entries.items()}


def _dump_files(files: dict[str, FileEntry]) -> dict[str, Any]:
    return {logical: asdict(e) for logical, e in files.items()}


def _dump(bundles: dict[str, Entry]) -> dict[str, Any]:
    return {name: entry_doc(e) for name, e in bundles.items()}


def entry_doc(e: Entry) -> dict[str, Any]:
    """An entry as JSON, the manifest's and the build records' (by hand: faster than asdict)."""
    doc: dict[str, Any] = {"file": e.file, "url": e.url, "type": e.type}
    doc.update(integrity=e.integrity, bytes=e.bytes, sources=list(e.sources))
    if e.assets is not None:
        doc["assets"] = list(e.assets)
    return doc


def entry_from(name: str, e: Any, where: str) -> Entry:
    """An entry from JSON, validated; ValueError naming ``where`` when it is not one."""
    if not isinstance(e, dict):
        raise ValueError(f"bundle '{name}' in '{where}' must be an object")
    file, url, kind, sri = (e.get(k) for k in ("file", "url", "type", "integrity"))
    size, sources, assets = e.get("bytes"), e.get("sources"), e.get("assets")
    problem = None
    if not isinstance(file, str) or not _FILE.match(file):
        problem = f"'file' {file!r} is not a file under {OUTPUT_DIR}/"
    elif not isinstance(url, str) or not _same_site_url(url, file):
        problem = f"'url' {url!r} is not a path ending in its file"
    elif kind not in TYPES:
        problem = f"'type' must be one of {', '.join(TYPES)}"
    elif not isinstance(sri, str) or not _INTEGRITY.match(sri):
        problem = "'integrity' is not an SRI hash"
    elif not isinstance(size, int) or isinstance(size, bool) or not 0 <= size < 2**53:
        problem = "'bytes' is not a byte count"
    elif not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        problem = "'sources' must be a list of paths"
    elif assets is not None and (
        not isinstance(assets, list)
        or not all(isinstance(a, str) and _FILE.match(a) for a in assets)
    ):
        problem = f"'assets' must be a list of files under {OUTPUT_DIR}/"
    if problem:
        raise ValueError(f"bundle '{name}' in '{where}': {problem}")
    return Entry(
        str(file),
        str(url),
        str(kind),
        str(sri),
        int(size),  # type: ignore[arg-type]  # checked above
        tuple(sources),  # type: ignore[arg-type]
        None if assets is None else tuple(assets),
    )


def _same_site_url(url: str, file: str) -> bool:
    # A path on this site (or under ASSETS_URL, added when emitted), never another origin.
    return url.startswith("/") and not url.startswith("//") and url.endswith("/" + file)


def _file_entry(logical: str, e: Any, where: str) -> FileEntry:
    if not isinstance(e, dict):
        raise ValueError(f"file '{logical}' in '{where}' must be an object")
    file, url, sri, size = (e.get(k) for k in ("file", "url", "integrity", "bytes"))
    problem = None
    if not _LOGICAL.match(logical):
        problem = "is not a plain path under static/"
    elif not isinstance(file, str) or not _FILE.match(file):
        problem = f"'file' {file!r} is not a file under {OUTPUT_DIR}/"
    elif not isinstance(url, str) or not _same_site_url(url, file):
        problem = f"'url' {url!r} is not a path ending in its file"
    elif not isinstance(sri, str) or not _INTEGRITY.match(sri):
        problem = "'integrity' is not an SRI hash"
    elif not isinstance(size, int) or isinstance(size, bool) or not 0 <= size < 2**53:
        problem = "'bytes' is not a byte count"
    if problem:
        raise ValueError(f"file '{logical}' in '{where}': {problem}")
    return FileEntry(str(file), str(url), str(sri), int(size))  # type: ignore[arg-type]


def _file_entries(raw: Any, where: str) -> dict[str, FileEntry]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError(f"'{where}' must be an object")
    return {str(k): _file_entry(str(k), e, where) for k, e in raw.items()}


def _entries(raw: Any, where: str) -> dict[str, Entry]:
    if not isinstance(raw, dict):
        raise ValueError(f"'{where}' must be an object")
    return {str(name): entry_from(str(name), e, where) for name, e in raw.items()}


def load(path: str | os.PathLike[str]) -> Manifest:
    """Read a manifest; raises :class:`ManifestError` saying how to regenerate it."""
    path = Path(path)
    shown = display_path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ManifestError(
            "manifest not found: run `flask --app app assets build` first", file=shown
        ) from None
    except OSError as exc:
        raise ManifestError(
            f"unreadable manifest ({exc.strerror}): run `flask --app app assets build`",
            file=shown,
        ) from None
    return parse(data, shown)


def parse(data: bytes, where: str) -> Manifest:
    """Validate manifest bytes (from disk, a URL or a bucket); errors name ``where``."""
    fix = "run `flask --app app assets build`"
    if len(data) > MAX_BYTES:
        raise ManifestError(f"invalid manifest: larger than {MAX_BYTES:,} bytes; {fix}", file=where)
    try:
        doc = json.loads(data)
    except RecursionError:
        raise ManifestError(f"invalid manifest: nested too deeply; {fix}", file=where) from None
    except ValueError as exc:
        raise ManifestError(f"unreadable manifest ({exc}): {fix}", file=where) from None
    try:
        if not isinstance(doc, dict) or doc.get("version") != VERSION:
            raise ValueError(f"expected version {VERSION}")
        previous = doc.get("previous", [])
        if not isinstance(previous, list):
            raise ValueError("'previous' must be a list")
        previous_files = doc.get("previous_files", [])
        if not isinstance(previous_files, list) or len(previous_files) > len(previous):
            raise ValueError("'previous_files' must be a list, one object per previous build")
        bundles = _entries(doc.get("bundles"), "bundles")
        return Manifest(
            bundles,
            tuple(_entries(p, "previous") for p in previous),
            _file_entries(doc.get("files"), "files"),
            tuple(_file_entries(f, "previous_files") for f in previous_files),
            groups=parse_groups(doc.get("groups", {}), bundles),
            extra=parse_extra(doc.get("extra", {})),
        )
    except (ValueError, TypeError, OverflowError) as exc:
        raise ManifestError(f"invalid manifest: {exc}; {fix}", file=where) from None


def load_bytes(path: str | os.PathLike[str]) -> bytes | None:
    """The manifest file's raw bytes (to compare with what a build would write)."""
    try:
        return Path(path).read_bytes()
    except OSError:
        return None


def save(path: str | os.PathLike[str], manifest: Manifest) -> None:
    atomic_write(path, manifest.to_json())
