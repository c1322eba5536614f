"""The contract's terms as functions: availability, credits, priorities' clocks, penalties (pure).

From the seed's specification (the Polish text wins over any digest):

- Availability (§ 2.7) = [(A − B) − C] / (A − C), with A the service time of the billing
  period, B the time the critical functions were down through a failure, C announced
  maintenance ("Wykluczenie dostępności"), all counted inside the level's service hours
  only. "All critical functions available": B is the *union* of every function's downtime,
  and downtime during an announced window is C, not B.
- Credits (§ 7.3-7.4): 5 / 10 / 15 % of one period's fee below the level's thresholds, only
  when the customer reported a failure in that period and claimed within 30 days of its end.
- Reaction and repair times (§ 7.7) per level and priority, in service hours or working
  days; the repair clock runs from the qualification (the reaction, § 2.11).
- Penalties (§ 7.8-7.9, § 6.3): per *full* hour late (Premium 1.5 %, Progres and Progres+
  1 % of the monthly fee) or per full day late (Standard 1/30 of the fee), counted in
  service time only, at most one month's fee per month.

Interpretations the text leaves open, chosen once here: "N DR" ends with the service hours
of the N-th working day after the start ("NDR" = 1); Standard's "full day" late is a full
service day (10 service hours); lateness is charged to the period it falls in.

Amounts are :class:`~decimal.Decimal` rounded to the grosz; availability is an exact
:class:`~fractions.Fraction` of whole seconds, so a threshold is never missed by rounding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from fractions import Fraction
from zoneinfo import ZoneInfo

from controlplane.sla import calendar as cal
from controlplane.sla.calendar import Interval, Level

CLAIM_DAYS = 30
# the critical functions (§ 2.9), each probed and measured on its own
CRITICAL_FUNCTIONS = ("outbound_call", "inbound_call", "ivr", "login", "agent_ready",
                      "queue_routing", "chat_routing")
_GROSZ = Decimal("0.01")


class Priority(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True)
class Target:
    """A reaction or repair time: ``hours`` of service time, or ``working_days`` (1 = NDR)."""

    hours: Fraction | None = None
    working_days: int | None = None

    def deadline(self, level: Level, start: datetime, tz: str,
                 paused: Sequence[Interval] = ()) -> datetime:
        if self.hours is not None:
            return cal.advance(level, start, int(self.hours * 3600), tz, paused)
        assert self.working_days is not None
        return cal.working_days_deadline(level, start, self.working_days, tz, paused)


def _h(hours: str) -> Target:
    return Target(hours=Fraction(hours))


def _wd(days: int) -> Target:
    return Target(working_days=days)


NDR = _wd(1)
_PROGRES_TIMES = {
    Priority.CRITICAL: (_h("1"), _h("5")),
    Priority.HIGH: (_h("4"), NDR),
    Priority.MEDIUM: (_h("6"), _wd(7)),
    Priority.LOW: (_h("8"), _wd(14)),
}
# (reaction, repair) per level and priority: § 7.7
TIMES: dict[Level, dict[Priority, tuple[Target, Target]]] = {
    Level.PREMIUM: {
        Priority.CRITICAL: (_h("0.5"), _h("2")),
        Priority.HIGH: (_h("2"), _h("8")),
        Priority.MEDIUM: (_h("4"), _wd(3)),
        Priority.LOW: (_h("8"), _wd(7)),
    },
    Level.PROGRES_PLUS: _PROGRES_TIMES,
    Level.PROGRES: _PROGRES_TIMES,
    Level.STANDARD: {
        Priority.CRITICAL: (_h("4"), NDR),
        Priority.HIGH: (_h("8"), _wd(7)),
        Priority.MEDIUM: (NDR, _wd(14)),
        Priority.LOW: (NDR, _wd(21)),
    },
}

# guaranteed availability (§ 7.2) and the credit table (§ 7.3): below threshold -> percent
GUARANTEE: dict[Level, Fraction] = {
    Level.STANDARD: Fraction(99, 100),
    Level.PROGRES: Fraction(995, 1000),
    Level.PROGRES_PLUS: Fraction(995, 1000),
    Level.PREMIUM: Fraction(999, 1000),
}
_PROGRES_CREDITS = ((Fraction(98, 100), 15), (Fraction(99, 100), 10), (Fraction(995, 1000), 5))
CREDITS: dict[Level, tuple[tuple[Fraction, int], ...]] = {
    Level.STANDARD: ((Fraction(97, 100), 15), (Fraction(98, 100), 10), (Fraction(99, 100), 5)),
    Level.PROGRES: _PROGRES_CREDITS,
    Level.PROGRES_PLUS: _PROGRES_CREDITS,
    Level.PREMIUM: ((Fraction(99, 100), 15), (Fraction(995, 1000), 10), (Fraction(999, 1000), 5)),
}
# penalty per full unit late, as a fraction of the monthly fee (§ 7.8)
PENALTY_RATE: dict[Level, Fraction] = {
    Level.PREMIUM: Fraction(15, 1000),
    Level.PROGRES_PLUS: Fraction(1, 100),
    Level.PROGRES: Fraction(1, 100),
    Level.STANDARD: Fraction(1, 30),
}


def penalty_unit_seconds(level: Level) -> int:
    """A full hour, or for Standard a full service day (10 service hours)."""
    return cal.SERVICE_HOURS[level].day_seconds if level is Level.STANDARD else 3600


def month_period(year: int, month: int, tz: str) -> Interval:
    """The billing period: the calendar month in the tenant's time zone, as UTC."""
    zone = ZoneInfo(tz)
    start = datetime(year, month, 1, tzinfo=zone)
    nxt = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(UTC), nxt.astimezone(UTC)


