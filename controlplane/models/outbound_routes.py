"""Outbound routes: which trunk a dialled number leaves by (FreePBX's and Wazo's "outbound routes").

- ``outbound_route``: a tenant's route, tried in ``position`` order among routes whose prefix
  matches equally well (the longest matching prefix wins first: see
  :mod:`controlplane.admin.outbound_routes`). ``prefixes`` is a JSON list of digit prefixes
  (an optional leading ``+``); an empty list matches any number (the default route).
  ``strip`` digits are removed from the front of the number, then ``prepend`` is put there;
  ``caller_id`` (optional) is the number to present (kept and shown; the call engine does
  not present it yet); ``enabled`` false: skipped.
- ``outbound_route_trunk``: the route's trunks in order (``position`` 0 is the primary, the
  later ones failover). A row per trunk, with a real foreign key, so a route never names a
  trunk that is gone: the panel refuses to delete a trunk a route uses (409 naming the
  route), and the ``CASCADE`` only covers the tenant's own deletion.

A tenant with no route keeps the old rule: every call leaves by its first trunk by id.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from controlplane.models.base import Base


class OutboundRoute(Base):
    __tablename__ = "outbound_route"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"),
                                           index=True)
    name: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    prefixes: Mapped[list[str]] = mapped_column(JSON, default=list)
    strip: Mapped[int] = mapped_column(Integer, default=0)
    prepend: Mapped[str] = mapped_column(String(20), default="")
    caller_id: Mapped[str | None] = mapped_column(String(20), nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    trunks: Mapped[list[OutboundRouteTrunk]] = relationship(
        order_by="OutboundRouteTrunk.position", cascade="all, delete-orphan",
        passive_deletes=True)


class OutboundRouteTrunk(Base):
    __tablename__ = "outbound_route_trunk"

    route_id: Mapped[int] = mapped_column(ForeignKey("outbound_route.id", ondelete="CASCADE"),
                                          primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    trunk_id: Mapped[int] = mapped_column(ForeignKey("trunk.id", ondelete="CASCADE"),
                                          index=True)
