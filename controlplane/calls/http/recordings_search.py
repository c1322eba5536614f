"""The recordings app's search: one query for the page and ``/api/v1/recordings``.

A recording is a call record with a recording file, in the call records' scope
(:func:`controlplane.calls.http.records.scoped`: the tenant; an agent only calls on their
own phones). :class:`RecordingSearchQuery` is the filter's shape, shared by the page's form
and the API's query string; :func:`search` turns it into SQL:

* ``from``/``to``: a day ``YYYY-MM-DD`` is a day **in the tenant's time zone** (as the page
  shows times); an ISO datetime without an offset is read in that zone too;
* ``number``: part of the caller, the callee or the DID; a number that reads as one in the
  tenant's region (``600 100 200``, ``+48 600 100 200``, ``0048…``) also finds the records
  that hold it in E.164 or national form, as the contacts search does;
* ``agent`` (user id), ``queue`` (name), ``campaign`` (id) and ``disposition`` (code): the
  campaign and disposition come from the dialer's attempt log (``dial_attempt``, keyed by
  the call id);
* ``min_duration``/``max_duration``: seconds of recording (the call's when not verified);
* ``tag``: a tag's name (:mod:`controlplane.models.recording_tags`).

:func:`details` adds to a page of rows what the list shows beside the record: campaign,
disposition and tags, in three queries whatever the page size.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import Field
from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import Session

from controlplane.calls.http.records import RecordFilter, RecordPage, find_records
from controlplane.calls.http.schemas import RecordingsQuery
from controlplane.contacts.store import as_e164, region
from controlplane.models import CallRecord, PhoneEndpoint
from controlplane.models.campaigns import Campaign, DialAttempt, Disposition
from controlplane.models.recording_tags import TAG_MAX, RecordingTag, RecordingTagLink
from web.auth import CurrentUser
from web.errors import BadParameter
from web.schemas.common import ONE_LINE

MAX_DURATION_S = 7 * 24 * 3600
Seconds = Annotated[float, Field(ge=0, le=MAX_DURATION_S)]


class RecordingSearchQuery(RecordingsQuery):
    """``from``/``to``: a day ``YYYY-MM-DD`` or an ISO 8601 time, in the tenant's time zone
    unless it has an offset; ``number``: part of a caller, callee or DID, or a national or
    E.164 number; ``agent``: a user id; ``queue``: a queue's name; ``campaign``: a campaign
    id; ``disposition``: a disposition code; ``min_duration``/``max_duration``: seconds;
    ``tag``: a tag's name; then the page."""

    campaign: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    disposition: Annotated[str, Field(max_length=32), ONE_LINE] = ""
    min_duration: Seconds | None = None
    max_duration: Seconds | None = None
    tag: Annotated[str, Field(max_length=TAG_MAX), ONE_LINE] = ""


@dataclass
class Details:
    """What a listed recording shows beside its record."""

    campaign: str | None = None
    disposition: str | None = None
    tags: list[str] = field(default_factory=list)


def _zone(user: CurrentUser) -> ZoneInfo:
    try:
        return ZoneInfo(user.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _instant(name: str, raw: str, zone: ZoneInfo, *, end: bool) -> datetime:
    """A day (its start, or the next day's for ``end``) or a moment, in ``zone``, as UTC."""
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw) + timedelta(days=1 if end else 0)
            return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
        moment = datetime.fromisoformat(raw)
        return (moment.replace(tzinfo=zone) if moment.tzinfo is None else moment).astimezone(UTC)
    except ValueError:
        raise BadParameter(
            name, f"expected a date YYYY-MM-DD or an ISO 8601 datetime, got {raw[:40]!r}"
        ) from None
    except OverflowError:
        raise BadParameter(name, f"{raw[:40]!r} is outside the years 1-9999") from None


def _number(raw: str, tenant_region: str) -> ColumnElement[bool]:
    """Part of a number as typed, or the same number written as E.164 or nationally."""
    forms = {raw}
    e164 = as_e164(raw, tenant_region) if sum(ch.isdigit() for ch in raw) >= 3 else None
    if e164 is not None:
        national = str(phonenumbers.parse(e164).national_number)
        forms |= {e164, e164.lstrip("+"), national}
    return or_(*(col.contains(form, autoescape=True)
                 for form in sorted(forms)
                 for col in (CallRecord.caller, CallRecord.callee, CallRecord.did)))


