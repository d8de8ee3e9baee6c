"""Fetch a small corpus of real third-party JS/CSS used to test the minifiers.

The packages are installed with npm into ``<repo>/.cache/corpus`` (kept out of git by a
``.gitignore`` written inside the cache folder itself).  Run ``python bench/corpus.py`` to
populate the cache ahead of time; it prints the ``node_modules`` path.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

# Pinned so test expectations (and any size benchmarks) stay reproducible.
PACKAGES: tuple[str, ...] = (
    "jquery@3.7.1",
    "bootstrap@5.3.3",
    "htmx.org@2.0.4",
    "alpinejs@3.14.8",
    "lodash@4.17.21",
    "bulma@1.0.2",  # Sass module system (@use/@forward): bench/sass.py
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ROOT = REPO_ROOT / ".cache" / "corpus"


def _package_dir(node_modules: Path, spec: str) -> Path:
    name = spec.rsplit("@", 1)[0]  # rsplit keeps scoped names ("@scope/x@1") intact
    return node_modules / name


def _installed_version(node_modules: Path, spec: str) -> str | None:
    manifest = _package_dir(node_modules, spec) / "package.json"
    try:
        return str(json.loads(manifest.read_text(encoding="utf-8")).get("version"))
    except (OSError, ValueError):
        return None


def _is_complete(node_modules: Path) -> bool:
    return all(
        _installed_version(node_modules, spec) == spec.rsplit("@", 1)[1] for spec in PACKAGES
    )


def ensure_corpus(root: Path | None = None) -> Path:
    """Install the pinned corpus packages under ``root`` if needed; return its node_modules."""
    root = Path(root) if root is not None else DEFAULT_ROOT
    node_modules = root / "node_modules"
    if _is_complete(node_modules):
        return node_modules

    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is required to build the minifier test corpus")
    root.mkdir(parents=True, exist_ok=True)
    # The cache must never be committed; ignore it from the inside so no repo-level
    # .gitignore edit is needed.
    (root / ".gitignore").write_text("*\n", encoding="utf-8")
    # A private package.json stops npm from walking up and touching the repo's own one.
    manifest = {"name": "minify-corpus", "version": "0.0.0", "private": True}
    (root / "package.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(root),
            "--no-audit",
            "--no-fund",
            "--save-exact",
            *PACKAGES,
        ],
        check=True,
        cwd=root,
        stdout=subprocess.DEVNULL,
    )
    if not _is_complete(node_modules):
        raise RuntimeError(f"npm install finished but the corpus in {node_modules} is incomplete")
    return node_modules


if __name__ == "__main__":
    print(ensure_corpus())
