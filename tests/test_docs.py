"""The documentation: links resolve, the README stays short and its commands paste as shown.

README.md holds the quick start and the everyday commands; reference material lives in
docs/, the changelog in CHANGES.md. These tests read the Markdown and the two setup
scripts as text (nothing is run).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
MARKDOWN = [README, ROOT / "CHANGES.md", ROOT / "bench" / "README.md", *DOCS]
README_LIMIT = 10 * 1024
# Commands that must come from the clone's virtualenv, not whatever is on PATH.
VENV_COMMANDS = {"flask", "gunicorn", "pip", "pip3", "python", "pytest", "ruff"}

FENCE = re.compile(r"^(```|~~~)(.*)$")
LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]*)\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
ACTIVATE = re.compile(r"^(\.|source)\s+\.venv/bin/activate\b")
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def rel(path: Path) -> str:
    path = path.resolve()
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.as_posix()


def split_markdown(text: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """(prose lines, [(info string, code lines)]): fenced blocks apart from the prose."""
    prose: list[str] = []
    blocks: list[tuple[str, list[str]]] = []
    fence: str | None = None
    for line in text.splitlines():
        m = FENCE.match(line.strip())
        if fence is None and m:
            fence = m.group(1)
            blocks.append((m.group(2).strip(), []))
        elif fence is not None and line.strip() == fence:
            fence = None
        elif fence is not None:
            blocks[-1][1].append(line)
        else:
            prose.append(line)
    return prose, blocks


def strip_code_spans(line: str) -> str:
    """Inline code is not Markdown: `[x](y)` inside backticks is no link."""
    return re.sub(r"(`+).*?\1", "", line)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: formatting and punctuation dropped, spaces to '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text).lower()
    text = re.sub(r"[^\w\- ]", "", text)  # \w keeps letters, digits and "_"
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors GitHub makes for a file's headings (repeats get -1, -2, ...)."""
    prose, _ = split_markdown(path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    out = set()
    for line in prose:
        m = HEADING.match(line)
        if not m:
            continue
        base = slug(m.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def links(path: Path) -> list[str]:
    prose, _ = split_markdown(path.read_text(encoding="utf-8"))
    return [m.group("target") for line in prose for m in LINK.finditer(strip_code_spans(line))]


def broken_links(path: Path) -> list[str]:
    """Relative links of ``path`` whose file, or whose #anchor in a .md file, is missing."""
    problems = []
    for target in links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:, ...
            continue
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            problems.append(f"{rel(path)}: {target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            problems.append(f"{rel(path)}: {target}: no heading #{anchor} in {rel(dest)}")
    return problems


def section(path: Path, title: str) -> str:
    """The text under the ``## title`` heading, up to the next heading of that level."""
    text = path.read_text(encoding="utf-8")
    m = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert m, f"{rel(path)} has no '## {title}' section"
    return m.group(1)


def shell_commands(block: list[str]) -> list[str]:
    """A bash block's commands: comments dropped, continuations joined, lists split."""
    joined: list[str] = []
    pending = ""
    for raw in block:
        line = raw.rstrip()
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    if pending:
        joined.append(pending)
    commands = []
    for line in joined:
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            words = line.split("#", 1)[0].split()
        command: list[str] = []
        for word in [*words, ";"]:
            if word in ("&&", "||", ";", "|", "&"):
                if command:
                    commands.append(shlex.join(command))
                command = []
            else:
                command.append(word)
    return commands


def program(command: str) -> str:
    """The program a command runs, past ``VAR=value`` prefixes."""
    words = shlex.split(command)
    while words and ASSIGNMENT.match(words[0]):
        words.pop(0)
    return words[0] if words else ""


def bash_blocks(path: Path) -> list[list[str]]:
    _, blocks = split_markdown(path.read_text(encoding="utf-8"))
    return [code for info, code in blocks if info in ("bash", "sh", "shell", "console")]


def unprefixed(block: list[str]) -> list[str]:
    """Commands of a block that run a bare ``flask``/``gunicorn``/... without activation."""
    bad = []
    active = False
    for command in shell_commands(block):
        prog = program(command)
        if ACTIVATE.match(command):
            active = True
        elif prog in VENV_COMMANDS and not active:
            bad.append(command)
    return bad


def venv_of(script: Path) -> str:
    """The virtualenv folder a setup script creates (``python3 -m venv DIR``)."""
    text = script.read_text(encoding="utf-8")
    created = re.findall(r"^\s*python3? -m venv\s+(\S+)\s*$", text, re.M)
    assert len(created) == 1, f"{rel(script)}: expected one `python3 -m venv DIR`: {created}"
    folder = created[0].strip("\"'").rstrip("/")
    used = set(re.findall(r"(?:^|\s)(\.?[\w.-]+)/bin/", text))
    assert used == {folder}, f"{rel(script)} creates {folder} but runs from {sorted(used)}"
    return folder


# -- (a) links --------------------------------------------------------------------------


@pytest.mark.parametrize("path", MARKDOWN, ids=rel)
def test_relative_links_point_at_existing_files_and_headings(path: Path) -> None:
    assert path.exists()
    assert broken_links(path) == []


def test_a_broken_link_or_anchor_is_reported(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n\n## Rolling deploys\n\n## `assets.yml`\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](docs/a.md) [ok](docs/a.md#rolling-deploys) [ok](docs/a.md#assetsyml)"
        " [ok](#page) [web](https://example.com/x)\n\n# Page\n\n"
        "[gone](docs/b.md) [bad anchor](docs/a.md#rolling) `[code](nowhere.md)`\n"
        "```bash\n[not a link](nowhere.md)\n```\n"
    )
    assert broken_links(page) == [
        f"{rel(page)}: docs/b.md: no such file",
        f"{rel(page)}: docs/a.md#rolling: no heading #rolling in {rel(tmp_path / 'docs/a.md')}",
    ]


def test_slugs_follow_githubs_rules() -> None:
    assert slug("Libraries it builds on, and why") == "libraries-it-builds-on-and-why"
    assert slug("App servers: `ASSETS_MANIFEST_URL`") == "app-servers-assets_manifest_url"
    assert slug("The `flask assets` command group") == "the-flask-assets-command-group"
    assert slug("What `publish` uploads") == "what-publish-uploads"


# -- (b), (c) the README's size and quick start -----------------------------------------


def test_readme_is_under_10_kib() -> None:
    size = README.stat().st_size
    assert size < README_LIMIT, f"README.md is {size:,} bytes; move reference to docs/"


def test_quick_start_comes_first_with_exactly_the_two_scripts() -> None:
    text = README.read_text(encoding="utf-8")
    prose, _ = split_markdown(text)
    headings = [line for line in prose if line.startswith("## ")]
    assert headings and headings[0].strip() == "## Quick start", headings[:1]
    _, blocks = split_markdown(section(README, "Quick start"))
    commands = [c for code in [b for _, b in blocks] for c in shell_commands(code)]
    assert commands == ["bash scripts/run.sh", "bash scripts/test.sh"]


# -- (d) commands in the README paste as shown ------------------------------------------


def test_readme_commands_run_from_the_clones_virtualenv() -> None:
    blocks = bash_blocks(README)
    assert blocks, "README.md has no bash blocks"
    commands = [c for b in blocks for c in shell_commands(b)]
    assert any(program(c) == ".venv/bin/flask" for c in commands)
    assert [c for b in blocks for c in unprefixed(b)] == []


@pytest.mark.parametrize("path", DOCS, ids=rel)
def test_docs_commands_run_from_a_virtualenv(path: Path) -> None:
    assert [c for b in bash_blocks(path) for c in unprefixed(b)] == []


def test_bare_commands_are_caught() -> None:
    block = [
        ".venv/bin/flask --app app assets build  # fine",
        "FLASK_ASSETS_AUTO_BUILD=false gunicorn 'app:create_app()'",
        ".venv/bin/flask --app app assets build && flask --app app assets check",
        "FLASK_X=1 \\",
        "  flask --app app run",
        ". .venv/bin/activate",
        "flask --app app run   # fine: activated above",
    ]
    assert unprefixed(block) == [
        "FLASK_ASSETS_AUTO_BUILD=false gunicorn 'app:create_app()'",
        "flask --app app assets check",
        "FLASK_X=1 flask --app app run",
    ]


# -- (e) the two scripts can run side by side -------------------------------------------


def test_run_and_test_scripts_use_different_virtualenvs() -> None:
    run = venv_of(ROOT / "scripts" / "run.sh")
    test = venv_of(ROOT / "scripts" / "test.sh")
    assert run != test, "scripts/test.sh would reinstall into the dev server's virtualenv"
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert {f"{run}/", f"{test}/"} <= set(ignored)


def test_ci_runs_the_test_script() -> None:
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


# -- (f) every page is reachable ------------------------------------------------------


def test_every_docs_page_is_linked_from_the_readme() -> None:
    assert DOCS, "docs/ has no pages"
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in links(README)}
    assert [rel(p) for p in DOCS if p.resolve() not in linked] == []
    assert (ROOT / "CHANGES.md").resolve() in linked


@pytest.mark.parametrize("path", [README, ROOT / "docs" / "templates.md"], ids=rel)
def test_template_examples_render_as_pasted(path: Path, built: Path, make_app: Any) -> None:
    """Every ```jinja block renders in the demo app, in production and in development."""
    from flask import render_template_string

    blocks = ["\n".join(code) for info, code in split_markdown(path.read_text())[1]]
    blocks = [
        b
        for info, b in zip(split_markdown(path.read_text())[1], blocks, strict=True)
        if info[0] == "jinja"
    ]
    assert blocks, f"no jinja examples in {rel(path)}"
    for auto_build in (False, True):
        app = make_app(built, ASSETS_AUTO_BUILD=auto_build)
        app.jinja_env.globals["csp_nonce"] = lambda: "r4nd0m"  # the app's own, in the docs
        with app.test_request_context("/"):
            for block in blocks:
                html = render_template_string(block)
                assert "<" in html, block
                for url in re.findall(r'(?:href|src)="([^"]+)"', html):
                    assert app.test_client().get(url).status_code == 200, (block, url)
