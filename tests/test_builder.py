"""`flask --app app assets build` in a real subprocess: outputs, manifest, atomicity."""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import build_project, flask_env, read_manifest, run_flask, snapshot, sri

BUNDLES = {"css_all", "js_lib", "js_all", "css_gallery", "js_gallery"}
# "assets": the url() files the output names (added to the contract's entry format).
ENTRY_KEYS = {"file", "url", "type", "integrity", "bytes", "sources", "assets"}
# name, output, raw bytes, gzip bytes, time (the numbers may carry thousands separators).
REPORT_LINE = re.compile(
    r"(?P<name>\S+)\s+(?P<out>\S+)\s+(?P<raw>[\d,]+)\s*B\s+gzip\s+(?P<gz>[\d,]+)\s*B"
    r"\s+(?P<secs>\d+(?:\.\d+)?)\s*s"
)


def declared_outputs(root: Path) -> dict[str, str]:
    """bundle -> declared output ("gen/app.css"), read from assets.yml itself."""
    import yaml

    doc = yaml.safe_load((root / "assets.yml").read_text(encoding="utf-8"))
    return {name: b["output"] for name, b in doc.items() if "output" in b}


def report_lines(stdout: str) -> dict[str, re.Match[str]]:
    lines = [line for line in stdout.splitlines() if line.strip()]
    out = {}
    for line in lines:
        m = REPORT_LINE.search(line)
        assert m, f"unexpected build output line: {line!r}"
        out[m["name"]] = m
    assert len(out) == len(lines), "one line per bundle"
    return out


def number(text: str) -> int:
    return int(text.replace(",", ""))


def test_build_writes_hashed_files_report_and_manifest(project: Path) -> None:
    result = run_flask(project, "assets", "build")
    assert result.returncode == 0, result.stderr
    static = project / "static"
    manifest = read_manifest(project)
    outputs = declared_outputs(project)

    # Exactly the contract's format (plus the digested static files).
    assert set(manifest) == {"version", "bundles", "files"}
    assert manifest["version"] == 1
    assert set(manifest["bundles"]) == BUNDLES == set(outputs)

    lines = report_lines(result.stdout)
    assert set(lines) == BUNDLES
    for name, entry in manifest["bundles"].items():
        assert set(entry) == ENTRY_KEYS, name
        stem, ext = outputs[name].rsplit(".", 1)
        assert re.fullmatch(rf"{re.escape(stem)}\.[0-9a-f]{{8}}\.{ext}", entry["file"]), entry
        assert entry["url"] == "/static/" + entry["file"]
        assert entry["type"] == ext
        data = (static / entry["file"]).read_bytes()
        assert entry["integrity"] == sri(data)
        assert entry["bytes"] == len(data)
        assert entry["sources"], name
        assert len(set(entry["sources"])) == len(entry["sources"]), "no duplicates"
        for src in entry["sources"]:
            assert (static / src).is_file(), f"{name}: source {src} does not exist"
        # Every url() file the output names, beside it, and nothing else.
        folder = entry["file"].rpartition("/")[0]
        named = re.findall(r'url\("?([^")]+)"?\)', data.decode()) if ext == "css" else []
        assert entry["assets"] == sorted(f"{folder}/{n}" for n in set(named)), name
        for rel in entry["assets"]:
            assert (static / rel).is_file(), rel

        # .gz sibling decompresses to the output; the report's gzip size is its size.
        gz = static / (entry["file"] + ".gz")
        assert gzip.decompress(gz.read_bytes()) == data
        m = lines[name]
        assert m["out"].endswith(entry["file"])
        assert number(m["raw"]) == len(data)
        assert number(m["gz"]) == gz.stat().st_size
        assert float(m["secs"]) >= 0

    css_sources = manifest["bundles"]["css_all"]["sources"]
    assert "scss/main.scss" in css_sources
    assert "scss/_components.scss" in css_sources
    assert "scss/_buttons.scss" in css_sources  # reached only through _components.scss
    assert "scss/_variables.scss" in css_sources
    assert "scss/_mixins.scss" in css_sources  # defines only mixins: still a dependency
    assert set(manifest["bundles"]["css_gallery"]["sources"]) >= {
        "scss/gallery.scss",
        "scss/_variables.scss",
    }
    js_all = manifest["bundles"]["js_all"]["sources"]
    assert set(manifest["bundles"]["js_lib"]["sources"]) <= set(js_all)
    assert {"js/util.js", "js/format.js", "js/main.js"} <= set(js_all)
    assert "js/gallery.js" not in js_all


