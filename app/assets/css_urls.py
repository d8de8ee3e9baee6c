"""``url(...)`` in CSS: the one pattern the build rewrites and older manifests are read by."""

from __future__ import annotations

import re

URL = re.compile(r"""url\(\s*(?:(["'])(.*?)\1|([^)'"\s]+))\s*\)""")
# Absolute URLs, site-absolute paths, data: URIs and fragments are not files of ours.
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|/|#)", re.IGNORECASE)


def url_of(match: re.Match[str]) -> str:
    return match.group(2) if match.group(1) else match.group(3)


def local_names(css: str) -> set[str]:
    """Plain file names a built CSS output links beside itself (``url("x.1a2b3c4d.png")``)."""
    found = set()
    for m in URL.finditer(css):
        url = url_of(m)
        name = re.split(r"[?#]", url, maxsplit=1)[0] if url else ""
        if name and not EXTERNAL.match(url) and "/" not in name:
            found.add(name)
    return found
