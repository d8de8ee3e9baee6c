"""Benchmark dartsass against libsass on Bootstrap 5.3 and Bulma 1.0 (npm corpus).

For each corpus, side by side in one run:

(a) cold build: ``flask --app app assets build --no-cache <bundle>`` in a fresh process
    (Python, Flask and the compiler start included), with ``dartsass`` and ``libsass``,
    no minifier;
(b) development save -> fresh CSS: save one partial of the site, then ask a warm dev
    app (auto-build) for the bundle's URL and fetch the CSS until it holds the edit;
    dartsass (the warm compiler process) / libsass.                    goal: <= 0.7x
(c) the compiler alone on the entry point: the Dart Sass CLI (a fresh VM per compile,
    what a per-compile fallback would cost), the warm embedded process, libsass;
(d) the persistent Dart Sass process's resident memory after the runs.

Bulma 1.0 is written with ``@use``: libsass refuses it (it cannot compile it), so its
libsass columns say so. Medians of ``--runs`` samples, interleaved so drift hits both.
Usage: ``python bench/sass_compare.py [--runs 7]``; works on temporary copies of the
project. (Not ``bench/sass.py``: scripts here put ``bench/`` first on ``sys.path``, where
that name would shadow libsass's own module, ``sass``.)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from corpus import ensure_corpus  # noqa: E402
from flask import Flask, render_template_string  # noqa: E402

from app import create_app  # noqa: E402
from app.assets.bridge.filters import compiler  # noqa: E402

# name -> (package folders to vendor under static/node_modules, entry point source)
CORPORA = {
    "bootstrap 5.3": (
        ("bootstrap",),
        '@import "../node_modules/bootstrap/scss/bootstrap";\n@import "site";\n',
    ),
    "bulma 1.0": (("bulma",), '@use "bulma/sass" as bulma;\n@use "site";\n'),
}
PARTIAL = "scss/_site.scss"
RULE = ".bench-marker {{ margin: {n}px; }}\n"


def make_project(
    dest: Path, node_modules: Path, packages: tuple[str, ...], entry: str, f: str
) -> Path:
    shutil.copytree(REPO / "static", dest / "static", ignore=shutil.ignore_patterns("gen"))
    shutil.copytree(REPO / "templates", dest / "templates")
    for pkg in packages:  # vendored under static/: every file a build reads is published
        shutil.copytree(node_modules / pkg, dest / "static" / "node_modules" / pkg)
    (dest / "static" / "scss" / "bench.scss").write_text(entry)
    (dest / "static" / PARTIAL).write_text(RULE.format(n=0))
    yml = (REPO / "assets.yml").read_text()
    # No minifier: the numbers compare the compilers (cssmin costs both sides the same).
    yml += f"\nbench_css:\n  contents: [scss/bench.scss]\n  filters: {f}\n"
    (dest / "assets.yml").write_text(yml + "  output: gen/bench.css\n")
    return dest


def cold_build(root: Path) -> float | None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env["FLASK_PROJECT_ROOT"] = str(root)
    argv = [sys.executable, "-m", "flask", "--app", "app", "assets", "build", "--no-cache"]
    t0 = time.perf_counter()
    r = subprocess.run([*argv, "bench_css"], cwd=root, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    return seconds if r.returncode == 0 else None


class DevSave:
    """A warm development app; ``sample()`` times one save until the CSS shows it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.app: Flask = create_app(
            {"PROJECT_ROOT": str(root), "ASSETS_AUTO_BUILD": True, "DEBUG": True}
        )
        self.client = self.app.test_client()
        self.n = 0
        self.fresh()  # the first build, and the compiler process, happen here

    def fresh(self) -> bytes:
        with self.app.test_request_context("/"):
            url = render_template_string('{{ bundle_url("bench_css") }}')
        resp = self.client.get(url)
        assert resp.status_code == 200, resp.status_code
        return resp.get_data()

    def sample(self) -> float:
        self.n += 1
        needle = f"margin: {self.n}px".encode()
        t0 = time.perf_counter()
        (self.root / "static" / PARTIAL).write_text(RULE.format(n=self.n))
        while needle not in self.fresh():
            pass
        return time.perf_counter() - t0


