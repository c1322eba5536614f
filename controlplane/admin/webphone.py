"""An agent's browser webphone: created for its user on first use, never typed by anyone.

Theory of operation: the agent page asks ``GET /api/v1/agents/me/webphone``
(:mod:`controlplane.acd.http.webphone`). The first time, :func:`ensure` adds a
:class:`PhoneEndpoint` of kind ``webphone`` bound to the user (name ``<tenant>-web-<user id>``,
a free extension, a generated password), in the caller's transaction; the caller then
goes through the admin write path (render check, audit, apply, ACD reload), so Asterisk
gets a WebRTC endpoint (``dialplan/templates/pjsip.conf.j2``) and the ACD rings it exactly
as it rings a desk phone (an agent's phones are the endpoints bound to its user). Later
calls find the same endpoint. The password never leaves through anything but that route.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.admin.service import tenant_slug
from controlplane.models import PhoneEndpoint, Tenant
from controlplane.passwords import generate_sip_secret
from dialplan import webphone

FIRST_EXTENSION = 7000  # webphones take 7000, 7001, ... unless an admin used them already


class WebphonesOff(Exception):
    """The tenant does not allow webphones (``tenant.webphone_enabled``)."""


class HasDeskPhone(Exception):
    """The user works from a desk phone: no webphone is made beside it (the ACD rings one
    phone per agent; a webphone made by opening the agent page took the calls away from
    the desk phone). ``args[0]``: the desk phone's name."""


def desk_phone(s: Session, tenant_id: int, user_id: int) -> str | None:
    """The name of the user's desk phone, if they have one."""
    return s.scalar(select(PhoneEndpoint.name).where(
        PhoneEndpoint.tenant_id == tenant_id, PhoneEndpoint.user_id == user_id,
        PhoneEndpoint.kind != webphone.KIND).order_by(PhoneEndpoint.id).limit(1))


def offered(s: Session, tenant_id: int, user_id: int) -> bool:
    """Whether the agent page runs the webphone: only for a user without a desk phone (one
    given later wins: the ACD rings it first, and the page stops registering the browser)."""
    return desk_phone(s, tenant_id, user_id) is None


def find(s: Session, tenant_id: int, user_id: int) -> PhoneEndpoint | None:
    return s.scalar(select(PhoneEndpoint).where(
        PhoneEndpoint.tenant_id == tenant_id, PhoneEndpoint.user_id == user_id,
        PhoneEndpoint.kind == webphone.KIND).order_by(PhoneEndpoint.id).limit(1))


def _free_extension(s: Session, tenant_id: int) -> str:
    taken = set(s.scalars(select(PhoneEndpoint.extension).where(
        PhoneEndpoint.tenant_id == tenant_id)))
    n = FIRST_EXTENSION
    while str(n) in taken:
        n += 1
    return str(n)


def _free_name(s: Session, wanted: str) -> str:
    name = wanted
    while s.scalar(select(PhoneEndpoint.id).where(PhoneEndpoint.name == name)) is not None:
        name = f"{wanted}-{secrets.token_hex(2)}"
    return name


def ensure(s: Session, tenant_id: int, user_id: int) -> tuple[PhoneEndpoint, bool]:
    """The user's webphone, created (flushed, not committed) when missing: ``(phone, created)``.

    Raises :class:`WebphonesOff` when it would have to be created and the tenant refuses,
    :class:`HasDeskPhone` when the user has a desk phone."""
    phone = find(s, tenant_id, user_id)
    if phone is not None:
        return phone, False
    desk = desk_phone(s, tenant_id, user_id)
    if desk is not None:
        raise HasDeskPhone(desk)
    tenant = s.get(Tenant, tenant_id)
    if tenant is None or not tenant.webphone_enabled:
        raise WebphonesOff(tenant_id)
    phone = PhoneEndpoint(
        tenant_id=tenant_id, user_id=user_id, kind=webphone.KIND, transport=webphone.TRANSPORT,
        name=_free_name(s, f"{tenant_slug(tenant.domain)}-web-{user_id}"),
        extension=_free_extension(s, tenant_id), secret=generate_sip_secret())
    s.add(phone)
    s.flush()
    return phone, True
