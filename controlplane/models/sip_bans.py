"""SIP brute-force bans: one row per ban of a source address (platform-wide, no tenant).

A ban is *active* while ``lifted_at`` is empty and ``expires_at`` is in the future; the
control plane lifts expired bans (``lifted_by = "expired"``), operators lift them from the
CLI or the panel. Rows stay after the lift: they are the history that makes repeat
offenders' bans longer and that the panel lists as recent bans. ``accounts`` holds the SIP
account names the source tried (for the platform operator's CLI only: phones belong to
tenants, so the panel and the API never show it).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow


class SipBan(Base):
    __tablename__ = "sip_ban"
    __table_args__ = (
        CheckConstraint("failures >= 0 AND offence >= 1", name="counts"),
        Index("ix_sip_ban_active", "lifted_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(45), index=True)  # IPv4 or IPv6, normalised
    reason: Mapped[str] = mapped_column(String(200), default="")
    failures: Mapped[int] = mapped_column(Integer, default=0)
    offence: Mapped[int] = mapped_column(Integer, default=1)  # 2: the second ban in the window
    accounts: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    lifted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    lifted_by: Mapped[str] = mapped_column(String(200), default="")
