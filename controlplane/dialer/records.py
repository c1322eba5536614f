"""Vocabulary of outbound record handling (frozen dataclasses, no I/O).

Theory of operation: the campaign service maps its database rows onto
:class:`DialRecord` values and hands them to the pure functions of
:mod:`.selection` (which records to dial now), :mod:`.retry` (what an attempt's
outcome does to a record), :mod:`.callerid` (which number to present) and
:mod:`.dispositions` (what the agent's classification does). Those functions
return :class:`RecordUpdate` values; the service writes them back. Nothing here
knows about SQL, Redis or channels. ``docs/dialer-records.md`` is the written
specification.

Record life cycle (``state``)::

    scheduled --attempt, retry allowed--> scheduled (next_due_at later)
    scheduled --human answered---------> done     (the disposition decides)
    scheduled --attempts exhausted-----> closed
    scheduled --unallocated number-----> failed
    done      --disposition: recontact-> scheduled (private or system recontact)
    done      --disposition: close/move> closed

Record kinds: ``fresh`` records were never retried; ``system_recontact``
records are due again for anyone (automatic retries and "recontact for anyone"
dispositions); ``private_recontact`` records were promised by one agent
(``assigned_user``) and go to that agent only (see :mod:`.selection`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, time
from enum import StrEnum

from controlplane.dialer.exceptions import DialerRecordsError as DialerRecordsError

E164_MAX_DIGITS = 15


class Outcome(StrEnum):
    """How one attempt on a record ended, as the dialer observed it."""

    HUMAN = "human"  # a person answered and was connected to an agent
    MACHINE = "machine"  # AMD detected an answering machine
    NO_ANSWER = "no_answer"  # ring timeout
    BUSY = "busy"
    FAILED = "failed"  # congestion, trunk or network failure: worth retrying
    UNALLOCATED = "unallocated"  # the number does not exist: never retried
    ABANDONED = "abandoned"  # a person answered, no agent within 2 s
    SKIPPED = "skipped"  # not dialled (HLR, agent skipped in preview): no attempt
    REFUSED = "refused"  # the outbound policy forbids the number: not dialled, never again


class RecordKind(StrEnum):
    """Class of a record for the dialling-order shares of :mod:`.selection`."""

    FRESH = "fresh"
    PRIVATE_RECONTACT = "private_recontact"
    SYSTEM_RECONTACT = "system_recontact"


class RecordState(StrEnum):
    """Where a record is in its life cycle (module docstring)."""

    SCHEDULED = "scheduled"
    DONE = "done"
    CLOSED = "closed"
    FAILED = "failed"


def check_e164(number: str, where: str) -> str:
    """Return ``number`` if it is ``+`` and 1-15 digits, else raise naming ``where``."""
    digits = number[1:]
    if not (number.startswith("+") and digits.isdigit() and len(digits) <= E164_MAX_DIGITS):
        raise DialerRecordsError(f"{where}: {number!r} is not an E.164 number (+ and 1-15 digits)")
    return number


@dataclass(frozen=True, slots=True)
class DialRecord:
    """One callable record of one campaign (a contact's number in that campaign).

    ``next_due_at`` and ``locked_until`` are epoch seconds (``None``: no
    constraint). ``timezone`` is an IANA name (``Europe/Warsaw``) used for
    calling hours; ``country`` (ISO 3166 alpha-2), ``region``, ``county`` and
    ``city`` are used for local-presence caller ID. ``outcome_counts`` holds how
    many attempts of the current cycle ended with each outcome (retry rules).
    """

    record_id: int
    contact_id: int
    number: str
    timezone: str
    kind: RecordKind = RecordKind.FRESH
    state: RecordState = RecordState.SCHEDULED
    priority: int = 0
    attempts: int = 0
    outcome_counts: tuple[tuple[Outcome, int], ...] = ()
    last_outcome: Outcome | None = None
    next_due_at: float | None = None
    locked_until: float | None = None
    assigned_user: str | None = None
    country: str = ""
    region: str = ""
    county: str = ""
    city: str = ""

    def __post_init__(self) -> None:
        check_e164(self.number, f"record {self.record_id}: number")
        if self.kind is RecordKind.PRIVATE_RECONTACT and not self.assigned_user:
            raise DialerRecordsError(
                f"record {self.record_id}: a private recontact needs assigned_user"
            )
        if self.attempts < 0:
            raise DialerRecordsError(f"record {self.record_id}: attempts {self.attempts} < 0")

    def count(self, outcome: Outcome) -> int:
        """Attempts of the current cycle that ended with ``outcome``."""
        return dict(self.outcome_counts).get(outcome, 0)


@dataclass(frozen=True, slots=True)
class RecordUpdate:
    """New values for one record; ``reason`` says why, for logs and the panel."""

    record_id: int
    state: RecordState
    kind: RecordKind
    attempts: int
    outcome_counts: tuple[tuple[Outcome, int], ...]
    last_outcome: Outcome | None
    next_due_at: float | None
    locked_until: float | None
    assigned_user: str | None
    reason: str


def apply_update(record: DialRecord, update: RecordUpdate) -> DialRecord:
    """The record as it is after ``update`` (what the service writes back)."""
    if update.record_id != record.record_id:
        raise DialerRecordsError(
            f"update for record {update.record_id} applied to record {record.record_id}"
        )
    return dataclasses.replace(
        record,
        state=update.state,
        kind=update.kind,
        attempts=update.attempts,
        outcome_counts=update.outcome_counts,
        last_outcome=update.last_outcome,
        next_due_at=update.next_due_at,
        locked_until=update.locked_until,
        assigned_user=update.assigned_user,
    )


@dataclass(frozen=True, slots=True)
class RetryRule:
    """Retry after ``interval_s`` while fewer than ``max_attempts`` ended so."""

    max_attempts: int
    interval_s: float

    def __post_init__(self) -> None:
        if self.max_attempts < 0 or self.interval_s < 0:
            raise DialerRecordsError(
                f"retry rule: max_attempts {self.max_attempts} and interval_s "
                f"{self.interval_s} must be >= 0"
            )


@dataclass(frozen=True, slots=True)
class CallingWindow:
    """Local calling hours: ``[start, end)`` on ``days`` (0 = Monday … 6 = Sunday).

    Applied in each record's own time zone. ``closed_dates`` are local dates
    with no calling at all (public holidays, filled from the holiday calendars).
    Windows across midnight are refused: split them into two campaigns' hours
    or extend ``days`` instead.
    """

    start: time
    end: time
    days: frozenset[int] = frozenset(range(7))
    closed_dates: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise DialerRecordsError("calling window: start and end are local times without tzinfo")
        if not self.start < self.end:
            raise DialerRecordsError(
                f"calling window: start {self.start} must be before end {self.end}"
            )
        bad = sorted(d for d in self.days if not 0 <= d <= 6)
        if bad or not self.days:
            raise DialerRecordsError(f"calling window: days must be 0-6 and not empty, got {bad}")


@dataclass(frozen=True, slots=True)
class Blacklist:
    """Numbers never to dial: exact E.164 numbers and E.164 prefixes.

    ``scope`` names where the list comes from (``platform`` or a campaign) so a
    skipped record says which list stopped it.
    """

    exact: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    scope: str = "campaign"

    def __post_init__(self) -> None:
        for n in self.exact:
            check_e164(n, f"blacklist {self.scope}: exact entry")
        for p in self.prefixes:
            check_e164(p, f"blacklist {self.scope}: prefix entry")

    def match(self, number: str) -> str | None:
        """Why ``number`` is blacklisted (``"platform prefix +4870"``), or None."""
        if number in self.exact:
            return f"{self.scope} exact {number}"
        # The longest matching prefix is reported: it is the most specific rule.
        hits = [p for p in self.prefixes if number.startswith(p)]
        if hits:
            return f"{self.scope} prefix {max(hits, key=len)}"
        return None
