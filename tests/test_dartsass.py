"""The dartsass filter: the Sass module system compiled by Dart Sass (no Node).

Module-system fixtures (``fixtures/scss_modules``) are laid over a copy of the demo
site: ``@use ... with (...)``, ``@forward``, ``sass:math``, ``sass:color``, a package on
the load path and one reached by a ``pkg:`` URL. The compiler is one long-lived
process per server process; the last tests check it is replaced when killed and never
outlives the server.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import FIXTURES, flask_env, free_port, read_manifest, run_flask, stop_process
from flask import Flask, render_template_string

from app.assets.bridge.filters import compiler
from app.assets.load_path import LoadPath

MODULES = FIXTURES / "scss_modules"


@pytest.fixture
def modules(project: Path) -> Path:
    """The demo site plus the module-system sources and their two bundles."""
    shutil.copytree(MODULES / "static", project / "static", dirs_exist_ok=True)
    config = project / "assets.yml"
    config.write_text(config.read_text() + (MODULES / "bundles.yml").read_text())
    return project


def build(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = run_flask(root, "assets", "build", *args)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result  # type: ignore[no-any-return]


def output(root: Path, bundle: str) -> str:
    entry = read_manifest(root)["bundles"][bundle]
    return (root / "static" / entry["file"]).read_text()


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)


# --- compiling the module system ------------------------------------------------------


def test_module_system_compiles_with_exact_sources(modules: Path) -> None:
    r = build(modules)
    assert r.returncode == 0, r.stderr
    css = output(modules, "modules_site")
    assert ".card{padding:9px;" in css  # with (...) reached the forwarded token; math.div
    assert "border:1px solid #0a7ea4" in css
    assert "color:rgb(8,100.8,131.2)" in css  # color.scale, -20% lightness
    assert "border-radius:4px" in css  # a mixin of a partial reached through @forward
    assert "grid-template-columns:repeat(3,minmax(0,1fr))" in css  # the load-path package
    assert "background:rgba(10,126,164,.15)" in css  # pkg:tinybadge, through package.json
    assert "@use" not in css and "@forward" not in css
    assert read_manifest(modules)["bundles"]["modules_site"]["sources"] == [
        "modules/site.scss",
        "modules/_theme.scss",
        "modules/_tokens.scss",
        "modules/_mixins.scss",  # defines only mixins: still a dependency
        "node_modules/tinygrid/_index.scss",
        "node_modules/tinybadge/scss/badge.scss",
    ]
    assert read_manifest(modules)["bundles"]["modules_plain"]["sources"] == ["modules/plain.scss"]
    assert ".plain{width:33.3333333333%}" in output(modules, "modules_plain")


@pytest.mark.parametrize("minifier", ["cssmin", "rcssmin"])
def test_minifiers_run_on_dart_sass_output(modules: Path, minifier: str) -> None:
    config = modules / "assets.yml"
    config.write_text(config.read_text().replace("dartsass,cssmin", f"dartsass,{minifier}"))
    r = build(modules, "modules_site", "css_gallery")
    assert r.returncode == 0, r.stderr
    assert "padding:calc(.5rem + 1px)" in output(modules, "css_gallery")


def test_demo_gallery_uses_the_module_system(built: Path) -> None:
    source = (built / "static/scss/gallery.scss").read_text()
    assert '@use "variables" as v;' in source
    css = output(built, "css_gallery")
    assert ".gallery-grid{display:grid;" in css and "border:2px solid #2e7d32" in css
    assert "scss/_variables.scss" in read_manifest(built)["bundles"]["css_gallery"]["sources"]


# --- errors and warnings --------------------------------------------------------------


def test_libsass_refuses_use_in_one_line(modules: Path) -> None:
    config = modules / "assets.yml"
    config.write_text(config.read_text().replace("dartsass,cssmin", "libsass,cssmin"))
    r = build(modules, "modules_site")
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert re.fullmatch(
        r"static/modules/site\.scss:2: bundle 'modules_site': @use is the Sass module "
        r"system, .*switch this bundle's filter to dartsass",
        lines[0],
    ), lines[0]


@pytest.mark.parametrize("rule", ['@use "sass:math";', '@forward "colors";'])
def test_libsass_refuses_a_module_rule_that_compiles(tmp_path: Path, rule: str) -> None:
    """libsass copies a module rule it cannot run into the CSS: the rule is refused at
    the partial's own line, though the stylesheet compiled."""
    root = tmp_path / "site"
    (root / "static" / "scss").mkdir(parents=True)
    (root / "static" / "scss" / "_colors.scss").write_text("$c: red;\n")
    (root / "static" / "scss" / "_part.scss").write_text(f".a {{ top: 0; }}\n{rule}\n")
    (root / "static" / "scss" / "main.scss").write_text('@import "part";\n.b { top: 1px; }\n')
    (root / "assets.yml").write_text(
        "css_main:\n  contents: scss/main.scss\n  filters: libsass\n  output: gen/main.css\n"
    )
    r = build(root)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("static/scss/_part.scss:2: "), r.stderr
    assert "the Sass module system" in lines[0]


