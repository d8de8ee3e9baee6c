"""`LoadPath`: logical paths over ordered static roots; specs whose sources use them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.assets.declare import BundleSpec, Ref, Spec, load_spec
from app.assets.errors import ConfigError
from app.assets.load_path import LoadPath, Root


def touch(path: Path, text: str = "window.x = 1;\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path, LoadPath]:
    """An app folder and blueprint admin's, each with a few files."""
    static, admin = tmp_path / "static", tmp_path / "admin_static"
    for rel in ("js/main.js", "css/site.css"):
        touch(static / rel)
    for rel in ("js/x.js", "js/y.js", "js/deep/z.js"):
        touch(admin / rel)
    lp = LoadPath([Root(static), Root(admin, "admin/", "/admin/static")])
    return static, admin, lp


# --- LoadPath ----------------------------------------------------------------------------


def test_single_is_the_app_folder(tmp_path: Path) -> None:
    lp = LoadPath.single(tmp_path / "static")
    assert lp.static == lp.primary.folder == tmp_path / "static"
    assert lp.folders() == [tmp_path / "static"]
    assert lp.path("js/a.js") == tmp_path / "static" / "js" / "a.js"
    assert lp.url("js/a.js") == "/static/js/a.js"


def test_prefix_picks_the_blueprint_root(roots: tuple[Path, Path, LoadPath]) -> None:
    static, admin, lp = roots
    assert lp.root_of("admin/js/x.js") == (lp.roots[1], "js/x.js")
    assert lp.path("admin/js/x.js") == admin / "js" / "x.js"
    assert lp.find("admin/js/x.js") == admin / "js" / "x.js"
    # Only the whole "admin/" segment is the prefix.
    assert lp.path("administrator/a.js") == static / "administrator" / "a.js"
    assert lp.path("admin") == static / "admin"
    assert lp.find("js/main.js") == static / "js" / "main.js"
    assert lp.find("admin/js/main.js") is None  # not in admin's folder
    assert lp.find("js/x.js") is None  # not in the app's


def test_longest_prefix_wins(tmp_path: Path) -> None:
    a, ab = tmp_path / "a", tmp_path / "ab"
    lp = LoadPath([Root(tmp_path / "s"), Root(a, "shop/"), Root(ab, "shop/admin/")])
    assert lp.path("shop/admin/x.js") == ab / "x.js"
    assert lp.path("shop/x.js") == a / "x.js"


def test_logical_is_the_inverse_of_path(roots: tuple[Path, Path, LoadPath]) -> None:
    static, _, lp = roots
    for logical in ("js/main.js", "css/site.css", "admin/js/x.js", "admin/js/deep/z.js"):
        found = lp.find(logical)
        assert found is not None
        assert lp.logical(found) == logical
        assert lp.logical(str(found)) == logical
    assert lp.logical(static.parent / "elsewhere.js") is None
    assert lp.logical(static) is None  # the folder itself is no file of it
    assert lp.logical(static / "js" / ".." / "js" / "main.js") == "js/main.js"


def test_logical_of_a_file_hidden_by_a_prefix(roots: tuple[Path, Path, LoadPath]) -> None:
    """static/admin/a.js has no logical path: "admin/a.js" means the blueprint's file."""
    static, _, lp = roots
    hidden = touch(static / "admin" / "a.js")
    assert lp.logical(hidden) is None


def test_nested_roots(tmp_path: Path) -> None:
    """A blueprint folder inside the app's: its files belong to the blueprint."""
    static = tmp_path / "static"
    inner = static / "vendor_bp"
    f = touch(inner / "lib.js")
    lp = LoadPath([Root(static), Root(inner, "vendor/", "/vendor/static")])
    assert lp.logical(f) == "vendor/lib.js"
    assert lp.find("vendor/lib.js") == f
    assert lp.url("vendor/lib.js") == "/vendor/static/lib.js"
    assert lp.logical(touch(static / "app.js")) == "app.js"


def test_url(roots: tuple[Path, Path, LoadPath]) -> None:
    _, admin, lp = roots
    assert lp.url("js/main.js") == "/static/js/main.js"
    assert lp.url("admin/js/x.js") == "/admin/static/js/x.js"
    slash = LoadPath([Root(Path("/s"), "", "/assets/"), Root(admin, "admin/", "/a/")])
    assert slash.url("js/main.js") == "/assets/js/main.js"
    assert slash.url("admin/js/x.js") == "/a/js/x.js"


def test_find_does_not_leave_the_root(roots: tuple[Path, Path, LoadPath]) -> None:
    static, admin, lp = roots
    outside = touch(static.parent / "secret.js")
    assert lp.find("admin/../secret.js") is None
    assert lp.find("../secret.js") is None
    assert lp.path("admin//" + str(outside).lstrip("/")) != outside  # no absolute join
    assert lp.find("admin//" + str(outside).lstrip("/")) is None
    os.symlink(outside, admin / "link.js")
    assert lp.find("admin/link.js") is None


