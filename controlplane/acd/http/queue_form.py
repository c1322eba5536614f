"""Queue and break-reason configuration: server-side validation and writes, for one tenant.

Theory of operation: the panel form and the JSON API hand the same mapping
to :func:`parse_queue` / :func:`parse_break` (form values are strings, JSON
values are numbers or null; both are accepted). Every problem is collected as
a :class:`FieldError` naming the field, so the form shows each one next to its
input and the API returns them all in ``details.errors``. Everything is looked
up inside the caller's tenant: an overflow queue or a member of another tenant
is simply unknown. The caller commits and then asks the daemon to reload.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from controlplane.admin import references
from controlplane.models import User
from controlplane.models.acd import (
    BREAK_KINDS,
    NO_AGENTS,
    RECORDING,
    STRATEGIES,
    AgentBreakReason,
    Queue,
    QueueMember,
)
from web.errors import FieldError, InvalidForm

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MOH = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
BREAK_CODE = re.compile(r"^\d{1,8}$")  # a desk phone dials *52<code>
SKILL_PREFERENCES = ("closest", "highest")
MAX_INT = 2**31 - 1  # PostgreSQL integer (ids, counts)
MAX_NUMBER = 1e9


class OutOfRange(ValueError):
    """A number the database cannot hold (or no queue setting could mean)."""


# (field, kind, default); kind: text | choice | number | int. The rules follow the table.
QUEUE_FIELDS: tuple[tuple[str, str, Any], ...] = (
    ("name", "text", ""),
    ("strategy", "choice", "longest_idle"),
    ("ring_timeout_s", "number", 20.0),
    ("wrap_up_s", "number", 0.0),
    ("max_wait_s", "number", None),
    ("max_waiting", "int", None),
    ("overflow_queue_id", "int", None),
    ("no_agents", "choice", "wait"),
    ("announce_every_s", "number", 30.0),
    ("recording", "choice", "always"),
    ("sl_threshold_s", "number", 20.0),
    ("sticky_wait_s", "number", 0.0),
    ("sticky_max_age_s", "number", None),
    ("skill_preference", "choice", "closest"),
    ("aging_rate_per_s", "number", 0.0),
    ("aging_max_bonus", "number", None),
    ("serve_order", "int", 0),
    ("moh_class", "text", "default"),
)
CHOICES = {
    "strategy": STRATEGIES,
    "no_agents": NO_AGENTS,
    "recording": RECORDING,
    "skill_preference": SKILL_PREFERENCES,
}
OPTIONAL = {
    "max_wait_s",
    "max_waiting",
    "overflow_queue_id",
    "announce_every_s",
    "sticky_max_age_s",
    "aging_max_bonus",
}
POSITIVE = {"ring_timeout_s", "sl_threshold_s", "sticky_max_age_s"}  # > 0
AT_LEAST_ONE = {"max_waiting"}  # 0 waiting calls would overflow every caller


def queue_defaults() -> dict[str, Any]:
    return {name: default for name, _, default in QUEUE_FIELDS}


def queue_values(q: Queue) -> dict[str, Any]:
    return {name: getattr(q, name) for name, _, _ in QUEUE_FIELDS}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number(value: Any, integer: bool) -> float | int:
    """A form string or JSON number as a finite number within the storage's range."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int | float):
        number: float | int = value
    else:
        number = float(str(value).strip())
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError
    if abs(number) > (MAX_INT if integer else MAX_NUMBER):
        raise OutOfRange
    if integer:
        if float(number) != int(number):
            raise ValueError
        return int(number)
    return float(number)


def _parse_field(name: str, kind: str, value: Any, errors: list[FieldError]) -> Any:
    if kind in ("text", "choice"):
        text = "" if value is None else str(value).strip()
        if kind == "choice" and text not in CHOICES[name]:
            errors.append(FieldError(name, f"must be one of {', '.join(CHOICES[name])}"))
        return text
    if _blank(value):
        if name in OPTIONAL:
            return None
        errors.append(FieldError(name, "required"))
        return None
    try:
        number = _number(value, kind == "int")
    except OutOfRange:
        limit = MAX_INT if kind == "int" else f"{MAX_NUMBER:.0e}"
        errors.append(FieldError(name, f"must be between -{limit} and {limit}"))
        return None
    except (ValueError, TypeError, OverflowError):
        errors.append(
            FieldError(name, "must be a whole number" if kind == "int" else "must be a number")
        )
        return None
    if name in POSITIVE and number <= 0:
        errors.append(FieldError(name, "must be greater than 0"))
    elif name in AT_LEAST_ONE and number < 1:
        errors.append(FieldError(name, "must be at least 1 (or empty for no limit)"))
    elif name not in ("serve_order", "overflow_queue_id") and number < 0:
        errors.append(FieldError(name, "must be 0 or more"))
    return number


