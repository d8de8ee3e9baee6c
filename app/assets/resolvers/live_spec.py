"""Development: the declarations, reloaded when ``assets.yml`` or a glob's folder changes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .. import deps
from ..declare import Spec, load_spec
from ..errors import AssetError
from ..load_path import LoadPath

if TYPE_CHECKING:
    from ..bridge.app_spec import AppDeclarations

log = logging.getLogger("app.assets")


class LiveSpec:
    """The last good spec; a broken ``assets.yml`` is reported and the old spec kept."""

    def __init__(
        self,
        config_path: Path,
        load_path: Callable[[], LoadPath],
        fingerprint: Callable[[list[str], int], deps.Fingerprint],
        declarations: Callable[[], AppDeclarations] | None = None,
    ) -> None:
        self.config_path = config_path
        self._declarations = declarations
        self._templates: list[str] = []
        self._said: set[str] = set()
        self._load_path = load_path
        self._fingerprint = fingerprint
        self._spec: Spec | None = None
        self._stamps: deps.Fingerprint | None = None
        self._lock = threading.Lock()
        self.error: AssetError | None = None
        self.generation = 0  # bumped whenever the declarations change

    def current(self, epoch: int | None) -> Spec:
        spec, fp = self._spec, self._stamps
        if spec is not None and fp is not None and not fp.stale(epoch):
            return spec  # fresh: no lock
        with self._lock:
            fp = self._stamps
            if self._spec is not None and fp is not None and not fp.stale(epoch):
                return self._spec
            return self._reload()

    def quiet(self, epoch: int | None) -> bool:
        """Whether the last look found the declarations current at ``epoch`` and the
        change gate covers every file they read: then no look is needed at that epoch."""
        return self._stamps is not None and self._stamps.quiet(epoch)

    def _reload(self) -> Spec:
        started = time.time_ns()
        try:
            found = self._declarations() if self._declarations else None
            self._templates = found.watched if found else []
            spec = load_spec(
                self.config_path,
                self._load_path(),
                more=found.more if found else (),
                wanted=found.wanted if found else (),
            )
        except AssetError as exc:
            self.error = exc
            if self._spec is None:
                raise
            # Keep serving the last good declarations until the file is fixed.
            self._stamps = self._fingerprint(self._watched(self._spec), started)
            return self._spec
        self.error = None
        for note in spec.notes:  # each once per server, not on every reload
            if note not in self._said:
                self._said.add(note)
                log.info("assets: note: %s", note)
        if spec != self._spec:
            self.generation += 1
        self._spec = spec
        self._stamps = self._fingerprint(self._watched(spec), started)
        return spec

    def _watched(self, spec: Spec) -> list[str]:
        # assets.yml, and the folders its globs list: adding a matching file counts too.
        # Templates too: an inline bundle added to one is built on the next request.
        return [str(self.config_path), *spec.glob_folders(), *self._templates]