def test_build_is_deterministic(project: Path) -> None:
    assert run_flask(project, "assets", "build").returncode == 0
    first = snapshot(project / "static" / "gen")
    assert run_flask(project, "assets", "build").returncode == 0
    assert snapshot(project / "static" / "gen") == first


def test_build_one_bundle_keeps_the_other_entries(built: Path) -> None:
    before = read_manifest(built)
    static = built / "static"
    # Change js_gallery's source AND a js_all source: only js_gallery may be rebuilt.
    with (static / "js" / "gallery.js").open("a") as fh:
        fh.write("\nwindow.galleryEdited = 42;\n")
    with (static / "js" / "util.js").open("a") as fh:
        fh.write("\nShop.edited = true;\n")

    result = run_flask(built, "assets", "build", "js_gallery")
    assert result.returncode == 0, result.stderr
    assert set(report_lines(result.stdout)) == {"js_gallery"}

    after = read_manifest(built)
    assert set(after["bundles"]) == BUNDLES
    for name in BUNDLES - {"js_gallery"}:
        assert after["bundles"][name] == before["bundles"][name], name
    new = after["bundles"]["js_gallery"]
    assert new["file"] != before["bundles"]["js_gallery"]["file"]
    data = (static / new["file"]).read_bytes()
    assert b"galleryEdited" in data
    assert new["integrity"] == sri(data)


def test_build_unknown_bundle_fails_clearly(built: Path) -> None:
    before = snapshot(built / "static" / "gen")
    result = run_flask(built, "assets", "build", "nope")
    assert result.returncode == 1
    assert "nope" in result.stderr
    assert "unknown" in result.stderr.lower() or "not declared" in result.stderr.lower()
    assert "Traceback" not in result.stderr + result.stdout
    assert snapshot(built / "static" / "gen") == before


def test_build_with_version_placeholder_output(project: Path) -> None:
    path = project / "assets.yml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("gen/gallery.js", "gen/gallery.%(version)s.js")
    )
    result = run_flask(project, "assets", "build")
    assert result.returncode == 0, result.stderr
    entry = read_manifest(project)["bundles"]["js_gallery"]
    assert "%" not in entry["file"]
    assert re.fullmatch(r"gen/gallery(\.[0-9a-f]+)+\.js", entry["file"]), entry["file"]
    assert entry["integrity"] == sri((project / "static" / entry["file"]).read_bytes())


def test_invalid_assets_yml_fails_before_building(project: Path) -> None:
    path = project / "assets.yml"
    text = path.read_text(encoding="utf-8").replace("filters: jsmin", "filters: jsmin,uglify", 1)
    path.write_text(text)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "uglify" in t)
    result = run_flask(project, "assets", "build")
    assert result.returncode == 1
    err = result.stderr.strip().splitlines()
    assert len(err) == 1, result.stderr
    assert f"assets.yml:{line}: bundle 'js_lib':" in err[0]
    assert "uglify" in err[0]
    assert not (project / "static" / "gen" / "manifest.json").exists()


# --- atomicity ------------------------------------------------------------------------------