def parse_members(raw: Any, errors: list[FieldError]) -> list[tuple[int, int]]:
    """``[{"user_id": 7, "penalty": 0}, …]`` → [(user id, penalty)]; errors name the member."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors.append(FieldError("members", "must be a list of {user_id, penalty}"))
        return []
    out: list[tuple[int, int]] = []
    for n, item in enumerate(raw):
        if not isinstance(item, Mapping):
            errors.append(FieldError(f"members[{n}]", "must be an object {user_id, penalty}"))
            continue
        try:
            uid = _number(item.get("user_id"), True)
        except (ValueError, TypeError):
            errors.append(FieldError(f"members[{n}].user_id", "must be a user id"))
            continue
        penalty: Any = item.get("penalty", 0)
        try:
            penalty = 0 if _blank(penalty) else _number(penalty, True)
            if penalty < 0:
                raise ValueError
        except (ValueError, TypeError):
            errors.append(
                FieldError(f"members.{uid}.penalty", f"must be a whole number from 0 to {MAX_INT}")
            )
            continue
        out.append((int(uid), int(penalty)))
    return out


def form_members(form: Mapping[str, str], candidates: list[int]) -> list[dict[str, Any]]:
    """The member table of the HTML form (``member_<id>`` ticked, ``penalty_<id>``)."""
    return [
        {"user_id": uid, "penalty": form.get(f"penalty_{uid}", "0")}
        for uid in candidates
        if form.get(f"member_{uid}")
    ]


def parse_queue(
    s: Session, tenant_id: int, data: Mapping[str, Any], queue_id: int | None
) -> tuple[dict[str, Any], list[tuple[int, int]]]:
    """Validate a whole queue (``queue_id``: the one being edited, None for a new one).

    A field missing from ``data`` takes its default; to change only some fields,
    pass the current values overlaid with the changes. Raises :class:`InvalidForm`.
    """
    errors: list[FieldError] = []
    values = {}
    for name, kind, default in QUEUE_FIELDS:
        values[name] = _parse_field(name, kind, data.get(name, default), errors)
    name = values["name"]
    if not NAME.fullmatch(name or ""):
        errors.append(
            FieldError(
                "name", "1–64 letters, digits, '_', '.' or '-', starting with a letter or digit"
            )
        )
    else:
        clash = s.scalar(select(Queue.id).where(Queue.tenant_id == tenant_id, Queue.name == name))
        if clash is not None and clash != queue_id:
            errors.append(FieldError("name", f"a queue named {name!r} already exists"))
    if not MOH.fullmatch(values["moh_class"] or ""):
        errors.append(FieldError("moh_class", "1–80 letters, digits, '_' or '-'"))
    overflow = values["overflow_queue_id"]
    if overflow is not None:
        target = s.scalar(
            select(Queue.id).where(Queue.tenant_id == tenant_id, Queue.id == overflow)
        )
        if target is None:
            errors.append(FieldError("overflow_queue_id", "no such queue in this tenant"))
        elif target == queue_id:
            errors.append(FieldError("overflow_queue_id", "a queue cannot overflow to itself"))
    if values["no_agents"] == "overflow" and overflow is None:
        errors.append(FieldError("no_agents", "'overflow' needs an overflow queue"))
    if values["announce_every_s"] == 0:
        values["announce_every_s"] = None  # 0 in the form means "no announcements"
    members = parse_members(data.get("members"), errors)
    seen: set[int] = set()
    tenant_users = set(s.scalars(select(User.id).where(User.tenant_id == tenant_id)))
    for uid, _ in members:
        if uid not in tenant_users:
            errors.append(FieldError(f"members.{uid}", "no such user in this tenant"))
        elif uid in seen:
            errors.append(FieldError(f"members.{uid}", "listed twice"))
        seen.add(uid)
    if errors:
        raise InvalidForm(errors)
    return values, members


def save_queue(
    s: Session,
    tenant_id: int,
    queue: Queue | None,
    values: dict[str, Any],
    members: list[tuple[int, int]],
) -> Queue:
    """Create (``queue`` None) or update a queue and make its members exactly ``members``."""
    if queue is None:
        queue = Queue(tenant_id=tenant_id)
        s.add(queue)
    for name, value in values.items():
        setattr(queue, name, value)
    s.flush()
    wanted = dict(members)
    for m in s.scalars(select(QueueMember).where(QueueMember.queue_id == queue.id)):
        if m.user_id in wanted:
            m.penalty = wanted.pop(m.user_id)
        else:
            s.delete(m)
    s.flush()
    for uid, penalty in wanted.items():
        s.add(QueueMember(queue_id=queue.id, user_id=uid, penalty=penalty))
    s.flush()
    return queue


def delete_queue(s: Session, queue: Queue) -> None:
    """Delete a queue: its members go with it; queues overflowing to it overflow nowhere.
    A queue a published IVR flow or a DID sends callers to is not deleted (409 naming them)."""
    references.refuse_if_used(s, queue.tenant_id, "queue", queue.name)
    references.refuse_if_did_routes_to(s, queue.tenant_id, queue.id, queue.name)
    s.execute(
        update(Queue).where(Queue.overflow_queue_id == queue.id).values(overflow_queue_id=None)
    )
    s.execute(delete(QueueMember).where(QueueMember.queue_id == queue.id))
    s.delete(queue)
    s.flush()


def members_of(s: Session, queue_id: int) -> dict[int, int]:
    """user id → penalty."""
    rows = s.scalars(select(QueueMember).where(QueueMember.queue_id == queue_id))
    return {m.user_id: m.penalty for m in rows}


def queue_json(s: Session, q: Queue) -> dict[str, Any]:
    members = sorted(members_of(s, q.id).items(), key=lambda m: (m[1], m[0]))
    return {
        "id": q.id,
        **queue_values(q),
        "members": [{"user_id": uid, "penalty": p} for uid, p in members],
    }


def parse_break(s: Session, tenant_id: int, data: Mapping[str, Any]) -> AgentBreakReason:
    """Validate a new break reason; raises :class:`InvalidForm`."""
    errors: list[FieldError] = []
    code = str(data.get("code") or "").strip()
    label = str(data.get("label") or "").strip()
    kind = str(data.get("kind") or "free").strip()
    if not BREAK_CODE.fullmatch(code):
        errors.append(FieldError("code", "1–8 digits (agents dial *52 and the code)"))
    elif s.scalar(
        select(AgentBreakReason.id).where(
            AgentBreakReason.tenant_id == tenant_id, AgentBreakReason.code == code
        )
    ):
        errors.append(FieldError("code", f"break reason {code} already exists"))
    if len(label) > 100:
        errors.append(FieldError("label", "at most 100 characters"))
    if kind not in BREAK_KINDS:
        errors.append(FieldError("kind", f"must be one of {', '.join(BREAK_KINDS)}"))
    raw_cap = data.get("max_on_break")
    cap: int | None = None
    if kind == "conditional":
        try:
            cap = int(_number(raw_cap, True)) if not _blank(raw_cap) else None
        except (ValueError, TypeError):
            cap = -1
        if cap is None or cap < 1:
            errors.append(
                FieldError(
                    "max_on_break",
                    "a conditional break needs a whole number ≥ 1 of agents allowed on it at once",
                )
            )
    elif not _blank(raw_cap):
        errors.append(FieldError("max_on_break", "only a conditional break has a limit"))
    if errors:
        raise InvalidForm(errors)
    return AgentBreakReason(
        tenant_id=tenant_id, code=code, label=label, kind=kind, max_on_break=cap
    )


def break_json(b: AgentBreakReason) -> dict[str, Any]:
    return {
        "id": b.id,
        "code": b.code,
        "label": b.label,
        "kind": b.kind,
        "max_on_break": b.max_on_break,
    }
