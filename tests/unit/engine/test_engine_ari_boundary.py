"""ARI REST requests are made only in ``controlplane/engine/`` (issue 10, "one executor").

A static scan of every module of the control plane and the panel outside the engine:

* **paths**: no call of ``.get/.post/.put/.delete/.request`` on anything may carry an ARI
  resource path (a string or f-string starting with ``/``, or a name or attribute the
  module ever binds to one), nor an HTTP verb as ``request``'s first argument. The
  receiver's name plays no part, so renaming the client's variable does not hide a call;
* **clients**: ``AriClient`` may be imported only by the modules that open a connection
  (the composition root, the AMD app, the AMD probe); there, nothing bound to an
  ``AriClient`` (by assignment or ``async with … as``) may have a REST method called on it,
  and ``AriClient.<method>(…)`` on the class is refused everywhere.

Each rule is shown to fire on a small example, so the test can fail.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
REST = {"get", "post", "put", "delete", "request"}
VERBS = {"GET", "POST", "PUT", "DELETE"}
# Modules that hold an ARI connection of their own (they hand it to an Executor).
OWNERS = {"controlplane/daemon.py", "controlplane/amd_live/service.py",
          "controlplane/amd_live/probe.py"}


def _path_like(node: ast.AST, names: set[str]) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.startswith("/")
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        return isinstance(first, ast.Constant) and str(first.value).startswith("/")
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _path_like(node.left, names) or _path_like(node.right, names)
    return _key(node) in names


def _key(node: ast.AST) -> str | None:
    """``x`` or ``self.x`` → "x": the binding a later call may use."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _bound_to(tree: ast.AST, pred: object) -> set[str]:
    """Names (and attribute names) the module binds to a value ``pred`` accepts."""
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[ast.AST] = []
        value: ast.AST | None = None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign | ast.NamedExpr):
            targets, value = [node.target], node.value
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            targets, value = [node.optional_vars], node.context_expr
        if value is not None and pred(value):  # type: ignore[operator]
            found |= {k for t in targets if (k := _key(t)) is not None}
    return found


def _is_ari_client(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and _key(node.func) == "AriClient") or (
        isinstance(node, ast.Name) and node.id == "AriClient")


def violations(source: str, rel: str) -> list[str]:
    tree = ast.parse(source)
    paths: set[str] = set()
    while True:  # a name bound to a path, or to a name bound to one, …
        known = frozenset(paths)
        more = _bound_to(tree, lambda v, known=known: _path_like(v, set(known))) - paths
        if not more:
            break
        paths |= more
    clients = _bound_to(tree, _is_ari_client)
    # ``@bp.get("/path")`` declares an HTTP route of the panel: not a request
    routes = {id(d) for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
              for d in n.decorator_list}
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.ImportFrom) and rel not in OWNERS
                and any(a.name == "AriClient" for a in node.names)):
            found.append(f"{rel}:{node.lineno}: imports AriClient")
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in REST) or id(node) in routes:
            continue
        where = f"{rel}:{node.lineno}"
        receiver = node.func.value
        if any(_path_like(a, paths) for a in node.args):
            found.append(f"{where}: ARI path in .{node.func.attr}()")
        elif (node.func.attr == "request" and node.args and isinstance(node.args[0], ast.Constant)
              and node.args[0].value in VERBS):
            found.append(f"{where}: HTTP verb in .request()")
        elif _key(receiver) == "AriClient" or _key(receiver) in clients:
            found.append(f"{where}: REST call on an AriClient")
    return found


def _modules() -> list[Path]:
    files = [*(ROOT / "controlplane").rglob("*.py"), *(ROOT / "web").rglob("*.py")]
    engine = ROOT / "controlplane" / "engine"
    return sorted(p for p in files if engine not in p.parents)


# HTTP clients of servers that are not Asterisk, each for a reason; they must not touch
# the engine (checked below), so an ARI call cannot hide in one.
OTHER_HTTP = {
    "controlplane/webhooks/transport.py": "POSTs webhook deliveries to tenants' receivers",
    "controlplane/sla/probes.py": "the SLA prober logs in to the panel over HTTP, as a user",
}


def test_no_module_outside_the_engine_calls_ari_rest() -> None:
    modules = _modules()
    assert len(modules) > 50  # the scan really saw the tree
    found = [v for p in modules if (rel := str(p.relative_to(ROOT))) not in OTHER_HTTP
             for v in violations(p.read_text(), rel)]
    assert found == []


@pytest.mark.parametrize("rel", sorted(OTHER_HTTP))
def test_the_other_http_clients_do_not_reach_the_engine(rel: str) -> None:
    tree = ast.parse((ROOT / rel).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m.startswith("controlplane.engine")}, rel


@pytest.mark.parametrize("source", [
    'async def f(ari):\n    await ari.post(f"/channels/{x}/answer")\n',
    'async def f(whatever):\n    await whatever.delete("/bridges/" + b)\n',
    'async def f(x):\n    path = f"/channels/{c}"\n    p2 = path\n    await x.get(p2)\n',
    'async def f(s):\n    s.path = "/playbacks/1"\n    await s.client.delete(s.path)\n',
    'async def f(s):\n    await s.http.request("POST", url)\n',
    'from controlplane.engine.ari_ import AriClient\n',
    '@bp.get("/x")\ndef page():\n    return ari.get("/channels")\n',
])
def test_each_rule_fires(source: str) -> None:
    assert violations(source, "controlplane/x.py")


def test_clients_held_by_owners_are_watched() -> None:
    src = ("from controlplane.engine.ari_ import AriClient\n"
           "async def f(u):\n"
           "    async with AriClient(u, 'a', 'b', 'c') as conn:\n"
           "        await conn.get(channels_url)\n"
           "    AriClient.post(conn, x)\n")
    assert len(violations(src, "controlplane/daemon.py")) == 2
    ok = ("from controlplane.engine.ari_ import AriClient\n"
          "async def f(u, d):\n"
          "    async with AriClient(u, 'a', 'b', 'c') as conn:\n"
          "        d.get('key')\n")
    assert violations(ok, "controlplane/daemon.py") == []
