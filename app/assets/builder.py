"""Build bundles into content-hashed files, compressed siblings and the manifest.

Everything is compiled in memory first; only when every requested bundle
succeeded are files written, each atomically, and the manifest last. A failed
or killed build therefore leaves the previous build serving.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import fcntl
import gzip
import hashlib
import multiprocessing
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import brotli

from . import manifest as manifest_mod
from .atomic import TMP_PREFIX, atomic_write
from .bundles import Compiled, compile_bundle, digest_name
from .cache import Cache
from .cache import key as cache_key
from .errors import BuildError, MissingBundleError
from .manifest import Entry, Manifest
from .spec import OUTPUT_DIR, Spec, display_path

LOCK_NAME = ".build.lock"


@dataclass(frozen=True)
class Result:
    name: str
    entry: Entry
    gzip_bytes: int
    seconds: float


def integrity(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def gzip_bytes(data: bytes) -> bytes:
    # mtime=0 keeps the .gz byte-identical across builds.
    return gzip.compress(data, compresslevel=9, mtime=0)


def brotli_bytes(data: bytes) -> bytes:
    return brotli.compress(data, quality=11)


@dataclass(frozen=True)
class Prepared:
    """A compiled bundle, its manifest entry and compressed variants.

    ``variants`` maps "" (the output) or a url() file's name to its .gz/.br bodies.
    """

    compiled: Compiled
    entry: Entry
    variants: dict[str, dict[str, bytes]]
    seconds: float


def _prepare(
    spec: Spec, name: str, minify: bool, cache_dir: Path | None, static_url: str
) -> Prepared:
    # Runs in a worker: compile, hash and compress here, so all of it uses every core.
    t0 = time.perf_counter()
    cache = Cache(cache_dir) if cache_dir else None
    compiled = compile_bundle(spec, name, minify=minify, cache=cache)
    entry = make_entry(spec, compiled, static_url)
    folder = spec.static_folder / entry.file.rpartition("/")[0]
    variants = {}
    for key, data, path in [
        ("", compiled.data, spec.static_folder / entry.file),
        *((n, d, folder / n) for n, d in compiled.assets),
    ]:
        if not has_variants(path):
            variants[key] = compress(data, cache)
    return Prepared(compiled, entry, variants, time.perf_counter() - t0)


PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _die_with_parent(parent: int) -> None:
    """A killed build must not leave workers behind (they would hold its pipes open)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    # The parent may have died between fork and prctl (then we were adopted).
    if os.getppid() != parent:
        os._exit(1)


def compile_all(
    spec: Spec,
    names: list[str],
    *,
    minify: bool = True,
    cache_dir: Path | None = None,
    jobs: int | None = None,
    static_url: str = "/static",
) -> list[Prepared]:
    """Compile bundles in memory, in order; the first error (in declaration order) wins."""
    jobs = min(jobs or os.cpu_count() or 1, len(names))
    if jobs <= 1:
        return [_prepare(spec, n, minify, cache_dir, static_url) for n in names]
    # fork: workers inherit imported modules, so start-up costs milliseconds.
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=ctx, initializer=_die_with_parent, initargs=(os.getpid(),)
    ) as pool:
        futures = [pool.submit(_prepare, spec, n, minify, cache_dir, static_url) for n in names]
        return [f.result() for f in futures]


