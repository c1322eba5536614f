"""The tenant's outbound (toll-fraud) policy (``PUT /api/v1/outbound-policy``).

This model checks shape, JSON types and storage bounds; the policy's rules (a
region code phonenumbers knows, classes from the list, caps from 0 to
``MAX_LIMIT``) are :func:`web.outbound_policy.parse_policy`'s, shared with the
page's form, and come back as 422 ``invalid_policy`` naming each field, as the
queues' rules do. ``null`` means "blank", as an empty form field does.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from web.schemas.common import ONE_LINE, Body, SignedInt

MAX_CLASSES = 32  # a handful of classes exist; repeats are harmless, thousands are not
Word = Annotated[str, Field(max_length=32), ONE_LINE]


class OutboundPolicyBody(Body):
    """The fields to change (the others keep their value); ``allowed``, when sent, is
    the whole list of allowed destination classes."""

    region: Annotated[str, Field(max_length=8), ONE_LINE] | None = None
    allowed: Annotated[list[Word], Field(max_length=MAX_CLASSES)] | None = None
    max_concurrent: SignedInt | None = None
    max_per_hour: SignedInt | None = None