def test_scss_error_in_partial_keeps_previous_build(built: Path) -> None:
    gen = built / "static" / "gen"
    before = snapshot(gen)
    partial = built / "static" / "scss" / "_buttons.scss"
    text = partial.read_text(encoding="utf-8")
    text += "\n.broken {\n  color: red;\n}}\n"
    partial.write_text(text)
    bad_line = len(text.splitlines())  # the stray "}"

    result = run_flask(built, "assets", "build")
    assert result.returncode == 1
    err = result.stderr.strip().splitlines()
    assert len(err) == 1, result.stderr
    assert f"scss/_buttons.scss:{bad_line}" in err[0]
    assert "css_all" in err[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert snapshot(gen) == before


def _big_js(root: Path, salt: int) -> None:
    """A source large enough that building it takes a second or so.

    ``salt`` makes each version's bytes unique, so no build cache can skip the work.
    """
    body = "".join(
        f"function big_{i}(a, b) {{\n  // comment {i}\n  var s = 'item {i}: ' + a;\n"
        f"  return s + b + {i} + {salt};\n}}\n"
        for i in range(6000)
    )
    (root / "static" / "js" / "big.js").write_text(body)


def _add_big_bundle(root: Path) -> None:
    _big_js(root, 0)
    with (root / "assets.yml").open("a") as fh:
        fh.write("\njs_big:\n  contents: [js/big.js]\n  filters: jsmin\n  output: gen/big.js\n")


def _assert_manifest_consistent(root: Path) -> dict[str, Any]:
    raw = (root / "static" / "gen" / "manifest.json").read_bytes()
    manifest = json.loads(raw)  # parseable: never half-written
    assert manifest["version"] == 1
    for name, entry in manifest["bundles"].items():
        path = root / "static" / entry["file"]
        assert path.is_file(), f"{name}: {entry['file']} missing"
        data = path.read_bytes()
        assert sri(data) == entry["integrity"], name
        assert len(data) == entry["bytes"], name
    return manifest


def test_killed_build_leaves_previous_build_serving(built: Path) -> None:
    gen = built / "static" / "gen"
    old_manifest = (gen / "manifest.json").read_bytes()
    old_files = {
        e["file"]: (built / "static" / e["file"]).read_bytes()
        for e in json.loads(old_manifest)["bundles"].values()
    }
    # The next build changes css_all and adds a slow bundle.
    with (built / "static" / "scss" / "_buttons.scss").open("a") as fh:
        fh.write("\n.after-kill { margin: 3px; }\n")
    _add_big_bundle(built)

    attempts = iter(range(1, 100))

    def start() -> subprocess.Popen[bytes]:
        _big_js(built, next(attempts))
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "assets", "build"],
            cwd=built,
            env=flask_env(built),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(proc: subprocess.Popen[bytes]) -> bool:
        """SIGKILL; True when the build was still running (really interrupted)."""
        alive = proc.poll() is None
        if alive:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        return alive and proc.returncode == -signal.SIGKILL

    def check_after_kill() -> None:
        _assert_manifest_consistent(built)
        assert (gen / "manifest.json").read_bytes() == old_manifest
        for rel, data in old_files.items():
            assert (built / "static" / rel).read_bytes() == data

    interrupted = 0
    # Kills while compiling, at a few delays after start-up.
    for delay in (0.3, 0.6, 0.9):
        proc = start()
        time.sleep(delay)
        if kill(proc):
            interrupted += 1
            check_after_kill()
        else:  # finished first: the new build must then be complete and consistent
            _assert_manifest_consistent(built)
            old_manifest = (gen / "manifest.json").read_bytes()

    # A kill while writing: as soon as the big output file appears, before its
    # compressed siblings and the manifest are written. The write phase takes a few
    # milliseconds (compression happens before it), so the kill can land after the
    # manifest: then that build is simply complete, and we try again.
    for _ in range(5):
        earlier = set(gen.glob("big.*.js"))
        proc = start()
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if set(gen.glob("big.*.js")) - earlier:
                break
            time.sleep(0.0005)
        if kill(proc) and (gen / "manifest.json").read_bytes() == old_manifest:
            interrupted += 1
            check_after_kill()
            break
        _assert_manifest_consistent(built)  # finished before the kill: complete
        old_manifest = (gen / "manifest.json").read_bytes()
        old_files = {
            e["file"]: (built / "static" / e["file"]).read_bytes()
            for e in json.loads(old_manifest)["bundles"].values()
        }
    assert interrupted >= 2, "the build finished too fast to be interrupted"

    # The lock dies with the process and leftovers do not disturb the next build.
    result = run_flask(built, "assets", "build")
    assert result.returncode == 0, result.stderr
    manifest = _assert_manifest_consistent(built)
    assert "js_big" in manifest["bundles"]
    css = (built / "static" / manifest["bundles"]["css_all"]["file"]).read_bytes()
    assert b"after-kill" in css


