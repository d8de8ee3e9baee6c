"""Development outputs: hashed files under ``static/gen/dev/``, the last few kept."""

from __future__ import annotations

import contextlib
import threading
from dataclasses import replace
from pathlib import Path

from ..compiled import Compiled
from ..declare import OUTPUT_DIR
from ..manifest import Entry
from ..output import write_output

DEV_DIR = f"{OUTPUT_DIR}/dev"
DEV_KEEP = 3  # outputs of each bundle a development server keeps on disk


class DevOutputs:
    """Writes development builds beside, never over, the manifest's files."""

    def __init__(self, static: Path, static_url: str) -> None:
        self.static = static
        self.static_url = static_url.rstrip("/")
        self._written: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def place(self, entry: Entry) -> Entry:
        """The entry moved from ``gen/`` to ``gen/dev/``."""
        rel = f"{DEV_DIR}/{entry.file.removeprefix(OUTPUT_DIR + '/')}"
        assets = tuple(f"{DEV_DIR}/{a.removeprefix(OUTPUT_DIR + '/')}" for a in entry.assets or ())
        return replace(entry, file=rel, url=f"{self.static_url}/{rel}", assets=assets)

    def write(self, name: str, entry: Entry, compiled: Compiled) -> None:
        """Write url() files first, then the output naming them; no compression (a
        brotli pass at quality 11 would slow every save), no fsync (rebuilt on demand)."""
        for rel, (_, _, data) in zip(entry.assets or (), compiled.assets, strict=True):
            write_output(self.static / rel, data, None, durable=False)
        write_output(self.static / entry.file, compiled.data, None, durable=False)
        self._prune(name, entry.file)

    def _prune(self, name: str, current: str) -> None:
        """Delete this server's older outputs of a bundle, so saves do not fill the disk.

        The last few stay: a page rendered just before a rebuild still fetches its URL.
        """
        with self._lock:
            written = self._written.setdefault(name, [])
            if current in written:
                written.remove(current)
            written.append(current)
            doomed = written[:-DEV_KEEP]
            del written[:-DEV_KEEP]
        for rel in doomed:
            with contextlib.suppress(OSError):
                (self.static / rel).unlink()
