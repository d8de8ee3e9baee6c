"""Pages of the Leaf & Kettle demo tea shop.

The app factory registers ``bp``; this module only defines the routes.
"""

from __future__ import annotations

from typing import TypedDict

from flask import Blueprint, render_template

bp = Blueprint("pages", __name__)


class Tea(TypedDict):
    name: str
    origin: str


TEAS: list[Tea] = [
    {"name": "Sencha", "origin": "Japan"},
    {"name": "Earl Grey", "origin": "England"},
    {"name": "Tie Guan Yin", "origin": "China"},
    {"name": "Darjeeling", "origin": "India"},
]


@bp.route("/")
def home() -> str:
    return render_template("home.html", teas=TEAS[:2])


@bp.route("/about")
def about() -> str:
    return render_template("about.html")


@bp.route("/gallery")
def gallery() -> str:
    return render_template("gallery.html", teas=TEAS)