# --- minified output keeps its meaning at the site level ------------------------------------

NODE_RUNNER = r"""
const fs = require("fs");
const vm = require("vm");
const elements = {};
const document = {
  documentElement: { dataset: {} },
  body: { dataset: {} },
  addEventListener: (event, callback) => callback(),
  getElementById: (id) => (elements[id] = elements[id] || { id, textContent: "" }),
  querySelectorAll: () => [{}, {}, {}],
};
const sandbox = { document };
sandbox.window = sandbox;
vm.createContext(sandbox);
for (const file of process.argv.slice(2)) {
  vm.runInContext(fs.readFileSync(file, "utf8"), sandbox, { filename: file });
}
process.stdout.write(JSON.stringify({
  receipt: sandbox.Shop.formatReceipt(["a", "b", "c"]),
  page: elements["receipt"] && elements["receipt"].textContent,
  status: elements["js-status"] && elements["js-status"].textContent,
  gallery: elements["gallery-count"] && elements["gallery-count"].textContent,
  js: document.documentElement.dataset.js,
}));
"""


def run_node(tmp_path: Path, *files: Path) -> dict[str, Any]:
    script = tmp_path / "run.js"
    script.write_text(NODE_RUNNER)
    done = subprocess.run(
        ["node", str(script), *map(str, files)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_minified_bundles_keep_their_meaning(built: Path, tmp_path: Path) -> None:
    static = built / "static"
    bundles = read_manifest(built)["bundles"]
    js_all = static / bundles["js_all"]["file"]
    css_all = (static / bundles["css_all"]["file"]).read_text(encoding="utf-8")

    template = re.search(r"`[^`]*`", (static / "js" / "format.js").read_text()).group(0)
    assert "   " in template
    assert template in js_all.read_text(encoding="utf-8")
    assert "calc(1rem + 2px)" in css_all
    assert '"brewed  slowly"' in css_all

    minified = run_node(tmp_path, js_all, static / bundles["js_gallery"]["file"])
    assert minified["receipt"] == "Total:   3   items\nSlugs:   a,b,c"
    assert minified["page"] == "Total:   3   items\nSlugs:   green-tea,earl-grey,oolong"
    assert minified["status"] == "JS ready"
    assert minified["js"] == "ready"
    assert minified["gallery"] == "3 teas"
    # Same results as the unminified sources, in the declared order.
    sources = [static / s for s in bundles["js_all"]["sources"]]
    sources += [static / s for s in bundles["js_gallery"]["sources"]]
    assert run_node(tmp_path, *sources) == minified


def test_build_via_fixture_matches_cli(project: Path, tmp_path: Path) -> None:
    """The in-process builder (used by fixtures) and the CLI produce the same build."""
    build_project(project)
    in_process = read_manifest(project)
    (project / "static" / "gen" / "manifest.json").unlink()
    assert run_flask(project, "assets", "build").returncode == 0
    assert read_manifest(project)["bundles"] == in_process["bundles"]


def test_empty_declarations_do_not_wipe_the_build(built: Path) -> None:
    gen = built / "static" / "gen"
    before = snapshot(gen)
    (built / "assets.yml").write_text("{}\n")
    result = run_flask(built, "assets", "build")
    assert result.returncode == 1
    assert "assets.yml" in result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(gen) == before


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_failed_build_removes_the_outputs_its_workers_wrote(built: Path, jobs: str) -> None:
    """Workers write each output as soon as it compiles. js_all (declared before the
    broken js_gallery) compiles to a new file first; the failed build must remove it."""
    gen = built / "static" / "gen"
    before = snapshot(gen)
    main = built / "static" / "js" / "main.js"
    main.write_text(main.read_text() + "\nShop.written = 1;\n")
    gallery = built / "static" / "js" / "gallery.js"
    gallery.write_text(gallery.read_text() + "\nfunction (\n")

    result = run_flask(built, "assets", "build", "-j", jobs)
    assert result.returncode == 1 and "js/gallery.js" in result.stderr, result.stderr
    assert snapshot(gen) == before
