"""Which records to dial now (pure; ``docs/dialer-records.md`` §2-§3).

Theory of operation: the hopper calls :func:`select` with the campaign's open
records, its :class:`Strategy` and the :class:`MixState` returned by the
previous call. Every record is first checked, in this order (the first rule
that fails is the reason reported in :class:`Skip`):

==================  ===========================================================
reason              rule
==================  ===========================================================
``not_scheduled``   ``state`` is not ``scheduled`` (done, closed, failed)
``blacklisted``     the number is on a blacklist (exact number or prefix)
``not_due``         ``next_due_at`` is in the future
``locked``          a compliance lockout (:mod:`.compliance`: 72 h after an
                    abandon, 24 h after a machine) runs, and no agent is
                    guaranteed for the call
``reserved``        a private recontact of another agent (or, with no agent
                    given, of any agent) whose release grace has not passed
``bad_timezone``    ``timezone`` is not a known IANA zone
``outside_window``  the campaign's calling hours, read in the record's own time
                    zone (DST-correct), are closed now
``duplicate``       the same number was already picked in this batch
==================  ===========================================================

The due records are then split into the three kinds and picked by *smooth
weighted round robin* over the strategy's shares: every pick adds each
non-empty class's share to its credit, takes the class with the largest credit
(ties: fresh, private, system) and subtracts the sum of the shares taken part.
Over any run of picks each class's count stays within one round of its share,
so 60/30/10 gives 600/300/100 of 1000 picks. An empty class drops out: it
earns no credit while empty (and its leftover credit is cleared), so it does
not burst to catch up when it refills, and the others fill its place in
proportion. Classes with a zero share are used only when every class with a
share is empty. The credits travel in :class:`MixState` from call to call.

Within a class: fresh records by priority (higher first) then id; recontacts
most- (or least-) overdue first, then priority, then id.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from controlplane.dialer.records import (
    Blacklist,
    CallingWindow,
    DialerRecordsError,
    DialRecord,
    RecordKind,
    RecordState,
)

KINDS = (RecordKind.FRESH, RecordKind.PRIVATE_RECONTACT, RecordKind.SYSTEM_RECONTACT)
SEARCH_DAYS = 370  # how far ahead next_open looks for an opening


class RecontactOrder(StrEnum):
    """Which recontacts go first within their class."""

    MOST_OVERDUE = "most_overdue"
    LEAST_OVERDUE = "least_overdue"


class SkipReason(StrEnum):
    """Why a record was not due (module docstring table)."""

    NOT_SCHEDULED = "not_scheduled"
    BLACKLISTED = "blacklisted"
    NOT_DUE = "not_due"
    LOCKED = "locked"
    RESERVED = "reserved"
    BAD_TIMEZONE = "bad_timezone"
    OUTSIDE_WINDOW = "outside_window"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class Strategy:
    """Dialling order of one campaign.

    ``fresh``/``private``/``system`` are percentage shares summing to 100.
    ``private_grace_s``: a private recontact is released to any agent once it
    has been due for that long (``None``: it waits for its agent forever).
    """

    fresh: int = 100
    private: int = 0
    system: int = 0
    recontact_order: RecontactOrder = RecontactOrder.MOST_OVERDUE
    private_grace_s: float | None = None

    def __post_init__(self) -> None:
        shares = (self.fresh, self.private, self.system)
        if min(shares) < 0 or sum(shares) != 100:
            raise DialerRecordsError(
                f"strategy: shares fresh/private/system {shares} must be >= 0 and sum to 100"
            )
        if self.private_grace_s is not None and self.private_grace_s < 0:
            raise DialerRecordsError(f"strategy: private_grace_s {self.private_grace_s} < 0")

    def share(self, kind: RecordKind) -> int:
        """Percentage share of ``kind``."""
        return (self.fresh, self.private, self.system)[KINDS.index(kind)]


@dataclass(frozen=True, slots=True)
class MixState:
    """Round-robin credits and cumulative picks per kind (order of :data:`KINDS`)."""

    credits: tuple[int, int, int] = (0, 0, 0)
    picked: tuple[int, int, int] = (0, 0, 0)


@dataclass(frozen=True, slots=True)
class Skip:
    """A record not given out, why, and (when known) when it may become due."""

    record_id: int
    reason: SkipReason
    detail: str
    until: float | None = None


@dataclass(frozen=True, slots=True)
class Selection:
    """Result of :func:`select`: records to dial, in order, and the skipped ones."""

    records: tuple[DialRecord, ...]
    skipped: tuple[Skip, ...]
    mix: MixState = field(default_factory=MixState)


def zone_of(name: str) -> ZoneInfo | None:
    """The IANA zone ``name``, or None if unknown (zoneinfo caches instances)."""
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def is_open(window: CallingWindow, zone: ZoneInfo, now: float) -> bool:
    """Whether the local wall-clock time in ``zone`` at ``now`` is inside ``window``."""
    local = datetime.fromtimestamp(now, zone)
    return (
        local.weekday() in window.days
        and local.date() not in window.closed_dates
        and window.start <= local.time() < window.end
    )


def local_instant(day: date, at: time, zone: ZoneInfo) -> float:
    """First instant whose wall-clock time in ``zone`` on ``day`` is at or after ``at``.

    Ambiguous times (clocks going back) give the first occurrence; times inside
    a spring-forward gap give the transition itself (the first existing local
    time after ``at``).
    """
    naive = datetime.combine(day, at)
    early = naive.replace(tzinfo=zone, fold=0).timestamp()
    late = naive.replace(tzinfo=zone, fold=1).timestamp()
    first = min(early, late)
    if datetime.fromtimestamp(first, zone).replace(tzinfo=None) == naive:
        return first
    # In a gap: fold=1 lands before the transition, fold=0 after it. Bisect on
    # whole seconds (transitions fall on whole seconds) for the first instant
    # whose local time is >= ``at``.
    lo, hi = int(late), int(early) + 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid
    return float(hi)


def next_open(window: CallingWindow, zone: ZoneInfo, now: float) -> float | None:
    """Earliest instant >= ``now`` inside ``window`` in ``zone``; None within a year."""
    if is_open(window, zone, now):
        return now
    today = datetime.fromtimestamp(now, zone).date()
    for offset in range(SEARCH_DAYS):
        day = today + timedelta(days=offset)
        if day.weekday() not in window.days or day in window.closed_dates:
            continue
        start = local_instant(day, window.start, zone)
        if start >= now and is_open(window, zone, start):
            return start
    return None


def check(
    record: DialRecord,
    strategy: Strategy,
    now: float,
    *,
    agent: str | None,
    blacklist: Sequence[Blacklist],
    window: CallingWindow,
    guaranteed_agent: bool,
) -> Skip | None:
    """Why ``record`` is not due now (module docstring order), or None if it is."""
    rid = record.record_id
    if record.state is not RecordState.SCHEDULED:
        return Skip(rid, SkipReason.NOT_SCHEDULED, f"state {record.state}")
    for bl in blacklist:
        hit = bl.match(record.number)
        if hit is not None:
            return Skip(rid, SkipReason.BLACKLISTED, hit)
    if record.next_due_at is not None and record.next_due_at > now:
        return Skip(rid, SkipReason.NOT_DUE, "scheduled later", record.next_due_at)
    if record.locked_until is not None and record.locked_until > now and not guaranteed_agent:
        return Skip(
            rid, SkipReason.LOCKED, "redial lockout without a guaranteed agent", record.locked_until
        )
    if record.kind is RecordKind.PRIVATE_RECONTACT and record.assigned_user != agent:
        release = _release_at(record, strategy)
        if release is None or release > now:
            return Skip(
                rid, SkipReason.RESERVED, f"private to agent {record.assigned_user}", release
            )
    zone = zone_of(record.timezone)
    if zone is None:
        return Skip(rid, SkipReason.BAD_TIMEZONE, f"unknown time zone {record.timezone!r}")
    if not is_open(window, zone, now):
        local = datetime.fromtimestamp(now, zone)
        detail = f"local time {local:%a %H:%M} in {record.timezone}"
        return Skip(rid, SkipReason.OUTSIDE_WINDOW, detail, next_open(window, zone, now))
    return None


def _release_at(record: DialRecord, strategy: Strategy) -> float | None:
    """When a private recontact becomes available to any agent (None: never)."""
    if strategy.private_grace_s is None or record.next_due_at is None:
        return None
    return record.next_due_at + strategy.private_grace_s


def _order(records: list[DialRecord], kind: RecordKind, strategy: Strategy) -> list[DialRecord]:
    """Records of one class in picking order (module docstring)."""
    if kind is RecordKind.FRESH:
        return sorted(records, key=lambda r: (-r.priority, r.record_id))
    sign = 1.0 if strategy.recontact_order is RecontactOrder.MOST_OVERDUE else -1.0

    def key(r: DialRecord) -> tuple[float, int, int]:
        due = r.next_due_at if r.next_due_at is not None else float("-inf")
        return (sign * due, -r.priority, r.record_id)

    return sorted(records, key=key)


def select(
    records: Iterable[DialRecord],
    strategy: Strategy,
    now: float,
    n: int,
    *,
    window: CallingWindow,
    agent: str | None = None,
    blacklist: Sequence[Blacklist] = (),
    mix: MixState | None = None,
    guaranteed_agent: bool = False,
) -> Selection:
    """Pick up to ``n`` records to dial at ``now``, in dialling order.

    ``agent`` is the agent the calls are for (preview and progressive modes);
    with ``None`` only released private recontacts are given out.
    ``guaranteed_agent`` lifts the compliance lockouts (an agent is reserved
    before dialling, so the call cannot be abandoned). Pass the returned
    ``mix`` to the next call so the shares converge across calls.
    """
    mix = mix or MixState()
    skipped: list[Skip] = []
    by_kind: dict[RecordKind, list[DialRecord]] = {k: [] for k in KINDS}
    for r in records:
        why = check(
            r,
            strategy,
            now,
            agent=agent,
            blacklist=blacklist,
            window=window,
            guaranteed_agent=guaranteed_agent,
        )
        if why is None:
            by_kind[r.kind].append(r)
        else:
            skipped.append(why)
    queues = {k: deque(_order(by_kind[k], k, strategy)) for k in KINDS}
    credits = list(mix.credits)
    picked = list(mix.picked)
    out: list[DialRecord] = []
    numbers: set[str] = set()
    while len(out) < n:
        for q in queues.values():
            while q and q[0].number in numbers:
                dup = q.popleft()
                skipped.append(Skip(dup.record_id, SkipReason.DUPLICATE, f"{dup.number} in batch"))
        active = [i for i, k in enumerate(KINDS) if queues[k]]
        if not active:
            break
        i = _next_class(active, strategy, credits)
        rec = queues[KINDS[i]].popleft()
        out.append(rec)
        numbers.add(rec.number)
        picked[i] += 1
    new_mix = MixState((credits[0], credits[1], credits[2]), (picked[0], picked[1], picked[2]))
    return Selection(tuple(out), tuple(skipped), new_mix)


def _next_class(active: list[int], strategy: Strategy, credits: list[int]) -> int:
    """One step of smooth weighted round robin over the non-empty classes."""
    weighted = [i for i in active if strategy.share(KINDS[i]) > 0]
    for i in range(len(KINDS)):
        if i not in weighted:
            credits[i] = 0
    if not weighted:
        return active[0]  # only zero-share classes left: fill in fixed order
    total = 0
    for i in weighted:
        credits[i] += strategy.share(KINDS[i])
        total += strategy.share(KINDS[i])
    best = max(weighted, key=lambda i: (credits[i], -i))
    credits[best] -= total
    return best
