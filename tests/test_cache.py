"""Parallel and cached builds give the same bytes as a serial, uncached build."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import flask_env

from app.assets import builder
from app.assets.bridge.bundle import compile_bundle
from app.assets.cache import Cache
from app.assets.declare import load_spec


def _snapshot(root: Path) -> dict[str, bytes]:
    gen = root / "static" / "gen"
    return {
        p.relative_to(gen).as_posix(): p.read_bytes()
        for p in sorted(gen.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def _build(root: Path, *, jobs: int, cache: bool) -> dict[str, bytes]:
    shutil.rmtree(root / "static" / "gen", ignore_errors=True)
    spec = load_spec(root / "assets.yml", root / "static")
    builder.build(spec, jobs=jobs, cache_dir=root / ".cache" / "assets" if cache else None)
    return _snapshot(root)


def test_parallel_and_cached_builds_are_byte_identical(project: Path) -> None:
    serial = _build(project, jobs=1, cache=False)
    assert any(k.endswith(".css") for k in serial) and "manifest.json" in serial
    assert _build(project, jobs=4, cache=True) == serial  # cold cache, parallel
    assert (project / ".cache" / "assets").is_dir()
    assert _build(project, jobs=4, cache=True) == serial  # warm cache, parallel
    assert _build(project, jobs=1, cache=True) == serial  # warm cache, serial


def test_corrupt_cache_entries_are_rebuilt_not_served(project: Path) -> None:
    serial = _build(project, jobs=1, cache=False)
    _build(project, jobs=1, cache=True)
    entries = [p for p in (project / ".cache" / "assets").rglob("*") if p.is_file()]
    assert entries
    for p in entries:  # flip one byte of every payload: checksums must catch it
        blob = bytearray(p.read_bytes())
        blob[-2] ^= 0x01
        p.write_bytes(bytes(blob))
    assert _build(project, jobs=1, cache=True) == serial
    cache = Cache(project / ".cache" / "assets")
    spec = load_spec(project / "assets.yml", project / "static")
    compile_bundle(spec, "css_all", cache=cache)
    assert cache.misses == 0 and cache.hits > 0  # entries were rewritten whole


def test_one_js_edit_reminifies_only_that_file(project: Path) -> None:
    spec = load_spec(project / "assets.yml", project / "static")
    warm = Cache(project / ".cache" / "assets")
    compile_bundle(spec, "js_all", cache=warm)
    main = project / "static" / "js" / "main.js"
    main.write_text(main.read_text() + "\nwindow.__edited = 1;\n")
    cache = Cache(project / ".cache" / "assets")
    compiled = compile_bundle(spec, "js_all", cache=cache)
    assert b"__edited" in compiled.data
    # main.js's minified form is new; util.js's and format.js's came from the cache.
    # (Syntax verdicts of texts this small are not cached: parsing is cheaper.)
    assert cache.misses == 1
    assert cache.hits == 2


def test_unchanged_scss_entry_is_not_recompiled(project: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sass

    spec = load_spec(project / "assets.yml", project / "static")
    compile_bundle(spec, "css_all", cache=Cache(project / ".cache" / "assets"))
    calls = []
    real = sass.compile
    monkeypatch.setattr(sass, "compile", lambda **kw: calls.append(kw) or real(**kw))
    compile_bundle(spec, "css_all", cache=Cache(project / ".cache" / "assets"))
    assert calls == []
    partial = project / "static" / "scss" / "_buttons.scss"
    partial.write_text(partial.read_text() + "\n.cache-test { color: red; }\n")
    out = compile_bundle(spec, "css_all", cache=Cache(project / ".cache" / "assets"))
    assert len(calls) == 1 and b".cache-test" in out.data


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def test_killed_parallel_build_leaves_no_worker_processes(project: Path) -> None:
    """Orphaned workers would keep running and hold the build's pipes open."""
    big = "".join(f"var v{i} = `a  {i}` + 'x';\n" for i in range(40000))
    (project / "static" / "js" / "big.js").write_text(big)
    with (project / "assets.yml").open("a") as fh:
        fh.write("big:\n  contents: [js/big.js]\n  filters: jsmin\n  output: gen/big.js\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "assets", "build", "--no-cache"],
        cwd=project,
        env=flask_env(project),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    workers: list[int] = []
    while time.monotonic() < deadline and len(workers) < 2:
        workers = _children(proc.pid)
        time.sleep(0.02)
    assert len(workers) >= 2, "the build never started its worker processes"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    deadline = time.monotonic() + 5
    alive = workers
    while alive and time.monotonic() < deadline:
        alive = [w for w in workers if Path(f"/proc/{w}").exists() and not _zombie(w)]
        time.sleep(0.05)
    assert alive == [], f"workers outlived the killed build: {alive}"


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False
