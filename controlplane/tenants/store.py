"""The room's SQL: tenants, accounts without a password yet, and single-use link rows.

Every function works in the caller's session and transaction: creating a user, its link
row and the link's mail job (:func:`request_link`) commit together or not at all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from controlplane.jobs import outbox
from controlplane.models import Role, Tenant, User
from controlplane.models.outbox import JobOutbox
from controlplane.models.user_tokens import UserToken
from controlplane.tenants.exceptions import EmailTaken, LoginTaken, TenantExists
from controlplane.tenants.tokens import Purpose, hash_secret

# The platform operator's own tenant: reserved, never a customer's domain.
OPERATOR_DOMAIN = "operator.centrala.local"
MAIL_JOB = "controlplane.jobs.mail.send_link"  # by path: the panel must not import the job
# A mail server that refuses for a while (greylisting, a restart) gets the mail later:
# RQ runs the failed job again after 10 s, 1 min, 5 min, 15 min, 1 h, 3 h (the job is
# safe to retry: controlplane.jobs.mail); then it stays in RQ's failed registry.
MAIL_RETRY = {"max": 6, "interval": [10, 60, 300, 900, 3600, 10800]}
_LOGIN_BAD = re.compile(r"[^A-Za-z0-9._-]+")


def tenant_by_domain(s: Session, domain: str) -> Tenant | None:
    return s.scalar(select(Tenant).where(Tenant.domain == domain.lower()))


def create_tenant(s: Session, *, domain: str, name: str | None, licences: int,
                  locale: str = "pl", time_zone: str = "Europe/Warsaw") -> Tenant:
    if tenant_by_domain(s, domain) is not None or domain == OPERATOR_DOMAIN:
        raise TenantExists(f"a tenant {domain} exists already", details={"field": "domain"})
    tenant = Tenant(domain=domain, name=name or domain, licences=licences, locale=locale,
                    time_zone=time_zone)
    s.add(tenant)
    s.flush()
    return tenant


def free_login(s: Session, tenant_id: int, email: str) -> str:
    """A login for ``email`` in the tenant: its local part (``jan`` of ``jan@firma.pl``),
    made safe and unique (``jan2``…)."""
    base = _LOGIN_BAD.sub("", email.partition("@")[0])[:90] or "user"
    taken = set(s.scalars(select(User.login).where(User.tenant_id == tenant_id,
                                                   User.login.like(f"{base}%"))))
    login, n = base, 1
    while login in taken:
        n += 1
        login = f"{base}{n}"
    return login


def create_user(s: Session, tenant_id: int, *, email: str, role: Role, display_name: str = "",
                login: str | None = None) -> User:
    """An account with no password (it cannot log in until its link is used)."""
    email = email.lower()
    if s.scalar(select(User.id).where(User.tenant_id == tenant_id, User.email == email)):
        raise EmailTaken(f"{email} already has an account here", details={"field": "email"})
    if login is not None and s.scalar(
            select(User.id).where(User.tenant_id == tenant_id, User.login == login)):
        raise LoginTaken(f"the login {login} is taken", details={"field": "login"})
    user = User(tenant_id=tenant_id, login=login or free_login(s, tenant_id, email), email=email,
                role=role, display_name=display_name, password_hash="")
    s.add(user)
    s.flush()
    return user


def request_link(s: Session, user: User, purpose: Purpose, *, by: str, source: str,
                 now: datetime) -> UserToken:
    """A new link row for ``user`` (older unused links of that purpose stop working) and,
    in the same transaction, the outbox row of the job that mails it."""
    s.execute(update(UserToken).where(UserToken.user_id == user.id,
                                      UserToken.purpose == purpose.value,
                                      UserToken.used_at.is_(None)).values(used_at=now))
    row = UserToken(tenant_id=user.tenant_id, user_id=user.id, purpose=purpose.value,
                    created_at=now, requested_by=by[:200], requested_from=source[:100])
    s.add(row)
    s.flush()
    spec = outbox.make_spec(MAIL_JOB, (row.id,), job_id=f"mail-link-{row.id}",
                            options={outbox.RETRY: MAIL_RETRY})
    s.add(JobOutbox(job_id=spec.job_id, queue=spec.queue, func=spec.func, args=list(spec.args),
                    kwargs={}, options=dict(spec.options), created_at=now))
    return row


def link_by_secret(s: Session, secret: str) -> tuple[UserToken, User] | None:
    row = s.execute(select(UserToken, User).join(User, User.id == UserToken.user_id)
                    .where(UserToken.token_hash == hash_secret(secret))).first()
    return (row[0], row[1]) if row else None


def links_since(s: Session, *, since: datetime, user_id: int | None = None,
                source: str | None = None, purpose: Purpose = Purpose.RESET) -> int:
    """How many links were asked for since ``since`` (by user or by address): throttling."""
    query = select(func.count(UserToken.id)).where(UserToken.purpose == purpose.value,
                                                   UserToken.created_at >= since)
    if user_id is not None:
        query = query.where(UserToken.user_id == user_id)
    if source is not None:
        query = query.where(UserToken.requested_from == source)
    return int(s.scalar(query) or 0)


def accounts_for(s: Session, address: str) -> Sequence[User]:
    """Active accounts with an e-mail that ``address`` names: ``login@domain`` or the
    e-mail itself (which may have accounts in several tenants)."""
    address = address.strip()
    login, _, domain = address.rpartition("@")
    if not login or not domain:
        return []
    by_login = (User.login == login) & (Tenant.domain == domain.lower())
    return s.scalars(select(User).join(Tenant).where(
        or_(by_login, User.email == address.lower()), User.active, Tenant.active,
        User.email.is_not(None))).all()
