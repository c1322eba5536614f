"""The chat room's request schemas: widgets and canned responses (admin API), the visitor's
API (``/chat/api/...``) and the agent console's.

Shape, types and bounds only; rules that need the database (the queue is the tenant's, the
shortcut is free) are :mod:`controlplane.chat.widget_settings`' and :mod:`.canned`'s and
come back as 422 ``invalid_form``. Chat text is at most ``BODY_MAX`` (4000) characters.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from controlplane.models.chat import BODY_MAX
from web.schemas.common import MULTI_LINE, ONE_LINE, Body, Id, Query

Line = Annotated[str, Field(max_length=200), ONE_LINE]
Short = Annotated[str, Field(max_length=100), ONE_LINE]
Text = Annotated[str, Field(min_length=1, max_length=BODY_MAX), MULTI_LINE]
Origin = Annotated[str, Field(max_length=200, pattern=r"^https?://[A-Za-z0-9.\-\[\]:]+/?$")]
Mode = Literal["required", "optional", "off"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
HHMM = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class Greetings(Body):
    """The first line a visitor reads, per kind (empty: the widget's own default)."""

    new: Annotated[str, Field(max_length=500), ONE_LINE] = ""
    returning: Annotated[str, Field(max_length=500), ONE_LINE] = ""
    identified: Annotated[str, Field(max_length=500), ONE_LINE] = ""


class FormFields(Body):
    """Each pre-chat field: required, optional or off."""

    name: Mode = "optional"
    email: Mode = "optional"
    phone: Mode = "off"


class Hours(Body):
    """Opening hours (``controlplane.chat.hours``): weekdays, local ``from``–``to``, closed
    on Polish public holidays (``holidays``) and on the tenant's named calendars."""

    days: Annotated[list[Weekday], Field(min_length=1, max_length=7)]
    from_: HHMM = Field(alias="from")
    to: HHMM
    holidays: bool = True
    calendars: Annotated[list[Annotated[str, Field(max_length=64), ONE_LINE]],
                         Field(max_length=20)] = []


class WidgetBody(Body):
    """A website's chat widget. ``origins``: the sites allowed to embed it
    (``https://shop.example``); ``hours`` null = always open."""

    name: Short | None = None
    queue_id: Id | None = None
    origins: Annotated[list[Origin], Field(max_length=20)] | None = None
    title: Short | None = None
    color: Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")] | None = None
    greetings: Greetings | None = None
    form_fields: FormFields | None = None
    hours: Hours | None = None
    survey: bool | None = None
    active: bool | None = None


class CannedBody(Body):
    """A canned response: ``shortcut`` (typed after ``/`` in the console), ``title`` and
    ``body``, which may name ``{{ visitor_name }}``, ``{{ visitor_email }}``,
    ``{{ agent_name }}``."""

    shortcut: Annotated[str, Field(min_length=1, max_length=40,
                                   pattern=r"^[a-z0-9_\-]+$")] | None = None
    title: Short | None = None
    body: Text | None = None


class Identity(Body):
    """A customer the website knows, signed by it: ``hash`` = hex HMAC-SHA256 of ``id``
    under the widget's identity secret."""

    id: Annotated[str, Field(min_length=1, max_length=200), ONE_LINE]
    name: Line = ""
    email: Annotated[str, Field(max_length=254), ONE_LINE] = ""
    hash: Annotated[str, Field(min_length=64, max_length=64, pattern=r"^[0-9a-f]+$")]


class StartBody(Body):
    """A visitor starts a chat (the pre-chat form). ``visitor``: the id the widget keeps in
    the browser; ``returning``: the browser had it before this visit."""

    name: Line = ""
    email: Annotated[str, Field(max_length=254), ONE_LINE] = ""
    phone: Annotated[str, Field(max_length=32, pattern=r"^[0-9+ ()\-]*$")] = ""
    message: Annotated[str, Field(max_length=BODY_MAX), MULTI_LINE] = ""
    visitor: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_-]*$")] = ""
    returning: bool = False
    page: Annotated[str, Field(max_length=1000), ONE_LINE] = ""
    identity: Identity | None = None


class OfflineBody(Body):
    """A visitor's message outside opening hours: a ticket, answered later."""

    name: Line = ""
    email: Annotated[str, Field(max_length=254), ONE_LINE] = ""
    phone: Annotated[str, Field(max_length=32, pattern=r"^[0-9+ ()\-]*$")] = ""
    message: Text


class MessageBody(Body):
    body: Text


class SurveyBody(Body):
    score: Annotated[int, Field(ge=1, le=5)]
    comment: Annotated[str, Field(max_length=2000), MULTI_LINE] = ""


class StreamQuery(Query):
    """``after``: the last message ``seq`` the client has (resume after a reconnect)."""

    after: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0


class ConfigQuery(Query):
    """``returning``: the browser kept the widget's visitor id from an earlier visit."""

    returning: bool = False


class TransferBody(Body):
    """Where to: ``agent:<user id>`` or ``queue:<queue id>``."""

    target: Annotated[str, Field(pattern=r"^(agent|queue):[1-9][0-9]{0,9}$")]


class TypingBody(Body):
    typing: bool = True
