"""Benchmark production delivery of a hashed bundle: WhiteNoise vs Flask's send_static_file.

    python bench/serve.py [--rounds 5] [--seconds 3] [--connections 8] [--client auto]

What it does, all on 127.0.0.1:

1. Copies the demo site (static/ without gen/, templates/, assets.yml) into a temporary
   folder and builds it (the repository's own static/gen/ is never touched).
2. Starts two servers with the *same* configuration (1 worker, 4 threads, HTTP/1.1
   keep-alive; uWSGI when installed, ``pip install pyuwsgi``, else gunicorn gthread; choose
   with ``--server``), each on a free port:
   A. ``whitenoise_app()``: the production app, ``create_app()`` with auto-build off, so
      ``/static/...`` is answered by WhiteNoise in front of Flask;
   B. ``flask_static_app()``: the very same app with WhiteNoise unwrapped, so the same URL
      falls through to Flask's ``/static/<path:filename>`` route (``send_static_file``).
3. Measures requests/second for the largest hashed bundle (no Accept-Encoding, so both send
   the same raw bytes), rounds interleaved A B A B ..., and reports the medians and A/B.
   The load generator is ``wrk`` (keep-alive) when installed, else a Python client with one
   keep-alive ``http.client`` connection per thread; the output says which.
4. Measures bytes on the wire (response body) for each bundle from A with
   ``Accept-Encoding: br`` and ``gzip`` against identity, and prints br/raw and gzip/raw.

The load generator shares the machine's CPUs with the server; ``os.cpu_count()`` is printed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask

from app import create_app

REPO = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
GUNICORN_OPTS = ["--workers", "1", "--keep-alive", "5", "--log-level", "warning"]


# --- the two apps gunicorn loads (``serve:whitenoise_app()``, ``serve:flask_static_app()``)


def whitenoise_app() -> Flask:
    """The production app: WhiteNoise answers /static/ (PROJECT_ROOT from FLASK_PROJECT_ROOT)."""
    return create_app({"ASSETS_AUTO_BUILD": False})


def flask_static_app() -> Flask:
    """The same app with WhiteNoise unwrapped: /static/ goes to Flask's send_static_file."""
    app = create_app({"ASSETS_AUTO_BUILD": False})
    inner = getattr(app.wsgi_app, "application", None)
    if inner is None:
        raise RuntimeError("expected WhiteNoise around app.wsgi_app in production mode")
    app.wsgi_app = inner  # type: ignore[method-assign]
    return app


# --- helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def build_site(dest: Path) -> Path:
    shutil.copytree(REPO / "static", dest / "static", ignore=shutil.ignore_patterns("gen"))
    shutil.copytree(REPO / "templates", dest / "templates")
    shutil.copy2(REPO / "assets.yml", dest / "assets.yml")
    from app.assets import builder
    from app.assets.declare import load_spec

    builder.build(load_spec(dest / "assets.yml", dest / "static"))
    return dest


def uwsgi_binary() -> str | None:
    """uWSGI from this venv (``pip install pyuwsgi``) or the PATH, if installed."""
    here = Path(sys.executable).parent / "uwsgi"
    return str(here) if here.exists() else shutil.which("uwsgi")


