"""Choosing a minifier: size, gzip, brotli and time of every registered minifier.

Run ``python bench/minifiers.py [--runs N] [--markdown]`` with the project's virtualenv
and ``PYTHONPATH`` at the checkout. On the npm corpus (``bench/corpus.py``):

* **JS**: jQuery 3.7, bootstrap.bundle 5.3, htmx 2, Alpine 3 and lodash 4 joined as a
  bundle joins them (``join_js``), minified by each registered JS minifier through the
  pipeline's own entry point (guards and verification included), and by esbuild as a
  reference (installed with npm into the ignored ``.cache/esbuild``; never a dependency
  of the project; skipped without npm);
* **CSS**: Bootstrap 5.3's ``bootstrap.css``, by each registered CSS minifier
  (lightningcss also with ``ASSETS_BROWSERS`` at its default, ``defaults``), and esbuild;
* **build**: ``compile_bundle`` of one JS bundle of the five libraries, no cache, with
  ``jsmin`` and with ``minify`` (the syntax checks of the sources and of the output
  included, as in a real build), and the minify step alone.

Times are medians of ``--runs`` runs, in-process (esbuild: its own reported time is not
used; the subprocess is timed, Node start-up included, which is what a build would pay).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import brotli

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from corpus import ensure_corpus  # noqa: E402

from app.assets import engines  # noqa: E402
from app.assets.minifiers import MinifyOptions, join_js, minify  # noqa: E402

JS_LIBS = (
    "jquery/dist/jquery.js",
    "bootstrap/dist/js/bootstrap.bundle.js",
    "htmx.org/dist/htmx.js",
    "alpinejs/dist/cdn.js",
    "lodash/lodash.js",
)
CSS_FILE = "bootstrap/dist/css/bootstrap.css"
ESBUILD = "esbuild@0.24.2"
ESBUILD_ROOT = REPO / ".cache" / "esbuild"


def median_time(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def esbuild() -> Path | None:
    binary = ESBUILD_ROOT / "node_modules" / ".bin" / "esbuild"
    if binary.exists():
        return binary
    npm = shutil.which("npm")
    if npm is None:
        return None
    ESBUILD_ROOT.mkdir(parents=True, exist_ok=True)
    (ESBUILD_ROOT / ".gitignore").write_text("*\n")
    (ESBUILD_ROOT / "package.json").write_text(json.dumps({"name": "bench", "private": True}))
    subprocess.run(
        [npm, "install", "--prefix", str(ESBUILD_ROOT), "--no-audit", "--no-fund", ESBUILD],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return binary if binary.exists() else None


def run_esbuild(binary: Path, text: str, loader: str) -> str:
    proc = subprocess.run(
        [str(binary), "--minify", f"--loader={loader}", "--log-level=error"],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def row(name: str, seconds: float, out: str, node: bool) -> dict[str, object]:
    data = out.encode("utf-8")
    return {
        "minifier": name,
        "bytes": len(data),
        "gzip": len(gzip.compress(data, compresslevel=9, mtime=0)),
        "brotli": len(brotli.compress(data, quality=11)),
        "seconds": seconds,
        "node": node,
    }


def minifier_rows(
    kind: str, source: str, runs: int, binary: Path | None
) -> list[dict[str, object]]:
    rows = []
    for name in engines.names(kind):
        info = engines.lookup(name, kind)
        if info is None or info.role != "minifier":
            continue
        variants = [("", MinifyOptions())]
        if name == "lightningcss":
            variants = [
                (" (no targets)", MinifyOptions()),
                (" (`defaults`)", MinifyOptions(("defaults",))),
            ]
        for label, options in variants:
            seconds, out = median_time(lambda n=name, o=options: minify(source, n, kind, o), runs)
            rows.append(row(f"{name}{label}", seconds, str(out), False))
    if binary is not None:
        loader = "js" if kind == "js" else "css"
        seconds, out = median_time(lambda: run_esbuild(binary, source, loader), runs)
        rows.append(row("esbuild (reference)", seconds, str(out), True))
    return rows


def build_rows(corpus: Path, runs: int) -> dict[str, float]:
    """compile_bundle of the five libraries as one JS bundle, without a cache."""
    from app.assets.bridge.bundle import compile_bundle
    from app.assets.declare import load_spec

    times: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "static" / "js").mkdir(parents=True)
        names = []
        for lib in JS_LIBS:
            name = Path(lib).name
            shutil.copy(corpus / lib, root / "static" / "js" / name)
            names.append(f"js/{name}")
        for engine in ("jsmin", "minify", None):
            # None: no minifier, so the floor (the syntax checks and the join) shows.
            filters = f"  filters: {engine}\n" if engine else ""
            yml = f"js_all:\n  contents: [{', '.join(names)}]\n{filters}  output: gen/app.js\n"
            (root / "assets.yml").write_text(yml)
            spec = load_spec(root / "assets.yml", root / "static")
            seconds, _ = median_time(lambda s=spec: compile_bundle(s, "js_all"), runs)
            times[engine or "none"] = seconds
    return times


def table(title: str, rows: list[dict[str, object]]) -> str:
    lines = [
        f"**{title}**",
        "",
        "| minifier | output | gzip | brotli | time | needs Node |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['minifier']} | {int(r['bytes']) / 1000:.0f} KB | {int(r['gzip']) / 1000:.1f} KB"
            f" | {int(r['brotli']) / 1000:.1f} KB | {float(r['seconds']):.3f} s"
            f" | {'yes' if r['node'] else 'no'} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-esbuild", action="store_true", help="skip the reference column")
    args = parser.parse_args()
    corpus = ensure_corpus()
    binary = None if args.no_esbuild else esbuild()
    js = join_js([(corpus / lib).read_text(encoding="utf-8") for lib in JS_LIBS])
    css = (corpus / CSS_FILE).read_text(encoding="utf-8")
    js_rows = minifier_rows("js", js, args.runs, binary)
    css_rows = minifier_rows("css", css, args.runs, binary)
    builds = build_rows(corpus, args.runs)
    print(
        table(f"JavaScript: the five libraries joined ({len(js.encode()) / 1000:.0f} KB)", js_rows)
    )
    print()
    print(table(f"CSS: bootstrap.css 5.3 ({len(css.encode()) / 1000:.0f} KB)", css_rows))
    print()
    ratio = builds["minify"] / builds["jsmin"]
    print(
        f"**JS bundle build** (compile_bundle, no cache, syntax checks included): "
        f"jsmin {builds['jsmin']:.3f} s, minify {builds['minify']:.3f} s ({ratio:.2f}x); "
        f"no minifier {builds['none']:.3f} s"
    )
    by = {str(r["minifier"]): r for r in js_rows}
    if "esbuild (reference)" in by:
        ours, ref = int(by["minify"]["gzip"]), int(by["esbuild (reference)"]["gzip"])
        print(f"JS gzip: minify {ours} B vs esbuild {ref} B: {'met' if ours <= ref else 'NOT met'}")
    step = float(by["minify"]["seconds"]) / float(by["jsmin"]["seconds"])
    print(f"JS minify step: minify/jsmin = {step:.2f}x")
    print(f"load average during the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
