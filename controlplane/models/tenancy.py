"""Tenants (a tenant is a domain) and users with roles."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from controlplane.models.base import Base, UtcDateTime, utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


class Tenant(Base):
    __tablename__ = "tenant"

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(String(253), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    licences: Mapped[int] = mapped_column(Integer, default=10)
    # The panel's language for users who chose none, and the zone its times are shown in.
    locale: Mapped[str] = mapped_column(String(8), default="pl", server_default="pl")
    time_zone: Mapped[str] = mapped_column(String(64), default="Europe/Warsaw",
                                           server_default="Europe/Warsaw")
    # API requests a month, per user (the seed's smallest package: 30k; FEATURES.md §8).
    api_monthly_limit: Mapped[int] = mapped_column(Integer, default=30000,
                                                   server_default="30000")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="tenant")


class User(Base):
    """A person who logs in as ``login@tenant-domain``."""

    __tablename__ = "user_account"
    __table_args__ = (UniqueConstraint("tenant_id", "login"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    login: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(8))  # None: the tenant's
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    tenant: Mapped[Tenant] = relationship(back_populates="users")

    @property
    def address(self) -> str:
        return f"{self.login}@{self.tenant.domain}"
