"""Bad input: every broken ``assets.yml``, source or output folder is one clear line.

Each case starts from a project that built successfully, then overlays something
broken: the files of ``tests/fixtures/bad/<case>/`` when that folder exists, and the
case's own ``config``/``files``/``setup`` from the table below. The real
``flask --app app assets build`` (and ``check`` where it applies) must then exit 1
with exactly one ``file:line: bundle 'x': message`` line on stderr, no traceback, and
leave every file of the previous build in ``static/gen/`` byte for byte as it was.

The loader is also fuzzed: any YAML document either loads or raises ``ConfigError``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, build_project, flask_env, read_manifest, run_flask, snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.assets.declare import Spec, load_spec
from app.assets.errors import ConfigError

BAD = FIXTURES / "bad"
# The contract's error line: `file[:line[:column]]: [bundle 'x': ]message`.
ERROR_LINE = re.compile(r"^[^:]+(:\d+(:\d+)?)?: (bundle '[^']+': )?.+")
CLI_TIMEOUT = 30

# A trailing JS statement that changes the built gallery bundle (a comment would be
# minified away and leave nothing new to write).
JS_EDIT = "\n;window.__edited = 1;\n"


# --------------------------------------------------------------------------- setups


def _symlink(link: str, target: str) -> Callable[[Path], None]:
    """``link`` (relative to the project) points at ``target`` (relative to the project)."""

    def setup(root: Path) -> None:
        (root / link).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(root / target, root / link)

    return setup


def _mkdir(rel: str) -> Callable[[Path], None]:
    def setup(root: Path) -> None:
        (root / rel).mkdir(parents=True)
        (root / rel / "inner.js").write_text("window.inner = 1;\n")

    return setup


def _gen_symlinked_outside(root: Path) -> None:
    """static/gen becomes a symlink to a folder outside static/ holding the old build."""
    outside = root / "outside_gen"
    shutil.move(root / "static" / "gen", outside)
    os.symlink(outside, root / "static" / "gen")


def _gen_is_a_file(root: Path) -> None:
    """static/gen is a regular file: nothing can be written under it."""
    gen = root / "static" / "gen"
    shutil.rmtree(gen)
    gen.write_bytes(b"not a folder\n")


def _gen_subfolder_is_a_file(root: Path) -> None:
    (root / "static" / "gen" / "css").write_bytes(b"not a folder\n")


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[str]:
    """Make ``folder`` refuse new entries, even for root; yields how it was done.

    Tests run as root, where ``chmod 0o555`` does not stop writes, so the folder is
    made immutable with ``chattr +i``; without that capability (not root) chmod works.
    """
    done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
    how = "chattr +i" if done.returncode == 0 else "chmod 0o555"
    if how == "chmod 0o555":
        folder.chmod(0o555)
    try:
        probe = folder / "probe-write"
        with pytest.raises(OSError):
            probe.write_bytes(b"x")
        yield how
    finally:
        if how == "chattr +i":
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        else:
            folder.chmod(0o755)


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Bad:
    name: str
    # The expected start of the error line: file (regex), line (None: none; ANY_LINE:
    # with or without one), bundle (None: none; ANY_BUNDLE: with or without one).
    file: str
    line: int | None
    bundle: str | None
    needle: str  # a piece of the message (case-insensitive)
    config: str | None = None  # assets.yml text; None keeps the demo's (or the fixture's)
    files: dict[str, str | bytes] = field(default_factory=dict)  # relative to the project
    setup: Callable[[Path], None] | None = None
    # How `assets check` must report it: "same" (the same one line), "listed" (the line
    # is among its problems), or None (check has nothing to say about this input).
    check: str | None = "same"
    read_only_gen: bool = False
    column: int | None = None  # 1-based; JS syntax errors name one

    def __str__(self) -> str:
        return self.name


ANY_LINE = -1
ANY_BUNDLE = "\0any"  # with or without a bundle name
Y = "assets\\.yml"
CSS = "css_all:\n  contents: [scss/main.scss]\n  filters: libsass,cssmin\n  output: gen/app.css\n"

CASES = [
    # --- invalid YAML (fixtures: tab, duplicate bundle, duplicate key)
    Bad("yaml_tab_indent", Y, 3, None, "invalid YAML"),
    Bad("yaml_duplicate_bundle", Y, 10, "css_all", "declared twice (first on line 1)"),
    Bad("yaml_duplicate_key", Y, 5, "css_all", "key 'output' given twice"),
    Bad(
        "yaml_bad_indentation",
        Y,
        3,
        None,
        "invalid YAML",
        config="css_all:\n    contents: [scss/main.scss]\n  output: gen/app.css\n",
    ),
    Bad(
        "yaml_unclosed_list",
        Y,
        3,
        None,
        "invalid YAML",
        config="css_all:\n  contents: [scss/main.scss\n  output: gen/app.css\n",
    ),
    Bad("yaml_empty_file", Y, None, None, "declares no bundles", config=""),
    Bad("yaml_only_comments", Y, None, None, "declares no bundles", config="# nothing\n"),
    # An empty mapping declares nothing either; building it would empty the manifest.
    Bad("yaml_empty_mapping", Y, ANY_LINE, None, "declares no bundles", config="{}\n"),
    Bad(
        "yaml_top_level_list",
        Y,
        1,
        None,
        "top level must be a mapping",
        config="- css_all\n- js_all\n",
    ),
    Bad(
        "yaml_not_utf8",
        Y,
        None,
        None,
        "not valid UTF-8",
        files={"assets.yml": b"# caf\xe9\n" + CSS.encode()},
    ),
    # A bundle whose contents alias the bundle itself, and nesting deeper than Python's
    # recursion limit: both must be a ConfigError, not a RecursionError traceback.
    Bad(
        "yaml_recursive_alias",
        Y,
        1,
        ANY_BUNDLE,
        "",
        config="js_all: &a {contents: [js/main.js, *a], output: gen/app.js}\n",
    ),
    Bad(
        "yaml_deeply_nested",
        Y,
        ANY_LINE,
        ANY_BUNDLE,
        "",
        config="js_all: " + "[" * 3000 + "]" * 3000 + "\n",
    ),
    Bad(
        "bundle_name_path",
        Y,
        1,
        None,
        "invalid bundle name '../x'",
        config='"../x":\n  contents: [js/main.js]\n  output: gen/x.js\n',
    ),
    # --- wrong types
    Bad(
        "contents_int",
        Y,
        2,
        "js_all",
        "'5' not found",
        config="js_all:\n  contents: 5\n  output: gen/app.js\n",
    ),
    Bad(
        "contents_null",
        Y,
        2,
        "js_all",
        "must be a string",
        config="js_all:\n  contents:\n  output: gen/app.js\n",
    ),
    Bad(
        "filters_int",
        Y,
        3,
        "js_all",
        "'filters' must be a string or a list of strings",
        config="js_all:\n  contents: [js/main.js]\n  filters: 3\n  output: gen/app.js\n",
    ),
    Bad(
        "output_list",
        Y,
        3,
        "js_all",
        "'output' must be a string",
        config="js_all:\n  contents: [js/main.js]\n  output: [a]\n",
    ),
    Bad(
        "output_null",
        Y,
        3,
        "js_all",
        "'output' must be a string",
        config="js_all:\n  contents: [js/main.js]\n  output:\n",
    ),
    Bad(
        "bundle_is_number",
        Y,
        1,
        "js_all",
        "'7' not found",
        config="js_all: 7\n",
    ),
    # A block scalar instead of a list: the value holds newlines, the message must not.
    Bad(
        "contents_block_scalar",
        Y,
        2,
        "js_all",
        "",
        config="js_all:\n  contents: |\n    js/main.js\n    js/util.js\n  output: gen/app.js\n",
    ),
    # --- unknown keys and filters, missing keys
    Bad(
        "unknown_key",
        Y,
        5,
        "css_all",
        "unknown key 'outptu'",
        config=CSS + "  outptu: gen/x.css\n",
    ),
    Bad(
        "unknown_filter",
        Y,
        3,
        "js_all",
        "unknown filter 'uglifyj'",
        config=(
            "js_all:\n  contents: [js/main.js]\n  filters: jsmin,uglifyj\n  output: gen/app.js\n"
        ),
    ),
    Bad(
        "filter_for_other_kind",
        Y,
        1,
        "js_all",
        "mixes CSS and JS",
        config="js_all:\n  contents: [js/main.js]\n  filters: cssmin\n  output: gen/app.js\n",
    ),
    Bad(
        "no_contents",
        Y,
        1,
        "js_all",
        "has no 'contents'",
        config="js_all:\n  filters: jsmin\n  output: gen/app.js\n",
    ),
    # --- empty bundles
    Bad(
        "contents_empty_list",
        Y,
        2,
        "js_all",
        "'contents' is empty",
        config="js_all:\n  contents: []\n  output: gen/app.js\n",
    ),
    Bad(
        "contents_empty_string",
        Y,
        2,
        "js_all",
        "empty",
        config="js_all:\n  contents: ''\n  output: gen/app.js\n",
    ),
    # --- missing sources and globs
    Bad(
        "missing_source",
        Y,
        4,
        "js_all",
        "source 'js/missing.js' not found",
        config=(
            "js_all:\n  contents:\n    - js/main.js\n    - js/missing.js\n  output: gen/app.js\n"
        ),
    ),
    Bad(
        "glob_matches_nothing",
        Y,
        2,
        "js_all",
        "glob 'js/*.coffee' matches no file",
        config="js_all:\n  contents: [js/*.coffee]\n  output: gen/app.js\n",
    ),
    Bad(
        "glob_matches_only_a_folder",
        Y,
        2,
        "js_all",
        "glob 'js/pack*.js' matches no file",
        config="js_all:\n  contents: [js/pack*.js]\n  output: gen/app.js\n",
        setup=_mkdir("static/js/package.js"),
    ),
    Bad(
        "source_is_a_folder",
        Y,
        2,
        "js_all",
        "source 'js/package.js' is a directory",
        config="js_all:\n  contents: [js/package.js, js/main.js]\n  output: gen/app.js\n",
        setup=_mkdir("static/js/package.js"),
    ),
    Bad(
        "source_wrong_type",
        Y,
        1,
        "js_all",
        "source 'img/leaf.svg' is not .scss, .sass, .css or .js",
        config="js_all:\n  contents: [js/main.js, img/leaf.svg]\n  output: gen/app.js\n",
    ),
    Bad(
        "mixed_css_and_js",
        Y,
        1,
        "mixed",
        "mixes CSS and JS",
        config="mixed:\n  contents: [js/main.js, scss/main.scss]\n  output: gen/app.js\n",
    ),
    # --- nesting cycles
    Bad(
        "nests_itself",
        Y,
        2,
        "js_all",
        "contains itself",
        config="js_all:\n  contents: [js_all, js/main.js]\n  output: gen/app.js\n",
    ),
    Bad(
        "nesting_cycle",
        Y,
        1,
        "js_a",
        "nesting cycle: js_a -> js_b -> js_c -> js_a",
        config=(
            "js_a:\n  contents: [js_b, js/main.js]\n  output: gen/a.js\n"
            "js_b:\n  contents: [js_c]\n"
            "js_c:\n  contents: [js/util.js, js_a]\n"
        ),
    ),
    # --- outputs that collide or escape static/gen/
    Bad(
        "outputs_collide",
        Y,
        4,
        "js_b",
        "output 'gen/app.js' is also written by bundle 'js_a'",
        config=(
            "js_a:\n  contents: [js/main.js]\n  output: gen/app.js\n"
            "js_b:\n  contents: [js/util.js]\n  output: gen/app.js\n"
        ),
    ),
    Bad(
        "outputs_collide_by_case",
        Y,
        4,
        "js_b",
        "also written by bundle 'js_a'",
        config=(
            "js_a:\n  contents: [js/main.js]\n  output: gen/app.js\n"
            "js_b:\n  contents: [js/util.js]\n  output: gen/App.js\n"
        ),
    ),
    Bad(
        "output_dotdot",
        Y,
        3,
        "js_all",
        "must be a relative path inside static/",
        config="js_all:\n  contents: [js/main.js]\n  output: gen/../../app/evil.js\n",
    ),
    Bad(
        "output_dotdot_back_into_gen",
        Y,
        3,
        "js_all",
        "must be a relative path inside static/",
        config="js_all:\n  contents: [js/main.js]\n  output: ../static/gen/app.js\n",
    ),
    Bad(
        "output_absolute",
        Y,
        3,
        "js_all",
        "must be a relative path inside static/",
        config="js_all:\n  contents: [js/main.js]\n  output: /tmp/evil.js\n",
    ),
    Bad(
        "output_leading_dot",
        Y,
        3,
        "js_all",
        "may use only letters, digits and '._-/'",
        config="js_all:\n  contents: [js/main.js]\n  output: gen/.app.js\n",
    ),
    Bad(
        "output_wrong_suffix",
        Y,
        3,
        "js_all",
        "must end in .css or .js",
        config="js_all:\n  contents: [js/main.js]\n  output: gen/app.html\n",
    ),
    Bad(
        "output_bad_placeholder",
        Y,
        3,
        "js_all",
        "may use only letters, digits and '._-/'",
        config="js_all:\n  contents: [js/main.js]\n  output: gen/app.%(hash)s.js\n",
    ),
    Bad(
        "gen_symlinked_outside_static",
        Y,
        3,
        "js_all",
        "resolves outside static/gen/",
        config="js_all:\n  contents: [js/main.js]\n  output: gen/app.js\n",
        setup=_gen_symlinked_outside,
    ),
    Bad(
        "gen_subfolder_symlinked_outside",
        Y,
        3,
        "js_all",
        "resolves outside static/gen/",
        config="js_all:\n  contents: [js/main.js]\n  output: gen/js/app.js\n",
        setup=_symlink("static/gen/js", "templates"),
    ),
    # --- sources outside static/
    Bad(
        "source_dotdot",
        Y,
        2,
        "js_all",
        "source '../app/__init__.py' is outside static/",
        config="js_all:\n  contents: [../app/__init__.py]\n  output: gen/app.js\n",
    ),
    Bad(
        "source_dotdot_existing",
        Y,
        2,
        "js_all",
        "source 'js/../../assets.yml' is outside static/",
        config="js_all:\n  contents: [js/../../assets.yml]\n  output: gen/app.js\n",
    ),
    Bad(
        "source_absolute",
        Y,
        2,
        "js_all",
        "source '/etc/passwd' must be relative to static/",
        config="js_all:\n  contents: [/etc/passwd]\n  output: gen/app.js\n",
    ),
    Bad(
        "source_symlink_outside",
        Y,
        2,
        "js_all",
        "source 'js/secret.js' is outside static/",
        config="js_all:\n  contents: [js/main.js, js/secret.js]\n  output: gen/app.js\n",
        files={"secret.js": "window.SECRET = 'do not bundle';\n"},
        setup=_symlink("static/js/secret.js", "secret.js"),
    ),
    Bad(
        "glob_reaches_symlink_outside",
        Y,
        2,
        "js_all",
        "source 'js/secret.js' is outside static/",
        config="js_all:\n  contents: [js/*.js]\n  output: gen/app.js\n",
        files={"secret.js": "window.SECRET = 'do not bundle';\n"},
        setup=_symlink("static/js/secret.js", "secret.js"),
    ),
    # --- sources that do not compile (fixtures); `check` lists the same error
    Bad("scss_syntax_error", "static/scss/main\\.scss", 6, "css_all", "SCSS error", check="listed"),
    Bad(
        "scss_missing_import",
        "static/scss/main\\.scss",
        3,
        "css_all",
        "SCSS error",
        check="listed",
    ),
    Bad(
        "scss_partial_error",
        "static/scss/_variables\\.scss",
        3,
        "css_all",
        "SCSS error",
        check="listed",
    ),
    Bad(
        "css_url_missing_file",
        "static/scss/gallery\\.scss",
        2,
        "css_gallery",
        "url(../img/nope.png) names a file that does not exist",
        files={"static/scss/gallery.scss": "// gallery\n.x { background: url(../img/nope.png) }\n"},
        check="listed",
    ),
    Bad(
        "non_utf8_source",
        "static/js/gallery\\.js",
        2,
        "js_gallery",
        "not valid UTF-8",
        check="listed",
    ),
    Bad(
        "js_unterminated_string",
        "static/js/gallery\\.js",
        2,
        "js_gallery",
        "SyntaxError: unterminated string",
        check="listed",
        column=19,  # the opening quote
    ),
    Bad(
        "js_syntax_error",
        "static/js/main\\.js",
        3,
        "js_all",
        "SyntaxError: unexpected '='",
        check="listed",
        column=14,
    ),
    Bad(
        "js_module_syntax",
        "static/js/gallery\\.js",
        2,
        "js_gallery",
        "'import' declarations only work in a module script",
        check="listed",
        column=1,
    ),
    # --- static/gen/ cannot be written: the build must fail cleanly, old files intact
    Bad(
        "gen_read_only",
        "static/gen",
        None,
        None,
        "cannot write build output",
        files={"static/js/gallery.js": "window.__gallery = 1;" + JS_EDIT},
        check=None,
        read_only_gen=True,
    ),
    Bad(
        "gen_is_a_file",
        "static/gen",
        None,
        None,
        "cannot write build output",
        setup=_gen_is_a_file,
        check=None,
    ),
    Bad(
        "gen_subfolder_is_a_file",
        "static/gen/css",
        None,
        None,
        "cannot write build output",
        config=(
            "css_all:\n  contents: [scss/main.scss]\n  filters: libsass\n"
            "  output: gen/css/app.css\n"
        ),
        setup=_gen_subfolder_is_a_file,
        check=None,
    ),
]


def expected_prefix(case: Bad) -> re.Pattern[str]:
    where = case.file + (f":{case.line}" if case.line else "")
    if case.line and case.column:
        where += f":{case.column}"
    if case.line == ANY_LINE:
        where = case.file + r"(:\d+)?"
    who = f"bundle '{re.escape(case.bundle)}': " if case.bundle else ""
    if case.bundle == ANY_BUNDLE:
        who = "(bundle '[^']+': )?"
    return re.compile(f"^{where}: {who}")


def gen_state(root: Path) -> dict[str, bytes]:
    """What static/gen/ holds (a folder, or a file standing where it should be)."""
    gen = root / "static" / "gen"
    if gen.is_file():
        return {"": gen.read_bytes()}
    return snapshot(gen)


def apply(case: Bad, root: Path) -> None:
    overlay = BAD / case.name
    if overlay.is_dir():
        shutil.copytree(overlay, root, dirs_exist_ok=True)
    if case.config is not None:
        (root / "assets.yml").write_text(case.config, encoding="utf-8")
    for rel, content in case.files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    if case.setup:
        case.setup(root)


def test_corpus_is_large_and_fixture_folders_are_used() -> None:
    names = [c.name for c in CASES]
    assert len(names) >= 30
    assert len(set(names)) == len(names)
    folders = {p.name for p in BAD.iterdir() if p.is_dir()}
    # Every fixture folder belongs to a case, and no fixture-only case lacks its folder.
    assert folders <= set(names)
    for c in CASES:
        if c.config is None and not (c.files or c.setup):
            assert c.name in folders, c.name


def error_line_problems(case: Bad, stderr: str) -> list[str]:
    """What is wrong with the one error line ``build`` printed (empty: nothing)."""
    if "Traceback" in stderr:
        return [f"a traceback:\n{stderr}"]
    lines = stderr.splitlines()
    if len(lines) != 1:
        return [f"{len(lines)} lines on stderr instead of one:\n{stderr}"]
    line, problems = lines[0], []
    if not ERROR_LINE.match(line):
        problems.append(f"not `file[:line[:col]]: [bundle 'x': ]message`: {line!r}")
    if not expected_prefix(case).match(line):
        problems.append(f"does not start with {expected_prefix(case).pattern[1:]!r}: {line!r}")
    if case.needle.lower() not in line.lower():
        problems.append(f"does not say {case.needle!r}: {line!r}")
    return problems


def start_flask(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=root,
        env=flask_env(root),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=CLI_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        return -1, f"timed out after {CLI_TIMEOUT} s\n{err}"
    return proc.returncode, err


@pytest.mark.parametrize("case", CASES, ids=str)
def test_bad_input_is_one_clear_line_and_keeps_the_build(case: Bad, project: Path) -> None:
    build_project(project)
    assert read_manifest(project)["bundles"], "the good build must come first"
    apply(case, project)
    before = gen_state(project)
    assert before

    with contextlib.ExitStack() as stack:
        if case.read_only_gen:
            stack.enter_context(read_only(project / "static" / "gen"))
        # Neither command may write anything here, so they run side by side (saves time).
        build = start_flask(project, "assets", "build")
        check = start_flask(project, "assets", "check") if case.check else None
        code, err = finish(build)
        check_code, check_err = finish(check) if check else (None, "")

    problems = []
    if code != 1:
        problems.append(f"build exited {code}, not 1")
    problems += [f"build: {p}" for p in error_line_problems(case, err)]
    if gen_state(project) != before:
        problems.append("the previous build in static/gen/ changed")
    if check:
        error = err.strip()
        if check_code != 1:
            problems.append(f"check exited {check_code}, not 1")
        if "Traceback" in check_err:
            problems.append(f"check: a traceback:\n{check_err}")
        elif case.check == "same" and check_err.splitlines() != [error]:
            problems.append(f"check did not print the same one line:\n{check_err}")
        elif case.check == "listed" and error not in check_err.splitlines():
            problems.append(f"check did not list the build's error:\n{check_err}")
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- empty source


def test_empty_js_source_builds_and_is_recorded(built: Path) -> None:
    """Decision: an empty JS file is valid input (a placeholder module); it builds."""
    (built / "static" / "js" / "empty.js").write_bytes(b"")
    config = (built / "assets.yml").read_text()
    config = config.replace("contents: [js/gallery.js]", "contents: [js/empty.js, js/gallery.js]")
    assert "js/empty.js" in config
    (built / "assets.yml").write_text(config)
    result = run_flask(built, "assets", "build", timeout=CLI_TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    entry = read_manifest(built)["bundles"]["js_gallery"]
    assert entry["sources"][0] == "js/empty.js"
    assert b"gallery" in (built / "static" / entry["file"]).read_bytes()


def test_bundle_of_only_an_empty_source_builds(built: Path) -> None:
    (built / "static" / "js" / "empty.js").write_bytes(b"")
    (built / "assets.yml").write_text("js_empty:\n  contents: [js/empty.js]\n  output: gen/e.js\n")
    result = run_flask(built, "assets", "build", timeout=CLI_TIMEOUT)
    assert result.returncode == 0, result.stderr
    entry = read_manifest(built)["bundles"]["js_empty"]
    assert (built / "static" / entry["file"]).read_bytes() == b""
    assert entry["bytes"] == 0


# --------------------------------------------------------------------------- loader fuzzing

DEMO = Path(__file__).resolve().parent.parent
NAMES = [
    "contents",
    "filters",
    "output",
    "depends",
    "css_all",
    "js_all",
    "js_lib",
    "css_gallery",
    "js_gallery",
    "scss/main.scss",
    "scss/_variables.scss",
    "scss/*.scss",
    "js/main.js",
    "js/util.js",
    "js/*.js",
    "img/leaf.svg",
    "gen/app.css",
    "gen/app.js",
    "gen/app.%(version)s.js",
    "../assets.yml",
    "/etc/passwd",
    "libsass",
    "cssmin",
    "rcssmin",
    "jsmin",
    "rjsmin",
    "libsass,cssmin",
    "",
    "gen",
    "~",
]
scalars = st.one_of(
    st.sampled_from(NAMES),
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet="ab/.*%,_-: ", max_size=8),
)
keys = st.one_of(st.sampled_from(NAMES), st.integers(0, 2), st.none())
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=16,
)


@pytest.fixture(scope="module")
def fuzz_root() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fuzz-spec-") as tmp:
        root = Path(tmp)
        shutil.copytree(DEMO / "static", root / "static", ignore=shutil.ignore_patterns("gen"))
        yield root


def _load_or_config_error(root: Path, text: str | bytes) -> None:
    path = root / "assets.yml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    try:
        spec = load_spec(path, root / "static")
    except ConfigError as exc:
        assert str(exc).startswith(os.path.relpath(path)), str(exc)
        assert "\n" not in str(exc)
        return
    assert isinstance(spec, Spec)
    check_spec_invariants(spec)


def check_spec_invariants(spec: Spec) -> None:
    """What a loaded spec promises the builder: nothing escapes static/ or static/gen/."""
    static = os.path.realpath(spec.static_folder)
    outputs = set()
    for name, bundle in spec.bundles.items():
        # "": a container (no output) of both kinds, or of nothing
        assert bundle.kind in ("css", "js") or not bundle.output, (name, bundle.kind)
        if bundle.output:
            assert bundle.output.startswith("gen/") and ".." not in bundle.output.split("/")
            assert bundle.output.endswith((".css", ".js"))
            assert bundle.output.lower() not in outputs
            outputs.add(bundle.output.lower())
        for rel in spec.files(name):
            real = os.path.realpath(os.path.join(spec.static_folder, rel))
            assert real.startswith(static + os.sep), (name, rel)
            assert os.path.isfile(real), (name, rel)


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# The narrower strategies need fewer examples to cover what they can reach.
FUZZ_SMALL = settings(FUZZ, max_examples=100)


BUNDLE_NAMES = st.sampled_from(NAMES[4:9])


def _shared(name: str, part: object) -> dict[object, object]:
    # One list used twice: safe_dump writes it once with an anchor, then an alias.
    shared = [part]
    return {name: {"contents": shared, "output": "gen/app.js"}, f"{name}_2": shared}


def _self_nested(name: str, part: object) -> dict[object, object]:
    # A bundle whose contents contain the bundle itself: a recursive alias in YAML.
    contents: list[object] = [part]
    bundle = {"contents": contents, "output": "gen/app.js"}
    contents.insert(0, bundle)
    return {name: bundle}


@FUZZ
@given(doc=documents)
def test_any_yaml_document_loads_or_raises_config_error(fuzz_root: Path, doc: object) -> None:
    _load_or_config_error(fuzz_root, yaml.safe_dump(doc))


@FUZZ_SMALL
@given(doc=st.dictionaries(BUNDLE_NAMES, documents, min_size=1, max_size=4))
def test_any_bundle_mapping_loads_or_raises_config_error(fuzz_root: Path, doc: object) -> None:
    _load_or_config_error(fuzz_root, yaml.safe_dump(doc))


@FUZZ_SMALL
@given(
    doc=st.builds(_shared, BUNDLE_NAMES, documents)
    | st.builds(_self_nested, BUNDLE_NAMES, documents)
)
def test_yaml_with_anchors_and_aliases_loads_or_raises_config_error(
    fuzz_root: Path, doc: object
) -> None:
    text = yaml.safe_dump(doc)
    assert "*id" in text or "&id" in text
    _load_or_config_error(fuzz_root, text)


FRAGMENTS = [
    "css_all:",
    "js_all:",
    " &a",
    " *a",
    " {",
    "}",
    " [",
    "]",
    "contents:",
    "output:",
    "filters:",
    "depends:",
    "\n",
    "\n  ",
    "\n- ",
    ", ",
    " js/main.js",
    " js/*.js",
    " scss/main.scss",
    " gen/app.js",
    " gen/app.css",
    " ../assets.yml",
    " jsmin",
    " libsass",
    " !!binary aGk=",
    " !!int 3",
    " !!python/name:os.system",
    "? ",
    ": ",
    "'",
    '"',
    " #",
    "\t",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    " |\n  ",
    " >-\n  ",
    " ~",
    " null",
    " 0x1f",
]


@FUZZ_SMALL
@given(parts=st.lists(st.sampled_from(FRAGMENTS), max_size=30))
def test_yaml_like_text_loads_or_raises_config_error(fuzz_root: Path, parts: list[str]) -> None:
    _load_or_config_error(fuzz_root, "".join(parts))


@FUZZ_SMALL
@given(text=st.text(alphabet=st.sampled_from(list("ab:- \t\n[]{}&*!|>'\"%@#,?.\\/")), max_size=60))
def test_any_text_loads_or_raises_config_error(fuzz_root: Path, text: str) -> None:
    _load_or_config_error(fuzz_root, text)


@FUZZ_SMALL
@given(data=st.binary(max_size=40))
def test_any_bytes_load_or_raise_config_error(fuzz_root: Path, data: bytes) -> None:
    _load_or_config_error(fuzz_root, data)


def test_an_unknown_bundle_on_a_large_site_names_the_closest_not_all(tmp_path: Path) -> None:
    """With 30 bundles the error offers the near names and a count, on one short line."""
    root = tmp_path / "site"
    (root / "static" / "css").mkdir(parents=True)
    lines = []
    for i in range(30):
        (root / "static" / "css" / f"page{i}.css").write_text(f".p{i} {{ top: {i}px; }}\n")
        lines += [f"css_page{i}:", f"  contents: css/page{i}.css", f"  output: gen/page{i}.css"]
    (root / "assets.yml").write_text("\n".join(lines) + "\n")
    result = run_flask(root, "assets", "build", "css_pgae7")
    assert result.returncode == 1
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and len(err[0]) < 120, result.stderr
    assert "unknown bundle 'css_pgae7' (did you mean css_page7" in err[0]
    assert "30 declared" in err[0] and "css_page29" not in err[0]


def test_known_names_lists_a_few_in_full() -> None:
    from app.assets.errors import known_names

    assert known_names("x", ["a", "b"]) == "(declared: a, b)"
    assert known_names("x", [], "built") == "(built: none)"
    many = [f"js_{i}" for i in range(20)]
    assert known_names("zzz", many) == "(20 declared, none named like it)"
