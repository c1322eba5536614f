"""The admin room's rules: what a phone, a DID or an agent skill may be, and the changes.

Theory of operation: every write takes an open session (the caller's transaction), the
tenant and the values as a dict (from a form or a JSON body alike), checks every rule at
once (:class:`~controlplane.admin.exceptions.InvalidFields` lists each broken one with its
field), changes the rows and flushes. The caller then runs :func:`controlplane.admin.apply.check`
in the same transaction (a configuration Asterisk would refuse rolls everything back),
commits, and applies. SIP passwords are generated here (``secrets``), never chosen by a
client, and never logged.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.admin import store
from controlplane.admin.exceptions import FieldIssue, InUse, InvalidFields
from controlplane.models import Did, PhoneEndpoint, Trunk
from controlplane.models.acd import AgentSkill, Queue
from controlplane.models.ivr import IvrFlow
from controlplane.passwords import generate_sip_secret
from dialplan.checks import NAME_RE, normalise_number

EXTENSION_RE = re.compile(r"^[0-9]{2,10}$")
SKILL_RE = re.compile(r"^[\w .+-]{1,64}$")
TRANSPORTS = ("udp", "tcp")
# PJSIP contact states (AMI ContactStatus) → what the panel says.
REGISTERED = {"Reachable", "Created", "NonQualified", "Updated"}


def _text(values: dict[str, Any], key: str) -> str:
    value = values.get(key)
    return "" if value is None else str(value).strip()


def _int_or_none(values: dict[str, Any], key: str, issues: list[FieldIssue]) -> int | None:
    raw = values.get(key)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        issues.append(FieldIssue(key, _("must be a whole number")))
        return None


def tenant_slug(domain: str) -> str:
    """The first label of the tenant's domain, as a SIP name may hold it."""
    slug = re.sub(r"[^A-Za-z0-9-]", "-", domain.split(".")[0]).strip("-").lower()
    return slug or "t"


# ---- phones ----

def registration(status: str | None) -> str:
    """``registered``, ``unreachable`` or ``unregistered`` for a ContactStatus value."""
    if status in REGISTERED:
        return "registered"
    if status == "Unreachable":
        return "unreachable"
    return "unregistered"


def _free_name(s: Session, wanted: str) -> str:
    name = wanted
    while s.scalar(select(PhoneEndpoint.id).where(PhoneEndpoint.name == name)) is not None:
        name = f"{wanted}-{secrets.token_hex(2)}"
    return name


def save_phone(s: Session, tenant_id: int, tenant_domain: str, phone: PhoneEndpoint | None,
               values: dict[str, Any]) -> PhoneEndpoint:
    """Create (``phone`` None) or change a phone from ``values``; flushed, not committed."""
    issues: list[FieldIssue] = []
    extension = _text(values, "extension") if "extension" in values or phone is None else phone.extension
    if not EXTENSION_RE.match(extension):
        issues.append(FieldIssue("extension", _("2 to 10 digits")))
    elif s.scalar(select(PhoneEndpoint.id).where(
            PhoneEndpoint.tenant_id == tenant_id, PhoneEndpoint.extension == extension,
            PhoneEndpoint.id != (phone.id if phone else -1))) is not None:
        issues.append(FieldIssue("extension", _("extension %(ext)s is already a phone's", ext=extension)))
    name = _text(values, "name") if "name" in values else (phone.name if phone else "")
    if name:
        if not NAME_RE.match(name) or name.isdigit():
            issues.append(FieldIssue("name", _("letters, digits, '-', '_' or '.', not only "
                                       "digits, at most 64 characters")))
        elif s.scalar(select(PhoneEndpoint.id).where(
                PhoneEndpoint.name == name,
                PhoneEndpoint.id != (phone.id if phone else -1))) is not None:
            issues.append(FieldIssue("name", _("the SIP user %(name)s is taken", name=name)))
    transport = _text(values, "transport") or (phone.transport if phone else "udp")
    if transport not in TRANSPORTS:
        issues.append(FieldIssue("transport", _("udp or tcp")))
    user_id = (_int_or_none(values, "user_id", issues) if "user_id" in values
               else (phone.user_id if phone else None))
    if user_id is not None and store.user(s, tenant_id, user_id) is None:
        issues.append(FieldIssue("user_id", _("no user %(id)s in your tenant", id=user_id)))
    if issues:
        raise InvalidFields(issues)
    if phone is None:
        phone = PhoneEndpoint(tenant_id=tenant_id, secret=generate_sip_secret(),
                              name=name or _free_name(s, f"{tenant_slug(tenant_domain)}-{extension}"),
                              extension=extension)
        s.add(phone)
    elif name:
        phone.name = name
    phone.extension = extension
    phone.transport = transport
    phone.user_id = user_id
    s.flush()
    return phone


