"""What each bundle depends on, and whether it changed: cheap for dev, exact for check."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .digests import file_digest

# Files modified this close to a build are "racy": their stat may not change on a
# second edit within the file system's timestamp granularity, so compare content.
RACY_NS = 2_000_000_000
MISSING = -1  # a stamp's mtime and size: no such file (yet)
DURING_BUILD = -2  # saved while the build ran: never fresh


@dataclass(frozen=True)
class Stamp:
    path: str
    mtime_ns: int
    size: int
    digest: str | None  # content hash, kept only for racy files


def stamp(paths: list[str], started_ns: int | None = None) -> tuple[Stamp, ...]:
    """Fingerprint files read by a build that started at ``started_ns`` (time.time_ns())."""
    started_ns = time.time_ns() if started_ns is None else started_ns
    now = time.time_ns()
    out = []
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            out.append(Stamp(p, MISSING, MISSING, None))
            continue
        if started_ns <= st.st_mtime_ns <= now:
            # Saved while the build ran: the output may hold the old text. Never fresh.
            out.append(Stamp(p, DURING_BUILD, DURING_BUILD, None))
            continue
        racy = st.st_mtime_ns >= started_ns - RACY_NS
        out.append(Stamp(p, st.st_mtime_ns, st.st_size, file_digest(p) if racy else None))
    return tuple(out)


def differs(s: Stamp) -> bool:
    """Whether the file's stat (or, for a racy file, its content) differs from ``s``."""
    try:
        st = os.stat(s.path)
    except OSError:
        return s.size != MISSING
    if st.st_mtime_ns != s.mtime_ns or st.st_size != s.size:
        return True
    return s.digest is not None and file_digest(s.path) != s.digest


def changed(stamps: tuple[Stamp, ...]) -> list[str]:
    """The files whose stat (or, for racy files, content) differs: a stat per file."""
    return [s.path for s in stamps if differs(s)]


def newer_than(paths: list[Path], reference: Path) -> list[Path]:
    """Sources modified after ``reference``: a hint for `check`, not the verdict."""
    try:
        ref = reference.stat().st_mtime_ns
    except OSError:
        return list(paths)
    return [p for p in paths if p.exists() and p.stat().st_mtime_ns > ref]


def settle(stamps: tuple[Stamp, ...]) -> tuple[Stamp, ...]:
    """Drop content hashes of files no longer racy (call right after ``changed`` found none).

    Their content matched a moment ago and their mtime is now well in the past, so any
    later save gets a different mtime: a ``stat`` is enough from here on.
    """
    limit = time.time_ns() - RACY_NS
    return tuple(
        Stamp(s.path, s.mtime_ns, s.size, None) if s.digest and s.mtime_ns < limit else s
        for s in stamps
    )


def racy(stamps: tuple[Stamp, ...]) -> bool:
    """Whether any stamp still compares content (so ``settle`` may have work to do)."""
    return any(s.digest for s in stamps)


class Fingerprint:
    """The stamps of the files one build read; ``stale()`` costs a ``stat`` per file.

    Given a change gate's epoch, a check right after a clean one at the same epoch
    (no file event since) only stats the files the gate cannot see.
    """

    def __init__(
        self,
        paths: list[str],
        started_ns: int | None = None,
        covers: Callable[[str], bool] | None = None,
    ) -> None:
        self.stamps = stamp(paths, started_ns)
        self._racy = racy(self.stamps)
        self._outside = tuple(
            i for i, s in enumerate(self.stamps) if covers is None or not covers(s.path)
        )
        self._checked: int | None = None  # the gate epoch of the last clean check

    def quiet(self, epoch: int | None) -> bool:
        """Fresh at ``epoch`` without a look: checked clean at it, every file the gate's."""
        return epoch is not None and epoch == self._checked and not self._outside

    def stale(self, epoch: int | None = None) -> bool:
        if epoch is not None and epoch == self._checked:
            if not self._outside:
                return False  # every file is the gate's, and it saw no event
            stamps = self.stamps
            return any(differs(stamps[i]) for i in self._outside)
        if any(differs(s) for s in self.stamps):  # stops at the first difference
            return True
        if self._racy:
            self.stamps = settle(self.stamps)
            self._racy = racy(self.stamps)
        # Set last: the epoch was read before these stats, so a later event moves it on.
        self._checked = epoch
        return False
