"""What the admin pages and API share: the write path, list parameters and the audit line.

The write path (:func:`write`): run the change in a transaction, render Asterisk's
configuration from the uncommitted state (:func:`controlplane.admin.apply.check`: refused
→ nothing saved, the error goes back to the form), commit, audit in the same transaction,
then apply the files and reload Asterisk (:func:`controlplane.admin.apply.apply`) and ask
the daemon to re-read the tenant's agents (``acd.reload``: a phone's user is how the ACD
rings an agent). The outcome of applying is returned so the page and the API can say it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from flask import flash, request
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from controlplane.admin import apply
from controlplane.bus import send_reload
from controlplane.db import transaction
from controlplane.models import Role
from controlplane.security import audit
from web.auth import client_address, current_user
from web.services import services

log = logging.getLogger(__name__)

ADMIN = (Role.ADMIN,)
T = TypeVar("T")


def write(change: Callable[[Session], T], kind: str, detail: Callable[[T], dict[str, Any]],
          *, asterisk: bool = True, acd: bool = True) -> tuple[T, apply.Applied | None]:
    """Run ``change`` (returns what the caller wants back), check, audit ``kind``, commit,
    apply (when ``asterisk``) and tell the ACD (when ``acd``: ``acd.reload`` is an admin's
    command; an agent's own change tells it its own way). Returns (result, applied)."""
    svc, me = services(), current_user()
    with transaction(svc.sessions) as s:
        result = change(s)
        if asterisk:
            apply.check(s, svc.settings)
        audit.record(s, kind, tenant_id=me.tenant_id, actor=me.address,
                     source=client_address(), detail=detail(result))
    applied = apply.apply(svc.settings, svc.sessions) if asterisk else None
    if acd:
        tell_acd(me.tenant_id)
    return result, applied


def tell_acd(tenant_id: int) -> bool:
    try:
        send_reload(services().redis, tenant_id, actor_id=current_user().id)
        return True
    except redis.RedisError as err:
        log.warning("acd.reload for tenant %s not sent: %s", tenant_id, err)
        return False


def flash_applied(applied: apply.Applied | None, saved: str) -> None:
    """Say what happened: saved and applied, or saved but Asterisk not reloaded (why)."""
    if applied is None or applied.ok:
        flash(saved, "ok")
    else:
        flash(_("%(saved)s, but not applied to Asterisk yet: %(error)s", saved=saved,
                error=applied.error), "error")


def form_values() -> dict[str, Any]:
    """The posted form without its CSRF token; empty fields as None."""
    return {k: (v if v != "" else None) for k, v in request.form.items() if k != "csrf_token"}


def list_args() -> dict[str, Any]:
    """Paging, filter and sort of a page's list from its query string (bad values ignored:
    a page never fails on a hand-edited URL; the API refuses them by name)."""
    def number(name: str, default: int, top: int) -> int:
        try:
            return max(1, min(top, int(request.args.get(name, default))))
        except ValueError:
            return default
    return {"q": request.args.get("q") or None, "sort": request.args.get("sort") or None,
            "page": number("page", 1, 100_000), "per_page": number("per_page", 50, 100)}
