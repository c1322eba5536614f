"""The desk's per-tenant lists: categories, response templates and saved list views.

Plain SQL, each query tenant-scoped (a view also by its user): another tenant's (or another
user's view) is "not found". Names are unique per tenant (per user for views); a duplicate
is 422 naming the field ``name``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from controlplane.desk import templates
from controlplane.desk.exceptions import DeskNotFound, FieldIssue, InvalidFields
from controlplane.desk.schemas import TicketFilters
from controlplane.desk.store import Viewer
from controlplane.models.base import utcnow
from controlplane.models.desk import TicketTemplate, TicketView
from controlplane.models.tickets import TicketCategory

VIEW_FILTERS = ("status", "priority", "category_id", "assignee", "queue_id", "channel", "q")


def _unique(s: Session, row: object) -> None:
    try:
        with s.begin_nested():
            s.add(row)
            s.flush()
    except IntegrityError:
        raise InvalidFields([FieldIssue("name", "this name is taken")]) from None


# ---- categories ----

def category_json(c: TicketCategory) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "active": c.active}


def save_category(s: Session, tenant_id: int, category_id: int | None,
                  values: Mapping[str, Any]) -> TicketCategory:
    if category_id is None:
        if not (values.get("name") or "").strip():
            raise InvalidFields([FieldIssue("name", "a category needs a name")])
        row = TicketCategory(tenant_id=tenant_id, name=values["name"].strip(),
                             active=values.get("active", True) is not False)
        _unique(s, row)
        return row
    row = s.scalar(select(TicketCategory).where(TicketCategory.id == category_id,
                                                TicketCategory.tenant_id == tenant_id))
    if row is None:
        raise DeskNotFound(f"no category {category_id} in your tenant")
    if values.get("name") is not None:
        row.name = values["name"].strip()
    if values.get("active") is not None:
        row.active = bool(values["active"])
    try:
        with s.begin_nested():
            s.flush()
    except IntegrityError:
        raise InvalidFields([FieldIssue("name", "this name is taken")]) from None
    return row


# ---- response templates ----

def template_json(t: TicketTemplate) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "body": t.body, "active": t.active}


def list_templates(s: Session, tenant_id: int, *, active_only: bool = False
                   ) -> list[TicketTemplate]:
    stmt = select(TicketTemplate).where(TicketTemplate.tenant_id == tenant_id)
    if active_only:
        stmt = stmt.where(TicketTemplate.active.is_(True))
    return list(s.scalars(stmt.order_by(func.lower(TicketTemplate.name))))


def template(s: Session, tenant_id: int, template_id: int) -> TicketTemplate:
    row = s.scalar(select(TicketTemplate).where(TicketTemplate.id == template_id,
                                                TicketTemplate.tenant_id == tenant_id))
    if row is None:
        raise DeskNotFound(f"no response template {template_id} in your tenant")
    return row


def save_template(s: Session, tenant_id: int, template_id: int | None,
                  values: Mapping[str, Any]) -> TicketTemplate:
    if values.get("body") is not None:
        templates.trial(values["body"])
    if template_id is None:
        issues = [FieldIssue(k, "required") for k in ("name", "body")
                  if not (values.get(k) or "").strip()]
        if issues:
            raise InvalidFields(issues)
        row = TicketTemplate(tenant_id=tenant_id, name=values["name"].strip(),
                             body=values["body"], active=values.get("active") is not False,
                             created_at=utcnow())
        _unique(s, row)
        return row
    row = template(s, tenant_id, template_id)
    for key in ("name", "body", "active"):
        if values.get(key) is not None:
            setattr(row, key, values[key].strip() if key == "name" else values[key])
    try:
        with s.begin_nested():
            s.flush()
    except IntegrityError:
        raise InvalidFields([FieldIssue("name", "this name is taken")]) from None
    return row


# ---- saved views ----

def view_json(v: TicketView) -> dict[str, Any]:
    return {"id": v.id, "name": v.name, "filters": dict(v.filters or {})}


def views(s: Session, user_id: int) -> list[TicketView]:
    return list(s.scalars(select(TicketView).where(TicketView.user_id == user_id)
                          .order_by(func.lower(TicketView.name))))


def save_view(s: Session, viewer: Viewer, name: str, filters: Mapping[str, Any]) -> TicketView:
    """Save (or replace, by name) the viewer's view."""
    assert viewer.user_id is not None
    raw = {k: v for k, v in filters.items() if k in VIEW_FILTERS and v not in (None, "")}
    try:  # kept typed (ids as numbers), as the list's query string would read them
        kept = TicketFilters.model_validate(raw).model_dump(exclude_none=True)
    except ValidationError as err:
        first = err.errors()[0]
        raise InvalidFields([FieldIssue(str(first["loc"][0]) if first["loc"] else "filters",
                                        first["msg"])]) from None
    row = s.scalar(select(TicketView).where(TicketView.user_id == viewer.user_id,
                                            TicketView.name == name))
    if row is None:
        row = TicketView(tenant_id=viewer.tenant_id, user_id=viewer.user_id, name=name,
                         filters=kept, created_at=utcnow())
        _unique(s, row)
    else:
        row.filters = kept
    return row


def delete_view(s: Session, viewer: Viewer, view_id: int) -> None:
    row = s.get(TicketView, view_id)
    if row is None or row.user_id != viewer.user_id:
        raise DeskNotFound(f"no saved view {view_id} of yours")
    s.delete(row)
