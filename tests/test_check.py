"""`flask --app app assets check` in a real subprocess: stale builds and template misuse."""

from __future__ import annotations

import os
import time
from pathlib import Path

from conftest import read_manifest, run_flask


def check(root: Path) -> tuple[int, str]:
    result = run_flask(root, "assets", "check")
    assert "Traceback" not in result.stdout + result.stderr
    return result.returncode, result.stdout + result.stderr


def problem_lines(output: str, needle: str) -> list[str]:
    return [line for line in output.splitlines() if needle in line]


def test_check_passes_after_build(built: Path) -> None:
    code, out = check(built)
    assert code == 0, out


def test_partial_edit_is_stale_until_rebuilt(built: Path) -> None:
    with (built / "static" / "scss" / "_buttons.scss").open("a") as fh:
        fh.write("\n.btn-extra { margin-left: 3px; }\n")
    code, out = check(built)
    assert code == 1
    assert "css_all" in out
    # Only the bundle that reads the partial is reported.
    for fine in ("js_all", "js_lib", "js_gallery", "css_gallery"):
        assert fine not in out, out

    assert run_flask(built, "assets", "build").returncode == 0
    code, out = check(built)
    assert code == 0, out


def test_shared_source_edit_names_every_bundle_using_it(built: Path) -> None:
    with (built / "static" / "js" / "util.js").open("a") as fh:
        fh.write("\nShop.version = 2;\n")
    code, out = check(built)
    assert code == 1
    assert problem_lines(out, "js_lib") and problem_lines(out, "js_all")
    assert "css_all" not in out


def test_missing_manifest(built: Path) -> None:
    (built / "static" / "gen" / "manifest.json").unlink()
    code, out = check(built)
    assert code == 1
    assert "build" in out
    assert "manifest" in out.lower()


def test_never_built(project: Path) -> None:
    code, out = check(project)
    assert code == 1
    assert "build" in out


def test_missing_or_altered_output(built: Path) -> None:
    entry = read_manifest(built)["bundles"]["js_gallery"]
    out_file = built / "static" / entry["file"]
    data = out_file.read_bytes()
    # Same size, different bytes: only a content comparison notices.
    out_file.write_bytes(data[:-2] + b"X\n" if data.endswith(b"\n") else data[:-1] + b"X")
    code, out = check(built)
    assert code == 1
    assert "js_gallery" in out

    out_file.unlink()
    code, out = check(built)
    assert code == 1
    assert "js_gallery" in out


def test_touch_without_change_still_passes(built: Path) -> None:
    """check compares content: a newer mtime with the same bytes is not stale."""
    later = time.time() + 3600
    for path in (built / "static").rglob("*"):
        if path.suffix in (".scss", ".js") and "gen" not in path.parts:
            os.utime(path, (later, later))
    code, out = check(built)
    assert code == 0, out


def write_template(root: Path, name: str, lines: list[str]) -> int:
    """Write ``lines`` to templates/``name``; returns the 1-based line of the last one."""
    (root / "templates" / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def test_template_naming_unknown_bundle(built: Path) -> None:
    line = write_template(
        built,
        "broken.html",
        ['{% extends "base.html" %}', "{% block head_extra %}", '  {{ bundle_tags("nope") }}'],
    )
    code, out = check(built)
    assert code == 1
    hits = problem_lines(out, f"broken.html:{line}")
    assert hits, out
    assert "nope" in hits[0]


def test_assets_tag_naming_unknown_bundle(built: Path) -> None:
    line = write_template(
        built,
        "tagged.html",
        ["<p>hi</p>", '{% assets "missing_one" %}{{ ASSET_URL }}{% endassets %}'],
    )
    code, out = check(built)
    assert code == 1
    hits = problem_lines(out, f"tagged.html:{line}")
    assert hits and "missing_one" in hits[0], out


def test_template_linking_bundled_source_with_url_for(built: Path) -> None:
    line = write_template(
        built,
        "raw.html",
        [
            "<p>raw</p>",
            "<script src=\"{{ url_for('static', filename='js/main.js') }}\"></script>",
        ],
    )
    code, out = check(built)
    assert code == 1
    hits = problem_lines(out, f"raw.html:{line}")
    assert hits and "js/main.js" in hits[0], out


def test_url_for_a_non_bundled_file_is_fine(built: Path) -> None:
    write_template(
        built, "icon.html", ["<img src=\"{{ url_for('static', filename='img/leaf.svg') }}\">"]
    )
    code, out = check(built)
    assert code == 0, out
