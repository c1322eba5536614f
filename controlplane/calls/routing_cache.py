"""Inbound routing without re-reading what has not changed: DID → binding, flow, calendars.

Every new trunk call needs its DID's binding (tenant, trunk, phone or queue, prompt), the
published flow version bound to it (parsed) and, for an IVR, the tenant's holiday calendars.
Read with the ORM, that was three thread hops and ~5–7 ms of CPU per call (profile report A1).

What decides a route is small and is read in ONE Core query per call (:func:`route_row`):
the DID row joined to its trunk, phone, flow and the flow's current version, plus a stamp
of the tenant's calendars (count and greatest id of their days). The expensive parts are
kept per process, keyed by what makes them valid, so they cannot go stale:

- the parsed flow, by (version id, sha256): a published version's document never changes;
- the calendars, by (tenant, stamp): adding or removing a day changes the stamp.

Why a query per call and not a TTL'd cache told of changes over the bus: DIDs, flows and
calendars are written by the panel, the ``ivr`` CLI, the seed, tests and operators' SQL
from other processes; a per-call check of the row sees every one of them on the very next
call, and costs one indexed SELECT (~0.2 ms) where the ORM path cost 5–7 ms. Unknown
numbers are not cached (a DID added a moment ago is found at once).

Blocking (database): :meth:`RouteCache.route` runs in a thread. The caches are plain dicts
written under a lock; the values are frozen, so readers on the event loop need no lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, Row, bindparam, func, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from controlplane.calls.machine import Binding
from controlplane.ivr.calendar_store import calendars as load_calendars
from controlplane.ivr.store import parse_stored
from controlplane.models import Did, PhoneEndpoint, Trunk
from controlplane.models.acd import Queue
from controlplane.models.ivr import PUBLISHED, HolidayCalendarDay, IvrFlow, IvrFlowVersion
from dialplan.checks import normalise_number
from ivr_flows.model import Flow

Calendars = dict[str, frozenset[date]]  # shared between calls: never changed in place
MAX_FLOWS = 512  # parsed versions kept; past it the cache starts again (never unbounded)


@dataclass(frozen=True)
class Route:
    """Where a new trunk call goes: its binding and, when its DID runs a published flow,
    ``(version id as text, parsed flow)``; ``calendars`` are the tenant's (empty without
    a flow: only IVR conditions read them)."""

    binding: Binding
    flow: tuple[str, Flow] | None = None
    calendars: Calendars = field(default_factory=dict)


def _route_stmt() -> Any:
    version = aliased(IvrFlowVersion)
    of_tenant = HolidayCalendarDay.tenant_id == Did.tenant_id
    days = select(func.count(HolidayCalendarDay.id)).where(of_tenant).scalar_subquery()
    last_day = select(func.max(HolidayCalendarDay.id)).where(of_tenant).scalar_subquery()
    return (
        select(Did.id, Did.tenant_id, Did.number, Did.prompt, Trunk.name.label("trunk"),
               PhoneEndpoint.name.label("phone"), IvrFlow.tenant_id.label("flow_tenant"),
               IvrFlow.id.label("flow_id"), version.id.label("version_id"),
               Queue.name.label("queue"), Queue.tenant_id.label("queue_tenant"),
               version.status, version.flow_id.label("version_flow_id"), version.sha256,
               days.label("days"), last_day.label("last_day"))
        .outerjoin(Trunk, Trunk.id == Did.trunk_id)
        .outerjoin(PhoneEndpoint, PhoneEndpoint.id == Did.phone_endpoint_id)
        .outerjoin(IvrFlow, IvrFlow.id == Did.flow_id)
        .outerjoin(Queue, Queue.id == Did.queue_id)
        .outerjoin(version, version.id == IvrFlow.current_version_id)
    )


_ROUTE = _route_stmt()
# the per-call look-up, built once with bound parameters (a statement built per call cost
# more CPU in building and keying than the query did)
_ROUTE_OF_NUMBER = _ROUTE.where(Did.tenant_id == bindparam("tenant_id"),
                                Did.number == bindparam("number"))


def route_row(conn: Connection | Session, dialled: str, tenant_id: int) -> Row[Any] | None:
    """The routing facts of the tenant's DID dialled as ``dialled`` (one SELECT when it is
    stored as dialled; else the tenant's numbers are compared after normalising digits)."""
    row = conn.execute(_ROUTE_OF_NUMBER, {"tenant_id": tenant_id, "number": dialled}).first()
    if row is not None:
        return row
    digits = normalise_number(dialled)
    if not digits:
        return None
    for did_id, number in conn.execute(
            select(Did.id, Did.number).where(Did.tenant_id == tenant_id).order_by(Did.id)):
        if normalise_number(number) == digits:
            return conn.execute(_ROUTE.where(Did.id == did_id)).first()
    return None


