"""`flask assets clean`: delete built files that no kept build references."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from . import manifest as manifest_mod
from .css_urls import local_names
from .declare import OUTPUT_DIR
from .manifest import Entry, Manifest
from .output import LOCK_NAME, SUFFIXES, TMP_PREFIX, build_lock

DEV = "dev"  # gen/dev/: what development servers serve


def referenced(manifest: Manifest, read: Callable[[str], bytes | None]) -> set[str]:
    """Every file the manifest's kept builds serve: outputs, their url() files and the
    digested static files.

    Entries written before url() files were recorded (``assets`` is None) are read
    with ``read(file)`` (from disk, or from a bucket) to find them.
    """
    found: set[str] = set()
    for build in manifest.builds():
        for entry in build.values():
            found.update(entry.files() if entry.assets is not None else _scan(entry, read))
    for files in manifest.file_builds():
        found.update(e.file for e in files.values())
    return found


def _scan(entry: Entry, read: Callable[[str], bytes | None]) -> tuple[str, ...]:
    if entry.type != "css":
        return (entry.file,)
    data = read(entry.file)
    folder = entry.file.rpartition("/")[0]
    names = local_names(data.decode("utf-8", "replace")) if data is not None else set()
    return (entry.file, *(f"{folder}/{n}" for n in sorted(names)))


def disk_reader(static: Path) -> Callable[[str], bytes | None]:
    """Read a file under ``static/`` by its manifest path; None if it is not there."""

    def read(rel: str) -> bytes | None:
        try:
            return (static / rel).read_bytes()
        except OSError:
            return None

    return read


def clean(static: Path, keep: int | None = None, *, dev: bool = False) -> list[str]:
    """Delete files in static/gen/ that no kept build references; returns what was removed.

    ``gen/dev/`` holds what running development servers serve: left alone unless ``dev``,
    and then emptied (a server still running rebuilds what a page asks for).
    """
    gen = static / OUTPUT_DIR
    mpath = gen / manifest_mod.FILENAME
    dev_dir = gen / DEV
    with build_lock(gen):
        try:
            current = manifest_mod.load(mpath)
        except manifest_mod.ManifestError:
            if not (dev and not mpath.exists()):
                raise
            return _clean_dev(static, dev_dir)  # only development builds here
        if keep is not None and len(current.previous) > keep:
            current = current.trimmed(keep)
            manifest_mod.save(mpath, current)
        wanted = set()
        for f in referenced(current, disk_reader(static)):
            wanted |= {f, *(f + s for s in SUFFIXES)}
        removed = []
        for path in sorted(gen.rglob("*")):
            rel = path.relative_to(static).as_posix()
            if path.is_dir() or path.name in (manifest_mod.FILENAME, LOCK_NAME):
                continue
            if dev_dir in path.parents:
                continue
            if rel not in wanted or path.name.startswith(TMP_PREFIX):
                path.unlink()
                removed.append(rel)
    return removed + (_clean_dev(static, dev_dir) if dev else [])


def _clean_dev(static: Path, dev_dir: Path) -> list[str]:
    removed = []
    for path in sorted(dev_dir.rglob("*")):
        if path.is_file() or path.is_symlink():
            with contextlib.suppress(FileNotFoundError):  # a dev server's own pruning
                path.unlink()
                removed.append(path.relative_to(static).as_posix())
    return removed
