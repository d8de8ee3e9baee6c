"""Your own app: the pipeline package copied into another Flask app, Flask-Assets style.

The scratch app is named ``shop``, keeps its static files in ``assets/`` (Flask's FAQ
example, ``static_folder='assets'``), registers bundles in Python through Flask-Assets'
``Environment(app)`` (before the pipeline, plus one after) and has an ``assets.yml``.
It runs in a subprocess: two copies of the pipeline share Flask-Assets' one command group.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "app" / "assets"

FACTORY = """
from flask import Flask, render_template
from flask_assets import Bundle, Environment

from .asset_pipeline import AssetPipeline


def create_app(config=None):
    app = Flask(__name__, static_folder="assets")
    app.config.from_mapping(config or {})
    env = Environment(app)
    env.register("js_all", Bundle("js/a.js", "js/b.js", filters="jsmin", output="gen/packed.js"))
    lib = Bundle("scss/lib.scss", filters="libsass")
    env.register("css_all", Bundle(lib, "css/site.css", filters="cssmin", output="css/packed.css"))
    AssetPipeline(app)
    late = Environment()
    late.init_app(app)  # made after the pipeline: its bundles count too
    late.register("js_late", "js/b.js", output="js/late.js")

    @app.route("/")
    def index():
        return render_template("index.html")

    return app
"""

TEMPLATE = """<!doctype html>
{% assets "css_all" %}<link rel="stylesheet" href="{{ ASSET_URL }}">{% endassets %}
{% assets "js_all", "js_late" %}<script src="{{ ASSET_URL }}"></script>{% endassets %}
{% assets "yaml_js" %}<script src="{{ ASSET_URL }}"></script>{% endassets %}
{{ bundle_tags("css_all") }}
"""

SCRIPT = """
import re, sys
from shop import create_app
from shop.asset_pipeline.cli import assets

def urls(app):
    client = app.test_client()
    page = client.get("/")
    assert page.status_code == 200, page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    found = re.findall(r'(?:href|src)="([^"]+)"', html)
    assert len(found) >= 5, html
    for url in found:
        assert url.startswith("/assets/"), url
        assert client.get(url).status_code == 200, url
    return found

dev = create_app({"ASSETS_AUTO_BUILD": True, "TESTING": True})
print("dev", urls(dev))
runner = dev.test_cli_runner()
result = runner.invoke(assets, ["build"])
assert result.exit_code == 0, result.output
print(result.output)
result = runner.invoke(assets, ["check"])
assert result.exit_code == 0, result.output
print(result.output)
result = runner.invoke(assets, ["export-yaml"])
assert result.exit_code == 0 and "js_all:" in result.output, result.output
prod = create_app({"ASSETS_AUTO_BUILD": False, "TESTING": True})
print("prod", urls(prod))
assert "app" not in sys.modules and not any(m.startswith("app.") for m in sys.modules)
print("OK")
"""


def test_the_pipeline_in_your_own_app(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shutil.copytree(PACKAGE, shop / "asset_pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    (shop / "__init__.py").write_text(FACTORY)
    for rel, text in {
        "assets/js/a.js": "var A = 1;\n",
        "assets/js/b.js": "var B = A + 1;\n",
        "assets/scss/lib.scss": "$c: #123;\n.lib { color: $c; }\n",
        "assets/css/site.css": ".site { margin: 0 auto; }\n",
        "templates/index.html": TEMPLATE,
        "assets.yml": "yaml_js:\n  contents: [js/a.js]\n  filters: uglifyjs\n  output: js/y.js\n",
    }.items():
        path = shop / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    # Nothing outside the package: no import of the demo app's modules.
    for path in (shop / "asset_pipeline").rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(from|import) app\b", text, re.MULTILINE), path
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT)],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith("OK"), done.stdout
    assert "/assets/gen/css/packed." in done.stdout
