"""Benchmark save -> repainted page: a real development server and headless Chromium.

The site is the demo whose ``main.scss`` first imports Bootstrap 5.3's SCSS (the
"demo + Bootstrap" site of ``bench/dev_loop.py``, corpus from ``bench/corpus.py``), with
a ``<p class="text-primary">`` probe on every page. One site per SCSS filter (``libsass``,
``dartsass``), each served by ``flask --app app run --debug`` (the reloader included) in
its own process, each open in its own Chromium tab.

A sample writes a new ``$blue`` into Bootstrap's ``_variables.scss`` and times, from just
before the write (``time.time()``) to the first animation frame whose computed style of the
probe shows the new colour (the page's ``performance.timeOrigin + performance.now()``,
corrected by an offset measured before each sample). Along the way: the new CSS file on
disk (compile and write done, seen by an inotify watch of ``gen/dev``), the live-reload
``css`` event in the page, the stylesheet's response (Resource Timing) and its ``load``.
Filters are interleaved, order flipped every run; medians, min and max of ``--runs``.
Also the compiler alone on the entry point (in this process, development options, right
after each sample), and each sample's total minus it: what the pipeline and the browser add.

Usage: ``python bench/repaint.py [--runs 9] [--filter libsass,dartsass]`` (webassets'
names select ours too: ``--filter scss``).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from corpus import ensure_corpus  # noqa: E402
from dev_loop import copy_project, med  # noqa: E402

BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
VARIABLES = "scss/vendor/bootstrap/_variables.scss"
BLUE = "$blue:    #0d6efd !default;"
PROBE = '<p id="repaint-probe" class="text-primary">repaint probe</p>'
CSS_FILTER = re.compile(r"(css_all:\n  contents: \[scss/main.scss\]\n  filters: )libsass")
# In the page before its own scripts. The page stays idle while the server compiles: on
# the css event it records the time, then checks the probe's computed colour on every
# animation frame until it is ``__repaint.want``; with the new sheet's load also seen, it
# logs DONE. (Playwright's ``wait_for_function`` would poll on every frame all along.)
PAGE_PROBE = """(() => {
  const now = () => performance.timeOrigin + performance.now();
  const R = (window.__repaint = { want: null, seen: null, sse: null, url: null, load: null });
  const done = () => { if (R.seen !== null && R.load !== null) console.log("%s"); };
  const frame = () => {
    const el = document.getElementById("repaint-probe");
    if (el && getComputedStyle(el).color === R.want) { R.seen = now(); done(); }
    else requestAnimationFrame(frame);
  };
  const Native = window.EventSource;
  window.EventSource = function (url, opts) {
    const source = new Native(url, opts);
    source.addEventListener("css", (ev) => {
      if (R.want === null || R.sse !== null) return;
      R.sse = now();
      R.url = JSON.parse(ev.data).url;
      requestAnimationFrame(frame);
    });
    return source;
  };
  window.EventSource.prototype = Native.prototype;
  document.addEventListener("load", (ev) => {
    if (ev.target.tagName === "LINK" && R.sse !== null && R.load === null) {
      R.load = now();
      done();
    }
  }, true);
})();"""
DONE = "repaint-bench: done"
STAGES = (
    ("save -> repainted (total)", "total"),
    ("  save -> CSS written (compile)", "written"),
    ("  written -> css event in page", "event"),
    ("  event -> sheet response end", "fetched"),
    ("  response -> frame shows colour", "painted"),
    ("  (response -> sheet load event)", "parsed"),
    ("compiler alone (dev options)", "compile"),
    ("total - compiler alone (paired)", "rest"),
)


def make_site(dest: Path, bootstrap: Path, engine: str) -> Path:
    root = copy_project(dest, bootstrap)
    yml = root / "assets.yml"
    text, n = CSS_FILTER.subn(rf"\g<1>{engine}", yml.read_text())
    assert n == 1, "css_all's filters not found in assets.yml"
    yml.write_text(text)
    base = root / "templates" / "base.html"
    base.write_text(base.read_text().replace("<main>", "<main>\n    " + PROBE, 1))
    assert BLUE in (root / "static" / VARIABLES).read_text()
    return root


class Written:
    """When each new development output appeared (inotify on ``gen/dev``, this process)."""

    def __init__(self, folder: Path) -> None:
        from watchdog.events import FileMovedEvent, FileSystemEventHandler
        from watchdog.observers import Observer

        self.at: dict[str, float] = {}
        seen = self.at

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                path = str(getattr(event, "dest_path", "") or event.src_path)
                if path.endswith(".css"):  # written to a temporary name, then renamed
                    seen.setdefault(os.path.basename(path), time.time())

        folder.mkdir(parents=True, exist_ok=True)
        self.observer = Observer()
        self.observer.schedule(Handler(), str(folder), event_filter=[FileMovedEvent])
        self.observer.daemon = True
        self.observer.start()


class Server:
    """``flask --app app run --debug`` on a free port, as a user starts it."""

    def __init__(self, root: Path, log: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
        env.update(FLASK_PROJECT_ROOT=str(root), PYTHONPATH=str(REPO))
        # Outside the project: the server watches its folders, and would see its own log.
        self.log_path = log
        self.log = open(log, "wb")  # noqa: SIM115
        argv = [sys.executable, "-m", "flask", "--app", "app", "run", "--debug"]
        self.proc = subprocess.Popen(
            [*argv, "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=root,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the reloader's child too: stopped as one group
        )
        self.url = f"http://127.0.0.1:{self.port}/"
        deadline = time.monotonic() + 120
        while True:  # the first page builds every bundle (and starts Dart Sass)
            try:
                with urllib.request.urlopen(self.url, timeout=60) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(log.read_text()[-2000:]) from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        self.log.close()


class Site:
    """One filter's site, server and tab."""

    def __init__(self, tmp: Path, bootstrap: Path, engine: str, browser: Any) -> None:
        from app.assets.engines import lookup

        info = lookup(engine, "css")
        if info is None or info.role != "compiler":
            raise SystemExit(f"--filter: {engine!r} is not a SCSS compiler filter")
        self.engine, self.compiler = engine, info.name
        self.root = make_site(tmp / engine, bootstrap, engine)
        self.variables = self.root / "static" / VARIABLES
        self.original = self.variables.read_text()
        self.server = Server(self.root, tmp / f"{engine}.log")
        self.written = Written(self.root / "static" / "gen" / "dev")
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.page.add_init_script(PAGE_PROBE % DONE)
        self.page.goto(self.server.url)
        self.page.wait_for_selector("script[data-assets-live]", state="attached")
        self.page.wait_for_timeout(1500)  # the stream's first pass records the URLs
        self.n = 0
        self.s: dict[str, list[float]] = {}

    def offset(self) -> float:
        """Page wall clock minus ours (seconds), from the tightest of a few round trips."""
        best = (1.0, 0.0)
        for _ in range(5):
            t0 = time.time()
            page_now = self.page.evaluate("performance.timeOrigin + performance.now()") / 1e3
            t1 = time.time()
            best = min(best, (t1 - t0, page_now - (t0 + t1) / 2))
        return best[1]

    def sample(self, record: bool = True) -> None:
        self.n += 1
        rgb = (self.n * 37 % 200, 60 + self.n % 100, 200)
        want = f"rgb({rgb[0]}, {rgb[1]}, {rgb[2]})"
        colour = "#{:02x}{:02x}{:02x}".format(*rgb)
        skew = self.offset()
        reset = "Object.assign(window.__repaint, {seen: null, sse: null, url: null, load: null})"
        self.page.evaluate(f"{reset}; window.__repaint.want = {want!r}")
        text = self.original.replace(BLUE, f"$blue:    {colour} !default;")
        time.sleep(0.3)  # the previous sample's work and these round trips are over
        with self.page.expect_console_message(lambda m: m.text == DONE, timeout=30_000):
            t0 = time.time()
            self.variables.write_text(text)
        r = self.page.evaluate(
            """() => { const R = window.__repaint;
            const e = performance.getEntriesByName(new URL(R.url, location.href).href).pop();
            return {...R, end: e ? performance.timeOrigin + e.responseEnd : null}; }"""
        )
        if not record:
            return
        at = {k: r[k] / 1e3 - skew for k in ("seen", "sse", "load")}
        written = self.written.at.get(os.path.basename(r["url"]))
        end = r["end"] / 1e3 - skew if r["end"] else None
        self.add("total", at["seen"] - t0)
        if written is not None:
            self.add("written", written - t0)
            self.add("event", at["sse"] - written)
        if end is not None:
            self.add("fetched", end - at["sse"])
            self.add("parsed", at["load"] - end)
            self.add("painted", at["seen"] - end)

    def compile_only(self) -> None:
        from app.assets.bridge.filters import compiler
        from app.assets.load_path import LoadPath

        static = self.root / "static"
        engine = compiler(self.compiler)
        t0 = time.perf_counter()
        engine.compile(static / "scss" / "main.scss", LoadPath.single(static), dev=True)
        self.add("compile", time.perf_counter() - t0)
        self.add("rest", self.s["total"][-1] - self.s["compile"][-1])

    def add(self, key: str, seconds: float) -> None:
        self.s.setdefault(key, []).append(seconds)

    def close(self) -> None:
        self.variables.write_text(self.original)
        self.context.close()
        self.written.observer.stop()
        self.server.stop()


