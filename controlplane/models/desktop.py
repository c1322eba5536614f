"""The agent desktop: a tenant's dispositions for every call, agents' wrap-ups, screen pop.

* ``call_disposition``: the tenant's list of dispositions an agent may give ANY call
  (inbound too). Campaign dispositions (``disposition``) belong to a campaign and drive
  the dialer (recontact, close, move); these only classify the call, so they are a list
  of their own, per tenant.
* ``call_wrapup``: what the agent said about one call: disposition code, note, and the
  recontact it scheduled (if any). One row per call. Kept out of ``call_record`` on
  purpose: the daemon's record writer upserts that row in batches behind the call (its
  snapshot would race the agent's note), and a wrap-up is the agent's word, written by
  the panel, while the call record is the platform's.
* ``desktop_settings``: one row per tenant that set one: the screen-pop URL template
  (``{number}``, ``{call_id}``, ``{queue}``) and how the agent page opens it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow
from controlplane.models.columns import one_of, tenant_fk

CODE_MAX = 32
LABEL_MAX = 100
NOTE_MAX = 2000
URL_MAX = 1000
SCREEN_POP_MODES = ("tab", "iframe")


class CallDisposition(Base):
    __tablename__ = "call_disposition"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    code: Mapped[str] = mapped_column(String(CODE_MAX))
    label: Mapped[str] = mapped_column(String(LABEL_MAX), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)


class CallWrapup(Base):
    __tablename__ = "call_wrapup"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    # the call record's call_id (no FK: the record writer may not have flushed it yet
    # when the agent wraps up during the call)
    call_id: Mapped[str] = mapped_column(String(128), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    disposition_code: Mapped[str | None] = mapped_column(String(CODE_MAX))
    note: Mapped[str] = mapped_column(String(NOTE_MAX), default="")
    recontact_id: Mapped[int | None] = mapped_column(
        ForeignKey("recontact.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class DesktopSettings(Base):
    __tablename__ = "desktop_settings"
    __table_args__ = (
        CheckConstraint(one_of("screen_pop_mode", SCREEN_POP_MODES), name="screen_pop_mode"),
    )

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True)
    screen_pop_url: Mapped[str | None] = mapped_column(String(URL_MAX))
    screen_pop_mode: Mapped[str] = mapped_column(String(8), default="tab")
    # the agent is told, on the desktop card, when a supervisor listens, whispers or barges
    supervision_notice: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
