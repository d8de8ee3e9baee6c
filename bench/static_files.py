"""Benchmark digested static files: page render with url_for, and no-op builds.

    python bench/static_files.py [--runs 7] [--images 1000] [--renders 2000]

What it does, in a temporary copy of the demo site (the repository's static/gen/ is
never touched):

1. Adds ``--images`` PNG files of 20 KB (random bytes) under ``static/img/bench/`` and
   builds once (cold: every image hashed and copied).
2. Times, as subprocesses so start-up counts, interleaved, medians of ``--runs``:
   - ``flask assets build`` with nothing changed (incremental no-op; fingerprints in the
     build cache let it skip reading unchanged images);
   - ``flask assets build --no-cache`` with nothing changed (every image read and hashed,
     no copy rewritten);
   - app start-up: ``flask routes`` in production (manifest, WhiteNoise's file index).
3. In process, medians of ``--runs`` rounds of ``--renders`` renders each: a production
   page with two bundle tags and four ``url_for('static', ...)`` images rendered with the
   pipeline's ``url_for`` (digested URLs) and with Flask's own (plain URLs); and one
   ``url_for('static', ...)`` call alone: Flask's, ours (``app.url_for`` wrapped), and a
   ``url_defaults`` callback doing the same swap (the alternative hook).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from flask import Flask  # noqa: E402

from app import create_app  # noqa: E402

PAGE = """<!doctype html><html><head>{{ bundle_tags("css_all") }}</head><body>
<img src="{{ url_for('static', filename='img/leaf.svg') }}">
<img src="{{ url_for('static', filename='img/bench/0001.png') }}">
<img src="{{ url_for('static', filename='img/bench/0002.png') }}">
<img src="{{ url_for('static', filename='img/bench/0003.png') }}">
{{ bundle_tags("js_all") }}</body></html>"""


def make_tree(dest: Path, images: int) -> Path:
    shutil.copytree(REPO / "static", dest / "static", ignore=shutil.ignore_patterns("gen"))
    shutil.copytree(REPO / "templates", dest / "templates")
    shutil.copy2(REPO / "assets.yml", dest / "assets.yml")
    folder = dest / "static/img/bench"
    folder.mkdir(parents=True)
    for i in range(images):
        (folder / f"{i:04d}.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(20 * 1024 - 8))
    old = time.time() - 3600  # as a checkout some time ago: no racy timestamps
    for path in (dest / "static").rglob("*"):
        os.utime(path, (old, old))
    return dest


def flask(root: Path, *args: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env.update(
        FLASK_PROJECT_ROOT=str(root),
        FLASK_ASSETS_AUTO_BUILD="false",
        PYTHONPATH=str(REPO),
        PYTHONDONTWRITEBYTECODE="1",
    )
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - t0


def per_call(fn: Callable[[], Any], n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def plain_app(root: Path) -> Flask:
    """The production app with Flask's own url_for back (plain /static/... URLs)."""
    app = create_app({"PROJECT_ROOT": str(root), "ASSETS_AUTO_BUILD": False})
    original = Flask.url_for.__get__(app)
    app.url_for = original  # type: ignore[method-assign]
    app.jinja_env.globals["url_for"] = original
    return app


def url_defaults_app(root: Path) -> Flask:
    """The alternative hook: a url_defaults callback swapping the file name."""
    app = plain_app(root)
    files = {k: e.file for k, e in app.extensions["assets"].resolver.manifest.files.items()}

    def digested(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static":
            rel = files.get(values.get("filename"))  # type: ignore[arg-type]
            if rel is not None:
                values["filename"] = rel

    app.url_defaults(digested)
    return app


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--renders", type=int, default=2000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = make_tree(Path(tmp) / "site", args.images)
        cold = flask(root, "assets", "build")
        times: dict[str, list[float]] = {"noop": [], "nocache": [], "start": []}
        for _ in range(args.runs):
            times["noop"].append(flask(root, "assets", "build"))
            times["nocache"].append(flask(root, "assets", "build", "--no-cache"))
            times["start"].append(flask(root, "routes"))
        med = {k: statistics.median(v) for k, v in times.items()}

        ours = create_app({"PROJECT_ROOT": str(root), "ASSETS_AUTO_BUILD": False})
        plain = plain_app(root)
        hook = url_defaults_app(root)
        render: dict[str, list[float]] = {"ours": [], "plain": []}
        call: dict[str, list[float]] = {"ours": [], "plain": [], "url_defaults": []}
        for _ in range(args.runs):
            for name, app in (("ours", ours), ("plain", plain)):
                with app.test_request_context("/"):
                    template = app.jinja_env.from_string(PAGE)  # compiled once, as Flask caches
                    html = template.render()
                    assert ("gen/img/leaf." in html) == (name == "ours"), html
                    render[name].append(per_call(template.render, args.renders))
            for name, app in (("ours", ours), ("plain", plain), ("url_defaults", hook)):
                with app.test_request_context("/"):
                    url_for = app.url_for
                    call[name].append(
                        per_call(
                            lambda u=url_for: u("static", filename="img/bench/0001.png"),
                            args.renders * 10,
                        )
                    )
        r = {k: statistics.median(v) for k, v in render.items()}
        c = {k: statistics.median(v) for k, v in call.items()}

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.images} images")
    print(f"cold build: {cold:.2f} s (once)")
    print()
    print("| measurement | median | vs app start-up | target |")
    print("|---|---|---|---|")
    print(f"| app start-up (`flask routes`, production) | {med['start'] * 1000:.0f} ms | 1.00x | |")
    print(
        f"| no-op `flask assets build` | {med['noop'] * 1000:.0f} ms | "
        f"{med['noop'] / med['start']:.2f}x | ≤ 1.2x |"
    )
    print(
        f"| no-op `flask assets build --no-cache` | {med['nocache'] * 1000:.0f} ms | "
        f"{med['nocache'] / med['start']:.2f}x | |"
    )
    print()
    print("| page render (2 bundle tags, 4 `url_for('static', ...)`) | median | ratio | target |")
    print("|---|---|---|---|")
    print(f"| Flask's plain `url_for` | {r['plain'] * 1e6:.1f} µs | 1.00x | |")
    print(
        f"| digested `url_for` (ours) | {r['ours'] * 1e6:.1f} µs | "
        f"{r['ours'] / r['plain']:.2f}x | ≤ 1.1x |"
    )
    print()
    print("| one `url_for('static', ...)` call | median | ratio |")
    print("|---|---|---|")
    for name, label in (
        ("plain", "Flask's own"),
        ("ours", "ours (`app.url_for` wrapped)"),
        ("url_defaults", "`url_defaults` callback"),
    ):
        print(f"| {label} | {c[name] * 1e6:.2f} µs | {c[name] / c['plain']:.2f}x |")


if __name__ == "__main__":
    main()
