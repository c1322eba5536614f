"""The current interaction card: the agent's live call and everything known about its caller.

Theory of operation: the live-calls hash (:data:`controlplane.bus.LIVE_CALLS_KEY`, written by
the daemon's record writer) says which call rings or talks on one of the agent's phones
(``agent_endpoint``: set from the first offer while ringing, kept once answered). That part
is cheap (one HGETALL) and is what the SSE stream re-reads on every event. What the
database knows about the call -- its queue (the call record), the caller's contact and its
last history items, the campaign record of a campaign call, the wrap-up already given --
changes rarely during a call, so :func:`details` is read once per call id and cached by the
caller (:mod:`.http.stream`). IVR variables are read from the IVR position key while it
exists (the call state keeps no variables once the flow has ended).

Every read is for the agent's tenant only; the call must be on one of the agent's own
endpoints (an agent never sees another agent's call).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import phonenumbers
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.bus import IVR_POSITION_KEY, LIVE_CALLS_KEY, LiveCall
from controlplane.campaigns import dispositions as campaign_dispositions
from controlplane.contacts import history, store
from controlplane.models import (
    CallRecord,
    Campaign,
    CampaignRecord,
    Contact,
    ContactPhone,
    DialAttempt,
)
from controlplane.models.desktop import CallWrapup

log = logging.getLogger(__name__)

HISTORY_ITEMS = 5
# Phases in which the agent's phone has the call: offered (ringing) or connected.
RINGING_PHASES = ("queued", "dialing", "ringing", "prompt", "amd")
ENDED_PHASES = ("ending", "ended")


def own_call(client: redis.Redis, tenant_id: int, endpoints: list[str]) -> LiveCall | None:
    """The tenant's live call on one of ``endpoints``: the talking one first, else the
    newest offered one; None when the agent's phones are idle."""
    if not endpoints:
        return None
    raw: dict[str, str] = client.hgetall(LIVE_CALLS_KEY)  # type: ignore[assignment]
    mine = []
    for field, value in raw.items():
        try:
            call = LiveCall.from_json(value)
        except (ValueError, TypeError) as err:
            log.warning("skipping malformed live call %r: %s", field, err)
            continue
        if (call.tenant_id == tenant_id and call.agent_endpoint in endpoints
                and call.state not in ENDED_PHASES):
            mine.append(call)
    if not mine:
        return None
    mine.sort(key=lambda c: (c.answered_at is not None, c.started_at), reverse=True)
    return mine[0]


