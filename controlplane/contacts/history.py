"""One timeline of a contact across campaigns, newest first.

Five sources, each read for the contact's tenant only:

* ``campaign_record``: the contact entered a campaign (campaign name, record state);
* ``attempt``: a dial attempt of one of its records (outcome, disposition and its label,
  agent, number; the call record id when the call was recorded);
* ``call``: a call record whose caller or callee is one of its numbers (in and out),
  other than the campaign calls already listed as attempts;
* ``recontact``: a call-back scheduled for one of its records (due time, status, note);
* ``hlr``: an HLR look-up of one of its numbers.

Each event is a plain dict with ``kind``, ``at`` (aware UTC datetime) and its fields;
:mod:`controlplane.contacts.http` turns them into JSON and human labels. ``limit`` caps
each source, so a contact with years of calls still answers quickly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from controlplane.contacts import store
from controlplane.models import (
    CallRecord,
    Campaign,
    CampaignRecord,
    Contact,
    DialAttempt,
    Disposition,
    HlrResult,
    Recontact,
    User,
)
from controlplane.models.desktop import CallDisposition, CallWrapup

LIMIT = 200


def _names(s: Session, tenant_id: int, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = s.execute(select(User.id, User.display_name, User.login)
                     .where(User.tenant_id == tenant_id, User.id.in_(ids)))
    return {uid: name or login for uid, name, login in rows}


def _dispositions(s: Session, tenant_id: int) -> dict[tuple[int | None, str], str]:
    return {(d.campaign_id, d.code): d.label or d.code for d in s.scalars(
        select(Disposition).where(Disposition.tenant_id == tenant_id))}


def events(s: Session, contact: Contact, limit: int = LIMIT) -> list[dict[str, Any]]:
    """The contact's timeline, newest first."""
    tid = contact.tenant_id
    out: list[dict[str, Any]] = []
    records = s.execute(select(CampaignRecord, Campaign.name)
                        .join(Campaign, Campaign.id == CampaignRecord.campaign_id)
                        .where(CampaignRecord.contact_id == contact.id,
                               CampaignRecord.tenant_id == tid)).all()
    campaign_of = {r.id: (r.campaign_id, name) for r, name in records}
    for r, name in records:
        out.append({"kind": "campaign_record", "at": r.created_at, "record_id": r.id,
                    "campaign_id": r.campaign_id, "campaign": name, "state": r.state,
                    "attempts": r.attempts, "next_due_at": r.next_due_at})
    attempts = list(s.scalars(select(DialAttempt).where(
        DialAttempt.record_id.in_(list(campaign_of)), DialAttempt.tenant_id == tid)
        .order_by(DialAttempt.dial_at.desc()).limit(limit))) if campaign_of else []
    numbers = [p.number for p in store.phones(s, contact.id)]
    calls = list(s.scalars(select(CallRecord).where(
        CallRecord.tenant_id == tid,
        or_(CallRecord.caller.in_(numbers + [n.lstrip("+") for n in numbers]),
            CallRecord.callee.in_(numbers + [n.lstrip("+") for n in numbers]),
            CallRecord.call_id.in_([a.call_id for a in attempts if a.call_id])))
        .order_by(CallRecord.started_at.desc()).limit(limit))) if numbers or attempts else []
    by_call_id = {c.call_id: c for c in calls}
    labels = _dispositions(s, tid) if attempts else {}
    agents = _names(s, tid, {a.agent_user_id for a in attempts if a.agent_user_id})
    for a in attempts:
        campaign_id, name = campaign_of[a.record_id]
        call = by_call_id.get(a.call_id or "")
        code = a.disposition_code
        out.append({
            "kind": "attempt", "at": a.dial_at, "campaign_id": campaign_id, "campaign": name,
            "number": a.number, "outcome": a.outcome, "disposition": code,
            "disposition_label": (labels.get((campaign_id, code)) or labels.get((None, code))
                                  or code) if code else None,
            "agent": agents.get(a.agent_user_id) if a.agent_user_id else None,
            "call_record_id": call.id if call else None,
            "recording": bool(call and call.recording_path)})
    attempt_calls = {a.call_id for a in attempts if a.call_id}
    wraps = {w.call_id: w for w in s.scalars(select(CallWrapup).where(  # agents' wrap-ups
        CallWrapup.tenant_id == tid, CallWrapup.call_id.in_([c.call_id for c in calls])))}
    call_labels = {d.code: d.label or d.code for d in s.scalars(
        select(CallDisposition).where(CallDisposition.tenant_id == tid))} if wraps else {}
    for c in calls:
        if c.call_id in attempt_calls:
            continue
        w = wraps.get(c.call_id)
        code = w.disposition_code if w else None
        out.append({"kind": "call", "at": c.started_at, "call_record_id": c.id,
                    "direction": c.direction, "caller": c.caller, "callee": c.callee,
                    "answered": c.answered_at is not None, "duration_s": c.duration_s,
                    "recording": bool(c.recording_path), "disposition": code,
                    "disposition_label": call_labels.get(code, code) if code else None,
                    "note": w.note if w else None})
    if campaign_of:
        recontacts = list(s.scalars(select(Recontact).where(
            Recontact.record_id.in_(list(campaign_of)), Recontact.tenant_id == tid)
            .order_by(Recontact.due_at.desc()).limit(limit)))
        owners = _names(s, tid, {r.user_id for r in recontacts if r.user_id})
        for rc in recontacts:
            campaign_id, name = campaign_of[rc.record_id]
            out.append({"kind": "recontact", "at": rc.due_at, "campaign_id": campaign_id,
                        "campaign": name, "status": rc.status, "note": rc.note,
                        "agent": owners.get(rc.user_id) if rc.user_id else None})
    if numbers:
        for h in s.scalars(select(HlrResult).where(HlrResult.tenant_id == tid,
                                                   HlrResult.number.in_(numbers))
                           .order_by(HlrResult.checked_at.desc()).limit(limit)):
            out.append({"kind": "hlr", "at": h.checked_at, "number": h.number,
                        "status": h.status, "provider": h.provider, "detail": h.detail})
    out.sort(key=lambda e: e["at"], reverse=True)
    return out


def to_json(event: dict[str, Any]) -> dict[str, Any]:
    """An event with its times as ISO 8601 strings."""
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in event.items()}