def server_cmd(
    kind: str, port: int, factory: str, args: argparse.Namespace, tmp: Path
) -> list[str]:
    if kind == "gunicorn":
        opts = [*GUNICORN_OPTS, "--worker-class", args.worker_class, "--threads", str(args.threads)]
        cmd = [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", *opts]
        return [*cmd, "--pythonpath", str(BENCH), f"serve:{factory}"]
    # uWSGI loads a module attribute, not a factory call: a two-line WSGI file per app.
    wsgi = tmp / f"wsgi_{factory.split('(')[0]}.py"
    wsgi.write_text(f"from serve import {factory.split('(')[0]}\napplication = {factory}\n")
    binary = uwsgi_binary()
    if binary is None:
        raise RuntimeError("uwsgi is not installed: pip install pyuwsgi")
    return [
        binary,
        *("--http11-socket", f"127.0.0.1:{port}", "--http-keepalive", "--tcp-nodelay"),
        *("--wsgi-file", str(wsgi), "--pythonpath", str(BENCH)),
        *("--master", "--processes", "1", "--threads", str(args.threads)),
        *("--disable-logging", "--die-on-term"),
    ]


@contextmanager
def server(
    kind: str, root: Path, factory: str, args: argparse.Namespace, tmp: Path
) -> Iterator[int]:
    port = free_port()
    log = tmp / f"{kind}-{factory.split('(')[0]}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env.update(FLASK_PROJECT_ROOT=str(root), FLASK_ASSETS_AUTO_BUILD="false")
    cmd = server_cmd(kind, port, factory, args, tmp)
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{kind} ({factory}) exited:\n{log.read_text()}")
            try:
                if fetch(port, "/")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind} ({factory}) did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- load generators


def wrk_rps(port: int, path: str, seconds: float, connections: int) -> float:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m:
        raise RuntimeError(f"cannot parse wrk output:\n{out}")
    return float(m.group(1))


def python_rps(port: int, path: str, seconds: float, connections: int) -> float:
    """One keep-alive connection per thread, as many requests as fit in ``seconds``."""
    counts = [0] * connections
    errors: list[str] = []
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            while time.monotonic() < stop:
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    errors.append(str(resp.status))
                    return
                counts[i] += 1
        finally:
            conn.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"non-200 responses: {errors[:5]}")
    return sum(counts) / (time.monotonic() - t0)


def wsgi_rps(app: Flask, path: str, seconds: float) -> float:
    """Call the WSGI app in-process (no server, no sockets): the handlers' own cost."""
    from werkzeug.test import EnvironBuilder

    base = EnvironBuilder(path=path, base_url="http://127.0.0.1/").get_environ()
    statuses: list[str] = []

    def start_response(status: str, headers: list, exc_info: object = None) -> None:
        statuses.append(status)

    n = 0
    t0 = time.perf_counter()
    stop = t0 + seconds
    while time.perf_counter() < stop:
        body = app(dict(base), start_response)
        for _ in body:
            pass
        close = getattr(body, "close", None)
        if close:
            close()
        n += 1
    if any(not s.startswith("200") for s in statuses):
        raise RuntimeError(f"in-process: non-200 {set(statuses)}")
    return n / (time.perf_counter() - t0)


