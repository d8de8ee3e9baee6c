"""The `flask assets` commands.

Flask-Assets registers `flask assets` through the ``flask.commands`` entry point, and
Flask resolves plugin commands before ``app.cli``: a group of our own would be
shadowed in the real shell. So we extend *that same group object* and register it
under the same entry-point name; whichever entry point loads last, it is one group.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

import click
import flask_assets
from flask import current_app
from flask.cli import with_appcontext

from .errors import AssetError
from .pipeline import Pipeline, current, manifest_optional

if TYPE_CHECKING:
    from .builder import Result
    from .declare import Spec

# The commands import what they use when run: this module loads with every `flask`
# command (it is a plugin entry point), production servers included.
assets: click.Group = flask_assets.assets
_flask_assets_callback = assets.callback


def _group_callback(*args: Any, **kwargs: Any) -> Any:
    # These commands make the manifest; production start-up must not demand it here.
    token = manifest_optional.set(True)
    # Only for this command: later apps in the same process must demand the manifest.
    click.get_current_context().call_on_close(lambda: manifest_optional.reset(token))
    if _flask_assets_callback is not None:
        return _flask_assets_callback(*args, **kwargs)
    return None


assets.callback = _group_callback
assets.help = "Build, check, watch, clean and publish the asset bundles declared in assets.yml."


class AssetCommandError(click.ClickException):
    """Prints the one-line ``file:line: bundle 'x': message`` as it is."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.format_message(), err=True)


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """Any pipeline error ends the command with its one line and exit status 1."""
    try:
        yield
    except AssetError as exc:
        raise AssetCommandError(str(exc)) from None


def _spec(pipeline: Pipeline, notes: bool = False) -> Spec:
    with one_line_errors():
        spec = pipeline.load_spec()
    if notes:
        for note in spec.notes:
            click.echo(f"note: {note}")
    return spec


def _report(r: Result) -> None:
    click.echo(
        f"{r.name:<16} {r.entry.file:<34} {r.entry.bytes:>9,} B  gzip {r.gzip_bytes:>8,} B"
        f"  {r.seconds:6.2f} s"
    )


def _report_with_warnings(r: Result) -> None:
    _report(r)
    _echo_warnings([r])


def _echo_warnings(results: list[Result]) -> None:
    """Compiler warnings once per build, after the report: one line per distinct
    warning, naming every bundle that met it. They never fail the build."""
    seen: dict[str, list[str]] = {}
    for r in results:
        for w in r.warnings:
            seen.setdefault(w, []).append(r.name)
    for w, names in seen.items():
        click.echo(f"warning: {w} (bundle {', '.join(repr(n) for n in names)})", err=True)


@assets.command("build")
@click.argument("bundles", nargs=-1)
@click.option("--jobs", "-j", type=int, default=None, help="Parallel processes (default: cores).")
@click.option("--no-cache", is_flag=True, help="Ignore and do not write the build cache.")
@with_appcontext
def build_command(bundles: tuple[str, ...], jobs: int | None, no_cache: bool) -> None:
    """Compile, minify and hash bundles into static/gen/ and write the manifest.

    With BUNDLE names, build only those; the manifest keeps the others.
    """
    from . import builder
    from .settings import template_folders
    from .static_files import template_links

    pipeline = current()
    settings = pipeline.settings
    spec = _spec(pipeline, notes=True)
    results: list[Result] = []

    def report(r: Result) -> None:
        _report(r)
        results.append(r)

    with one_line_errors():
        builder.build(
            spec,
            bundles or None,
            static_url=settings.static_url,
            keep=settings.keep,
            report=report,
            cache_dir=None if no_cache else settings.cache_dir,
            jobs=jobs,
            linked=[src for src, _, _ in template_links(template_folders(current_app))],
            warn=lambda line: click.echo(line, err=True),
            browsers=settings.browsers,
        )
    _echo_warnings(results)


@assets.command("check")
@click.option(
    "--full", is_flag=True, help="Compile every bundle again, trusting no sealed build record."
)
@with_appcontext
def check_command(full: bool) -> None:
    """Exit 1 if the build is missing or stale, or a template misuses bundles."""
    from .check import stale_bundles, static_file_problems, template_problems
    from .settings import template_folders
    from .static_files import template_links

    pipeline = current()
    settings = pipeline.settings
    spec = _spec(pipeline)
    folders = template_folders(current_app)
    linked = [src for src, _, _ in template_links(folders)]
    problems = stale_bundles(
        spec,
        settings.manifest_path,
        settings.static_url,
        settings.browsers,
        cache_dir=settings.cache_dir,
        full=full,
    )
    problems += static_file_problems(spec, settings.manifest_path, linked, settings.static_url)
    problems += template_problems(spec, folders)
    for p in problems:
        click.echo(p, err=True)
    if problems:
        raise AssetCommandError(f"{len(problems)} problem(s) found")
    click.echo(f"ok: {len(spec.outputs)} bundles current, templates clean")


@assets.command("export-yaml")
@with_appcontext
def export_yaml_command() -> None:
    """Print the bundles registered in Python (Flask-Assets' register) as assets.yml."""
    from .bridge.registered import export_yaml

    click.echo(export_yaml(current_app), nl=False)


@assets.command("clean")
@click.option("--keep", type=int, default=None, help="Older builds to keep (ASSETS_KEEP).")
@click.option("--remote", is_flag=True, help="Clean <prefix>gen/ in ASSETS_S3_BUCKET instead.")
@click.option(
    "--dev", "dev", is_flag=True, help="Also empty static/gen/dev/ (development servers' builds)."
)
@with_appcontext
def clean_command(keep: int | None, remote: bool, dev: bool) -> None:
    """Delete files in static/gen/ (or the bucket) that no kept build references.

    static/gen/dev/, which running development servers serve, is kept unless --dev.
    """
    settings = current().settings
    keep = settings.keep if keep is None else keep
    with one_line_errors():
        if remote:
            from . import publish

            target = publish.Target.from_config(current_app.config)
            removed = publish.clean_remote(target, keep=keep)
        else:
            from .clean import clean

            removed = clean(settings.static, keep, dev=dev)
    for rel in removed:
        click.echo(f"removed {rel}")
    click.echo(f"{len(removed)} file(s) removed")


@assets.command("publish")
@with_appcontext
def publish_command() -> None:
    """Upload the current build to ASSETS_S3_BUCKET, skipping what is there; manifest last."""
    from . import publish

    settings = current().settings
    with one_line_errors():
        target = publish.Target.from_config(current_app.config)
        done = publish.publish(settings.static, target, keep=settings.keep, report=click.echo)
    click.echo(
        f"{target.url()}: uploaded {done.uploaded}, skipped {done.skipped}, {done.bytes:,} B sent"
    )


@assets.command("watch")
@with_appcontext
def watch_command() -> None:
    """Build, then rebuild the affected bundles whenever a source or assets.yml changes."""
    from .watch import watch

    pipeline = current()
    settings = pipeline.settings
    try:
        watch(
            settings.config_path,
            pipeline.load_path,
            static_url=settings.static_url,
            keep=settings.keep,
            cache_dir=settings.cache_dir,
            browsers=settings.browsers,
            echo=lambda line: click.echo(line, err=line.startswith("error:")),
            report=_report_with_warnings,
            loader=pipeline.load_spec,
        )
    except KeyboardInterrupt:
        click.echo("stopped")
