"""Tests for app.assets.minifiers: literal-safe JS/CSS minification and JS concatenation."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import cssmin
import jsmin
import pytest
import rcssmin
import rjsmin
from hypothesis import given, settings
from hypothesis import strategies as st

from app.assets import engines
from app.assets.minifiers import (
    MinifyError,
    css_chunks,
    css_protected,
    join_js,
    js_literals,
    minify,
)

# Every registered minifier of each kind: a new engine is tested by being registered.
JS_ENGINES = tuple(n for n in engines.names("js") if engines.lookup(n, "js").role == "minifier")
CSS_ENGINES = tuple(n for n in engines.names("css") if engines.lookup(n, "css").role == "minifier")
# The engines that are not parsers, wrapped by guard.py to protect and verify literals.
GUARDED_JS = ("jsmin", "rjsmin")
GUARDED_CSS = ("cssmin", "rcssmin")


def minify_js(text: str, engine: str) -> str:
    return minify(text, engine, "js")


def minify_css(text: str, engine: str) -> str:
    return minify(text, engine, "css")


REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "js"


def _load_ensure_corpus() -> Callable[[], Path]:
    # bench/ is a plain folder of scripts, not a package: load corpus.py by path.
    spec = importlib.util.spec_from_file_location("bench_corpus", REPO / "bench" / "corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ensure_corpus


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def run_node(code: str, tmp_path: Path, name: str = "prog.js") -> str:
    script = tmp_path / name
    script.write_text(code, encoding="utf-8")
    proc = subprocess.run(
        ["node", str(script)], capture_output=True, text=True, timeout=30, check=False
    )
    assert proc.returncode == 0, f"node failed:\n{proc.stderr}\n--- code ---\n{code}"
    return proc.stdout


# --------------------------------------------------------------------------- JS scanner


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # division after identifiers, numbers, ")", "]", "++" and an object literal's "}"
        ("x = a / b / c", []),
        ("x = 10 / 2 / 5", []),
        ("x = f(a) / 2 / g", []),
        ("x = [1][0] / 2 / y", []),
        ("x = i++ / 2 / y", []),
        ("x = {} / 2 / y", []),
        ("x = obj.return / 2 / y", []),  # a keyword used as a property name
        ("x = a\n/ b /g", []),  # no ASI before "/": still a division
        # regex after operators, keywords, control-statement ")" and a block "}"
        ("x = /a b/g", ["/a b/g"]),
        ("return /x/.test(s)", ["/x/"]),
        ("if (typeof /x/ === 'object') {}", ["/x/", "'object'"]),
        ("switch (s) { case /x/: }", ["/x/"]),
        ("if (a) /re  x/.test(b)", ["/re  x/"]),
        ("while (f(a)) /y/.exec(b)", ["/y/"]),
        ("if (a) {} /re/.test(s)", ["/re/"]),
        ("f(a, /b/, [/c/])", ["/b/", "/c/"]),
        ("x = a ? /b/ : /c/", ["/b/", "/c/"]),
        ("x = () => /b/", ["/b/"]),
        # "/" inside a class or escaped does not end the regex
        ("x = /[/]  /.source", ["/[/]  /"]),
        (r"x = /a\/b[\]/]c/i", [r"/a\/b[\]/]c/i"]),
        # comments are not literals, whatever they contain
        ("// it's a `tick` and \"quote\"\nx = 'a'", ["'a'"]),
        ('/* \' " ` /re/ */ x = "b"', ['"b"']),
        ("x = 'a//b' + \"/*c*/\"", ["'a//b'", '"/*c*/"']),
        # escaped quotes and line continuations
        (r"x = 'it\'s' + " + '"say \\"hi\\""', [r"'it\'s'", '"say \\"hi\\""']),
        ("x = 'a\\\nb'", ["'a\\\nb'"]),
        # template literals, nested ones counted once as a whole
        ("x = `a ${b} c`", ["`a ${b} c`"]),
        ("x = `a ${`b ${'c'} d`} e`; y = 'f'", ["`a ${`b ${'c'} d`} e`", "'f'"]),
        ("x = `a ${ {k: '}'}.k } b`", ["`a ${ {k: '}'}.k } b`"]),
        ("x = `\\` ${'`'} \\${not} $`", ["`\\` ${'`'} \\${not} $`"]),
        ("x = `${a / 2}/${/re/.source}`", ["`${a / 2}/${/re/.source}`"]),
        ("#!/usr/bin/env node\nx = 'a'", ["'a'"]),
    ],
)
def test_js_literals(source: str, expected: list[str]) -> None:
    assert js_literals(source) == expected


@pytest.mark.parametrize(
    ("source", "line"),
    [("x = 1;\ny = 'abc\n", 2), ("a\n\nx = `abc ${d}", 3), ("x\n/* never closed", 2)],
)
def test_js_literals_rejects_unterminated(source: str, line: int) -> None:
    with pytest.raises(MinifyError) as info:
        js_literals(source)
    assert info.value.line == line


# --------------------------------------------------------------------------- minify_js


@pytest.mark.parametrize("engine", JS_ENGINES)
def test_template_literal_whitespace_survives(engine: str) -> None:
    source = "const s = `a   ${x}   b`;\nconst t = `line1\n   line2`;\n"
    out = minify_js(source, engine)
    assert "`a   ${x}   b`" in out
    assert "`line1\n   line2`" in out
    assert len(out) < len(source)  # it did minify something


@pytest.mark.parametrize("engine", JS_ENGINES)
def test_nested_templates_survive(engine: str) -> None:
    # rjsmin handles plain templates but squeezes templates nested inside "${...}"
    source = "x = `obj${type === `Map` ? ` as keys` : ``}, end`;\n"
    assert "` as keys`" in minify_js(source, engine)


@pytest.mark.parametrize("engine", JS_ENGINES)
def test_template_with_url_is_not_a_comment(engine: str) -> None:
    # raw jsmin reads the "//" of the URL as a comment and cuts the rest of the line
    source = "warn(`see https://example.com/docs for '${name}'`);\nfoo();\n"
    out = minify_js(source, engine)
    assert "`see https://example.com/docs for '${name}'`" in out
    assert "foo()" in out


@pytest.mark.parametrize("engine", JS_ENGINES)
def test_regex_and_division(engine: str) -> None:
    source = "if (a) /re  x/.test(b);\nvar r = /[/]  c/g;\nvar d = a / b / c;\n"
    out = minify_js(source, engine)
    assert "/re  x/" in out
    assert "/[/]  c/g" in out
    assert "d=a/b/c" in out


@pytest.mark.parametrize("engine", JS_ENGINES)
def test_fixture_program_still_runs_after_minify(engine: str, tmp_path: Path) -> None:
    source = fixture("templates.js")
    expected = run_node(source, tmp_path, "orig.js")
    assert "Hello,   W!   Spaces   stay" in expected
    out = minify_js(source, engine)
    assert out.count("\n") < source.count("\n")
    assert run_node(out, tmp_path, "min.js") == expected


def test_raw_engines_really_damage_these_inputs() -> None:
    # Documents why the wrapper exists (pinned jsmin 3.0.1 / rjsmin / cssmin 0.2.0 / rcssmin).
    assert jsmin.jsmin("s = `a   ${x}   b`") == "s=`a ${x}b`"
    assert jsmin.jsmin("if (a) /re  x/.test(b)") == "if(a)/re x/.test(b)"
    assert "` as keys`" not in rjsmin.jsmin("x = `${t ? ` as keys` : ``}`")
    assert cssmin.cssmin("a { width: calc(1rem + 2px) }") == "a{width:calc(1rem+2px)}"
    assert cssmin.cssmin('a { content: "a  b" }') == 'a{content:"a b"}'
    assert rcssmin.cssmin('a { b: url( "a  b.png" ) }') == 'a{b:url("ab.png")}'


@pytest.mark.parametrize("engine", GUARDED_JS)
def test_verification_catches_damaged_string(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module = jsmin if engine == "jsmin" else rjsmin
    real = module.jsmin
    monkeypatch.setattr(module, "jsmin", lambda s, **kw: real(s).replace('"a  b"', '"a b"'))
    source = "var x = 1;\n\nvar s = 'ok' + \"a  b\";\nvar t = `fine`;\n"
    with pytest.raises(MinifyError) as info:
        minify_js(source, engine)
    assert info.value.line == 3
    assert '"a  b"' in str(info.value)


@pytest.mark.parametrize("engine", GUARDED_JS)
def test_verification_catches_lost_template(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module = jsmin if engine == "jsmin" else rjsmin
    real = module.jsmin
    # An engine that drops a placeholder identifier, i.e. loses a protected literal.
    monkeypatch.setattr(module, "jsmin", lambda s, **kw: re.sub(r"MINPH\d+Z1_", "0", real(s)))
    source = "var a = `one`;\nvar b = `two\n  lines`;\nvar c = 'three';\n"
    with pytest.raises(MinifyError) as info:
        minify_js(source, engine)
    assert info.value.line == 2
    assert "`two" in info.value.message


def test_verification_message_truncates_long_literals(monkeypatch: pytest.MonkeyPatch) -> None:
    long = "x" * 100
    monkeypatch.setattr(jsmin, "jsmin", lambda s, **kw: s.replace(long, "y"))
    with pytest.raises(MinifyError) as info:
        minify_js(f"s = '{long}'", "jsmin")
    assert info.value.line == 1
    assert len(info.value.message) < 150


def test_engine_exception_is_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(source: str, **kwargs: object) -> str:
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(rjsmin, "jsmin", boom)
    with pytest.raises(MinifyError, match="engine exploded") as info:
        minify_js("var a = 1;", "rjsmin")
    assert isinstance(info.value.__cause__, RuntimeError)
    assert info.value.line is None


def test_unknown_engine() -> None:
    with pytest.raises(ValueError):
        minify_js("a()", "uglify")
    with pytest.raises(ValueError):
        minify_css("a{}", "csso")


def test_placeholder_never_collides_with_source() -> None:
    # The source already contains the first placeholder prefix; restoring must not touch it.
    source = "var MINPH0Z0_ = `a   b`; var MINPH0Z1_ = 'x';"
    for engine in GUARDED_JS:
        out = minify_js(source, engine)
        assert "MINPH0Z0_=`a   b`" in out
        assert "MINPH0Z1_='x'" in out


# --------------------------------------------------------------------------- join_js


def test_naive_newline_join_breaks_iifes() -> None:
    # The bug join_js exists for: "})()" + "(() => ...)()" is one call expression.
    naive = fixture("iife_a.js") + "\n" + fixture("iife_b.js")
    proc = subprocess.run(["node", "-e", naive], capture_output=True, text=True, check=False)
    assert proc.returncode != 0 and "TypeError" in proc.stderr


@pytest.mark.parametrize("engine", [None, *JS_ENGINES])
def test_join_js_keeps_iifes_apart(engine: str | None, tmp_path: Path) -> None:
    joined = join_js([fixture("iife_a.js"), fixture("iife_b.js")])
    code = joined if engine is None else minify_js(joined, engine)
    assert run_node(code, tmp_path) == "A\nB\n"


@pytest.mark.parametrize("engine", [None, *JS_ENGINES])
def test_join_js_trailing_line_comment(engine: str | None, tmp_path: Path) -> None:
    joined = join_js([fixture("trailing_comment.js"), fixture("iife_b.js")])
    code = joined if engine is None else minify_js(joined, engine)
    assert run_node(code, tmp_path) == "C\nB\n"


@pytest.mark.parametrize("engine", [None, *JS_ENGINES])
def test_join_js_keeps_leading_use_strict(engine: str | None, tmp_path: Path) -> None:
    joined = join_js([fixture("use_strict.js"), fixture("iife_a.js")])
    assert joined.startswith('"use strict";')  # nothing is ever put before a part
    code = joined if engine is None else minify_js(joined, engine)
    assert run_node(code, tmp_path) == "strict\nA\n"


def test_join_js_separators() -> None:
    assert join_js(["a()", "b();", "c() // x"]) == "a()\n;\nb();\nc() // x\n;\n"
    # ";" inside a string or comment is not a statement end
    assert join_js(["x = ';'", "y() /* ; */"]) == "x = ';'\n;\ny() /* ; */\n;\n"
    assert join_js(["a()", "   \n", "", "b()\n"]) == "a()\n;\nb()\n;\n"
    assert join_js(["a()", "#!/usr/bin/env node\nb()"]) == "a()\n;\n//#!/usr/bin/env node\nb()\n;\n"
    assert join_js([]) == ""


# --------------------------------------------------------------------------- CSS


def test_css_protected() -> None:
    source = (
        '/* calc(9px + 1px) "in comment" */ a { width: calc(1px + (2px * 3)); content: "x" }\n'
        "b { margin: min(1px, calc(2px + 3px)) max(1px,2px); grid: minmax(0, calc(1fr - 2px)) }\n"
        "c { min-width: 0; w: -webkit-calc(1px + 2px); h: CLAMP(1rem, 2vw + 1rem, 3rem) }\n"
        "d { background: url(a.png); e: url( 'b  c.png' ); f: 'it\\'s (' calc(1px) }\n"
    )
    assert css_protected(source) == [
        "calc(1px + (2px * 3))",
        '"x"',
        "min(1px, calc(2px + 3px))",
        "max(1px,2px)",
        "calc(1fr - 2px)",
        "-webkit-calc(1px + 2px)",
        "CLAMP(1rem, 2vw + 1rem, 3rem)",
        "'b  c.png'",
        "'it\\'s ('",
        "calc(1px)",
    ]


@pytest.mark.parametrize("engine", GUARDED_CSS)  # parsers may rewrite what they parse
@pytest.mark.parametrize(
    "fragment",
    [
        "calc(1rem + 2px)",
        "calc(100% - (2 * var(--gap, 4px)))",
        "min(10px, calc(2 * 3px + 1px))",
        "clamp(1rem, 2vw + 1rem, 3rem)",
        "max(1px + 2px, 3px)",
        "-webkit-calc(1px + 2px)",
        '"a  b"',
        "'x  /* y */  z'",
        '"\\"  x"',
    ],
)
def test_css_fragment_survives(engine: str, fragment: str) -> None:
    source = f"a {{\n  width: {fragment};\n  margin: 0px 0px;\n}}\n\n\nb {{ color: red }}\n"
    out = minify_css(source, engine)
    assert fragment in out
    assert len(out) < len(source)


@pytest.mark.parametrize("engine", CSS_ENGINES)
def test_css_url_with_spaced_string(engine: str) -> None:
    out = minify_css('a { background: url( "a  b.png" ) }', engine)
    assert '"a  b.png"' in out


@pytest.mark.parametrize("engine", [*GUARDED_CSS, "minify"])  # lightningcss computes calc()
def test_css_comments_may_go(engine: str) -> None:
    out = minify_css('/* calc(1px + 2px) "q" */\na { width: calc(1px + 2px) }', engine)
    assert out == "a{width:calc(1px + 2px)}"


@pytest.mark.parametrize("engine", GUARDED_CSS)
def test_css_verification_catches_damage(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module = cssmin if engine == "cssmin" else rcssmin
    monkeypatch.setattr(module, "cssmin", lambda s, **kw: "a{}b{width:calc(1px+2px)}")
    source = 'a { content: "x" }\nb {\n  width: calc(1px + 2px);\n}\n'
    with pytest.raises(MinifyError) as info:
        minify_css(source, engine)
    assert info.value.line == 1  # the string "x" disappeared first
    monkeypatch.setattr(module, "cssmin", lambda s, **kw: 'a{content:"x"}b{width:calc(1px+2px)}')
    with pytest.raises(MinifyError) as info:
        minify_css(source, engine)
    assert info.value.line == 3
    assert "calc(1px + 2px)" in str(info.value)


# --------------------------------------------------------------------------- property test

_TEXT = st.text(alphabet=" ab\t\n/*'\"`\\${}", max_size=16)
_REGEX_TEXT = st.text(alphabet=" ab/[]*\\", min_size=1, max_size=10)
_GAP = st.sampled_from([" ", "  ", "\n", "\t ", "\n\n  "])


def _js_string(text: str, quote: str) -> str:
    escaped = text.replace("\\", "\\\\").replace(quote, "\\" + quote).replace("\n", "\\n")
    return quote + escaped + quote


def _js_template_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("`", "\\`").replace("$", "\\$")


def _js_regex(text: str) -> str:
    for char in "\\/[]*":
        text = text.replace(char, "\\" + char)
    return "/" + text + "/"


@settings(max_examples=60, deadline=None)
@given(
    engine=st.sampled_from(GUARDED_JS),  # parsers requote strings, keeping their value
    s1=_TEXT,
    s2=_TEXT,
    t1=_TEXT,
    t2=_TEXT,
    t3=_TEXT,
    r=_REGEX_TEXT,
    quote=st.sampled_from(["'", '"']),
    gap=_GAP,
)
def test_literals_survive_minify_property(
    engine: str, s1: str, s2: str, t1: str, t2: str, t3: str, r: str, quote: str, gap: str
) -> None:
    string1, string2 = _js_string(s1, quote), _js_string(s2, quote)
    inner = f"`{_js_template_text(t2)}`"
    template = (
        f"`{_js_template_text(t1)}${{{gap}a + {inner} + {string2}{gap}}}{_js_template_text(t3)}`"
    )
    regex = _js_regex(r)
    plain = f"`{_js_template_text(t1)}`"
    program = (
        f"function f(a,{gap}b) {{{gap}var s = {string1};{gap}"
        f"var t ={gap}{template};{gap}"
        f"if (a){gap}{regex}g.test(b);{gap}"
        f"return {regex}.test(s) ? t / 2 : {plain};{gap}}}\n"
    )
    expected = [string1, template, regex + "g", regex, plain]
    assert js_literals(program) == expected
    out = minify_js(program, engine)
    # Independent of the scanner: the raw literal texts appear in the output, in order.
    pos = 0
    for literal in expected:
        found = out.find(literal, pos)
        assert found >= 0, f"{literal!r} lost in {out!r}"
        pos = found + len(literal)
    assert "t/2" in out


# --------------------------------------------------------------------------- real libraries

# Evaluates a file in a fresh vm context with a tiny permissive window/document stub, then
# prints the globals it defined and the JSON value of a probe expression.
_HARNESS = r"""
const vm = require('vm'); const fs = require('fs');
const [file, probe] = process.argv.slice(2);
function stub(name) {
  const fn = function () { return stub(name + '()'); };
  return new Proxy(fn, {
    get(t, k) {
      if (k === Symbol.toPrimitive) return () => '';
      if (k === Symbol.iterator) return function* () {};
      if (k === 'then') return undefined;
      if (k === 'length') return 0;
      if (k in t && k !== 'name') return t[k];
      return (t[k] = stub(name + '.' + String(k)));
    },
    construct() { return stub('new ' + name); },
  });
}
const script = new vm.Script(fs.readFileSync(file, 'utf8'), { filename: file });
const quiet = () => {};
const ctx = { console: { log: quiet, warn: quiet, error: quiet, info: quiet, debug: quiet } };
ctx.window = ctx; ctx.self = ctx;
ctx.document = stub('document'); ctx.document.nodeType = 9;
ctx.navigator = { userAgent: 'node' };
ctx.location = { href: 'http://localhost/', search: '', hash: '' };
ctx.setTimeout = () => 0; ctx.clearTimeout = quiet; ctx.queueMicrotask = quiet;
ctx.addEventListener = quiet;
for (const k of ['MutationObserver', 'XPathEvaluator', 'CustomEvent', 'Event', 'Element',
  'HTMLElement', 'Node', 'NodeList', 'Document', 'DocumentFragment', 'HTMLTemplateElement',
  'ShadowRoot', 'FormData', 'XMLHttpRequest', 'URL', 'URLSearchParams', 'DOMParser',
  'getComputedStyle', 'requestAnimationFrame', 'history', 'localStorage', 'sessionStorage',
  'matchMedia']) ctx[k] = stub(k);