# --- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    ap.add_argument("--worker-class", default="gthread", help="gunicorn worker class")
    ap.add_argument("--threads", type=int, default=4, help="threads per worker")
    ap.add_argument(
        "--server",
        choices=["auto", "gunicorn", "uwsgi"],
        default="auto",
        help="WSGI server for both apps (auto: uwsgi if installed, else gunicorn)",
    )
    args = ap.parse_args()
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    kind = args.server
    if kind == "auto":
        kind = "uwsgi" if uwsgi_binary() else "gunicorn"

    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
    measure = wrk_rps if client == "wrk" else python_rps
    if client == "wrk":
        args.seconds = max(1, round(args.seconds))  # wrk takes whole seconds

    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        root = build_site(Path(tmp) / "site")
        manifest = json.loads((root / "static/gen/manifest.json").read_bytes())["bundles"]
        target = max(manifest.values(), key=lambda e: e["bytes"])
        url = target["url"]
        raw = (root / "static" / target["file"]).read_bytes()

        with (
            server(kind, root, "whitenoise_app()", args, Path(tmp)) as port_a,
            server(kind, root, "flask_static_app()", args, Path(tmp)) as port_b,
        ):
            # Same bytes from both; only A sends the forever-cache header.
            sa, ha, ba = fetch(port_a, url)
            sb, hb, bb = fetch(port_b, url)
            if (sa, sb) != (200, 200) or ba != raw or bb != raw:
                raise RuntimeError(f"servers disagree: A {sa}, B {sb}")
            print(f"target: {url} ({len(raw):,} B)")
            print(f"  A WhiteNoise   Cache-Control: {ha.get('cache-control')}")
            print(f"  B Flask static Cache-Control: {hb.get('cache-control')}")

            for port in (port_a, port_b):  # warm up both (imports, page cache)
                measure(port, url, 1, args.connections)
            rounds: list[tuple[float, float]] = []
            for i in range(args.rounds):
                a = measure(port_a, url, args.seconds, args.connections)
                b = measure(port_b, url, args.seconds, args.connections)
                rounds.append((a, b))
                print(f"  round {i + 1}: A {a:9.0f} req/s   B {b:9.0f} req/s   A/B {a / b:5.2f}")

            wire = []
            for name, e in sorted(manifest.items()):
                sizes = {}
                for enc in ("identity", "br", "gzip"):
                    status, headers, body = fetch(port_a, e["url"], {"Accept-Encoding": enc})
                    if status != 200:
                        raise RuntimeError(f"{e['url']}: {status}")
                    got = headers.get("content-encoding", "identity")
                    if got != enc:
                        raise RuntimeError(f"{e['url']}: asked {enc}, got {got}")
                    sizes[enc] = len(body)
                wire.append((name, e["file"], sizes))

        # The same comparison without a server: what each handler costs by itself.
        os.environ["FLASK_PROJECT_ROOT"] = str(root)
        app_a, app_b = whitenoise_app(), flask_static_app()
        wsgi_rounds = []
        for _ in range(args.rounds):
            wsgi_rounds.append((wsgi_rps(app_a, url, 1.0), wsgi_rps(app_b, url, 1.0)))

    med_a = statistics.median(a for a, _ in rounds)
    med_b = statistics.median(b for _, b in rounds)
    ratio = med_a / med_b
    print()
    print(f"os.cpu_count() = {os.cpu_count()}; client = {client}", end="")
    print(f" (keep-alive, {args.connections} connections, {args.seconds} s per run)")
    detail = f"{args.worker_class}, " if kind == "gunicorn" else ""
    print(f"server: {kind}, 1 worker, {detail}{args.threads} threads (both apps)")
    print()
    print(f"| {'server':<34} | {'median req/s':>12} | {'rounds':>6} |")
    print(f"|{'-' * 36}|{'-' * 14}|{'-' * 8}|")
    print(f"| {'A WhiteNoise (app, production)':<34} | {med_a:>12.0f} | {len(rounds):>6} |")
    print(f"| {'B Flask send_static_file':<34} | {med_b:>12.0f} | {len(rounds):>6} |")
    goal = "meets" if ratio >= 3 else "MISSES"
    print(f"| {'ratio A/B (goal >= 3)':<34} | {ratio:>12.2f} | {goal:>6} |")
    wa = statistics.median(a for a, _ in wsgi_rounds)
    wb = statistics.median(b for _, b in wsgi_rounds)
    n = len(wsgi_rounds)
    print(f"| {'in-process WSGI, no server: A':<34} | {wa:>12.0f} | {n:>6} |")
    print(f"| {'in-process WSGI, no server: B':<34} | {wb:>12.0f} | {n:>6} |")
    print(f"| {'in-process ratio A/B':<34} | {wa / wb:>12.2f} | {'':>6} |")
    print()
    print(f"| {'bundle':<12} | {'file':<26} | {'raw B':>7} | {'br B':>6} | {'gzip B':>6} |", end="")
    print(f" {'br/raw':>6} | {'gz/raw':>6} |")
    print(f"|{'-' * 14}|{'-' * 28}|{'-' * 9}|{'-' * 8}|{'-' * 8}|{'-' * 8}|{'-' * 8}|")
    for name, file, s in wire:
        r = s["identity"]
        print(f"| {name:<12} | {file:<26} | {r:>7,} | {s['br']:>6,} | {s['gzip']:>6,} |", end="")
        print(f" {s['br'] / r:>6.3f} | {s['gzip'] / r:>6.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
