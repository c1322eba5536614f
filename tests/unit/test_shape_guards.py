"""Issue 10 item 6, enforced: no non-test module over 400 lines, no mixin classes.

Static scans of the packages the project ships (``controlplane``, ``web``, ``ivr_flows``,
``amd``, ``dialplan``):

* **size**: every module has at most 400 lines (split it into a room's files instead);
* **mixins**: no class is named ``…Mixin``, and no class inherits from two project classes
  (compose collaborators instead). A framework's mixin (Flask's ``SessionMixin``) or a
  builtin next to one project base (``class AudioRejected(IvrError, ValueError)``) is fine.

Each rule is shown to fire on a small example, so the test can fail.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("controlplane", "web", "ivr_flows", "amd", "dialplan")
MAX_LINES = 400


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
                  if "tests" not in p.relative_to(ROOT).parts)


def too_long(source: str, rel: str) -> list[str]:
    n = len(source.splitlines())
    return [f"{rel}: {n} lines (> {MAX_LINES})"] if n > MAX_LINES else []


def _project_names(tree: ast.Module) -> set[str]:
    """Names in this module that stand for project classes or project modules."""
    names = {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level or (node.module or "").split(".")[0] in PACKAGES:
                names |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.asname or a.name.split(".")[0] for a in node.names
                      if a.name.split(".")[0] in PACKAGES}
    return names


def _root(node: ast.expr) -> str | None:
    """``Name`` → its id; ``mod.sub.Name`` → ``mod``; ``Generic[T]`` → ``Generic``."""
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def mixins(source: str, rel: str) -> list[str]:
    tree = ast.parse(source)
    project = _project_names(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        where = f"{rel}:{node.lineno}: class {node.name}"
        if node.name.endswith("Mixin"):
            found.append(f"{where} is a mixin")
        ours = [b for b in node.bases if _root(b) in project]
        if len(ours) >= 2:
            found.append(f"{where} inherits from {len(ours)} project classes")
    return found


def test_the_scan_sees_the_tree() -> None:
    modules = _modules()
    assert len(modules) > 100
    assert {p.relative_to(ROOT).parts[0] for p in modules} == set(PACKAGES)


def test_no_module_is_over_400_lines() -> None:
    found = [v for p in _modules() for v in too_long(p.read_text(), str(p.relative_to(ROOT)))]
    assert found == []


def test_no_mixin_classes() -> None:
    found = [v for p in _modules() for v in mixins(p.read_text(), str(p.relative_to(ROOT)))]
    assert found == []


def test_the_size_rule_fires() -> None:
    assert too_long("x = 1\n" * 401, "controlplane/x.py")
    assert too_long("x = 1\n" * 400, "controlplane/x.py") == []


@pytest.mark.parametrize("source", [
    "class QueueOffersMixin:\n    pass\n",
    "class A:\n    pass\nclass B:\n    pass\nclass C(A, B):\n    pass\n",
    "from controlplane.calls.x import A\nfrom .y import B\nclass C(A, B):\n    pass\n",
    "from controlplane.acd import parts\nclass C(parts.A, parts.B):\n    pass\n",
    "import controlplane.acd.parts\nclass C(controlplane.acd.parts.A, Base):\n    pass\n"
    "class Base:\n    pass\n",
])
def test_the_mixin_rule_fires(source: str) -> None:
    assert mixins(source, "controlplane/x.py")


@pytest.mark.parametrize("source", [
    "from flask.sessions import SessionMixin\nclass S(dict, SessionMixin):\n    pass\n",
    "from controlplane.ivr.exceptions import IvrError\nclass E(IvrError, ValueError):\n    pass\n",
    "from typing import Generic, TypeVar\nT = TypeVar('T')\nclass A:\n    pass\n"
    "class B(A, Generic[T]):\n    pass\n",
])
def test_framework_and_builtin_bases_are_fine(source: str) -> None:
    assert mixins(source, "controlplane/x.py") == []
