"""`load_spec`: assets.yml is validated before anything is built, errors name file:line:bundle."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from app.assets.declare import Ref, load_spec
from app.assets.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
_BUNDLE_ERROR = re.compile(r"(?P<file>.+):(?P<line>\d+): bundle '(?P<bundle>[^']+)': (?P<msg>.+)")
_FILE_ERROR = re.compile(r"(?P<file>.+):(?P<line>\d+): (?P<msg>.+)")


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based number of the ``nth`` line containing ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) >= nth, f"{needle!r} not in the YAML under test"
    return hits[nth - 1]


def config_error(project: Path, text: str) -> ConfigError:
    path = project / "assets.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_spec(path, project / "static")
    return info.value


def assert_bundle_error(err: ConfigError, project: Path, *, line: int, bundle: str) -> str:
    """``str(err)`` is ``file:line: bundle 'x': message``; returns the message."""
    m = _BUNDLE_ERROR.fullmatch(str(err))
    assert m, f"not 'file:line: bundle ...': {err}"
    # The file is shown relative to the working directory (or absolute): it must be ours.
    assert Path(m["file"]).resolve() == (project / "assets.yml").resolve()
    assert (int(m["line"]), m["bundle"]) == (line, bundle), str(err)
    return m["msg"]


# --- invalid declarations -------------------------------------------------------------------


def test_unknown_key_names_key_and_line(project: Path) -> None:
    text = (
        "# a comment first, so lines are not trivially 1\n"
        "app_js:\n"
        "  contents: [js/util.js]\n"
        "  output: gen/a.js\n"
        "  filtres: jsmin\n"
    )
    err = config_error(project, text)
    msg = assert_bundle_error(err, project, line=line_of(text, "filtres"), bundle="app_js")
    assert "filtres" in msg


@pytest.mark.parametrize(
    "filters",
    ["filters: jsmin, uglify\n", "filters:\n    - jsmin\n    - uglify\n"],
    ids=["comma-string", "list"],
)
def test_unknown_filter(project: Path, filters: str) -> None:
    text = "app_js:\n  contents: [js/util.js]\n  " + filters + "  output: gen/a.js\n"
    err = config_error(project, text)
    msg = assert_bundle_error(err, project, line=line_of(text, "uglify"), bundle="app_js")
    assert "uglify" in msg


def test_missing_source(project: Path) -> None:
    text = "app_js:\n  contents:\n    - js/util.js\n    - js/nope.js\n  output: gen/a.js\n"
    err = config_error(project, text)
    msg = assert_bundle_error(err, project, line=line_of(text, "nope.js"), bundle="app_js")
    assert "js/nope.js" in msg


def test_glob_matching_nothing(project: Path) -> None:
    text = "app_js:\n  contents:\n    - js/util.js\n    - 'js/*.ts'\n  output: gen/a.js\n"
    err = config_error(project, text)
    msg = assert_bundle_error(err, project, line=line_of(text, "*.ts"), bundle="app_js")
    assert "js/*.ts" in msg


@pytest.mark.parametrize(
    "output",
    ["../x.css", "/abs.css", "gen/../x.css", "gen/../../x.css", "gen/.app.css", "gen/app?v.css"],
)
def test_output_outside_static_gen(project: Path, output: str) -> None:
    text = f"app_css:\n  contents: [scss/main.scss]\n  filters: libsass\n  output: {output}\n"
    err = config_error(project, text)
    msg = assert_bundle_error(err, project, line=line_of(text, "output:"), bundle="app_css")
    assert output in msg
    assert "gen/" in msg  # says where outputs must go


@pytest.mark.parametrize(
    ("output", "built"),
    [
        ("other/x.css", "gen/other/x.css"),
        ("css/packed.css", "gen/css/packed.css"),
        ("packed.css", "gen/packed.css"),
        ("gen/app.css", "gen/app.css"),
        ("css/app-%(version)s.css", "gen/css/app.css"),
        ("css/%(version)s/app.css", "gen/css/app.css"),
    ],
)
def test_outputs_anywhere_under_static_are_built_under_gen(
    project: Path, output: str, built: str
) -> None:
    # Flask-Assets projects write outputs anywhere under static/; they land under gen/
    # at the same relative path, so gen/ stays the one folder the build owns.
    text = f"app_css:\n  contents: [scss/main.scss]\n  filters: libsass\n  output: {output}\n"
    (project / "assets.yml").write_text(text, encoding="utf-8")
    spec = load_spec(project / "assets.yml", project / "static")
    assert spec.bundles["app_css"].output == built


def test_two_bundles_writing_one_output(project: Path) -> None:
    text = (
        "first:\n  contents: [js/util.js]\n  output: gen/same.js\n"
        "second:\n  contents: [js/main.js]\n  output: gen/same.js\n"
    )
    err = config_error(project, text)
    m = _BUNDLE_ERROR.fullmatch(str(err))
    assert m, str(err)
    # The error is on the second writer (its declaration or its output line)...
    assert m["bundle"] == "second"
    assert int(m["line"]) in (line_of(text, "second:"), line_of(text, "output:", nth=2))
    # ...and names the output and the bundle it collides with.
    assert "gen/same.js" in m["msg"]
    assert "'first'" in m["msg"]


def _cycle_lines(text: str, name: str, target: str) -> set[int]:
    """Lines that legitimately locate ``name``'s part in a cycle: its key or its ref."""
    start = line_of(text, f"{name}:")
    ref = next(
        i
        for i, line in enumerate(text.splitlines(), 1)
        if i > start and re.search(rf"(- |\[|, ){target}(\]|,|$)", line)
    )
    return {start, ref}


