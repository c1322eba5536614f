"""SIP side of a tenant: agent phone endpoints, trunks and the DIDs they carry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from controlplane.models.base import Base

if TYPE_CHECKING:
    from controlplane.models.acd import Queue
    from controlplane.models.ivr import IvrFlow


class PhoneEndpoint(Base):
    """An agent's phone (desk phone, softphone, webphone): one PJSIP endpoint.

    ``name`` is the SIP user name and the PJSIP object name, unique platform-wide.
    """

    __tablename__ = "phone_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    extension: Mapped[str] = mapped_column(String(20))
    secret: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    transport: Mapped[str] = mapped_column(String(8), default="udp")
    # "desk" (a SIP phone or softphone over udp/tcp) or "webphone" (the panel's browser phone:
    # WebRTC over Asterisk's WebSocket transport, created for its user on first use)
    kind: Mapped[str] = mapped_column(String(16), default="desk", server_default="desk")


class Trunk(Base):
    """A SIP trunk to a carrier (or the customer's own, BYOC)."""

    __tablename__ = "trunk"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    host: Mapped[str] = mapped_column(String(253))
    port: Mapped[int] = mapped_column(Integer, default=5060)
    transport: Mapped[str] = mapped_column(String(8), default="udp")
    username: Mapped[str] = mapped_column(String(100))
    secret: Mapped[str] = mapped_column(String(128))
    register: Mapped[bool] = mapped_column(Boolean, default=True)
    channels: Mapped[int] = mapped_column(Integer, default=30)


class Did(Base):
    """A number customers dial; arrives on ``trunk``, answered per its binding: exactly one
    of a phone, an IVR flow and an ACD queue (the admin room checks it)."""

    __tablename__ = "did"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    trunk_id: Mapped[int | None] = mapped_column(ForeignKey("trunk.id", ondelete="SET NULL"))
    phone_endpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("phone_endpoint.id", ondelete="SET NULL")
    )
    prompt: Mapped[str] = mapped_column(String(200), default="sound:hello-world")
    flow_id: Mapped[int | None] = mapped_column(ForeignKey("ivr_flow.id", ondelete="SET NULL"))
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("acd_queue.id", ondelete="SET NULL"))

    trunk: Mapped[Trunk | None] = relationship()
    phone: Mapped[PhoneEndpoint | None] = relationship()
    flow: Mapped[IvrFlow | None] = relationship()
    queue: Mapped[Queue | None] = relationship()
