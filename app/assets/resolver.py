"""One question, two answers: which file serves bundle X?

Production answers from the manifest (a dict lookup, no file system work);
development builds on demand when a source changed (a ``stat`` per file read, or
on Linux one read of an inotify queue while nothing changed: see ``changes.py``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from . import changes, deps
from .builder import make_entry, write_compiled
from .bundles import compile_bundle
from .cache import Cache
from .errors import AssetError, MissingBundleError
from .manifest import Entry, Manifest
from .spec import OUTPUT_DIR, Spec, load_spec

DEV_DIR = f"{OUTPUT_DIR}/dev"
DEV_KEEP = 3  # outputs of each bundle a development server keeps on disk


class Resolver(Protocol):
    def entry(self, name: str) -> Entry: ...

    def names(self) -> list[str]: ...


class ManifestResolver:
    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest

    def entry(self, name: str) -> Entry:
        try:
            return self.manifest.bundles[name]
        except KeyError:
            known = ", ".join(self.manifest.bundles) or "none"
            raise MissingBundleError(
                f"unknown bundle '{name}' (built: {known}); "
                "declare it in assets.yml and run `flask --app app assets build`"
            ) from None

    def names(self) -> list[str]:
        return list(self.manifest.bundles)


@dataclass
class _Built:
    entry: Entry
    fingerprint: deps.Fingerprint
    written: tuple[str, ...] = ()  # the output and its url() files, static-relative


class BuildingResolver:
    """Rebuild a bundle when any file it read (or ``assets.yml``) changed.

    Outputs go to ``static/gen/dev/`` under hashed names, never over the
    manifest's files, so a development server never disturbs a production build.
    """

    def __init__(
        self,
        config_path: Path,
        static: Path,
        static_url: str,
        *,
        minify: bool,
        dev: bool,
        cache_dir: Path | None = None,
        file_events: bool = True,
    ) -> None:
        self.config_path = config_path
        self.static = static
        self.static_url = static_url
        self.minify = minify
        self.dev = dev
        self._written: dict[str, list[str]] = {}
        # Development builds recompile on every save: writing each result to the cache
        # would only cost time. Minified auto-builds (no debug) do use it.
        self.cache = Cache(cache_dir) if cache_dir and minify else None
        self._spec: Spec | None = None
        self._spec_fingerprint: deps.Fingerprint | None = None
        self._spec_lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._built: dict[str, _Built] = {}
        # A bundle that never built: the error, and the files whose change means retry.
        self._failed: dict[str, tuple[AssetError, deps.Fingerprint]] = {}
        self.errors: dict[str, AssetError] = {}
        self.rebuilds = 0
        # With it, a request after no file event skips the stat calls (Linux inotify).
        self._gate = (
            changes.gate([static], [config_path.parent], skip=[static / OUTPUT_DIR])
            if file_events
            else None
        )
        self._covers = self._gate.covers if self._gate is not None else None

    def _epoch(self) -> int | None:
        return self._gate.epoch() if self._gate is not None else None

    def _fingerprint(self, files: list[str], started: int) -> deps.Fingerprint:
        return deps.Fingerprint(files, started, self._covers)

    def spec(self) -> Spec:
        """The declarations, reloaded when ``assets.yml`` or a glob's folder changed."""
        return self._current_spec(self._epoch())

    def _current_spec(self, epoch: int | None) -> Spec:
        spec, fp = self._spec, self._spec_fingerprint
        if spec is not None and fp is not None and not fp.stale(epoch):
            return spec  # fresh: no lock
        with self._spec_lock:
            fp = self._spec_fingerprint
            if self._spec is not None and fp is not None and not fp.stale(epoch):
                return self._spec
            started = time.time_ns()
            try:
                spec = load_spec(self.config_path, self.static)
            except AssetError as exc:
                self.errors["assets.yml"] = exc
                if self._spec is None:
                    raise
                # Keep serving the last good declarations until the file is fixed.
                self._spec_fingerprint = self._fingerprint(self._spec_files(self._spec), started)
                return self._spec
            self.errors.pop("assets.yml", None)
            if self._spec is not None and spec != self._spec:
                self._built.clear()
                self._failed.clear()
            self._spec = spec
            self._spec_fingerprint = self._fingerprint(self._spec_files(spec), started)
            return self._spec

    def _spec_files(self, spec: Spec) -> list[str]:
        # assets.yml, and the folders its globs list: adding a matching file counts too.
        return [str(self.config_path), *spec.glob_folders()]

    def names(self) -> list[str]:
        return list(self.spec().outputs)

    def entry(self, name: str) -> Entry:
        epoch = self._epoch()  # read once, before any check it vouches for
        spec = self._current_spec(epoch)
        if name not in spec.outputs:
            known = ", ".join(spec.outputs) or "none"
            raise MissingBundleError(f"unknown bundle '{name}' (declared: {known})")
        built = self._built.get(name)
        if built is not None and not built.fingerprint.stale(epoch):
            # Fresh: no lock. Its file stays on disk even if another thread rebuilds now.
            return built.entry
        # One rebuild per bundle at a time; others wait and then reuse its result.
        with self._lock(name):
            built = self._built.get(name)
            if built is not None and not built.fingerprint.stale(epoch):
                return built.entry
            failed = self._failed.get(name)
            if built is None and failed is not None and not failed[1].stale():
                raise failed[0]
            return self._rebuild(spec, name, built)

    def restore(self, rel: str) -> bool:
        """Rebuild the bundle whose written file ``rel`` vanished (``clean --dev``, a
        hand deletion); True when one did. Called on a 404, so the fresh path stays free."""
        for name, built in list(self._built.items()):
            if rel not in built.written:
                continue
            with self._lock(name):
                current = self._built.get(name, built)
                self._rebuild(self._current_spec(self._epoch()), name, current)
            return (self.static / rel).is_file()
        return False

    def _lock(self, name: str) -> threading.Lock:
        lock = self._locks.get(name)
        if lock is None:
            with self._spec_lock:
                lock = self._locks.setdefault(name, threading.Lock())
        return lock

    def _rebuild(self, spec: Spec, name: str, old: _Built | None) -> Entry:
        started = time.time_ns()
        try:
            compiled = compile_bundle(
                spec, name, minify=self.minify, dev=self.dev, cache=self.cache
            )
        except AssetError as exc:
            self.errors[name] = exc
            if old is None:
                files = [str(spec.static_folder / f) for f in spec.files(name)]
                if exc.file:
                    files.append(str(Path(exc.file).resolve()))
                self._failed[name] = (exc, self._fingerprint(files, started))
                raise
            # Serve the last good output; stamp now so we retry on the next edit only.
            files = [str(spec.static_folder / f) for f in old.entry.sources]
            self._built[name] = _Built(old.entry, self._fingerprint(files, started), old.written)
            return old.entry
        self.errors.pop(name, None)
        self._failed.pop(name, None)
        entry = make_entry(spec, compiled, self.static_url)
        entry = _in_dev_dir(entry, self.static_url)
        # Development serves uncompressed; brotli at quality 11 would slow every save.
        write_compiled(self.static, entry.file, compiled, compress_it=False)
        files = [str(spec.static_folder / f) for f in compiled.sources]
        folder = entry.file.rpartition("/")[0]
        written = (entry.file, *(f"{folder}/{n}" for n, _ in compiled.assets))
        self._built[name] = _Built(entry, self._fingerprint(files, started), written)
        self.rebuilds += 1
        self._prune(name, entry.file)
        return entry

    def _prune(self, name: str, current: str) -> None:
        """Delete this server's older outputs of a bundle, so saves do not fill the disk.

        The last few stay: a page rendered just before a rebuild still fetches its URL.
        """
        written = self._written.setdefault(name, [])
        if current in written:
            written.remove(current)
        written.append(current)
        while len(written) > DEV_KEEP:
            with contextlib.suppress(OSError):
                (self.static / written.pop(0)).unlink()


def _in_dev_dir(entry: Entry, static_url: str) -> Entry:
    rel = f"{DEV_DIR}/{entry.file.removeprefix(OUTPUT_DIR + '/')}"
    return replace(entry, file=rel, url=f"{static_url.rstrip('/')}/{rel}")
