"""`flask --app app assets watch` in a real subprocess: rebuild on save, survive errors."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from conftest import flask_env, read_manifest


class Watcher:
    """The running command; every output line is timestamped as it arrives."""

    def __init__(self, root: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "flask", "--app", "app", "assets", "watch"],
            cwd=root,
            env=flask_env(root, PYTHONUNBUFFERED="1"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[tuple[float, str, str]] = queue.Queue()
        self.seen: list[tuple[str, str]] = []
        for name, pipe in (("out", self.proc.stdout), ("err", self.proc.stderr)):
            threading.Thread(target=self._pump, args=(name, pipe), daemon=True).start()

    def _pump(self, name: str, pipe: IO[str] | None) -> None:
        assert pipe is not None
        for line in pipe:
            self.lines.put((time.monotonic(), name, line.rstrip("\n")))

    def next_line(self, timeout: float) -> tuple[float, str, str] | None:
        try:
            got = self.lines.get(timeout=max(timeout, 0))
        except queue.Empty:
            return None
        self.seen.append(got[1:])
        return got

    def wait_for(
        self, stream: str, prefix: str, timeout: float, *, only: bool = True
    ) -> tuple[float, str]:
        """The first line on ``stream`` starting with ``prefix``; with ``only``, any other
        line before it is a failure."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.next_line(deadline - time.monotonic())
            if got is None:
                raise AssertionError(
                    f"no {stream} line starting {prefix!r} within {timeout}s; "
                    f"exit code {self.proc.poll()}; output so far: {self.seen}"
                )
            at, name, line = got
            if name == stream and line.startswith(prefix):
                return at, line
            assert not only, f"unexpected {name} line before {prefix!r}: {line!r}"

    def quiet_for(self, seconds: float) -> list[tuple[str, str]]:
        """Lines printed during the next ``seconds`` (expected: none)."""
        deadline = time.monotonic() + seconds
        extra = []
        while (got := self.next_line(deadline - time.monotonic())) is not None:
            extra.append(got[1:])
        return extra

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # Ctrl-C
            try:
                return self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                return None
        return self.proc.returncode


def test_watch_rebuilds_the_affected_bundle_survives_errors_and_recovers(
    project: Path, record_property: Any
) -> None:
    buttons = project / "static" / "scss" / "_buttons.scss"
    original = buttons.read_text()
    watcher = Watcher(project)
    try:
        watcher.wait_for("out", "watching ", timeout=60, only=False)
        manifest = project / "static" / "gen" / "manifest.json"
        assert manifest.is_file(), f"the initial build failed: {watcher.seen}"
        start = read_manifest(project)["bundles"]
        assert set(start) == {"css_all", "js_lib", "js_all", "css_gallery", "js_gallery"}

        latencies = []
        current = start
        for px in (3, 4):  # two saves: two rebuilds, each reported once
            written = time.monotonic()
            buttons.write_text(original.replace("+ 2px", f"+ {px}px"))
            at, line = watcher.wait_for("out", "css_all ", timeout=10)
            latencies.append(at - written)
            assert watcher.quiet_for(0.4) == [], "more than one line for one save"
            now = read_manifest(project)["bundles"]
            assert now["css_all"]["file"] != current["css_all"]["file"]
            assert now["css_all"]["file"] in line
            assert {k: v for k, v in now.items() if k != "css_all"} == {
                k: v for k, v in start.items() if k != "css_all"
            }, "a bundle that does not read _buttons.scss was rebuilt"
            css = (project / "static" / now["css_all"]["file"]).read_text()
            assert f"calc(1rem + {px}px)" in css
            current = now
        record_property("watch_rebuild_latency_s", [round(x, 3) for x in latencies])
        print(f"watch: write -> printed line: {[f'{x * 1000:.0f} ms' for x in latencies]}")
        assert max(latencies) < 2.0, latencies  # goal 0.5 s; slack for a loaded CI machine

        broken = original.replace(
            "  text-decoration: none;\n", "  text-decoration: none;\n  x: !;\n"
        )
        buttons.write_text(broken)
        line_no = broken.splitlines().index("  x: !;") + 1
        _, err = watcher.wait_for("err", "error:", timeout=10)
        assert f"_buttons.scss:{line_no}:" in err and "css_all" in err, err
        assert watcher.quiet_for(0.4) == []
        assert watcher.proc.poll() is None, "watch exited after a compile error"
        assert read_manifest(project)["bundles"] == current  # the last good build serves

        buttons.write_text(original.replace("+ 2px", "+ 5px"))
        _, line = watcher.wait_for("out", "css_all ", timeout=10)
        fixed = read_manifest(project)["bundles"]["css_all"]
        assert fixed["file"] in line
        assert "calc(1rem + 5px)" in (project / "static" / fixed["file"]).read_text()
    finally:
        code = watcher.stop()
    assert code == 0, f"Ctrl-C should stop watch cleanly; exit code {code}: {watcher.seen[-5:]}"
    watcher.quiet_for(0.2)
    assert ("out", "stopped") in watcher.seen