def national(number: str, region: str) -> str:
    """``+48221234567`` → ``22 123 45 67`` in the tenant's own country, the international
    form elsewhere; anything unreadable unchanged."""
    if not number:
        return ""
    try:
        parsed = phonenumbers.parse(number if number.startswith("+") or not number.isdigit()
                                    or len(number) < 10 else "+" + number, region)
    except phonenumbers.NumberParseException:
        return number
    if not phonenumbers.is_possible_number(parsed):
        return number
    fmt = (phonenumbers.PhoneNumberFormat.NATIONAL
           if phonenumbers.region_code_for_number(parsed) == region
           else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return str(phonenumbers.format_number(parsed, fmt))


def customer_number(call: LiveCall) -> str:
    """The customer's number: the caller of an inbound call, the called one of a campaign
    or outbound call."""
    return call.callee if call.direction in ("campaign", "outbound") else call.caller


def status_of(call: LiveCall) -> str:
    """``ringing`` (offered to the agent) or ``talking`` (connected)."""
    return "talking" if call.answered_at or call.state == "talking" else "ringing"


def _iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def live_part(call: LiveCall, region: str, now: datetime) -> dict[str, Any]:
    """What the live hash alone says (re-read on every event: cheap)."""
    started, answered = _iso(call.started_at), _iso(call.answered_at)
    number = customer_number(call)
    wait_end = answered or now
    return {
        "call_id": call.call_id,
        "direction": call.direction,
        "status": status_of(call),
        "number": number,
        "number_national": national(number, region),
        "did": call.did,
        "did_national": national(call.did, region) if call.did else None,
        "started_at": started.isoformat() if started else None,
        "answered_at": answered.isoformat() if answered else None,
        "wait_s": round((wait_end - started).total_seconds(), 1) if started else None,
        "consult": call.consult,  # an attended transfer under way: {"target", "answered"}
    }


def _contact_of(s: Session, tenant_id: int, number: str, region: str) -> Contact | None:
    e164 = store.as_e164(number, region) or (number if number.startswith("+") else None)
    if e164 is None and number.isdigit():
        e164 = "+" + number
    if e164 is None:
        return None
    return s.scalar(select(Contact).join(ContactPhone, ContactPhone.contact_id == Contact.id)
                    .where(ContactPhone.tenant_id == tenant_id, Contact.tenant_id == tenant_id,
                           ContactPhone.number == e164).limit(1))


def _campaign_fields(s: Session, tenant_id: int, call_id: str) -> dict[str, Any] | None:
    row = s.execute(select(DialAttempt, CampaignRecord, Campaign.name)
                    .join(CampaignRecord, CampaignRecord.id == DialAttempt.record_id)
                    .join(Campaign, Campaign.id == DialAttempt.campaign_id)
                    .where(DialAttempt.call_id == call_id,
                           DialAttempt.tenant_id == tenant_id)).first()
    if row is None:
        return None
    attempt, record, name = row
    codes = [{"code": d.code, "label": d.label or d.code}
             for d in campaign_dispositions.list_dispositions(s, tenant_id, attempt.campaign_id)]
    return {"dispositions": codes, "campaign_id": attempt.campaign_id, "campaign": name, "record_id": record.id,
            "attempt_id": attempt.id, "attempts": record.attempts, "state": record.state,
            "priority": record.priority, "last_outcome": record.last_outcome}


def ivr_variables(client: redis.Redis, call_id: str) -> dict[str, str]:
    """The call's IVR variables while its IVR position is kept (every frame's, the inner
    flow's winning); empty once the flow has ended or when unreadable."""
    raw = client.get(IVR_POSITION_KEY.format(call_id=call_id))
    if not raw:
        return {}
    try:
        frames = json.loads(raw).get("frames", [])
        out: dict[str, str] = {}
        for frame in frames:
            out.update({str(k): str(v) for k, v in (frame.get("variables") or {}).items()})
        return out
    except (ValueError, AttributeError, TypeError):
        return {}


def details(s: Session, tenant_id: int, call: LiveCall, region: str) -> dict[str, Any]:
    """What the database knows about the call and its caller (read once per call)."""
    number = customer_number(call)
    record = s.scalar(select(CallRecord).where(CallRecord.call_id == call.call_id,
                                               CallRecord.tenant_id == tenant_id))
    contact = _contact_of(s, tenant_id, number, region) if number else None
    contact_json = None
    if contact is not None:
        items = [history.to_json(e) for e in history.events(s, contact, limit=HISTORY_ITEMS)
                 if record is None or e.get("call_record_id") != record.id][:HISTORY_ITEMS]
        contact_json = {"id": contact.id, "name": store.display_name(contact),
                        "email": contact.email, "history": items}
    wrap = s.scalar(select(CallWrapup).where(CallWrapup.call_id == call.call_id,
                                             CallWrapup.tenant_id == tenant_id))
    return {
        "queue": record.queue if record else None,
        "call_record_id": record.id if record else None,
        "contact": contact_json,
        "campaign": _campaign_fields(s, tenant_id, call.call_id),
        "wrapup": wrapup_json(wrap) if wrap else None,
    }


def wrapup_json(w: CallWrapup) -> dict[str, Any]:
    return {"disposition": w.disposition_code, "note": w.note, "recontact_id": w.recontact_id,
            "updated_at": w.updated_at.isoformat() if w.updated_at else None}
