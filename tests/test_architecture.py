"""The package's shape: no import cycles, small modules, webassets behind one bridge."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from app.assets import engines

PACKAGE = Path(__file__).resolve().parent.parent / "app" / "assets"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_LINES = 320


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


NAMES = {module_name(p): p for p in MODULES}


def top_level_imports(path: Path) -> set[str]:
    """Modules of the package this one imports at load time (not inside functions)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            subs = {f"{target}.{a.name}" for a in node.names} & NAMES.keys()
            found |= subs or ({target} & NAMES.keys())
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names} & NAMES.keys()
    return found - {name}


def third_party_imports(path: Path) -> set[str]:
    """Top-level package names imported anywhere in the module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
    return found


def test_no_import_cycles() -> None:
    graph = {module_name(p): top_level_imports(p) for p in MODULES}
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                pytest.fail("import cycle: " + " -> ".join([*stack[stack.index(dep) :], dep]))
            if dep not in state:
                visit(dep, [*stack, dep])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_webassets_is_imported_by_the_bridge_only() -> None:
    users = {
        str(p.relative_to(PACKAGE))
        for p in MODULES
        if "webassets" in third_party_imports(p) or "flask_assets" in third_party_imports(p)
    }
    assert users == {
        "bridge/filters.py",
        "bridge/minifying.py",
        "bridge/bundle.py",
        "bridge/tag.py",
        "bridge/registered.py",
        "cli.py",
    }


@pytest.mark.parametrize("path", ["errors.py", "load_path.py", "digests.py", "manifest.py"])
def test_the_core_imports_no_flask(path: str) -> None:
    assert "flask" not in third_party_imports(PACKAGE / path)
    for dep in top_level_imports(PACKAGE / path):
        assert "flask" not in third_party_imports(NAMES[dep]), dep


def test_every_registered_engine_loads() -> None:
    for name in engines.names():
        for kind in engines.kinds(name):
            info = engines.lookup(name, kind)
            assert info is not None
            module = info.load()
            assert hasattr(module, "compiler" if info.role == "compiler" else "minify"), name
