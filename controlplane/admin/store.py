"""The admin room's SQL: phones, DIDs and agent skills of one tenant, listed, found, shown.

Every query takes the tenant id and filters on it: an object of another tenant is never
listed and is "not found" by id. Listing is paged, filtered (``q``: a substring of the
visible text columns) and sorted by a whitelisted column (``-`` for descending); anything
else is refused by :func:`sort_of` with the columns allowed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from controlplane.admin.exceptions import AdminNotFound, FieldIssue, InvalidFields
from controlplane.models import Did, PhoneEndpoint, Trunk, User
from controlplane.models.acd import AgentSkill, Queue
from controlplane.models.ivr import IvrFlow

T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    """One page of a list: ``rows`` and where it is in the whole (``total`` rows)."""

    rows: Sequence[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def meta(self) -> dict[str, int]:
        return {"page": self.page, "per_page": self.per_page, "total": self.total,
                "pages": self.pages}


def sort_of(sort: str | None, columns: Mapping[str, Any], default: str) -> list[Any]:
    """ORDER BY for ``sort`` (``name`` or ``-name``); InvalidFields naming the choices."""
    key = sort or default
    column = columns.get(key.lstrip("-"))
    if column is None:
        raise InvalidFields([FieldIssue("sort", "sort by one of " + ", ".join(
            f"{c}, -{c}" for c in columns))])
    return [column.desc() if key.startswith("-") else column.asc()]


def paged(s: Session, stmt: Select[Any, Any] | Select[Any], page: int, per_page: int) -> Page:
    total = s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = s.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(rows, page, per_page, total)


def _like(q: str | None, *columns: Any) -> ColumnElement[bool] | None:
    if not q or not q.strip():
        return None
    pattern = "%" + q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(*(c.ilike(pattern, escape="\\") for c in columns))


# ---- phones ----

PHONE_SORT = {"name": PhoneEndpoint.name, "extension": PhoneEndpoint.extension,
              "user": User.login, "id": PhoneEndpoint.id}


def phones(s: Session, tenant_id: int, q: str | None, sort: str | None, page: int,
           per_page: int) -> Page:
    """The tenant's phones with their user's login: rows of ``(PhoneEndpoint, login|None)``."""
    stmt = (select(PhoneEndpoint, User.login)
            .outerjoin(User, User.id == PhoneEndpoint.user_id)
            .where(PhoneEndpoint.tenant_id == tenant_id))
    cond = _like(q, PhoneEndpoint.name, PhoneEndpoint.extension, User.login, User.display_name)
    if cond is not None:
        stmt = stmt.where(cond)
    stmt = stmt.order_by(*sort_of(sort, PHONE_SORT, "extension"), PhoneEndpoint.id)
    return paged(s, stmt, page, per_page)


def phone(s: Session, tenant_id: int, phone_id: int) -> PhoneEndpoint:
    row = s.scalar(select(PhoneEndpoint).where(PhoneEndpoint.id == phone_id,
                                               PhoneEndpoint.tenant_id == tenant_id))
    if row is None:
        raise AdminNotFound(f"no phone {phone_id} in your tenant")
    return row


def user(s: Session, tenant_id: int, user_id: int) -> User | None:
    return s.scalar(select(User).where(User.id == user_id, User.tenant_id == tenant_id))


def users(s: Session, tenant_id: int) -> list[User]:
    return list(s.scalars(select(User).where(User.tenant_id == tenant_id, User.active.is_(True))
                          .order_by(User.login)))


def dids_of_phone(s: Session, phone_id: int) -> list[str]:
    return list(s.scalars(select(Did.number).where(Did.phone_endpoint_id == phone_id)
                          .order_by(Did.number)))


# ---- DIDs ----

DID_SORT = {"number": Did.number, "id": Did.id}


def dids(s: Session, tenant_id: int, q: str | None, sort: str | None, page: int,
         per_page: int) -> Page:
    stmt = select(Did).where(Did.tenant_id == tenant_id)
    cond = _like(q, Did.number)
    if cond is not None:
        stmt = stmt.where(cond)
    stmt = stmt.order_by(*sort_of(sort, DID_SORT, "number"), Did.id)
    return paged(s, stmt, page, per_page)


def did(s: Session, tenant_id: int, did_id: int) -> Did:
    row = s.scalar(select(Did).where(Did.id == did_id, Did.tenant_id == tenant_id))
    if row is None:
        raise AdminNotFound(f"no DID {did_id} in your tenant")
    return row


def queues(s: Session, tenant_id: int) -> list[Queue]:
    return list(s.scalars(select(Queue).where(Queue.tenant_id == tenant_id).order_by(Queue.name)))


def dids_of_queue(s: Session, queue_id: int) -> list[str]:
    return list(s.scalars(select(Did.number).where(Did.queue_id == queue_id).order_by(Did.number)))


def flows(s: Session, tenant_id: int) -> list[IvrFlow]:
    return list(s.scalars(select(IvrFlow).where(IvrFlow.tenant_id == tenant_id)
                          .order_by(IvrFlow.name)))


def trunks(s: Session, tenant_id: int) -> list[Trunk]:
    return list(s.scalars(select(Trunk).where(Trunk.tenant_id == tenant_id).order_by(Trunk.name)))


def owned(s: Session, model: type[T], tenant_id: int, obj_id: int) -> T | None:
    """``model`` row ``obj_id`` if it is the tenant's (a ``tenant_id`` column)."""
    row = s.get(model, obj_id)
    return row if row is not None and getattr(row, "tenant_id", None) == tenant_id else None


