"""One timeline of a contact across campaigns, newest first.

Eight sources, each read for the contact's tenant only:

* ``campaign_record``: the contact entered a campaign (campaign name, record state);
* ``attempt``: a dial attempt of one of its records (outcome, disposition and its label,
  agent, number; the call record id when the call was recorded);
* ``call``: a call record whose caller or callee is one of its numbers (in and out),
  other than the campaign calls already listed as attempts;
* ``recontact``: a call-back scheduled for one of its records (due time, status, note);
* ``hlr``: an HLR look-up of one of its numbers;
* ``ticket``: a ticket of the contact (by ``contact_id``, or requested from one of its
  numbers or its e-mail address) -- number, subject, status, the channel it began on;
* ``message``: an e-mail or SMS in or out on one of those tickets (chat lines are not
  listed one by one: the chat is);
* ``chat``: a chat of the contact (by ``contact_id``, the visitor's e-mail or number),
  its status, agent, length and ticket.

Each event is a plain dict with ``kind``, ``at`` (aware UTC datetime) and its fields;
:mod:`controlplane.contacts.http` turns them into JSON and human labels. ``limit`` caps
each source, so a contact with years of calls still answers quickly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
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
from controlplane.models.chat import Chat
from controlplane.models.desktop import CallDisposition, CallWrapup
from controlplane.models.tickets import Ticket, TicketMessage

LIMIT = 200
SNIPPET = 160  # characters of an e-mail or SMS shown on the timeline


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
    out.extend(_desk(s, contact, numbers, limit))
    out.sort(key=lambda e: e["at"], reverse=True)
    return out


def _desk(s: Session, contact: Contact, numbers: list[str], limit: int) -> list[dict[str, Any]]:
    """The contact's tickets, their e-mails and SMS, and its chats."""
    tid, email = contact.tenant_id, contact.email.strip().lower()
    mine = [Ticket.contact_id == contact.id]
    if numbers:
        mine.append(Ticket.requester.in_(numbers))
    if email:
        mine.append(func.lower(Ticket.requester) == email)
    tickets = list(s.scalars(select(Ticket).where(Ticket.tenant_id == tid, or_(*mine))
                             .order_by(Ticket.created_at.desc()).limit(limit)))
    out: list[dict[str, Any]] = [
        {"kind": "ticket", "at": t.created_at, "ticket_id": t.id, "number": t.number,
         "subject": t.subject, "status": t.status, "channel": t.channel,
         "merged_into_id": t.merged_into_id} for t in tickets]
    by_id = {t.id: t for t in tickets}
    if by_id:
        for m in s.scalars(select(TicketMessage).where(
                TicketMessage.tenant_id == tid, TicketMessage.ticket_id.in_(list(by_id)),
                TicketMessage.channel.in_(("email", "sms")),
                TicketMessage.direction.in_(("in", "out")))
                .order_by(TicketMessage.created_at.desc()).limit(limit)):
            body = " ".join(m.body.split())
            out.append({"kind": "message", "at": m.created_at, "ticket_id": m.ticket_id,
                        "ticket_number": by_id[m.ticket_id].number, "channel": m.channel,
                        "direction": m.direction, "sender": m.sender,
                        "text": body[:SNIPPET] + ("…" if len(body) > SNIPPET else "")})
    whose = [Chat.contact_id == contact.id]
    if numbers:
        whose.append(Chat.visitor_phone.in_(numbers))
    if email:
        whose.append(func.lower(Chat.visitor_email) == email)
    chats = list(s.scalars(select(Chat).where(Chat.tenant_id == tid, or_(*whose))
                           .order_by(Chat.created_at.desc()).limit(limit)))
    agents = _names(s, tid, {c.agent_user_id for c in chats if c.agent_user_id})
    ticket_numbers = dict(s.execute(select(Ticket.id, Ticket.number).where(
        Ticket.tenant_id == tid, Ticket.id.in_([c.ticket_id for c in chats if c.ticket_id])
    )).all()) if any(c.ticket_id for c in chats) else {}
    for c in chats:
        length = ((c.ended_at - c.answered_at).total_seconds()
                  if c.ended_at and c.answered_at else None)
        out.append({"kind": "chat", "at": c.created_at, "chat_id": c.id, "status": c.status,
                    "agent": agents.get(c.agent_user_id) if c.agent_user_id else None,
                    "duration_s": round(length) if length is not None else None,
                    "ticket_id": c.ticket_id,
                    "ticket_number": ticket_numbers.get(c.ticket_id) if c.ticket_id else None,
                    "survey_score": c.survey_score})
    return out


def to_json(event: dict[str, Any]) -> dict[str, Any]:
    """An event with its times as ISO 8601 strings."""
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in event.items()}
