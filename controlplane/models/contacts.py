"""The miniCRM: a tenant's contacts, their phone numbers and what HLR look-ups said of them.

* ``Contact`` is the one central record of a customer in a tenant, shared by every
  campaign; ``ContactPhone`` holds its numbers in E.164, unique in the tenant, which is
  what de-duplication keys on.
* ``HlrResult`` is the answer of an HLR look-up of a number (is it live on a network).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow
from controlplane.models.columns import one_of, tenant_fk

PHONE_KINDS = ("mobile", "fixed", "fixed_or_mobile", "voip", "toll_free", "other")
HLR_STATUSES = ("active", "inactive", "unknown", "error")
E164_MAX = 16  # "+" and at most 15 digits


class Contact(Base):
    """One customer of a tenant (the miniCRM record); ``custom`` holds free fields."""

    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    timezone: Mapped[str | None] = mapped_column(String(64))  # IANA name; None: campaign's
    custom: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ContactPhone(Base):
    """A number of a contact in E.164, unique in the tenant; ``region`` is the geocoder's
    description ("Warsaw", "New York, NY"), ``country`` the ISO region code."""

    __tablename__ = "contact_phone"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        CheckConstraint(one_of("kind", PHONE_KINDS), name="kind"),
        CheckConstraint("number LIKE '+%'", name="e164"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[str] = mapped_column(String(E164_MAX))
    kind: Mapped[str] = mapped_column(String(16), default="other")
    country: Mapped[str] = mapped_column(String(2), default="")
    region: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)  # 0: the contact's main number


class HlrResult(Base):
    """The answer of an HLR look-up of a number (whether it is live on a network)."""

    __tablename__ = "hlr_result"
    __table_args__ = (
        CheckConstraint(one_of("status", HLR_STATUSES), name="status"),
        Index("ix_hlr_result_number_checked", "number", "checked_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    number: Mapped[str] = mapped_column(String(E164_MAX))
    status: Mapped[str] = mapped_column(String(10))
    provider: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(String(200), default="")
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
