"""`flask assets build`: bundles into content-hashed files, compressed siblings, manifest.

Workers compile each bundle and write its content-hashed output (``compiling.py``);
static files are digested after all bundles succeeded, and the manifest, which alone
names the new files, is written last after one file-system sync. A failed build
removes what it created; a failed or killed build leaves the previous build serving.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from . import manifest as manifest_mod
from .cache import Cache, memo
from .compiled import Compiled
from .compiling import Prepared, compile_all
from .declare import OUTPUT_DIR, Spec, display_path
from .errors import BuildError, MissingBundleError, known_names
from .manifest import Entry, FileEntry, Manifest
from .output import (
    LOCK_NAME,
    TMP_PREFIX,
    build_lock,
    durable_batch,
    note_durable,
    remove_temporaries,
    variants,
    write_output,
)
from .records import Records, declaration_key
from .static_files import Digester, to_digest, url_targets


@dataclass(frozen=True)
class Result:
    name: str
    entry: Entry
    gzip_bytes: int
    seconds: float
    warnings: tuple[str, ...] = ()  # the compilers' (deprecations), one line each


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
            raise MissingBundleError(f"unknown bundle '{n}' {known_names(n, built)}")
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
    gen = static / OUTPUT_DIR
    try:
        # Before the clock starts: creating gen/ is a change to static/'s listing, which
        # the records take for an import's lookup folder changing during the build.
        gen.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(exc, gen) from None
    started = time.time_ns()
    cache = Cache(cache_dir) if cache_dir else None
    records = Records(cache, roots=[str(f) for f in spec.load_path.folders()])
    keys = {n: declaration_key(spec, n, (minify, browsers, static_url)) for n in todo}
    reused = {n: hit for n in todo if (hit := records.current(spec, n, keys[n]))}
    mpath = gen / manifest_mod.FILENAME
    try:
        # The lock covers compiling too: workers write outputs as they finish.
        with build_lock(gen):
            remove_temporaries(gen, skip=gen / "dev")
            # One file-system sync for every file written, before the manifest names it.
            with durable_batch(gen):
                made = compile_all(
                    spec,
                    [n for n in todo if n not in reused],
                    minify=minify,
                    cache_dir=cache_dir,
                    jobs=jobs,
                    static_url=static_url,
                    browsers=browsers,
                    write=True,
                )
                compiled = _in_order(todo, made, reused, static, cache)
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
                for p in compiled:
                    t0 = time.perf_counter()
                    if p.written is None:  # reused: its siblings checked on disk
                        gz = write_output(static / p.entry.file, p.compiled.data, p.siblings)
                    else:
                        note_durable(p.written)
                        gz = p.gzip_bytes
                    seconds = p.seconds + time.perf_counter() - t0
                    warnings = p.compiled.warnings
                    results.append(Result(p.compiled.name, p.entry, gz, seconds, warnings))
                # After the outputs (nothing links either before the manifest names them),
                # so a bundle that fails stops the build before any copy.
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