vm.createContext(ctx);
const before = new Set(Object.keys(ctx));
script.runInContext(ctx, { timeout: 20000 });
const globals = Object.keys(ctx).filter((k) => !before.has(k)).sort();
console.log(JSON.stringify({ globals, probe: vm.runInContext(probe, ctx) }));
"""

BOOTSTRAP_PLUGINS = [
    "Alert",
    "Button",
    "Carousel",
    "Collapse",
    "Dropdown",
    "Modal",
    "Offcanvas",
    "Popover",
    "ScrollSpy",
    "Tab",
    "Toast",
    "Tooltip",
]

# name -> (path under node_modules, globals defined, probe expression, expected probe value)
LIBRARIES: dict[str, tuple[str, list[str], str, object]] = {
    "lodash": (
        "lodash/lodash.js",
        ["_"],
        "[_.chunk([1, 2, 3], 2), _.template('hi <%= n %>!')({n: 'x'}),"
        " _.camelCase('Foo Bar'), _.escape('<a href=\"x\">')]",
        [[[1, 2], [3]], "hi x!", "fooBar", "&lt;a href=&quot;x&quot;&gt;"],
    ),
    "jquery": (
        "jquery/dist/jquery.js",
        ["$", "jQuery"],
        "[jQuery.fn.jquery, jQuery.param({a: [1, 2], b: 'x y'}),"
        " jQuery.map([1, 2], (x) => x * 2), jQuery.trim('  a  ')]",
        ["3.7.1", "a%5B%5D=1&a%5B%5D=2&b=x%20y", [2, 4], "a"],
    ),
    "htmx": (
        "htmx.org/dist/htmx.js",
        ["htmx"],
        "[htmx.version, htmx.parseInterval('2s'), htmx.parseInterval('150ms')]",
        ["2.0.4", 2000, 150],
    ),
    "alpine": (
        "alpinejs/dist/cdn.js",
        ["Alpine"],
        "[Alpine.version, typeof Alpine.data, typeof Alpine.store]",
        ["3.14.8", "function", "function"],
    ),
    "bootstrap": (
        "bootstrap/dist/js/bootstrap.bundle.js",
        ["bootstrap", "uidEvent"],
        "[bootstrap.Tooltip.VERSION, Object.keys(bootstrap).sort()]",
        ["5.3.3", BOOTSTRAP_PLUGINS],
    ),
}


@pytest.fixture(scope="session")
def corpus() -> Path:
    return _load_ensure_corpus()()


@pytest.fixture(scope="session")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("harness") / "harness.js"
    path.write_text(_HARNESS, encoding="utf-8")
    return path


def run_in_stub_browser(harness: Path, code: str, probe: str, tmp_path: Path) -> dict[str, object]:
    script = tmp_path / "lib.js"
    script.write_text(code, encoding="utf-8")
    proc = subprocess.run(
        ["node", str(harness), str(script), probe],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def read_lib(corpus: Path, relative: str) -> str:
    return (corpus / relative).read_text(encoding="utf-8")


def test_harness_runs_the_original_libraries(corpus: Path, harness: Path, tmp_path: Path) -> None:
    # Baseline: the probes are correct for the unminified files.
    for relative, globals_, probe, expected in LIBRARIES.values():
        result = run_in_stub_browser(harness, read_lib(corpus, relative), probe, tmp_path)
        assert result == {"globals": globals_, "probe": expected}


@pytest.mark.parametrize("engine", JS_ENGINES)
@pytest.mark.parametrize("name", list(LIBRARIES))
def test_minified_library_runs(
    name: str, engine: str, corpus: Path, harness: Path, tmp_path: Path
) -> None:
    relative, globals_, probe, expected = LIBRARIES[name]
    source = read_lib(corpus, relative)
    out = minify_js(source, engine)
    assert len(out) < 0.8 * len(source)
    result = run_in_stub_browser(harness, out, probe, tmp_path)
    assert result == {"globals": globals_, "probe": expected}


@pytest.mark.parametrize("engine", JS_ENGINES)
def test_joined_minified_bundle_runs(
    engine: str, corpus: Path, harness: Path, tmp_path: Path
) -> None:
    parts = [read_lib(corpus, relative) for relative, *_ in LIBRARIES.values()]
    bundle = minify_js(join_js(parts), engine)
    probe = "[" + ", ".join(spec[2] for spec in LIBRARIES.values()) + "]"
    result = run_in_stub_browser(harness, bundle, probe, tmp_path)
    # run_in_stub_browser compiles with `new vm.Script` first, then evaluates everything.
    assert result["probe"] == [spec[3] for spec in LIBRARIES.values()]
    assert result["globals"] == sorted({g for spec in LIBRARIES.values() for g in spec[1]})


@pytest.mark.parametrize("engine", GUARDED_CSS)  # parsers: test_parser_minifiers.py
def test_bootstrap_css_keeps_every_calc(engine: str, corpus: Path) -> None:
    source = read_lib(corpus, "bootstrap/dist/css/bootstrap.css")
    out = minify_css(source, engine)
    assert len(out) < 0.9 * len(source)
    calcs_in = [p for p in css_protected(source) if p.lower().startswith("calc(")]
    calcs_out = [p for p in css_protected(out) if p.lower().startswith("calc(")]
    assert len(calcs_in) > 100
    assert calcs_out == calcs_in


def test_css_chunks_split_only_between_top_level_rules() -> None:
    css = "a{x:1}/* } { */b{y:2}@media (min-width:1px){c{z:3}d{w:4}}e{v:5}"
    chunks = css_chunks(css, size=1)
    assert "".join(chunks) == css
    assert chunks == ["a{x:1}", "/* } { */b{y:2}", "@media (min-width:1px){c{z:3}d{w:4}}", "e{v:5}"]


def test_chunked_cssmin_matches_whole_file_cssmin(corpus: Path) -> None:
    import cssmin

    source = read_lib(corpus, "bootstrap/dist/css/bootstrap.css")
    assert len(css_chunks(source)) > 5
    assert "".join(cssmin.cssmin(c) for c in css_chunks(source)) == cssmin.cssmin(source)


@pytest.mark.parametrize(
    ("part", "separated"),
    [
        ("a();\n", False),
        ("a();", False),
        ("a()\n", True),
        ("a(); // done;\n", True),  # the ";" might be inside a comment: keep the separator
        ("x = 'a;';\n", True),
        ("x = `\n;`;\n", True),
        ("/* c */ a();\n", True),
    ],
)
def test_join_js_adds_a_separator_unless_the_last_line_plainly_ends_a_statement(
    part: str, separated: bool
) -> None:
    first = part if part.endswith("\n") else part + "\n"
    joined = join_js([part, "(() => 1)()"])
    assert joined.startswith(first)
    assert joined[len(first) :].startswith(";\n") == separated


@pytest.mark.parametrize("engine", [*GUARDED_CSS, "minify"])
def test_custom_property_values_are_kept_verbatim(engine: str) -> None:
    """cssmin turns `0px` into `0`: in a custom property that breaks every calc() using it."""
    source = (
        ":root {\n  --gap: 0px ;\n  --pad: calc( 1px + 2px );\n}\n"
        "a { margin: calc(var(--gap) + 1px); }\n"
    )
    out = minify_css(source, engine)
    assert "--gap:0px;" in out
    assert "--pad:calc( 1px + 2px )" in out
    assert "calc(var(--gap) + 1px)" in out
    assert (
        css_protected(out)
        == css_protected(source)
        == [
            "0px",
            "calc( 1px + 2px )",
            "calc(var(--gap) + 1px)",
        ]
    )