def regenerate_secret(phone: PhoneEndpoint) -> None:
    phone.secret = generate_sip_secret()


def delete_phone(s: Session, phone: PhoneEndpoint) -> None:
    """Delete ``phone``; InUse while a DID routes to it (its callers would meet nothing)."""
    used = store.dids_of_phone(s, phone.id)
    if used:
        raise InUse(f"phone {phone.extension} is the target of DID {', '.join(used)}: route "
                    "those elsewhere first", [f"DID {n}" for n in used])
    s.delete(phone)
    s.flush()


def phone_json(phone: PhoneEndpoint, login: str | None, contact: str | None,
               server: str) -> dict[str, Any]:
    """A phone as the API shows it; the SIP password only through the credentials route."""
    return {"id": phone.id, "name": phone.name, "extension": phone.extension,
            "transport": phone.transport, "user_id": phone.user_id, "user": login,
            "sip_uri": sip_uri(phone, server), "registration": registration(contact),
            "contact_status": contact}


def sip_uri(phone: PhoneEndpoint, server: str) -> str:
    return f"sip:{phone.name}@{server}" + (";transport=tcp" if phone.transport == "tcp" else "")


def credentials(phone: PhoneEndpoint, host: str, port: int) -> dict[str, Any]:
    """What a softphone needs; ``provisioning`` is the text of the QR code."""
    server = f"{host}:{port}"
    return {"username": phone.name, "password": phone.secret, "server": server,
            "transport": phone.transport, "sip_uri": sip_uri(phone, server),
            "provisioning": f"sip:{phone.name}:{phone.secret}@{server}"
                            + (";transport=tcp" if phone.transport == "tcp" else "")}


# ---- DIDs ----

