"""Per-tenant access policy and per-user second factor (issue 12: seats, IP, TOTP).

``tenant_access`` holds what a tenant's administrator decides about who may get in:
the IP allow-list (CIDR strings, v4 and v6; empty = every address) and whether the
seed's "one user on one workstation" rule (§5.3) applies. No row means the defaults:
the rule applies and every address is allowed.

``user_totp`` holds a user's TOTP secret (RFC 6238, pyotp) once enrolment started;
``confirmed_at`` is set when the user proved the authenticator works, and only then does
login ask for a code. ``last_counter`` is the time step of the last accepted code, so a
code cannot be used twice. Recovery codes are stored as SHA-256 digests (they are long
random strings, so a slow hash adds nothing) and each is crossed out when used.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base, UtcDateTime, utcnow


class TenantAccess(Base):
    __tablename__ = "tenant_access"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True)
    ip_allow_list: Mapped[list[str]] = mapped_column(JSON, default=list)
    one_workstation: Mapped[bool] = mapped_column(default=True, server_default=true())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class UserTotp(Base):
    __tablename__ = "user_totp"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(64))  # base32; never logged nor shown again
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_counter: Mapped[int] = mapped_column(Integer, default=0)
    recovery_hashes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
