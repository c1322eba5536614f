"""A tenant's outbound (toll-fraud) policy: allowed destination classes and caps.

One row per tenant; a tenant without a row has the defaults of
:class:`controlplane.security.outbound_policy.Policy` (international, premium and
satellite numbers refused). The trunk's own channel cap is ``Trunk.channels``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow


class OutboundPolicy(Base):
    __tablename__ = "outbound_policy"
    __table_args__ = (
        CheckConstraint("max_concurrent >= 0 AND max_per_hour >= 0", name="caps"),
    )

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"),
                                           primary_key=True)
    region: Mapped[str] = mapped_column(String(3), default="PL")  # phonenumbers region code
    allowed: Mapped[list[str]] = mapped_column(JSON, default=list)  # destination classes
    max_concurrent: Mapped[int] = mapped_column(Integer)
    max_per_hour: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200), default="")
