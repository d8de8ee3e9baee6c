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
from .output import atomic_write

VERSION = 1
FILENAME = "manifest.json"
# A built file: under gen/, plain segments (no "..", no leading dot), no URL syntax.
_FILE = re.compile(
    rf"^{OUTPUT_DIR}/(?:[A-Za-z0-9_-][A-Za-z0-9._-]*/)*[A-Za-z0-9_-][A-Za-z0-9._-]*$"
)
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
    # Files the output names by url(), beside it (static-relative); None when unknown
    # (a manifest written before they were recorded).
    assets: tuple[str, ...] | None = None

    def files(self) -> tuple[str, ...]:
        return (self.file, *(self.assets or ()))

    @classmethod
    def of(cls, compiled: Compiled, output: str, static_url: str) -> Entry:
        """The entry of a compiled bundle declared with ``output`` (e.g. ``gen/app.css``)."""
        rel = digest_name(output, compiled.data)
        folder = rel.rpartition("/")[0]
        return cls(
            file=rel,
            url=f"{static_url.rstrip('/')}/{rel}",
            type=compiled.kind,
            integrity=integrity(compiled.data),
            bytes=len(compiled.data),
            sources=compiled.sources,
            assets=tuple(f"{folder}/{name}" for name, _ in compiled.assets),
        )


@dataclass(frozen=True)
class Manifest:
    bundles: dict[str, Entry]
    # Older builds kept for rolling deploys, newest first.
    previous: tuple[dict[str, Entry], ...] = field(default=())
    # Bundles without an output that templates name: the bundles each links, in order.
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # webassets' ``extra`` of a bundle (EXTRA in the ``{% assets %}`` tag).
    extra: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_json(self) -> bytes:
        doc: dict[str, Any] = {"version": VERSION, "bundles": _dump(self.bundles)}
        if self.previous:
            doc["previous"] = [_dump(b) for b in self.previous]
        if self.groups:
            doc["groups"] = {n: list(m) for n, m in self.groups.items()}
        if self.extra:
            doc["extra"] = self.extra
        return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()

    def builds(self) -> tuple[dict[str, Entry], ...]:
        return (self.bundles, *self.previous)

    def files(self) -> set[str]:
        """Every output this manifest references, kept builds included."""
        return {e.file for b in self.builds() for e in b.values()}

    def successor(self, bundles: dict[str, Entry], keep: int) -> Manifest:
        """The manifest of a new build: this one's files move to ``previous`` (rolling
        deploys may still link them) when the new build differs, ``keep`` at most."""
        previous = self.previous
        if self.bundles and _files(self.bundles) != _files(bundles):
            previous = (self.bundles, *self.previous)
        return replace(self, bundles=bundles, previous=previous[: max(keep, 0)])

    def updated(self, bundles: dict[str, Entry]) -> Manifest:
        """The same build with some bundles rebuilt (``build <bundle>``): no new history."""
        return replace(self, bundles={**self.bundles, **bundles})

    def members(self, name: str) -> tuple[str, ...] | None:
        """The built bundles a template naming ``name`` links; None when unknown."""
        if name in self.bundles:
            return (name,)
        return self.groups.get(name)


def _files(bundles: dict[str, Entry]) -> dict[str, str]:
    return {n: e.file for n, e in bundles.items()}


def _dump(bundles: dict[str, Entry]) -> dict[str, Any]:
    out = {}
    for name, e in bundles.items():
        doc = {**asdict(e), "sources": list(e.sources)}
        if e.assets is None:
            del doc["assets"]
        else:
            doc["assets"] = list(e.assets)
        out[name] = doc
    return out


def _entry(name: str, e: Any, where: str) -> Entry:
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


def _entries(raw: Any, where: str) -> dict[str, Entry]:
    if not isinstance(raw, dict):
        raise ValueError(f"'{where}' must be an object")
    return {str(name): _entry(str(name), e, where) for name, e in raw.items()}


def _groups(raw: Any, bundles: dict[str, Entry]) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        raise ValueError("'groups' must be an object")
    out = {}
    for name, members in raw.items():
        if not isinstance(members, list) or not all(m in bundles for m in members):
            raise ValueError(f"group '{name}' must list built bundles")
        out[str(name)] = tuple(members)
    return out


def _extra(raw: Any) -> dict[str, dict[str, str]]:
    if not isinstance(raw, dict) or not all(
        isinstance(v, dict) and all(isinstance(x, str) for x in v.values()) for v in raw.values()
    ):
        raise ValueError("'extra' must map bundle names to objects of strings")
    return {str(n): {str(k): v for k, v in e.items()} for n, e in raw.items()}


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
        bundles = _entries(doc.get("bundles"), "bundles")
        return Manifest(
            bundles,
            tuple(_entries(p, "previous") for p in previous),
            groups=_groups(doc.get("groups", {}), bundles),
            extra=_extra(doc.get("extra", {})),
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