def test_only_source_events_count(tmp_path: Path) -> None:
    """Our own outputs and other files beside assets.yml never trigger a rebuild; a
    folder merely named like gen/ (static/generic/) is a source folder like any other."""
    from watchdog.events import FileClosedNoWriteEvent, FileModifiedEvent, FileMovedEvent

    from app.assets.watch import relevant_paths

    static = tmp_path / "static"
    gen, config = static / "gen", tmp_path / "assets.yml"

    def hits(event: object) -> list[Path]:
        return relevant_paths(event, gen.resolve(), config.resolve())  # type: ignore[arg-type]

    source = static / "scss" / "_a.scss"
    assert hits(FileModifiedEvent(str(source))) == [source.resolve()]
    assert hits(FileModifiedEvent(str(static / "generic" / "b.js"))) != []
    assert hits(FileModifiedEvent(str(gen / "app.1a2b3c4d.css"))) == []
    assert hits(FileModifiedEvent(str(gen / "dev" / "x.css"))) == []
    assert hits(FileModifiedEvent(str(config))) == [config.resolve()]
    assert hits(FileModifiedEvent(str(tmp_path / "README.md"))) == []
    assert hits(FileClosedNoWriteEvent(str(source))) == []
    # An editor saving by rename: the destination is what changed.
    moved = FileMovedEvent(str(static / "scss" / ".tmp123"), str(source))
    assert source.resolve() in hits(moved)


def _tracker(tmp_path: Path) -> tuple[Any, Path]:
    from app.assets.watch import SaveTracker

    static = tmp_path / "static"
    (static / "scss").mkdir(parents=True)
    config = tmp_path / "assets.yml"
    config.write_text("{}\n")
    return SaveTracker(static, config), static / "scss" / "_a.scss"


def _settles_within(tracker: Any, seconds: float, then: Any = None) -> bool:
    """Run ``settle`` (allowed 10 s) in a thread; ``then`` fires meanwhile."""
    done = threading.Event()
    t = threading.Thread(target=lambda: (tracker.settle(10.0), done.set()), daemon=True)
    t.start()
    if then is not None:
        time.sleep(0.05)
        then()
    return done.wait(seconds)


def test_save_tracker_waits_for_a_half_written_save_until_its_close(tmp_path: Path) -> None:
    from watchdog.events import DirModifiedEvent, FileClosedEvent, FileModifiedEvent

    tracker, src = _tracker(tmp_path)
    tracker.dispatch(FileModifiedEvent(str(src)))
    assert tracker.generation == 1 and tracker.writing
    # A directory event says nothing about the write: still waiting for the close.
    tracker.dispatch(DirModifiedEvent(str(src.parent)))
    assert not _settles_within(tracker, 0.3), "settled while the save was half written"
    assert _settles_within(tracker, 5.0, lambda: tracker.dispatch(FileClosedEvent(str(src))))
    assert tracker.take() == {src.resolve(), src.parent.resolve()}
    assert tracker.take() == set()


def test_save_tracker_takes_a_rename_save_at_once(tmp_path: Path) -> None:
    from watchdog.events import FileCreatedEvent, FileMovedEvent

    tracker, src = _tracker(tmp_path)
    tmp = src.with_name("_a.scss.tmp")
    tracker.dispatch(FileCreatedEvent(str(tmp)))
    assert tracker.writing
    tracker.dispatch(FileMovedEvent(str(tmp), str(src)))
    assert not tracker.writing
    assert _settles_within(tracker, 1.0)
    assert tracker.wait(0, 0.0) == 2  # two relevant events: both counted


def test_save_tracker_ignores_outputs_and_reads(tmp_path: Path) -> None:
    from watchdog.events import FileModifiedEvent, FileOpenedEvent

    tracker, src = _tracker(tmp_path)
    gen = tmp_path / "static" / "gen"
    gen.mkdir()
    tracker.dispatch(FileModifiedEvent(str(gen / "app.1234abcd.css")))
    tracker.dispatch(FileOpenedEvent(str(src)))
    assert tracker.generation == 0 and not tracker.writing
    assert tracker.take() == set()


def test_a_watched_folder_delivers_changes_but_never_reads(tmp_path: Path) -> None:
    """A compile opens every file it reads: those opens and closes never reach the
    watcher (``watch`` and the live-reload streams schedule through ``observe``); the
    saves around them do, in order."""
    from watchdog.observers import Observer

    from app.assets.watch import SaveTracker, observe

    class Recording(SaveTracker):
        def on_any_event(self, event: Any) -> None:
            self.seen.append((event.event_type, Path(event.src_path).name))
            super().on_any_event(event)

    tracker, src = _tracker(tmp_path)
    recording = Recording(tracker.gen.parent, tracker.config)
    recording.seen = []
    src.write_text("a {}\n")
    observer = Observer()
    observe(observer, recording, src.parent.parent, recursive=True)
    observer.start()
    try:
        for _ in range(20):
            src.read_text()  # a compile's reads
        src.write_text("a { color: red; }\n")  # then a save
        deadline = time.monotonic() + 5.0
        while ("closed", src.name) not in recording.seen and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        observer.stop()
        observer.join()
    kinds = {kind for kind, _ in recording.seen}
    assert ("closed", src.name) in recording.seen, recording.seen
    assert ("modified", src.name) in recording.seen
    assert not kinds & {"opened", "closed_no_write"}, recording.seen
