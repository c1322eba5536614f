"""The blacklist as people keep it: listed, added one by one or from a file, deleted.

Scopes: an entry is platform-wide (no tenant: kept by the platform operator, shown
read-only to every tenant), for all a tenant's campaigns (no campaign) or for one of its
campaigns. Here ``tenant`` is the tenant working on the list, or None for the platform
operator, who sees and changes only the platform-wide entries.

Patterns are typed as people write them and stored in E.164: an exact number is read by
:func:`controlplane.campaigns.numbers.normalise` in the campaign's region (or the tenant's
outbound-policy region, "PL" by default), so "600 100 200" and "+48 600 100 200" are the
same entry; a prefix may be national too ("600" in PL is "+48600"). The dialer reads the
same rows (:func:`controlplane.dialer.store.blacklists`), so an entry stops the next
selection; nothing has to be reloaded.

Bulk upload (:func:`parse_file`): CSV or one number per line; the first cell is the
number (``*`` at its end for a prefix), an optional second the reason; a header line and
blank or ``#`` lines are skipped. Each line is accepted or rejected with its line number
and reason; a file that is not UTF-8 text or is over the limits is refused whole, before
anything is written. Nothing here commits.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers
from sqlalchemy import ColumnElement, and_, insert, or_, select
from sqlalchemy.orm import Session

from controlplane.admin.store import Page, paged
from controlplane.campaigns import csv_rows, numbers
from controlplane.campaigns.exceptions import (
    CampaignError,
    Conflict,
    FileRejected,
    InvalidField,
    InvalidNumber,
    NotFound,
)
from controlplane.models.base import utcnow
from controlplane.models.campaigns import BlacklistEntry, Campaign
from controlplane.models.outbound import OutboundPolicy

DEFAULT_REGION = "PL"
REASON_MAX = 200
MAX_FILE_BYTES = 2 * 1024 * 1024  # synchronous in the request: ~40k lines, a few seconds
MAX_LINES = 50_000


class ReadOnly(CampaignError):
    """A platform-wide entry changed by a tenant (only the platform operator may)."""

    status = 403
    error_id = "read_only"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One pattern read from input: stored form, prefix or not, reason."""

    pattern: str
    is_prefix: bool
    reason: str


@dataclass(frozen=True, slots=True)
class Rejected:
    line: int
    text: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "text": self.text, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class UploadReport:
    """What a file did: lines ``added``, ``already`` listed (accepted, not added twice),
    and ``rejected`` ones with line and reason."""

    added: int
    already: int
    rejected: list[Rejected]

    def to_json(self) -> dict[str, Any]:
        return {"accepted": self.added + self.already, "added": self.added,
                "already_listed": self.already, "rejected_count": len(self.rejected),
                "rejected": [r.to_json() for r in self.rejected]}


# ---- reading patterns ----

def region_for(s: Session, tenant: int | None, campaign: Campaign | None = None) -> str:
    """The region national numbers are read in: the campaign's, else the tenant's
    outbound policy's, else PL."""
    if campaign is not None:
        return campaign.default_region
    policy = s.get(OutboundPolicy, tenant) if tenant is not None else None
    return policy.region if policy is not None else DEFAULT_REGION


def read_pattern(raw: str, is_prefix: bool, region: str) -> str:
    """``raw`` in its stored form; :class:`InvalidNumber` saying why not."""
    if not is_prefix:
        return numbers.normalise(raw, region).e164
    text = "".join(ch for ch in raw.strip() if ch not in " -().")
    if text and not text.startswith(("+", "00")):
        # A national prefix ("600", "020"): the region's country code, trunk prefix dropped.
        code = numbers.region_code(region)
        trunk = phonenumbers.PhoneMetadata.metadata_for_region(code)
        national = trunk.national_prefix if trunk is not None else None
        if national and text.startswith(national):
            text = text[len(national):]
        text = f"+{phonenumbers.country_code_for_region(code)}{text}"
    return numbers.prefix(text)


def _line_candidate(cells: list[str], region: str) -> Candidate:
    raw = cells[0].strip()
    is_prefix = raw.endswith("*")
    pattern = read_pattern(raw.rstrip("*"), is_prefix, region)
    reason = cells[1].strip() if len(cells) > 1 else ""
    if len(reason) > REASON_MAX:
        raise InvalidField("reason", f"longer than {REASON_MAX} characters")
    return Candidate(pattern, is_prefix, reason)


