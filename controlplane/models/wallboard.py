"""Wallboard alert rules: per tenant, a threshold on a live figure, shown on the wallboard
and sent to webhooks (``wallboard.alert``) once per crossing.

``kind`` is one of :data:`ALERT_KINDS` (docs/wallboard.md § Alerts); ``threshold`` is in
the kind's unit (seconds, per cent, calls, minutes); ``queue_id`` narrows a queue figure to
one queue (None: every queue). ``firing_since`` is the debounce: set when the rule starts
firing, cleared when it stops; the webhook event is written only by the update that sets
it (a compare-and-set, so several panel processes fire it once).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow
from controlplane.models.columns import one_of, tenant_fk

ALERT_KINDS = ("wait_over", "service_level_under", "abandons_over", "break_over")


class WallboardAlertRule(Base):
    __tablename__ = "wallboard_alert_rule"
    __table_args__ = (
        CheckConstraint(one_of("kind", ALERT_KINDS), name="kind"),
        CheckConstraint("threshold >= 0", name="threshold"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    kind: Mapped[str] = mapped_column(String(24))
    threshold: Mapped[float] = mapped_column(Float)
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("acd_queue.id", ondelete="CASCADE"))
    firing_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