def test_roots_are_checked_and_made_absolute(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        LoadPath([])
    with pytest.raises(ValueError):
        LoadPath([Root(tmp_path, "admin/")])
    with pytest.raises(ValueError):
        LoadPath([Root(tmp_path), Root(tmp_path / "a", "admin")])  # no trailing slash
    lp = LoadPath([Root(Path("rel/static"))])
    assert lp.static == Path(os.path.abspath("rel/static"))
    same = LoadPath([Root(Path(os.path.abspath("rel/static")))])
    assert lp == same and hash(lp) == hash(same)


# --- a spec over two roots ---------------------------------------------------------------


def load(tmp_path: Path, lp: LoadPath, text: str) -> Spec:
    path = tmp_path / "assets.yml"
    path.write_text(text)
    return load_spec(path, lp)


def config_error(tmp_path: Path, lp: LoadPath, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, lp, text)
    return str(info.value)


def test_spec_with_blueprint_sources(tmp_path: Path, roots: tuple[Path, Path, LoadPath]) -> None:
    static, _, lp = roots
    path = tmp_path / "assets.yml"
    path.write_text("admin_js:\n  contents: [admin/js/x.js, js/main.js]\n  output: gen/admin.js\n")
    spec = load_spec(path, lp)
    assert spec.load_path is lp
    assert spec.static_folder == static
    assert spec.files("admin_js") == ["admin/js/x.js", "js/main.js"]
    assert spec.bundles["admin_js"].output == "gen/admin.js"
    assert spec.bundles["admin_js"].kind == "js"


def test_static_folder_alone_is_a_single_root(tmp_path: Path) -> None:
    touch(tmp_path / "static" / "js" / "a.js")
    (tmp_path / "assets.yml").write_text("a:\n  contents: [js/a.js]\n  output: gen/a.js\n")
    for static in (tmp_path / "static", str(tmp_path / "static")):
        spec = load_spec(tmp_path / "assets.yml", static)
        assert spec.load_path == LoadPath.single(tmp_path / "static")
        assert spec.static_folder == tmp_path / "static"


def test_blueprint_globs(tmp_path: Path, roots: tuple[Path, Path, LoadPath]) -> None:
    static, admin, lp = roots
    path = tmp_path / "assets.yml"
    path.write_text(
        "flat:\n  contents: ['admin/js/*.js']\n  output: gen/flat.js\n"
        "deep:\n  contents: ['admin/js/**/*.js']\n  output: gen/deep.js\n"
    )
    spec = load_spec(path, lp)
    assert spec.files("flat") == ["admin/js/x.js", "admin/js/y.js"]
    assert spec.files("deep") == ["admin/js/deep/z.js", "admin/js/x.js", "admin/js/y.js"]
    assert spec.globs == ("admin/js/**/*.js", "admin/js/*.js")
    folders = spec.glob_folders()
    assert str(admin / "js") in folders and str(admin / "js" / "deep") in folders
    assert not [f for f in folders if Path(f).is_relative_to(static)]


def test_blueprint_named_gen_is_not_an_output(tmp_path: Path) -> None:
    static, bp = tmp_path / "static", tmp_path / "gen_bp"
    touch(bp / "x.js")
    lp = LoadPath([Root(static), Root(bp, "gen/", "/gen/static")])
    spec = load(tmp_path, lp, "a:\n  contents: ['gen/*.js']\n  output: gen/a.js\n")
    assert spec.files("a") == ["gen/x.js"]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("admin/../../outside.js", "source 'admin/../../outside.js' is outside static/"),
        ("admin/../static/js/main.js", "source 'admin/../static/js/main.js' is outside static/"),
        ("admin/link.js", "source 'admin/link.js' is outside static/"),
        (
            "admin/js/nope.js",
            "source 'admin/js/nope.js' not found (looked in static/; not a bundle name either)",
        ),
        ("admin/js", "source 'admin/js' is a directory, not a file"),
        ("'admin/js/*.ts'", "glob 'admin/js/*.ts' matches no file in static/"),
    ],
)
def test_blueprint_sources_are_checked(
    tmp_path: Path, roots: tuple[Path, Path, LoadPath], source: str, message: str
) -> None:
    _, admin, lp = roots
    touch(tmp_path.parent / "outside.js")
    os.symlink(touch(tmp_path / "secret.js"), admin / "link.js")
    text = f"# admin\nadmin_js:\n  contents:\n    - js/main.js\n    - {source}\n"
    err = config_error(tmp_path, lp, text)
    file = os.path.relpath(tmp_path / "assets.yml")
    assert err == f"{file}:5: bundle 'admin_js': {message}"


def test_a_glob_escaping_its_root_is_refused(
    tmp_path: Path, roots: tuple[Path, Path, LoadPath]
) -> None:
    lp = roots[2]
    touch(tmp_path / "up.js")
    err = config_error(tmp_path, lp, "a:\n  contents: ['admin/../*.js']\n")
    assert err.endswith("bundle 'a': source 'admin/../up.js' is outside static/")


def test_outputs_stay_in_the_app_folder(tmp_path: Path, roots: tuple[Path, Path, LoadPath]) -> None:
    # An output named under a blueprint's prefix is still built in the app's gen/.
    spec = load(tmp_path, roots[2], "a:\n  contents: [admin/js/x.js]\n  output: admin/a.js\n")
    assert spec.bundles["a"].output == "gen/admin/a.js"
    assert spec.static_folder == roots[2].static


def test_inline_bundle_of_references_takes_their_kind(
    tmp_path: Path, roots: tuple[Path, Path, LoadPath]
) -> None:
    """No placeholder kind: an inline bundle made only of references has theirs."""
    spec = load(
        tmp_path,
        roots[2],
        "lib:\n  contents: [admin/js/x.js]\n"
        "all:\n  contents: [{contents: [lib]}, js/main.js]\n  output: gen/all.js\n",
    )
    inline = spec.bundles["all"].contents[0]
    assert isinstance(inline, BundleSpec)
    assert inline.contents == (Ref("lib", 4),)
    assert inline.kind == "js"