def save_did(s: Session, tenant_id: int, did: Did | None, values: dict[str, Any]) -> Did:
    """Create or change a DID; it routes to exactly one of a phone, an IVR flow and a queue
    of the tenant."""
    issues: list[FieldIssue] = []
    merged = {"number": did.number if did else "", "phone_id": did.phone_endpoint_id if did else None,
              "flow_id": did.flow_id if did else None, "queue_id": did.queue_id if did else None,
              "trunk_id": did.trunk_id if did else None,
              "prompt": did.prompt if did else "sound:hello-world", **values}
    number = _text(merged, "number")
    digits = normalise_number(number)
    if not digits or len(digits) > 20:
        issues.append(FieldIssue("number", _("a phone number: digits, optionally '+' and spaces")))
    else:
        for other_id, other in s.execute(select(Did.id, Did.number)):
            if other_id != (did.id if did else -1) and normalise_number(other) == digits:
                issues.append(FieldIssue("number", _("%(number)s is already a DID", number=number)))
                break
    phone_id = _int_or_none(merged, "phone_id", issues)
    flow_id = _int_or_none(merged, "flow_id", issues)
    queue_id = _int_or_none(merged, "queue_id", issues)
    trunk_id = _int_or_none(merged, "trunk_id", issues)
    targets = [k for k, v in (("phone_id", phone_id), ("flow_id", flow_id),
                              ("queue_id", queue_id)) if v is not None]
    if len(targets) != 1:
        issues.append(FieldIssue(targets[-1] if targets else "phone_id",
                                 _("route the DID to exactly one target: a phone, a queue or "
                                   "an IVR flow")))
    if queue_id is not None and store.owned(s, Queue, tenant_id, queue_id) is None:
        issues.append(FieldIssue("queue_id", _("no queue %(id)s in your tenant", id=queue_id)))
    if phone_id is not None and store.owned(s, PhoneEndpoint, tenant_id, phone_id) is None:
        issues.append(FieldIssue("phone_id", _("no phone %(id)s in your tenant", id=phone_id)))
    if flow_id is not None and store.owned(s, IvrFlow, tenant_id, flow_id) is None:
        issues.append(FieldIssue("flow_id", _("no IVR flow %(id)s in your tenant", id=flow_id)))
    if trunk_id is not None and store.owned(s, Trunk, tenant_id, trunk_id) is None:
        issues.append(FieldIssue("trunk_id", _("no trunk %(id)s in your tenant", id=trunk_id)))
    prompt = _text(merged, "prompt") or "sound:hello-world"
    if not re.match(r"^(sound|recording):[\w/.-]{1,190}$", prompt):
        issues.append(FieldIssue("prompt", _("sound:<name> or recording:<name>")))
    if issues:
        raise InvalidFields(issues)
    if did is None:
        did = Did(tenant_id=tenant_id, number=number)
        s.add(did)
    did.number = number
    did.phone_endpoint_id, did.flow_id, did.trunk_id, did.prompt = phone_id, flow_id, trunk_id, prompt
    did.queue_id = queue_id
    s.flush()
    return did


def did_json(did: Did) -> dict[str, Any]:
    target = ("phone" if did.phone_endpoint_id else "flow" if did.flow_id
              else "queue" if did.queue_id else None)
    return {"id": did.id, "number": did.number, "target": target,
            "phone_id": did.phone_endpoint_id, "phone": did.phone.extension if did.phone else None,
            "flow_id": did.flow_id, "flow": did.flow.name if did.flow else None,
            "queue_id": did.queue_id, "queue": did.queue.name if did.queue else None,
            "trunk_id": did.trunk_id, "trunk": did.trunk.name if did.trunk else None,
            "prompt": did.prompt}


# ---- agent skills ----

def save_agent_skill(s: Session, tenant_id: int, row: AgentSkill | None,
                     values: dict[str, Any]) -> AgentSkill:
    issues: list[FieldIssue] = []
    user_id = (_int_or_none(values, "user_id", issues) if row is None or "user_id" in values
               else row.user_id)
    if user_id is None:
        issues.append(FieldIssue("user_id", _("required")))
    elif store.user(s, tenant_id, user_id) is None:
        issues.append(FieldIssue("user_id", _("no user %(id)s in your tenant", id=user_id)))
    skill = _text(values, "skill") if row is None or "skill" in values else row.skill
    if not SKILL_RE.match(skill):
        issues.append(FieldIssue("skill", _("1 to 64 letters, digits, spaces, '.', '+' or '-'")))
    level = _int_or_none(values, "level", issues) if "level" in values else (row.level if row else 1)
    if level is None or not 1 <= level <= 10:
        issues.append(FieldIssue("level", _("a whole number from 1 to 10")))
    if not issues and s.scalar(select(AgentSkill.id).where(
            AgentSkill.user_id == user_id, AgentSkill.skill == skill,
            AgentSkill.id != (row.id if row else -1))) is not None:
        issues.append(FieldIssue("skill", _("this agent has the skill %(skill)s already", skill=skill)))
    if issues:
        raise InvalidFields(issues)
    assert user_id is not None and level is not None
    if row is None:
        row = AgentSkill(user_id=user_id, skill=skill, level=level)
        s.add(row)
    row.user_id, row.skill, row.level = user_id, skill, level
    s.flush()
    return row


def agent_skill_json(row: AgentSkill, login: str) -> dict[str, Any]:
    return {"id": row.id, "user_id": row.user_id, "user": login, "skill": row.skill,
            "level": row.level}
