"""Benchmark the development loop: how much the pipeline adds to what the user waits for.

(a) SCSS save -> fresh CSS: edit a partial, then time a page request plus the CSS fetch
    on a dev app that already built, against a bare ``sass.compile(filename=main.scss)``
    of the same entry point.                                          goal: ratio <= 1.5
(b) No-change request: a page request on a warm app with auto-build on (stat checks)
    against the same app with auto-build off serving a built copy.   goal: ratio <= 1.2
(c) Save -> live-reload "css" event: what a browser with the page open waits for, on a
    real threaded server on 127.0.0.1 (watchdog wakes the event stream).

Runs are interleaved (a dev sample, then its baseline, ...) so drift hits both sides.
Usage: ``python bench/dev_loop.py [--runs 9] [--requests 200]``; works on tmp copies.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import sass

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app import create_app  # noqa: E402
from app.assets import builder  # noqa: E402
from app.assets.spec import load_spec  # noqa: E402

CSS_LINK = re.compile(r'<link rel="stylesheet" href="([^"]+)"[^>]*data-bundle="css_all"')


def copy_project(dest: Path) -> Path:
    shutil.copytree(REPO / "static", dest / "static", ignore=shutil.ignore_patterns("gen"))
    shutil.copytree(REPO / "templates", dest / "templates")
    shutil.copy2(REPO / "assets.yml", dest / "assets.yml")
    return dest


def sse_latency(app: object, buttons: Path, original: str, runs: int) -> list[float]:
    """Seconds from a save to the stream's css event, on a real server (c)."""
    import http.client

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", "/__assets/events")
        resp = conn.getresponse()
        resp.readline()  # retry:
        time.sleep(0.3)  # the first pass records the current URLs
        out = []
        for i in range(runs):
            buttons.write_text(original.replace("calc(1rem + 2px)", f"calc(1rem + {900 + i}px)"))
            saved = time.perf_counter()
            while not resp.readline().startswith(b"event: css"):
                pass
            out.append(time.perf_counter() - saved)
            time.sleep(0.05)
        return out
    finally:
        conn.close()
        server.shutdown()


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="samples per measurement (>= 7)")
    parser.add_argument("--requests", type=int, default=200, help="requests per (b) sample")
    args = parser.parse_args()
    runs = max(args.runs, 7)

    with tempfile.TemporaryDirectory(prefix="dev-loop-") as tmp:
        dev_root = copy_project(Path(tmp) / "dev")
        auto_root = copy_project(Path(tmp) / "auto")
        prod_root = copy_project(Path(tmp) / "prod")
        builder.build(load_spec(prod_root / "assets.yml", prod_root / "static"))

        dev = create_app({"PROJECT_ROOT": str(dev_root), "ASSETS_AUTO_BUILD": True, "DEBUG": True})
        prod = create_app({"PROJECT_ROOT": str(prod_root), "ASSETS_AUTO_BUILD": False})
        # The same app with only ASSETS_AUTO_BUILD changed: what (b) asks about.
        auto = create_app({"PROJECT_ROOT": str(auto_root), "ASSETS_AUTO_BUILD": True})
        dev_client, prod_client = dev.test_client(), prod.test_client()
        auto_client = auto.test_client()
        resolver = dev.extensions["assets"].resolver

        static = dev_root / "static"
        main_scss = static / "scss" / "main.scss"
        buttons = static / "scss" / "_buttons.scss"
        original = buttons.read_text()
        assert "+ 2px" in original

        def page(client: object, path: str = "/") -> str:
            resp = client.get(path)  # type: ignore[attr-defined]
            assert resp.status_code == 200, resp.status_code
            return resp.get_data(as_text=True)

        def fresh_css(marker: str) -> None:
            m = CSS_LINK.search(page(dev_client))
            assert m, "no css_all link in the page"
            resp = dev_client.get(m.group(1))
            assert resp.status_code == 200 and marker.encode() in resp.data, "stale CSS"

        def raw_compile() -> None:
            sass.compile(filename=str(main_scss), include_paths=[str(static)])

        # Warm both apps: every bundle built (dev), templates compiled, imports done.
        for path in ("/", "/about", "/gallery"):
            page(dev_client, path)
            page(prod_client, path)
            page(auto_client, path)
        raw_compile()

        edit_s: list[float] = []
        raw_s: list[float] = []
        dev_req_s: list[float] = []
        prod_req_s: list[float] = []
        auto_req_s: list[float] = []
        rebuild_s: list[float] = []
        for i in range(runs):
            # (a) a save, then the request that must serve the new CSS.
            marker = f"calc(1rem + {100 + i}px)"
            buttons.write_text(original.replace("calc(1rem + 2px)", marker))
            before = resolver.rebuilds
            edit_s.append(timed(lambda m=marker: fresh_css(m)))
            assert resolver.rebuilds == before + 1, "the edit did not rebuild exactly once"
            raw_s.append(timed(raw_compile))
            # (a') the rebuild alone, without the two HTTP requests around it.
            buttons.write_text(original.replace("calc(1rem + 2px)", f"calc(1rem + {500 + i}px)"))
            rebuild_s.append(timed(lambda: resolver.entry("css_all")))

            # (b) no change: the per-request cost of asking "is anything stale?".
            def batch(client: object) -> float:
                n = args.requests
                return timed(lambda: [page(client) for _ in range(n)]) / n

            before = resolver.rebuilds
            dev_req_s.append(batch(dev_client))
            assert resolver.rebuilds == before, "an untouched request rebuilt"
            prod_req_s.append(batch(prod_client))
            auto_req_s.append(batch(auto_client))
        buttons.write_text(original)
        page(dev_client)
        sse_s = sse_latency(dev, buttons, original, runs)
        buttons.write_text(original)

    def med(xs: list[float]) -> float:
        return statistics.median(xs)

    ratio_a = med(edit_s) / med(raw_s)
    ratio_b = med(auto_req_s) / med(prod_req_s)
    rows = [
        ("(a) save -> page + fresh CSS (dev)", med(edit_s), min(edit_s), max(edit_s)),
        ("    the rebuild alone (resolver)", med(rebuild_s), min(rebuild_s), max(rebuild_s)),
        ("    raw sass.compile(main.scss)", med(raw_s), min(raw_s), max(raw_s)),
        ("(b) page request, auto-build on", med(auto_req_s), min(auto_req_s), max(auto_req_s)),
        ("    page request, auto-build off", med(prod_req_s), min(prod_req_s), max(prod_req_s)),
        ("    page, full dev (debug+live)", med(dev_req_s), min(dev_req_s), max(dev_req_s)),
        ("(c) save -> live-reload css event", med(sse_s), min(sse_s), max(sse_s)),
    ]
    print(f"cpu_count={os.cpu_count()}  runs={runs}  requests per (b) sample={args.requests}")
    print(f"{'measurement':<38} {'median ms':>10} {'min ms':>9} {'max ms':>9}")
    for name, m, lo, hi in rows:
        print(f"{name:<38} {m * 1e3:>10.3f} {lo * 1e3:>9.3f} {hi * 1e3:>9.3f}")
    print()
    print(f"ratio (a') rebuild alone / raw compile{'':<18} = {med(rebuild_s) / med(raw_s):5.2f}")
    print(
        f"ratio full dev page / production page{'':<19} = {med(dev_req_s) / med(prod_req_s):5.2f}"
    )
    goals = (
        ("(a) dev save-to-fresh-CSS / raw compile", ratio_a, 1.5),
        ("(b) auto-build on / off per request", ratio_b, 1.2),
    )
    for name, ratio, goal in goals:
        verdict = "ok" if ratio <= goal else "OVER GOAL"
        print(f"ratio {name:<40} = {ratio:5.2f}  (goal <= {goal}: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
