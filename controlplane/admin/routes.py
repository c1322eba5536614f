"""Outbound routes' rules in the admin room: create, change, order, delete, show.

A route is checked field by field (the pure rules of :mod:`controlplane.admin.outbound_routes`,
translated here) and every trunk it names must be one of the tenant's own: a foreign or
unknown trunk is refused by field (``trunk_ids``), never silently dropped. Its errors are
:class:`InvalidRoute`, 400 with each field named (the brief's contract for this resource:
a malformed prefix is already a 400 from the request schema, and a trunk of another tenant
is the same kind of mistake); the HTML form shows them next to each input.

Order: a tenant's routes have positions 0..n-1. A new route goes last; :func:`move` swaps a
route with its neighbour and :func:`place_at` puts it at a position, both renumbering the
whole list so positions stay dense whatever happened before (rows written by SQL, a route
deleted). Only the tie between equally long prefixes depends on the order (see the choice).

Nothing here touches Asterisk: the dial string is built at call time from the routes.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from controlplane.admin import outbound_routes as rules
from controlplane.admin.exceptions import AdminNotFound, FieldIssue, InvalidFields
from controlplane.admin.store import Page, paged, sort_of
from controlplane.models import Trunk
from controlplane.models.outbound_routes import OutboundRoute, OutboundRouteTrunk

MAX_TRUNKS = 5
SORT = {"position": OutboundRoute.position, "name": OutboundRoute.name, "id": OutboundRoute.id}


class InvalidRoute(InvalidFields):
    """A route's values break a rule: 400 ``invalid_form``, each problem with its field."""

    status = 400


def _messages() -> dict[str, str]:
    return {
        "prefixes": _("digits with an optional '+' (1 to 15), separated by commas or new lines"),
        "strip": _("a whole number from %(low)s to %(high)s", low=0, high=rules.MAX_STRIP),
        "prepend": _("digits only, at most 20"),
        "caller_id": _("3 to 20 digits with an optional '+'"),
    }


def routes(s: Session, tenant_id: int, *, sort: str | None = None) -> list[OutboundRoute]:
    """The tenant's routes in order (or by ``sort``: InvalidFields naming the choices)."""
    order = sort_of(sort, SORT, "position")
    return list(s.scalars(select(OutboundRoute).where(OutboundRoute.tenant_id == tenant_id)
                          .order_by(*order, OutboundRoute.position, OutboundRoute.id)))


def route(s: Session, tenant_id: int, route_id: int) -> OutboundRoute:
    row = s.scalar(select(OutboundRoute).where(OutboundRoute.id == route_id,
                                               OutboundRoute.tenant_id == tenant_id))
    if row is None:
        raise AdminNotFound(f"no outbound route {route_id} in your tenant")
    return row


def routes_using_trunk(s: Session, trunk_id: int) -> list[str]:
    """Names of the routes that send calls over ``trunk_id`` (the trunk's delete guard)."""
    return list(s.scalars(select(OutboundRoute.name).join(
        OutboundRouteTrunk, OutboundRouteTrunk.route_id == OutboundRoute.id)
        .where(OutboundRouteTrunk.trunk_id == trunk_id).distinct().order_by(OutboundRoute.name)))


def _trunk_ids(raw: Any, tenant_id: int, s: Session, issues: list[FieldIssue]) -> list[int]:
    ids: list[int] = []
    for item in raw or ():
        try:
            value = int(item)
        except (TypeError, ValueError):
            issues.append(FieldIssue("trunk_ids", _("choose trunks of your tenant")))
            return []
        if value not in ids:
            ids.append(value)
    if not ids:
        issues.append(FieldIssue("trunk_ids", _("choose at least one trunk")))
        return []
    if len(ids) > MAX_TRUNKS:
        issues.append(FieldIssue("trunk_ids", _("at most %(n)s trunks", n=MAX_TRUNKS)))
        return []
    own = set(s.scalars(select(Trunk.id).where(Trunk.tenant_id == tenant_id,
                                               Trunk.id.in_(ids))))
    foreign = [i for i in ids if i not in own]
    if foreign:
        issues.append(FieldIssue("trunk_ids", _("trunk %(id)s is not one of your tenant's",
                                                id=foreign[0])))
    return ids


