"""Request bodies of the SMS API (``/api/v1/sms/...``): shape, types and bounds.

The rules (a valid sender ID, E.164 numbers, the tenant's queue, known parameters) are
:mod:`controlplane.desk.sms.service`'s, shared with the page, and come back as 422
``invalid_form`` naming the field. Fields not sent keep their value.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from controlplane.models.sms import AUTO_REPLY_MAX, TEMPLATE_BODY_MAX
from web.schemas.common import MULTI_LINE, ONE_LINE, Body, Id

Line = Annotated[str, Field(max_length=500), ONE_LINE]
Number = Annotated[str, Field(max_length=32), ONE_LINE]


class SmsAccountBody(Body):
    """The tenant's SMS account: ``provider`` (``http``), ``api_url`` (outbound SMS are
    posted there), ``api_key`` (write-only; empty keeps it), ``numbers`` (E.164),
    ``sender_id`` (alphanumeric, 1–11 characters with a letter, or a number), ``queue_id``
    (new tickets go there; null: none), the auto-reply (``auto_reply_enabled``,
    ``auto_reply_text`` with ``{{ ticket_number }}`` etc., ``auto_reply_quiet_hours``: at
    most one auto-reply per number in that many hours) and ``active``."""

    provider: Literal["http"] | None = None
    api_url: Line | None = None
    api_key: Annotated[str, Field(max_length=500), ONE_LINE] | None = None
    numbers: Annotated[list[Number], Field(max_length=20)] | None = None
    sender_id: Annotated[str, Field(max_length=16), ONE_LINE] | None = None
    queue_id: Id | None = None
    auto_reply_enabled: bool | None = None
    auto_reply_text: Annotated[str, Field(max_length=AUTO_REPLY_MAX), MULTI_LINE] | None = None
    auto_reply_quiet_hours: Annotated[int, Field(ge=1, le=720)] | None = None
    active: bool | None = None


class SmsTemplateBody(Body):
    """A reply template: ``name`` and ``body`` with ``{{ parameters }}``
    (ticket_number, customer_number, agent_name, company)."""

    name: Annotated[str, Field(min_length=1, max_length=100), ONE_LINE] | None = None
    body: Annotated[str, Field(max_length=TEMPLATE_BODY_MAX), MULTI_LINE] | None = None


class SegmentsBody(Body):
    """A text to count: ``{"text": "..."}`` (GSM-7 or UCS-2, segments)."""

    text: Annotated[str, Field(max_length=TEMPLATE_BODY_MAX), MULTI_LINE] = ""


# --- what the API answers (web.api.responses.responds: the API description) -------------


class SegmentsOut(BaseModel):
    """How a text goes: ``encoding`` gsm7/ucs2, ``units`` in all, ``segments`` (SMS billed),
    ``per_segment``, ``left`` in the last one, ``forcing`` (the characters forcing UCS-2)."""

    encoding: Literal["gsm7", "ucs2"]
    units: int
    segments: int
    per_segment: int
    left: int
    forcing: list[str]


class SegmentsResponse(BaseModel):
    """A text's segment count."""

    segments: SegmentsOut


class AccountOut(BaseModel):
    """The SMS account; ``api_key_set`` says whether a key is stored (never the key),
    ``inbound_path`` is where the gateway posts (signed with the inbound secret)."""

    id: int
    provider: str
    api_url: str
    api_key_set: bool
    inbound_path: str
    numbers: list[str]
    sender_id: str
    queue_id: int | None
    auto_reply_enabled: bool
    auto_reply_text: str
    auto_reply_segments: SegmentsOut
    auto_reply_quiet_hours: int
    active: bool


class AccountResponse(BaseModel):
    """The tenant's SMS account (null before it is saved); ``inbound_secret`` only in the
    answer that created it."""

    account: AccountOut | None
    inbound_secret: str | None = None


class SecretResponse(BaseModel):
    """A new inbound secret, answered this once."""

    inbound_secret: str


class TemplateOut(BaseModel):
    """A reply template with the parameters it uses and its segment count."""

    id: int
    name: str
    body: str
    parameters: list[str]
    segments: SegmentsOut


class TemplateResponse(BaseModel):
    """One reply template."""

    template: TemplateOut


class TemplateList(BaseModel):
    """The tenant's reply templates, by name."""

    templates: list[TemplateOut]


class Deleted(BaseModel):
    """The id of what was deleted."""

    deleted: int
