"""What compiling one bundle produced, in memory, before anything is written."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Compiled:
    name: str
    kind: str  # "css" or "js"
    data: bytes
    sources: tuple[str, ...]  # every file read, as logical paths
    # url() files: (logical path, digested copy under gen/, bytes)
    assets: tuple[tuple[str, str, bytes], ...] = ()
    # Folders whose listing decided an import's resolution: a file created there may
    # change the result, so development watches them too.
    lookup_dirs: tuple[str, ...] = ()
