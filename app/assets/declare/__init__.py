"""The declared bundles: read (``assets.yml`` today), validated, frozen into a :class:`Spec`.

- :mod:`.model`: the frozen result (``Spec``, ``BundleSpec``, ``Ref``) and constants;
- :mod:`.draft`: the intermediate form a reader produces;
- :mod:`.yaml_reader`: webassets' YAML format into that form;
- :mod:`.validate` (with :mod:`.sources`): the checks shared by every reader.

No Flask, no webassets here.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..load_path import LoadPath
from .model import (
    KIND_BY_SUFFIX,
    OUTPUT_DIR,
    VERSION_PLACEHOLDER,
    BundleSpec,
    Ref,
    Spec,
    display_path,
)
from .validate import build_spec
from .yaml_reader import ALLOWED_KEYS, read_yaml

__all__ = [
    "ALLOWED_KEYS",
    "KIND_BY_SUFFIX",
    "OUTPUT_DIR",
    "VERSION_PLACEHOLDER",
    "BundleSpec",
    "Ref",
    "Spec",
    "display_path",
    "load_spec",
]


def load_spec(path: str | os.PathLike[str], static: LoadPath | str | os.PathLike[str]) -> Spec:
    """Load ``assets.yml``; raises :class:`ConfigError` naming file, line and bundle.

    ``static`` is the load path, or the app's static folder alone.
    """
    load_path = static if isinstance(static, LoadPath) else LoadPath.single(static)
    return build_spec(read_yaml(Path(path)), load_path)
