"""Onboarding steps, shared by the CLI (``centrala tenant create``) and the panel.

Each function is one transaction: the accounts, the link rows, the mail jobs' outbox rows
and the audit rows commit together. None of them sends mail (the jobs do, see
:mod:`controlplane.jobs.mail`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import transaction
from controlplane.models import Role, Tenant, User
from controlplane.models.user_tokens import UserToken
from controlplane.passwords import hash_password
from controlplane.security import audit, panel_sessions
from controlplane.tenants import store
from controlplane.tenants.exceptions import BadLink
from controlplane.tenants.schemas import TenantCreate, UserCreate
from controlplane.tenants.tokens import MAX_SECRET_LEN, Purpose

# "Forgot password?" throttles: per account and per asking address, per hour. Past them
# the answer is the same as always (nothing is revealed), only no mail leaves.
RESETS_PER_ACCOUNT_HOUR = 3
RESETS_PER_SOURCE_HOUR = 20


@dataclass(frozen=True)
class Created:
    tenant_id: int
    user_id: int
    address: str
    link_id: int


def create_tenant(factory: sessionmaker[Session], req: TenantCreate, *, by: str, source: str,
                  now: datetime, role: Role = Role.ADMIN) -> Created:
    """The tenant and its first administrator, who gets an activation link by mail."""
    with transaction(factory) as s:
        tenant = store.create_tenant(s, domain=req.domain, name=req.name, licences=req.licences,
                                     locale=req.locale, time_zone=req.time_zone)
        user = store.create_user(s, tenant.id, email=req.admin_email, role=role)
        link = store.request_link(s, user, Purpose.ACTIVATION, by=by, source=source, now=now)
        audit.record(s, "tenant.created", tenant_id=tenant.id, actor=by, source=source,
                     detail={"domain": tenant.domain, "licences": tenant.licences,
                             "admin": f"{user.login}@{tenant.domain}"})
        return Created(tenant.id, user.id, f"{user.login}@{tenant.domain}", link.id)


def operator_tenant(s: Session) -> Tenant:
    """The reserved tenant of the platform operators (created on first use)."""
    tenant = store.tenant_by_domain(s, store.OPERATOR_DOMAIN)
    if tenant is None:
        tenant = Tenant(domain=store.OPERATOR_DOMAIN, name="Centrala operator", licences=1)
        s.add(tenant)
        s.flush()
    return tenant


def create_operator(factory: sessionmaker[Session], email: str, *, by: str,
                    now: datetime) -> Created:
    """A platform operator: a user of the reserved tenant, activated by mail like anyone."""
    with transaction(factory) as s:
        tenant = operator_tenant(s)
        user = store.create_user(s, tenant.id, email=email, role=Role.OPERATOR)
        link = store.request_link(s, user, Purpose.ACTIVATION, by=by, source="cli", now=now)
        audit.record(s, "operator.created", tenant_id=tenant.id, actor=by, source="cli",
                     detail={"operator": f"{user.login}@{tenant.domain}"})
        return Created(tenant.id, user.id, f"{user.login}@{tenant.domain}", link.id)


def invite_user(s: Session, tenant_id: int, req: UserCreate, *, by: str, source: str,
                now: datetime) -> User:
    """A user created by an administrator: no password; an activation link by mail."""
    user = store.create_user(s, tenant_id, email=req.email, role=Role(req.role),
                             display_name=req.display_name, login=req.login)
    store.request_link(s, user, Purpose.ACTIVATION, by=by, source=source, now=now)
    audit.record(s, "user.invited", tenant_id=tenant_id, actor=by, source=source,
                 detail={"user": user.login, "role": req.role, "email": user.email})
    return user


def request_reset(factory: sessionmaker[Session], address: str, *, source: str,
                  now: datetime) -> int:
    """"Forgot password?": a reset link to each account ``address`` names; returns how
    many were queued (for tests and logs only: the page never shows it)."""
    hour_ago = now - timedelta(hours=1)
    queued = 0
    with transaction(factory) as s:
        if store.links_since(s, since=hour_ago, source=source) >= RESETS_PER_SOURCE_HOUR:
            return 0
        for user in store.accounts_for(s, address):
            if store.links_since(s, since=hour_ago, user_id=user.id) >= RESETS_PER_ACCOUNT_HOUR:
                continue
            store.request_link(s, user, Purpose.RESET, by="self", source=source, now=now)
            audit.record(s, "password.reset_requested", tenant_id=user.tenant_id,
                         actor=user.address, source=source, detail={})
            queued += 1
    return queued


def check_link(s: Session, secret: str, purpose: Purpose, now: datetime) -> tuple[UserToken, User]:
    """The link's row and user, or :class:`BadLink` saying why it cannot be used."""
    found = store.link_by_secret(s, secret) if len(secret) <= MAX_SECRET_LEN else None
    if found is None or found[0].purpose != purpose.value:
        raise BadLink("this link is not valid; ask for a new one", "unknown", 404)
    row, user = found
    if row.used_at is not None:
        raise BadLink("this link was used already; ask for a new one", "used", 410)
    if row.expires_at is None or row.expires_at <= now:
        raise BadLink("this link has expired; ask for a new one", "expired", 410)
    if not user.active:
        raise BadLink("this account is deactivated", "inactive", 410)
    return row, user


@dataclass(frozen=True)
class Used:
    user_id: int
    tenant_id: int
    address: str
    password_hash: str
    sessions_ended: int


def use_link(factory: sessionmaker[Session], secret: str, purpose: Purpose, password: str, *,
             source: str, now: datetime) -> Used:
    """Set the password through the link, once. A reset ends every session of the user."""
    new_hash = hash_password(password)  # argon2 before the transaction: keep it short
    with transaction(factory) as s:
        row, user = check_link(s, secret, purpose, now)
        # Once: of two requests racing with the same link, only one finds it unused here.
        taken = s.execute(update(UserToken).where(UserToken.id == row.id,
                                                  UserToken.used_at.is_(None))
                          .values(used_at=now))
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            raise BadLink("this link was used already; ask for a new one", "used", 410)
        user.password_hash = new_hash
        ended = panel_sessions.revoke_user(s, user.id, f"password_{purpose.value}", now)
        kind = "account.activated" if purpose is Purpose.ACTIVATION else "password.reset"
        audit.record(s, kind, tenant_id=user.tenant_id, actor=user.address, source=source,
                     detail={"link": row.id, "sessions_ended": ended})
        return Used(user.id, user.tenant_id, user.address, new_hash, ended)
