"""JavaScript syntax errors never ship: the parser, and the pipeline around it.

Unit tests of ``app.assets.jsparse`` first (what browsers accept must pass; errors carry
the exact line and column), then the effects through the public surface: ``flask assets
build`` and ``check``, the development overlay, a minifier that breaks code, and real
third-party libraries (the npm corpus of ``tests/test_minify.py``).
"""

from __future__ import annotations

import importlib.util
import pickle
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsmin
import pytest
import rjsmin
from conftest import REPO, build_project, read_manifest, run_flask, snapshot
from flask import Flask

from app.assets import engines, minifiers
from app.assets.bridge import filters as bridge_filters
from app.assets.bridge.bundle import compile_bundle
from app.assets.cache import Cache
from app.assets.cli import assets
from app.assets.declare import load_spec
from app.assets.errors import AssetError, BuildError
from app.assets.jsparse import JSSyntaxError, check_syntax

# --------------------------------------------------------------------------- valid syntax

VALID = {
    "class static block": "class A { static x = 1; static { A.y = A.x + 1; } }",
    "private fields and #x in o": (
        "class C { #p = 1; static #s() {} get #g() { return 1 }\n"
        "  static has(o) { return #p in o; } }"
    ),
    "regex v flag": r"const re = /[\p{L}--[a-z]]/v; const u = /\p{Lu}/u;",
    "regex flags dgimsuy": "const r = /a(?<n>b)/dgimsy;",
    "optional chaining": "const a = o?.b?.[k]?.(1) ?? 0;",
    "logical assignment": "a ??= 1; b ||= 2; c &&= 3;",
    "numeric separators": "const n = 1_000_000, h = 0xFF_FF, b = 0b1010_0101, e = 1e1_0;",
    "bigint": "const big = 123n * 0x1fn ** 2n;",
    "hashbang": "#!/usr/bin/env node\nconsole.log(1);\n",
    "byte order mark": "\ufeffvar a = 1;\n",
    "dynamic import": "import('./x.js').then((m) => m.default);",
    "async generators": "async function* g() { for await (const x of y) yield* x; }",
    "destructuring and spread": "const { a, ...rest } = o; [a, , b] = [...c];",
    "template literal": "const t = tag`a ${b + `c ${d}`} e`;",
    "arrow functions": "const f = async (a = 1, { b } = {}) => ({ a, b });",
    "labels": "outer: for (;;) { for (;;) { break outer; } }",
    "getters and computed keys": "const o = { get [k]() { return 1; }, async *m() {} };",
    "new.target": "function F() { if (!new.target) throw new TypeError(); }",
    "ASI across lines": "let a = 1\nlet b = a\n++b\n",
    "line continuation in string": "var s = 'a\\\nb';",
    "html comment": "<!-- old browsers\nvar a = 1;\n",
    "class fields and arrow methods": "class B extends A { x = 1; m = () => this.x; }",
    "exponent and optional catch": "try { x **= 2 } catch { }",
    "empty file": "",
    "only comments": "// nothing\n/* at all */\n",
}

MODULE_VALID = {
    "import attributes": "import data from './a.json' with { type: 'json' };",
    "top-level await": "const r = await fetch('/x');",
    "import.meta": "const here = import.meta.url;",
    "export forms": "export const a = 1; export default function () {}\nexport * from './b.js';",
    "import forms": "import x, { y as z } from './m.js'; import * as ns from './n.js';",
}


@pytest.mark.parametrize("source", VALID.values(), ids=VALID.keys())
def test_modern_syntax_is_accepted_in_classic_scripts(source: str) -> None:
    check_syntax(source)


@pytest.mark.parametrize("source", MODULE_VALID.values(), ids=MODULE_VALID.keys())
def test_module_syntax_is_accepted_in_modules(source: str) -> None:
    check_syntax(source, module=True)


# --------------------------------------------------------------------------- errors

INVALID = [
    # (source, message, line, column)
    # tree-sitter skips the first '=' of the two (and reads `status = Shop`).
    ("var status = = Shop;", "SyntaxError: unexpected '='", 1, 12),
    ("var a = 1;\n\n  var status = = Shop;\n", "SyntaxError: unexpected '='", 3, 14),
    ('window.greeting = "hello;\nwindow.other = 1;\n', "SyntaxError: unterminated string", 1, 19),
    ("var s = 'abc\ndef';\n", "SyntaxError: unterminated string", 1, 9),
    ("let t = `abc\n", "SyntaxError: unterminated template literal", 1, 9),
    ("x = /abc\n", "SyntaxError: unterminated regular expression", 1, 5),
    ("var a = 1\nvar b = (2;\n", "SyntaxError: missing ')'", 2, 11),
    ("if (a) {\n  b();\n", "SyntaxError: missing '}'", 2, 7),
    ("var a = 1 2;", "SyntaxError: unexpected '2'", 1, 11),
    ("}\n", "SyntaxError: unexpected '}'", 1, 1),
    ("f(\n", "SyntaxError: unexpected end of input after 'f('", 1, 1),
    # Columns count characters, not UTF-8 bytes.
    ("const café = 'é'; x = = 1;", "SyntaxError: unexpected '='", 1, 23),
    ("class C { accessor y = 1 }", None, 1, None),  # decorators proposal: not shipped
]


