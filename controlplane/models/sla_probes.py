"""What the synthetic probes found: one row per probe, per critical function, per round.

- ``sla_probe_run``: probe ``probe`` (``panel_login``, ``controlplane``, ``inbound_call``,
  ``outbound_call``) checked ``function`` for ``tenant_id`` (NULL: platform-wide, it counts
  for every tenant) at ``started_at``; ``ok``, how long it took (``duration_ms``), what went
  wrong (``detail``) and the interval the prober ran at (``interval_s``: the derivation's gap
  rule, :mod:`controlplane.sla.downtime`, needs the interval that was in force then, not
  today's setting).

Downtime is derived from these rows when it is read (never stored), so a prober that died
shows as a gap, which counts as down. It supersedes ``sla_probe_result`` of revision
e1a0c0de0023, which nothing writes: that table has no probe name, and two probes of one
function (the heartbeat and a real call, both covering ``inbound_call``) must be derived
apart or one's success would close the other's failure.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime
from controlplane.models.columns import one_of
from controlplane.sla.terms import CRITICAL_FUNCTIONS


class SlaProbeRun(Base):
    __tablename__ = "sla_probe_run"
    __table_args__ = (CheckConstraint(one_of("function", CRITICAL_FUNCTIONS), name="function"),
                      Index("ix_sla_probe_run_started_at", "started_at"),
                      Index("ix_sla_probe_run_function_started_at", "function", "started_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    probe: Mapped[str] = mapped_column(String(32))
    function: Mapped[str] = mapped_column(String(32))
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"),
                                                  index=True, nullable=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ok: Mapped[bool] = mapped_column(Boolean)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    interval_s: Mapped[int] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(String(500), default="")
