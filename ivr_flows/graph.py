"""Small, deterministic graph algorithms for the flow validator.

Graphs are given as an ordered list of node ids and a successor function;
every result follows that order so the validator's output is stable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

Successors = Callable[[str], Sequence[str]]


def reachable(roots: Iterable[str], succ: Successors) -> set[str]:
    """Nodes reachable from ``roots`` (roots included)."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(succ(node))
    return seen


def can_reach(nodes: Sequence[str], targets: set[str], succ: Successors) -> set[str]:
    """Nodes from which some node in ``targets`` is reachable (targets included)."""
    preds: dict[str, list[str]] = {n: [] for n in nodes}
    for node in nodes:
        for target in succ(node):
            if target in preds:
                preds[target].append(node)
    return reachable(targets, lambda n: preds.get(n, ()))


def cycles(nodes: Sequence[str], succ: Successors) -> list[list[str]]:
    """Strongly connected components that contain a cycle, each as one cycle path.

    Iterative Tarjan; components and the cycle inside each are reported in
    ``nodes`` order, so the same graph always gives the same answer.
    """
    order = {n: i for i, n in enumerate(nodes)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(succ(root)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next((c for c in children if c in order), None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(succ(child))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                members = set(component)
                if len(component) > 1 or node in succ(node):
                    components.append(
                        _cycle_in(min(component, key=order.__getitem__), members, succ)
                    )
    components.sort(key=lambda c: order[c[0]])
    return components


def _cycle_in(start: str, members: set[str], succ: Successors) -> list[str]:
    """A shortest cycle through ``start`` inside one component (BFS)."""
    parent: dict[str, str] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in succ(node):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return list(reversed(path))
            if child in members and child not in parent:
                parent[child] = node
                queue.append(child)
    return [start]


def must_be_set(
    nodes: Sequence[str],
    entry: Mapping[str, frozenset[str]],
    edges: Callable[[str], Sequence[tuple[str, frozenset[str] | None]]],
) -> dict[str, frozenset[str]]:
    """Forward "definitely assigned" dataflow.

    ``entry`` gives the fixed in-set of entry nodes; ``edges(n)`` yields
    ``(target, defines)`` where ``defines`` None means "everything" (an opaque
    node). Returns, for every reached node, the variables set on every path to
    it. Unreached nodes are absent.
    """
    ins: dict[str, frozenset[str] | None] = {n: None for n in nodes}  # None = not yet reached (top)
    ins.update(entry)
    everything: frozenset[str] = frozenset({"\0all"})
    changed = True
    while changed:
        changed = False
        for node in nodes:
            current = ins.get(node)
            if current is None:
                continue
            for target, defines in edges(node):
                if target not in ins or target in entry:
                    continue
                out = everything if defines is None or everything <= current else current | defines
                old = ins[target]
                new = out if old is None else _meet(old, out, everything)
                if new != old:
                    ins[target] = new
                    changed = True
    return {n: v for n, v in ins.items() if v is not None}


def _meet(a: frozenset[str], b: frozenset[str], everything: frozenset[str]) -> frozenset[str]:
    if everything <= a:
        return b
    if everything <= b:
        return a
    return a & b


def covers(assigned: frozenset[str], name: str) -> bool:
    """True if ``name`` is in a :func:`must_be_set` result (which may mean "everything")."""
    return name in assigned or "\0all" in assigned
