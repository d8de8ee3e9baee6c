"""Which folders are on a local file system, where every write raises an inotify event.

Over NFS, SMB, 9p (WSL's ``/mnt/c``), VirtualBox or FUSE shares an edit made on the
other side raises no event here, so the change gate must not vouch for those folders.
"""

from __future__ import annotations

import contextlib
import os

# Every write to these goes through this kernel, so it raises an event here.
LOCAL_FILE_SYSTEMS = frozenset(
    {"ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "ramfs", "overlay", "zfs", "f2fs"}
    | {"jfs", "reiserfs", "bcachefs"}
)


def mount_types() -> tuple[dict[int, str], list[tuple[str, str]]]:
    """File system types by device number, and (mount point, type) longest first."""
    by_dev: dict[int, str] = {}
    points: list[tuple[str, str]] = []
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return by_dev, points
    for line in lines:
        fields, _, rest = line.partition(" - ")
        parts, kind = fields.split(), rest.split(" ", 1)[0]
        if len(parts) < 5 or not kind:
            continue
        major, _, minor = parts[2].partition(":")
        with contextlib.suppress(ValueError):
            by_dev[os.makedev(int(major), int(minor))] = kind  # later mounts win
        point = parts[4].replace("\\040", " ").replace("\\011", "\t").replace("\\134", "\\")
        points.append((point, kind))
    points.sort(key=lambda pk: len(pk[0]), reverse=True)
    return by_dev, points


def local_file_system(folder: str, mounts: tuple[dict[int, str], list[tuple[str, str]]]) -> bool:
    """Whether every write to ``folder`` raises an inotify event in this kernel."""
    by_dev, points = mounts
    try:
        kind = by_dev.get(os.stat(folder).st_dev)
    except OSError:
        return False
    if kind is None:  # e.g. a btrfs subvolume that is not a mount of its own
        real = os.path.realpath(folder)
        for point, k in points:
            if real == point or real.startswith(point.rstrip("/") + "/"):
                kind = k
                break
    return kind in LOCAL_FILE_SYSTEMS
