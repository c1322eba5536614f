"""The ACD's request schemas: queues and break reasons (``/api/v1/queues``,
``/api/v1/break-reasons``), and the agent status command (``/api/v1/agents/<id>/command``).

These models check shape, types and bounds; the rules a value must follow
(choices, "greater than 0", names unique in the tenant, members of the tenant)
are :mod:`controlplane.acd.http.queue_form`'s, shared with the HTML form, and come back as 422
``invalid_form``. ``null`` means "blank", as an empty form field does: the
default for an optional field, "required" for the others.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from controlplane.bus import AGENT_ACTIONS
from web.schemas.common import MAX_ITEMS, ONE_LINE, Body, Count, Id, Number, SignedInt

Word = Annotated[str, Field(max_length=32), ONE_LINE]


class QueueMember(Body):
    user_id: Id
    penalty: Count = 0


class QueueBody(Body):
    """A queue to create (fields not sent take their default) or the fields to change."""

    name: Annotated[str, Field(max_length=64), ONE_LINE] | None = None
    strategy: Word | None = None
    ring_timeout_s: Number | None = None
    wrap_up_s: Number | None = None
    max_wait_s: Number | None = None
    max_waiting: SignedInt | None = None
    overflow_queue_id: Id | None = None
    no_agents: Word | None = None
    announce_every_s: Number | None = None
    recording: Word | None = None
    sl_threshold_s: Number | None = None
    sticky_wait_s: Number | None = None
    sticky_max_age_s: Number | None = None
    skill_preference: Word | None = None
    aging_rate_per_s: Number | None = None
    aging_max_bonus: Number | None = None
    serve_order: SignedInt | None = None
    moh_class: Annotated[str, Field(max_length=80), ONE_LINE] | None = None
    members: Annotated[list[QueueMember], Field(max_length=MAX_ITEMS)] | None = None


class BreakReasonBody(Body):
    """A new break reason: ``code`` (digits an agent dials after ``*52``), ``label``,
    ``kind`` and, for a conditional break, ``max_on_break``."""

    code: Annotated[str, Field(max_length=32), ONE_LINE] | None = None
    label: Annotated[str, Field(max_length=100), ONE_LINE] | None = None
    kind: Word | None = None
    max_on_break: Count | None = None


# Agents: the status command an agent or a supervisor sends.
Command = Literal[AGENT_ACTIONS]  # type: ignore[valid-type]
MAX_REASON_LEN = 32


class AgentCommand(Body):
    """``{"command": "break", "reason": "2"}``; ``reason`` is a break reason code."""

    command: Command
    reason: Annotated[str, Field(max_length=MAX_REASON_LEN), ONE_LINE] | None = None


class CallQualityBody(Body):
    """What the webphone measured on its leg of one call (WebRTC ``getStats``)."""

    packets_received: Annotated[int, Field(ge=0, le=100_000_000)]
    packets_lost: Annotated[int, Field(ge=0, le=100_000_000)]
    jitter_ms: Annotated[float, Field(ge=0, le=60_000)] | None = None
    rtt_ms: Annotated[float, Field(ge=0, le=60_000)] | None = None
    first_audio_ms: Annotated[int, Field(ge=0, le=3_600_000)] | None = None
    codec: Annotated[str, Field(max_length=32), ONE_LINE] = ""


class CallQualityOut(BaseModel):
    source: str
    packets_received: int
    packets_lost: int
    loss_pct: float | None
    jitter_ms: float | None
    rtt_ms: float | None
    first_audio_ms: int | None
    codec: str
    reported_at: str


class CallQualityResponse(BaseModel):
    call_id: str
    quality: CallQualityOut

# Channels and capacity (/api/v1/acd/channels, /admin/channels): models/acd_channels.py.
Chats = Annotated[int, Field(ge=0, le=20)]


class ChannelSettingsBody(Body):
    """The fields to change: chats an agent holds at once (0–20), whether a call may reach
    an agent holding chats, how long a chat offer waits for the agent (5–300 s); e-mails
    (tickets) an agent holds at once (0–20) and how long an e-mail offer waits (5–3600 s)."""

    chats_per_agent: Chats | None = None
    voice_with_chats: bool | None = None
    chat_offer_timeout_s: Annotated[int, Field(ge=5, le=300)] | None = None
    emails_per_agent: Annotated[int, Field(ge=0, le=20)] | None = None
    email_offer_timeout_s: Annotated[int, Field(ge=5, le=3600)] | None = None


class AgentCapacityBody(Body):
    """An agent's own chat and e-mail limits; ``null``: the tenant's; a field left out stays
    as it is."""

    chats: Chats | None = None
    emails: Annotated[int, Field(ge=0, le=20)] | None = None


class AgentCapacityOut(BaseModel):
    user_id: int
    login: str
    chats: int | None
    emails: int | None = None


class ChannelSettingsOut(BaseModel):
    chats_per_agent: int
    voice_with_chats: bool
    chat_offer_timeout_s: int
    emails_per_agent: int
    email_offer_timeout_s: int
    agents: list[AgentCapacityOut]
