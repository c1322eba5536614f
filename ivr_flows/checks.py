"""Semantic checks of a schema-checked flow (called by :func:`ivr_flows.validator.validate`).

Each check appends :class:`~ivr_flows.validator.FlowError` values with a code:

=====================  ========================================================
code                   meaning
=====================  ========================================================
unresolved_reference   start/next/option/... names a node that does not exist
dead_end               a node has no way on (missing next/fallback/else/...)
no_exit                a loop from which no path reaches a terminal node
unreachable            no path from start (or settings.on_max_time) reaches it
input_free_loop        a cycle through no menu/collect/record node: it would
                       spin (and play or call HTTP) without the caller acting
missing_audio          a sound/audio prompt the tenant does not have
unset_variable         a variable read where some path has not set it
unknown_queue/flow/    a queue, flow or holiday calendar the tenant lacks
unknown_calendar
template, regex        a ``{variable}`` template or regular expression that
                       does not parse
invalid_value          other inconsistent values (digit limits, time zone,
                       read-only variables, ``return`` outside a sub-flow)
=====================  ========================================================
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from . import graph
from .errors import AudioExists, FlowError, suggest
from .model import (
    BUILTIN_VARIABLES,
    INPUT_TYPES,
    TERMINAL_TYPES,
    Node,
    SetNode,
    Settings,
    exits,
    pointer,
)
from .node_checks import node_uses, node_value_errors, settings_errors

REF_KEYS = ("next", "fallback", "else", "on_failure")

AnyNode = Node | Mapping[str, Any]


def _opaque_targets(raw: Any) -> list[str]:
    """``next``-like values anywhere inside a node that failed the schema."""
    found: list[str] = []
    if isinstance(raw, dict):
        for key, value in raw.items():
            if key in REF_KEYS and isinstance(value, str):
                found.append(value)
            else:
                found += _opaque_targets(value)
    elif isinstance(raw, list):
        for item in raw:
            found += _opaque_targets(item)
    return found


def _opaque_defines(raw: Any) -> frozenset[str]:
    """Variables a node that failed the schema would set, as far as can be told."""
    if not isinstance(raw, dict):
        return frozenset()
    names: set[str] = set()
    for key in ("variables", "fields"):
        if isinstance(raw.get(key), dict):
            names.update(k for k in raw[key] if isinstance(k, str))
    if isinstance(raw.get("variable"), str):
        names.add(raw["variable"])
    if isinstance(raw.get("outputs"), list):
        names.update(v for v in raw["outputs"] if isinstance(v, str))
    if raw.get("type") == "language":
        names.add("language")
    return frozenset(names)


def semantic_errors(
    doc: Mapping[str, Any],
    nodes: Mapping[str, AnyNode],
    *,
    settings: Settings,
    variables: Mapping[str, Any],
    audio_exists: AudioExists | None,
    known_flows: Collection[str] | None,
    known_queues: Collection[str] | None,
    known_calendars: Collection[str] | None,
) -> list[FlowError]:
    """All semantic errors of the flow; ``nodes`` maps id to a Node or an opaque raw dict."""
    errors: list[FlowError] = settings_errors(settings)
    order = list(nodes)

    def err(ptr: str, code: str, message: str, hint: str) -> None:
        errors.append(FlowError(ptr, code, message, hint))

    def succ(node_id: str) -> list[str]:
        node = nodes.get(node_id)
        if node is None:
            return []
        if isinstance(node, Node):
            return [e.target for e in exits(node) if e.target is not None and e.target in nodes]
        return [t for t in _opaque_targets(node) if t in nodes]

    # references and dead ends
    start = doc.get("start")
    roots = []
    if isinstance(start, str):
        if start in nodes:
            roots.append(start)
        else:
            err(
                "/start",
                "unresolved_reference",
                f"start node {start!r} does not exist",
                suggest(start, nodes),
            )
    on_max = settings.on_max_time
    if on_max is not None:
        if on_max in nodes:
            roots.append(on_max)
        else:
            err(
                "/settings/on_max_time",
                "unresolved_reference",
                f"node {on_max!r} does not exist",
                suggest(on_max, nodes),
            )
    for node_id, node in nodes.items():
        if not isinstance(node, Node):
            continue
        for ex in exits(node):
            ptr = node.pointer + ex.field
            if ex.target is None:
                field = ex.field.rsplit("/", 1)[-1]
                err(
                    ptr,
                    "dead_end",
                    f"{node.type} node {node_id!r} has no {field!r}: the call would be left in silence",
                    f"set {field!r} to the node that comes next, or end the path with a hangup, queue or transfer node",
                )
            elif ex.target not in nodes:
                err(
                    ptr,
                    "unresolved_reference",
                    f"node {ex.target!r} does not exist",
                    suggest(ex.target, nodes),
                )

    # reachability
    seen = graph.reachable(roots, succ)
    for node_id in order:
        if roots and node_id not in seen:
            err(
                pointer("nodes", node_id),
                "unreachable",
                f"node {node_id!r} cannot be reached from start",
                "link it from another node or delete it",
            )

    # loops with no way out: seeds are terminals, dead ends, broken references and opaque nodes
    seeds = set()
    for node_id, node in nodes.items():
        if (
            not isinstance(node, Node)
            or node.type in TERMINAL_TYPES
            or any(ex.target is None or ex.target not in nodes for ex in exits(node))
        ):
            seeds.add(node_id)
    ending = graph.can_reach(order, seeds, succ)
    for cycle in graph.cycles(order, succ):
        if not set(cycle) & ending and cycle[0] in seen:
            path = " -> ".join([*cycle, cycle[0]])
            err(
                pointer("nodes", cycle[0]),
                "no_exit",
                f"the loop {path} never ends the call",
                "give one node of the loop a branch to a hangup, queue or transfer node",
            )

    # loops that do not wait for the caller
    def spins(node_id: str) -> bool:
        """Runs without waiting for the caller (opaque nodes are given the benefit of the doubt)."""
        node = nodes[node_id]
        return isinstance(node, Node) and node.type not in INPUT_TYPES

    def succ_no_input(node_id: str) -> list[str]:
        return [t for t in succ(node_id) if spins(t)] if spins(node_id) else []

    for cycle in graph.cycles(order, succ_no_input):
        path = " -> ".join([*cycle, cycle[0]])
        err(
            pointer("nodes", cycle[0]),
            "input_free_loop",
            f"the loop {path} waits for no caller input and could repeat forever",
            "break the loop or route it through a menu, collect or record node",
        )

    # per-node values
    for node in nodes.values():
        if isinstance(node, Node):
            errors += node_value_errors(
                node,
                doc,
                audio_exists=audio_exists,
                known_flows=known_flows,
                known_queues=known_queues,
                known_calendars=known_calendars,
            )

    # variables set before use
    base = frozenset(BUILTIN_VARIABLES | set(variables))
    entry = {r: base for r in roots}

    def edges(node_id: str) -> list[tuple[str, frozenset[str] | None]]:
        node = nodes[node_id]
        if isinstance(node, Node):
            return [
                (e.target, e.defines)
                for e in exits(node)
                if e.target is not None and e.target in nodes
            ]
        return [(t, _opaque_defines(node)) for t in _opaque_targets(node) if t in nodes]

    assigned = graph.must_be_set(order, entry, edges)
    for node_id in order:
        node = nodes[node_id]
        if not isinstance(node, Node) or node_id not in assigned:
            continue
        known = assigned[node_id]
        for rel, name in node_uses(node):
            if not graph.covers(known | _defined_within(node, rel), name):
                err(
                    node.pointer + rel,
                    "unset_variable",
                    f"variable {name!r} is not set on every path to node {node_id!r}",
                    f"set {name!r} on every path before this node (set, collect, http fields, subflow outputs) "
                    "or declare a default under /variables",
                )
    return errors


def _defined_within(node: Node, rel: str) -> frozenset[str]:
    """Names a set node has assigned before the value at ``rel`` (assignments run in order)."""
    if isinstance(node, SetNode):
        name = rel.split("/")[2]
        names = [n for n, _ in node.assignments]
        return frozenset(names[: names.index(name)])
    return frozenset()
