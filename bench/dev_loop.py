"""Benchmark the development loop: how much the pipeline adds to what the user waits for.

Two sites: this project as it is ("demo": a 1 ms SCSS entry point), and the same site
whose ``main.scss`` first imports Bootstrap 5.3's SCSS ("bootstrap": 92 files read per
compile, from the npm corpus of ``bench/corpus.py``; skipped with ``--no-corpus``).

(a) SCSS save -> fresh CSS: save a partial, then time a page request plus the CSS fetch
    on a dev app that already built, against a bare ``sass.compile(filename=main.scss)``
    of the same entry point right after a save.                       goal: ratio <= 1.5
    Also: the same two requests with nothing saved (what HTTP costs either way), the
    rebuild alone, and ``sass.compile`` with the options a dev build uses (expanded
    output with an embedded source map).
(b) No-change request: a page request on a warm app with auto-build on against the
    same app with auto-build off serving a built copy.                goal: ratio <= 1.2
(c) Save -> live-reload "css" event: what a browser with the page open waits for, on a
    real threaded server on 127.0.0.1 (watchdog wakes the event stream). Demo only.

Runs are interleaved (a dev sample, then its baselines, ...) so drift hits every side.
Usage: ``python bench/dev_loop.py [--runs 9] [--requests 200] [--no-corpus]``; works on
temporary copies of the project.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sass

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from app import create_app  # noqa: E402
from app.assets import builder  # noqa: E402
from app.assets.declare import load_spec  # noqa: E402

CSS_LINK = re.compile(r'<link rel="stylesheet" href="([^"]+)"[^>]*data-bundle="css_all"')
PARTIAL = "scss/_buttons.scss"
NEEDLE = "calc(1rem + 2px)"
BOOTSTRAP_IMPORT = '@import "vendor/bootstrap/bootstrap";\n'


def copy_project(dest: Path, bootstrap: Path | None) -> Path:
    shutil.copytree(REPO / "static", dest / "static", ignore=shutil.ignore_patterns("gen"))
    shutil.copytree(REPO / "templates", dest / "templates")
    shutil.copy2(REPO / "assets.yml", dest / "assets.yml")
    if bootstrap is not None:
        shutil.copytree(bootstrap, dest / "static" / "scss" / "vendor" / "bootstrap")
        main = dest / "static" / "scss" / "main.scss"
        main.write_text(BOOTSTRAP_IMPORT + main.read_text())
    return dest


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def med(xs: list[float]) -> float:
    return statistics.median(xs)


@dataclass
class Samples:
    """Seconds per sample, by measurement name; paired lists share an index."""

    site: str
    sources: int = 0
    s: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, seconds: float) -> None:
        self.s.setdefault(name, []).append(seconds)

    def m(self, name: str) -> float:
        return med(self.s[name])


def bench_site(site: str, bootstrap: Path | None, runs: int, requests: int) -> Samples:
    out = Samples(site)
    with tempfile.TemporaryDirectory(prefix=f"dev-loop-{site}-") as tmp:
        dev_root = copy_project(Path(tmp) / "dev", bootstrap)
        auto_root = copy_project(Path(tmp) / "auto", bootstrap)
        prod_root = copy_project(Path(tmp) / "prod", bootstrap)
        builder.build(load_spec(prod_root / "assets.yml", prod_root / "static"))

        dev = create_app({"PROJECT_ROOT": str(dev_root), "ASSETS_AUTO_BUILD": True, "DEBUG": True})
        prod = create_app({"PROJECT_ROOT": str(prod_root), "ASSETS_AUTO_BUILD": False})
        # The same app with only ASSETS_AUTO_BUILD changed: what (b) asks about.
        auto = create_app({"PROJECT_ROOT": str(auto_root), "ASSETS_AUTO_BUILD": True})
        dev_client, prod_client, auto_client = (
            dev.test_client(),
            prod.test_client(),
            auto.test_client(),
        )
        resolver = dev.extensions["assets"].resolver

        static = dev_root / "static"
        main_scss = str(static / "scss" / "main.scss")
        partial = static / PARTIAL
        original = partial.read_text()
        assert NEEDLE in original
        edits = iter(range(1000, 10**9))

        def save() -> str:
            marker = NEEDLE.replace("2px", f"{next(edits)}px")
            partial.write_text(original.replace(NEEDLE, marker))
            return marker

        def page(client: object, path: str = "/") -> str:
            resp = client.get(path)  # type: ignore[attr-defined]
            assert resp.status_code == 200, resp.status_code
            return resp.get_data(as_text=True)

        def page_and_css(marker: str) -> None:
            m = CSS_LINK.search(page(dev_client))
            assert m, "no css_all link in the page"
            resp = dev_client.get(m.group(1))
            assert resp.status_code == 200 and marker.encode() in resp.data, "stale CSS"

        def raw_compile() -> None:
            sass.compile(filename=main_scss, include_paths=[str(static)])

        def raw_compile_dev_options() -> None:
            sass.compile(
                filename=main_scss,
                include_paths=[str(static)],
                output_style="expanded",
                source_map_filename=main_scss + ".map",
                source_map_embed=True,
                source_map_contents=True,
            )

        # Warm all three apps: every bundle built, templates compiled, imports done.
        for path in ("/", "/about", "/gallery"):
            page(dev_client, path)
            page(prod_client, path)
            page(auto_client, path)
        raw_compile()
        out.sources = len(resolver.entry("css_all").sources)

        def batch(client: object) -> float:
            return timed(lambda: [page(client) for _ in range(requests)]) / requests

        for _ in range(runs):
            # (a) a save, then the request that must serve the new CSS ...
            marker = save()
            before = resolver.rebuilds
            out.add("e2e", timed(lambda m=marker: page_and_css(m)))
            assert resolver.rebuilds == before + 1, "the save did not rebuild exactly once"
            # ... the same two requests with nothing saved (paired with the one above) ...
            out.add("http", timed(lambda m=marker: page_and_css(m)))
            assert resolver.rebuilds == before + 1, "an untouched request rebuilt"
            # ... and the baselines, each right after a save too.
            save()
            out.add("raw", timed(raw_compile))
            save()
            out.add("raw_dev", timed(raw_compile_dev_options))
            save()
            out.add("rebuild", timed(lambda: resolver.entry("css_all")))
            page(dev_client)  # settle the page's other bundles before (b)

            # (b) no change: the per-request cost of asking "is anything stale?".
            before = resolver.rebuilds
            out.add("dev_page", batch(dev_client))
            assert resolver.rebuilds == before, "an untouched request rebuilt"
            out.add("prod_page", batch(prod_client))
            out.add("auto_page", batch(auto_client))
        out.s["added"] = [e - h for e, h in zip(out.s["e2e"], out.s["http"], strict=True)]

        if bootstrap is None:
            partial.write_text(original)
            page(dev_client)
            for seconds in sse_latency(dev, partial, original, runs):
                out.add("sse", seconds)
        partial.write_text(original)
        # An event stream may outlive its closed connection by a poll: it would log the
        # removal of this temporary project as build errors.
        logging.disable(logging.ERROR)
    logging.disable(logging.NOTSET)
    return out


def sse_latency(app: object, partial: Path, original: str, runs: int) -> list[float]:
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
            partial.write_text(original.replace(NEEDLE, f"calc(1rem + {900 + i}px)"))
            saved = time.perf_counter()
            while not resp.readline().startswith(b"event: css"):
                pass
            out.append(time.perf_counter() - saved)
            time.sleep(0.05)
        return out
    finally:
        conn.close()
        server.shutdown()


def report(r: Samples) -> list[tuple[str, float, float]]:
    """Print one site's table; return its (name, ratio, goal) verdict rows."""
    rows = [
        ("(a) save -> page + fresh CSS", "e2e"),
        ("    same two requests, nothing saved", "http"),
        ("    the wait a save adds (paired diff)", "added"),
        ("    the rebuild alone (resolver)", "rebuild"),
        ("    raw sass.compile(main.scss)", "raw"),
        ("    raw, dev options (expanded + map)", "raw_dev"),
        ("(b) page request, auto-build on", "auto_page"),
        ("    page request, auto-build off", "prod_page"),
        ("    page, full dev (debug+live)", "dev_page"),
        ("(c) save -> live-reload css event", "sse"),
    ]
    print(f"\n== {r.site}: css_all reads {r.sources} files")
    print(f"{'measurement':<40} {'median ms':>10} {'min ms':>9} {'max ms':>9}")
    for label, key in rows:
        if key in r.s:
            xs = r.s[key]
            print(f"{label:<40} {med(xs) * 1e3:>10.3f} {min(xs) * 1e3:>9.3f} {max(xs) * 1e3:>9.3f}")
    info = (
        # No pipeline could beat this: the dev compile itself plus the two requests.
        ("floor: (raw dev options + requests) / raw", (r.m("raw_dev") + r.m("http")) / r.m("raw")),
        ("wait a save adds / raw compile", r.m("added") / r.m("raw")),
        ("wait a save adds / raw, dev options", r.m("added") / r.m("raw_dev")),
        ("rebuild alone / raw compile", r.m("rebuild") / r.m("raw")),
        ("rebuild alone / raw, dev options", r.m("rebuild") / r.m("raw_dev")),
        ("full dev page / production page", r.m("dev_page") / r.m("prod_page")),
    )
    for name, ratio in info:
        print(f"ratio {name:<45} = {ratio:5.2f}")
    return [
        (f"{r.site}: (a) save-to-fresh-CSS / raw compile", r.m("e2e") / r.m("raw"), 1.5),
        (
            f"{r.site}: (b) auto-build on / off per request",
            r.m("auto_page") / r.m("prod_page"),
            1.2,
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="samples per measurement (>= 7)")
    parser.add_argument("--requests", type=int, default=200, help="requests per (b) sample")
    parser.add_argument("--no-corpus", action="store_true", help="skip the Bootstrap site")
    args = parser.parse_args()
    runs = max(args.runs, 7)

    bootstrap = None
    if not args.no_corpus:
        try:
            from corpus import ensure_corpus

            bootstrap = ensure_corpus() / "bootstrap" / "scss"
        except (RuntimeError, OSError) as exc:
            print(f"skipping the Bootstrap site: {exc}")
    results = [bench_site("demo", None, runs, args.requests)]
    if bootstrap is not None:
        results.append(bench_site("bootstrap", bootstrap, runs, args.requests))

    print(f"cpu_count={os.cpu_count()}  runs={runs}  requests per (b) sample={args.requests}")
    verdicts = [v for r in results for v in report(r)]
    print()
    for name, ratio, goal in verdicts:
        verdict = "ok" if ratio <= goal else "OVER GOAL"
        print(f"ratio {name:<50} = {ratio:5.2f}  (goal <= {goal}: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
