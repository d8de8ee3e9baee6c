"""`flask assets check`: is the build current, and do templates use it properly?"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from . import deps
from . import manifest as manifest_mod
from .cache import Cache
from .compiled import Compiled
from .declare import Spec, display_path
from .digests import integrity, stream_hashes
from .errors import AssetError
from .manifest import Entry, Manifest
from .output import SUFFIXES, decompress
from .records import Records, declaration_key, touched
from .static_files import (
    BUNDLE_CALL,
    MAX_COMPRESS,
    compressible,
    digest_path,
    template_files,
    template_links,
    to_digest,
    url_targets,
)

# {% assets "x" %} / {% assets "a", "b" %}: the names Flask-Assets' tag is given.
_ASSETS_TAG = re.compile(r"""\{%-?\s*assets\s+(.*?)-?%\}""", re.DOTALL)
_TAG_NAME = re.compile(r"""^\s*(["'])([^"']+)\1\s*(?:,|$)""")
REBUILD = "run `flask --app app assets build`"


def stale_bundles(
    spec: Spec,
    manifest_path: Path,
    static_url: str = "/static",
    browsers: tuple[str, ...] = (),
    cache_dir: Path | None = None,
    full: bool = False,
) -> list[str]:
    """Every way the bytes production would serve differ from what the sources build to.

    Each output is verified on disk, with its ``.gz``/``.br`` (decompressed and compared),
    its url() files, and its manifest URL against the file it names. Whether it is what
    the sources build to now is either proven by a record this machine sealed when it
    compiled the bundle from its sources alone (``trust.py``), with every file it read
    unchanged since, or found by compiling it again without the build cache (a restored
    CI cache is never trusted). ``full``: compile every bundle again.
    """
    started = time.time_ns()
    try:
        manifest = manifest_mod.load(manifest_path)
    except AssetError as exc:
        return [str(exc)]
    roots = [str(f) for f in spec.load_path.folders()]
    records = Records(Cache(cache_dir) if cache_dir else None, roots=roots)
    built = [n for n in spec.outputs if n in manifest.bundles]
    keys = {n: declaration_key(spec, n, (True, browsers, static_url)) for n in built}
    trusted = {}
    if not full:
        for n in built:
            if (r := records.sealed(spec, n, keys[n], manifest.bundles[n])) is not None:
                trusted[n] = r
    fresh = compile_fresh(spec, [n for n in built if n not in trusted], browsers)
    problems = []
    for name in spec.outputs:
        entry = manifest.bundles.get(name)
        if entry is None:
            problems.append(f"bundle '{name}': not built; {REBUILD}")
            continue
        if name in trusted:
            found = _sealed_problems(spec, name, entry, static_url, manifest)
            record = trusted[name]
            moved = not found and bool(
                deps.changed(record.stamps) or touched(record.lookup_dirs, started, records.roots)
            )
        else:
            result = fresh[name]
            found = _bundle_problems(spec, name, entry, static_url, result)
            # Equal to what the sources build to: sealed, so the next check need not
            # compile it, unless a file it reads was saved meanwhile.
            moved = (
                not found
                and isinstance(result, Compiled)
                and not records.store(
                    spec, name, keys[name], result, entry, started, from_sources=True
                )
            )
        if moved:
            found = [f"bundle '{name}': a file it reads changed during check; run it again"]
        problems += found
    records.save()
    for name in manifest.bundles:
        if name not in spec.outputs:
            problems.append(f"bundle '{name}': in the manifest but no longer declared; rebuild")
    for name, parts in spec.groups.items():
        if manifest.groups.get(name) != parts:
            problems.append(f"bundle '{name}': the parts it links changed; {REBUILD}")
    for name in manifest.groups.keys() - spec.groups.keys():
        problems.append(f"bundle '{name}': in the manifest but no longer declared; rebuild")
    extra = {n: dict(b.extra) for n, b in spec.bundles.items() if b.extra}
    if manifest.extra != extra:
        problems.append(f"the bundles' 'extra' values changed; {REBUILD}")
    return problems


def _sealed_problems(
    spec: Spec, name: str, entry: Entry, static_url: str, manifest: Manifest
) -> list[str]:
    """A bundle proven current by its sealed record: its bytes on disk are still checked.
    Its url() files are digested static files, which `static_file_problems` hashes."""
    data, problems = _output_problems(spec, name, entry, static_url)
    if data is None:
        return problems
    copies = {f.file for f in manifest.files.values()}
    for rel in entry.assets or ():
        if rel not in copies:
            problems.append(f"bundle '{name}': url() file {rel} is not in the manifest; rebuild")
    return problems + _sibling_problems(spec.static_folder, f"bundle '{name}'", entry.file, data)


def _output_problems(
    spec: Spec, name: str, entry: Entry, static_url: str
) -> tuple[bytes | None, list[str]]:
    """The output's bytes if they are the manifest's at its URL; else the problem."""
    try:
        data = (spec.static_folder / entry.file).read_bytes()
    except OSError:
        return None, [f"bundle '{name}': output {entry.file} is missing; rebuild"]
    if integrity(data) != entry.integrity or len(data) != entry.bytes:
        return None, [f"bundle '{name}': {entry.file} does not match the manifest; rebuild"]
    expected_url = f"{static_url.rstrip('/')}/{entry.file}"
    if entry.url != expected_url:
        return None, [f"bundle '{name}': manifest URL {entry.url} is not {expected_url}; rebuild"]
    return data, []


def _compile(spec: Spec, name: str, browsers: tuple[str, ...]) -> Compiled | AssetError:
    from .bridge.bundle import compile_bundle  # webassets and the engines: only to compile

    try:
        # No cache: what the sources build to now.
        return compile_bundle(spec, name, browsers=browsers)
    except AssetError as exc:
        return exc


def compile_fresh(
    spec: Spec, names: list[str], browsers: tuple[str, ...]
) -> dict[str, Compiled | AssetError]:
    """Every bundle compiled from its sources, no cache, in parallel processes like a
    build (the compilers and minifiers are the cost: check is a cold build)."""
    from .compiling import pool

    jobs = min(os.cpu_count() or 1, len(names))
    if jobs <= 1:
        return {n: _compile(spec, n, browsers) for n in names}
    with pool(jobs) as workers:
        futures = {n: workers.submit(_compile, spec, n, browsers) for n in names}
        return {n: f.result() for n, f in futures.items()}


def _bundle_problems(
    spec: Spec, name: str, entry: Entry, static_url: str, fresh: Compiled | AssetError
) -> list[str]:
    static = spec.static_folder
    out = static / entry.file
    data, problems = _output_problems(spec, name, entry, static_url)
    if data is None:
        return problems
    if isinstance(fresh, AssetError):
        return [str(fresh)]
    if fresh.data != data:
        hint = deps.newer_than([spec.load_path.path(s) for s in fresh.sources], out)
        changed = ", ".join(spec.load_path.logical(p) or str(p) for p in hint) or "sources"
        return [f"bundle '{name}': stale ({changed} changed since {entry.file}); {REBUILD}"]
    problems = []
    files = {entry.file: data}
    for _, rel, asset_data in fresh.assets:
        files[rel] = asset_data
        if entry.assets is not None and rel not in entry.assets:
            problems.append(f"bundle '{name}': url() file {rel} is not in the manifest; rebuild")
        try:
            if (static / rel).read_bytes() != asset_data:
                problems.append(f"bundle '{name}': url() file {rel} differs from its source")
        except OSError:
            problems.append(f"bundle '{name}': url() file {rel} is missing; {REBUILD}")
    for rel, body in files.items():
        problems += _sibling_problems(static, f"bundle '{name}'", rel, body)
    return problems


def static_file_problems(
    spec: Spec, manifest_path: Path, linked: list[str], static_url: str = "/static"
) -> list[str]:
    """Digested static files that differ from their sources (hashed afresh, streamed),
    are missing, or are listed but no longer served; `stale_bundles` reports a bad manifest."""
    try:
        manifest = manifest_mod.load(manifest_path)
        targets = {t for e in manifest.bundles.values() for t in url_targets(e)}
        expected = to_digest(spec, manifest.bundles, targets, linked)
    except AssetError:
        return []
    static, problems = spec.static_folder, []
    for logical, src in expected.items():
        label = f"static file '{logical}'"
        entry = manifest.files.get(logical)
        if entry is None:
            problems.append(f"{label}: not in the manifest; {REBUILD}")
            continue
        sha256, sri, size = _hashes(src)
        if entry.file != digest_path(logical, sha256) or (entry.integrity, entry.bytes) != (
            sri,
            size,
        ):
            problems.append(f"{label}: changed since the build ({entry.file}); {REBUILD}")
        elif entry.url != f"{static_url.rstrip('/')}/{entry.file}":
            problems.append(f"{label}: manifest URL {entry.url} is wrong; {REBUILD}")
        elif _hashes(static / entry.file)[0] != sha256:
            problems.append(f"{label}: {entry.file} is missing or differs from it; {REBUILD}")
        elif compressible(logical) and size <= MAX_COMPRESS:
            problems += _sibling_problems(
                static, label, entry.file, (static / entry.file).read_bytes()
            )
    for logical in sorted(manifest.files.keys() - expected.keys()):
        problems.append(f"static file '{logical}': in the manifest but not served now; {REBUILD}")
    return problems


def _hashes(path: Path) -> tuple[str, str, int]:
    try:
        with open(path, "rb") as fh:
            return stream_hashes(fh)
    except OSError:
        return ("", "", -1)


def _sibling_problems(static: Path, name: str, rel: str, body: bytes) -> list[str]:
    problems = []
    for suffix in SUFFIXES:
        sibling = static / (rel + suffix)
        try:
            blob = sibling.read_bytes()
        except FileNotFoundError:
            continue  # written only when smaller
        except OSError as exc:
            problems.append(f"{name}: {rel}{suffix} unreadable ({exc.strerror})")
            continue
        if decompress(suffix, blob) != body:
            problems.append(f"{name}: {rel}{suffix} does not decompress to {rel}; {REBUILD}")
    return problems


def template_problems(spec: Spec, template_dirs: list[Path]) -> list[str]:
    """Templates naming unknown bundles, linking bundled sources with raw url_for, or
    linking static files that do not exist."""
    known = set(spec.outputs) | set(spec.groups)
    bundled = {f: n for n in spec.outputs for f in spec.files(n)}
    problems = []
    for path in template_files(template_dirs):
        text = path.read_text(encoding="utf-8", errors="replace")
        shown = display_path(path)
        for lineno, name in _names(text):
            if name not in known:
                problems.append(f"{shown}:{lineno}: unknown bundle '{name}'")
    for src, shown, lineno in template_links(template_dirs):
        if src in bundled:
            problems.append(
                f"{shown}:{lineno}: links bundled source '{src}' with url_for; "
                f"use bundle_tags('{bundled[src]}')"
            )
        elif spec.load_path.find(src) is None:
            problems.append(
                f"{shown}:{lineno}: links static file '{src}', which does not exist in static/"
            )
    return problems


def _names(text: str) -> list[tuple[int, str]]:
    found = []
    for m in BUNDLE_CALL.finditer(text):
        found.append((text.count("\n", 0, m.start()) + 1, m.group(2)))
    for m in _ASSETS_TAG.finditer(text):
        args = m.group(1)
        lineno = text.count("\n", 0, m.start()) + 1
        # Positional string arguments before any keyword are bundle names.
        while True:
            n = _TAG_NAME.match(args)
            if not n:
                break
            found.append((lineno, n.group(2)))
            args = args[n.end() :]
    return found
