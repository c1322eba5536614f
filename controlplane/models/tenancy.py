"""Tenants (a tenant is a domain) and users with roles."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from controlplane.models.base import Base, UtcDateTime, utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    # The platform operator: a user of the reserved operator tenant who manages tenants
    # (controlplane.tenants); never a role inside a customer's tenant.
    OPERATOR = "operator"


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
    # False: deactivated by the platform operator; nobody of it can log in.
    active: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    # API requests a month, per user (the seed's smallest package: 30k; FEATURES.md §8).
    api_monthly_limit: Mapped[int] = mapped_column(Integer, default=30000,
                                                   server_default="30000")
    # Agents may get a browser webphone, created on first use from their login (issue 13).
    webphone_enabled: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="tenant")


class User(Base):
    """A person who logs in as ``login@tenant-domain``."""

    __tablename__ = "user_account"
    __table_args__ = (UniqueConstraint("tenant_id", "login"),
                      UniqueConstraint("tenant_id", "email", name="uq_user_account_tenant_id_email"))

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    login: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20))
    password_hash: Mapped[str] = mapped_column(String(200))  # "": none set yet (activation)
    # Where activation and password-reset links go (lower-cased); unique in the tenant.
    email: Mapped[str | None] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(8))  # None: the tenant's
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    tenant: Mapped[Tenant] = relationship(back_populates="users")

    @property
    def address(self) -> str:
        return f"{self.login}@{self.tenant.domain}"
