"""The "API tokens" page (``/account/tokens``) and ``/api/v1/tokens``: a user's own tokens.

Any user may make tokens for themselves, with a scope up to what their role allows
(:func:`controlplane.api_access.scopes.allowed_for`); a request made *with* a token may
make tokens no wider than its own. The secret is in the answer to the creation and
nowhere else (the page renders it in the POST's answer, not through a redirect and a
session). Revoking is immediate. Administrators may revoke any token of their tenant
(``DELETE /api/v1/tokens/<id>``), e.g. one found in a leaked script. Each creation and
revocation is an audit row (``api_token.created``, ``api_token.revoked``; never the
secret).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response as BaseResponse

from controlplane.api_access import quota, scopes, store
from controlplane.api_access.http import bearer
from controlplane.api_access.http.schemas import (
    MAX_DAYS,
    TokenCreate,
    TokenCreated,
    TokenForm,
    TokenList,
    TokenOut,
)
from controlplane.api_access.labels import SCOPE_LABELS
from controlplane.db import transaction
from controlplane.models import ApiToken, Role
from controlplane.security import audit
from web.api.responses import responds
from web.auth import client_address, current_user, login_required
from web.errors import FieldProblem, Invalid
from web.services import services
from web.session_cookie import clock
from web.validation import parse_form, validated

bp = Blueprint("api_tokens", __name__)
bp.before_app_request(bearer.authenticate)
bp.after_app_request(bearer.rate_headers)


def _model(row: ApiToken, now: datetime) -> TokenOut:
    live = row.revoked_at is None and (row.expires_at is None or row.expires_at > now)
    return TokenOut(
        id=row.id, name=row.name, scope=row.scope, prefix=row.prefix,  # type: ignore[arg-type]
        user_id=row.user_id, created_at=row.created_at, expires_at=row.expires_at,
        revoked_at=row.revoked_at, last_used_at=row.last_used_at,
        last_used_from=row.last_used_from, active=live)


def _out(row: ApiToken, now: datetime) -> dict[str, Any]:
    return _model(row, now).model_dump(mode="json")


def _allowed_scopes() -> tuple[str, ...]:
    """What this user may give a token now: their role's, and no wider than the token
    this request was made with."""
    allowed = scopes.allowed_for(current_user().role)
    held = bearer.token_scope()
    return tuple(s for s in allowed if held is None or scopes.includes(held, s))


def create_token(name: str, scope: str, days: int | None) -> dict[str, Any]:
    """Make a token of the current user; its listing with the secret (shown once)."""
    me, now = current_user(), clock(current_app)
    if scope not in _allowed_scopes():
        raise Invalid([FieldProblem("scope", gettext(
            "your role allows at most: %(scopes)s", scopes=", ".join(_allowed_scopes())),
            "/scope")])
    expires = now + timedelta(days=days) if days else None
    with transaction(services().sessions) as s:
        row, secret = store.create(s, tenant_id=me.tenant_id, user_id=me.id, name=name,
                                   scope=scope, expires_at=expires, now=now)
        audit.record(s, "api_token.created", tenant_id=me.tenant_id, actor=me.address,
                     source=client_address(),
                     detail={"token_id": row.id, "name": name, "scope": scope,
                             "prefix": row.prefix,
                             "expires_at": expires.isoformat() if expires else None})
        return {**_out(row, now), "token": secret}


def revoke_token(token_id: int) -> dict[str, Any]:
    """Revoke the current user's token (any of the tenant's, for an administrator)."""
    me, now = current_user(), clock(current_app)
    owner = None if me.role == Role.ADMIN else me.id
    with transaction(services().sessions) as s:
        row = store.get(s, me.tenant_id, token_id, user_id=owner)
        if store.revoke(row, now):
            audit.record(s, "api_token.revoked", tenant_id=me.tenant_id, actor=me.address,
                         source=client_address(),
                         detail={"token_id": row.id, "name": row.name, "prefix": row.prefix,
                                 "owner_id": row.user_id})
        return _out(row, now)


def _mine() -> list[TokenOut]:
    me, now = current_user(), clock(current_app)
    with services().sessions() as s:
        return [_model(r, now) for r in store.of_user(s, me.tenant_id, me.id)]


# --- the page ------------------------------------------------------------------------


def _page(created: dict[str, Any] | None = None, problems: dict[str, str] | None = None,
          status: int = 200) -> Any:
    me, now = current_user(), clock(current_app)
    with services().sessions() as s:
        limit = store.tenant_limit(s, me.tenant_id)
    usage = quota.peek(services().redis, me.tenant_id, me.id, limit, now)
    return render_template(
        "api_tokens.html", tokens=_mine(), created=created, problems=problems or {},
        scopes=[(s, SCOPE_LABELS[s]) for s in _allowed_scopes()], usage=usage, limit=limit,
        max_days=MAX_DAYS), status


@bp.get("/account/tokens")
@login_required()
def page() -> Any:
    return _page()


@bp.post("/account/tokens")
@login_required()
def create_from_form() -> Any:
    form = parse_form(TokenForm)
    problems: dict[str, str] = {}
    name = form.name.strip()
    if not name:
        problems["name"] = gettext("give the token a name")
    if form.scope not in _allowed_scopes():
        problems["scope"] = gettext("choose one of the scopes listed")
    days = None
    if form.expires_in_days.strip():
        try:
            days = int(form.expires_in_days)
        except ValueError:
            days = 0
        if not 1 <= days <= MAX_DAYS:
            problems["expires_in_days"] = gettext(
                "a whole number of days from 1 to %(max)s, or empty", max=MAX_DAYS)
    if problems:
        return _page(problems=problems, status=400)
    return _page(created=create_token(name, form.scope, days))


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required()
def revoke_from_form(token_id: int) -> BaseResponse:
    row = revoke_token(token_id)
    flash(gettext("Token \u201c%(name)s\u201d revoked.", name=row["name"]), "ok")
    return redirect(url_for("api_tokens.page"))


# --- the API -------------------------------------------------------------------------


@bp.get("/api/v1/tokens")
@login_required()
@validated()
@responds(TokenList)
def api_list() -> Any:
    """Your API tokens (never their secrets)."""
    return jsonify({"tokens": [t.model_dump(mode="json") for t in _mine()]})


@bp.post("/api/v1/tokens")
@login_required()
@validated(body=TokenCreate)
@responds(TokenCreated, 201)
def api_create(body: TokenCreate) -> Any:
    """Make an API token; the answer holds its secret, shown this once."""
    return jsonify(create_token(body.name, body.scope, body.expires_in_days)), 201


@bp.delete("/api/v1/tokens/<int:token_id>")
@login_required()
@validated()
@responds(TokenOut)
def api_revoke(token_id: int) -> Any:
    """Revoke a token at once (yours; an administrator: any of the tenant's)."""
    return jsonify(revoke_token(token_id))