# ---- agent skills (the tenant is the agent's) ----

SKILL_SORT = {"skill": AgentSkill.skill, "user": User.login, "level": AgentSkill.level,
              "id": AgentSkill.id}


def agent_skills(s: Session, tenant_id: int, q: str | None, sort: str | None, page: int,
                 per_page: int) -> Page:
    stmt = (select(AgentSkill, User.login).join(User, User.id == AgentSkill.user_id)
            .where(User.tenant_id == tenant_id))
    cond = _like(q, AgentSkill.skill, User.login)
    if cond is not None:
        stmt = stmt.where(cond)
    stmt = stmt.order_by(*sort_of(sort, SKILL_SORT, "skill"), User.login, AgentSkill.id)
    return paged(s, stmt, page, per_page)


def agent_skill(s: Session, tenant_id: int, skill_id: int) -> tuple[AgentSkill, str]:
    row = s.execute(select(AgentSkill, User.login).join(User, User.id == AgentSkill.user_id)
                    .where(AgentSkill.id == skill_id, User.tenant_id == tenant_id)).first()
    if row is None:
        raise AdminNotFound(f"no agent skill {skill_id} in your tenant")
    return row[0], row[1]


def skill_names(s: Session, tenant_id: int) -> list[tuple[str, int]]:
    """The tenant's skills (names in use) with how many agents have each."""
    return [(name, n) for name, n in s.execute(
        select(AgentSkill.skill, func.count()).join(User, User.id == AgentSkill.user_id)
        .where(User.tenant_id == tenant_id).group_by(AgentSkill.skill)
        .order_by(AgentSkill.skill))]


# ---- trunks ----

TRUNK_SORT = {"name": Trunk.name, "host": Trunk.host, "id": Trunk.id}


def trunks_page(s: Session, tenant_id: int, q: str | None, sort: str | None, page: int,
                per_page: int) -> Page:
    stmt = select(Trunk).where(Trunk.tenant_id == tenant_id)
    cond = _like(q, Trunk.name, Trunk.host)
    if cond is not None:
        stmt = stmt.where(cond)
    stmt = stmt.order_by(*sort_of(sort, TRUNK_SORT, "name"), Trunk.id)
    return paged(s, stmt, page, per_page)


def trunk(s: Session, tenant_id: int, trunk_id: int) -> Trunk:
    row = s.scalar(select(Trunk).where(Trunk.id == trunk_id, Trunk.tenant_id == tenant_id))
    if row is None:
        raise AdminNotFound(f"no trunk {trunk_id} in your tenant")
    return row


def dids_of_trunk(s: Session, trunk_id: int) -> list[str]:
    return list(s.scalars(select(Did.number).where(Did.trunk_id == trunk_id).order_by(Did.number)))
