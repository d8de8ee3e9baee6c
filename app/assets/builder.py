"""`flask assets build`: bundles into content-hashed files, compressed siblings, manifest.

Everything is compiled in memory first; only when every requested bundle
succeeded are files written, each atomically, and the manifest last. A failed
or killed build therefore leaves the previous build serving.
"""

from __future__ import annotations

import ctypes
import dataclasses
import multiprocessing
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import manifest as manifest_mod
from .cache import Cache, memo
from .compiled import Compiled
from .declare import OUTPUT_DIR, Spec, display_path
from .errors import BuildError, MissingBundleError
from .manifest import Entry, FileEntry, Manifest
from .output import (
    LOCK_NAME,
    TMP_PREFIX,
    build_lock,
    durable_batch,
    remove_temporaries,
    variants,
    write_output,
)
from .records import Records, declaration_key
from .static_files import Digester, to_digest, url_targets

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


@dataclass(frozen=True)
class Result:
    name: str
    entry: Entry
    gzip_bytes: int
    seconds: float
    warnings: tuple[str, ...] = ()  # the compilers' (deprecations), one line each


@dataclass(frozen=True)
class Prepared:
    """A compiled bundle, its manifest entry, and the compressed siblings of its output
    (None: right on disk). Its url() files are digested with every static file."""

    compiled: Compiled
    entry: Entry
    siblings: dict[str, bytes | None]
    seconds: float
    from_sources: bool = False  # compiled without reading another machine's cache entry


def _prepare(
    spec: Spec,
    name: str,
    minify: bool,
    cache_dir: Path | None,
    static_url: str,
    browsers: tuple[str, ...] = (),
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
    siblings = variants(spec.static_folder / entry.file, compiled.data, memo(cache, "compress"))
    return Prepared(compiled, entry, siblings, time.perf_counter() - t0, from_sources)


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
) -> list[Prepared]:
    """Compile bundles in memory, in order; the first error (in declaration order) wins."""
    jobs = min(jobs or os.cpu_count() or 1, len(names))
    args = (minify, cache_dir, static_url, browsers)
    if jobs <= 1:
        return [_prepare(spec, n, *args) for n in names]
    with pool(jobs) as workers:
        futures = [workers.submit(_prepare, spec, n, *args) for n in names]
        return [f.result() for f in futures]


def _in_order(
    todo: list[str],
    made: list[Prepared],
    reused: dict[str, tuple[Compiled, Entry]],
    static: Path,
    cache: Cache | None,
) -> list[Prepared]:
    """Compiled and reused bundles in declaration order; a reused output's siblings are
    verified on disk (decompressed) like any other's."""
    by_name = {p.compiled.name: p for p in made}
    out = []
    for name in todo:
        if name in by_name:
            out.append(by_name[name])
            continue
        compiled, entry = reused[name]
        siblings = variants(static / entry.file, compiled.data, memo(cache, "compress"))
        out.append(Prepared(compiled, entry, siblings, 0.0))
    return out


def select(spec: Spec, names: Iterable[str] | None) -> list[str]:
    built = spec.outputs
    if not names:
        return list(built)
    out = []
    for n in names:
        if n not in spec.bundles:
            raise MissingBundleError(f"unknown bundle '{n}' (declared: {', '.join(built)})")
        if n in spec.groups:
            out += [p for p in spec.groups[n] if p not in out]  # a container: its parts
            continue
        if n not in built:
            raise MissingBundleError(f"bundle '{n}' has no 'output'; it is only nested")
        if n not in out:
            out.append(n)
    return out


