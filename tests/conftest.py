"""Shared fixtures: every test works on its own copy of the project tree."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app import create_app
from app.assets import builder
from app.assets.declare import load_spec

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def copy_project(dest: Path) -> Path:
    """Copy static/ (without gen/), templates/ and assets.yml into ``dest``."""
    shutil.copytree(REPO / "static", dest / "static", ignore=shutil.ignore_patterns("gen"))
    shutil.copytree(REPO / "templates", dest / "templates")
    shutil.copy2(REPO / "assets.yml", dest / "assets.yml")
    return dest


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh copy of the demo site's sources, templates and assets.yml."""
    return copy_project(tmp_path / "site")


def build_project(root: Path, *names: str) -> None:
    builder.build(load_spec(root / "assets.yml", root / "static"), names or None)


@pytest.fixture
def built(project: Path) -> Path:
    """The demo project after a production build."""
    build_project(project)
    return project


@pytest.fixture
def make_app() -> Callable[..., Flask]:
    def factory(root: Path, **config: Any) -> Flask:
        return create_app({"TESTING": True, "PROJECT_ROOT": str(root), **config})

    return factory


def flask_env(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env.update({"FLASK_PROJECT_ROOT": str(root), "PYTHONDONTWRITEBYTECODE": "1", **extra})
    return env


def run_flask(root: Path, *args: str, timeout: float = 120, **env: str) -> Any:
    """Run the real `flask --app app ...` in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=root,
        env=flask_env(root, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(autouse=True, scope="session")
def _own_state_folder(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The key that seals build records (``trust.py``) lives in the user's state folder:
    the tests (and the commands they start) use one of their own."""
    old = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state"))
    yield
    if old is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = old


# --- Added for the pipeline contract tests (test_spec/builder/cli/check/helpers/production).


@pytest.fixture(autouse=True)
def _fresh_cli_flag() -> Any:
    """Each test starts with the `flask assets` start-up flag unset, whatever ran before.

    Invoking the group in-process (``test_cli_runner``) sets a ContextVar; should it ever
    outlive the command again, one CLI test would change how later tests' apps start.
    ``tests/test_cli.py::test_in_process_cli_does_not_leak_into_later_apps`` covers the
    leak itself inside a single test; this keeps the other tests independent of it.
    """
    from app.assets.extension import manifest_optional

    token = manifest_optional.set(False)
    yield
    manifest_optional.reset(token)


def sri(data: bytes) -> str:
    """The Subresource Integrity value of ``data``, computed independently of the app."""
    import base64
    import hashlib

    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def read_manifest(root: Path) -> dict[str, Any]:
    import json

    return json.loads((root / "static" / "gen" / "manifest.json").read_bytes())


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> bytes)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# --- Added for the development-loop tests (test_dev/test_watch/test_browser).


@pytest.fixture
def live_server(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``start(app) -> base URL``: a real threaded werkzeug server on 127.0.0.1, free port.

    Every server started is shut down at teardown. Live-reload event streams are capped
    at a few seconds so a stream the client dropped does not keep polling for minutes.
    """
    import threading

    from werkzeug.serving import WSGIRequestHandler, make_server

    from app.assets import dev

    monkeypatch.setattr(dev, "STREAM_SECONDS", 15.0)

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            pass  # a storm of requests would flood the captured log

    started: list[tuple[Any, threading.Thread]] = []

    def start(app: Flask) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
        # Don't join handler threads on close: an open event stream would hold teardown.
        server.block_on_close = False
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        started.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _BundleRefs(HTMLParser):
    """Every stylesheet, script and preload URL of a page, with its integrity (or None)."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "link" and a.get("rel") in ("stylesheet", "preload") and a.get("href"):
            self.refs.append((a["href"] or "", a.get("integrity")))
        elif tag == "script" and a.get("src"):
            self.refs.append((a["src"] or "", a.get("integrity")))


def bundle_refs(html: str) -> list[tuple[str, str | None]]:
    """(url, integrity) of every bundle a page links."""
    parser = _BundleRefs()
    parser.feed(html)
    return parser.refs


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a server started by a test, then kill it if it lingers."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
