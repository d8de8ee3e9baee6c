"""Sealed build records: `check` skips compiling what this machine compiled from sources.

A record is sealed (``app/assets/trust.py``) only when the build compiled the bundle
without reading any cache entry, with a key kept outside the project and its cache. Any
other record (a restored CI cache, a forged one, a stale one) makes `check` compile.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from conftest import read_manifest, run_flask

from app.assets import builder, deps, trust
from app.assets import check as check_mod
from app.assets.cache import Cache
from app.assets.declare import load_spec
from app.assets.manifest import Entry
from app.assets.records import RECORDS_KEY, Records, _dump, _load


def age(root: Path) -> None:
    """Sources as after a checkout: old enough that size and mtime are trusted."""
    for p in (root / "static").rglob("*"):
        if "gen" not in p.parts:
            os.utime(p, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))


def build(root: Path) -> None:
    spec = load_spec(root / "assets.yml", root / "static")
    builder.build(spec, jobs=1, cache_dir=root / ".cache" / "assets")


def check(root: Path, **kw: Any) -> list[str]:
    spec = load_spec(root / "assets.yml", root / "static")
    manifest = root / "static" / "gen" / "manifest.json"
    return check_mod.stale_bundles(spec, manifest, cache_dir=root / ".cache" / "assets", **kw)


@pytest.fixture
def compiled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The bundles `check` compiles again (the rest it proved by their sealed records)."""
    seen: list[str] = []
    real = check_mod.compile_fresh

    def spy(spec, names, browsers):  # type: ignore[no-untyped-def]
        seen.extend(names)
        return real(spec, names, browsers)

    monkeypatch.setattr(check_mod, "compile_fresh", spy)
    return seen


@pytest.fixture
def site(project: Path) -> Path:
    age(project)
    build(project)
    return project


def bundles(root: Path) -> list[str]:
    return sorted(read_manifest(root)["bundles"])


def records_file(root: Path) -> Path:
    return root / ".cache" / "assets" / RECORDS_KEY[:2] / RECORDS_KEY


def test_check_after_a_cold_build_compiles_nothing(site: Path, compiled: list[str]) -> None:
    assert check(site) == []
    assert compiled == []


def test_full_compiles_every_bundle(site: Path, compiled: list[str]) -> None:
    assert check(site, full=True) == []
    assert sorted(compiled) == bundles(site)


def test_records_sealed_with_another_key_are_compiled_then_sealed_here(
    site: Path, compiled: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "another-machine"))
    assert check(site) == []
    assert sorted(compiled) == bundles(site)  # nothing this machine sealed
    compiled.clear()
    assert check(site) == []
    assert compiled == []  # the first check sealed what it compiled


def test_an_edit_after_the_build_is_stale_and_compiled(site: Path, compiled: list[str]) -> None:
    partial = site / "static" / "scss" / "_buttons.scss"
    partial.write_text(partial.read_text() + "\n.sealed { top: 0; }\n")
    problems = check(site)
    assert compiled == ["css_all"]
    assert len(problems) == 1 and "bundle 'css_all': stale" in problems[0], problems


def test_a_bundle_built_from_a_restored_cache_is_compiled_by_check(
    site: Path, compiled: list[str]
) -> None:
    """Entries this machine did not seal (a cache restored in CI: same bytes, checksums
    fine) are used by `build`, but what it compiled with them is proven by compiling."""
    for entry in (site / ".cache" / "assets").rglob("*"):
        if entry.is_file() and entry.name != RECORDS_KEY:
            head, _, payload = entry.read_bytes().partition(b"\n")
            entry.write_bytes(head.split(b" ")[0] + b"\n" + payload)
    main = site / "static" / "js" / "main.js"
    main.write_text(main.read_text() + "\nShop.sealed = 1;\n")
    build(site)  # js_all reuses its other files' minified text from the "restored" cache
    assert check(site) == []
    assert compiled == ["js_all"]
    compiled.clear()
    assert check(site) == [] and compiled == []  # sealed by the check that compiled it


