"""Write security events (``controlplane.models.security.SecurityEvent``).

Every process that notices something security-relevant records it here, so the
panel, the CLI and the alerting read one table. Secrets never go into ``detail``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sqlalchemy.orm import Session

from controlplane.models.security import SEVERITIES, SecurityEvent

log = logging.getLogger("centrala.security")

_LEVEL = {"info": logging.INFO, "warning": logging.WARNING, "alert": logging.WARNING}


def record(session: Session, kind: str, *, severity: str = "info", tenant_id: int | None = None,
           actor: str = "", source: str = "", detail: Mapping[str, object] | None = None,
           ) -> SecurityEvent:
    """Add one event to ``session`` (the caller commits) and log it on one line."""
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, not {severity!r}")
    event = SecurityEvent(kind=kind, severity=severity, tenant_id=tenant_id,
                          actor=actor[:200], source=source[:100], detail=dict(detail or {}))
    session.add(event)
    log.log(_LEVEL[severity], "security %s %s tenant=%s actor=%s source=%s %s", severity, kind,
            tenant_id, actor, source, dict(detail or {}))
    return event
