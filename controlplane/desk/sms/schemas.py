"""Request bodies of the SMS API (``/api/v1/sms/...``): shape, types and bounds.

The rules (a valid sender ID, E.164 numbers, the tenant's queue, known parameters) are
:mod:`controlplane.desk.sms.service`'s, shared with the page, and come back as 422
``invalid_form`` naming the field. Fields not sent keep their value.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

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