@pytest.mark.parametrize(("source", "message", "line", "column"), INVALID)
def test_first_error_has_exact_position_and_message(
    source: str, message: str | None, line: int, column: int | None
) -> None:
    with pytest.raises(JSSyntaxError) as info:
        check_syntax(source)
    err = info.value
    assert err.message.startswith("SyntaxError: ")
    if message is not None:
        assert err.message == message
    assert err.line == line
    if column is not None:
        assert err.column == column
    assert "\n" not in err.message


def test_long_offending_text_is_truncated() -> None:
    with pytest.raises(JSSyntaxError) as info:
        check_syntax("x = (a b c d e f g h i j k l m n o p q r s t u v w);")
    assert len(info.value.message) < 80, info.value.message


def test_first_of_several_errors_is_reported() -> None:
    with pytest.raises(JSSyntaxError) as info:
        check_syntax("ok();\nvar a = = 1;\nvar b = = 2;\n")
    assert (info.value.line, info.value.column) == (2, 7)


@pytest.mark.parametrize(
    ("source", "word", "line", "column"),
    [
        ("import x from './x.js';\n", "'import' declarations", 1, 1),
        ("var a;\n  export const b = 1;\n", "'export' declarations", 2, 3),
        ("var a;\nconst u = import.meta.url;\n", "'import.meta'", 2, 11),
    ],
)
def test_module_syntax_is_an_error_in_classic_scripts(
    source: str, word: str, line: int, column: int
) -> None:
    with pytest.raises(JSSyntaxError) as info:
        check_syntax(source)
    assert info.value.message.startswith(f"SyntaxError: {word}")
    assert 'a module script (type="module")' in info.value.message
    assert (info.value.line, info.value.column) == (line, column)
    check_syntax(source, module=True)


def test_words_import_and_export_elsewhere_are_not_module_syntax() -> None:
    check_syntax(
        "// import x from 'y'\nvar s = 'export default 1; import.meta';\n"
        "o.import = 1; o.export = 2; import('./lazy.js');\n"
    )


def test_syntax_error_pickles_and_prints_its_position() -> None:
    err = JSSyntaxError("SyntaxError: unexpected '='", 3, 14)
    back = pickle.loads(pickle.dumps(err))
    assert (back.message, back.line, back.column) == (err.message, 3, 14)
    assert str(err) == "SyntaxError: unexpected '=' (line 3, column 14)"


def test_parallel_checks_are_safe() -> None:
    good = "function f(a) { return a ?? 1; }\n" * 2000
    bad = good + "var x = = 1;\n"

    def run(i: int) -> tuple[int, int] | None:
        try:
            check_syntax(bad if i % 2 else good)
        except JSSyntaxError as exc:
            return exc.line, exc.column
        return None

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(run, range(64)))
    assert results == [None if i % 2 == 0 else (2001, 7) for i in range(64)]
    assert threading.active_count() >= 1


# --------------------------------------------------------------------------- AssetError


def test_asset_error_column_is_formatted_and_survives_pickling() -> None:
    err = BuildError("SyntaxError: x", file="static/js/a.js", line=3, column=14, bundle="js_all")
    assert str(err) == "static/js/a.js:3:14: bundle 'js_all': SyntaxError: x"
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is BuildError and back.column == 14 and str(back) == str(err)
    # Without a column (or a line) the format is as before.
    assert str(AssetError("m", file="f", line=2, bundle="b")) == "f:2: bundle 'b': m"
    assert str(AssetError("m", file="f", column=4)) == "f: m"


# --------------------------------------------------------------------------- the pipeline

BROKEN = "var status = = Shop;"


def break_main(root: Path) -> tuple[int, int]:
    """Put ``BROKEN`` on main.js's third line; return where its error is (line, col)."""
    main = root / "static" / "js" / "main.js"
    lines = main.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = "  " + BROKEN + "\n" + lines[2]
    main.write_text("".join(lines), encoding="utf-8")
    return 3, 2 + BROKEN.index("=") + 1


