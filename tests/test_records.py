"""Build records: a no-op build proves freshness from fingerprints instead of compiling."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import read_manifest, snapshot

from app.assets import builder
from app.assets.bridge import bundle as bridge_bundle
from app.assets.declare import load_spec


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the bundles each build compiles (serial builds, so in this process)."""
    seen: list[str] = []
    real = bridge_bundle.compile_bundle

    def counting(spec, name, **kw):  # type: ignore[no-untyped-def]
        seen.append(name)
        return real(spec, name, **kw)

    monkeypatch.setattr(bridge_bundle, "compile_bundle", counting)
    return seen


def build(root: Path, **kw: object) -> None:
    spec = load_spec(root / "assets.yml", root / "static")
    builder.build(spec, jobs=1, cache_dir=root / ".cache" / "assets", **kw)  # type: ignore[arg-type]


def age(root: Path) -> None:
    """Sources as after a checkout: old enough that size and mtime are trusted."""
    for p in (root / "static").rglob("*"):
        if "gen" not in p.parts:
            os.utime(p, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))


def test_a_no_op_build_compiles_nothing_and_changes_nothing(
    project: Path, compiles: list[str]
) -> None:
    age(project)
    build(project)
    assert sorted(compiles) == sorted(read_manifest(project)["bundles"])
    before = snapshot(project / "static" / "gen")
    compiles.clear()
    build(project)
    assert compiles == []
    assert snapshot(project / "static" / "gen") == before


def test_an_edit_recompiles_exactly_the_bundles_that_read_it(
    project: Path, compiles: list[str]
) -> None:
    age(project)
    build(project)
    compiles.clear()
    partial = project / "static" / "scss" / "_buttons.scss"
    partial.write_text(partial.read_text() + "\n.records { top: 0; }\n")
    build(project)
    assert compiles == ["css_all"]
    assert (
        ".records"
        in (project / "static" / read_manifest(project)["bundles"]["css_all"]["file"]).read_text()
    )


def test_a_file_changed_during_the_build_is_never_taken_as_fresh(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    age(project)
    main = project / "static" / "js" / "main.js"
    real = bridge_bundle.compile_bundle
    seen: list[str] = []

    def edit_while_compiling(spec, name, **kw):  # type: ignore[no-untyped-def]
        seen.append(name)
        compiled = real(spec, name, **kw)
        if name == "js_all" and seen.count(name) == 1:  # a save lands mid-build
            main.write_text(main.read_text().replace('"JS ready"', '"JS saved"'))
        return compiled

    monkeypatch.setattr(bridge_bundle, "compile_bundle", edit_while_compiling)
    build(project)
    seen.clear()
    build(project)
    assert seen == ["js_all"]
    js = project / "static" / read_manifest(project)["bundles"]["js_all"]["file"]
    assert "JS saved" in js.read_text()


def test_a_damaged_output_or_other_options_are_compiled_again(
    project: Path, compiles: list[str]
) -> None:
    age(project)
    build(project)
    out = project / "static" / read_manifest(project)["bundles"]["js_gallery"]["file"]
    good = out.read_bytes()
    out.write_bytes(good[:-3] + b"!!\n")
    compiles.clear()
    build(project)
    assert compiles == ["js_gallery"] and out.read_bytes() == good
    compiles.clear()
    build(project, browsers=("safari 12",))
    assert sorted(compiles) == sorted(read_manifest(project)["bundles"])


def test_without_the_cache_every_bundle_is_compiled(project: Path, compiles: list[str]) -> None:
    spec = load_spec(project / "assets.yml", project / "static")
    builder.build(spec, jobs=1, cache_dir=None)
    compiles.clear()
    builder.build(spec, jobs=1, cache_dir=None)
    assert sorted(compiles) == sorted(read_manifest(project)["bundles"])


def test_every_shortcut_leaves_the_bytes_of_a_serial_uncached_build(tmp_path: Path) -> None:
    """Parallel workers, the build cache, build records and batched syncs change how a
    build runs, never what it writes."""
    from conftest import copy_project

    serial = copy_project(tmp_path / "serial")
    fast = copy_project(tmp_path / "fast")
    spec = load_spec(serial / "assets.yml", serial / "static")
    builder.build(spec, jobs=1, cache_dir=None)
    fast_spec = load_spec(fast / "assets.yml", fast / "static")
    cache = fast / ".cache" / "assets"
    builder.build(fast_spec, jobs=2, cache_dir=cache)  # parallel, fills the cache
    (fast / "static" / "gen").rename(fast / "gen-first")
    builder.build(fast_spec, jobs=2, cache_dir=cache)  # from the cache, records unusable
    builder.build(fast_spec, jobs=2, cache_dir=cache)  # from the records
    expected = snapshot(serial / "static" / "gen")
    assert snapshot(fast / "static" / "gen") == expected
    assert snapshot(fast / "gen-first") == expected


def test_a_file_created_in_a_lookup_folder_during_the_build_is_never_taken_as_fresh(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listing of an import's lookup folder is taken after the compile: a file created
    there meanwhile (which could change what an @import finds) must not be recorded as
    seen. The next build compiles the bundle again."""
    age(project)
    real = bridge_bundle.compile_bundle
    seen: list[str] = []

    def create_while_compiling(spec, name, **kw):  # type: ignore[no-untyped-def]
        seen.append(name)
        compiled = real(spec, name, **kw)
        if name == "css_all" and seen.count(name) == 1:  # an editor's new file lands
            (project / "static" / "scss" / "_new_partial.scss").write_text(".n { top: 0; }\n")
        return compiled

    monkeypatch.setattr(bridge_bundle, "compile_bundle", create_while_compiling)
    build(project)
    age(project)  # the new file is long past (a folder changed just before a build counts)
    seen.clear()
    build(project)
    assert sorted(seen) == ["css_all", "css_gallery"]  # both look in static/scss/
    seen.clear()
    build(project)
    assert seen == []  # recorded this time: nothing was created during it
