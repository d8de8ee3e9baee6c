"""The Flask app: a small site whose CSS and JS come from the asset pipeline."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from .assets import AssetPipeline

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Defaults, then ``FLASK_*`` environment variables, then ``test_config``.

    ``PROJECT_ROOT`` (default: the repository root) is the folder holding
    ``static/``, ``templates/`` and ``assets.yml``.
    """
    app = Flask(__name__, static_folder=None)
    app.config.from_prefixed_env()
    if test_config is not None:
        app.config.from_mapping(test_config)
    root = Path(app.config.setdefault("PROJECT_ROOT", str(ROOT)))
    # Set after config so PROJECT_ROOT can move static/ and templates/ (tests, other trees).
    app.static_folder = str(root / "static")
    app.static_url_path = "/static"
    app.add_url_rule("/static/<path:filename>", endpoint="static", view_func=app.send_static_file)
    app.template_folder = str(root / "templates")

    AssetPipeline(app)

    from . import views

    app.register_blueprint(views.bp)
    return app