def test_build_fails_with_one_line_and_keeps_the_previous_build(built: Path) -> None:
    before = snapshot(built / "static" / "gen")
    line, col = break_main(built)
    result = run_flask(built, "assets", "build")
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        f"static/js/main.js:{line}:{col}: bundle 'js_all': SyntaxError: unexpected '='"
    ]
    assert snapshot(built / "static" / "gen") == before


def test_check_reports_a_source_that_gained_an_error(built: Path) -> None:
    line, col = break_main(built)
    result = run_flask(built, "assets", "check")
    assert result.returncode == 1
    out = result.stdout + result.stderr
    assert "Traceback" not in out
    assert f"static/js/main.js:{line}:{col}: bundle 'js_all': SyntaxError:" in out


def test_module_syntax_in_a_bundle_names_the_file(built: Path) -> None:
    (built / "static" / "js" / "gallery.js").write_text("import x from './x.js';\n")
    result = run_flask(built, "assets", "build")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "static/js/gallery.js:1:1: bundle 'js_gallery': SyntaxError: 'import' declarations "
        'only work in a module script (type="module")'
    ]


def test_an_unchanged_source_is_not_parsed_again_on_a_cached_build(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Verdicts are cached only for large texts (small ones parse faster than a cache
    # round trip): every text counts as large here, to test the caching itself.
    monkeypatch.setattr(bridge_filters, "PARSE_CACHE_MIN", 0)
    spec = load_spec(project / "assets.yml", project / "static")
    cache = Cache(tmp_path / "cache")
    parsed: list[str] = []
    real = bridge_filters.check_syntax

    def counting(text: str, **kw: bool) -> None:
        parsed.append(text)
        real(text, **kw)

    monkeypatch.setattr(bridge_filters, "check_syntax", counting)
    first = compile_bundle(spec, "js_all", cache=cache)
    # Three sources and the bundle's minified output.
    assert len(parsed) == 4
    parsed.clear()
    assert compile_bundle(spec, "js_all", cache=cache) == first
    assert parsed == []
    # An edit re-parses that file (and the new output) only.
    main = project / "static" / "js" / "main.js"
    main.write_text(main.read_text() + "\nwindow.edited = 1;\n")
    compile_bundle(spec, "js_all", cache=cache)
    assert len(parsed) == 2 and "window.edited = 1;" in parsed[0]
    # An error is never cached: it is reported again, with its position.
    break_main(project)
    for _ in range(2):
        with pytest.raises(BuildError, match=r"main\.js:3:\d+: bundle 'js_all'"):
            compile_bundle(spec, "js_all", cache=cache)


def test_small_texts_are_parsed_not_cached(project: Path, tmp_path: Path) -> None:
    spec = load_spec(project / "assets.yml", project / "static")
    cache = Cache(tmp_path / "cache")
    compile_bundle(spec, "js_gallery", cache=cache)
    hits, misses = cache.hits, cache.misses
    compile_bundle(spec, "js_gallery", cache=cache)
    # One lookup, a hit: the minified gallery.js; no syntax verdict was stored or read.
    assert (cache.hits - hits, cache.misses - misses) == (1, 0)


def test_development_builds_are_checked_too(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)  # error paths are shown relative to cwd
    spec = load_spec(project / "assets.yml", project / "static")
    break_main(project)
    with pytest.raises(BuildError, match=r"^static/js/main\.js:3:\d+: bundle 'js_all'"):
        compile_bundle(spec, "js_all", minify=False, dev=True)


@pytest.mark.parametrize("engine", ["jsmin", "rjsmin"])
def test_a_minifier_producing_invalid_javascript_is_caught(
    built: Path, monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    module = {"jsmin": jsmin, "rjsmin": rjsmin}[engine]
    real = module.jsmin
    # Keeps every literal (so the literal check passes) but unbalances the program.
    monkeypatch.setattr(
        module, "jsmin", lambda s, **kw: real(s, **kw) + ("\n(" if "Shop" in s else "")
    )
    (built / "assets.yml").write_text(
        (built / "assets.yml").read_text().replace("filters: jsmin", f"filters: {engine}")
    )
    spec = load_spec(built / "assets.yml", built / "static")
    with pytest.raises(BuildError) as info:
        compile_bundle(spec, "js_gallery")
    message = str(info.value)
    # The guard parses each file's minified output with the same parser: the file is named.
    assert re.fullmatch(
        rf".*static/js/gallery\.js: bundle 'js_gallery': {engine}: {engine} produced output "
        r"that does not parse: SyntaxError: .+",
        message,
    ), message


def test_a_join_that_breaks_the_bundle_is_caught_by_the_bundle_parse(
    built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.assets.bridge import filters as bridge_filters

    real = bridge_filters.join_js
    monkeypatch.setattr(bridge_filters, "join_js", lambda parts: real(parts) + "\n(")
    spec = load_spec(built / "assets.yml", built / "static")
    with pytest.raises(BuildError) as info:
        compile_bundle(spec, "js_gallery")
    message = str(info.value)
    assert re.fullmatch(
        r"bundle 'js_gallery': jsmin produced invalid JavaScript: SyntaxError: .+ "
        r"at line \d+ of the minified output",
        message,
    ), message


def test_a_minifier_bug_fails_the_cli_build_and_keeps_the_previous_one(
    built: Path, make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(built / "static" / "gen")
    real = jsmin.jsmin
    monkeypatch.setattr(jsmin, "jsmin", lambda s, **kw: real(s, **kw) + "\n(")
    monkeypatch.chdir(built)
    app = make_app(built)
    # -j 1: the patched minifier lives in this process (a pool may start clean workers).
    result = app.test_cli_runner().invoke(assets, ["build", "--no-cache", "-j", "1"])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert re.search(
        r"^static/js/\w+\.js: bundle 'js_\w+': jsmin: jsmin produced output that does not "
        r"parse: SyntaxError: .+$",
        lines[0],
    ), lines[0]
    assert snapshot(built / "static" / "gen") == before


# --------------------------------------------------------------------------- development

TAG = re.compile(r'<script\b[^>]*data-bundle="js_all"[^>]*>')
SRC = re.compile(r'src="([^"]+)"')
OVERLAY = re.compile(r'<div id="assets-error-overlay".*?</div>', re.DOTALL)


def js_all_url(html: str) -> str:
    tag = TAG.search(html)
    assert tag, html
    src = SRC.search(tag.group())
    assert src
    return src.group(1)


def test_dev_overlay_keeps_last_good_js_until_fixed(
    project: Path, make_app: Callable[..., Flask]
) -> None:
    client = make_app(project, ASSETS_AUTO_BUILD=True, DEBUG=True).test_client()
    html = client.get("/").get_data(as_text=True)
    assert OVERLAY.search(html) is None
    good = js_all_url(html)
    main = project / "static" / "js" / "main.js"
    kept = main.read_bytes()

    line, column = break_main(project)
    html = client.get("/").get_data(as_text=True)
    box = OVERLAY.search(html)
    assert box is not None, "no error overlay for a JS syntax error"
    assert re.search(rf"static/js/main\.js:{line}:{column}\b", box.group()), box.group()
    assert "js_all" in box.group() and "SyntaxError" in box.group()
    assert js_all_url(html) == good
    assert client.get(good).status_code == 200

    main.write_bytes(kept + b"\nwindow.fixed = 1;\n")
    html = client.get("/").get_data(as_text=True)
    assert OVERLAY.search(html) is None
    fixed = js_all_url(html)
    assert fixed != good
    assert b"window.fixed" in client.get(fixed).get_data()


# --------------------------------------------------------------------------- real code


LIBRARIES = {
    "jquery": "jquery/dist/jquery.js",
    "bootstrap": "bootstrap/dist/js/bootstrap.bundle.js",
    "htmx": "htmx.org/dist/htmx.js",
    "alpine": "alpinejs/dist/cdn.js",
    "lodash": "lodash/lodash.js",
}


@pytest.fixture(scope="module")
def corpus() -> Path:
    # bench/ is a plain folder of scripts, not a package: load corpus.py by path.
    spec = importlib.util.spec_from_file_location("bench_corpus", REPO / "bench" / "corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return Path(module.ensure_corpus())


@pytest.mark.parametrize("name", sorted(LIBRARIES))
def test_third_party_libraries_and_their_minified_output_parse(corpus: Path, name: str) -> None:
    source = (corpus / LIBRARIES[name]).read_text(encoding="utf-8")
    check_syntax(source)
    for engine in engines.names("js"):
        check_syntax(minifiers.minify(source, engine, "js"))
    check_syntax(minifiers.join_js([source, source]))


def test_corpus_parses_quickly(corpus: Path) -> None:
    sources = [(corpus / rel).read_text(encoding="utf-8") for rel in LIBRARIES.values()]
    assert sum(len(s.encode()) for s in sources) > 1_000_000
    check_syntax(sources[0])  # load the grammar first
    started = time.perf_counter()
    for source in sources:
        check_syntax(source)
    # About 0.2 s on a laptop; generous for a loaded CI machine.
    assert time.perf_counter() - started < 5


def test_demo_project_builds_with_checks(project: Path) -> None:
    build_project(project)
    assert set(read_manifest(project)["bundles"]) >= {"js_all", "js_lib", "js_gallery"}
