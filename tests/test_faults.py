"""Faults: a build killed at any moment, or several builds at once, never break serving.

The contract: writes are atomic and the manifest goes last, so after a SIGKILL the
manifest still parses and names only complete files with their recorded integrity;
the next build succeeds and leaves no ``.tmp-*`` files; concurrent builds serialise on
``static/gen/.build.lock`` and end with one consistent manifest.

A large generated JS source makes each build take about a second, so random kill
delays land in start-up, compilation and the write phase alike.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import brotli
import pytest
from conftest import build_project, flask_env, run_flask, sri

from app.assets.atomic import TMP_PREFIX

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


def start_build(root: Path, *bundles: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "assets", "build", *bundles],
        cwd=root,
        env=flask_env(root),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=WAIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"a build did not finish in {WAIT} s:\n{err}")
    return proc.returncode, out, err


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


def test_sigkill_at_random_moments_keeps_a_consistent_build(slow_built: Path) -> None:
    root = slow_built
    seed = int(os.environ.get("FAULT_SEED", time.time_ns() % 2**32))
    rng = random.Random(seed)
    verify_gen(root)

    # One uninterrupted build with new work measures how long a build takes here.
    append(root, "js/gallery.js", js_marker("timing"))
    t0 = time.perf_counter()
    code, _, err = finish(start_build(root))
    duration = time.perf_counter() - t0
    assert code == 0, err
    verify_gen(root)

    killed = finished = left_temp = 0
    for trial in range(TRIALS):
        append(root, "js/gallery.js", js_marker(f"trial-{trial}"))
        proc = start_build(root)
        delay = rng.uniform(0.0, duration * 1.1)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        code, _, err = finish(proc)
        if code == -signal.SIGKILL:
            killed += 1
        else:
            assert code == 0, f"seed {seed}, trial {trial}: the build failed:\n{err}"
            finished += 1
        left_temp += bool(temp_files(root))
        try:
            verify_gen(root)
        except (AssertionError, ValueError, OSError) as exc:
            pytest.fail(f"seed {seed}, trial {trial}, killed after {delay:.3f} s: {exc}")

    print(
        f"\nkill trials: {TRIALS} (seed {seed}, build {duration:.2f} s): {killed} killed, "
        f"{finished} finished first, {left_temp} left temporary files; all consistent"
    )
    assert killed >= TRIALS // 2, "too few kills landed during a build to test anything"

    append(root, "js/gallery.js", js_marker("final"))
    code, _, err = finish(start_build(root))
    assert code == 0, err
    doc = verify_gen(root)
    built = (root / "static" / doc["bundles"]["js_gallery"]["file"]).read_bytes()
    assert b'"final"' in built
    assert temp_files(root) == []
    assert run_flask(root, "assets", "check", timeout=WAIT).returncode == 0


def test_next_build_removes_temporary_files_left_by_a_killed_build(project: Path) -> None:
    """What a SIGKILL between ``mkstemp`` and ``os.replace`` leaves behind, made on purpose."""
    build_project(project)
    gen = project / "static" / "gen"
    (gen / (TMP_PREFIX + "k1ll3d")).write_bytes(b"half a bund")
    append(project, "js/gallery.js", js_marker("after-kill"))
    result = run_flask(project, "assets", "build", timeout=WAIT)
    assert result.returncode == 0, result.stderr
    verify_gen(project)
    assert temp_files(project) == []


def test_build_lock_held_by_a_dead_process_does_not_block(slow_built: Path) -> None:
    """Kill a build while it most likely holds the lock; the next one must not wait on it."""
    append(slow_built, "js/gallery.js", js_marker("locked"))
    proc = start_build(slow_built)
    lock = slow_built / "static" / "gen" / ".build.lock"
    deadline = time.monotonic() + WAIT
    # Poll the lock: kill as soon as someone holds it (or give up and kill anyway).
    with open(lock, "a+b") as fh:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                break  # the build holds it now
            fcntl.flock(fh, fcntl.LOCK_UN)
            time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    finish(proc)
    t0 = time.perf_counter()
    result = run_flask(slow_built, "assets", "build", timeout=WAIT)
    assert result.returncode == 0, result.stderr
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
    procs = [start_build(root, *a) for a in args]
    results = [finish(p) for p in procs]
    for code, _, err in results:
        assert code == 0, err
        assert err == ""

    doc = verify_gen(root)
    assert sorted(doc["bundles"]) == sorted(
        ["css_all", "css_gallery", "js_all", "js_gallery", "js_lib"]
    )
    for bundle, token in markers.items():
        data = (root / "static" / doc["bundles"][bundle]["file"]).read_bytes()
        assert token.encode() in data, f"bundle '{bundle}' lost the edit {token!r}"
    # js_lib is nested in js_all: the util.js edit must reach both.
    if "js_lib" in markers:
        data = (root / "static" / doc["bundles"]["js_all"]["file"]).read_bytes()
        assert markers["js_lib"].encode() in data
    assert temp_files(root) == []
    check = run_flask(root, "assets", "check", timeout=WAIT)
    assert check.returncode == 0, check.stderr
    print(f"\nconcurrent builds: {n} processes, one consistent manifest")