def test_a_forged_record_is_not_trusted(site: Path, compiled: list[str]) -> None:
    """Sources edited, and the record's stamps changed to match them, seal kept: what a
    restored cache could hold. Without the seal check, `check` would say ok."""
    main = site / "static" / "js" / "main.js"
    main.write_text(main.read_text() + "\nwindow.injected = 1;\n")
    path = records_file(site)
    doc = json.loads(path.read_bytes().partition(b"\n")[2])
    st = main.stat()
    doc["js_all"]["stamps"] = [
        [p, st.st_mtime_ns, st.st_size, None] if p == str(main) else [p, m, z, d]
        for p, m, z, d in doc["js_all"]["stamps"]
    ]
    payload = json.dumps(doc).encode()
    path.write_bytes(hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
    problems = check(site)
    assert compiled == ["js_all"]
    assert any("bundle 'js_all': stale" in p for p in problems), problems


def test_a_file_saved_during_check_is_never_reported_fresh(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    main = site / "static" / "js" / "main.js"
    real = check_mod._sealed_problems

    def save_meanwhile(spec, name, *args):  # type: ignore[no-untyped-def]
        found = real(spec, name, *args)
        if name == "js_all":  # verified, then saved before check ends
            main.write_text(main.read_text() + "\nShop.later = 1;\n")
        return found

    monkeypatch.setattr(check_mod, "_sealed_problems", save_meanwhile)
    problems = check(site)
    assert problems == ["bundle 'js_all': a file it reads changed during check; run it again"]


def test_a_file_saved_while_check_compiles_is_never_reported_fresh(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    partial = site / "static" / "scss" / "_buttons.scss"
    real = check_mod.compile_fresh

    def save_meanwhile(spec, names, browsers):  # type: ignore[no-untyped-def]
        result = real(spec, names, browsers)
        os.utime(partial)  # saved after it was read, content as compared
        return result

    monkeypatch.setattr(check_mod, "compile_fresh", save_meanwhile)
    problems = check(site, full=True)
    assert problems == ["bundle 'css_all': a file it reads changed during check; run it again"]
    monkeypatch.setattr(check_mod, "compile_fresh", real)
    assert check(site) == []  # nothing changed since: proven (or compiled) ok


def test_the_key_is_private_and_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    key = trust.local_key()
    path = trust.key_path()
    assert key is not None and path.read_bytes() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    trust._cached.clear()
    assert trust.local_key() == key  # read back, not replaced
    assert trust.sealed(b"x", trust.seal(b"x")) and not trust.sealed(b"y", trust.seal(b"x"))


def test_a_key_others_can_read_seals_nothing(
    site: Path, compiled: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    path = trust.key_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(os.urandom(32))
    path.chmod(0o644)
    trust._cached.clear()
    assert trust.seal(b"x") is None
    build(site)
    assert check(site) == []
    assert sorted(compiled) == bundles(site)  # nothing proven: everything compiled


def test_cli_check_full(project: Path) -> None:
    assert run_flask(project, "assets", "build").returncode == 0
    for args in (("check",), ("check", "--full")):
        result = run_flask(project, "assets", *args)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("ok: ")


def test_a_record_survives_its_json_whole(site: Path) -> None:
    """The seal covers the record as written by hand in ``_dump``: every field of the
    record, its entry and its stamps must make the round trip."""

    records = Records(Cache(site / ".cache" / "assets")).records
    assert records and all(r.seal for r in records.values())
    for record in records.values():
        doc = json.loads(json.dumps(_dump(record)))
        assert _load(doc) == record
        assert set(doc["entry"]) == {f.name for f in fields(Entry)}


def test_racy_stamps_settle_and_stay_sealed(
    project: Path, compiled: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sources saved just before the build are fingerprinted by content; once they are
    old enough, a check proves them by ``stat`` alone and keeps the records sealed."""

    recent = time.time_ns() - 500_000_000
    for f in (project / "static").rglob("*"):
        os.utime(f, ns=(recent, recent))  # saved half a second before the build: racy
    build(project)
    cache = Cache(project / ".cache" / "assets")
    assert any(deps.racy(r.stamps) for r in Records(cache).records.values())
    monkeypatch.setattr(deps, "RACY_NS", 0)  # as if the racy window had passed
    assert check(project) == [] and compiled == []
    after = Records(cache).records.values()
    assert after and not any(deps.racy(r.stamps) for r in after)
    assert check(project) == [] and compiled == []  # renewed seals hold


def test_a_file_created_in_a_lookup_folder_during_check_is_never_reported_fresh(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new file where an @import looks may change what it finds: proven bundles that
    looked there are reported, not taken as fresh."""
    real = check_mod._sealed_problems

    def create_meanwhile(spec, name, *args):  # type: ignore[no-untyped-def]
        found = real(spec, name, *args)
        if name == "css_all":
            (site / "static" / "scss" / "_new_partial.scss").write_text(".n { top: 0; }\n")
        return found

    monkeypatch.setattr(check_mod, "_sealed_problems", create_meanwhile)
    problems = check(site)
    assert "bundle 'css_all': a file it reads changed during check; run it again" in problems
