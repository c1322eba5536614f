"""Outbound routes in the database: a tenant's routes read for the choice of a trunk.

The one place every outbound path asks which trunk a number leaves by (a desk phone dialling
out, an IVR transfer to a number, a campaign or preview attempt): :func:`choice_for` reads
the tenant's routes with their trunks' names in ONE query and hands them to the pure
:func:`controlplane.admin.outbound_routes.choose`. A tenant without any route keeps the
rule from before routes (its first trunk by id), so nothing that worked stops working.

Blocking (database): the daemon calls it in a thread, inside the session it already has.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.admin.outbound_routes import Choice, Route, choose, default_choice
from controlplane.models import Trunk
from controlplane.models.outbound_routes import OutboundRoute, OutboundRouteTrunk


def routes_of(s: Session, tenant_id: int) -> list[Route]:
    """The tenant's routes (disabled ones too: the choice skips them), trunks in order."""
    rows = s.execute(
        select(OutboundRoute, OutboundRouteTrunk.position, Trunk.name)
        .outerjoin(OutboundRouteTrunk, OutboundRouteTrunk.route_id == OutboundRoute.id)
        .outerjoin(Trunk, (Trunk.id == OutboundRouteTrunk.trunk_id)
                   & (Trunk.tenant_id == OutboundRoute.tenant_id))
        .where(OutboundRoute.tenant_id == tenant_id)
        .order_by(OutboundRoute.position, OutboundRoute.id, OutboundRouteTrunk.position)).all()
    trunks: dict[int, list[str]] = {}
    by_id: dict[int, OutboundRoute] = {}
    for row, _pos, trunk in rows:
        by_id.setdefault(row.id, row)
        names = trunks.setdefault(row.id, [])
        if trunk is not None:
            names.append(trunk)
    return [Route(id=r.id, name=r.name, position=r.position, prefixes=tuple(r.prefixes or ()),
                  trunks=tuple(trunks[r.id]), strip=r.strip, prepend=r.prepend,
                  caller_id=r.caller_id, enabled=r.enabled) for r in by_id.values()]


def first_trunk(s: Session, tenant_id: int) -> str | None:
    return s.scalar(select(Trunk.name).where(Trunk.tenant_id == tenant_id)
                    .order_by(Trunk.id).limit(1))


def choice_for(s: Session, tenant_id: int, number: str) -> Choice | None:
    """Where ``number`` leaves the tenant: its routes' choice, or (no route at all) the first
    trunk; None: no way out (no trunk, or routes of which none matches)."""
    routes = routes_of(s, tenant_id)
    if routes:
        return choose(routes, number)
    return default_choice(first_trunk(s, tenant_id), number)
