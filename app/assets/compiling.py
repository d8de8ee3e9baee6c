"""Compiling bundles in worker processes, each writing its own output.

A worker compiles a bundle, hashes and compresses it, and writes the output and its
``.gz``/``.br`` under their content-hashed names (atomically, without an fsync: the
build syncs the file system once before its manifest names them). Nothing links a new
hashed file until then, so a failed or killed build leaves the previous one serving;
a failed build also removes the files its workers created.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .cache import Cache, memo
from .compiled import Compiled
from .declare import Spec
from .manifest import Entry
from .output import SUFFIXES, deferred_durability, gzip_size, variants, write_output

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


@dataclass(frozen=True)
class Prepared:
    """A compiled bundle, its manifest entry, and the compressed siblings of its output
    (None: right on disk). Its url() files are digested with every static file."""

    compiled: Compiled
    entry: Entry
    siblings: dict[str, bytes | None]
    seconds: float
    from_sources: bool = False  # compiled without reading another machine's cache entry
    # Written by the worker: the files it wrote (to sync) and created (to remove if the
    # build fails), and the served .gz size. None: the build writes it.
    written: tuple[Path, ...] | None = None
    created: tuple[Path, ...] = ()
    gzip_bytes: int = 0


def prepare(
    spec: Spec,
    name: str,
    minify: bool,
    cache_dir: Path | None,
    static_url: str,
    browsers: tuple[str, ...] = (),
    write: bool = False,
) -> Prepared:
    # Runs in a worker: compile, hash and compress here, so all of it uses every core.
    from .bridge.bundle import compile_bundle  # webassets and the engines: only to compile

    t0 = time.perf_counter()
    cache = Cache(cache_dir) if cache_dir else None
    compiled = compile_bundle(spec, name, minify=minify, cache=cache, browsers=browsers)
    from_sources = cache is None or cache.foreign == 0
    output = spec.bundles[name].output
    assert output is not None  # select() keeps bundles with an output
    entry = Entry.of(compiled, output, static_url)
    path = spec.static_folder / entry.file
    siblings = variants(path, compiled.data, memo(cache, "compress"))
    if not write:
        return Prepared(compiled, entry, siblings, time.perf_counter() - t0, from_sources)
    targets = [path, *(path.with_name(path.name + s) for s in SUFFIXES)]
    new = [p for p in targets if not os.path.lexists(p)]
    try:
        with deferred_durability() as written:
            write_output(path, compiled.data, siblings)
    except BaseException:
        remove(new)
        raise
    created = tuple(p for p in new if os.path.lexists(p))
    seconds = time.perf_counter() - t0
    gz = gzip_size(path, len(compiled.data))
    return Prepared(compiled, entry, {}, seconds, from_sources, tuple(written), created, gz)


def remove(paths: list[Path] | tuple[Path, ...]) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink()


def die_with_parent(parent: int | None) -> None:
    """A killed build must not leave workers behind (they would hold its pipes open).

    ``parent``: the build that forked this worker, None under the forkserver (whose
    server is the parent, and exits when the build does).
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    # The parent may have died between fork and prctl (then we were adopted).
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def pool(jobs: int) -> ProcessPoolExecutor:
    """A process pool of ``jobs`` workers that die with the build."""
    ctx = pool_context()
    parent = os.getpid() if ctx.get_start_method() == "fork" else None
    return ProcessPoolExecutor(
        max_workers=jobs, mp_context=ctx, initializer=die_with_parent, initargs=(parent,)
    )


def pool_context() -> multiprocessing.context.BaseContext:
    """fork: workers inherit the imported modules, so start-up costs milliseconds. But
    a process that has called into a Go runtime (tdewolff-minify, module ``minify``)
    cannot fork safely: Go's threads do not survive it and the child hangs on its first
    call. Such a process (a test run, a long-lived server) starts clean workers instead.
    """
    if "minify" in sys.modules:
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("fork")


def compile_all(
    spec: Spec,
    names: list[str],
    *,
    minify: bool = True,
    cache_dir: Path | None = None,
    jobs: int | None = None,
    static_url: str = "/static",
    browsers: tuple[str, ...] = (),
    write: bool = False,
) -> list[Prepared]:
    """Compile bundles, in order; the first error (in declaration order) wins. With
    ``write``, each output is written as soon as it is compiled, and if any bundle
    fails, every file the others created is removed before the error is raised."""
    jobs = min(jobs or os.cpu_count() or 1, len(names))
    args = (minify, cache_dir, static_url, browsers, write)
    if jobs <= 1:
        done: list[Prepared] = []
        try:
            for n in names:
                done.append(prepare(spec, n, *args))
        except BaseException:
            for p in done:
                remove(p.created)
            raise
        return done
    with pool(jobs) as workers:
        futures = [workers.submit(prepare, spec, n, *args) for n in names]
        try:
            return [f.result() for f in futures]
        except BaseException:
            workers.shutdown(wait=True, cancel_futures=True)
            for f in futures:
                if _succeeded(f):
                    remove(f.result().created)
            raise


def _succeeded(f: Future[Prepared]) -> bool:
    return f.done() and not f.cancelled() and f.exception() is None