def test_dart_sass_error_names_file_line_and_column(modules: Path) -> None:
    mixins = modules / "static/modules/_mixins.scss"
    append(mixins, "\n@mixin broken {\n  width: tokens.$nope;\n}\n")
    append(modules / "static/modules/site.scss", "\n.x { @include theme.broken; }\n")
    r = build(modules, "modules_site")
    assert r.returncode == 1
    assert re.fullmatch(
        r"static/modules/_mixins\.scss:9:10: bundle 'modules_site': "
        r"Sass error: Undefined variable\.\s*",
        r.stderr,
    ), r.stderr


def test_deprecation_warnings_shown_once_grouped_never_fatal(modules: Path) -> None:
    old = "$radius: 4px !default;"
    tokens = modules / "static/modules/_tokens.scss"
    tokens.write_text(tokens.read_text().replace(old, "$radius: (8px / 2) !default;"))
    r = build(modules)
    assert r.returncode == 0, r.stderr
    warnings = [w for w in r.stderr.splitlines() if w.startswith("warning:")]
    assert len(warnings) == 1, r.stderr
    assert re.match(r"warning: static/modules/_tokens\.scss:3: \[slash-div\] ", warnings[0])
    assert warnings[0].endswith("(bundle 'modules_site')")
    assert r.stdout.splitlines()[-1].split()[0] == "modules_plain"  # after the report
    assert "border-radius:4px" in output(modules, "modules_site")


def test_development_logs_warnings_of_each_rebuild(
    modules: Path, make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="app.assets")
    tokens = modules / "static/modules/_tokens.scss"
    tokens.write_text(tokens.read_text().replace("4px !default", "(8px / 2) !default"))
    app = make_app(modules, ASSETS_AUTO_BUILD=True, DEBUG=True)
    assert app.test_client().get(dev_url(app, "modules_site")).status_code == 200
    logged = [r.getMessage() for r in caplog.records if "[slash-div]" in r.getMessage()]
    assert len(logged) == 1 and "_tokens.scss:3" in logged[0], logged


