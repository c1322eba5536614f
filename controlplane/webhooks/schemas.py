"""The webhooks' request schemas (``/api/v1/webhooks`` and the panel's form).

Shape, types and bounds here; the target URL's rule (public address, http/https) is
:func:`controlplane.webhooks.transport.resolve_target`'s, checked at save and before every
attempt, and comes back as 422 ``invalid_target`` naming the field ``url``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from controlplane.webhooks.events import EVENT_TYPES
from web.schemas.common import ONE_LINE, Body, Form, Id, Query

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
Url = Annotated[str, Field(min_length=1, max_length=2000), ONE_LINE]
Description = Annotated[str, Field(max_length=200), ONE_LINE]
Events = Annotated[list[EventType], Field(min_length=1, max_length=len(EVENT_TYPES))]
State = Literal["pending", "delivered", "dead"]


class WebhookCreate(Body):
    """A new subscription: ``url`` and ``events`` required; the secret is generated."""

    url: Url
    events: Events
    description: Description = ""
    active: bool = True


class WebhookUpdate(Body):
    """The fields to change (those not sent keep their value)."""

    url: Url | None = None
    events: Events | None = None
    description: Description | None = None
    active: bool | None = None


class DeliveriesQuery(Query):
    """A page of a subscription's deliveries, newest first: ``state`` filters (``dead``
    is the dead-letter list), ``before`` is the last id of the previous page."""

    state: State | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    before: Id | None = None


# The page's form: one checkbox per event type, named like the type with "_" for ".".
def field_of(event_type: str) -> str:
    return "ev_" + event_type.replace(".", "_")


class WebhookForm(Form):
    url: Annotated[str, Field(max_length=2000)] = ""
    description: Annotated[str, Field(max_length=200)] = ""
    active: Literal["on"] | None = None
    ev_call_started: Literal["on"] | None = None
    ev_call_answered: Literal["on"] | None = None
    ev_call_ended: Literal["on"] | None = None
    ev_recording_ready: Literal["on"] | None = None
    ev_agent_status_changed: Literal["on"] | None = None
    ev_disposition_set: Literal["on"] | None = None
    ev_campaign_attempt_finished: Literal["on"] | None = None
    ev_wallboard_alert: Literal["on"] | None = None
    ev_ticket_created: Literal["on"] | None = None
    ev_ticket_updated: Literal["on"] | None = None
    ev_ticket_message: Literal["on"] | None = None

    def events(self) -> list[str]:
        return [t for t in EVENT_TYPES if getattr(self, field_of(t)) == "on"]
