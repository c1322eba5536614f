"""Dispositions in the database: a campaign's classifiers, and an agent disposing an attempt.

:func:`dispose` is the campaign service around the pure
:func:`controlplane.dialer.dispositions.apply_disposition`: it finds the attempt (in the
tenant), checks who may dispose it (the agent on the row, or a supervisor), looks the code
up (the campaign's own disposition wins over a tenant-wide one of the same code), runs the
pure function and writes what it returns:

* the record's state, due time and owner; a ``recontact`` goes through
  :func:`controlplane.campaigns.recontacts.schedule_recontact` (a ``Recontact`` row,
  private to the agent who handled the call when the disposition says so, its reminder
  5 min before, the agent's note on it); scheduled recontacts of the record that were
  just carried out are marked ``done`` first;
* ``move``: the contact is put into the target campaign (``store.attach``: a contact
  already there keeps its record);
* the attempt's ``disposition_code`` (the ``success`` flag is the disposition's, reported
  by code).

Like the store, nothing here commits: the caller owns the transaction. Errors say which
field: :class:`InvalidField` (400), :class:`NotYours` (403), ``NotFound`` (404),
``Conflict`` (409).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from controlplane.campaigns import recontacts, store
from controlplane.campaigns.exceptions import Conflict, NotFound
from controlplane.campaigns.exceptions import InvalidField as InvalidField
from controlplane.campaigns.exceptions import NotYours as NotYours
from controlplane.dialer import dispositions as pure
from controlplane.dialer import store as dialer_store
from controlplane.dialer.records import DialerRecordsError, RecordState
from controlplane.models.campaigns import (
    DISPOSITION_ACTIONS,
    Campaign,
    CampaignRecord,
    Contact,
    ContactPhone,
    DialAttempt,
    Disposition,
    Recontact,
)
from controlplane.webhooks import outbox as webhook_outbox

CODE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
FIELDS = ("code", "label", "success", "action", "action_delay_s", "recontact_private",
          "action_campaign_id")


# ---- the campaign's classifiers (admin CRUD) ----

def _campaign(s: Session, tenant: int, campaign_id: int) -> Campaign:
    c = s.get(Campaign, campaign_id)
    if c is None or c.tenant_id != tenant:
        raise NotFound(f"no campaign #{campaign_id} in this tenant")
    return c


def list_dispositions(s: Session, tenant: int, campaign_id: int) -> list[Disposition]:
    """The codes an agent may pick in the campaign: its own, and the tenant-wide ones
    whose code it does not define itself; by code."""
    _campaign(s, tenant, campaign_id)
    found = s.scalars(select(Disposition).where(
        Disposition.tenant_id == tenant,
        or_(Disposition.campaign_id == campaign_id, Disposition.campaign_id.is_(None)))).all()
    by_code: dict[str, Disposition] = {}
    for d in sorted(found, key=lambda d: d.campaign_id is not None):  # campaign's last: wins
        by_code[d.code] = d
    return [by_code[k] for k in sorted(by_code)]


def to_json(d: Disposition) -> dict[str, Any]:
    """A disposition row as JSON-ready fields."""
    return {"id": d.id, "campaign_id": d.campaign_id, **{f: getattr(d, f) for f in FIELDS}}


def _check(s: Session, tenant: int, campaign_id: int, d: Disposition) -> None:
    """Validate a row as it would be stored; raises :class:`InvalidField`."""
    if not isinstance(d.code, str) or not CODE.match(d.code):
        raise InvalidField("code", "1-32 of A-Z a-z 0-9 _ . -")
    if not isinstance(d.label, str) or len(d.label) > 100:
        raise InvalidField("label", "a text of at most 100 characters")
    for flag in ("success", "recontact_private"):
        if not isinstance(getattr(d, flag), bool):
            raise InvalidField(flag, "true or false")
    if d.action not in DISPOSITION_ACTIONS:
        raise InvalidField("action", f"one of {', '.join(DISPOSITION_ACTIONS)}")
    delay = d.action_delay_s
    if delay is not None and (isinstance(delay, bool) or not isinstance(delay, int) or delay <= 0):
        raise InvalidField("action_delay_s", "a whole number of seconds > 0, or null")
    if delay is not None and d.action != "recontact":
        raise InvalidField("action_delay_s", "only a recontact has a delay")
    target = d.action_campaign_id
    if d.action == "move":
        if isinstance(target, bool) or not isinstance(target, int):
            raise InvalidField("action_campaign_id", "a move needs the target campaign's id")
        found = s.get(Campaign, target)
        if found is None or found.tenant_id != tenant:
            raise InvalidField("action_campaign_id", f"no campaign #{target} in this tenant")
        if target == campaign_id:
            raise InvalidField("action_campaign_id", "a move goes to another campaign")
    elif target is not None:
        raise InvalidField("action_campaign_id", "only a move has a target campaign")
    clash = s.scalar(select(Disposition.id).where(
        Disposition.tenant_id == tenant, Disposition.campaign_id == campaign_id,
        Disposition.code == d.code, Disposition.id != (d.id or -1)))
    if clash is not None:
        raise Conflict(f"code: {d.code!r} already exists in this campaign")


def save_disposition(s: Session, tenant: int, campaign_id: int, fields: dict[str, Any],
                     disposition_id: int | None = None) -> Disposition:
    """Create (no ``disposition_id``) or change a disposition of the campaign from the
    given ``fields`` (others keep their value or the table's default)."""
    _campaign(s, tenant, campaign_id)
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise InvalidField(unknown[0], f"unknown field (known: {', '.join(FIELDS)})")
    if disposition_id is None:
        if "code" not in fields:
            raise InvalidField("code", "required")
        row = Disposition(tenant_id=tenant, campaign_id=campaign_id, label="", success=False,
                          action="none", action_delay_s=None, recontact_private=True,
                          action_campaign_id=None)
    else:
        row = _own(s, tenant, campaign_id, disposition_id)
    for name, value in fields.items():
        setattr(row, name, value)
    with s.no_autoflush:
        _check(s, tenant, campaign_id, row)
    s.add(row)
    s.flush()
    return row


def _own(s: Session, tenant: int, campaign_id: int, disposition_id: int) -> Disposition:
    row = s.get(Disposition, disposition_id)
    if row is None or row.tenant_id != tenant or row.campaign_id != campaign_id:
        raise NotFound(f"no disposition #{disposition_id} in campaign #{campaign_id}")
    return row


def delete_disposition(s: Session, tenant: int, campaign_id: int, disposition_id: int) -> None:
    """Delete a disposition of the campaign (attempts keep the code they were given)."""
    s.delete(_own(s, tenant, campaign_id, disposition_id))
    s.flush()


def as_pure(d: Disposition) -> pure.Disposition:
    """The row as the pure dispositions module sees it."""
    follow = pure.FollowUp(d.action)
    recontact = (pure.Recontact(private=d.recontact_private,
                                after_s=float(d.action_delay_s) if d.action_delay_s else None)
                 if follow is pure.FollowUp.RECONTACT else None)
    return pure.Disposition(d.code, d.label, d.success, follow, recontact,
                            d.action_campaign_id if follow is pure.FollowUp.MOVE else None)


# ---- an agent disposes an attempt ----

def attempt_for(s: Session, tenant: int, attempt_id: int, user_id: int,
                supervisor: bool) -> DialAttempt:
    """The attempt if ``user_id`` may dispose it: 404 in another tenant, 403 another's."""
    a = s.get(DialAttempt, attempt_id)
    if a is None or a.tenant_id != tenant:
        raise NotFound(f"no attempt #{attempt_id} in this tenant")
    if a.agent_user_id != user_id and not supervisor:
        raise NotYours(f"attempt #{attempt_id} was handled by another agent")
    return a


def dispose(s: Session, tenant: int, attempt_id: int, user_id: int, *, supervisor: bool,
            code: Any, recontact_at: datetime | None, note: str, now: datetime) -> dict[str, Any]:
    """Apply disposition ``code`` to the attempt (module docstring); returns what it did."""
    a = attempt_for(s, tenant, attempt_id, user_id, supervisor)
    if a.outcome is None:
        raise Conflict(f"attempt #{attempt_id} is still in progress: dispose it after the call")
    if a.disposition_code is not None:
        raise Conflict(f"attempt #{attempt_id} already has disposition {a.disposition_code!r}")
    record = s.get(CampaignRecord, a.record_id)
    assert record is not None  # the foreign key has no ON DELETE
    if record.state == "in_progress":
        raise Conflict(f"record #{record.id} is being dialled again; dispose after that call")
    known = {d.code: d for d in list_dispositions(s, tenant, a.campaign_id)}
    if not isinstance(code, str) or code not in known:
        raise InvalidField("code", f"unknown code {code!r} (known: {', '.join(known) or 'none'})")
    row = known[code]
    if recontact_at is not None and recontact_at.tzinfo is None:
        raise InvalidField("recontact_at", "give a time zone (e.g. 2026-03-01T10:00:00+01:00)")
    if recontact_at is not None and row.action != "recontact":
        raise InvalidField("recontact_at", f"disposition {code!r} does not recontact")
    if recontact_at is not None and recontact_at <= now:
        raise InvalidField("recontact_at", f"{recontact_at.isoformat()} is not in the future")
    if row.action == "recontact" and recontact_at is None and not row.action_delay_s:
        raise InvalidField("recontact_at", f"required: disposition {code!r} asks the agent when")
    if not isinstance(note, str) or len(note) > 500:
        raise InvalidField("note", "a text of at most 500 characters")
    campaign = s.get(Campaign, a.campaign_id)
    phone = s.get(ContactPhone, record.phone_id)
    contact = s.get(Contact, record.contact_id)
    assert campaign is not None and phone is not None and contact is not None
    agent = a.agent_user_id or user_id  # a private recontact is the handling agent's
    try:
        result = pure.apply_disposition(
            dialer_store.record_of(record, phone, contact, campaign.default_timezone), as_pure(row),
            agent=str(agent), now=now.timestamp(),
            recontact_at=recontact_at.timestamp() if recontact_at else None)
    except DialerRecordsError as err:
        raise InvalidField("code", str(err)) from err
    s.execute(update(Recontact).where(Recontact.record_id == record.id,
                                      Recontact.status == "scheduled").values(status="done")
              .execution_options(synchronize_session="fetch"))
    out: dict[str, Any] = {"attempt_id": a.id, "code": code, "success": result.success,
                           "recontact_id": None, "due_at": None, "moved_to": None}
    up = result.update
    if up.state is RecordState.SCHEDULED:
        assert up.next_due_at is not None
        due = recontact_at or datetime.fromtimestamp(up.next_due_at, UTC)  # exact when given
        remind = next((c for c in result.commands if isinstance(c, pure.RemindAgent)), None)
        lead = timedelta(seconds=remind.due_at - remind.at) if remind else None
        rc = recontacts.schedule_recontact(
            s, tenant, record.id, due, user_id=int(up.assigned_user) if up.assigned_user else None,
            reminder_at=due - lead if lead is not None else None, note=note, created_by=user_id)
        out.update(recontact_id=rc.id, due_at=due.isoformat())
    else:
        record.state, record.next_due_at = up.state.value, None
    for cmd in result.commands:
        if isinstance(cmd, pure.MoveToCampaign):
            target = _campaign(s, tenant, cmd.campaign_id)
            moved, created = store.attach(s, target, contact, phone)
            out["moved_to"] = {"campaign_id": target.id, "record_id": moved.id,
                               "created": created}
    a.disposition_code = code
    out["record_state"] = record.state
    # webhooks: the same change, in the same transaction (the outbox)
    webhook_outbox.emit(s, "disposition.set", tenant, {
        "attempt_id": a.id, "campaign_id": a.campaign_id, "record_id": record.id,
        "call_id": a.call_id, "code": code, "success": result.success, "by_user_id": user_id,
        "recontact_at": out["due_at"], "record_state": record.state}, key=(a.id,))
    s.flush()
    return out


def pending(s: Session, tenant: int, user_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """The agent's ended attempts that reached a person and have no disposition yet,
    newest first, with the codes they may pick."""
    found = s.execute(
        select(DialAttempt, Campaign.name)
        .join(Campaign, Campaign.id == DialAttempt.campaign_id)
        .where(DialAttempt.tenant_id == tenant, DialAttempt.agent_user_id == user_id,
               DialAttempt.outcome == "human", DialAttempt.disposition_code.is_(None))
        .order_by(DialAttempt.id.desc()).limit(limit)).all()
    codes: dict[int, list[dict[str, Any]]] = {}
    out = []
    for a, name in found:
        if a.campaign_id not in codes:
            codes[a.campaign_id] = [
                {"code": d.code, "label": d.label or d.code, "action": d.action,
                 "needs_time": d.action == "recontact" and not d.action_delay_s}
                for d in list_dispositions(s, tenant, a.campaign_id)]
        out.append({"attempt_id": a.id, "campaign_id": a.campaign_id, "campaign": name,
                    "number": a.number, "ended_at": a.ended_at.isoformat() if a.ended_at else None,
                    "dispositions": codes[a.campaign_id]})
    return out
