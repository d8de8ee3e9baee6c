"""The change gate: an inotify event counter read on the request's own thread.

It may only ever say "nothing changed" when nothing did: every test here writes and
then asks at once, with no sleep, as an editor's save followed by a reload would.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from app.assets import changes, deps, mounts
from app.assets.changes import ChangeGate

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="inotify is Linux's")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "static" / "scss").mkdir(parents=True)
    (tmp_path / "static" / "gen").mkdir()
    (tmp_path / "static" / "scss" / "_a.scss").write_text("a {}\n")
    (tmp_path / "assets.yml").write_text("{}\n")
    return tmp_path


def count_stats(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, every os.stat call's path is appended to the returned list."""
    seen: list[str] = []
    real_stat = os.stat

    def counting_stat(path: object, *args: object, **kw: object) -> os.stat_result:
        seen.append(str(path))
        return real_stat(path, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", counting_stat)
    return seen


def make_gate(tree: Path) -> ChangeGate:
    g = changes.gate([tree / "static"], [tree], skip=[tree / "static" / "gen"])
    assert g is not None, "inotify unavailable on Linux"
    return g


@linux_only
def test_epoch_moves_on_every_write_and_only_then(tree: Path) -> None:
    g = make_gate(tree)
    src = tree / "static" / "scss" / "_a.scss"
    e0 = g.epoch()
    assert g.epoch() == e0
    src.read_text()  # reads are not changes
    assert g.epoch() == e0
    for i in range(200):  # write, then ask at once: never a stale "nothing changed"
        before = g.epoch()
        src.write_text(f"a {{ b: {i}; }}\n")
        assert g.epoch() != before, f"write {i} not seen"
    os.utime(src)  # a touch changes the mtime a fingerprint compares
    e1 = g.epoch()
    os.utime(src, ns=(1, 1))
    assert g.epoch() != e1


@linux_only
def test_renames_deletes_and_new_folders_are_seen(tree: Path) -> None:
    g = make_gate(tree)
    scss = tree / "static" / "scss"
    e = g.epoch()
    tmp = scss / "_a.scss.tmp"
    tmp.write_text("x")
    os.replace(tmp, scss / "_a.scss")  # an editor's safe write
    assert g.epoch() != e
    e = g.epoch()
    (scss / "_a.scss").unlink()
    assert g.epoch() != e

    deep = scss / "vendor" / "lib"
    e = g.epoch()
    deep.mkdir(parents=True)
    (deep / "_x.scss").write_text("x")
    assert g.epoch() != e
    # The new folders are watched from then on.
    e = g.epoch()
    (deep / "_x.scss").write_text("y")
    assert g.epoch() != e
    assert g.covers(str(deep / "_x.scss"))

    # A folder moved in from outside (a checkout, an unpacked theme) is watched too.
    theme = tree / "theme-download" / "theme"
    theme.mkdir(parents=True)
    (theme / "_t.scss").write_text("t")
    e = g.epoch()
    os.replace(theme, scss / "theme")
    assert g.epoch() != e
    e = g.epoch()
    (scss / "theme" / "_t.scss").write_text("u")
    assert g.epoch() != e
    assert g.covers(str(scss / "theme" / "_t.scss"))


@linux_only
def test_a_queue_overflow_rewatches_the_folders(tree: Path) -> None:
    g = make_gate(tree)
    scss = tree / "static" / "scss"
    vendor = scss / "vendor"
    vendor.mkdir()
    g.epoch()
    # The queue overflows, then the folder is replaced: the kernel drops every event
    # after the overflow, the old folder's end and the new one's birth included.
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    a, b = scss / "_a.scss", scss / "_b.scss"
    a.write_text("a")
    b.write_text("b")
    for i in range(limit + 10):  # alternating names: the kernel merges only repeats
        os.utime(a if i % 2 else b, ns=(i, i))
    vendor.rmdir()
    vendor.mkdir()
    e = g.epoch()
    (vendor / "_v.scss").write_text("v")
    assert g.epoch() != e, "a write in a folder re-created during the overflow went unseen"
    assert g.covers(str(vendor / "_v.scss"))


@linux_only
def test_outputs_and_unwatched_places_do_not_count(tree: Path) -> None:
    g = make_gate(tree)
    e = g.epoch()
    (tree / "static" / "gen" / "app.1234abcd.css").write_text("x")  # our own outputs
    assert g.epoch() == e
    assert not g.covers(str(tree / "static" / "gen" / "app.1234abcd.css"))
    (tree / "notes").mkdir()
    e = g.epoch()  # the folder's creation counts (it is in the project folder)...
    (tree / "notes" / "todo.txt").write_text("x")
    assert g.epoch() == e  # ...but the project folder is watched flat
    assert not g.covers(str(tree / "notes" / "todo.txt"))
    assert g.covers(str(tree / "assets.yml"))
    assert g.covers(str(tree / "static" / "scss" / "_a.scss"))
    assert g.covers(str(tree / "static" / "scss"))  # a glob's folder


@linux_only
def test_files_with_a_second_name_are_not_covered(tree: Path) -> None:
    g = make_gate(tree)
    outside = tree / "elsewhere"
    outside.mkdir()
    (outside / "_ext.scss").write_text("x")
    scss = tree / "static" / "scss"
    (scss / "_link.scss").symlink_to(outside / "_ext.scss")
    os.link(outside / "_ext.scss", scss / "_hard.scss")
    (scss / "linked").symlink_to(outside, target_is_directory=True)
    g.epoch()
    # Writes through the other name reach no watched folder: these must be stat-checked.
    for name in ("_link.scss", "_hard.scss", "linked/_ext.scss"):
        assert not g.covers(str(scss / name)), name
    assert not g.covers(str(scss / "missing.scss"))


def test_fingerprint_skips_covered_files_only_while_the_epoch_holds(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = tree / "static" / "scss" / "_a.scss"
    b = tree / "elsewhere.scss"
    b.write_text("x")
    fp = deps.Fingerprint([str(a), str(b)], covers=lambda p: p == str(a))
    assert not fp.stale(7)  # first check at epoch 7: full
    seen = count_stats(monkeypatch)
    assert not fp.stale(7)
    assert seen == [str(b)], "a covered file was stat-checked at an unchanged epoch"
    seen.clear()
    assert not fp.stale(8)  # the epoch moved: every file again
    assert sorted(seen) == sorted([str(a), str(b)])
    monkeypatch.undo()
    b.write_text("changed, longer")
    assert fp.stale(8), "a file the gate cannot see must still be compared"
    assert fp.stale(None)


# --- through the resolver: the same answers with and without the gate ------------------


@pytest.fixture(params=[pytest.param("gate", marks=linux_only), "stat-only"])
def dev_app(
    request: pytest.FixtureRequest,
    project: Path,
    make_app: Callable[..., Flask],
    monkeypatch: pytest.MonkeyPatch,
) -> Flask:
    if request.param == "stat-only":
        monkeypatch.setattr(changes, "_inotify", lambda: None)  # as on macOS or Windows
    app = make_app(project, ASSETS_AUTO_BUILD=True, DEBUG=True)
    gate = app.extensions["assets"].resolver.gate
    assert (gate is None) == (request.param == "stat-only")
    return app


def css_of(app: Flask) -> str:
    resolver = app.extensions["assets"].resolver
    entry = resolver.entry("css_all")
    return (resolver.static / entry.file).read_text()


def test_back_to_back_saves_are_each_served(dev_app: Flask, project: Path) -> None:
    partial = project / "static" / "scss" / "_buttons.scss"
    original = partial.read_text()
    assert "calc(1rem + 2px)" in original
    css_of(dev_app)
    for i in range(30):
        css_of(dev_app)  # a quiet check: the one a gate may answer without stat calls
        # Same length each time: only the content (or the gate) can tell these apart.
        marker = f"calc(1rem + {10 + i}px)"
        partial.write_text(original.replace("calc(1rem + 2px)", marker))
        assert marker in css_of(dev_app), f"save {i} not served"


def test_a_source_reached_through_a_symlink_is_still_watched(
    dev_app: Flask, project: Path, tmp_path: Path
) -> None:
    # Symlinks are never vouched for by the gate: a link's target can change through a
    # folder other than the one the link is in.
    vendor = project / "static" / "vendor"
    vendor.mkdir()
    ext = vendor / "_brand.scss"
    ext.write_text(".brand { color: red; }\n")
    scss = project / "static" / "scss"
    (scss / "_brand.scss").symlink_to(ext)
    main = scss / "main.scss"
    main.write_text('@import "brand";\n' + main.read_text())
    assert ".brand {\n  color: red;" in css_of(dev_app)
    assert ".brand {\n  color: red;" in css_of(dev_app)  # quiet: the gate's turn
    ext.write_text(".brand { color: blue; }\n")  # edited where it lives
    assert ".brand {\n  color: blue;" in css_of(dev_app)


def test_a_symlink_out_of_static_is_refused_not_published(
    dev_app: Flask, project: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "_brand.scss").write_text(".secret { color: red; }\n")
    scss = project / "static" / "scss"
    (scss / "_brand.scss").symlink_to(outside / "_brand.scss")
    main = scss / "main.scss"
    main.write_text('@import "brand";\n' + main.read_text())
    page = dev_app.test_client().get("/").get_data(as_text=True)
    assert "outside the static folders" in page and "_brand.scss" in page
    assert "secret" not in css_of_any(dev_app)


def css_of_any(app: Flask) -> str:
    """Every CSS file development wrote, joined."""
    static = Path(app.static_folder or "")
    return "".join(p.read_text() for p in (static / "gen").rglob("*.css"))


@linux_only
def test_a_quiet_request_stats_nothing_the_gate_watches(
    project: Path, make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(project, ASSETS_AUTO_BUILD=True, DEBUG=True)
    client = app.test_client()
    assert client.get("/").status_code == 200
    assert client.get("/").status_code == 200  # the first quiet check is a full one
    seen = count_stats(monkeypatch)
    assert client.get("/").status_code == 200
    static = str(project / "static")
    assert not [p for p in seen if p.startswith(static) or p.endswith("assets.yml")], seen


def _child_writes_then_asks(g: ChangeGate, src: Path, out: Path) -> None:
    src.write_text("written by the child\n")
    first = g.epoch()  # a shared queue would be drained here, hiding the write
    src.write_text("written by the child, again\n")
    out.write_text(f"{first} {g.epoch()}")


@linux_only
def test_a_forked_process_opens_its_own_queue(tree: Path) -> None:
    import multiprocessing

    g = make_gate(tree)
    src = tree / "static" / "scss" / "_a.scss"
    e0 = g.epoch()
    out = tree.parent / f"{tree.name}-child.txt"  # outside every watched folder
    ctx = multiprocessing.get_context("fork")  # what pre-forking servers do
    child = ctx.Process(target=_child_writes_then_asks, args=(g, src, out))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    first, second = map(int, out.read_text().split())
    assert second != first, "the child's own gate missed its second write"
    assert g.epoch() != e0, "the parent missed a write: the child read its events"


# --- only local file systems: elsewhere an edit on the other side raises no event -------


def fake_mounts(folder: Path, kind: str) -> tuple[dict[int, str], list[tuple[str, str]]]:
    return {os.stat(folder).st_dev: kind}, [("/", "ext4")]


def test_local_file_system_decides_by_type(tmp_path: Path) -> None:
    for kind, local in (("ext4", True), ("tmpfs", True), ("nfs4", False), ("9p", False)):
        assert mounts.local_file_system(str(tmp_path), fake_mounts(tmp_path, kind)) is local
    # A device the mount table does not list (a btrfs subvolume): the mount point decides.
    assert mounts.local_file_system(str(tmp_path), ({}, [("/", "xfs")]))
    assert not mounts.local_file_system(str(tmp_path), ({}, [("/", "cifs")]))
    assert not mounts.local_file_system(str(tmp_path / "missing"), fake_mounts(tmp_path, "ext4"))


def test_mount_table_parses_this_machine() -> None:
    by_dev, points = mounts.mount_types()
    if sys.platform != "linux":
        assert (by_dev, points) == ({}, [])
        return
    here = os.stat(Path(__file__).parent).st_dev
    assert here in by_dev or points, "the mount table names nothing"
    assert points == sorted(points, key=lambda pk: len(pk[0]), reverse=True)


@pytest.fixture(params=["network share", "ASSETS_INOTIFY=false"])
def unwatched_app(
    request: pytest.FixtureRequest,
    project: Path,
    make_app: Callable[..., Flask],
    monkeypatch: pytest.MonkeyPatch,
) -> Flask:
    config: dict[str, object] = {"ASSETS_AUTO_BUILD": True, "DEBUG": True}
    if request.param == "network share":
        scss = project / "static" / "scss"
        real = mounts.mount_types

        def nfs_scss() -> tuple[dict[int, str], list[tuple[str, str]]]:
            by_dev, points = real()
            return by_dev, [(str(scss), "nfs4"), *points]  # scss/ mounted from elsewhere

        monkeypatch.setattr(mounts, "mount_types", nfs_scss)
        monkeypatch.setattr(os, "stat", _no_dev_for(scss))
    else:
        config["ASSETS_INOTIFY"] = False
    return make_app(project, **config)


def _no_dev_for(folder: Path) -> Callable[..., os.stat_result]:
    """os.stat, but ``folder`` reports a device no mount lists (so its mount point decides)."""
    real_stat = os.stat

    def fake(path: object, *args: object, **kw: object) -> os.stat_result:
        st = real_stat(path, *args, **kw)  # type: ignore[arg-type]
        if str(path) == str(folder):
            fields = list(st)
            fields[2] = 0xDEAD  # st_dev
            extra = {f: getattr(st, f) for f in ("st_atime_ns", "st_mtime_ns", "st_ctime_ns")}
            return os.stat_result(fields, extra)
        return st

    return fake


def test_unwatched_sources_are_stat_checked_every_time(unwatched_app: Flask, project: Path) -> None:
    resolver = unwatched_app.extensions["assets"].resolver
    gate = resolver.gate
    partial = project / "static" / "scss" / "_buttons.scss"
    if gate is not None:  # the network share: the gate runs, but not for scss/
        assert not gate.covers(str(partial))
        assert gate.covers(str(project / "static" / "js" / "main.js"))
    original = partial.read_text()
    css_of(unwatched_app)
    for i in range(5):
        css_of(unwatched_app)  # quiet
        marker = f"calc(1rem + {10 + i}px)"
        partial.write_text(original.replace("calc(1rem + 2px)", marker))
        assert marker in css_of(unwatched_app), f"save {i} not served"