@dataclass(frozen=True)
class Availability:
    """A, B and C in service seconds, and the ratio [(A − B) − C] / (A − C)."""

    service: int
    down: int
    maintenance: int

    @property
    def ratio(self) -> Fraction:
        base = self.service - self.maintenance
        if base <= 0:
            return Fraction(1)  # no service time to miss (no A, or all of it announced)
        return Fraction(base - self.down, base)

    @property
    def percent(self) -> Decimal:
        """The ratio in percent, to three decimals (display only: compare :attr:`ratio`)."""
        return as_percent(self.ratio)


def as_percent(ratio: Fraction) -> Decimal:
    """``ratio`` in percent, rounded to three decimals (99.5 % is ``Decimal("99.500")``)."""
    value = Decimal(ratio.numerator) * 100 / Decimal(ratio.denominator)
    return value.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def availability(level: Level, period: Interval, tz: str, downtime: Sequence[Interval],
                 maintenance: Sequence[Interval] = ()) -> Availability:
    start, end = period
    service = cal.service_seconds(level, start, end, tz)
    clip = [(start, end)]
    held = cal.intersect(maintenance, clip)
    down = cal.subtract(cal.intersect(downtime, clip), held)
    return Availability(service, cal.service_seconds_of(level, down, tz),
                        cal.service_seconds_of(level, held, tz))


def by_day(level: Level, period: Interval, tz: str, downtime: Sequence[Interval],
           maintenance: Sequence[Interval] = ()) -> tuple[tuple[date, Availability], ...]:
    """The period's availability day by day (the tenant's calendar days, DST-safe): what
    the panel's chart draws. A day without service time has ``service == 0``."""
    zone = ZoneInfo(tz)
    day = period[0].astimezone(zone).date()
    out: list[tuple[date, Availability]] = []
    while True:
        lo = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
        if lo >= period[1]:
            break
        nxt = day + timedelta(days=1)
        hi = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone).astimezone(UTC)
        span = (max(lo, period[0]), min(hi, period[1]))
        out.append((day, availability(level, span, tz, downtime, maintenance)))
        day = nxt
    return tuple(out)


def credit_percent(level: Level, ratio: Fraction) -> int:
    """5, 10 or 15 when ``ratio`` is below the level's thresholds, else 0."""
    for threshold, percent in CREDITS[level]:  # lowest threshold first
        if ratio < threshold:
            return percent
    return 0