def _digest_files(
    spec: Spec,
    compiled: list[Prepared],
    bundles: dict[str, Entry],
    linked: Iterable[str],
    static_url: str,
    cache_dir: Path | None,
) -> dict[str, FileEntry]:
    """Digest every static file, url() files included (``static_files``)."""
    url_files = {lg: rel for p in compiled for lg, rel, _ in p.compiled.assets}
    for entry in bundles.values():
        url_files.update({s: "" for s in url_targets(entry) if s not in url_files})
    cache = Cache(cache_dir) if cache_dir else None
    digester = Digester(spec.static_folder, static_url, cache_dir, memo(cache, "compress"))
    files = digester.digest_all(to_digest(spec, bundles, url_files, linked))
    for logical, rel in url_files.items():
        if rel and files[logical].file != rel:
            raise BuildError(
                "changed during the build; run it again",
                file=display_path(spec.load_path.path(logical)),
            )
    return files


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
    linked: Iterable[str] = (),
    warn: Callable[[str], None] | None = None,
    browsers: tuple[str, ...] = (),
) -> Manifest:
    """Build the named bundles (default: all with an output) and update the manifest.

    Every other static file is digested too (``static_files``); ``linked`` names the
    files templates link, which are digested even when a bundle compiles them.

    Independent bundles compile in parallel processes (the minifiers are pure
    Python, so threads would not help); ``jobs=1`` builds serially. A full build is
    a new build (the previous one moves to the manifest's history); building some
    bundles by name updates them inside the current build. A manifest that cannot be
    read is replaced, and ``warn`` is told (its history is lost).
    """
    static = spec.static_folder
    todo = select(spec, names)
    started = time.time_ns()
    cache = Cache(cache_dir) if cache_dir else None
    records = Records(cache)
    keys = {n: declaration_key(spec, n, (minify, browsers, static_url)) for n in todo}
    reused = {n: hit for n in todo if (hit := records.current(spec, n, keys[n]))}
    made = compile_all(
        spec,
        [n for n in todo if n not in reused],
        minify=minify,
        cache_dir=cache_dir,
        jobs=jobs,
        static_url=static_url,
        browsers=browsers,
    )
    compiled = _in_order(todo, made, reused, static, cache)
    gen = static / OUTPUT_DIR
    mpath = gen / manifest_mod.FILENAME
    try:
        with build_lock(gen):
            remove_temporaries(gen, skip=gen / "dev")
            try:
                old = manifest_mod.load(mpath)
            except manifest_mod.ManifestError as exc:
                old = Manifest({})  # unreadable: this build writes a good one over it
                if warn is not None and mpath.exists():
                    warn(_replaced(exc))
            fresh = {p.compiled.name: p.entry for p in compiled}
            kept = {n: e for n, e in old.bundles.items() if n in spec.outputs} if names else {}
            bundles = dict(sorted({**kept, **fresh}.items()))
            results = []
            # One file-system sync for everything below, before the manifest names it.
            with durable_batch(gen):
                for p in compiled:
                    t0 = time.perf_counter()
                    gz = write_output(static / p.entry.file, p.compiled.data, p.siblings)
                    seconds = p.seconds + time.perf_counter() - t0
                    warnings = p.compiled.warnings
                    results.append(Result(p.compiled.name, p.entry, gz, seconds, warnings))
                # After the outputs (nothing links either before the manifest names them),
                # so an output that cannot be written stops the build before any copy.
                files = _digest_files(spec, compiled, bundles, linked, static_url, cache_dir)
            if names:
                new = Manifest(bundles, old.previous, files, old.previous_files)
            else:
                new = old.successor(bundles, keep, files)
            new = _with_groups(spec, new)
            if new != old or manifest_mod.load_bytes(mpath) != new.to_json():
                manifest_mod.save(mpath, new)
            for p in made:
                key = keys[p.compiled.name]
                records.store(
                    spec,
                    p.compiled.name,
                    key,
                    p.compiled,
                    p.entry,
                    started,
                    from_sources=p.from_sources,
                )
            records.save()
    except OSError as exc:
        raise _write_error(exc, gen) from None
    if report:
        for r in results:
            report(r)
    return new


def _replaced(exc: manifest_mod.ManifestError) -> str:
    reason = re.sub(r"[:;] run `[^`]*`( first)?$", "", exc.message)
    return f"warning: {exc.file}: {reason}; replaced by this build's manifest (history lost)"


def _with_groups(spec: Spec, manifest: Manifest) -> Manifest:
    """The spec's containers (whose parts are built) and each bundle's ``extra``."""
    groups = {n: m for n, m in sorted(spec.groups.items()) if all(x in manifest.bundles for x in m)}
    extra = {n: dict(b.extra) for n, b in sorted(spec.bundles.items()) if b.extra}
    return dataclasses.replace(manifest, groups=groups, extra=extra)


def _write_error(exc: OSError, gen: Path) -> BuildError:
    where = Path(exc.filename) if exc.filename else gen
    if where.name.startswith(TMP_PREFIX) or where.name == LOCK_NAME:
        where = where.parent  # name the folder the user can fix, not our temp file
    reason = exc.strerror or str(exc)
    if where.is_file() or any(p.is_file() for p in where.parents if gen in (p, *p.parents)):
        reason = "a file stands where a folder is needed"
    return BuildError(f"cannot write build output: {reason}", file=display_path(where))