def binding_of_row(row: Row[Any] | None, dialled: str) -> Binding:
    """The same binding :func:`controlplane.calls.routing.binding_of` builds from the ORM."""
    if row is None:
        return Binding(None, "inbound", dialled, dialled, None, None, None, None)
    if row.queue is not None and row.queue_tenant == row.tenant_id:
        return Binding(tenant_id=row.tenant_id, direction="inbound", callee=row.number,
                       did=row.number, trunk=row.trunk, agent_endpoint=None, dial=None,
                       prompt=None, queue=row.queue)
    return Binding(tenant_id=row.tenant_id, direction="inbound", callee=row.number,
                   did=row.number, trunk=row.trunk, agent_endpoint=row.phone,
                   dial=f"PJSIP/{row.phone}" if row.phone else None, prompt=row.prompt)


def has_flow(row: Row[Any]) -> bool:
    """The DID's flow is the tenant's and its current version is published (as
    :func:`controlplane.ivr.did_store.flow_for_did` checks)."""
    return (row.flow_id is not None and row.flow_tenant == row.tenant_id
            and row.version_id is not None and row.status == PUBLISHED
            and row.version_flow_id == row.flow_id)


class RouteCache:
    """Per-process routing look-up for new trunk calls (module docstring); thread-safe."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.db = factory
        self._engine: Engine = factory.kw["bind"]
        self._lock = threading.Lock()
        self._flows: dict[tuple[int, str], Flow] = {}
        self._calendars: dict[int, tuple[tuple[int, int | None], Calendars]] = {}
        self.loads = 0  # flow parses + calendar reads done (tests and benches read it)

    def route(self, dialled: str, tenant_id: int | None) -> Route:
        """Where a trunk call of ``tenant_id``'s carrier to ``dialled`` goes (blocking)."""
        if tenant_id is None:
            return Route(binding_of_row(None, dialled))
        # A plain connection: the ORM session's per-query overhead was a third of the cost.
        with self._engine.connect() as conn:
            row = route_row(conn, dialled, tenant_id)
        binding = binding_of_row(row, dialled)
        if row is None or not has_flow(row):
            return Route(binding)
        flow = self._flows.get((row.version_id, row.sha256))
        calendars = self._calendars.get(row.tenant_id)
        stamp = (row.days, row.last_day)
        if flow is None or calendars is None or calendars[0] != stamp:
            with self.db() as s:  # a new version or a calendar change: read it once
                if flow is None:
                    flow = self._flow(s, row.version_id, row.sha256)
                kept = self._tenant_calendars(s, row.tenant_id, stamp)
        else:
            kept = calendars[1]
        return Route(binding, (str(row.version_id), flow), kept)

    def calendars(self, tenant_id: int) -> Calendars | None:
        """The tenant's calendars as the last :meth:`route` of one of its IVR calls found
        them (None: none seen yet). No database: for the IVR session a call starts."""
        found = self._calendars.get(tenant_id)
        return None if found is None else found[1]

    def _flow(self, s: Session, version_id: int, sha256: str) -> Flow:
        key = (version_id, sha256)
        flow = self._flows.get(key)
        if flow is not None:
            return flow
        document = s.scalar(select(IvrFlowVersion.document).where(IvrFlowVersion.id == version_id))
        flow = parse_stored(sha256, document or "{}")
        with self._lock:
            if len(self._flows) >= MAX_FLOWS:
                self._flows.clear()
            self._flows[key] = flow
            self.loads += 1
        return flow

    def _tenant_calendars(self, s: Session, tenant_id: int,
                          stamp: tuple[int, int | None]) -> Calendars:
        found = self._calendars.get(tenant_id)
        if found is not None and found[0] == stamp:
            return found[1]
        fresh = load_calendars(s, tenant_id)
        with self._lock:
            self._calendars[tenant_id] = (stamp, fresh)
            self.loads += 1
        return fresh
