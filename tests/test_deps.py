"""Staleness fingerprints: exact even when a save keeps the size and the timestamp."""

from __future__ import annotations

import os
import time
from pathlib import Path

from app.assets import deps


def test_fresh_file_is_racy_and_a_same_stat_edit_is_detected(tmp_path: Path) -> None:
    f = tmp_path / "a.scss"
    f.write_text("$c: #111;\n")
    started = time.time_ns() - 10_000_000
    os.utime(f, ns=(started - 1000, started - 1000))  # saved just before the build
    stamps = deps.stamp([str(f)], started)
    assert stamps[0].digest is not None
    st = f.stat()
    f.write_text("$c: #222;\n")  # same size
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # same timestamp tick
    assert deps.changed(stamps) == [str(f)]


def test_old_file_is_checked_by_stat_only(tmp_path: Path) -> None:
    f = tmp_path / "a.js"
    f.write_text("x = 1;\n")
    old = time.time_ns() - 3 * deps.RACY_NS
    os.utime(f, ns=(old, old))
    stamps = deps.stamp([str(f)])
    assert stamps[0].digest is None
    assert deps.changed(stamps) == []
    f.write_text("x = 2;\n")
    assert deps.changed(stamps) == [str(f)]


def test_save_during_the_build_is_never_fresh(tmp_path: Path) -> None:
    f = tmp_path / "b.js"
    started = time.time_ns()
    f.write_text("saved while compiling\n")
    stamps = deps.stamp([str(f)], started)
    assert deps.changed(stamps) == [str(f)]


def test_settle_drops_hashes_only_once_the_file_is_old(tmp_path: Path) -> None:
    young, aged = tmp_path / "young.css", tmp_path / "aged.css"
    for f in (young, aged):
        f.write_text("a{}\n")
    now, racy = time.time_ns(), deps.RACY_NS
    os.utime(young, ns=(now - racy // 2, now - racy // 2))
    os.utime(aged, ns=(now - racy * 6 // 5, now - racy * 6 // 5))
    # The build started after both saves and within the racy window of each.
    stamps = deps.stamp([str(young), str(aged)], now - racy * 2 // 5)
    assert all(s.digest for s in stamps)
    settled = deps.settle(stamps)
    assert settled[0].digest is not None  # saved a second ago: still racy
    assert settled[1].digest is None  # old enough: stat decides from now on
    assert deps.changed(settled) == []


def test_missing_file_counts_as_changed_once_it_appears(tmp_path: Path) -> None:
    f = tmp_path / "later.js"
    stamps = deps.stamp([str(f)])
    assert deps.changed(stamps) == []
    f.write_text("now here\n")
    assert deps.changed(stamps) == [str(f)]


def test_fingerprint_settles_then_stays_exact(tmp_path: Path) -> None:
    f = tmp_path / "c.scss"
    f.write_text("a{}\n")
    past = time.time_ns() - 3 * deps.RACY_NS
    os.utime(f, ns=(past, past))
    fp = deps.Fingerprint([str(f)], past + deps.RACY_NS // 2)  # racy for that build
    assert fp.stamps[0].digest is not None
    assert not fp.stale()
    assert fp.stamps[0].digest is None  # settled: old enough for stat alone
    f.write_text("b{}\n")
    assert fp.stale()
