"""Writing outputs: one file-system sync per build, before the manifest; brotli by size."""

from __future__ import annotations

import os
from pathlib import Path

import brotli
import pytest
from conftest import read_manifest

from app.assets import builder, output
from app.assets import manifest as manifest_mod
from app.assets.declare import load_spec


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_build_syncs_its_files_once_before_the_manifest(
    project: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """Worker processes write the outputs; the build syncs them all, once, first."""
    events: list[str] = []
    synced: list[Path] = []
    real_sync, real_save, real_fsync = output.sync_file_system, manifest_mod.save, os.fsync
    fsynced: list[int] = []

    def sync(folder: Path, files: list[Path]) -> None:
        events.append(f"sync {len(files)}")
        synced.extend(files)
        real_sync(folder, files)

    def save(path: Path, manifest: manifest_mod.Manifest) -> None:
        events.append("manifest")
        real_save(path, manifest)

    def fsync(fd: int) -> None:
        fsynced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(output, "sync_file_system", sync)
    monkeypatch.setattr(manifest_mod, "save", save)
    monkeypatch.setattr(os, "fsync", fsync)
    spec = load_spec(project / "assets.yml", project / "static")
    builder.build(spec, jobs=jobs, cache_dir=None)
    written = int(events[0].split()[1])
    assert events == [f"sync {written}", "manifest"]
    assert written >= 10  # outputs, url() files, static copies and their siblings
    assert len(fsynced) == 1  # the manifest's own
    gen = project / "static" / "gen"
    for entry in read_manifest(project)["bundles"].values():
        out = project / "static" / entry["file"]
        for path in (out, *(out.with_name(out.name + s) for s in output.SUFFIXES)):
            assert not path.exists() or path in synced, path
    assert {p.resolve() for p in synced} >= {
        p.resolve() for p in gen.rglob("*") if p.is_file() and p.name != "manifest.json"
    } - {(gen / output.LOCK_NAME).resolve()}

    events.clear()
    builder.build(spec, jobs=jobs, cache_dir=None)  # nothing new to write: no sync at all
    assert events == []


@pytest.mark.parametrize("size", [100, output.BROTLI_SMALL - 1, output.BROTLI_SMALL, 200_000])
def test_brotli_quality_follows_the_size_rule(size: int) -> None:
    data = (b"body { color: #123456; margin: 0 auto; } " * (size // 40 + 1))[:size]
    quality = output.brotli_quality(size)
    assert quality == (5 if size < output.BROTLI_SMALL else 11)
    packed = output.brotli_bytes(data)
    assert packed == brotli.compress(data, quality=quality)
    assert brotli.decompress(packed) == data


@pytest.mark.parametrize("assets", [None, (), ("gen/img/a.1234abcd.svg",)])
def test_the_manifest_writes_every_entry_field_and_reads_back(
    tmp_path: Path, assets: tuple[str, ...] | None
) -> None:
    """Entries are written by hand (for speed): every field must make the round trip."""
    import dataclasses
    import json

    entry = manifest_mod.Entry(
        "gen/app.1234abcd.css",
        "/static/gen/app.1234abcd.css",
        "css",
        "sha384-x",
        12,
        ("scss/main.scss",),
        assets,
    )
    old = manifest_mod.Manifest({"css_all": entry})
    new = old.successor({"css_all": entry}, 3, {})
    path = tmp_path / "manifest.json"
    manifest_mod.save(path, new)
    assert manifest_mod.load(path) == new
    written = json.loads(path.read_bytes())["bundles"]["css_all"]
    fields = {f.name for f in dataclasses.fields(manifest_mod.Entry)}
    assert set(written) == (fields if assets is not None else fields - {"assets"})
