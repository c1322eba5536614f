"""The ACD's pure modules are pure: none imports, even through another module of the
project, a library that does I/O (asyncio, aiohttp, websockets, SQLAlchemy, redis, rq,
subprocess). Every module of the package is declared pure or I/O in ``acd/__init__.py``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from controlplane import acd

FORBIDDEN = {"asyncio", "aiohttp", "websockets", "sqlalchemy", "redis", "rq", "subprocess"}
PACKAGE = Path(acd.__file__).parent


ROOT = PACKAGE.parent.parent  # the directory holding the controlplane package


def _source(module: str) -> Path | None:
    """The file of a project module (``None``: not a module, e.g. a class in one)."""
    base = ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _closure(module: str) -> dict[str, str]:
    """Every module imported from ``module`` (and the packages it lives in), directly or
    through project modules → the project module that imports it."""
    seen: dict[str, str] = {}
    parts = module.split(".")
    todo = [".".join(parts[:n]) for n in range(1, len(parts) + 1)]
    done: set[str] = set()
    while todo:
        m = todo.pop()
        path = _source(m)
        if m in done or path is None:
            continue
        done.add(m)
        for name in _imports(path):
            seen.setdefault(name, m)
            if name.split(".")[0] == "controlplane":
                bits = name.split(".")
                todo += [".".join(bits[:n]) for n in range(2, len(bits) + 1)]
    return seen


def test_every_module_is_declared_pure_or_io() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert modules == set(acd.PURE) | set(acd.IO)
    assert not set(acd.PURE) & set(acd.IO)


@pytest.mark.parametrize("name", acd.PURE)
def test_pure_module_imports_no_io_library(name: str) -> None:
    found = {
        imported: by
        for imported, by in _closure(f"controlplane.acd.{name}").items()
        if imported.split(".")[0] in FORBIDDEN
    }
    assert found == {}, f"{name} imports I/O libraries (imported → by whom): {found}"


def test_the_check_sees_an_io_module() -> None:
    found = _closure("controlplane.acd.service")
    assert "redis.asyncio" in found and "asyncio" in found
