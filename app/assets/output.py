"""Writing build outputs: atomic files, compressed siblings, the build lock.

A reader sees an old file or a new one, never a part: each file is written to a
temporary name beside its target and renamed over it. ``brotli`` and ``fcntl`` are
imported when first used, so a production server (which never writes) needs neither.
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import gzip
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

TMP_PREFIX = ".tmp-"
LOCK_NAME = ".build.lock"
SUFFIXES = (".gz", ".br")


# Inside ``durable_batch``: durable writes skip their own fsync; one sync at the end.
_batch: contextvars.ContextVar[list[Path] | None] = contextvars.ContextVar("batch", default=None)


@contextlib.contextmanager
def durable_batch(folder: Path) -> Iterator[None]:
    """Make every durable write inside durable with one file-system sync at the end.

    An fsync per file was most of a many-bundle build's write time. Nothing names the
    new files until the caller writes the manifest (itself fsynced) after this block, so
    a crash before the sync leaves the previous build serving, as before.
    """
    written: list[Path] = []
    token = _batch.set(written)
    try:
        yield
    finally:
        _batch.reset(token)
    if written:
        sync_file_system(folder, written)


@contextlib.contextmanager
def deferred_durability() -> Iterator[list[Path]]:
    """Durable writes inside skip their fsync and are listed instead: a build worker
    hands the list to the build, whose ``durable_batch`` syncs them (``note_durable``)."""
    written: list[Path] = []
    token = _batch.set(written)
    try:
        yield written
    finally:
        _batch.reset(token)


def note_durable(paths: Iterable[Path]) -> None:
    """Files written elsewhere (a worker) that the current ``durable_batch`` must sync."""
    batch = _batch.get()
    assert batch is not None, "note_durable outside durable_batch"
    batch.extend(paths)


def sync_file_system(folder: Path, files: list[Path]) -> None:
    """syncfs(2) on Linux (one call for the file system holding ``folder``); elsewhere
    an fsync of each file."""
    if sys.platform.startswith("linux"):
        fd = os.open(folder, os.O_RDONLY)
        try:
            if ctypes.CDLL(None, use_errno=True).syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    for path in files:
        with contextlib.suppress(OSError), open(path, "rb") as fh:
            os.fsync(fh.fileno())


def _must_fsync(durable: bool, path: Path) -> bool:
    batch = _batch.get()
    if durable and batch is not None:
        batch.append(path)
        return False
    return durable


@contextlib.contextmanager
def _replacing(path: Path, durable: bool) -> Iterator[BinaryIO]:
    """A temporary file beside ``path``, renamed over it when the block ends without an
    error (fsynced first when ``durable``); removed otherwise. A block may raise to drop it."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=path.parent)
    except FileNotFoundError:  # first file of its folder (a mkdir per write would cost more)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            if _must_fsync(durable, path):
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class _Changed(Exception):
    """The source changed while it was copied: nothing is written."""


