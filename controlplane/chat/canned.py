"""Canned responses: a tenant's prepared answers, with parameters filled from the chat.

A body names parameters as ``{{ visitor_name }}`` (spaces optional); :func:`render` fills
the ones it knows (:data:`PARAMETERS`) and leaves anything else as typed, so a typo shows
instead of vanishing. Plain text substitution: no template engine runs tenant text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.admin.exceptions import FieldIssue, InvalidFields
from controlplane.chat.exceptions import ChatNotFound
from controlplane.models.chat_widgets import CannedResponse

PARAMETERS = ("visitor_name", "visitor_email", "visitor_phone", "agent_name")
_PARAM = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def render(body: str, values: Mapping[str, str]) -> str:
    """``body`` with each known ``{{ name }}`` replaced by ``values[name]``."""
    return _PARAM.sub(lambda m: values.get(m.group(1), m.group(0))
                      if m.group(1) in PARAMETERS else m.group(0), body)


def responses(s: Session, tenant_id: int) -> list[CannedResponse]:
    return list(s.scalars(select(CannedResponse).where(CannedResponse.tenant_id == tenant_id)
                          .order_by(CannedResponse.shortcut)))


def response(s: Session, tenant_id: int, canned_id: int) -> CannedResponse:
    row = s.get(CannedResponse, canned_id)
    if row is None or row.tenant_id != tenant_id:
        raise ChatNotFound(f"canned response {canned_id} not found")
    return row


def save(s: Session, tenant_id: int, row: CannedResponse | None,
         values: Mapping[str, Any]) -> CannedResponse:
    issues = []
    if row is None:
        row = CannedResponse(tenant_id=tenant_id, shortcut="", title="", body="")
        issues += [FieldIssue(f, "required") for f in ("shortcut", "body") if not values.get(f)]
    shortcut = values.get("shortcut")
    if shortcut and shortcut != row.shortcut and s.scalar(select(CannedResponse.id).where(
            CannedResponse.tenant_id == tenant_id, CannedResponse.shortcut == shortcut)):
        issues.append(FieldIssue("shortcut", "already used by another canned response"))
    if issues:
        raise InvalidFields(issues)
    for name in ("shortcut", "title", "body"):
        if values.get(name) is not None:
            setattr(row, name, values[name])
    s.add(row)
    s.flush()
    return row


def as_json(row: CannedResponse) -> dict[str, Any]:
    return {"id": row.id, "shortcut": row.shortcut, "title": row.title, "body": row.body}
