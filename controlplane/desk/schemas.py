"""The desk's request and response schemas: one per resource, shared by ``/api/v1``, the
pages (their forms are read into the same shapes) and the API description.

Shape, types and bounds here; the rules (a category, queue or assignee of the tenant; a
template that renders) are :mod:`.service`'s and :mod:`.templates`'s and come back as 422
``invalid_form`` or 400 ``template_invalid``, naming the field.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from controlplane.models.tickets import SUBJECT_MAX
from web.schemas.common import MULTI_LINE, ONE_LINE, Body, Id, Query

Status = Literal["new", "open", "pending", "solved", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]
Channel = Literal["email", "sms", "chat", "call", "web", "panel"]
Line100 = Annotated[str, Field(min_length=1, max_length=100), ONE_LINE]
Subject = Annotated[str, Field(min_length=1, max_length=SUBJECT_MAX), ONE_LINE]
MessageText = Annotated[str, Field(min_length=1, max_length=20_000), MULTI_LINE]
Assignee = Annotated[str, Field(max_length=12, pattern=r"^(mine|unassigned|[1-9][0-9]{0,9})$")]
MAX_PER_PAGE = 100


class TicketFilters(Query):
    """Filters of the ticket list: ``status`` (one, or ``active``: new, open and
    pending), ``priority``, ``category_id``, ``assignee`` (``mine``, ``unassigned`` or a
    user id), ``queue_id``, ``channel``, ``q`` (words in the subject or the requester's
    address or name; a number is also the ticket number)."""

    status: Status | Literal["active"] | None = None
    priority: Priority | None = None
    category_id: Id | None = None
    assignee: Assignee | None = None
    queue_id: Id | None = None
    channel: Channel | None = None
    q: Annotated[str, Field(max_length=100)] | None = None


class TicketListQuery(TicketFilters):
    """The filters, ``view_id`` (a saved view's filters, overridden by those given),
    paging and ``sort`` (``number``, ``updated``, ``created``, ``priority``, ``status``,
    ``subject``; ``-`` in front for descending; default ``-updated``)."""

    view_id: Id | None = None
    sort: Annotated[str, Field(max_length=32, pattern=r"^-?[a-z_]+$")] | None = None
    page: Annotated[int, Field(ge=1, le=100_000)] = 1
    per_page: Annotated[int, Field(ge=1, le=MAX_PER_PAGE)] = 50


class TicketCreate(Body):
    """A ticket opened for a customer: the subject, their first message as taken down, who
    they are (``requester``: an e-mail address or a number), and optional fields."""

    subject: Subject
    body: MessageText
    requester: Annotated[str, Field(min_length=1, max_length=320), ONE_LINE]
    requester_name: Annotated[str, Field(max_length=200), ONE_LINE] = ""
    priority: Priority | None = None
    category_id: Id | None = None
    queue_id: Id | None = None
    assignee_user_id: Id | None = None


class TicketPatch(Body):
    """The fields to change (those not sent keep their value; ``null`` clears the
    category, the assignee or the queue). Each change is kept on the ticket's history."""

    subject: Subject | None = None
    status: Status | None = None
    priority: Priority | None = None
    category_id: Id | None = None
    assignee_user_id: Id | None = None
    queue_id: Id | None = None


class MessageCreate(Body):
    """A reply to the customer (out through the ticket's channel) or, with ``note``, a
    private note only agents see."""

    body: MessageText
    note: bool = False


class TimeCreate(Body):
    """Minutes worked on the ticket (1 to 1440) and what on."""

    minutes: Annotated[int, Field(ge=1, le=1440)]
    note: Annotated[str, Field(max_length=200), ONE_LINE] = ""


class MergeCreate(Body):
    """``{"into": N}``: this ticket is merged into ticket id N (its messages show there)."""

    into: Id


class PresenceCreate(Body):
    """The page says the user is on this ticket: ``viewing`` or ``typing`` a reply."""

    state: Literal["viewing", "typing"] = "viewing"


class CategoryBody(Body):
    """A ticket category: its name and whether new tickets may use it."""

    name: Line100 | None = None
    active: bool | None = None


# ---- what the API answers ----


class TicketOut(BaseModel):
    """A ticket's fields (times in ISO 8601, UTC)."""

    id: int
    number: int
    subject: str
    status: str
    priority: str
    channel: str
    requester: str
    requester_name: str
    contact_id: int | None
    category_id: int | None
    assignee_user_id: int | None
    queue_id: int | None
    merged_into_id: int | None
    created_at: str
    updated_at: str
    first_response_at: str | None
    solved_at: str | None


class TicketRow(TicketOut):
    """A ticket as the list shows it, with its assignee's, category's and queue's names."""

    assignee: str | None
    category: str | None
    queue: str | None


class TicketList(BaseModel):
    """One page of tickets and where it is in the whole."""

    tickets: list[TicketRow]
    page: int
    per_page: int
    total: int
    pages: int


class AttachmentOut(BaseModel):
    """An attachment of a message: download it at
    ``/api/v1/tickets/<ticket>/messages/<message>/attachments/<index>``; ``stored``: false
    when only its description was kept."""

    index: int
    name: str
    type: str
    size: int
    stored: bool


class MessageOut(BaseModel):
    """A message: ``direction`` in (customer), out (a reply) or note (private);
    ``delivery``: pending, sent or ``failed: …`` for replies sent through a channel."""

    id: int
    ticket_id: int
    direction: str
    channel: str
    author_user_id: int | None
    sender: str
    body: str
    external_id: str | None
    delivery: str | None
    created_at: str
    attachments: list[AttachmentOut] = []


class EventOut(BaseModel):
    """A line of the ticket's history: ``kind`` (created, status, priority, category_id,
    assignee_user_id, queue_id, subject, time, merged_into, merged_from, rule), who, old
    and new value, details."""

    id: int
    kind: str
    actor: str
    old: str
    new: str
    detail: dict[str, Any]
    created_at: str


class PresenceOut(BaseModel):
    """Another user on the ticket now: who and whether they are typing a reply."""

    user_id: int
    name: str
    state: str


class TicketDetail(BaseModel):
    """A ticket with its thread (its own messages and those of tickets merged into it),
    history, minutes logged and who else is on it."""

    ticket: TicketOut
    messages: list[MessageOut]
    events: list[EventOut]
    minutes: int
    presence: list[PresenceOut]


class TicketResponse(BaseModel):
    ticket: TicketOut


class MessageList(BaseModel):
    messages: list[MessageOut]


class MessageResponse(BaseModel):
    message: MessageOut


class TimeResponse(BaseModel):
    """The ticket's total minutes after logging."""

    minutes: int


class PresenceList(BaseModel):
    presence: list[PresenceOut]


class CategoryOut(BaseModel):
    id: int
    name: str
    active: bool


class CategoryList(BaseModel):
    categories: list[CategoryOut]


class CategoryResponse(BaseModel):
    category: CategoryOut


class TemplateBody(Body):
    """A response template: its name and Jinja text using the parameters
    (``{{ requester_name }}``, ``{{ ticket_number }}``, ``{{ agent_name }}``…)."""

    name: Line100 | None = None
    body: Annotated[str, Field(min_length=1, max_length=20_000), MULTI_LINE] | None = None
    active: bool | None = None


class TemplateOut(BaseModel):
    id: int
    name: str
    body: str
    active: bool


class TemplateList(BaseModel):
    templates: list[TemplateOut]
    parameters: list[str]


class TemplateResponse(BaseModel):
    template: TemplateOut


class RenderBody(Body):
    """Render response template ``template_id`` for this ticket."""

    template_id: Id


class RenderResponse(BaseModel):
    """The template's text for this ticket, to put into the reply."""

    text: str


class ViewBody(TicketFilters):
    """A saved list view: its ``name`` and the filters it keeps (a view of the same name
    is replaced)."""

    model_config = Body.model_config
    name: Line100


class ViewOut(BaseModel):
    id: int
    name: str
    filters: dict[str, Any]


class ViewList(BaseModel):
    views: list[ViewOut]


class ViewResponse(BaseModel):
    view: ViewOut


class Deleted(BaseModel):
    deleted: int


RuleTrigger = Literal["created", "updated", "message", "time"]


class RuleBody(Body):
    """A business rule: ``trigger`` (created, updated, message or time), ``conditions``
    (``{"field", "op", "value"}``, all must hold) and ``actions`` (``{"set": field,
    "value"}``, ``{"note": text}``, ``{"reply_template": id}``, ``{"webhook": label}``), in
    ``position`` order with the tenant's other rules. The fields and operators are listed
    in :mod:`controlplane.desk.rules`; a wrong one is 422 naming it."""

    name: Line100 | None = None
    trigger: RuleTrigger | None = None
    conditions: Annotated[list[dict[str, Any]], Field(max_length=20)] | None = None
    actions: Annotated[list[dict[str, Any]], Field(max_length=10)] | None = None
    active: bool | None = None
    position: Annotated[int, Field(ge=0, le=1_000_000)] | None = None


class RuleOut(BaseModel):
    id: int
    name: str
    trigger: str
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    active: bool
    position: int


class UsageOut(BaseModel):
    """Rule runs this month (``YYYY-MM``) and the tenant's limit (null: none)."""

    month: str
    runs: int
    limit: int | None


class RuleList(BaseModel):
    rules: list[RuleOut]
    usage: UsageOut


class RuleResponse(BaseModel):
    rule: RuleOut


# ---- tickets routed by the ACD (controlplane.desk.http.routing) ----


class RoutedTicketOut(BaseModel):
    """A ticket the ACD offered to the agent or gave them; an offer with ``offer_until``
    (ISO 8601) and the whole seconds left."""

    ticket_id: int
    number: int
    subject: str
    channel: str
    requester: str
    queue: str
    offer_until: str | None = None
    seconds_left: int | None = None


class RoutedTickets(BaseModel):
    offers: list[RoutedTicketOut]
    held: list[RoutedTicketOut]


class RoutingAnswer(BaseModel):
    """The daemon carried out ``action`` (accept, decline, release) on ``ticket_id``."""

    ok: bool
    ticket_id: int
    action: str