def atomic_write(path: str | os.PathLike[str], data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename over.

    ``durable=False`` skips the fsync (still atomic for readers): for files that are
    rebuilt on demand anyway, such as development outputs and cache entries.
    """
    with _replacing(Path(path), durable) as fh:
        fh.write(data)


def atomic_copy(src: Path, path: Path, sha256: str) -> bool:
    """Copy ``src`` to ``path`` atomically, streamed (bounded memory, any size), if its
    bytes still hash to ``sha256``; False (nothing written) when they changed meanwhile.
    """
    from .digests import stream_hashes

    try:
        with _replacing(path, True) as fh, open(src, "rb") as source:
            copied, _, _ = stream_hashes(source, fh)
            if copied != sha256:
                raise _Changed
    except _Changed:
        return False
    return True


def gzip_bytes(data: bytes) -> bytes:
    # mtime=0 keeps the .gz byte-identical across builds.
    return gzip.compress(data, compresslevel=9, mtime=0)


# Below this size quality 11 saves less than one TCP packet (1,460 bytes) over quality 5
# (measured on Bootstrap's minified CSS: 290 bytes at 16 KB, 1,180 at 64 KB) for ten to
# thirty times the time; jQuery's 87 KB saves 2.3 KB, so larger files keep quality 11.
BROTLI_SMALL = 64 * 1024


def brotli_quality(size: int) -> int:
    return 5 if size < BROTLI_SMALL else 11


def brotli_bytes(data: bytes) -> bytes:
    import brotli

    return bytes(brotli.compress(data, quality=brotli_quality(len(data))))


COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {".gz": gzip_bytes, ".br": brotli_bytes}


def decompress(suffix: str, blob: bytes) -> bytes | None:
    """A sibling's identity bytes, or None when it does not decompress."""
    try:
        if suffix == ".gz":
            return gzip.decompress(blob)
        import brotli

        return bytes(brotli.decompress(blob))
    except Exception:  # brotli.error, zlib.error, EOFError, OSError: all mean damaged
        return None


def variants(
    path: Path, data: bytes, cached: Callable[[str, bytes, Callable[[bytes], bytes]], bytes] | None
) -> dict[str, bytes | None]:
    """The ``.gz``/``.br`` bodies to write beside ``path`` for ``data``.

    None for a sibling already on disk that decompresses to exactly ``data``: checked
    by decompressing (fast), so an unchanged output is not compressed again, while a
    truncated or foreign sibling is replaced. ``cached(suffix, data, compute)`` may
    look a result up first (brotli at quality 11 is the slow part of a build); only
    for data large enough to be compressed at that quality.
    """
    out: dict[str, bytes | None] = {}
    for suffix, fn in COMPRESSORS.items():
        sibling = path.with_name(path.name + suffix)
        try:
            on_disk = sibling.read_bytes()
        except OSError:
            on_disk = None
        if on_disk is not None and len(on_disk) < len(data) and decompress(suffix, on_disk) == data:
            out[suffix] = None
            continue
        # Below BROTLI_SMALL both compressors take about as long as a cache round trip.
        if cached is not None and len(data) >= BROTLI_SMALL:
            out[suffix] = cached(suffix, data, fn)
        else:
            out[suffix] = fn(data)
    return out


def _same_bytes(path: Path, data: bytes) -> bool:
    """Whether the file holds exactly ``data`` (size first: most differences show there)."""
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def write_file(path: Path, data: bytes, *, durable: bool = True) -> bool:
    """Write ``data`` unless the file already holds exactly it; True when written.

    Bytes are compared, not sizes: a damaged file of the right size is repaired.
    """
    if _same_bytes(path, data):
        return False
    atomic_write(path, data, durable=durable)
    return True


def write_output(
    path: Path, data: bytes, siblings: dict[str, bytes | None] | None, *, durable: bool = True
) -> int:
    """Write a hashed output and its ``.gz``/``.br`` siblings, each only when smaller
    (None: already right on disk); ``siblings=None`` writes none (development).

    Returns the size of the ``.gz`` served for it (0 without siblings), for reports.
    """
    write_file(path, data, durable=durable)
    for suffix, blob in (siblings or {}).items():
        sibling = path.with_name(path.name + suffix)
        if blob is None:
            continue
        if len(blob) < len(data):
            write_file(sibling, blob, durable=durable)
        elif sibling.exists():
            sibling.unlink()
    return gzip_size(path, len(data)) if siblings else 0


def gzip_size(path: Path, size: int) -> int:
    """The size of the ``.gz`` served for ``path`` (its own size when it has none)."""
    try:
        return path.with_name(path.name + ".gz").stat().st_size
    except OSError:
        return size


@contextlib.contextmanager
def build_lock(gen_dir: Path) -> Iterator[None]:
    """One writer at a time across processes; released by the OS if the holder dies."""
    import fcntl

    gen_dir.mkdir(parents=True, exist_ok=True)
    with open(gen_dir / LOCK_NAME, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def remove_temporaries(gen: Path, skip: Path | None = None) -> None:
    """Delete temporary files a killed build left (call under the build lock).

    ``skip`` (``gen/dev/``) is left alone: development servers write there without it.
    """
    for path in gen.rglob(TMP_PREFIX + "*"):
        if skip is None or skip not in path.parents:
            with contextlib.suppress(OSError):
                path.unlink()
