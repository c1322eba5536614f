"""The desktop room's request and response schemas (``/api/v1``; the API description reads
them). Shapes and bounds here; the rules (a known disposition, a future recontact time, the
call is the agent's own) are :mod:`.wrapup`'s and :mod:`.screen_pop`'s and name the field."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from controlplane.desk.schemas import RoutedTickets
from controlplane.models.desktop import CODE_MAX, LABEL_MAX, NOTE_MAX, URL_MAX
from web.schemas.common import MULTI_LINE, ONE_LINE, Body

Code = Annotated[str, Field(min_length=1, max_length=CODE_MAX, pattern=r"^[A-Za-z0-9_.-]+$")]


class WrapUpBody(Body):
    """``{"disposition"?, "note"?, "recontact_at"?}``: ``recontact_at`` is ISO 8601 with a
    zone, in the future; at least one of the three."""

    disposition: Code | None = None
    note: Annotated[str, Field(max_length=NOTE_MAX), MULTI_LINE] = ""
    recontact_at: Annotated[str, Field(max_length=64), ONE_LINE] | None = None


class DispositionBody(Body):
    """One disposition of the tenant's list (for every call): ``code`` and its label."""

    code: Code
    label: Annotated[str, Field(max_length=LABEL_MAX), ONE_LINE] = ""
    position: Annotated[int, Field(ge=0, le=1000)] = 0


class SettingsBody(Body):
    """The screen pop: a URL template with ``{number}``, ``{call_id}``, ``{queue}``
    (http or https; empty or null: none) and ``mode``: ``tab`` or ``iframe``."""

    screen_pop_url: Annotated[str, Field(max_length=URL_MAX), ONE_LINE] | None = None
    screen_pop_mode: Annotated[str, Field(pattern=r"^(tab|iframe)$")] = "tab"
    supervision_notice: bool = False  # tell agents when a supervisor joins their call


class QuickContactBody(Body):
    """A contact for the caller of the call on your phone now (``call_id``): its names;
    the number is the call's."""

    call_id: Annotated[str, Field(min_length=1, max_length=128), ONE_LINE]
    first_name: Annotated[str, Field(max_length=100), ONE_LINE] = ""
    last_name: Annotated[str, Field(min_length=1, max_length=100), ONE_LINE]


# ---- what the API answers ----


class QuickContactOut(BaseModel):
    contact_id: int
    name: str



class WrapUpOut(BaseModel):
    disposition: str | None
    note: str
    recontact_id: int | None
    updated_at: str | None


class WrapUpResponse(BaseModel):
    call_id: str
    wrapup: WrapUpOut
    campaign: dict[str, Any] | None = None


class CallOut(BaseModel):
    """The call on the agent's phone: ``status`` ``ringing`` or ``talking``; ``number`` the
    customer's (``number_national`` as written in the tenant's country); ``wait_s`` from the
    call's start to the agent's answer (to now while ringing)."""

    call_id: str
    direction: str
    status: str
    number: str
    number_national: str
    did: str | None
    did_national: str | None
    started_at: str | None
    answered_at: str | None
    wait_s: float | None
    queue: str | None = None
    call_record_id: int | None = None
    contact: dict[str, Any] | None = None
    campaign: dict[str, Any] | None = None
    ivr_variables: dict[str, str] = {}
    wrapup: WrapUpOut | None = None
    screen_pop_url: str | None = None


class DispositionOut(BaseModel):
    code: str
    label: str


class InteractionResponse(BaseModel):
    """The agent's status (as ``/api/v1/agents/me``), the current call or null, and the
    dispositions the agent may give it; the e-mail (ticket) offers waiting for the agent
    and the tickets the ACD gave them."""

    agent: dict[str, Any]
    call: CallOut | None
    dispositions: list[DispositionOut]
    screen_pop_mode: str
    tickets: RoutedTickets | None = None


class DispositionList(BaseModel):
    dispositions: list[DispositionOut]


class SettingsOut(BaseModel):
    screen_pop_url: str | None
    screen_pop_mode: str
    supervision_notice: bool