def conditions(s: Session, user: CurrentUser, q: RecordingSearchQuery,
               ) -> tuple[RecordFilter, list[ColumnElement[bool]]]:
    """The page filter (dates, page) and the WHERE conditions of ``q`` for ``user``."""
    zone = _zone(user)
    since = until = None
    if raw := (q.from_ or "").strip():
        since = _instant("from", raw, zone, end=False)
    if raw := (q.to or "").strip():
        until = _instant("to", raw, zone, end=True)
    if since and until and since >= until:
        raise BadParameter("to", "must be after 'from'")
    if (q.min_duration is not None and q.max_duration is not None
            and q.min_duration > q.max_duration):
        raise BadParameter("max_duration", "must not be less than 'min_duration'")
    where: list[ColumnElement[bool]] = [CallRecord.recording_path.is_not(None),
                                        CallRecord.recording_path != ""]
    if number := q.number.strip():
        where.append(_number(number, region(s, user.tenant_id)))
    if q.agent is not None:
        phones = select(PhoneEndpoint.name).where(PhoneEndpoint.user_id == q.agent,
                                                  PhoneEndpoint.tenant_id == user.tenant_id)
        where.append(CallRecord.agent_endpoint.in_(phones))
    if queue := q.queue.strip():
        where.append(CallRecord.queue == queue)
    attempt = [DialAttempt.call_id == CallRecord.call_id,
               DialAttempt.tenant_id == user.tenant_id]
    if q.campaign is not None:
        where.append(exists().where(*attempt, DialAttempt.campaign_id == q.campaign))
    if code := q.disposition.strip():
        where.append(exists().where(*attempt, DialAttempt.disposition_code == code))
    length = func.coalesce(CallRecord.recording_duration_s, CallRecord.duration_s)
    if q.min_duration is not None:
        where.append(length >= q.min_duration)
    if q.max_duration is not None:
        where.append(length <= q.max_duration)
    if tag := q.tag.strip():
        where.append(exists().where(RecordingTagLink.record_id == CallRecord.id,
                                    RecordingTagLink.tag_id == RecordingTag.id,
                                    RecordingTag.tenant_id == user.tenant_id,
                                    RecordingTag.name == tag))
    return RecordFilter(since, until, "", q.page, q.per_page), where


def search(s: Session, user: CurrentUser, q: RecordingSearchQuery) -> RecordPage:
    """One page of the recordings ``user`` may see matching ``q``, newest first."""
    flt, where = conditions(s, user, q)
    return find_records(s, user, flt, *where)


def details(s: Session, tenant_id: int, records: list[CallRecord]) -> dict[int, Details]:
    """Campaign name, disposition (its label when the tenant has one) and tags, by record id."""
    out = {r.id: Details() for r in records}
    if not records:
        return out
    by_call = {r.call_id: r.id for r in records}
    attempts = s.execute(
        select(DialAttempt.call_id, Campaign.name, DialAttempt.disposition_code,
               DialAttempt.campaign_id)
        .join(Campaign, Campaign.id == DialAttempt.campaign_id)
        .where(DialAttempt.tenant_id == tenant_id, DialAttempt.call_id.in_(list(by_call))))
    codes: dict[tuple[int | None, str], str] = {}
    for d in s.scalars(select(Disposition).where(Disposition.tenant_id == tenant_id)):
        codes[(d.campaign_id, d.code)] = d.label or d.code
    for call_id, campaign, code, campaign_id in attempts:
        row = out[by_call[call_id]]
        row.campaign = campaign
        if code:
            row.disposition = codes.get((campaign_id, code)) or codes.get((None, code)) or code
    tags: dict[int, list[str]] = defaultdict(list)
    for record_id, name in s.execute(
            select(RecordingTagLink.record_id, RecordingTag.name)
            .join(RecordingTag, RecordingTag.id == RecordingTagLink.tag_id)
            .where(RecordingTag.tenant_id == tenant_id,
                   RecordingTagLink.record_id.in_(list(out)))
            .order_by(RecordingTag.name)):
        tags[record_id].append(name)
    for record_id, names in tags.items():
        out[record_id].tags = names
    return out


def tenant_tags(s: Session, tenant_id: int) -> list[str]:
    return list(s.scalars(select(RecordingTag.name).where(RecordingTag.tenant_id == tenant_id)
                          .order_by(RecordingTag.name)))

