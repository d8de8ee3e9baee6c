"""Did anything under these folders change since the last look? One read(2) on Linux.

Checking freshness by ``stat`` costs a call per file a bundle read (93 for a site whose
SCSS imports Bootstrap), on every request. Linux queues an inotify event before the
editor's write(2) returns, so an empty queue read on the request's own thread proves
that no watched file changed since the previous read: as exact as the ``stat`` calls,
unlike a watcher thread, which notices a moment later. watchdog wraps inotify for
exactly that asynchronous use, so this module asks the kernel itself.

Only folders on local file systems are watched: over NFS, SMB, 9p (WSL's ``/mnt/c``),
VirtualBox or FUSE shares an edit made on the other side raises no event here, so files
there are compared by ``stat`` every time. Where inotify is missing (macOS, Windows) or
out of watches, :meth:`ChangeGate.epoch` returns None and callers compare every file.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import stat
import struct
import sys
import threading
import weakref
from collections.abc import Iterable
from pathlib import Path

from . import mounts

log = logging.getLogger("app.assets")

IN_MODIFY = 0x2
IN_ATTRIB = 0x4
IN_CLOSE_WRITE = 0x8
IN_MOVED_FROM = 0x40
IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_ONLYDIR = 0x01000000
IN_ISDIR = 0x40000000
# Writes, metadata (touch), and entries appearing, leaving or being renamed. Not reads.
MASK = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
)
_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len: struct inotify_event


class _Inotify:
    """The process's one inotify instance, shared by every gate.

    Instances are scarce (128 per user by default, and watchdog needs some): each
    gate adds watches to this one and gets back the events of its folders.
    """

    def __init__(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self._init = libc.inotify_init1
        self._add = libc.inotify_add_watch
        self._add.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32)
        self._rm = libc.inotify_rm_watch
        self._rm.argtypes = (ctypes.c_int, ctypes.c_int)
        fd = self._init(os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"inotify_init1: {os.strerror(err)}")
        self.pid = os.getpid()
        self.fd = fd
        self.lock = threading.RLock()
        self.gates: dict[int, weakref.WeakSet[ChangeGate]] = {}  # watch descriptor -> gates

    def add(self, gate: ChangeGate, folder: str, *, only_dir: bool = True) -> int:
        wd = self._add(self.fd, os.fsencode(folder), MASK | (IN_ONLYDIR if only_dir else 0))
        if wd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"inotify_add_watch {folder}: {os.strerror(err)}")
        self.gates.setdefault(wd, weakref.WeakSet()).add(gate)
        return wd

    def forget(self, wds: Iterable[int]) -> None:
        """Drop the watches no live gate uses (a gate's finalizer: it is gone by now)."""
        if os.getpid() != self.pid:
            return  # a forked child's copy: the watches are the parent's
        with self.lock:
            for wd in list(wds):
                gates = self.gates.get(wd)
                if gates is not None and not list(gates):
                    del self.gates[wd]
                    self._rm(self.fd, wd)

    def drain(self) -> None:
        """Read every queued event and hand each to the gates watching its folder."""
        while True:
            try:
                buf = os.read(self.fd, 64 * 1024)
            except BlockingIOError:
                return
            at = 0
            while at + _HEADER.size <= len(buf):
                wd, mask, _cookie, length = _HEADER.unpack_from(buf, at)
                name = buf[at + _HEADER.size : at + _HEADER.size + length].rstrip(b"\0")
                at += _HEADER.size + length
                if mask & IN_Q_OVERFLOW:
                    for every in list(self.gates.values()):
                        for gate in list(every):
                            gate._overflowed()
                    continue
                gates = self.gates.get(wd)
                if not gates:
                    continue
                if mask & IN_IGNORED:  # the folder is gone: its watch with it
                    del self.gates[wd]
                for gate in list(gates):
                    gate._event(wd, mask, os.fsdecode(name))


_shared: _Inotify | None = None
_shared_lock = threading.Lock()


def _after_fork_in_child() -> None:
    # The inherited instance's queue is the parent's: reading it would steal the
    # parent's events. Gates notice the new pid and open their own (see epoch()).
    global _shared, _shared_lock
    if _shared is not None:
        with contextlib.suppress(OSError):
            os.close(_shared.fd)
    _shared, _shared_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _inotify() -> _Inotify | None:
    global _shared
    if sys.platform != "linux":
        return None
    with _shared_lock:
        if _shared is None:
            try:
                _shared = _Inotify()
            except (OSError, AttributeError) as exc:  # AttributeError: no inotify in libc
                log.info("file-change gate off (%s): staleness checks stat every file", exc)
                return None
        return _shared


class ChangeGate:
    """An event counter for some folders: unchanged counter, unchanged files.

    ``roots`` are watched with every subfolder (new ones join as they appear) except
    those in ``skip`` (our own outputs); ``flat`` folders only for their own entries.
    """

    def __init__(self, roots: Iterable[Path], flat: Iterable[Path], skip: Iterable[Path]) -> None:
        self._roots = [os.path.abspath(r) for r in roots]
        self._flat = {os.path.abspath(f) for f in flat}
        self._skip = {os.path.abspath(s) for s in skip}
        self._count = 0
        self._reopen = threading.Lock()
        self._open()

    def _open(self) -> None:
        self._pid = os.getpid()
        self._count += 1  # a (re)opened gate vouches for nothing checked before
        self._broken = False
        self._folders: dict[int, str] = {}  # watch descriptor -> folder
        self._walked: set[str] = set()  # the watched folders' paths, for covers()
        self._files: dict[int, str] = {}  # watch descriptor -> a file covers() vouched for
        self._ino = _inotify()
        if self._ino is None:
            self._broken = True
            return
        self._mounts = mounts.mount_types()
        with self._ino.lock:
            try:
                self._watch_all()
            except OSError as exc:
                log.info("file-change gate off (%s): staleness checks stat every file", exc)
                self._broken = True
        # The dict, not self: a finalizer holding the gate would keep it alive.
        weakref.finalize(self, self._ino.forget, self._folders)
        weakref.finalize(self, self._ino.forget, self._files)

    def epoch(self) -> int | None:
        """A number that changes whenever a watched file may have; None: not watching."""
        if self._pid != os.getpid():  # forked (a pre-forking server): our own queue
            with self._reopen:
                if self._pid != os.getpid():
                    self._open()
        if self._broken or self._ino is None:
            return None
        with self._ino.lock:
            self._ino.drain()
            return None if self._broken else self._count

    def covers(self, path: str) -> bool:
        """Whether every change to the file ``path`` shows in :meth:`epoch`.

        Its folder must be one we walked to (a walk does not enter symlinked folders),
        and it must have no other name: a symlink or a hard link can be written through
        a folder we do not watch.
        """
        try:
            st = os.lstat(path)
        except OSError:
            return False
        if stat.S_ISDIR(st.st_mode):  # a glob's folder: its entries' events are its own
            return path in self._walked
        if stat.S_ISLNK(st.st_mode) or st.st_nlink > 1:
            return False
        if os.path.dirname(path) not in self._walked:
            return False
        # A hard link made later would let writes bypass the folder's watch: the file's
        # own watch sees every write by any name, and the new link itself (IN_ATTRIB).
        return self._watch_file(path, st)

    def _watch_file(self, path: str, st: os.stat_result) -> bool:
        if self._ino is None:
            return False
        with self._ino.lock:
            try:
                self._files[self._ino.add(self, path, only_dir=False)] = path
                now = os.lstat(path)
            except OSError:
                return False  # out of watches, or gone: stat it every time
        # Linked or replaced between the two looks: not vouched for.
        return (now.st_ino, now.st_dev, now.st_nlink) == (st.st_ino, st.st_dev, 1)

    def _watch_all(self) -> None:
        for root in self._roots:
            self._watch_tree(root)
        for folder in self._flat:
            if mounts.local_file_system(folder, self._mounts):
                self._watch(folder)

    def _watch(self, folder: str) -> None:
        wd = self._ino.add(self, folder)  # type: ignore[union-attr]
        old = self._folders.get(wd)
        self._folders[wd] = folder  # a moved folder keeps its descriptor: the new path wins
        if old is not None and old != folder:
            self._walked = set(self._folders.values())
        else:
            self._walked.add(folder)

    def _watch_tree(self, top: str) -> None:
        for folder, subdirs, _files in os.walk(top):
            if folder in self._skip or not mounts.local_file_system(folder, self._mounts):
                subdirs.clear()  # not watched, so not covered: its files get stat calls
                continue
            try:
                self._watch(folder)
            except (FileNotFoundError, NotADirectoryError):
                subdirs.clear()  # gone again before we looked; its removal is an event too

    def _recursive(self, folder: str) -> bool:
        inside = any(folder == r or folder.startswith(r + os.sep) for r in self._roots)
        return inside and not any(folder == s or folder.startswith(s + os.sep) for s in self._skip)

    def _event(self, wd: int, mask: int, name: str) -> None:
        self._count += 1
        folder = self._folders.get(wd)
        if mask & IN_IGNORED:
            self._files.pop(wd, None)
            if self._folders.pop(wd, None) is not None:
                self._walked = set(self._folders.values())
            return
        if folder is None or not mask & IN_ISDIR or not mask & (IN_CREATE | IN_MOVED_TO):
            return
        if not self._recursive(folder):
            return
        # A new subfolder: watch it (and anything already made inside it).
        try:
            self._watch_tree(os.path.join(folder, name))
        except OSError as exc:
            log.info("file-change gate off (%s): staleness checks stat every file", exc)
            self._broken = True

    def _overflowed(self) -> None:
        # Events were dropped: the counter moves, so everyone stats once, and the folder
        # list is walked again (a folder made or replaced meanwhile may lack a watch).
        self._count += 1
        self._folders.clear()
        self._walked = set()
        try:
            self._watch_all()
        except OSError as exc:
            log.info("file-change gate off (%s): staleness checks stat every file", exc)
            self._broken = True


def gate(roots: Iterable[Path], flat: Iterable[Path], skip: Iterable[Path]) -> ChangeGate | None:
    """A gate over these folders, or None where inotify is unavailable."""
    g = ChangeGate(roots, flat, skip)
    with contextlib.suppress(Exception):
        if g.epoch() is not None:
            return g
    return None
