"""Shared fixtures: every test works on its own copy of the project tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app import create_app
from app.assets import builder
from app.assets.spec import load_spec

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def copy_project(dest: Path) -> Path:
    """Copy static/ (without gen/), templates/ and assets.yml into ``dest``."""
    shutil.copytree(REPO / "static", dest / "static", ignore=shutil.ignore_patterns("gen"))
    shutil.copytree(REPO / "templates", dest / "templates")
    shutil.copy2(REPO / "assets.yml", dest / "assets.yml")
    return dest


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh copy of the demo site's sources, templates and assets.yml."""
    return copy_project(tmp_path / "site")


def build_project(root: Path, *names: str) -> None:
    builder.build(load_spec(root / "assets.yml", root / "static"), names or None)


@pytest.fixture
def built(project: Path) -> Path:
    """The demo project after a production build."""
    build_project(project)
    return project


@pytest.fixture
def make_app() -> Callable[..., Flask]:
    def factory(root: Path, **config: Any) -> Flask:
        return create_app({"TESTING": True, "PROJECT_ROOT": str(root), **config})

    return factory


def flask_env(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env.update({"FLASK_PROJECT_ROOT": str(root), "PYTHONDONTWRITEBYTECODE": "1", **extra})
    return env


def run_flask(root: Path, *args: str, timeout: float = 120, **env: str) -> Any:
    """Run the real `flask --app app ...` in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=root,
        env=flask_env(root, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
