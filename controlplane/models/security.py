"""Security events: the audit trail of everything security-relevant.

One row per event: a refused call from an unknown source, a SIP brute-force ban, a
panel login (ok or failed), a command refused by the daemon, a toll-fraud cap hit.
``severity`` is ``info`` (audit only), ``warning`` or ``alert`` (an administrator should
act; alerts are also logged at WARNING and published by whoever raises them).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow

SEVERITIES = ("info", "warning", "alert")


class SecurityEvent(Base):
    __tablename__ = "security_event"
    __table_args__ = (
        CheckConstraint("severity IN ('info', 'warning', 'alert')", name="severity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    # None: platform-wide (e.g. an INVITE from an unknown address to an unknown number)
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), index=True, nullable=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)  # e.g. sip.unknown_source
    severity: Mapped[str] = mapped_column(String(8), default="info")
    actor: Mapped[str] = mapped_column(String(200), default="")  # user email, SIP user, ...
    source: Mapped[str] = mapped_column(String(100), default="")  # address[:port]
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