def test_nesting_cycle(project: Path) -> None:
    text = (
        "a:\n  contents: [b]\n  output: gen/a.js\n"
        "b:\n  contents:\n    - js/util.js\n    - a\n  filters: jsmin\n"
    )
    err = config_error(project, text)
    m = _BUNDLE_ERROR.fullmatch(str(err))
    assert m, str(err)
    assert "cycle" in m["msg"]
    assert re.search(r"\ba\b.*\bb\b.*\ba\b|\bb\b.*\ba\b.*\bb\b", m["msg"]), m["msg"]
    other = {"a": "b", "b": "a"}[m["bundle"]]
    assert int(m["line"]) in _cycle_lines(text, m["bundle"], other)


def test_three_bundle_cycle(project: Path) -> None:
    text = (
        "a:\n  contents: [b]\n  output: gen/a.js\n"
        "b:\n  contents: [c]\n"
        "c:\n  contents: [js/util.js, a]\n"
    )
    err = config_error(project, text)
    m = _BUNDLE_ERROR.fullmatch(str(err))
    assert m, str(err)
    assert "cycle" in m["msg"]
    assert all(re.search(rf"\b{n}\b", m["msg"]) for n in "abc"), m["msg"]
    nxt = {"a": "b", "b": "c", "c": "a"}[m["bundle"]]
    assert int(m["line"]) in _cycle_lines(text, m["bundle"], nxt)


def test_self_nesting(project: Path) -> None:
    text = "solo:\n  contents:\n    - js/util.js\n    - solo\n  output: gen/solo.js\n"
    err = config_error(project, text)
    m = _BUNDLE_ERROR.fullmatch(str(err))
    assert m, str(err)
    assert m["bundle"] == "solo"
    assert int(m["line"]) in (line_of(text, "solo:"), line_of(text, "- solo"))


def test_duplicate_bundle_name(project: Path) -> None:
    text = (
        "dup:\n  contents: [js/util.js]\n  output: gen/a.js\n"
        "\n"
        "other:\n  contents: [js/main.js]\n  output: gen/b.js\n"
        "dup:\n  contents: [js/main.js]\n  output: gen/c.js\n"
    )
    err = config_error(project, text)
    msg = assert_bundle_error(err, project, line=line_of(text, "dup:", nth=2), bundle="dup")
    assert str(line_of(text, "dup:")) in msg  # points back at the first declaration


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("a:\n  contents: [js/util.js]\n   output: gen/a.js\n", "   output"),
        ("a:\n  contents: [js/util.js]\n\toutput: gen/a.js\n", "\toutput"),
        ("a:\n  contents: [js/util.js\n  output: gen/a.js\nb:\n  x\n", None),
    ],
    ids=["bad-indent", "tab", "unclosed-flow"],
)
def test_invalid_yaml(project: Path, text: str, bad: str | None) -> None:
    err = config_error(project, text)
    m = _FILE_ERROR.fullmatch(str(err))
    assert m, f"not 'file:line: message': {err}"
    assert Path(m["file"]).resolve() == (project / "assets.yml").resolve()
    assert "YAML" in m["msg"]
    if bad is not None:
        assert int(m["line"]) == line_of(text, bad)
    else:
        assert 1 <= int(m["line"]) <= len(text.splitlines())


def test_error_line_in_the_real_assets_yml(project: Path) -> None:
    """Lines count from the top of the real file, comments included."""
    text = (REPO / "assets.yml").read_text(encoding="utf-8")
    first_libsass = line_of(text, "libsass,cssmin")
    lines = text.splitlines(keepends=True)
    lines[first_libsass - 1] = lines[first_libsass - 1].replace("cssmin", "nosuchmin")
    broken = "".join(lines)
    err = config_error(project, broken)
    spec_ok = load_spec(REPO / "assets.yml", REPO / "static")
    owner = max(
        (b for b in spec_ok.bundles.values() if b.line < first_libsass), key=lambda b: b.line
    )
    msg = assert_bundle_error(err, project, line=first_libsass, bundle=owner.name)
    assert "nosuchmin" in msg


# --- valid declarations ---------------------------------------------------------------------


