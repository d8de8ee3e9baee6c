"""Build records: proof that a bundle's output is current without compiling it again.

For each bundle a build wrote, the record keeps what the bundle was declared as (and
with which options), a fingerprint of every file it read and every folder an import
looked in (size and nanosecond mtime; the content hash of files modified close to the
build), and its manifest entry. A later build whose record still matches only checks
the bytes on disk: a no-op build of a large site costs a ``stat`` per input instead of
a compile per bundle. The records live in the build cache: like the cache, they speed
up ``build``. ``check`` trusts only records sealed by this machine (``trust.py``) when
it compiled the bundle from its sources alone; it recompiles every other bundle.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from . import deps, trust
from .cache import Cache
from .compiled import Compiled
from .declare import OUTPUT_DIR, BundleSpec, Ref, Spec
from .digests import cache_key, integrity, listing_digest
from .manifest import Entry, entry_doc, entry_from

RECORDS_KEY = cache_key("build-records")


@dataclass(frozen=True)
class Record:
    key: str  # the declaration and options it was built from
    stamps: tuple[deps.Stamp, ...]  # the files it read
    listings: tuple[tuple[str, str | None], ...]  # folders an import looked in: names
    entry: Entry
    lookup_dirs: tuple[str, ...]
    warnings: tuple[str, ...]
    seal: str | None = None  # set when compiled from the sources alone, by this machine

    def payload(self) -> bytes:
        """What the seal covers: everything but the seal."""
        doc = _dump(replace(self, seal=None))
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


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

    def __init__(self, cache: Cache | None, roots: Iterable[str] = ()) -> None:
        self.cache = cache
        self.roots = folder_times(roots)  # taken as the build starts
        raw = cache.get_json(RECORDS_KEY) if cache else None
        self.records: dict[str, Record] = {}
        if isinstance(raw, dict):
            for name, doc in raw.items():
                record = _load(doc)
                if record is not None:
                    self.records[name] = record
        self._changed = False
        self._listings: dict[str, str | None] = {}  # this run's, each folder listed once

    def _listing(self, folder: str) -> str | None:
        if folder not in self._listings:
            self._listings[folder] = _listing(folder)
        return self._listings[folder]

    def current(self, spec: Spec, name: str, key: str) -> tuple[Compiled, Entry] | None:
        """The bundle as last built, when nothing it read changed and its output on
        disk is still exactly that build's; None otherwise (then it is compiled)."""
        record = self.records.get(name)
        if record is None or record.key != key or not self._unchanged(name, record):
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

    def sealed(self, spec: Spec, name: str, key: str, entry: Entry) -> Record | None:
        """The record of ``entry`` if this machine sealed it and nothing it read has
        changed since: ``check`` need not compile the bundle again."""
        record = self.records.get(name)
        if record is None or record.key != key or record.entry != entry:
            return None
        if not trust.sealed(record.payload(), record.seal):
            return None
        return self.records[name] if self._unchanged(name, record) else None

    def _unchanged(self, name: str, record: Record) -> bool:
        """Nothing the record's bundle read changed. Content hashes of files that were
        racy when recorded and are not any more are dropped (a ``stat`` suffices now,
        as in development), the seal renewed if it held."""
        if deps.changed(record.stamps):
            return False
        if any(self._listing(folder) != digest for folder, digest in record.listings):
            return False
        if deps.racy(record.stamps):
            settled = replace(record, stamps=deps.settle(record.stamps), seal=None)
            if settled.stamps != record.stamps:
                if trust.sealed(record.payload(), record.seal):
                    settled = replace(settled, seal=trust.seal(settled.payload()))
                self.records[name] = settled
                self._changed = True
        return True

    def store(
        self,
        spec: Spec,
        name: str,
        key: str,
        compiled: Compiled,
        entry: Entry,
        started: int,
        *,
        from_sources: bool = False,
    ) -> bool:
        """Record a bundle just compiled (sealed when ``from_sources``: no cache entry
        was read). False when a file it read changed during the build."""
        paths = [str(spec.load_path.path(s)) for s in compiled.sources]
        stamps = deps.stamp(paths, started)
        listings = tuple((d, _listing(d)) for d in compiled.lookup_dirs)
        self._changed = True
        if any(s.mtime_ns == deps.DURING_BUILD for s in stamps) or touched(
            compiled.lookup_dirs, started, self.roots
        ):
            self.records.pop(name, None)  # changed during the build: prove nothing
            return False
        warnings = compiled.warnings
        record = Record(key, stamps, listings, entry, compiled.lookup_dirs, warnings)
        if from_sources:
            record = replace(record, seal=trust.seal(record.payload()))
        self.records[name] = record
        return True

    def save(self) -> None:
        if self.cache is None or not self._changed:
            return
        doc = {name: _dump(r) for name, r in sorted(self.records.items())}
        self.cache.put_json(RECORDS_KEY, doc)


# File systems stamp times from a coarse clock (a few ms behind time.time_ns()): a
# folder changed just after a build started may carry an mtime from before it.
CLOCK_SLACK_NS = 20_000_000


def touched(folders: tuple[str, ...], started: int, roots: dict[str, int]) -> bool:
    """Whether a file was added to, removed from or renamed in a lookup folder since the
    build started: the listing taken now may not be the one the compiler searched.
    ``roots``: the static roots' mtimes as the build started (it creates ``gen/`` in
    one, which changes nothing an import finds); any change after counts."""
    for folder in folders:
        try:
            mtime = os.stat(folder).st_mtime_ns
        except FileNotFoundError:
            continue  # a folder that still does not exist: its listing says so
        except OSError:
            return True
        if folder in roots:
            if mtime != roots[folder]:
                return True
        elif mtime >= started - CLOCK_SLACK_NS:
            return True
    return False


def folder_times(folders: Iterable[str]) -> dict[str, int]:
    times = {}
    for folder in folders:
        with contextlib.suppress(OSError):
            times[folder] = os.stat(folder).st_mtime_ns
    return times


def _listing(folder: str) -> str | None:
    """A folder's entry names, our own ``gen/`` left out: a build creating it changes
    no import's resolution (a folder's mtime would say it did)."""
    return listing_digest(folder, skip=OUTPUT_DIR)


def _dump(record: Record) -> dict[str, Any]:
    return {  # by hand: dataclasses.asdict costs more than a check's reading
        "key": record.key,
        "stamps": [[s.path, s.mtime_ns, s.size, s.digest] for s in record.stamps],
        "listings": [list(pair) for pair in record.listings],
        "entry": entry_doc(record.entry),
        "lookup_dirs": list(record.lookup_dirs),
        "warnings": list(record.warnings),
        "seal": record.seal,
    }


def _load(doc: Any) -> Record | None:
    """A record from JSON; None for anything unexpected (it is only an optimisation)."""
    try:
        entry = entry_from("", doc["entry"], "build records")  # as strict as the manifest
        stamps = tuple(deps.Stamp(str(p), int(m), int(z), d) for p, m, z, d in doc["stamps"])
        listings = tuple((str(f), None if d is None else str(d)) for f, d in doc["listings"])
        return Record(
            str(doc["key"]),
            stamps,
            listings,
            entry,
            tuple(str(d) for d in doc["lookup_dirs"]),
            tuple(str(w) for w in doc["warnings"]),
            None if doc.get("seal") is None else str(doc["seal"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
