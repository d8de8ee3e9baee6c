"""The `flask assets` group: ours in the real shell, and usable from `test_cli_runner`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import read_manifest, run_flask, sri
from flask import Flask

from app.assets import ManifestError
from app.assets.cli import assets


def _first_words(help_text: str | None, n: int = 4) -> str:
    assert help_text
    return " ".join(help_text.split()[:n])


def test_real_flask_assets_group_is_ours(project: Path) -> None:
    """Flask-Assets' entry point must not shadow our commands in the real shell."""
    result = run_flask(project, "assets", "--help")
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    listed = {
        line.split()[0] for line in result.stdout.split("Commands:", 1)[1].splitlines() if line
    }
    assert {"build", "check"} <= listed
    assert _first_words(assets.commands["build"].help) in out
    assert _first_words(assets.commands["check"].help) in out

    build_help = run_flask(project, "assets", "build", "--help")
    assert build_help.returncode == 0
    assert "BUNDLE" in build_help.stdout.upper()
    assert _first_words(assets.commands["build"].help) in " ".join(build_help.stdout.split())


def test_cli_runner_build_and_check(
    project: Path, make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)  # error and report paths are shown relative to cwd
    app = make_app(project, ASSETS_AUTO_BUILD=True)
    runner = app.test_cli_runner()

    result = runner.invoke(assets, ["build"])
    assert result.exit_code == 0, result.output
    manifest = read_manifest(project)
    assert set(manifest["bundles"]) == {"css_all", "js_lib", "js_all", "css_gallery", "js_gallery"}
    for name, entry in manifest["bundles"].items():
        assert name in result.output
        data = (project / "static" / entry["file"]).read_bytes()
        assert entry["integrity"] == sri(data)

    result = runner.invoke(assets, ["check"])
    assert result.exit_code == 0, result.output

    with (project / "static" / "scss" / "_buttons.scss").open("a") as fh:
        fh.write("\n.cli-runner { top: 1px; }\n")
    result = runner.invoke(assets, ["check"])
    assert result.exit_code == 1
    assert "css_all" in result.output

    result = runner.invoke(assets, ["build", "nope"])
    assert result.exit_code == 1
    assert "nope" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_cli_runner_scss_error_is_one_line(
    built: Path, make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(built)
    partial = built / "static" / "scss" / "_buttons.scss"
    text = partial.read_text(encoding="utf-8") + "\n.oops {\n  color: $undefined-colour;\n}\n"
    partial.write_text(text)
    line = text.splitlines().index("  color: $undefined-colour;") + 1

    app = make_app(built, ASSETS_AUTO_BUILD=False)
    result = app.test_cli_runner().invoke(assets, ["build"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert f"scss/_buttons.scss:{line}" in lines[0]
    assert "undefined-colour" in lines[0]


def test_in_process_cli_does_not_leak_into_later_apps(
    project: Path, make_app: Callable[..., Flask]
) -> None:
    """Running `assets build` in-process must not switch off later apps' start-up check.

    The group marks its own run as "manifest optional"; that mark must end with the
    command, or every app created afterwards in the same process (tests, shells)
    starts without a manifest and only fails on the first request.
    """
    app = make_app(project, ASSETS_AUTO_BUILD=True)
    assert app.test_cli_runner().invoke(assets, ["build"]).exit_code == 0
    (project / "static" / "gen" / "manifest.json").unlink()
    with pytest.raises(ManifestError, match="assets build"):
        make_app(project, ASSETS_AUTO_BUILD=False)