def save_route(s: Session, tenant_id: int, row: OutboundRoute | None,
               values: dict[str, Any]) -> OutboundRoute:
    """Create or change a route from ``values`` (fields not given keep their value; a new
    route goes last); flushed, not committed. Raises :class:`InvalidRoute`."""
    issues: list[FieldIssue] = []
    messages = _messages()
    cur: dict[str, Any] = ({"name": row.name, "prefixes": list(row.prefixes),
                            "trunk_ids": [t.trunk_id for t in row.trunks], "strip": row.strip,
                            "prepend": row.prepend, "caller_id": row.caller_id,
                            "enabled": row.enabled} if row else
                           {"prefixes": [], "strip": 0, "prepend": "", "enabled": True})
    merged = {**cur, **{k: v for k, v in values.items() if k != "position"}}
    name = str(merged.get("name") or "").strip()
    if not name or len(name) > 64:
        issues.append(FieldIssue("name", _("a name of 1 to 64 characters")))
    elif s.scalar(select(OutboundRoute.id).where(
            OutboundRoute.tenant_id == tenant_id, func.lower(OutboundRoute.name) == name.lower(),
            OutboundRoute.id != (row.id if row else -1))) is not None:
        issues.append(FieldIssue("name", _("another route is called %(name)s", name=name)))
    checked: dict[str, Any] = {}
    for field, check in (("prefixes", rules.parse_prefixes), ("strip", rules.check_strip),
                         ("prepend", rules.check_prepend), ("caller_id", rules.check_caller_id)):
        try:
            checked[field] = check(merged.get(field))
        except rules.BadValue as err:
            issues.append(FieldIssue(field, f"{messages[field]}: {err.value}"))
    trunk_ids = _trunk_ids(merged.get("trunk_ids"), tenant_id, s, issues)
    if issues:
        raise InvalidRoute(issues)
    if row is None:
        last = s.scalar(select(func.max(OutboundRoute.position))
                        .where(OutboundRoute.tenant_id == tenant_id))
        row = OutboundRoute(tenant_id=tenant_id, position=0 if last is None else last + 1)
        s.add(row)
    row.name, row.prefixes = name, list(checked["prefixes"])
    row.strip, row.prepend, row.caller_id = checked["strip"], checked["prepend"], \
        checked["caller_id"]
    row.enabled = _flag(merged.get("enabled"))
    if [t.trunk_id for t in row.trunks] != trunk_ids:
        row.trunks.clear()
        s.flush()  # the old (route, position) keys go before the new ones take them
        row.trunks.extend(OutboundRouteTrunk(position=i, trunk_id=t)
                          for i, t in enumerate(trunk_ids))
    s.flush()
    if "position" in values and values["position"] is not None:
        place_at(s, tenant_id, row.id, int(values["position"]))
    return row


def _flag(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return value is not False
    return str(value).lower() in ("1", "true", "on", "yes")


def _renumber(s: Session, tenant_id: int, ids: list[int]) -> None:
    rows = {r.id: r for r in routes(s, tenant_id)}
    for position, route_id in enumerate(ids):
        rows[route_id].position = position
    s.flush()


def move(s: Session, tenant_id: int, route_id: int, step: int) -> OutboundRoute:
    """Move a route ``step`` places (-1 up, +1 down) in its tenant's order."""
    row = route(s, tenant_id, route_id)
    ids = [r.id for r in routes(s, tenant_id)]
    _renumber(s, tenant_id, rules.reorder(ids, row.id, step))
    return row


def place_at(s: Session, tenant_id: int, route_id: int, position: int) -> None:
    ids = [r.id for r in routes(s, tenant_id) if r.id != route_id]
    ids.insert(max(0, min(len(ids), position)), route_id)
    _renumber(s, tenant_id, ids)


def delete_route(s: Session, tenant_id: int, row: OutboundRoute) -> None:
    s.delete(row)
    s.flush()
    _renumber(s, tenant_id, [r.id for r in routes(s, tenant_id)])


def route_json(row: OutboundRoute, trunk_names: dict[int, str]) -> dict[str, Any]:
    """A route as the API and the pages show it; ``trunks`` are names, in failover order."""
    ids = [t.trunk_id for t in row.trunks]
    return {"id": row.id, "name": row.name, "position": row.position,
            "prefixes": list(row.prefixes), "trunk_ids": ids,
            "trunks": [trunk_names.get(i, str(i)) for i in ids], "strip": row.strip,
            "prepend": row.prepend, "caller_id": row.caller_id, "enabled": row.enabled}


def trunk_names(s: Session, tenant_id: int) -> dict[int, str]:
    return {i: n for i, n in s.execute(select(Trunk.id, Trunk.name)
                                       .where(Trunk.tenant_id == tenant_id).order_by(Trunk.id))}


def has_catch_all(rows: list[OutboundRoute]) -> bool:
    """Whether a number no prefix matches still has a way out (or there is no route at all:
    then every number leaves by the first trunk)."""
    return not rows or any(r.enabled and not r.prefixes and r.trunks for r in rows)


def routes_page(s: Session, tenant_id: int, q: str | None, sort: str | None, page: int,
                per_page: int) -> Page:
    """One page of the tenant's routes (``q``: part of the name or of a prefix)."""
    stmt = select(OutboundRoute).where(OutboundRoute.tenant_id == tenant_id)
    if q and q.strip():
        like = "%" + q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(OutboundRoute.name.ilike(like, escape="\\")
                          | cast(OutboundRoute.prefixes, String).ilike(like, escape="\\"))
    stmt = stmt.order_by(*sort_of(sort, SORT, "position"), OutboundRoute.id)
    return paged(s, stmt, page, per_page)
