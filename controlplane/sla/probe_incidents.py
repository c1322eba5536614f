"""Incidents opened by a failing probe (the incidents module has no probe hook: this is it).

A probe that fails twice in a row opens one Critical incident (source ``probe``,
``reported_by`` ``probe:<name>``) for every tenant with SLA settings: a platform-wide
failure is every tenant's failure. Its preset is the seed's example the failure matches
(a dead panel login: "login page down"; a dead control plane: "no calls"), so its label
is translated like any report's. No second one while the first is not repaired: a
flapping probe does not bury the operator. It is audited and mailed as a user's report
is; the repair (and so the clocks) stays the operator's: the probe recovering does not
mean the failure was diagnosed. It does not count as the customer's report for credits
(:data:`controlplane.sla.store.REPORTING_SOURCES`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.models.sla import SlaIncident, SlaSettings
from controlplane.security import audit
from controlplane.sla import incidents

PRESET_OF = {"panel_login": "login_page_down", "controlplane": "no_calls",
             "inbound_call": "no_calls", "outbound_call": "no_calls"}


def open_for_platform(s: Session, probe: str, functions: tuple[str, ...], detail: str,
                      now: datetime) -> list[SlaIncident]:
    """Open the probe's incident for each tenant with SLA settings that has none open."""
    reporter = f"probe:{probe}"
    opened = []
    for tenant_id in s.scalars(select(SlaSettings.tenant_id)).all():
        if s.scalar(select(SlaIncident.id).where(
                SlaIncident.tenant_id == tenant_id, SlaIncident.reported_by == reporter,
                SlaIncident.status != "repaired").limit(1)) is not None:
            continue
        row = SlaIncident(tenant_id=tenant_id, priority="critical",
                          preset=PRESET_OF.get(probe), opened_at=now, reported_by=reporter,
                          title=f"Probe {probe} failed: {', '.join(functions)}"[:200],
                          description=detail, source="probe", status="open")
        s.add(row)
        s.flush()
        audit.record(s, "sla.incident.reported", tenant_id=tenant_id, actor=reporter,
                     source="prober", detail={"incident": row.id, "priority": "critical",
                                              "probe": probe})
        incidents.queue_mail(s, row.id, "reported", 0, now)
        opened.append(row)
    return opened