def report(sites: list[Site], runs: int) -> None:
    load = os.getloadavg()
    print(f"\ncpu_count={os.cpu_count()}  runs={runs}  load average={load[0]:.2f}")
    head = "".join(f"{s.engine + ' median':>16}{'min':>8}{'max':>8}" for s in sites)
    print(f"{'ms':<36}{head}")
    for label, key in STAGES:
        cells = ""
        for site in sites:
            xs = site.s.get(key)
            if xs:
                cells += f"{med(xs) * 1e3:>16.0f}{min(xs) * 1e3:>8.0f}{max(xs) * 1e3:>8.0f}"
            else:
                cells += f"{'-':>16}{'':>16}"
        print(f"{label:<36}{cells}")
    for site in sites:
        total, comp = med(site.s["total"]), med(site.s["compile"])
        goal = "ok" if total <= 0.3 else "OVER GOAL"
        print(
            f"{site.engine}: save -> repaint median {total:.3f} s (goal <= 0.3 s: {goal}); "
            f"ratio compiler alone / total = {comp / total:.2f}"
        )
    if len(sites) == 2:
        a, b = sites
        ratio = med(b.s["total"]) / med(a.s["total"])
        print(f"ratio {b.engine} / {a.engine} (median save -> repaint) = {ratio:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="samples per filter")
    parser.add_argument("--filter", default="libsass,dartsass", help="comma-separated")
    args = parser.parse_args()
    engines = [f.strip() for f in args.filter.split(",") if f.strip()]
    bootstrap = ensure_corpus() / "bootstrap" / "scss"

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-repaint-") as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=BROWSER_ARGS
        )
        sites: list[Site] = []
        try:
            for engine in engines:
                sites.append(Site(Path(tmp), bootstrap, engine, browser))
            for site in sites:
                site.sample(record=False)  # warm: the first swap, the compiler's JIT
            for i in range(args.runs):
                for site in sites if i % 2 == 0 else sites[::-1]:
                    site.sample()
                    site.compile_only()
                print(f"run {i + 1}/{args.runs}", end="\r", flush=True)
            report(sites, args.runs)
        finally:
            for site in sites:
                site.close()
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
