"""API tokens in SQL: make, list, revoke, and find the holder of a secret.

Every query names the tenant (and the user where it is theirs): a token id of another
tenant is "not found", never someone else's token. The secret itself never reaches this
module's tables or logs; :func:`create` returns it once to the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.api_access import scopes, tokens
from controlplane.api_access.exceptions import TokenNotFound
from controlplane.models import ApiToken, Role, Tenant, User

# last_used_at/from are written at most this often per token (one UPDATE per request
# would make every API read a database write).
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class Holder:
    """Who a valid secret belongs to, as a request needs it."""

    token_id: int
    scope: str  # effective: never above the user's role
    user_id: int
    tenant_id: int
    tenant_domain: str
    tenant_name: str
    login: str
    display_name: str
    role: Role
    locale: str
    time_zone: str
    monthly_limit: int


def create(s: Session, *, tenant_id: int, user_id: int, name: str, scope: str,
           expires_at: datetime | None, now: datetime) -> tuple[ApiToken, str]:
    """A new token of the user and its secret (the only time it exists in clear)."""
    secret = tokens.new_secret()
    row = ApiToken(tenant_id=tenant_id, user_id=user_id, name=name, scope=scope,
                   token_hash=tokens.digest(secret), prefix=tokens.shown_prefix(secret),
                   created_at=now, expires_at=expires_at, last_used_from="")
    s.add(row)
    s.flush()
    return row, secret


def of_user(s: Session, tenant_id: int, user_id: int) -> list[ApiToken]:
    """The user's tokens, newest first (revoked ones too: the page shows them)."""
    return list(s.scalars(select(ApiToken).where(
        ApiToken.tenant_id == tenant_id, ApiToken.user_id == user_id)
        .order_by(ApiToken.id.desc())))


def get(s: Session, tenant_id: int, token_id: int, *, user_id: int | None) -> ApiToken:
    """Token ``token_id`` of the tenant (and of ``user_id`` unless None: administrators)."""
    query = select(ApiToken).where(ApiToken.tenant_id == tenant_id, ApiToken.id == token_id)
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    row = s.scalar(query)
    if row is None:
        raise TokenNotFound(f"no such token: {token_id}")
    return row


def revoke(row: ApiToken, now: datetime) -> bool:
    """Revoke ``row``; False if it was revoked already."""
    if row.revoked_at is not None:
        return False
    row.revoked_at = now
    return True


def holder(s: Session, secret: str, now: datetime) -> Holder | None:
    """The holder of ``secret`` if the token is live and its user active, else None."""
    row = s.execute(
        select(ApiToken, User, Tenant).join(User, User.id == ApiToken.user_id)
        .join(Tenant, Tenant.id == ApiToken.tenant_id)
        .where(ApiToken.token_hash == tokens.digest(secret))).first()
    if row is None:
        return None
    token, user, tenant = row
    if (token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now)
            or not user.active or user.tenant_id != token.tenant_id):
        return None
    return Holder(
        token_id=token.id, scope=scopes.effective(token.scope, user.role), user_id=user.id,
        tenant_id=tenant.id, tenant_domain=tenant.domain, tenant_name=tenant.name,
        login=user.login, display_name=user.display_name or user.login, role=user.role,
        locale=user.locale or tenant.locale, time_zone=tenant.time_zone,
        monthly_limit=tenant.api_monthly_limit)


def touch(s: Session, token_id: int, source: str, now: datetime) -> bool:
    """Note the token's use (at most every :data:`TOUCH_EVERY`, or from a new address)."""
    token = s.get(ApiToken, token_id)
    if token is None:
        return False
    fresh = token.last_used_at is not None and now - token.last_used_at < TOUCH_EVERY
    if fresh and token.last_used_from == source:
        return False
    token.last_used_at, token.last_used_from = now, source[:100]
    return True


def tenant_limit(s: Session, tenant_id: int) -> int:
    limit = s.scalar(select(Tenant.api_monthly_limit).where(Tenant.id == tenant_id))
    return int(limit or 0)