def parse_file(data: bytes, region: str, default_reason: str = "") -> tuple[
        list[tuple[int, Candidate]], list[Rejected]]:
    """Every line of an uploaded file read: (line, candidate) pairs and rejected lines.
    :class:`FileRejected` when the file as a whole cannot be taken."""
    if len(data) > MAX_FILE_BYTES:
        raise FileRejected(f"the file is {len(data)} bytes, more than the "
                           f"{MAX_FILE_BYTES // 1024} KiB allowed: split it")
    text = csv_rows.decode(data)
    if "\x00" in text:
        raise FileRejected("the file contains NUL characters: it is not a text file")
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        raise FileRejected(f"the file has {len(lines)} lines, more than the {MAX_LINES} "
                           f"allowed: split it")
    delimiter = max(",;\t", key=lines[0].count) if lines else ","
    good: list[tuple[int, Candidate]] = []
    bad: list[Rejected] = []
    for number, cells in enumerate(csv.reader(lines, delimiter=delimiter), start=1):
        first = cells[0].strip() if cells else ""
        if not first or first.startswith("#"):
            continue
        if number == 1 and not any(ch.isdigit() for ch in first):
            continue  # a header ("number;reason")
        try:
            found = _line_candidate(cells, region)
        except (InvalidNumber, InvalidField) as err:
            bad.append(Rejected(number, first[:64], getattr(err, "reason", str(err))))
            continue
        good.append((number, found if found.reason else Candidate(
            found.pattern, found.is_prefix, default_reason)))
    return good, bad


# ---- the table ----

def _visible(tenant: int | None) -> ColumnElement[bool]:
    if tenant is None:
        return BlacklistEntry.tenant_id.is_(None)
    return or_(BlacklistEntry.tenant_id.is_(None), BlacklistEntry.tenant_id == tenant)


def campaign_of(s: Session, tenant: int | None, campaign_id: int | None) -> Campaign | None:
    """The tenant's campaign ``campaign_id`` (None for None); 400 naming ``campaign_id``
    when it is not the tenant's (the platform's entries have no campaign)."""
    if campaign_id is None:
        return None
    found = s.get(Campaign, campaign_id)
    if tenant is None or found is None or found.tenant_id != tenant:
        raise InvalidField("campaign_id", f"no campaign #{campaign_id} in this tenant")
    return found


def listing(s: Session, tenant: int | None, *, campaign_id: int | None = None,
            q: str | None = None, page: int = 1, per_page: int = 50) -> Page:
    """Entries the tenant sees (the platform's and its own), newest first; rows of
    ``(BlacklistEntry, campaign name | None)``. ``q`` matches the pattern (digits as
    typed, spaces ignored) or the reason."""
    stmt = (select(BlacklistEntry, Campaign.name)
            .outerjoin(Campaign, Campaign.id == BlacklistEntry.campaign_id)
            .where(_visible(tenant)))
    if campaign_id is not None:
        stmt = stmt.where(BlacklistEntry.campaign_id == campaign_id)
    if q and q.strip():
        text = q.strip()
        digits = "".join(ch for ch in text if ch.isdigit())
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds: list[ColumnElement[bool]] = [BlacklistEntry.reason.ilike(like, escape="\\")]
        if digits:
            conds.append(BlacklistEntry.pattern.contains(digits.lstrip("0") or digits))
        stmt = stmt.where(or_(*conds))
    return paged(s, stmt.order_by(BlacklistEntry.id.desc()), page, per_page)


def entry(s: Session, tenant: int | None, entry_id: int) -> BlacklistEntry:
    """An entry the tenant sees; :class:`NotFound` otherwise."""
    row = s.get(BlacklistEntry, entry_id)
    if row is None or not (row.tenant_id is None or row.tenant_id == tenant):
        raise NotFound(f"no blacklist entry #{entry_id}")
    return row


