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


def test_a_build_syncs_its_files_once_before_the_manifest(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_sync, real_save, real_fsync = output.sync_file_system, manifest_mod.save, os.fsync
    fsynced: list[int] = []

    def sync(folder: Path, files: list[Path]) -> None:
        events.append(f"sync {len(files)}")
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
    builder.build(spec, jobs=1, cache_dir=None)
    written = int(events[0].split()[1])
    assert events == [f"sync {written}", "manifest"]
    assert written >= 10  # outputs, url() files, static copies and their siblings
    assert len(fsynced) == 1  # the manifest's own
    for entry in read_manifest(project)["bundles"].values():
        assert (project / "static" / entry["file"]).is_file()

    events.clear()
    builder.build(spec, jobs=1, cache_dir=None)  # nothing new to write: no sync at all
    assert events == []


@pytest.mark.parametrize("size", [100, output.BROTLI_SMALL - 1, output.BROTLI_SMALL, 200_000])
def test_brotli_quality_follows_the_size_rule(size: int) -> None:
    data = (b"body { color: #123456; margin: 0 auto; } " * (size // 40 + 1))[:size]
    quality = output.brotli_quality(size)
    assert quality == (5 if size < output.BROTLI_SMALL else 11)
    packed = output.brotli_bytes(data)
    assert packed == brotli.compress(data, quality=quality)
    assert brotli.decompress(packed) == data