def test_globs_expand_sorted(project: Path) -> None:
    static = project / "static"
    (static / "js" / "vendor").mkdir()
    # Created in non-sorted order, so file system order cannot pass for sorted.
    for name in ("zz.js", "aa.js", "vendor/mm.js", "vendor/bb.js"):
        (static / "js" / name).write_text("var x = 1;\n")
    (project / "assets.yml").write_text(
        "flat:\n  contents: ['js/*.js']\n  output: gen/flat.js\n"
        "deep:\n  contents: ['js/**/*.js']\n  output: gen/deep.js\n"
    )
    spec = load_spec(project / "assets.yml", static)
    flat = sorted(p.relative_to(static).as_posix() for p in (static / "js").glob("*.js"))
    deep = sorted(p.relative_to(static).as_posix() for p in (static / "js").rglob("*.js"))
    assert list(spec.bundles["flat"].contents) == flat
    assert list(spec.bundles["deep"].contents) == deep
    assert "js/vendor/bb.js" in deep


def test_nested_bundle_by_name(project: Path) -> None:
    (project / "assets.yml").write_text(
        "all:\n  contents: [lib, js/main.js]\n  filters: jsmin\n  output: gen/all.js\n"
        "lib:\n  contents: [js/util.js, js/format.js]\n"
    )
    spec = load_spec(project / "assets.yml", project / "static")
    first = spec.bundles["all"].contents[0]
    assert isinstance(first, Ref) and first.name == "lib"
    assert spec.files("all") == ["js/util.js", "js/format.js", "js/main.js"]
    assert set(spec.outputs) == {"all"}  # lib has no output: only nested
    assert spec.bundles["lib"].kind == "js"


def test_version_placeholder_in_output_is_accepted(project: Path) -> None:
    (project / "assets.yml").write_text(
        "app_css:\n  contents: [scss/main.scss]\n  filters: libsass\n"
        "  output: gen/app.%(version)s.css\n"
    )
    spec = load_spec(project / "assets.yml", project / "static")
    out = spec.bundles["app_css"].output
    assert out is not None and out.startswith("gen/") and out.endswith(".css")
    assert "app_css" in spec.outputs


def test_filters_as_list_or_comma_string(project: Path) -> None:
    (project / "assets.yml").write_text(
        "as_list:\n  contents: [scss/main.scss]\n  filters: [libsass, cssmin]\n"
        "  output: gen/l.css\n"
        "as_string:\n  contents: [scss/main.scss]\n  filters: libsass, cssmin\n"
        "  output: gen/s.css\n"
        "no_space:\n  contents: [scss/main.scss]\n  filters: libsass,cssmin\n"
        "  output: gen/n.css\n"
    )
    spec = load_spec(project / "assets.yml", project / "static")
    assert spec.bundles["as_list"].filters == ("libsass", "cssmin")
    assert spec.bundles["as_string"].filters == ("libsass", "cssmin")
    assert spec.bundles["no_space"].filters == ("libsass", "cssmin")


def test_repo_assets_yml_is_valid() -> None:
    spec = load_spec(REPO / "assets.yml", REPO / "static")
    assert set(spec.outputs) == {"css_all", "js_lib", "js_all", "css_gallery", "js_gallery"}
    assert spec.files("js_all")[: len(spec.files("js_lib"))] == spec.files("js_lib")


def test_spec_does_not_depend_on_cwd(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative sources resolve against static/, wherever the process runs."""
    shutil.copy(REPO / "assets.yml", project / "assets.yml")
    monkeypatch.chdir(project.parent)
    spec = load_spec(project / "assets.yml", project / "static")
    assert "scss/main.scss" in spec.files("css_all")


@pytest.mark.parametrize(
    "text", ["{}\n", "# only a comment\n", ""], ids=["empty-map", "comment", "empty"]
)
def test_no_bundles_is_an_error(project: Path, text: str) -> None:
    """An empty declaration would build an empty manifest over the current build."""
    err = config_error(project, text)
    assert Path(str(err).split(":", 1)[0]).resolve() == (project / "assets.yml").resolve()
    assert "bundle" in str(err)


def test_globs_never_pick_up_build_outputs(project: Path) -> None:
    from app.assets import builder

    builder.build(load_spec(project / "assets.yml", project / "static"))
    assert list((project / "static" / "gen").glob("*.js"))
    (project / "assets.yml").write_text(
        "everything:\n  contents: ['**/*.js']\n  filters: jsmin\n  output: gen/all.js\n"
    )
    spec = load_spec(project / "assets.yml", project / "static")
    files = spec.files("everything")
    assert "js/main.js" in files
    assert not [f for f in files if f.startswith("gen/")]
    assert spec.globs == ("**/*.js",)
    folders = spec.glob_folders()
    assert str(project / "static" / "js") in folders
    assert not [f for f in folders if Path(f).is_relative_to(project / "static" / "gen")]


def test_a_build_output_is_not_a_source(project: Path) -> None:
    from app.assets import builder

    builder.build(load_spec(project / "assets.yml", project / "static"))
    out = next((project / "static" / "gen").glob("app.*.js")).name
    err = config_error(
        project, f"again:\n  contents: [gen/{out}]\n  filters: jsmin\n  output: gen/again.js\n"
    )
    assert err.line == 2 and "build output" in str(err)