def _same(s: Session, tenant: int | None, campaign: int | None,
          c: Candidate) -> BlacklistEntry | None:
    return s.scalar(select(BlacklistEntry).where(
        BlacklistEntry.pattern == c.pattern, BlacklistEntry.is_prefix == c.is_prefix,
        BlacklistEntry.tenant_id.is_(None) if tenant is None
        else BlacklistEntry.tenant_id == tenant,
        BlacklistEntry.campaign_id.is_(None) if campaign is None
        else BlacklistEntry.campaign_id == campaign))


def add(s: Session, tenant: int | None, raw: str, *, is_prefix: bool = False,
        reason: str = "", campaign_id: int | None = None) -> BlacklistEntry:
    """Add one entry; :class:`InvalidField` naming ``pattern`` or ``campaign_id``,
    :class:`Conflict` when the same entry is listed already."""
    campaign = campaign_of(s, tenant, campaign_id)
    try:
        pattern = read_pattern(raw, is_prefix, region_for(s, tenant, campaign))
    except InvalidNumber as err:
        raise InvalidField("pattern", err.reason) from err
    found = Candidate(pattern, is_prefix, reason)
    same = _same(s, tenant, campaign_id, found)
    if same is not None:
        what = "prefix" if is_prefix else "number"
        raise Conflict(f"the {what} {pattern} is on this blacklist already (entry #{same.id})",
                       details={"field": "pattern", "id": same.id})
    row = BlacklistEntry(tenant_id=tenant, campaign_id=campaign_id, pattern=pattern,
                         is_prefix=is_prefix, reason=reason)
    s.add(row)
    s.flush()
    return row


def add_many(s: Session, tenant: int | None, found: Sequence[tuple[int, Candidate]],
             rejected: list[Rejected], campaign_id: int | None) -> UploadReport:
    """Add every candidate not listed yet (duplicates within the file count once)."""
    existing = {(r.pattern, r.is_prefix) for r in s.scalars(select(BlacklistEntry).where(
        BlacklistEntry.tenant_id.is_(None) if tenant is None
        else BlacklistEntry.tenant_id == tenant,
        BlacklistEntry.campaign_id.is_(None) if campaign_id is None
        else BlacklistEntry.campaign_id == campaign_id))}
    rows: list[dict[str, Any]] = []
    already = 0
    for _line, c in found:
        key = (c.pattern, c.is_prefix)
        if key in existing:
            already += 1
            continue
        existing.add(key)
        rows.append({"tenant_id": tenant, "campaign_id": campaign_id, "pattern": c.pattern,
                     "is_prefix": c.is_prefix, "reason": c.reason, "created_at": utcnow()})
    if rows:  # one executemany: ORM objects cost ~0.3 ms a row (40k lines: 14 s)
        s.execute(insert(BlacklistEntry), rows)
    return UploadReport(len(rows), already, rejected)


def delete(s: Session, tenant: int | None, entry_id: int) -> BlacklistEntry:
    """Delete an entry of the tenant (the platform operator: a platform entry);
    :class:`ReadOnly` for a platform entry seen by a tenant."""
    row = entry(s, tenant, entry_id)
    if row.tenant_id != tenant:
        raise ReadOnly(f"blacklist entry #{entry_id} is the platform's: only the platform "
                       f"operator may change it")
    s.delete(row)
    s.flush()
    return row


def scope_of(row: BlacklistEntry) -> str:
    if row.tenant_id is None:
        return "platform"
    return "tenant" if row.campaign_id is None else "campaign"


def to_json(row: BlacklistEntry, campaign: str | None, tenant: int | None) -> dict[str, Any]:
    """An entry as the API shows it; ``editable``: whether this viewer may delete it."""
    return {"id": row.id, "pattern": row.pattern, "is_prefix": row.is_prefix,
            "reason": row.reason, "scope": scope_of(row), "campaign_id": row.campaign_id,
            "campaign": campaign, "editable": row.tenant_id == tenant,
            "created_at": row.created_at.isoformat()}


def visible_campaigns(s: Session, tenant: int | None) -> list[tuple[int, str]]:
    """(id, name) of the tenant's campaigns not archived, for the page's choices."""
    if tenant is None:
        return []
    return [(c.id, c.name) for c in s.scalars(select(Campaign).where(
        and_(Campaign.tenant_id == tenant, Campaign.archived_at.is_(None)))
        .order_by(Campaign.name))]
