"""Build records: proof that a bundle's output is current without compiling it again.

For each bundle a build wrote, the record keeps what the bundle was declared as (and
with which options), a fingerprint of every file it read and every folder an import
looked in (size and nanosecond mtime; the content hash of files modified close to the
build), and its manifest entry. A later build whose record still matches only checks
the bytes on disk: a no-op build of a large site costs a ``stat`` per input instead of
a compile per bundle. The records live in the build cache: like the cache, they speed
up ``build`` and are never read by ``check``, which recompiles from the sources.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from . import deps
from .cache import Cache
from .compiled import Compiled
from .declare import OUTPUT_DIR, BundleSpec, Ref, Spec
from .digests import cache_key, integrity, listing_digest
from .manifest import Entry

RECORDS_KEY = cache_key("build-records")


@dataclass(frozen=True)
class Record:
    key: str  # the declaration and options it was built from
    stamps: tuple[deps.Stamp, ...]  # the files it read
    listings: tuple[tuple[str, str | None], ...]  # folders an import looked in: names
    entry: Entry
    lookup_dirs: tuple[str, ...]
    warnings: tuple[str, ...]


def declaration_key(spec: Spec, name: str, options: tuple[Any, ...]) -> str:
    """What a bundle is declared as, nested bundles included, with the build's options."""
    seen: list[BundleSpec] = []

    def walk(b: BundleSpec) -> None:
        seen.append(b)
        for item in b.contents:
            if isinstance(item, Ref):
                walk(spec.bundles[item.name])
            elif isinstance(item, BundleSpec):
                walk(item)

    walk(spec.bundles[name])
    return cache_key(repr(seen), repr(options))


class Records:
    """The records of the last builds, read once and written back after a build."""

    def __init__(self, cache: Cache | None) -> None:
        self.cache = cache
        raw = cache.get_json(RECORDS_KEY) if cache else None
        self.records: dict[str, Record] = {}
        if isinstance(raw, dict):
            for name, doc in raw.items():
                record = _load(doc)
                if record is not None:
                    self.records[name] = record
        self._changed = False

    def current(self, spec: Spec, name: str, key: str) -> tuple[Compiled, Entry] | None:
        """The bundle as last built, when nothing it read changed and its output on
        disk is still exactly that build's; None otherwise (then it is compiled)."""
        record = self.records.get(name)
        if record is None or record.key != key or deps.changed(record.stamps):
            return None
        if any(_listing(folder) != digest for folder, digest in record.listings):
            return None
        entry = record.entry
        try:
            data = (spec.static_folder / entry.file).read_bytes()
        except OSError:
            return None
        if len(data) != entry.bytes or integrity(data) != entry.integrity:
            return None
        compiled = Compiled(
            name, entry.type, data, entry.sources, (), record.lookup_dirs, record.warnings
        )
        return compiled, entry

    def store(
        self, spec: Spec, name: str, key: str, compiled: Compiled, entry: Entry, started: int
    ) -> None:
        paths = [str(spec.load_path.path(s)) for s in compiled.sources]
        stamps = deps.stamp(paths, started)
        listings = tuple((d, _listing(d)) for d in compiled.lookup_dirs)
        if any(s.mtime_ns == deps.DURING_BUILD for s in stamps):
            self.records.pop(name, None)  # changed during the build: prove nothing
        else:
            warnings = compiled.warnings
            record = Record(key, stamps, listings, entry, compiled.lookup_dirs, warnings)
            self.records[name] = record
        self._changed = True

    def save(self) -> None:
        if self.cache is None or not self._changed:
            return
        doc = {name: _dump(r) for name, r in sorted(self.records.items())}
        self.cache.put_json(RECORDS_KEY, doc)


def _listing(folder: str) -> str | None:
    """A folder's entry names, our own ``gen/`` left out: a build creating it changes
    no import's resolution (a folder's mtime would say it did)."""
    return listing_digest(folder, skip=OUTPUT_DIR)


def _dump(record: Record) -> dict[str, Any]:
    return {
        "key": record.key,
        "stamps": [list(asdict(s).values()) for s in record.stamps],
        "listings": [list(pair) for pair in record.listings],
        "entry": asdict(record.entry),
        "lookup_dirs": list(record.lookup_dirs),
        "warnings": list(record.warnings),
    }


def _load(doc: Any) -> Record | None:
    """A record from JSON; None for anything unexpected (it is only an optimisation)."""
    try:
        e = doc["entry"]
        entry = Entry(
            file=str(e["file"]),
            url=str(e["url"]),
            type=str(e["type"]),
            integrity=str(e["integrity"]),
            bytes=int(e["bytes"]),
            sources=tuple(str(s) for s in e["sources"]),
            assets=None if e["assets"] is None else tuple(str(a) for a in e["assets"]),
        )
        stamps = tuple(deps.Stamp(str(p), int(m), int(z), d) for p, m, z, d in doc["stamps"])
        listings = tuple((str(f), None if d is None else str(d)) for f, d in doc["listings"])
        return Record(
            str(doc["key"]),
            stamps,
            listings,
            entry,
            tuple(str(d) for d in doc["lookup_dirs"]),
            tuple(str(w) for w in doc["warnings"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
