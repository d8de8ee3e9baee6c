"""`flask assets watch`: rebuild affected bundles on file-system events (watchdog)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirModifiedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from . import builder
from . import manifest as manifest_mod
from .declare import OUTPUT_DIR, Spec, load_spec
from .errors import AssetError
from .load_path import LoadPath, Root

# The longest wait for a save in progress to finish (its close or rename). Saves that
# end with a close or rename are taken at once; this bounds odd writers.
SETTLE_SECONDS = 0.05
# Sources an @import may name, and those whose compile looks them up.
IMPORTABLE = (".scss", ".sass", ".css")
COMPILED = (".scss", ".sass")


# The events that can change a build. Not reads (opened, closed without a write): a
# compile opens every file it reads, and on Linux this list is the inotify mask, so those
# never wake the observer's threads while the compiler runs beside them.
CHANGES = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileMovedEvent,
    FileDeletedEvent,
    DirCreatedEvent,
    DirModifiedEvent,
    DirMovedEvent,
    DirDeletedEvent,
]


def observe(
    observer: BaseObserver, handler: FileSystemEventHandler, folder: Path, *, recursive: bool
) -> None:
    """Watch ``folder`` for the events that can change a build (``CHANGES``)."""
    observer.schedule(handler, str(folder), recursive=recursive, event_filter=CHANGES)


def relevant_paths(event: FileSystemEvent, gen: Path, config: Path) -> list[Path]:
    """The paths an event touched that can change a build.

    Not our own outputs under ``gen`` (resolved), and in the folder holding ``config``
    (resolved) only ``assets.yml`` itself; reads (open, close without write) never count.
    """
    if event.event_type in ("opened", "closed_no_write"):
        return []
    out = []
    for raw in (event.src_path, getattr(event, "dest_path", "")):
        if not raw:
            continue
        path = Path(str(raw)).resolve()
        if path == gen or gen in path.parents:
            continue
        if path.parent == config.parent and path != config:
            continue
        out.append(path)
    return out


def still_writing(event: FileSystemEvent) -> bool | None:
    """Whether a file event may be the middle of a save (None: says nothing about it).

    A write shows as ``modified`` (after ``created`` for a new file) and ends with
    ``closed``; editors that write a temporary file end with ``moved``.
    """
    if event.is_directory:
        return None
    return event.event_type in ("modified", "created")


class SaveTracker(FileSystemEventHandler):
    """Collects changed paths; ``settle`` waits until no save is half written."""

    def __init__(self, static: Path, config: Path) -> None:
        self.gen = (static / OUTPUT_DIR).resolve()
        self.config = config.resolve()
        self.paths: set[Path] = set()
        self.generation = 0  # bumped by every relevant event
        self.writing = False
        self.cond = threading.Condition()

    def on_any_event(self, event: FileSystemEvent) -> None:
        paths = relevant_paths(event, self.gen, self.config)
        if paths:
            with self.cond:
                self.paths.update(paths)
                self.generation += 1
                writing = still_writing(event)
                if writing is not None:
                    self.writing = writing
                self.cond.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Block until an event newer than generation ``seen`` (or the timeout)."""
        with self.cond:
            self.cond.wait_for(lambda: self.generation != seen, timeout)
            return self.generation

    def settle(self, timeout: float = SETTLE_SECONDS) -> None:
        with self.cond:
            self.cond.wait_for(lambda: not self.writing, timeout)

    def take(self) -> set[Path]:
        with self.cond:
            paths, self.paths = self.paths, set()
        return paths


def affected(spec: Spec, manifest: manifest_mod.Manifest, paths: set[Path]) -> list[str]:
    """Bundles that read any of ``paths`` (per the manifest's exact sources), or that may
    import one of them now: an ``@import`` looks beside the importing file, then in each
    static root, so a new stylesheet there can change (or satisfy) what it resolves to."""
    resolved = LoadPath([Root(r.folder.resolve(), r.prefix, r.url) for r in spec.load_path.roots])
    rels = {rel for p in paths if (rel := resolved.logical(p)) is not None}
    sources = {
        name: set(e.sources) if (e := manifest.bundles.get(name)) else set(spec.files(name))
        for name in spec.outputs
    }
    known = set().union(*sources.values())
    lookups = {r.rpartition("/")[0] for r in rels - known if r.endswith(IMPORTABLE)}
    roots = {r.prefix.rstrip("/") for r in spec.load_path.roots}
    out = []
    for name in spec.outputs:
        folders = {s.rpartition("/")[0] for s in sources[name] if s.endswith(COMPILED)}
        if folders:
            folders |= roots  # the include paths
        if name not in manifest.bundles or sources[name] & rels or lookups & folders:
            out.append(name)
    return out


def watch(
    config: Path,
    load_path: LoadPath,
    *,
    static_url: str,
    keep: int,
    echo: Callable[[str], None],
    report: Callable[[builder.Result], None],
    cache_dir: Path | None = None,
    stop: threading.Event | None = None,
    browsers: tuple[str, ...] = (),
    loader: Callable[[], Spec] | None = None,
) -> None:
    """Build once, then rebuild on change until ``stop`` is set (or Ctrl-C).

    ``loader`` gives the spec (the app's: Python and template bundles too); by default
    ``config`` alone.
    """
    load = loader or (lambda: load_spec(config, load_path))
    stop = stop or threading.Event()
    static = load_path.static
    handler = SaveTracker(static, config)
    observer = Observer()
    for folder in load_path.folders():
        observe(observer, handler, folder, recursive=True)
    observe(observer, handler, config.parent, recursive=False)
    observer.start()
    try:
        # Before the first build: a save made during it (or right after the line below,
        # before this thread looks again) must still be rebuilt.
        seen = handler.generation
        args = (static_url, keep, echo, report, cache_dir, browsers)
        _build(load, config, load_path, None, *args)
        echo(f"watching {static} and {config.name} (Ctrl-C to stop)")
        while not stop.is_set():
            now = handler.wait(seen, 0.2)
            if now == seen:
                continue
            seen = now
            handler.settle()  # an editor's save is often several events
            paths = handler.take()
            _build(load, config, load_path, paths, *args)
    finally:
        observer.stop()
        observer.join()


def _build(
    load: Callable[[], Spec],
    config: Path,
    load_path: LoadPath,
    paths: set[Path] | None,
    static_url: str,
    keep: int,
    echo: Callable[[str], None],
    report: Callable[[builder.Result], None],
    cache_dir: Path | None,
    browsers: tuple[str, ...] = (),
) -> None:
    try:
        spec = load()
        names = None
        if paths is not None and config.resolve() not in paths:
            try:
                current = manifest_mod.load(load_path.static / OUTPUT_DIR / manifest_mod.FILENAME)
            except AssetError:
                current = manifest_mod.Manifest({})
            names = affected(spec, current, paths)
            if not names:
                return
        # Serial: forking a process pool from a process with watcher threads is unsafe.
        builder.build(
            spec,
            names,
            static_url=static_url,
            keep=keep,
            report=report,
            cache_dir=cache_dir,
            jobs=1,
            warn=echo,
            browsers=browsers,
        )
    except AssetError as exc:
        echo(f"error: {exc}")