def test_url_in_a_used_partial_resolves_from_the_entry_and_missing_is_an_error(
    modules: Path,
) -> None:
    img = modules / "static/modules/img"
    img.mkdir()
    (img / "dot.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    append(modules / "static/modules/_mixins.scss", "\n.logo { background: url(img/dot.svg); }\n")
    r = build(modules, "modules_site")
    assert r.returncode == 0, r.stderr
    # The digested copy of static/modules/img/dot.svg, relative to the CSS output.
    assert re.search(
        r'url\("?[\w./-]*img/dot\.[0-9a-f]{8}\.svg"?\)', output(modules, "modules_site")
    )
    append(modules / "static/modules/_mixins.scss", ".gone { background: url(img/gone.png); }\n")
    r = build(modules, "modules_site")
    assert r.returncode == 1
    assert re.fullmatch(
        r"static/modules/_mixins\.scss:9: bundle 'modules_site': url\(img/gone\.png\) "
        r"names a file that does not exist in static/\s*",
        r.stderr,
    ), r.stderr


# --- dependencies: development and check ----------------------------------------------


def dev_url(app: Flask, bundle: str) -> str:
    with app.test_request_context("/"):
        return render_template_string(f'{{{{ bundle_url("{bundle}") }}}}')


def test_dev_rebuilds_exactly_the_bundles_that_read_a_forwarded_partial(
    modules: Path, make_app: Callable[..., Flask]
) -> None:
    app = make_app(modules, ASSETS_AUTO_BUILD=True, DEBUG=True)
    client = app.test_client()
    site, plain = dev_url(app, "modules_site"), dev_url(app, "modules_plain")
    css = client.get(site).get_data(as_text=True)
    assert "padding: 9px;" in css  # expanded, with a source map naming served files
    m = re.search(r"sourceMappingURL=data:application/json;charset=utf-8;base64,(\S+) \*/", css)
    assert m, css[-300:]
    sources = json.loads(base64.b64decode(m.group(1)))["sources"]
    assert {"/static/modules/site.scss", "/static/modules/_tokens.scss"} <= set(sources)
    assert all(client.get(url).status_code == 200 for url in sources)
    tokens = modules / "static/modules/_tokens.scss"
    tokens.write_text(tokens.read_text().replace("$radius: 4px", "$radius: 7px"))
    new_site = dev_url(app, "modules_site")
    assert new_site != site and dev_url(app, "modules_plain") == plain
    assert "border-radius: 7px;" in client.get(new_site).get_data(as_text=True)
    # A file created where an import looked first changes what it resolves to.
    (modules / "static/tinygrid.scss").write_text("@mixin columns($n) { columns: $n; }\n")
    newest = dev_url(app, "modules_site")
    assert newest != new_site
    assert "columns: 3;" in client.get(newest).get_data(as_text=True)


def test_dev_error_overlay_names_the_partial(project: Path, make_app: Callable[..., Flask]) -> None:
    client = make_app(project, ASSETS_AUTO_BUILD=True, DEBUG=True).test_client()
    gallery = project / "static/scss/gallery.scss"
    good = gallery.read_text()
    gallery.write_text(good.replace("gap: v.$gap;", "gap: v.$no-such-token;"))
    html = client.get("/gallery").get_data(as_text=True)
    assert 'id="assets-error-overlay"' in html
    assert "static/scss/gallery.scss:10:8" in html and "Undefined variable" in html
    gallery.write_text(good)
    assert 'id="assets-error-overlay"' not in client.get("/gallery").get_data(as_text=True)


def test_check_names_only_bundles_reading_the_edited_partial(modules: Path) -> None:
    assert build(modules).returncode == 0
    assert run_flask(modules, "assets", "check").returncode == 0
    append(modules / "static/modules/_mixins.scss", "\n.extra { margin: 1px; }\n")
    r = run_flask(modules, "assets", "check")
    assert r.returncode == 1
    out = r.stdout + r.stderr
    assert "modules_site" in out and "modules_plain" not in out and "css_gallery" not in out


# --- the compiler process -------------------------------------------------------------


def test_killed_compiler_process_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "a.scss").write_text('@use "sass:math";\n.a { width: math.div(4px, 2); }\n')
    dart = compiler("dartsass")
    load_path = LoadPath.single(tmp_path)
    assert "width:2px" in dart.compile(tmp_path / "a.scss", load_path, dev=False).text
    pid = dart.process.pid  # type: ignore[attr-defined]
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    assert "width:2px" in dart.compile(tmp_path / "a.scss", load_path, dev=False).text
    assert dart.process.pid not in (None, pid)  # type: ignore[attr-defined]


def compiler_pids(marker: str) -> list[int]:
    """Dart Sass processes started by a server carrying ``marker`` in its environment."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if b"sass.snapshot" in cmdline and marker.encode() in environ:
            pids.append(int(entry))
    return pids


def wait_for(condition: Callable[[], bool], seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("stop", ["terminate", "kill"])
def test_no_compiler_process_outlives_the_server(project: Path, stop: str) -> None:
    import http.client

    marker = f"ASSETS_TEST_{uuid.uuid4().hex}"
    port = free_port()
    env = flask_env(project, FLASK_ASSETS_AUTO_BUILD="true", **{marker: "1"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "run", "--port", str(port)],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def gallery_served() -> bool:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/gallery")
                return conn.getresponse().status == 200
            except OSError:
                return False

        assert wait_for(gallery_served, 30), "the server did not serve /gallery"
        assert wait_for(lambda: len(compiler_pids(marker)) == 1), compiler_pids(marker)
        assert gallery_served() and len(compiler_pids(marker)) == 1  # warm: the same one
    finally:
        if stop == "kill":
            proc.kill()
            proc.wait(timeout=10)
        stop_process(proc)
    assert wait_for(lambda: not compiler_pids(marker)), "Dart Sass outlived the server"
