"""The parser-based minifiers: ``minify`` (tdewolff, JS and CSS) and ``lightningcss``.

Their JavaScript functional checks on the npm corpus run with every JS engine in
test_minify.py (``test_minified_library_runs``, ``test_joined_minified_bundle_runs``);
here: the filters in real builds, browser targets and errors. Bootstrap's CSS styling a
page the same in Chromium once minified: test_browser.py (it owns the browser).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import cssmin
import lightningcss
import minify as tdewolff
import pytest
from conftest import REPO, run_flask, snapshot

from app.assets import builder, engines
from app.assets.bridge.bundle import compile_bundle
from app.assets.browsers import browsers_of
from app.assets.cssparse import CSSSyntaxError, check_css
from app.assets.declare import load_spec
from app.assets.errors import BuildError, ConfigError
from app.assets.minifiers import MinifyOptions, minify

MODERN_CSS = """\
.card {
  user-select: none;
  & .title { color: #ff0000; }
}
"""


def use_filters(root: Path, css: str, js: str) -> None:
    yml = root / "assets.yml"
    text = yml.read_text().replace("filters: libsass,cssmin", f"filters: libsass,{css}")
    yml.write_text(text.replace("filters: jsmin", f"filters: {js}"))


def add_css_bundle(root: Path, name: str, css: str, filters: str) -> None:
    (root / "static" / "css").mkdir(exist_ok=True)
    (root / "static" / "css" / f"{name}.css").write_text(css)
    with (root / "assets.yml").open("a") as f:
        f.write(f"\n{name}:\n  contents: [css/{name}.css]\n  filters: {filters}\n")
        f.write(f"  output: gen/{name}.css\n")


def spec_of(root: Path):  # type: ignore[no-untyped-def]
    return load_spec(root / "assets.yml", root / "static")


# --------------------------------------------------------------------------- registry


def test_minify_is_one_name_for_both_kinds() -> None:
    assert engines.kinds("minify") == ("js", "css")
    js, css = engines.lookup("minify", "js"), engines.lookup("minify", "css")
    assert js is not None and css is not None and js.module != css.module
    assert engines.lookup("minify") is None  # ambiguous without a kind
    assert engines.lookup("jsmin") == engines.lookup("jsmin", "js")  # one kind: as before
    assert engines.lookup("jsmin", "css") is None
    for alias in ("autoprefixer", "autoprefixer6"):
        assert engines.lookup(alias, "css") == engines.lookup("lightningcss", "css")


def test_the_validator_picks_minify_by_the_bundles_kind(project: Path) -> None:
    use_filters(project, "minify", "minify")
    spec = spec_of(project)
    assert spec.bundles["css_all"].filters == ("libsass", "minify")
    assert spec.bundles["js_all"].kind == "js"


@pytest.mark.parametrize(
    ("css", "js", "message"),
    [
        ("uglify", "jsmin", r"unknown filter 'uglify' \(known: .*minify, lightningcss\)"),
        ("jsmin", "jsmin", r"bundle 'css_all': mixes CSS and JS sources or filters"),
        ("cssmin", "lightningcss", r"bundle 'js_lib': mixes CSS and JS sources or filters"),
        ("cssmin", "autoprefixer", r"bundle 'js_lib': mixes CSS and JS sources or filters"),
    ],
)
def test_other_names_keep_their_messages(project: Path, css: str, js: str, message: str) -> None:
    use_filters(project, css, js)
    with pytest.raises(ConfigError, match=message):
        spec_of(project)


# --------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("safari 12, chrome 80", ("safari 12", "chrome 80")),
        (["> 0.5%", "last 2 versions"], ("> 0.5%", "last 2 versions")),
        ("defaults", ("defaults",)),
        ("", ()),
        (None, ()),
    ],
)
def test_assets_browsers_values(value: object, expected: tuple[str, ...]) -> None:
    assert browsers_of(value) == expected


def test_assets_browsers_setting(project: Path) -> None:
    from app import create_app

    app = create_app({"TESTING": True, "PROJECT_ROOT": str(project), "ASSETS_AUTO_BUILD": True})
    assert app.extensions["assets"].settings.browsers == ("defaults",)
    app = create_app(
        {
            "TESTING": True,
            "PROJECT_ROOT": str(project),
            "ASSETS_AUTO_BUILD": True,
            "ASSETS_BROWSERS": "safari 12, ie 11",
        }
    )
    assert app.extensions["assets"].settings.browsers == ("safari 12", "ie 11")


def test_assets_browsers_rejects_other_types() -> None:
    with pytest.raises(ConfigError, match="ASSETS_BROWSERS must be a browserslist query"):
        browsers_of(12)


# --------------------------------------------------------------------------- targets


def test_targets_add_a_prefix_and_lower_nesting(project: Path) -> None:
    add_css_bundle(project, "modern", MODERN_CSS, "lightningcss")
    spec = spec_of(project)
    plain = compile_bundle(spec, "modern", browsers=()).data.decode()
    assert plain == ".card{user-select:none;& .title{color:red}}\n"  # minified, no more
    old = compile_bundle(spec, "modern", browsers=("safari 12", "chrome 80")).data.decode()
    assert old == ".card{-webkit-user-select:none;user-select:none}.card .title{color:red}\n"
    check_css(old)


def test_autoprefixer_is_lightningcss_with_targets(project: Path) -> None:
    add_css_bundle(project, "modern", MODERN_CSS, "autoprefixer")
    add_css_bundle(project, "modern2", MODERN_CSS, "lightningcss")
    spec = spec_of(project)
    targets = ("safari 12",)
    out = compile_bundle(spec, "modern", browsers=targets).data
    assert out == compile_bundle(spec, "modern2", browsers=targets).data
    assert b"-webkit-user-select" in out


def test_assets_browsers_from_the_environment_reaches_the_build(project: Path) -> None:
    add_css_bundle(project, "modern", MODERN_CSS, "lightningcss")
    result = run_flask(project, "assets", "build", FLASK_ASSETS_BROWSERS="safari 12")
    assert result.returncode == 0, result.stderr
    [out] = (project / "static" / "gen").glob("modern.*.css")
    assert (
        out.read_text()
        == ".card{-webkit-user-select:none;user-select:none}.card .title{color:red}\n"
    )


def test_an_unknown_browser_fails_the_build_naming_the_setting(project: Path) -> None:
    add_css_bundle(project, "modern", MODERN_CSS, "lightningcss")
    with pytest.raises(BuildError) as info:
        compile_bundle(spec_of(project), "modern", browsers=("netscape 4",))
    assert str(info.value) == (
        "bundle 'modern': lightningcss: ASSETS_BROWSERS ['netscape 4']: unknown browser: 'netscape'"
    )


def test_options_reach_only_the_engines_that_use_them() -> None:
    options = MinifyOptions(browsers=("safari 12",))
    assert minify("a { b: c }", "cssmin", "css", options) == "a{b:c}"
    assert minify("var a = 1", "minify", "js", options) == "var a=1"
    assert minify(".a{user-select:none}", "minify", "css", options) == ".a{user-select:none}"


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("engine", ["lightningcss", "minify"])
def test_a_css_parse_error_names_file_and_line(
    project: Path, monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    monkeypatch.chdir(project)  # error paths are shown relative to cwd
    add_css_bundle(project, "broken", "a { color: red }\n\n.b, { color: blue }\n", engine)
    with pytest.raises(BuildError) as info:
        compile_bundle(spec_of(project), "broken")
    assert str(info.value) == (
        f"static/css/broken.css:3:5: bundle 'broken': {engine}: "
        "CSS parse error: Invalid empty selector"
    )


def test_a_parse_error_in_compiled_scss_names_the_scss_file(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    (project / "static" / "scss" / "hack.scss").write_text("a {\n  *zoom: 1;\n}\n")
    with (project / "assets.yml").open("a") as f:
        f.write("\nhack:\n  contents: [scss/hack.scss]\n  filters: libsass,lightningcss\n")
        f.write("  output: gen/hack.css\n")
    with pytest.raises(BuildError) as info:
        compile_bundle(spec_of(project), "hack")
    assert re.fullmatch(
        r"static/scss/hack\.scss: bundle 'hack': lightningcss: CSS parse error: "
        r"Unexpected token .+ \(line 2 of the CSS compiled from it\)",
        str(info.value),
    ), str(info.value)


def test_cssmin_still_passes_what_lightningcss_rejects(project: Path) -> None:
    # An IE hack: browsers skip it, cssmin always passed it; the re-parse must not fail it.
    add_css_bundle(project, "hack", "a { *zoom: 1; color: red }\n", "cssmin")
    assert compile_bundle(spec_of(project), "hack").data == b"a{*zoom:1;color:red}\n"


def test_a_minifier_producing_invalid_javascript_is_caught(
    built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tdewolff.string
    # A syntax error only after the join (the last file gets an opening parenthesis).
    monkeypatch.setattr(
        tdewolff, "string", lambda t, s: real(t, s) + ("\n(" if "Shop" in s else "")
    )
    use_filters(built, "cssmin", "minify")
    with pytest.raises(BuildError) as info:
        compile_bundle(spec_of(built), "js_gallery")
    assert re.fullmatch(
        r"bundle 'js_gallery': minify produced invalid JavaScript: SyntaxError: .+ "
        r"at line \d+ of the minified output",
        str(info.value),
    ), str(info.value)


@pytest.mark.parametrize("engine", ["minify", "cssmin", "lightningcss"])
def test_a_minifier_producing_invalid_css_is_caught(
    project: Path, monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    def broken(real):  # type: ignore[no-untyped-def]
        return lambda *args, **kw: real(*args, **kw) + "\n,{}"

    if engine == "minify":
        monkeypatch.setattr(tdewolff, "string", broken(tdewolff.string))
    elif engine == "cssmin":
        monkeypatch.setattr(cssmin, "cssmin", broken(cssmin.cssmin))
    else:
        monkeypatch.setattr(
            lightningcss, "process_stylesheet", broken(lightningcss.process_stylesheet)
        )
    use_filters(project, engine, "jsmin")
    with pytest.raises(BuildError) as info:
        compile_bundle(spec_of(project), "css_all")
    assert re.fullmatch(
        rf"bundle 'css_all': {engine} produced invalid CSS: Invalid empty selector "
        r"at line \d+ of the minified output",
        str(info.value),
    ), str(info.value)


def test_check_css_reports_line_and_column() -> None:
    with pytest.raises(CSSSyntaxError) as info:
        check_css("a{}\n\n,{}")
    assert (info.value.message, info.value.line, info.value.column) == (
        "Invalid empty selector",
        3,
        1,
    )


# --------------------------------------------------------------------------- builds


@pytest.mark.parametrize(("css", "js"), [("minify", "minify"), ("lightningcss", "minify")])
def test_byte_identical_across_parallel_serial_and_cached_builds(
    project: Path, tmp_path: Path, css: str, js: str
) -> None:
    use_filters(project, css, js)
    add_css_bundle(project, "modern", MODERN_CSS, css)
    gen = project / "static" / "gen"
    cache = tmp_path / "cache"
    targets = ("safari 12", "chrome 80")

    def build(jobs: int, cache_dir: Path | None) -> dict[str, bytes]:
        shutil.rmtree(gen, ignore_errors=True)
        builder.build(spec_of(project), jobs=jobs, cache_dir=cache_dir, browsers=targets)
        return snapshot(gen)

    parallel = build(2, None)
    serial = build(1, None)
    cold = build(2, cache)
    assert any(cache.rglob("*")), "the cache was written"
    warm = build(2, cache)
    warm_serial = build(1, cache)
    assert parallel == serial == cold == warm == warm_serial
    js_out = next(data for name, data in parallel.items() if re.fullmatch(r"app\.\w+\.js", name))
    assert b"\n\n" not in js_out and len(js_out) > 100


def test_minify_builds_smaller_javascript_than_jsmin(project: Path) -> None:
    spec = spec_of(project)
    with_jsmin = compile_bundle(spec, "js_all").data
    use_filters(project, "cssmin", "minify")
    with_minify = compile_bundle(spec_of(project), "js_all").data
    assert len(with_minify) < len(with_jsmin)


def test_development_builds_do_not_minify(project: Path) -> None:
    use_filters(project, "lightningcss", "minify")
    spec = spec_of(project)
    dev = compile_bundle(spec, "js_all", minify=False, dev=True).data
    assert (
        dev
        == compile_bundle(
            load_spec(REPO / "assets.yml", project / "static"), "js_all", minify=False, dev=True
        ).data
    )


# --------------------------------------------------------------------------- CSS in Chromium

# Components whose rules use calc(), var(), custom properties, :not(), ~, > and prefixes.
SAMPLE = """
<div class="container"><div class="row g-3"><div class="col-md-6">
<button class="btn btn-primary btn-lg" id="b1">Go</button>
<button class="btn btn-outline-secondary btn-sm" disabled>Off</button>
<div class="form-floating"><input class="form-control" id="f1" placeholder="x">
<label for="f1">E</label></div>
<select class="form-select"><option>1</option></select>
<div class="form-check form-switch"><input class="form-check-input" type="checkbox" checked></div>
<input type="range" class="form-range">
<table class="table table-striped table-bordered table-hover"><thead><tr><th>a</th></tr></thead>
<tbody class="table-group-divider"><tr><td>1</td></tr><tr><td>2</td></tr></tbody></table>
</div><div class="col-md-6">
<div class="card shadow-sm"><div class="card-header">H</div><div class="card-body p-3">
<h5 class="card-title text-truncate">T</h5><span class="badge rounded-pill text-bg-warning">9</span>
</div></div>
<ul class="nav nav-tabs"><li class="nav-item"><a class="nav-link active" href="#">A</a></li></ul>
<div class="alert alert-danger alert-dismissible"><button class="btn-close"></button></div>
<div class="progress"><div class="progress-bar progress-bar-striped" style="width: 40%"></div></div>
<nav><ol class="breadcrumb"><li class="breadcrumb-item">a</li>
<li class="breadcrumb-item active">b</li></ol></nav>
<div class="d-flex justify-content-between align-items-center gap-2 visually-hidden-focusable">
x</div>
<ul class="list-group list-group-flush">
<li class="list-group-item list-group-item-action">i</li></ul>
</div></div></div>
"""

# Every computed property of every element, but custom properties: their computed value is
# the text as written (".25rem" for "0.25rem"), which the var() using them reads the same.
# "background: none" may become "background: 0 0" (position 0px 0px, not 0% 0%): the
# same place, and no image to place.
COMPUTED = """() => Array.from(document.querySelectorAll('body *')).map((el) => {
  const s = getComputedStyle(el); const out = {};
  for (const p of s) if (!p.startsWith('--')) out[p] = s.getPropertyValue(p);
  if (out['background-position'] === '0% 0%') out['background-position'] = '0px 0px';
  for (const pseudo of ['::before', '::after']) {
    const ps = getComputedStyle(el, pseudo);
    out[pseudo] = ps.content + '|' + ps.borderTop + '|' + ps.backgroundImage;
  }
  return out;
})"""


def computed_styles(page: object, css: str) -> list[dict[str, str]]:
    page.set_content(
        f"<!doctype html><html><head><style>{css}</style></head><body>{SAMPLE}</body></html>"
    )  # type: ignore[attr-defined]
    return page.evaluate(COMPUTED)  # type: ignore[attr-defined,no-any-return]


def test_a_bundle_of_the_five_libraries_built_with_minify_runs(tmp_path: Path) -> None:
    """The filter as a build runs it: each file minified alone, then joined."""
    from test_minify import _HARNESS, LIBRARIES, _load_ensure_corpus, run_in_stub_browser

    corpus = _load_ensure_corpus()()
    root = tmp_path / "site"
    (root / "static" / "js").mkdir(parents=True)
    names = []
    for name, (relative, *_) in LIBRARIES.items():
        shutil.copy(corpus / relative, root / "static" / "js" / f"{name}.js")
        names.append(f"js/{name}.js")
    (root / "assets.yml").write_text(
        f"libs:\n  contents: [{', '.join(names)}]\n  filters: minify\n  output: gen/libs.js\n"
    )
    data = compile_bundle(spec_of(root), "libs").data.decode()
    sources = sum(len((corpus / spec[0]).read_text()) for spec in LIBRARIES.values())
    assert len(data) < 0.3 * sources
    harness = tmp_path / "harness.js"
    harness.write_text(_HARNESS)
    probe = "[" + ", ".join(spec[2] for spec in LIBRARIES.values()) + "]"
    result = run_in_stub_browser(harness, data, probe, tmp_path)
    assert result["probe"] == [spec[3] for spec in LIBRARIES.values()]
    assert result["globals"] == sorted({g for spec in LIBRARIES.values() for g in spec[1]})


@pytest.mark.parametrize("key", ["ASSETS_BROWSERS", "AUTOPREFIXER_BROWSERS"])
def test_a_bundles_config_overrides_the_setting_for_it_alone(project: Path, key: str) -> None:
    add_css_bundle(project, "modern", MODERN_CSS, "lightningcss")
    add_css_bundle(project, "legacy", MODERN_CSS, "lightningcss")
    yml = project / "assets.yml"
    text = yml.read_text()
    at = text.index("legacy:")
    yml.write_text(text[:at] + text[at:].replace("\n", f"\n  config:\n    {key}: safari 12\n", 1))
    spec = spec_of(project)
    assert spec.bundles["legacy"].browsers == ("safari 12",)
    assert spec.bundles["modern"].browsers is None
    result = run_flask(project, "assets", "build", FLASK_ASSETS_BROWSERS="")
    assert result.returncode == 0, result.stderr
    [legacy] = (project / "static" / "gen").glob("legacy.*.css")
    [modern] = (project / "static" / "gen").glob("modern.*.css")
    assert "-webkit-user-select" in legacy.read_text()
    assert "-webkit-user-select" not in modern.read_text()
