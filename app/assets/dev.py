"""Development loop: error overlay in the page, live reload over server-sent events.

Only wired when auto-build is on; the endpoints do not exist in production.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, Response, current_app, stream_with_context
from markupsafe import Markup, escape
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from werkzeug.exceptions import NotFound

from .errors import AssetError
from .resolvers.dev_outputs import DEV_DIR
from .resolvers.dynamic import look_again
from .settings import template_folders
from .watch import SaveTracker, observe

if TYPE_CHECKING:
    from .pipeline import Pipeline
    from .resolvers import Resolver

PREFIX = "/__assets"
# File-system events wake the streams at once; this poll is only the safety net.
POLL_SECONDS = 1.0
# EventSource reconnects by itself; a bounded stream frees the server thread.
STREAM_SECONDS = 300.0
CLIENT_JS = Path(__file__).with_name("livereload.js")

log = logging.getLogger("app.assets")


def overlay_html(errors: list[AssetError]) -> Markup:
    items = "".join(
        f'<li><code class="where">{escape(_where(e))}</code>'
        f'<pre class="msg">{escape(e.message)}</pre></li>'
        for e in errors
    )
    return Markup(
        '<div id="assets-error-overlay" role="alert" style="position:fixed;inset:0;'
        "z-index:2147483647;background:rgba(20,20,20,.92);color:#fff;padding:2rem;"
        'font:14px/1.5 monospace;overflow:auto"><h2 style="color:#ff6b6b;margin-top:0">'
        f"Asset build failed</h2><ul style='list-style:none;padding:0'>{items}</ul>"
        "<p>Fix the file and save: this page updates by itself.</p></div>"
    )


def _where(err: AssetError) -> str:
    parts = [str(p) for p in (err.file, err.line, err.line and err.column) if p]
    where = ":".join(parts)
    return f"{where} (bundle '{err.bundle}')" if err.bundle else where or "assets"


def error_payload(errors: list[AssetError]) -> list[dict[str, object]]:
    return [
        {
            "file": e.file,
            "line": e.line,
            "column": e.column,
            "bundle": e.bundle,
            "message": e.message,
            "text": str(e),
        }
        for e in errors
    ]


class DevTools:
    """Per-app dev state: logged errors, template stamps, the file watcher for streams."""

    def __init__(self, app: Flask, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.live = pipeline.settings.live_reload
        self._app_folders = lambda: template_folders(app)  # blueprints may come later
        self._logged: set[str] = set()
        # Wakes the event streams; settling waits for a save's close, not a fixed time.
        self.wakeup = SaveTracker(pipeline.settings.static, pipeline.settings.config_path)
        self._observer: BaseObserver | None = None
        self._streams = 0
        self._lock = threading.Lock()

    def _watch(self, on: bool) -> None:
        """Run one watchdog observer while at least one event stream is open."""
        with self._lock:
            self._streams += 1 if on else -1
            if on and self._observer is None:
                observer = Observer()
                config_folder = self.pipeline.settings.config_path.parent
                folders = {*self.pipeline.load_path.folders(), *self.templates(), config_folder}
                for folder in folders:
                    if folder.is_dir():
                        recursive = folder != config_folder
                        observe(observer, self.wakeup, folder, recursive=recursive)
                observer.daemon = True
                observer.start()
                self._observer = observer
            elif not on and self._streams == 0 and self._observer is not None:
                self._observer.stop()
                self._observer = None

    @property
    def watching(self) -> bool:
        """Whether the file watcher that wakes event streams is running."""
        return self._observer is not None

    @property
    def resolver(self) -> Resolver:
        return self.pipeline.resolver

    def templates(self) -> list[Path]:
        return self._app_folders()

    def errors(self) -> list[AssetError]:
        errs = self.resolver.errors()
        for e in errs:
            if str(e) not in self._logged:
                self._logged.add(str(e))
                log.error("%s", e)
        self._logged &= {str(e) for e in errs}
        return errs

    def template_stamp(self) -> tuple[tuple[str, int], ...]:
        out = []
        for folder in self.templates():
            for p in sorted(folder.rglob("*")):
                try:
                    out.append((str(p), p.stat().st_mtime_ns))
                except OSError:
                    continue
        return tuple(out)

    def inject(self, response: Response) -> Response:
        """Add the overlay (on errors) and the live-reload client to HTML pages."""
        if response.mimetype != "text/html" or response.direct_passthrough:
            return response
        extra = ""
        errs = self.errors()
        # Only a debug server shows sources to the browser; otherwise the log has them.
        if errs and self.pipeline.settings.debug:
            extra += str(overlay_html(errs))  # plain str: Markup + str would escape the page
        if self.live:
            extra += f'<script src="{PREFIX}/client.js" data-assets-live></script>'
        if not extra:
            return response
        # Bytes, not text: no decode and re-encode of the whole page on every request.
        body = response.get_data()
        at = body.rfind(b"</body>")
        if at == -1:
            at = body.lower().rfind(b"</body>")
        blob = extra.encode(response.charset if hasattr(response, "charset") else "utf-8")
        response.set_data(body[:at] + blob + body[at:] if at != -1 else body + blob)
        return response

    def events(self) -> Iterator[str]:
        """Server-sent events: css (swap in place), js/template (reload), error, ok."""
        resolver = self.resolver
        urls: dict[str, str] = {}
        sent_errors: list[str] = []
        templates = self.template_stamp()
        end = time.monotonic() + STREAM_SECONDS
        self._watch(True)
        try:
            yield "retry: 500\n\n"
            yield from self._stream(resolver, urls, sent_errors, templates, end)
        finally:
            self._watch(False)

    def _stream(
        self,
        resolver: Resolver,
        urls: dict[str, str],
        sent_errors: list[str],
        templates: tuple[tuple[str, int], ...],
        end: float,
    ) -> Iterator[str]:
        seen = self.wakeup.generation
        while time.monotonic() < end:
            look_again()  # each pass sees the files as they are now
            try:
                names = resolver.names()
            except AssetError:
                names = []
            for name in names:
                try:
                    entry = resolver.entry(name)
                except AssetError:
                    continue
                if name in urls and urls[name] != entry.url:
                    data = {"bundle": name, "url": entry.url, "integrity": entry.integrity}
                    yield _event(entry.type, data)
                urls[name] = entry.url
            errs = self.errors()
            texts = [str(e) for e in errs]
            if texts != sent_errors:
                yield _event("error" if errs else "ok", {"errors": error_payload(errs)})
                sent_errors = texts
            now = self.template_stamp()
            if now != templates:
                templates = now
                yield _event("template", {})
            # A comment line: writing is how a server notices the client has gone.
            yield ": ping\n\n"
            now_seen = self.wakeup.wait(seen, POLL_SECONDS)
            if now_seen != seen:
                seen = now_seen
                self.wakeup.settle()
                self.wakeup.take()  # streams count generations; the paths are not needed


def _event(kind: str, data: Mapping[str, object]) -> str:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n"


def _restoring(view: Callable[..., Any], pipeline: Pipeline) -> Callable[..., Any]:
    """The static view, rebuilding a development output that vanished (``clean --dev``)."""

    def static(filename: str) -> Any:
        try:
            return view(filename=filename)
        except NotFound:
            if not filename.startswith(DEV_DIR + "/"):
                raise
            if not pipeline.resolver.restore(filename):
                raise
            return view(filename=filename)

    return static


def init_dev(app: Flask, pipeline: Pipeline) -> None:
    tools = DevTools(app, pipeline)
    app.extensions["assets_dev"] = tools
    app.after_request(tools.inject)
    static_view = app.view_functions.get("static")
    if static_view is not None:
        app.view_functions["static"] = _restoring(static_view, pipeline)
    if not tools.live:
        return
    bp = Blueprint("assets_dev", __name__, url_prefix=PREFIX)

    @bp.get("/client.js")
    def client() -> Response:
        return Response(CLIENT_JS.read_text(encoding="utf-8"), mimetype="text/javascript")

    @bp.get("/events")
    def events() -> Response:
        tools = current_app.extensions["assets_dev"]
        return Response(
            stream_with_context(tools.events()),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    app.register_blueprint(bp)
