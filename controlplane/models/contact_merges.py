"""The merge log of the miniCRM: one row each time a contact was merged into another.

A merge moves the other contact's numbers, campaign records and history to the one kept
and deletes the other (:mod:`controlplane.contacts.service`). So that a merge stays
visible on the contact afterwards, this row keeps what the deleted contact was: its old
id, name and e-mail, who merged it and when, and what moved (``moved``: numbers, campaign
records, custom fields taken over).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow
from controlplane.models.columns import tenant_fk


class ContactMerge(Base):
    """``merged_id`` (gone, no foreign key) was merged into ``contact_id`` by ``actor``."""

    __tablename__ = "contact_merge"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    merged_id: Mapped[int] = mapped_column(Integer)
    merged_name: Mapped[str] = mapped_column(String(201), default="")
    merged_email: Mapped[str] = mapped_column(String(254), default="")
    actor: Mapped[str] = mapped_column(String(200), default="")
    moved: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    merged_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