def money(value: Fraction | Decimal) -> Decimal:
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return value.quantize(_GROSZ, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class IncidentFacts:
    """What the clocks need of an incident; ``paused`` are the customer's turns."""

    id: int
    priority: Priority
    opened_at: datetime
    reacted_at: datetime | None = None
    repaired_at: datetime | None = None
    paused: tuple[Interval, ...] = ()


@dataclass(frozen=True)
class Clocks:
    reaction_due: datetime
    repair_due: datetime


def clocks(level: Level, incident: IncidentFacts, tz: str) -> Clocks:
    """Deadlines of an incident's reaction and repair; the repair clock starts at the
    reaction (or, until there is one, at the opening: never later than the contract).
    Pauses after the reaction move only the repair deadline."""
    reaction, repair = TIMES[level][incident.priority]
    start = incident.reacted_at or incident.opened_at
    # A pause stops only a clock still running: once the operator reacted, waiting for
    # the customer moves the repair deadline, not the reaction's (a turn that began before
    # the reaction counts for it up to the reaction).
    before = incident.paused if incident.reacted_at is None else tuple(
        (a, min(b, incident.reacted_at)) for a, b in incident.paused if a < incident.reacted_at)
    return Clocks(reaction.deadline(level, incident.opened_at, tz, before),
                  repair.deadline(level, start, tz, incident.paused))


@dataclass(frozen=True)
class Penalty:
    incident_id: int
    repair_due: datetime
    late_seconds: int
    full_units: int
    amount: Decimal


def penalty(level: Level, fee: Decimal, incident: IncidentFacts, period: Interval, tz: str,
            now: datetime) -> Penalty | None:
    """The penalty ``incident``'s late repair earns in ``period`` (None when not late in
    it). Lateness is the service time between the repair deadline and the repair (or
    ``now`` while unrepaired), pauses excluded, clipped to the period."""
    due = clocks(level, incident, tz).repair_due
    lo = max(due, period[0])
    hi = min(incident.repaired_at or now, period[1])
    late = cal.elapsed(level, lo, hi, tz, incident.paused)
    if late <= 0:
        return None
    units = late // penalty_unit_seconds(level)
    amount = money(Fraction(str(fee)) * PENALTY_RATE[level] * units)
    return Penalty(incident.id, due, late, units, amount)


@dataclass(frozen=True)
class Statement:
    """One tenant's period: availability, downtime per function, credit and penalties."""

    level: Level
    period: Interval
    fee: Decimal
    availability: Availability
    downtime_by_function: Mapping[str, int]
    credit_percent: int
    credit_eligible: bool
    credit: Decimal
    penalties: tuple[Penalty, ...]
    penalties_total: Decimal
    penalties_capped: bool
    days: tuple[tuple[date, Availability], ...] = ()  # the chart: availability per day


def statement(level: Level, period: Interval, tz: str, fee: Decimal, *,
              downtime: Mapping[str, Sequence[Interval]],
              maintenance: Sequence[Interval] = (),
              incidents: Sequence[IncidentFacts] = (),
              failure_reported: bool = False,
              claimed_at: datetime | None = None,
              now: datetime | None = None) -> Statement:
    """The period's statement. ``failure_reported``: the customer reported a failure in the
    period; ``claimed_at``: when it asked for the credit (credit only within 30 days)."""
    now = now or period[1]
    every = [i for spans in downtime.values() for i in spans]
    avail = availability(level, period, tz, every, maintenance)
    held = cal.intersect(maintenance, [period])
    by_function = {
        name: cal.service_seconds_of(
            level, cal.subtract(cal.intersect(spans, [period]), held), tz)
        for name, spans in sorted(downtime.items())}
    percent = credit_percent(level, avail.ratio)
    eligible = (failure_reported and claimed_at is not None
                and claimed_at <= period[1] + timedelta(days=CLAIM_DAYS))
    credit = money(fee * percent / 100) if eligible and percent else Decimal("0.00")
    found = [p for i in incidents if (p := penalty(level, fee, i, period, tz, now))]
    total = money(sum((p.amount for p in found), Decimal(0)))
    capped = total > fee
    return Statement(level, period, fee, avail, by_function, percent, eligible, credit,
                     tuple(found), money(fee) if capped else total, capped,
                     by_day(level, period, tz, every, maintenance))
