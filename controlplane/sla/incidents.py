"""Failure reports and their clock events: who may see what, the transitions, audit, mail.

Theory of operation: a user of a tenant reports a failure (:func:`report`); its priority
comes from the seed's table (:mod:`controlplane.sla.presets`) or the reporter's choice.
The platform operator then records the events that drive the clocks
(:func:`record_event`): *reacted* (the qualification, § 8.5), *paused* (waiting for the
customer, § 8.6), *resumed*, *repaired*. The clocks are never stored: they are computed
from the events (:func:`controlplane.sla.store.incident_facts`, then
:func:`controlplane.sla.terms.clocks`).

Every change is audited (``sla.incident.*``) and, in the same transaction, leaves in the
job outbox the mail that tells the tenant's admins and the reporter
(:mod:`controlplane.sla.notify`, queued by import path: the panel does not import jobs).

Who sees what (:func:`visible`): the operator every tenant's incidents; a tenant's admin
all of the tenant's; any other user the ones they reported.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from controlplane.errors import Conflict, NotFound
from controlplane.jobs import outbox
from controlplane.models import Role
from controlplane.models.outbox import JobOutbox
from controlplane.models.sla import SlaIncident, SlaIncidentEvent
from controlplane.security import audit

MAIL_JOB = "controlplane.sla.notify.send_incident_mail"  # by path: the panel imports no job
MAIL_RETRY = {"max": 3, "interval": [30, 120, 600]}
# event kind -> the statuses it may follow
ALLOWED: dict[str, tuple[str, ...]] = {
    "reacted": ("open",),
    "paused": ("open", "reacted"),
    "resumed": ("waiting",),
    # a waiting incident is resumed first: a repair during an open pause would stop the
    # clock for ever (the pause never ends)
    "repaired": ("open", "reacted"),
}


class IncidentNotFound(NotFound):
    error_id = "incident_not_found"


class BadTransition(Conflict):
    error_id = "bad_transition"


@dataclass(frozen=True)
class Viewer:
    """Who asks: enough of :class:`web.auth.CurrentUser` for the scoping rules."""

    tenant_id: int
    role: Role
    address: str


def visible(viewer: Viewer) -> Select[SlaIncident]:
    query = select(SlaIncident)
    if viewer.role is Role.OPERATOR:
        return query
    query = query.where(SlaIncident.tenant_id == viewer.tenant_id)
    if viewer.role is not Role.ADMIN:
        query = query.where(SlaIncident.reported_by == viewer.address)
    return query


def listing(s: Session, viewer: Viewer, limit: int = 100) -> list[SlaIncident]:
    return list(s.scalars(visible(viewer).order_by(SlaIncident.opened_at.desc(),
                                                  SlaIncident.id.desc()).limit(limit)))


def get(s: Session, viewer: Viewer, incident_id: int) -> SlaIncident:
    row = s.scalar(visible(viewer).where(SlaIncident.id == incident_id))
    if row is None:
        raise IncidentNotFound(f"no incident {incident_id}")
    return row


def queue_mail(s: Session, incident_id: int, what: str, serial: int, now: datetime) -> None:
    spec = outbox.make_spec(MAIL_JOB, (incident_id, what),
                            job_id=f"sla-mail-{incident_id}-{what}-{serial}-{uuid.uuid4().hex[:8]}",
                            options={outbox.RETRY: MAIL_RETRY})
    s.add(JobOutbox(job_id=spec.job_id, queue=spec.queue, func=spec.func, args=list(spec.args),
                    kwargs={}, options=dict(spec.options), created_at=now))


def report(s: Session, tenant_id: int, *, priority: str, preset: str | None, title: str,
           description: str, reporter: str, source: str, now: datetime) -> SlaIncident:
    """A failure reported by ``reporter`` (an address) of tenant ``tenant_id``."""
    row = SlaIncident(tenant_id=tenant_id, priority=priority, preset=preset, title=title[:200],
                      description=description, opened_at=now, reported_by=reporter,
                      source="user", status="open")
    s.add(row)
    s.flush()
    audit.record(s, "sla.incident.reported", tenant_id=tenant_id, actor=reporter,
                 source=source, detail={"incident": row.id, "priority": priority,
                                        "preset": preset or ""})
    queue_mail(s, row.id, "reported", 0, now)
    return row


def record_event(s: Session, incident: SlaIncident, kind: str, *, actor: str, note: str,
                 source: str, now: datetime) -> SlaIncidentEvent:
    """Record ``kind`` on ``incident`` (the operator's), moving its status; a kind that
    does not follow the current status is a :class:`BadTransition` naming the field."""
    if incident.status not in ALLOWED[kind]:
        raise BadTransition(
            f"kind: cannot record '{kind}' on an incident that is '{incident.status}'",
            details={"field": "kind", "message": f"not allowed when the status is "
                     f"'{incident.status}'", "allowed_after": list(ALLOWED[kind])})
    before = incident.status
    event = SlaIncidentEvent(incident_id=incident.id, kind=kind, at=now, actor=actor,
                             note=note)
    s.add(event)
    if kind == "resumed":
        reacted = s.scalar(select(SlaIncidentEvent.id).where(
            SlaIncidentEvent.incident_id == incident.id, SlaIncidentEvent.kind == "reacted"))
        incident.status = "reacted" if reacted else "open"
    else:
        incident.status = {"reacted": "reacted", "paused": "waiting",
                           "repaired": "repaired"}[kind]
    s.flush()
    audit.record(s, f"sla.incident.{kind}", tenant_id=incident.tenant_id, actor=actor,
                 source=source, detail={"incident": incident.id, "from": before,
                                        "to": incident.status})
    queue_mail(s, incident.id, kind, event.id, now)
    return event
