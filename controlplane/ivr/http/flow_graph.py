"""A flow drawn as a graph: layered layout and server-side SVG (no JavaScript).

Theory of operation
-------------------
1. Layers: breadth-first search from the start node; a node's layer is its
   distance from the start. Nodes the start never reaches go one layer below
   the deepest, so they stay visible.
2. Order inside a layer: discovery order, then one downward sweep placing each
   node at the average position of its parents in the layer above (the
   barycenter heuristic), which removes most crossings of menu-shaped flows.
3. Geometry: layers are rows, top to bottom, each row centred. An edge to a
   lower layer is a straight line; an edge to the same or a higher layer (a
   loop back to a menu) is a curve bulging out to the right; a node pointing at
   itself gets a small loop. Edges carry the DTMF key or branch as a label.

Only SVG presentation attributes are used (the panel's CSP forbids inline styles).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from ivr_flows.model import (
    Flow,
    Node,
    QueueNode,
    SubflowNode,
    TransferNode,
    exits,
)

BOX_H = 46
MIN_BOX_W = 96
CHAR_W = 7.2  # average advance of the 12px sans-serif font, generous
H_GAP = 36
V_GAP = 76
MARGIN = 24
LANE_STEP = 8
LANES_W = 12 * LANE_STEP + 20  # room right of the drawing for edges looping back up

FILL = {
    "menu": "#dbeafe",
    "collect": "#dbeafe",
    "record": "#dbeafe",
    "condition": "#fef3c7",
    "queue": "#dcfce7",
    "transfer": "#dcfce7",
    "callback": "#dcfce7",
    "hangup": "#fee2e2",
    "return": "#fee2e2",
}
DEFAULT_FILL = "#f3f4f6"


@dataclass(frozen=True)
class Box:
    id: str
    type: str
    detail: str
    layer: int
    x: float  # left
    y: float  # top
    w: float
    h: float = BOX_H

    @property
    def cx(self) -> float:
        return self.x + self.w / 2


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str


@dataclass(frozen=True)
class Layout:
    boxes: dict[str, Box]
    edges: list[Edge]
    width: float
    height: float


def edge_label(node: Node, field: str, count: int) -> str:
    """The label of the exit stored in ``field`` (pointer relative to the node)."""
    parts = field.strip("/").split("/")
    if parts[0] == "options" and len(parts) == 3:
        return parts[1]  # the DTMF key
    if parts[0] == "branches" and len(parts) == 3:
        return f"if #{int(parts[1]) + 1}"
    if parts[0] == "else":
        return "else"
    if parts[0] == "on_failure":
        return "failure"
    if parts[0] == "fallback":
        return "fallback"
    if node.type == "http":
        return "ok"
    return "" if count == 1 else parts[0]


def _detail(node: Node) -> str:
    if isinstance(node, QueueNode):
        return node.queue
    if isinstance(node, TransferNode):
        return f"{node.to} {node.target}"
    if isinstance(node, SubflowNode):
        return node.flow
    return ""


def graph_edges(flow: Flow) -> list[Edge]:
    """Every edge between existing nodes, in document order."""
    out = []
    for node in flow.nodes.values():
        node_exits = exits(node)
        for ex in node_exits:
            if ex.target is not None and ex.target in flow.nodes:
                out.append(Edge(node.id, ex.target, edge_label(node, ex.field, len(node_exits))))
    return out


def layers(flow: Flow, edges: list[Edge]) -> list[list[str]]:
    """Node ids per layer (BFS distance from start; unreachable nodes in a last layer)."""
    succ: dict[str, list[str]] = {n: [] for n in flow.nodes}
    for e in edges:
        succ[e.source].append(e.target)
    depth: dict[str, int] = {}
    if flow.start in flow.nodes:
        depth[flow.start] = 0
        queue = deque([flow.start])
        while queue:
            node = queue.popleft()
            for nxt in succ[node]:
                if nxt not in depth:
                    depth[nxt] = depth[node] + 1
                    queue.append(nxt)
    rows: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for node, d in sorted(depth.items(), key=lambda item: item[1]):
        rows[d].append(node)
    orphans = [n for n in flow.nodes if n not in depth]
    if orphans:
        rows.append(orphans)
    # Barycenter sweep: order each layer by the mean position of its parents above.
    for i in range(1, len(rows)):
        above = {n: pos for pos, n in enumerate(rows[i - 1])}
        parents: dict[str, list[int]] = {n: [] for n in rows[i]}
        for e in edges:
            if e.target in parents and e.source in above:
                parents[e.target].append(above[e.source])
        current = {n: pos for pos, n in enumerate(rows[i])}
        rows[i].sort(key=lambda n: sum(parents[n]) / len(parents[n]) if parents[n] else current[n])
    return rows


def layout(flow: Flow) -> Layout:
    """Positions of every node and the edges between them."""
    edges = graph_edges(flow)
    rows = layers(flow, edges)
    widths = {
        n: max(MIN_BOX_W, CHAR_W * max(len(n), len(_type_line(flow.nodes[n]))) + 20)
        for n in flow.nodes
    }
    row_w = [sum(widths[n] for n in row) + H_GAP * (len(row) - 1) for row in rows]
    inner_w = max(row_w, default=MIN_BOX_W)
    boxes: dict[str, Box] = {}
    for i, row in enumerate(rows):
        x = MARGIN + (inner_w - row_w[i]) / 2
        y = MARGIN + i * (BOX_H + V_GAP)
        for n in row:
            node = flow.nodes[n]
            boxes[n] = Box(n, node.type, _detail(node), i, x, y, widths[n])
            x += widths[n] + H_GAP
    width = inner_w + 2 * MARGIN + LANES_W
    # The bottom margin leaves room for edges leaving the last row upwards.
    height = MARGIN * 2 + len(rows) * BOX_H + max(len(rows) - 1, 0) * V_GAP + 60
    return Layout(boxes, edges, width, height)


def _type_line(node: Node) -> str:
    detail = _detail(node)
    return f"{node.type}: {detail}" if detail else node.type


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def render_svg(flow: Flow, *, title: str | None = None) -> str:
    """The flow as a standalone SVG document (also fine inline in HTML)."""
    lay = layout(flow)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flow-graph" '
        f'width="{_num(lay.width)}" height="{_num(lay.height)}" '
        f'viewBox="0 0 {_num(lay.width)} {_num(lay.height)}" '
        f'font-family="sans-serif" font-size="12" role="img" '
        f"aria-label={quoteattr(title or flow.name)}>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#475569"/></marker></defs>',
        f"<title>{escape(title or flow.name)}</title>",
    ]
    out.append('<g class="edges" fill="none" stroke="#475569" stroke-width="1.3">')
    labels = []
    outgoing: dict[str, list[Edge]] = {}
    for e in lay.edges:
        outgoing.setdefault(e.source, []).append(e)
    lane = 0
    for group in outgoing.values():
        for k, e in enumerate(group):
            path, lx, ly = _edge_geometry(lay, e, k, len(group), lane)
            if lay.boxes[e.target].layer <= lay.boxes[e.source].layer:
                lane += 1
            out.append(
                f'<path d="{path}" marker-end="url(#arrow)" '
                f"data-source={quoteattr(e.source)} data-target={quoteattr(e.target)}/>"
            )
            if e.label:
                labels.append(
                    f'<text x="{_num(lx)}" y="{_num(ly)}" text-anchor="middle" '
                    f'class="edge-label" fill="#1e3a8a" stroke="#ffffff" stroke-width="3" '
                    f'paint-order="stroke">{escape(e.label)}</text>'
                )
    out.append("</g>")
    out.append('<g class="nodes">')
    for box in lay.boxes.values():
        start = box.id == flow.start
        out.append(
            f'<g class="node" data-node={quoteattr(box.id)} data-type={quoteattr(box.type)}>'
            f"<title>{escape(box.id)} ({escape(_type_line(flow.nodes[box.id]))})</title>"
            f'<rect x="{_num(box.x)}" y="{_num(box.y)}" width="{_num(box.w)}" '
            f'height="{_num(box.h)}" rx="6" fill="{FILL.get(box.type, DEFAULT_FILL)}" '
            f'stroke="{"#1d4ed8" if start else "#64748b"}" '
            f'stroke-width="{2.5 if start else 1}"/>'
            f'<text x="{_num(box.cx)}" y="{_num(box.y + 19)}" text-anchor="middle" '
            f'font-weight="bold" fill="#0f172a">{escape(box.id)}</text>'
            f'<text x="{_num(box.cx)}" y="{_num(box.y + 36)}" text-anchor="middle" '
            f'fill="#475569">{escape(_type_line(flow.nodes[box.id]))}</text>'
            "</g>"
        )
    out.append("</g>")
    out.append('<g class="labels">' + "".join(labels) + "</g>")
    out.append("</svg>")
    return "\n".join(out)


def _edge_geometry(lay: Layout, e: Edge, k: int, n: int, lane: int) -> tuple[str, float, float]:
    """SVG path data and label position of the k-th of n edges leaving a node.

    ``lane`` numbers the edges that do not go down (they get their own offsets so
    parallel ones stay apart).
    """
    a, b = lay.boxes[e.source], lay.boxes[e.target]
    sx = a.x + a.w * (k + 1) / (n + 1)
    sy = a.y + a.h
    if b.layer > a.layer:
        tx, ty = b.cx, b.y
        # Labels near the source, where edges of one node are still apart.
        t = 0.32 if b.layer == a.layer + 1 else 0.2
        return (
            f"M{_num(sx)},{_num(sy)} L{_num(tx)},{_num(ty)}",
            sx + (tx - sx) * t,
            sy + (ty - sy) * t + 4,
        )
    # Not downwards: run through the empty gap below the source's row, and for a
    # loop back up, along a lane right of the drawing, then down into the target.
    gap = 14 + (lane % 6) * 8
    below = sy + gap
    if b.layer == a.layer:
        tx = b.x + b.w * 0.5 + (6 if b.x > a.x else -6)
        path = f"M{_num(sx)},{_num(sy)} L{_num(sx)},{_num(below)} L{_num(tx)},{_num(below)} L{_num(tx)},{_num(b.y + b.h)}"
        return path, (sx + tx) / 2, below - 3
    lane_x = lay.width - MARGIN - LANES_W + 10 + (lane % 12) * LANE_STEP
    above = b.y - gap
    tx = b.x + b.w * 0.7
    path = (
        f"M{_num(sx)},{_num(sy)} L{_num(sx)},{_num(below)} L{_num(lane_x)},{_num(below)} "
        f"L{_num(lane_x)},{_num(above)} L{_num(tx)},{_num(above)} L{_num(tx)},{_num(b.y)}"
    )
    return path, sx + 18 if lane_x > sx else sx - 18, below - 3
