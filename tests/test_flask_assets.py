"""Flask-Assets projects move here unchanged: their YAML, templates and Python bundles.

Each shape below is modelled on a real webassets/Flask-Assets project's files (outputs in
``js/``, ``css/compiled/``, the static root; webassets' filter names; the environment
format; containers; ``extra``; blueprints; inline template bundles). Every one is built,
rendered through ``{% assets %}`` in development, with ``ASSETS_DEBUG`` and in
production (every URL answers 200), and ``check`` passes right after ``build``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Blueprint, Flask, render_template

from app import create_app
from app.assets.cli import assets

JS = "var {n} = (function () {{ return {{ name: '{n}' }}; }})();\n"
CSS = ".{n} {{ color: #123456; margin: 0 auto; }}\n"
SCSS = "$c: #abcdef;\n.{n} {{ .inner {{ color: $c; }} }}\n"
SASS = "$c: #abcdef\n.{n}\n  color: $c\n"


def src(path: str) -> str:
    n = re.sub(r"\W", "_", Path(path).stem).strip("_") or "x"
    suffix = Path(path).suffix
    return {".js": JS, ".css": CSS, ".scss": SCSS, ".sass": SASS}[suffix].format(n=n)


@dataclass
class Shape:
    name: str
    yaml: str
    files: list[str]  # every source the YAML names (paths relative to the project root)
    uses: list[str]  # what the template passes to {% assets %}, one tag each
    template: str = ""  # extra template text (other tag forms)
    setup: Callable[[Flask, Path], None] | None = None
    notes: list[str] = field(default_factory=list)  # expected `note:` lines of build


def _admin_blueprint(app: Flask, root: Path) -> None:
    bp = Blueprint(
        "admin", __name__, static_folder=str(root / "admin_static"), static_url_path="/admin-static"
    )
    app.register_blueprint(bp)


SHAPES = [
    Shape(
        "outputs_in_js_and_css_folders",
        "css_all:\n  contents: [css/reset.css, css/main.css]\n  filters: cssmin\n"
        "  output: css/packed.css\n"
        "js_all:\n  contents: [js/jquery.js, js/app.js]\n  filters: jsmin\n"
        "  output: js/packed.js\n",
        ["static/css/reset.css", "static/css/main.css", "static/js/jquery.js", "static/js/app.js"],
        ["css_all", "js_all"],
    ),
    Shape(
        "scss_with_version_placeholder",
        "style:\n  filters: scss,cssmin\n  output: gen/css/style.%(version)s.css\n"
        "  contents:\n    - scss/style.scss\n",
        ["static/scss/style.scss"],
        ["style"],
        notes=["filter 'scss' runs as libsass"],
    ),
    Shape(
        "pyscss_yui_uglify_compiled_folders",
        "css:\n  contents: [sass/app.scss]\n  filters: pyscss,yui_css\n"
        "  output: css/compiled/app.css\n"
        "js:\n  contents: [js/lib/a.js, js/lib/b.js]\n  filters: uglifyjs\n"
        "  output: js/compiled/app.js\n",
        ["static/sass/app.scss", "static/js/lib/a.js", "static/js/lib/b.js"],
        ["css", "js"],
        notes=["filter 'uglifyjs' runs as jsmin: no Node needed", "filter 'yui_css' runs as"],
    ),
    Shape(
        "environment_format",
        "directory: ./static\nurl: /static\ndebug: false\nversions: hash\n"
        "url_expire: false\nmanifest: file\ncache: .webassets-cache\nauto_build: true\n"
        "bundles:\n"
        "  main_css:\n    contents: [css/main.css]\n    filters: cssmin\n"
        "    output: cache/main.css\n"
        "  main_js:\n    contents: [js/main.js]\n    filters: rjsmin\n"
        "    output: cache/main.js\n",
        ["static/css/main.css", "static/js/main.js"],
        ["main_css", "main_js"],
        notes=["setting 'url' is ignored", "setting 'versions' is ignored"],
    ),
    Shape(
        "environment_private_sources",
        "directory: assets\nload_path:\n  - assets\nconfig:\n  UGLIFYJS_BIN: node_modules/x\n"
        "updater: timestamp\nexpire: false\n"
        "bundles:\n"
        "  app_js:\n    contents: [js/one.js, js/two.js]\n    filters: slimit\n"
        "    output: dist/app.js\n"
        "  app_css:\n    contents: [scss/app.scss]\n    filters: node-scss,cleancss\n"
        "    output: dist/app.css\n",
        ["assets/js/one.js", "assets/js/two.js", "assets/scss/app.scss"],
        ["app_js", "app_css"],
        notes=["setting 'config' is ignored", "outputs are built under static/gen/"],
    ),
    Shape(
        "bundle_keys_webassets_accepts",
        "print_css:\n  contents: [css/print.css]\n  filters: rcssmin\n  output: css/print.css\n"
        "  extra:\n    media: print\n  debug: false\n  merge: true\n"
        "  remove_duplicates: true\n  version: '1'\n  config:\n    cssmin_keep: true\n",
        ["static/css/print.css"],
        ["print_css"],
        template='{% assets "print_css" %}<i data-media="{{ EXTRA.media }}"></i>{% endassets %}',
    ),
    Shape(
        "container_of_css_and_js",
        "css_all:\n  contents: [css/a.css]\n  filters: cssmin\n  output: gen/all.css\n"
        "js_all:\n  contents: [js/a.js]\n  filters: jsmin\n  output: gen/all.js\n"
        "everything:\n  contents: [css_all, js_all]\n",
        ["static/css/a.css", "static/js/a.js"],
        ["everything"],
    ),
    Shape(
        "container_of_plain_files",
        "vendor:\n  contents:\n    - vendor/jquery.min.js\n    - vendor/bootstrap.min.js\n"
        "vendor_css:\n  contents: [vendor/bootstrap.min.css]\n",
        [
            "static/vendor/jquery.min.js",
            "static/vendor/bootstrap.min.js",
            "static/vendor/bootstrap.min.css",
        ],
        ["vendor", "vendor_css"],
    ),
    Shape(
        "empty_bundle_and_empty_filters",
        "auth_css:\nadmin_js:\n  contents: []\n"
        "site_js:\n  contents: [js/site.js]\n  filters:\n  output: js/site.min.js\n",
        ["static/js/site.js"],
        ["auth_css", "admin_js", "site_js"],
    ),
    Shape(
        "cssrewrite_with_images",
        "css:\n  contents: [css/app.css]\n  filters: cssrewrite,cssutils\n"
        "  output: css/packed.css\n",
        ["static/css/app.css"],
        ["css"],
        notes=["filter 'cssrewrite' has nothing to do here"],
    ),
    Shape(
        "inline_bundles_with_their_own_outputs",
        "js:\n  contents:\n    - output: js/libs.js\n      contents: [js/l1.js, js/l2.js]\n"
        "      filters: jsmin\n    - output: js/app.js\n      contents: [js/main.js]\n"
        "      filters: closure_js\n",
        ["static/js/l1.js", "static/js/l2.js", "static/js/main.js"],
        ["js"],
    ),
    Shape(
        "shorthand_lists_and_strings",
        "base_js: [js/a.js, js/b.js]\nbase_css: css/base.css\n"
        "all_js:\n  contents: [base_js, js/c.js]\n  filters: jspacker\n  output: all.js\n",
        ["static/js/a.js", "static/js/b.js", "static/js/c.js", "static/css/base.css"],
        ["base_js", "base_css", "all_js"],
    ),
    Shape(
        "blueprint_static_folder",
        "admin_js:\n  contents: [admin/js/admin.js, js/common.js]\n  filters: yui_js\n"
        "  output: admin/packed.js\n",
        ["admin_static/js/admin.js", "static/js/common.js"],
        ["admin_js"],
        setup=_admin_blueprint,
    ),
    Shape(
        "globs_and_depends",
        "js_all:\n  contents: ['js/*.js']\n  filters: jsmin\n  output: js/gen/all.js\n"
        "css_all:\n  contents: [scss/main.scss]\n  depends: ['scss/_*.scss']\n"
        "  filters: libsass,cssmin\n  output: css/gen/all.css\n",
        ["static/js/a.js", "static/js/b.js", "static/scss/main.scss", "static/scss/_vars.scss"],
        ["js_all", "css_all"],
    ),
    Shape(
        "sass_indented_syntax",
        "css:\n  contents: [sass/site.sass]\n  filters: sass\n  output: css/site.css\n",
        ["static/sass/site.sass"],
        ["css"],
        notes=["filter 'sass' runs as libsass"],
    ),
    Shape(
        "template_file_paths_and_several_names",
        "css_all:\n  contents: [css/a.css]\n  output: css/a.min.css\n"
        "js_all:\n  contents: [js/a.js]\n  output: js/a.min.js\n",
        ["static/css/a.css", "static/js/a.js", "static/js/jquery.min.js"],
        ["js/jquery.min.js"],
        template='{% assets "css_all", "js_all" %}<i href="{{ ASSET_URL }}"></i>{% endassets %}',
    ),
    Shape(
        "template_inline_bundle",
        "js_lib:\n  contents: [js/lib.js]\n",
        ["static/js/lib.js", "static/js/a.js", "static/js/b.js"],
        [],
        template=(
            '{% assets filters="jsmin", output="gen/inline.js", "js/a.js", "js/b.js" %}'
            '<i href="{{ ASSET_URL }}"></i>{% endassets %}'
            '{% assets filters="rjsmin", output="js/inline2.js", "js_lib" %}'
            '<i href="{{ ASSET_URL }}"></i>{% endassets %}'
        ),
    ),
    Shape(
        "output_at_the_static_root",
        "app:\n  contents: [app.js, lib/x.js]\n  filters: jsmin\n  output: packed.js\n",
        ["static/app.js", "static/lib/x.js"],
        ["app"],
    ),
]


def make_project(root: Path, shape: Shape) -> Path:
    for rel in shape.files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = src(rel)
        if rel.endswith("app.css"):
            text += ".logo { background: url(../img/logo.svg); }\n"
        path.write_text(text, encoding="utf-8")
    (root / "static" / "img").mkdir(parents=True, exist_ok=True)
    (root / "static" / "img" / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (root / "templates").mkdir(exist_ok=True)
    tags = "".join(
        f'{{% assets "{u}" %}}<i href="{{{{ ASSET_URL }}}}"></i>{{% endassets %}}\n'
        for u in shape.uses
    )
    (root / "templates" / "page.html").write_text(tags + shape.template + "\n")
    (root / "assets.yml").write_text(shape.yaml, encoding="utf-8")
    return root


def app_for(root: Path, shape: Shape, **config: object) -> Flask:
    app = create_app({"TESTING": True, "PROJECT_ROOT": str(root), **config})
    if shape.setup:
        shape.setup(app, root)
    app.add_url_rule("/page", "page", lambda: render_template("page.html"))
    return app


def page_urls(app: Flask) -> list[str]:
    client = app.test_client()
    response = client.get("/page")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    html = response.get_data(as_text=True)
    urls = re.findall(r'href="([^"]+)"', html)
    for url in urls:
        got = client.get(url)
        assert got.status_code == 200, (url, html)
        got.close()
    return urls


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.name)
def test_flask_assets_project_works_unchanged(tmp_path: Path, shape: Shape) -> None:
    root = make_project(tmp_path / "site", shape)
    dev = page_urls(app_for(root, shape, ASSETS_AUTO_BUILD=True))
    debug = page_urls(app_for(root, shape, ASSETS_AUTO_BUILD=True, ASSETS_DEBUG=True))

    runner = app_for(root, shape, ASSETS_AUTO_BUILD=True).test_cli_runner()
    built = runner.invoke(assets, ["build"])
    assert built.exit_code == 0, built.output
    for note in shape.notes:
        assert f"note: {note}" in built.output, built.output
    checked = runner.invoke(assets, ["check"])
    assert checked.exit_code == 0, checked.output

    prod = page_urls(app_for(root, shape, ASSETS_AUTO_BUILD=False))
    assert len(prod) == len(dev) and all("/gen/" in u for u in prod), prod
    assert all("/gen/dev/" in u for u in dev), dev
    assert len(debug) >= len(dev)
    if shape.name == "bundle_keys_webassets_accepts":
        html = app_for(root, shape, ASSETS_AUTO_BUILD=False).test_client().get("/page")
        assert 'data-media="print"' in html.get_data(as_text=True)


REFUSALS = [
    ("less", "filter 'less' needs Node (lessc)", "css", "filters: less"),
    ("coffeescript", "filter 'coffeescript' needs Node", "js", "filters: coffeescript"),
    ("typescript", "filter 'typescript' needs Node (tsc)", "js", "filters: typescript"),
    ("compass", "filter 'compass' needs Ruby", "css", "filters: compass"),
    ("stylus", "filter 'stylus' needs Node", "css", "filters: stylus"),
    ("babel", "filter 'babel' needs Node", "js", "filters: babel"),
    ("misspelt_key", "unknown key 'filter' (allowed:", "css", "filter: cssmin"),
    ("misspelt_key_hint", "did you mean 'filters'?", "css", "filter: cssmin"),
    ("misspelt_filter", "unknown filter 'libsas'", "css", "filters: libsas"),
    ("misspelt_filter_hint", "did you mean 'libsass'?", "css", "filters: libsas"),
    ("custom_filter", "a project's own webassets filter does not run here", "js", "filters: myfix"),
]


@pytest.mark.parametrize(
    ("name", "message", "kind", "line"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_refusals_are_one_line_with_the_way_out(
    tmp_path: Path, name: str, message: str, kind: str, line: str
) -> None:
    source = "css/a.css" if kind == "css" else "js/a.js"
    shape = Shape(
        name,
        f"b:\n  contents: [{source}]\n  {line}\n  output: out.{kind}\n",
        [f"static/{source}"],
        [],
    )
    root = make_project(tmp_path / "site", shape)
    result = (
        app_for(root, shape, ASSETS_AUTO_BUILD=True).test_cli_runner().invoke(assets, ["build"])
    )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("assets.yml:3: bundle 'b': ") or "assets.yml:3:" in lines[0]
    assert message in lines[0], lines[0]


def _load_error(tmp_path: Path, text: str) -> str:
    from app.assets.declare import load_spec
    from app.assets.errors import ConfigError

    root = make_project(tmp_path / "site", Shape("x", text, ["static/js/main.js"], []))
    started = time.monotonic()
    with pytest.raises(ConfigError) as info:
        load_spec(root / "assets.yml", root / "static")
    assert time.monotonic() - started < 5
    message = str(info.value)
    assert "\n" not in message and "assets.yml:" in message
    return message


def test_yaml_aliases_cannot_blow_up(tmp_path: Path) -> None:
    # Each bundle holds its predecessor nine times, as inline bundles: 9**8 entries.
    lines = ["a: &a {contents: [" + ", ".join(["js/main.js"] * 9) + "]}"]
    for prev, name in zip("abcdefg", "bcdefgh", strict=True):
        lines.append(f"{name}: &{name} {{contents: [" + ", ".join([f"*{prev}"] * 9) + "]}")
    text = "\n".join(lines) + "\nall:\n  contents: [*h]\n  output: gen/all.js\n"
    assert len(text) < 706
    assert "expands to more than 20,000" in _load_error(tmp_path, text)


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("gen/.app.js", "may use only letters, digits and '._-/'"),
        ("gen/app?v.js", "may use only letters, digits and '._-/'"),
        ('"gen/a\\0b.js"', "may use only letters, digits and '._-/'"),
        ("gen/" + "a" * 256 + ".js", "a path segment is over 255 bytes"),
        ("../app.js", "must be a relative path inside static/"),
    ],
    ids=["leading-dot", "query", "nul", "long-segment", "dotdot"],
)
def test_output_names_are_plain(tmp_path: Path, output: str, message: str) -> None:
    text = f"js:\n  contents: [js/main.js]\n  output: {output}\n"
    got = _load_error(tmp_path, text)
    assert message in got and ":3: bundle 'js':" in got, got


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("http://code.jquery.com/jquery.js", "remote files are not bundled; vendor the file"),
        ("//cdn.example.com/x.js", "remote files are not bundled; vendor the file"),
        ("../secret.js", "outside static/"),
    ],
)
def test_sources_outside_are_refused_with_the_way_out(
    tmp_path: Path, source: str, message: str
) -> None:
    got = _load_error(tmp_path, f"js:\n  contents: ['{source}']\n  output: gen/js.js\n")
    assert message in got, got


def test_mixing_css_and_js_into_one_file_is_still_an_error(tmp_path: Path) -> None:
    text = "x:\n  contents: [js/main.js, css/a.css]\n  output: gen/x.js\n"
    root = tmp_path / "site"
    (root / "static" / "css").mkdir(parents=True)
    (root / "static" / "css" / "a.css").write_text("a{}")
    got = _load_error(tmp_path, text)
    assert "mixes CSS and JS" in got


def test_python_registered_bundles_join_the_spec(tmp_path: Path) -> None:
    from flask_assets import Bundle, Environment

    shape = Shape(
        "python",
        "yaml_css:\n  contents: [css/a.css]\n  filters: cssmin\n  output: css/a.css\n",
        ["static/css/a.css", "static/js/a.js", "static/js/b.js"],
        ["yaml_css", "js_all", "js_nested"],
    )
    root = make_project(tmp_path / "site", shape)

    def register(app: Flask, root: Path) -> None:
        env = Environment(app)  # after AssetPipeline(app), as an app's own code would
        inner = Bundle("js/a.js", filters="uglifyjs")
        env.register("js_all", Bundle(inner, "js/b.js", filters="jsmin", output="gen/packed.js"))
        env.register("js_nested", Bundle(env["js_all"], output="js/nested.js"))

    shape.setup = register
    dev = page_urls(app_for(root, shape, ASSETS_AUTO_BUILD=True))
    debug = page_urls(app_for(root, shape, ASSETS_AUTO_BUILD=True, ASSETS_DEBUG=True))
    assert "/static/js/a.js" in debug and "/static/js/b.js" in debug
    runner = app_for(root, shape, ASSETS_AUTO_BUILD=True).test_cli_runner()
    built = runner.invoke(assets, ["build"])
    assert built.exit_code == 0, built.output
    assert "js_all" in built.output and "gen/packed." in built.output
    assert runner.invoke(assets, ["check"]).exit_code == 0
    exported = runner.invoke(assets, ["export-yaml"]).output
    assert "js_all:" in exported and "js_nested:" in exported and "- js_all" in exported
    prod = page_urls(app_for(root, shape, ASSETS_AUTO_BUILD=False))
    assert len(prod) == len(dev) == 3


@pytest.mark.parametrize("assets_debug", [False, True])
def test_invalid_yaml_in_development_is_the_overlay_not_a_500(
    project: Path, assets_debug: bool
) -> None:
    (project / "assets.yml").write_text("css_all:\n  contents: [scss/main.scss]\n  filter: x\n")
    app = create_app(
        {
            "PROJECT_ROOT": str(project),
            "ASSETS_AUTO_BUILD": True,
            "ASSETS_DEBUG": assets_debug,
            "DEBUG": True,
        }
    )
    app.debug = True  # the overlay shows sources: only with debug on
    for page in ("/", "/about"):  # bundle_tags, and the {% assets %} tag
        response = app.test_client().get(page)
        assert response.status_code == 200
        assert "did you mean &#39;filters&#39;" in response.get_data(as_text=True) or (
            "did you mean 'filters'" in response.get_data(as_text=True)
        )


def test_check_reports_a_template_inline_bundle_not_built(tmp_path: Path) -> None:
    shape = next(s for s in SHAPES if s.name == "template_inline_bundle")
    root = make_project(tmp_path / "site", shape)
    runner = app_for(root, shape, ASSETS_AUTO_BUILD=True).test_cli_runner()
    assert runner.invoke(assets, ["build"]).exit_code == 0
    page = root / "templates" / "page.html"
    page.write_text(
        page.read_text() + '{% assets output="gen/new.js", "js/a.js" %}{{ ASSET_URL }}'
        "{% endassets %}\n"
    )
    runner = app_for(root, shape, ASSETS_AUTO_BUILD=True).test_cli_runner()
    result = runner.invoke(assets, ["check"])
    assert result.exit_code == 1
    assert "bundle 'gen/new.js': not built" in result.output, result.output
    assert runner.invoke(assets, ["build"]).exit_code == 0
    assert runner.invoke(assets, ["check"]).exit_code == 0


def test_build_a_container_by_name_builds_its_parts(tmp_path: Path) -> None:
    shape = next(s for s in SHAPES if s.name == "container_of_plain_files")
    root = make_project(tmp_path / "site", shape)
    runner = app_for(root, shape, ASSETS_AUTO_BUILD=True).test_cli_runner()
    result = runner.invoke(assets, ["build", "vendor"])
    assert result.exit_code == 0, result.output
    assert "vendor/jquery.min.js" in result.output and "bootstrap.min.css" not in result.output
    # vendor_css is not built yet: check says so, a full build fixes it.
    assert runner.invoke(assets, ["check"]).exit_code == 1
    assert runner.invoke(assets, ["build"]).exit_code == 0
    assert runner.invoke(assets, ["check"]).exit_code == 0
    (root / "assets.yml").write_text(shape.yaml.replace("    - vendor/jquery.min.js\n", ""))
    result = runner.invoke(assets, ["check"])
    assert result.exit_code == 1 and "bundle 'vendor': the parts it links changed" in result.output


def test_from_yaml_and_from_module_bundles_join(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flask_assets import Environment

    shape = Shape(
        "loaders",
        "yaml_js:\n  contents: [js/a.js]\n  output: js/y.js\n",
        ["static/js/a.js", "static/js/b.js", "static/css/c.css"],
        ["yaml_js", "other_js", "module_css"],
    )
    root = make_project(tmp_path / "site", shape)
    (root / "other.yml").write_text(
        "other_js:\n  contents: [js/b.js]\n  filters: jsmin\n  output: js/other.js\n"
    )
    (tmp_path / "my_bundles.py").write_text(
        "from webassets import Bundle\n"
        "module_css = Bundle('css/c.css', filters='cssmin', output='css/m.css')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    def register(app: Flask, root: Path) -> None:
        env = Environment(app)
        env.from_yaml(str(root / "other.yml"))
        env.from_module("my_bundles")

    shape.setup = register
    page_urls(app_for(root, shape, ASSETS_AUTO_BUILD=True))
    runner = app_for(root, shape, ASSETS_AUTO_BUILD=True).test_cli_runner()
    built = runner.invoke(assets, ["build"])
    assert built.exit_code == 0, built.output
    assert "other_js" in built.output and "module_css" in built.output
    assert runner.invoke(assets, ["check"]).exit_code == 0
    assert len(page_urls(app_for(root, shape, ASSETS_AUTO_BUILD=False))) == 3


def test_yaml_aliases_of_long_filter_lists_cannot_blow_up(tmp_path: Path) -> None:
    text = (
        "f: &f {contents: [js/main.js], filters: [" + ", ".join(["jsmin"] * 200) + "]}\n"
        "g: &g {contents: [" + ", ".join(["*f"] * 200) + "]}\n"
        "all:\n  contents: [*g, *g, *g]\n  output: gen/all.js\n"
    )
    assert "expands to more than 20,000" in _load_error(tmp_path, text)
