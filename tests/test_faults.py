"""Faults: a build killed at any moment, or several builds at once, never break serving.

The contract: writes are atomic and the manifest goes last, so after a SIGKILL the
manifest still parses and names only complete files with their recorded integrity;
the next build succeeds and leaves no ``.tmp-*`` files; concurrent builds serialise on
``static/gen/.build.lock`` and end with one consistent manifest.

A large generated JS source makes each build take about a second, so random kill
delays land in start-up and compilation; every third trial is aimed at the short
write phase instead (a few milliseconds after the build takes the lock).
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import brotli
import pytest
from conftest import build_project, flask_env, run_flask, sri

from app.assets.bridge.bundle import compile_bundle
from app.assets.declare import load_spec
from app.assets.output import TMP_PREFIX

TRIALS = 24
BIG_FUNCTIONS = 4000  # ~260 KB of JS: a build of about one second
WAIT = 60  # seconds any single build may take before the test gives up on it


def add_big_source(root: Path) -> None:
    """Put a large generated JS file into the js_gallery bundle."""
    lines = ["window.__big = window.__big || {};"]
    lines += [
        f'__big.f{i} = function (a, b) {{ var x = a + {i}; return "item {i}: " + x + b; }};'
        for i in range(BIG_FUNCTIONS)
    ]
    (root / "static" / "js" / "big.js").write_text("\n".join(lines) + "\n")
    config = (root / "assets.yml").read_text()
    slow = config.replace("contents: [js/gallery.js]", "contents: [js/gallery.js, js/big.js]")
    assert slow != config, "the demo's js_gallery declaration changed; update this helper"
    (root / "assets.yml").write_text(slow)


@pytest.fixture
def slow_built(project: Path) -> Path:
    add_big_source(project)
    build_project(project)
    return project


@dataclass
class Build:
    """A `flask assets build` in its own process group, stderr in a file (not a pipe).

    Files, because a killed build's orphaned children could hold a pipe open forever.
    """

    proc: subprocess.Popen[bytes]
    err: Any  # a temporary file

    @property
    def group(self) -> int:
        return self.proc.pid  # start_new_session: the build leads its own group

    def kill(self) -> None:
        """SIGKILL the build process only, as the OOM killer or a CI timeout would."""
        self.proc.send_signal(signal.SIGKILL)

    def wait(self) -> tuple[int, str]:
        try:
            code = self.proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.reap()
            pytest.fail(f"a build did not finish in {WAIT} s")
        self.err.seek(0)
        return code, self.err.read().decode(errors="replace")

    def survivors(self, grace: float = 3.0) -> list[int]:
        """Processes of the build's group still alive ``grace`` seconds after it ended."""
        deadline = time.monotonic() + grace
        while True:
            alive = group_members(self.group)
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.05)

    def reap(self) -> None:
        """End whatever is left of this build's own process group (only ours, by id)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.group, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=WAIT)
        self.err.close()


def group_members(pgid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        # After the command name: state, ppid, pgrp, ...; zombies are already dead.
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def start_build(root: Path, *bundles: str) -> Build:
    err = tempfile.TemporaryFile()  # noqa: SIM115 (Build.reap closes it)
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "assets", "build", *bundles],
        cwd=root,
        env=flask_env(root),
        stdout=subprocess.DEVNULL,
        stderr=err,
        start_new_session=True,
    )
    return Build(proc, err)


def run_build(root: Path, *bundles: str) -> tuple[int, str]:
    build = start_build(root, *bundles)
    try:
        return build.wait()
    finally:
        build.reap()


def append(root: Path, rel: str, text: str) -> None:
    path = root / "static" / rel
    path.write_text(path.read_text() + text)


def js_marker(token: str) -> str:
    # A statement (a comment would be minified away); the leading ';' keeps ASI out of it.
    return f'\n;window.__marker = "{token}";\n'


def temp_files(root: Path) -> list[str]:
    gen = root / "static" / "gen"
    return sorted(p.relative_to(gen).as_posix() for p in gen.rglob(TMP_PREFIX + "*"))


def verify_gen(root: Path) -> dict[str, Any]:
    """The manifest parses; every file it names (kept builds too) is whole and intact."""
    static = root / "static"
    raw = (static / "gen" / "manifest.json").read_bytes()
    doc = json.loads(raw)
    assert doc["version"] == 1
    builds = [doc["bundles"], *doc.get("previous", [])]
    assert doc["bundles"], "the current build lists no bundles"
    for bundles in builds:
        for name, entry in bundles.items():
            path = static / entry["file"]
            assert path.is_file(), f"bundle '{name}': {entry['file']} is missing"
            data = path.read_bytes()
            assert len(data) == entry["bytes"], f"bundle '{name}': {entry['file']} is partial"
            assert sri(data) == entry["integrity"], f"bundle '{name}': integrity mismatch"
    # A precompressed sibling, when present, is the whole file compressed.
    for packed in sorted((static / "gen").rglob("*")):
        base = packed.with_suffix("")
        if packed.suffix not in (".gz", ".br") or not base.is_file():
            continue
        unpack = gzip.decompress if packed.suffix == ".gz" else brotli.decompress
        assert unpack(packed.read_bytes()) == base.read_bytes(), f"{packed.name} is damaged"
    return doc


def assert_matches_fresh_compile(root: Path, doc: dict[str, Any]) -> None:
    """Each built file is what a clean, uncached, in-process compile produces now."""
    spec = load_spec(root / "assets.yml", root / "static")
    for name, entry in doc["bundles"].items():
        fresh = compile_bundle(spec, name).data
        assert (root / "static" / entry["file"]).read_bytes() == fresh, f"bundle '{name}'"


def test_sigkill_at_random_moments_keeps_a_consistent_build(slow_built: Path) -> None:
    root = slow_built
    seed = int(os.environ.get("FAULT_SEED", time.time_ns() % 2**32))
    rng = random.Random(seed)
    verify_gen(root)

    # Uninterrupted builds with new work measure how long a build takes here; the last
    # one counts (the first may also fill the build cache, which later builds reuse).
    for step in range(2):
        append(root, "js/gallery.js", js_marker(f"timing-{step}"))
        t0 = time.perf_counter()
        code, err = run_build(root)
        duration = time.perf_counter() - t0
        assert code == 0, err
        verify_gen(root)

    killed = finished = in_lock = 0
    temp_seen: set[str] = set()
    orphans: list[str] = []
    for trial in range(TRIALS):
        append(root, "js/gallery.js", js_marker(f"trial-{trial}"))
        build = start_build(root)
        try:
            if trial % 3 == 2:
                # Aim at the write phase: a few ms after the build takes the lock.
                in_lock += wait_for_lock(build, root)
                delay = rng.uniform(0.0, 0.03)
            else:
                delay = rng.uniform(0.0, duration * 1.2)
            time.sleep(delay)
            build.kill()
            code, err = build.wait()
            alive = build.survivors()
        finally:
            build.reap()
        if code == -signal.SIGKILL:
            killed += 1
        else:
            assert code == 0, f"seed {seed}, trial {trial}: the build failed:\n{err}"
            finished += 1
        if alive:
            orphans.append(f"trial {trial} (killed after {delay:.2f} s): pids {alive}")
        temp_seen.update(temp_files(root))
        try:
            verify_gen(root)
        except (AssertionError, ValueError, OSError) as exc:
            pytest.fail(f"seed {seed}, trial {trial}, killed after {delay:.3f} s: {exc}")

    print(
        f"\nkill trials: {TRIALS} (seed {seed}, build {duration:.2f} s): {killed} killed "
        f"({in_lock} of them aimed at the write phase), "
        f"{finished} finished first, {len(temp_seen)} temporary files left behind, "
        f"{len(orphans)} left orphaned processes; manifest consistent after every one"
    )
    assert killed >= TRIALS // 2, "too few kills landed during a build to test anything"

    append(root, "js/gallery.js", js_marker("final"))
    code, err = run_build(root)
    assert code == 0, err
    doc = verify_gen(root)
    assert b'"final"' in (root / "static" / doc["bundles"]["js_gallery"]["file"]).read_bytes()
    assert_matches_fresh_compile(root, doc)
    assert temp_files(root) == []
    assert run_flask(root, "assets", "check", timeout=WAIT).returncode == 0
    # Worker processes of a killed build must not live on (they hold memory and pipes).
    assert not orphans, "killed builds left processes running:\n" + "\n".join(orphans)


def test_next_build_removes_temporary_files_left_by_a_killed_build(project: Path) -> None:
    """What a SIGKILL between ``mkstemp`` and ``os.replace`` leaves behind, made on purpose."""
    build_project(project)
    gen = project / "static" / "gen"
    (gen / (TMP_PREFIX + "k1ll3d")).write_bytes(b"half a bund")
    append(project, "js/gallery.js", js_marker("after-kill"))
    code, err = run_build(project)
    assert code == 0, err
    verify_gen(project)
    assert temp_files(project) == []


def wait_for_lock(build: Build, root: Path) -> bool:
    """Return as soon as ``build`` holds the build lock; False if it ended first."""
    deadline = time.monotonic() + WAIT
    with open(root / "static" / "gen" / ".build.lock", "a+b") as fh:
        while time.monotonic() < deadline and build.proc.poll() is None:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(fh, fcntl.LOCK_UN)
            time.sleep(0.001)
    return False


def _kill_while_holding_the_lock(root: Path, token: str) -> bool:
    """Start a build and SIGKILL it the moment it holds the lock; False if it never did."""
    append(root, "js/gallery.js", js_marker(token))
    build = start_build(root)
    try:
        held = wait_for_lock(build, root)
        build.kill()
        build.wait()
    finally:
        build.reap()
    return held


def test_build_lock_held_by_a_dead_process_does_not_block(slow_built: Path) -> None:
    """Kill a build while it holds the lock; the next one must not wait on it."""
    # The locked window is short (compilation happens before it): retry if it was missed.
    held = any(_kill_while_holding_the_lock(slow_built, f"locked-{i}") for i in range(8))
    assert held, "no build was ever seen holding the lock"
    t0 = time.perf_counter()
    code, err = run_build(slow_built)
    assert code == 0, err
    assert time.perf_counter() - t0 < WAIT
    verify_gen(slow_built)


# --------------------------------------------------------------------------- concurrency

# Edit i touches a source of one bundle; process i builds that bundle (process 0: all).
EDITS = [
    ("js/gallery.js", "js_gallery"),
    ("js/main.js", "js_all"),
    ("scss/gallery.scss", "css_gallery"),
    ("js/util.js", "js_lib"),
]


@pytest.mark.parametrize("n", [2, 3, 4])
def test_concurrent_builds_end_with_one_consistent_manifest(slow_built: Path, n: int) -> None:
    root = slow_built
    markers = {}
    for i, (rel, bundle) in enumerate(EDITS[:n]):
        token = f"concurrent-{n}-{i}"
        if rel.endswith(".scss"):
            append(root, rel, f"\n.{token} {{ color: red; }}\n")
        else:
            append(root, rel, js_marker(token))
        markers[bundle] = token

    # Everyone builds the slow bundle too, so they all reach the lock at about one time.
    args = [[]] + [[bundle, "js_gallery"] for _, bundle in EDITS[1:n]]
    builds = [start_build(root, *a) for a in args]
    try:
        results = [b.wait() for b in builds]
    finally:
        for b in builds:
            b.reap()
    for code, err in results:
        assert code == 0, err
        assert "Traceback" not in err

    doc = verify_gen(root)
    assert sorted(doc["bundles"]) == ["css_all", "css_gallery", "js_all", "js_gallery", "js_lib"]
    for bundle, token in markers.items():
        data = (root / "static" / doc["bundles"][bundle]["file"]).read_bytes()
        assert token.encode() in data, f"bundle '{bundle}' lost the edit {token!r}"
    # js_lib is nested in js_all: the util.js edit must reach both.
    if "js_lib" in markers:
        data = (root / "static" / doc["bundles"]["js_all"]["file"]).read_bytes()
        assert markers["js_lib"].encode() in data
    assert_matches_fresh_compile(root, doc)
    assert temp_files(root) == []
    check = run_flask(root, "assets", "check", timeout=WAIT)
    assert check.returncode == 0, check.stderr
    print(f"\nconcurrent builds: {n} processes at once, one consistent manifest")