@contextlib.contextmanager
def build_lock(gen_dir: Path) -> Iterator[None]:
    """One writer at a time across processes; released by the OS if the holder dies."""
    gen_dir.mkdir(parents=True, exist_ok=True)
    with open(gen_dir / LOCK_NAME, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


SUFFIXES = (".gz", ".br")


def has_variants(path: Path) -> bool:
    return path.exists() and all(path.with_name(path.name + x).exists() for x in SUFFIXES)


def compress(data: bytes, cache: Cache | None = None) -> dict[str, bytes]:
    """The .gz and .br bodies of ``data`` (brotli quality 11 is the slow part: cached)."""
    out = {}
    for suffix, fn in ((".gz", gzip_bytes), (".br", brotli_bytes)):
        ck = cache_key("compress", suffix, data)
        blob = cache.get(ck) if cache else None
        if blob is None:
            blob = fn(data)
            if cache:
                cache.put(ck, blob)
        out[suffix] = blob
    return out


def write_output(
    static: Path,
    rel: str,
    data: bytes,
    *,
    compress_it: bool = True,
    variants: dict[str, bytes] | None = None,
) -> int:
    """Write a hashed output and its .gz/.br siblings (each only when smaller).

    Returns the gzip size, for the build report (0 when not compressing).
    """
    path = static / rel
    # A hashed name means same name, same bytes: skip rewriting identical files.
    fresh = not path.exists() or path.stat().st_size != len(data)
    if fresh:
        atomic_write(path, data, durable=compress_it)
    if not compress_it:
        return 0
    if variants is None:
        if not fresh and has_variants(path):
            # The report wants the gzip size: the .gz on disk has it, no need to recompress.
            return path.with_name(path.name + ".gz").stat().st_size
        variants = compress(data)
    for suffix, blob in variants.items():
        sibling = path.with_name(path.name + suffix)
        if len(blob) < len(data):
            if not sibling.exists() or sibling.stat().st_size != len(blob):
                atomic_write(sibling, blob)
        elif sibling.exists():
            sibling.unlink()
    return len(variants[".gz"])


def write_compiled(
    static: Path,
    rel: str,
    compiled: Compiled,
    *,
    compress_it: bool = True,
    variants: dict[str, dict[str, bytes]] | None = None,
) -> int:
    """Write url() assets first, then the output that names them."""
    variants = variants or {}
    folder = rel.rpartition("/")[0]
    for name, data in compiled.assets:
        write_output(
            static, f"{folder}/{name}", data, compress_it=compress_it, variants=variants.get(name)
        )
    return write_output(
        static, rel, compiled.data, compress_it=compress_it, variants=variants.get("")
    )


def make_entry(spec: Spec, compiled: Compiled, static_url: str) -> Entry:
    output = spec.bundles[compiled.name].output
    assert output is not None
    rel = digest_name(output, compiled.data)
    return Entry(
        file=rel,
        url=f"{static_url.rstrip('/')}/{rel}",
        type=compiled.kind,
        integrity=integrity(compiled.data),
        bytes=len(compiled.data),
        sources=compiled.sources,
    )


def select(spec: Spec, names: Iterable[str] | None) -> list[str]:
    built = spec.outputs
    if not names:
        return list(built)
    out = []
    for n in names:
        if n not in spec.bundles:
            raise MissingBundleError(f"unknown bundle '{n}' (declared: {', '.join(built)})")
        if n not in built:
            raise MissingBundleError(f"bundle '{n}' has no 'output'; it is only nested")
        out.append(n)
    return out


def build(
    spec: Spec,
    names: Iterable[str] | None = None,
    *,
    static_url: str = "/static",
    keep: int = 3,
    minify: bool = True,
    report: Callable[[Result], None] | None = None,
    cache_dir: Path | None = None,
    jobs: int | None = None,
) -> Manifest:
    """Build the named bundles (default: all with an output) and update the manifest.

    Independent bundles compile in parallel processes (the minifiers are pure
    Python, so threads would not help); ``jobs=1`` builds serially.
    """
    static = spec.static_folder
    todo = select(spec, names)
    compiled = compile_all(
        spec, todo, minify=minify, cache_dir=cache_dir, jobs=jobs, static_url=static_url
    )

    gen = static / OUTPUT_DIR
    mpath = gen / manifest_mod.FILENAME
    try:
        with build_lock(gen):
            remove_temporaries(gen)
            try:
                old = manifest_mod.load(mpath)
            except manifest_mod.ManifestError:
                old = Manifest({})
            bundles = {n: e for n, e in old.bundles.items() if n in spec.outputs}
            results = []
            for p in compiled:
                t0 = time.perf_counter()
                gz = write_compiled(static, p.entry.file, p.compiled, variants=p.variants)
                bundles[p.compiled.name] = p.entry
                results.append(
                    Result(p.compiled.name, p.entry, gz, p.seconds + time.perf_counter() - t0)
                )
            bundles = dict(sorted(bundles.items()))
            previous = old.previous
            if old.bundles and _files(old.bundles) != _files(bundles):
                previous = (old.bundles, *old.previous)[: max(keep, 0)]
            new = Manifest(bundles, previous)
            if new != old or not mpath.exists():
                manifest_mod.save(mpath, new)
    except OSError as exc:
        where = Path(exc.filename) if exc.filename else gen
        if where.name.startswith(TMP_PREFIX) or where.name == LOCK_NAME:
            where = where.parent  # name the folder the user can fix, not our temp file
        reason = exc.strerror
        if where.is_file() or any(p.is_file() for p in where.parents if gen in (p, *p.parents)):
            reason = "a file stands where a folder is needed"
        raise BuildError(f"cannot write build output: {reason}", file=display_path(where)) from None
    if report:
        for r in results:
            report(r)
    return new


_CSS_URL = re.compile(r"""url\(\s*["']?([^"')?#]+)""")


def disk_reader(static: Path) -> Callable[[str], bytes | None]:
    """Read a file under ``static/`` by its manifest path; None if it is not there."""

    def read(rel: str) -> bytes | None:
        try:
            return (static / rel).read_bytes()
        except OSError:
            return None

    return read


def referenced_assets(manifest: Manifest, read: Callable[[str], bytes | None]) -> set[str]:
    """Hashed url() files named by the kept CSS outputs (they sit beside them).

    ``read(file)`` gives a CSS output's bytes: from disk, or from a bucket.
    """
    found = set()
    for f in manifest.files():
        if not f.endswith(".css"):
            continue
        data = read(f)
        if data is None:
            continue
        folder = f.rpartition("/")[0]
        for name in _CSS_URL.findall(data.decode("utf-8", "replace")):
            if "/" not in name and ":" not in name:
                found.add(f"{folder}/{name}")
    return found


def _files(bundles: dict[str, Entry]) -> dict[str, str]:
    return {n: e.file for n, e in bundles.items()}


def clean(static: Path, keep: int | None = None, *, dev: bool = False) -> list[str]:
    """Delete files in static/gen/ that no kept build references; returns what was removed.

    ``gen/dev/`` holds what running development servers serve: left alone unless ``dev``,
    and then emptied (a server still running rebuilds what a page asks for).
    """
    gen = static / OUTPUT_DIR
    mpath = gen / manifest_mod.FILENAME
    dev_dir = gen / "dev"
    with build_lock(gen):
        try:
            current = manifest_mod.load(mpath)
        except manifest_mod.ManifestError:
            if not (dev and not mpath.exists()):
                raise
            current = None  # only development builds here: nothing else is touched
        if current is None:
            return _clean_dev(static, dev_dir)
        if keep is not None and len(current.previous) > keep:
            current = Manifest(current.bundles, current.previous[:keep])
            manifest_mod.save(mpath, current)
        wanted = set()
        for f in current.files() | referenced_assets(current, disk_reader(static)):
            wanted |= {f, f + ".gz", f + ".br"}
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


def remove_temporaries(gen: Path) -> None:
    """Delete temporary files a killed build left (call under the build lock).

    ``gen/dev/`` is skipped: the development server writes there without the lock.
    """
    dev = gen / "dev"
    for path in gen.rglob(TMP_PREFIX + "*"):
        if dev not in path.parents:
            with contextlib.suppress(OSError):
                path.unlink()
