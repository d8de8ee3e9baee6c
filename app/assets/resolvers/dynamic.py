"""Development: build a bundle on demand when any file it read (or ``assets.yml``) changed.

Freshness is a ``stat`` per file a bundle read or, on Linux, one read of an inotify
queue while nothing changed (``changes.py``). Outputs go to ``static/gen/dev/``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from flask import g, has_request_context

from .. import changes, deps
from ..bridge.bundle import compile_bundle
from ..cache import Cache
from ..declare import OUTPUT_DIR, Spec
from ..errors import AssetError, MissingBundleError, known_names
from ..load_path import LoadPath
from ..manifest import Entry
from .dev_outputs import DevOutputs
from .live_spec import LiveSpec

log = logging.getLogger("app.assets")

if TYPE_CHECKING:
    from ..bridge.app_spec import AppDeclarations


PAGE_KEY = "_assets_page"  # flask.g: the Page (the epoch) this request read


@dataclass
class _Built:
    entry: Entry
    fingerprint: deps.Fingerprint


@dataclass
class _Failed:
    error: AssetError
    fingerprint: deps.Fingerprint  # the files whose change means "try again"


class DynamicResolver:
    """``entry(name)`` rebuilds the bundle first when a file it read changed."""

    def __init__(
        self,
        config_path: Path,
        load_path: Callable[[], LoadPath],
        static_url: str,
        *,
        minify: bool,
        dev: bool,
        cache_dir: Path | None = None,
        file_events: bool = True,
        browsers: tuple[str, ...] = (),
        declarations: Callable[[], AppDeclarations] | None = None,
        also_watched: Callable[[], list[Path]] = list,
    ) -> None:
        self._load_path = load_path
        self.browsers = browsers
        self.static = load_path().static
        self.minify = minify
        self.dev = dev
        # Development builds recompile on every save: writing each result to the cache
        # would only cost time. Minified auto-builds (no debug) do use it.
        self.cache = Cache(cache_dir) if cache_dir and minify else None
        self.outputs = DevOutputs(self.static, static_url)
        self.static_url = static_url
        self._file_events = file_events
        self._also_watched = also_watched  # template folders: the spec reads templates
        self._gate: changes.ChangeGate | None = None
        self._gate_ready = False
        self._config_folder = config_path.parent
        self.live_spec = LiveSpec(config_path, load_path, self._fingerprint, declarations)
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._built: dict[str, _Built] = {}
        self._failed: dict[str, _Failed] = {}
        self._build_errors: dict[str, AssetError] = {}
        self._generation = -1
        self._quiet: tuple[int, int, Spec] | None = None
        self.rebuilds = 0  # how many bundle builds this resolver ran (observable)

    # --- freshness -------------------------------------------------------------------

    @property
    def gate(self) -> changes.ChangeGate | None:
        """The inotify change gate over the static folders; None where it cannot run
        (not Linux, ``ASSETS_INOTIFY`` off). Made on first use: blueprints registered
        after ``init_app`` are watched too."""
        if not self._gate_ready:
            with self._lock:
                if not self._gate_ready:
                    if self._file_events:
                        roots = [*self._load_path().folders(), *self._also_watched()]
                        self._gate = changes.gate(
                            roots,
                            [self._config_folder],
                            skip=[self.static / OUTPUT_DIR],
                        )
                    self._gate_ready = True
        return self._gate

    def view(self) -> Page:
        """The resolver as this request sees it, the gate's epoch read once per request:
        a page sees the files as they were when it started rendering (an edit during it
        is the next request's), and a page of many bundle tags costs one read of the
        event queue, not one per tag."""
        if not has_request_context():
            return Page(self, self._read_epoch())
        request_g = g._get_current_object()  # the object: each read through the proxy costs
        page = getattr(request_g, PAGE_KEY, None)
        if page is not None and page.resolver is self:
            return page
        page = Page(self, self._read_epoch())
        setattr(request_g, PAGE_KEY, page)
        return page

    def _read_epoch(self) -> int | None:
        gate = self.gate
        return None if gate is None else gate.epoch()

    def _fingerprint(self, files: list[str], started: int) -> deps.Fingerprint:
        covers = self._gate.covers if self._gate is not None else None
        return deps.Fingerprint(files, started, covers)

    def _current(self, epoch: int | None) -> Spec:
        live = self.live_spec
        # (epoch, generation, spec) of the last look that found the declarations current
        # and every file they read covered by the gate: at that epoch, nothing to look at.
        quiet = self._quiet
        if quiet is not None and quiet[0] == epoch and quiet[1] == live.generation:
            return quiet[2]  # (the generation: a reload by another thread since wins)
        spec = live.current(epoch)
        if live.generation != self._generation:
            # New declarations: every bundle's build (or failure) is from the old ones.
            self._built, self._failed, self._build_errors = {}, {}, {}
            self._generation = live.generation
        self._quiet = None
        if epoch is not None and live.quiet(epoch):
            self._quiet = (epoch, self._generation, spec)
        return spec

    # --- the Resolver protocol -------------------------------------------------------

    def spec(self) -> Spec:
        return self._current(self.view().epoch)

    def names(self) -> list[str]:
        spec = self.spec()
        return [*spec.outputs, *spec.groups]

    def members(self, name: str) -> tuple[str, ...]:
        return self.view().members(name)

    def extra(self, name: str) -> dict[str, str]:
        try:
            return self.spec().extra(name)
        except AssetError:
            return {}  # assets.yml does not load: the overlay shows why

    def errors(self) -> list[AssetError]:
        errs = [self.live_spec.error] if self.live_spec.error else []
        return errs + list(self._build_errors.values())

    def entry(self, name: str) -> Entry:
        return self.view().entry(name)

    def _entry(self, name: str, epoch: int | None) -> Entry:
        spec = self._current(epoch)  # epoch: read before any check it vouches for
        if name not in spec.outputs:
            raise _unknown(name, spec)
        built = self._built.get(name)
        if built is not None and not built.fingerprint.stale(epoch):
            # Fresh: no lock. Its file stays on disk even if another thread rebuilds now.
            return built.entry
        # One rebuild per bundle at a time; others wait and then reuse its result.
        with self._bundle_lock(name):
            built = self._built.get(name)
            if built is not None and not built.fingerprint.stale(epoch):
                return built.entry
            failed = self._failed.get(name)
            if built is None and failed is not None and not failed.fingerprint.stale():
                raise failed.error
            return self._rebuild(spec, name, built)

    def restore(self, rel: str) -> bool:
        """Rebuild the bundle whose written file ``rel`` vanished (``clean --dev``, a
        hand deletion). Called on a 404, so the fresh path stays free of stat calls."""
        for name, built in list(self._built.items()):
            if rel not in built.entry.files():
                continue
            with self._bundle_lock(name):
                self._rebuild(self.spec(), name, self._built.get(name, built))
            return (self.static / rel).is_file()
        return False

    # --- building --------------------------------------------------------------------

    def _bundle_lock(self, name: str) -> threading.Lock:
        lock = self._locks.get(name)
        if lock is None:
            with self._lock:
                lock = self._locks.setdefault(name, threading.Lock())
        return lock

    def _rebuild(self, spec: Spec, name: str, old: _Built | None) -> Entry:
        started = time.time_ns()
        try:
            compiled = compile_bundle(
                spec,
                name,
                minify=self.minify,
                dev=self.dev,
                cache=self.cache,
                browsers=self.browsers,
            )
        except AssetError as exc:
            return self._failed_build(spec, name, old, exc, started)
        self._build_errors.pop(name, None)
        self._failed.pop(name, None)
        for w in compiled.warnings:  # once per rebuild, never fatal
            log.warning("warning: %s (bundle '%s')", w, name)
        output = spec.bundles[name].output
        assert output is not None  # spec.outputs holds only bundles with one
        entry = self.outputs.place(Entry.of(compiled, output, self.static_url))
        self.outputs.write(name, entry, compiled)
        files = [str(spec.load_path.path(f)) for f in compiled.sources]
        self._built[name] = _Built(
            entry, self._fingerprint([*files, *compiled.lookup_dirs], started)
        )
        self.rebuilds += 1
        return entry

    def _failed_build(
        self, spec: Spec, name: str, old: _Built | None, exc: AssetError, started: int
    ) -> Entry:
        self._build_errors[name] = exc
        # Retry when any of these changes, or a file appears beside them (a missing
        # import created, for instance).
        known = old.entry.sources if old is not None else spec.files(name)
        files = [str(spec.load_path.path(f)) for f in known]
        if exc.file:
            files.append(str(Path(exc.file).resolve()))
        files += sorted({os.path.dirname(f) for f in files})
        # An import is also looked up in each static root (libsass's include paths).
        files += [str(f) for f in spec.load_path.folders()]
        if old is None:
            self._failed[name] = _Failed(exc, self._fingerprint(files, started))
            raise exc
        # Serve the last good output; stamp now so we retry on the next edit only.
        self._built[name] = _Built(old.entry, self._fingerprint(files, started))
        return old.entry


class Page:
    """A :class:`DynamicResolver` as one request sees it: the gate's epoch read once."""

    __slots__ = ("epoch", "resolver")

    def __init__(self, resolver: DynamicResolver, epoch: int | None) -> None:
        self.resolver = resolver
        self.epoch = epoch

    def spec(self) -> Spec:
        return self.resolver._current(self.epoch)

    def members(self, name: str) -> tuple[str, ...]:
        spec = self.resolver._current(self.epoch)
        try:
            return spec.members(name)
        except KeyError:
            raise _unknown(name, spec) from None

    def entry(self, name: str) -> Entry:
        return self.resolver._entry(name, self.epoch)


def _unknown(name: str, spec: Spec) -> MissingBundleError:
    return MissingBundleError(f"unknown bundle '{name}' {known_names(name, spec.outputs)}")


def look_again() -> None:
    """A long request (the live-reload stream) reads the epoch afresh from here on."""
    if has_request_context():
        g.pop(PAGE_KEY, None)
