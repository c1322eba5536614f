"""Wrap-up of a call by its agent: a disposition (inbound calls too), a note, a recontact.

Theory of operation: one ``call_wrapup`` row per call (see :mod:`controlplane.models.desktop`
for why it is not on ``call_record``); wrapping up again replaces the disposition and note
(an agent may correct them until the next call). Whose call it is: the call record's
``agent_endpoint`` -- or, during the call, before the record writer flushed, the live
hash's -- must be one of the agent's own phones; a call of the tenant on another phone is
403, a call of another tenant or none at all 404.

* A campaign call (a ``dial_attempt`` with this call id) is disposed through the campaign
  path (:func:`controlplane.campaigns.dispositions.dispose`): its codes are the campaign's
  and the dialer acts on them (recontact, close, move). The wrap-up row keeps code and note.
* Any other call takes a code of the tenant's ``call_disposition`` list. A recontact
  (``recontact_at``) is a private call-back of the agent on the caller's newest campaign
  record (:func:`controlplane.campaigns.recontacts.schedule_recontact`): recontacts live
  on campaign records, so a caller with no contact in any campaign gets a clear 409.

Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.bus import LIVE_CALLS_KEY, LiveCall
from controlplane.campaigns import dispositions as campaign_dispositions
from controlplane.campaigns import recontacts
from controlplane.contacts import store as contacts
from controlplane.desktop.exceptions import CallNotFound, InvalidField, NoRecord, NotYourCall
from controlplane.desktop.interaction import wrapup_json
from controlplane.models import CallRecord, CampaignRecord, DialAttempt
from controlplane.models.campaigns import Campaign
from controlplane.models.desktop import NOTE_MAX, CallDisposition, CallWrapup

RECONTACT_NOTE_MAX = 500  # the recontact row's note column


@dataclass(frozen=True)
class WrapUp:
    disposition: str | None
    note: str
    recontact_at: datetime | None


@dataclass(frozen=True)
class CallFacts:
    call_id: str
    direction: str
    number: str  # the customer's
    ended: bool


def tenant_dispositions(s: Session, tenant_id: int) -> list[CallDisposition]:
    return list(s.scalars(select(CallDisposition)
                          .where(CallDisposition.tenant_id == tenant_id,
                                 CallDisposition.active.is_(True))
                          .order_by(CallDisposition.position, CallDisposition.code)))


def _live(client: redis.Redis | None, call_id: str) -> LiveCall | None:
    if client is None:
        return None
    raw = client.hget(LIVE_CALLS_KEY, call_id)
    try:
        return LiveCall.from_json(raw) if raw else None
    except (ValueError, TypeError):
        return None


def own_call(s: Session, client: redis.Redis | None, tenant_id: int, endpoints: list[str],
             call_id: str) -> CallFacts:
    """The call, after the ownership check of the module doc."""
    record = s.scalar(select(CallRecord).where(CallRecord.call_id == call_id,
                                               CallRecord.tenant_id == tenant_id))
    live = _live(client, call_id)
    if live is not None and live.tenant_id != tenant_id:
        live = None
    if record is None and live is None:
        raise CallNotFound(f"no call {call_id} in your tenant")
    endpoint = (live.agent_endpoint if live else None) or (record.agent_endpoint if record
                                                           else None)
    if endpoint not in endpoints:
        raise NotYourCall("this call was not on your phone")
    direction = live.direction if live else record.direction  # type: ignore[union-attr]
    caller = live.caller if live else record.caller  # type: ignore[union-attr]
    callee = live.callee if live else record.callee  # type: ignore[union-attr]
    number = callee if direction in ("campaign", "outbound") else caller
    ended = live is None and record is not None and record.ended_at is not None
    return CallFacts(call_id, direction, number, ended)


def _check(body: WrapUp, now: datetime) -> None:
    if len(body.note) > NOTE_MAX:
        raise InvalidField("note", f"a text of at most {NOTE_MAX} characters")
    if body.recontact_at is not None:
        if body.recontact_at.tzinfo is None:
            raise InvalidField("recontact_at", "give a time zone (e.g. 2026-03-01T10:00:00+01:00)")
        if body.recontact_at <= now:
            raise InvalidField("recontact_at", "must be in the future")
    if body.disposition is None and not body.note.strip() and body.recontact_at is None:
        raise InvalidField("disposition", "give a disposition, a note or a recontact time")


def _newest_record(s: Session, tenant_id: int, number: str) -> CampaignRecord | None:
    region = contacts.region(s, tenant_id)
    e164 = contacts.as_e164(number, region) or ("+" + number if number.isdigit() else number)
    owner = contacts.owners(s, tenant_id, [e164]).get(e164)
    if owner is None:
        return None
    return s.scalar(select(CampaignRecord)
                    .join(Campaign, Campaign.id == CampaignRecord.campaign_id)
                    .where(CampaignRecord.contact_id == owner.id,
                           CampaignRecord.tenant_id == tenant_id)
                    .order_by(CampaignRecord.updated_at.desc(), CampaignRecord.id.desc())
                    .limit(1))


def wrap_up(s: Session, client: redis.Redis | None, tenant_id: int, user_id: int,
            endpoints: list[str], call_id: str, body: WrapUp, now: datetime) -> dict[str, Any]:
    """Store the agent's wrap-up of ``call_id``; returns it (and what the campaign did)."""
    call = own_call(s, client, tenant_id, endpoints, call_id)
    _check(body, now)
    attempt = s.scalar(select(DialAttempt).where(DialAttempt.call_id == call_id,
                                                 DialAttempt.tenant_id == tenant_id))
    campaign_result = None
    recontact_id = None
    if attempt is not None and body.disposition is not None:
        campaign_result = campaign_dispositions.dispose(
            s, tenant_id, attempt.id, user_id, supervisor=False, code=body.disposition,
            recontact_at=body.recontact_at, note=body.note[:RECONTACT_NOTE_MAX], now=now)
    elif attempt is not None and body.recontact_at is not None:
        raise InvalidField("disposition", "a campaign call is recontacted by its disposition")
    else:
        if body.disposition is not None:
            known = [d.code for d in tenant_dispositions(s, tenant_id)]
            if body.disposition not in known:
                raise InvalidField("disposition", f"unknown code {body.disposition!r} "
                                   f"(known: {', '.join(known) or 'none'})")
        if body.recontact_at is not None:
            record = _newest_record(s, tenant_id, call.number)
            if record is None:
                raise NoRecord("the caller is in no campaign: a recontact needs a campaign "
                               "record (add the contact to a campaign first)")
            rc = recontacts.schedule_recontact(
                s, tenant_id, record.id, body.recontact_at, user_id=user_id,
                note=body.note[:RECONTACT_NOTE_MAX], created_by=user_id)
            recontact_id = rc.id
    row = s.scalar(select(CallWrapup).where(CallWrapup.call_id == call_id))
    if row is not None and row.tenant_id != tenant_id:  # call ids are platform-wide
        raise CallNotFound(f"no call {call_id} in your tenant")
    if row is None:
        row = CallWrapup(tenant_id=tenant_id, call_id=call_id, created_at=now)
        s.add(row)
    row.user_id, row.disposition_code, row.note = user_id, body.disposition, body.note
    row.updated_at = now
    if recontact_id is not None:
        row.recontact_id = recontact_id
    s.flush()
    out = {"call_id": call_id, "wrapup": wrapup_json(row)}
    if campaign_result is not None:
        out["campaign"] = campaign_result
    return out


def wrapups_by_call(s: Session, tenant_id: int, call_ids: list[str]) -> dict[str, CallWrapup]:
    """The wrap-ups of these calls (for the history and the call records)."""
    if not call_ids:
        return {}
    return {w.call_id: w for w in s.scalars(select(CallWrapup).where(
        CallWrapup.tenant_id == tenant_id, CallWrapup.call_id.in_(call_ids)))}
