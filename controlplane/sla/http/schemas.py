"""Request and response schemas of the SLA pages and ``/api/v1/sla`` (and the API docs).

A report names a ``preset`` of the seed's table (its priority follows) or ``other`` / none
with a ``priority``; the title defaults to the preset's words. Moments of a maintenance
window are ISO 8601: with an offset in the API, the user's wall clock in the page's form
(``datetime-local``, read in the tenant's zone).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from controlplane.sla.presets import KEYS
from web.schemas.common import MULTI_LINE, ONE_LINE, Body, Form, Query

Preset = Literal[KEYS]  # type: ignore[valid-type]
PriorityName = Literal["critical", "high", "medium", "low"]
EventKind = Literal["reacted", "paused", "resumed", "repaired"]
Title = Annotated[str, Field(max_length=200), ONE_LINE]
Description = Annotated[str, Field(max_length=5000), MULTI_LINE]
Note = Annotated[str, Field(max_length=1000), MULTI_LINE]
Reason = Annotated[str, Field(max_length=500), ONE_LINE]
Domain = Annotated[str, Field(max_length=253, pattern=r"^[a-z0-9.-]+$")]


def _moment(value: str) -> str:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be a date and time, ISO 8601 (2026-12-07T22:00+01:00)") from None
    return value


Moment = Annotated[str, Field(max_length=40), AfterValidator(_moment)]


class IncidentBody(Body):
    preset: Preset | None = None
    priority: PriorityName | None = None
    title: Title | None = None
    description: Description = ""


class IncidentForm(Form):
    preset: Preset | Literal[""] = ""
    priority: PriorityName | Literal[""] = ""
    title: Title = ""
    description: Description = ""


class EventBody(Body):
    kind: EventKind
    note: Note = ""


class EventForm(Form):
    kind: EventKind
    note: Note = ""


class MaintenanceBody(Body):
    """A window; ``tenant`` (a domain) for one tenant, absent for the whole platform."""

    starts_at: Moment
    ends_at: Moment
    reason: Reason = ""
    tenant: Domain | None = None


class MaintenanceForm(Form):
    starts_at: Moment
    ends_at: Moment
    reason: Reason = ""
    tenant: Domain | Literal[""] = ""


class StatementQuery(Query):
    period: Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
    tenant: Domain | None = None  # the operator's: whose statement


class PageQuery(Query):
    period: Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] | None = None
    tenant: Domain | None = None  # the operator's: whose page


# ---- responses ----

class EventOut(BaseModel):
    kind: EventKind
    at: datetime
    actor: str
    note: str


class IncidentOut(BaseModel):
    id: int
    tenant: str
    priority: PriorityName
    preset: str | None
    title: str
    description: str
    status: Literal["open", "reacted", "waiting", "repaired"]
    source: str
    opened_at: datetime
    reported_by: str
    reaction_due: datetime | None = Field(description="null: the tenant has no SLA level")
    repair_due: datetime | None
    late: bool
    events: list[EventOut]


class IncidentList(BaseModel):
    incidents: list[IncidentOut]


class MaintenanceOut(BaseModel):
    id: int
    tenant: str | None = Field(description="null: the whole platform")
    announced_at: datetime
    starts_at: datetime
    ends_at: datetime
    reason: str


class MaintenanceList(BaseModel):
    notice_hours: int
    windows: list[MaintenanceOut]


class CreditOut(BaseModel):
    percent: int
    eligible: bool
    amount: str


class PenaltyOut(BaseModel):
    incident: int
    repair_due: str
    late_seconds: int
    full_units: int
    amount: str


class DayOut(BaseModel):
    date: str
    availability_percent: str
    service_seconds: int
    downtime_seconds: int
    maintenance_seconds: int


class StatementOut(BaseModel):
    """What ``centrala sla report --json`` prints."""

    tenant: str
    period: str
    time_zone: str
    level: str
    guaranteed_percent: str
    availability_percent: str
    service_seconds: int
    downtime_seconds: int
    maintenance_seconds: int
    downtime_by_function: dict[str, int]
    monthly_fee: str
    credit: CreditOut
    penalties: list[PenaltyOut]
    penalties_total: str
    penalties_capped: bool
    days: list[DayOut] = []


# ---- the contract: terms (operator) and credit claims ----

LevelName = Literal["standard", "progres", "progres_plus", "premium"]
Period = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", max_length=7)]
# The monthly fee in PLN as a decimal string ("1200" or "1200.50"): exact, never a float.
Fee = Annotated[str, Field(pattern=r"^\d{1,10}([.,]\d{1,2})?$", max_length=13)]
SupportEmail = Annotated[str, Field(max_length=254,
                                    pattern=r"^$|^[^@\s\x00-\x1f]+@[^@\s\x00-\x1f]+\.[^@\s\x00-\x1f]+$")]
ClaimStatus = Literal["granted", "refused"]


class TermsBody(Body):
    level: LevelName
    monthly_fee: Fee
    support_email: SupportEmail = ""


class TermsForm(Form):
    level: LevelName
    monthly_fee: Fee
    support_email: SupportEmail = ""


class TermsOut(BaseModel):
    tenant: str
    level: str | None
    monthly_fee: str | None
    support_email: str


class ClaimBody(Body):
    period: Period


class ClaimForm(Form):
    period: Period


class DecisionBody(Body):
    status: ClaimStatus
    note: Note = ""


class DecisionForm(Form):
    status: ClaimStatus
    note: Note = ""


class ClaimOut(BaseModel):
    id: int
    tenant: str
    period: str
    claimed_at: datetime
    claimed_by: str
    status: str
    note: str


class ClaimList(BaseModel):
    claims: list[ClaimOut]


FunctionName = Literal["outbound_call", "inbound_call", "ivr", "login", "agent_ready",
                       "queue_routing", "chat_routing"]
SlotState = Literal["up", "down", "unknown"]


class FunctionStatusOut(BaseModel):
    function: FunctionName
    state: SlotState = Field(description="unknown: not measured (no probe result yet)")
    since: datetime | None = Field(description="down: when the outage began; up: when the "
                                   "last one ended (null: up for the whole window)")
    checked_at: datetime | None = Field(description="the latest probe result")
    detail: str = Field(description="why the latest failure failed (the operator only)")
    down_seconds: int = Field(description="downtime in the window, service hours or not")
    history: list[SlotState] = Field(description="the window, oldest slot first")


class StatusOut(BaseModel):
    tenant: str | None = Field(description="null: the platform-wide view (operator)")
    at: datetime
    window_hours: int
    slot_minutes: int
    functions: list[FunctionStatusOut]