def compile_only(root: Path, runs: int, libsass: bool) -> tuple[float, float, float | None]:
    """Medians: Dart Sass CLI, warm embedded process, libsass (None: it cannot; given
    ``@use``, ``sass.compile`` itself "succeeds" by copying it into the CSS)."""
    import sass

    from app.assets.compilers.dartsass import load_folders
    from app.assets.compilers.sass_process import executable
    from app.assets.load_path import LoadPath

    static = root / "static"
    entry = static / "scss" / "bench.scss"
    dart, lp = compiler("dartsass"), LoadPath.single(static)
    folders = load_folders(lp)  # the static root and its node_modules, as the filter has
    argv = [*executable(), "--no-source-map", "--quiet"]
    argv += [f"--load-path={f}" for f in folders] + [str(entry)]
    dart.compile(entry, lp, dev=False)  # warm
    cli, warm, lib = [], [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        cli.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        dart.compile(entry, lp, dev=False)
        warm.append(time.perf_counter() - t0)
        if libsass:
            t0 = time.perf_counter()
            sass.compile(filename=str(entry), include_paths=folders)
            lib.append(time.perf_counter() - t0)
    med = statistics.median
    return med(cli), med(warm), med(lib) if lib else None


def rss_mib(pid: int | None) -> float | None:
    if pid is None:
        return None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def fmt(x: float | None, unit: str = "s") -> str:
    return "fails" if x is None else f"{x:.3f} {unit}" if unit == "s" else f"{x:.0f} {unit}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    node_modules = ensure_corpus()
    rows = []
    only: list[tuple[str, float, float, float | None]] = []
    with tempfile.TemporaryDirectory(prefix="bench-sass-") as tmp:
        for corpus, (packages, entry) in CORPORA.items():
            roots = {
                f: make_project(
                    Path(tmp) / corpus.replace(" ", "-") / f, node_modules, packages, entry, f
                )
                for f in ("dartsass", "libsass")
            }
            cold: dict[str, list[float | None]] = {f: [] for f in roots}
            for _ in range(args.runs):
                for f, root in roots.items():
                    cold[f].append(cold_build(root))
            saves: dict[str, list[float]] = {f: [] for f in roots}
            loops: dict[str, DevSave] = {}
            for f, root in roots.items():
                with contextlib.suppress(Exception):  # libsass on @use: refused, by design
                    loops[f] = DevSave(root)
            for _ in range(args.runs):
                for f, loop in loops.items():
                    saves[f].append(loop.sample())

            def med(xs: list[float | None]) -> float | None:
                return None if not xs or None in xs else statistics.median(x for x in xs if x)

            d_save, l_save = med(list(saves["dartsass"])), med(list(saves["libsass"]))
            ratio = f"{d_save / l_save:.2f}x" if d_save and l_save else "n/a"
            rows.append(
                (corpus, med(cold["dartsass"]), med(cold["libsass"]), d_save, l_save, ratio)
            )
            only.append((corpus, *compile_only(roots["dartsass"], args.runs, "libsass" in loops)))
    pid = compiler("dartsass").process.pid  # type: ignore[attr-defined]
    mem = rss_mib(pid)
    print(
        f"{'corpus':<14} {'cold dartsass':>14} {'cold libsass':>13} "
        f"{'save dartsass':>14} {'save libsass':>13} {'ratio':>6}"
    )
    for corpus, cd, cl, sd, sl, ratio in rows:
        print(f"{corpus:<14} {fmt(cd):>14} {fmt(cl):>13} {fmt(sd):>14} {fmt(sl):>13} {ratio:>6}")
    print(f"\n{'compile only':<14} {'Dart Sass CLI':>14} {'warm process':>13} {'libsass':>9}")
    for corpus, cli, warm, lib in only:
        print(f"{corpus:<14} {fmt(cli):>14} {fmt(warm):>13} {fmt(lib):>9}")
    print(f"Dart Sass compiler process (pid {pid}): resident memory {fmt(mem, 'MiB')}")
    compiler("dartsass").close()


if __name__ == "__main__":
    main()
