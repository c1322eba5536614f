"""The admin room's request schemas: phones, DIDs and agent skills (one per resource,
shared by the pages, ``/api/v1`` and the API description).

These models check shape, types and bounds. The rules a value must follow (the extension
is free in the tenant, the user is the tenant's, a DID routes to exactly one target) are
:mod:`controlplane.admin.service`'s, shared with the HTML forms, and come back as 422
``invalid_form``. ``null`` means "blank", as an empty form field does.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from web.schemas.common import Body, Id, Query

Line64 = Annotated[str, Field(max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")]
Digits = Annotated[str, Field(max_length=32, pattern=r"^\+?[0-9 ]*$")]
Transport = Literal["udp", "tcp"]
MAX_PER_PAGE = 100


class ListQuery(Query):
    """Paging, filter and sort of every admin list: ``?q=10&sort=-extension&page=2``.
    ``sort`` is a column name, ``-`` in front for descending."""

    q: Annotated[str, Field(max_length=64)] | None = None
    sort: Annotated[str, Field(max_length=32, pattern=r"^-?[a-z_]+$")] | None = None
    page: Annotated[int, Field(ge=1, le=100_000)] = 1
    per_page: Annotated[int, Field(ge=1, le=MAX_PER_PAGE)] = 50


class PhoneBody(Body):
    """A phone to create or the fields to change. ``name`` (the SIP user) is generated
    from the tenant and the extension when not given; the SIP password is always
    generated (``POST …/credentials`` shows it, ``…/credentials/regenerate`` replaces it)."""

    extension: Annotated[str, Field(max_length=20)] | None = None
    name: Line64 | None = None
    user_id: Id | None = None
    transport: Transport | None = None


class DidBody(Body):
    """A DID: ``number`` and where it goes, exactly one of ``phone_id``, ``flow_id`` and
    ``queue_id`` (a queue of the tenant: callers wait there for its agents);
    ``trunk_id`` is the trunk it arrives on (optional), ``prompt`` what a direct call hears."""

    number: Digits | None = None
    phone_id: Id | None = None
    flow_id: Id | None = None
    queue_id: Id | None = None
    trunk_id: Id | None = None
    prompt: Annotated[str, Field(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")] | None = None


class AgentSkillBody(Body):
    """An agent's skill: ``user_id``, ``skill`` (a name) and ``level`` 1 (novice) to 10."""

    user_id: Id | None = None
    skill: Line64 | None = None
    level: Annotated[int, Field(ge=1, le=10)] | None = None


class TrunkBody(Body):
    """A carrier trunk: ``host`` (its address: inbound calls are identified by it alone),
    ``port``, ``transport``, the ``username``/``secret`` the carrier gave (the secret is
    write-only), ``register`` (register to the carrier) and ``channels`` (concurrent calls).
    The SIP object name is the platform's."""

    host: Annotated[str, Field(max_length=253, pattern=r"^[^\x00-\x1f\x7f]*$")] | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    transport: Transport | None = None
    username: Annotated[str, Field(max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")] | None = None
    secret: Annotated[str, Field(max_length=128, pattern=r"^[^\x00-\x1f\x7f]*$")] | None = None
    # "register" would shadow pydantic's BaseModel.register: the field is named apart
    register_: bool | None = Field(default=None, alias="register")
    channels: Annotated[int, Field(ge=1, le=10_000)] | None = None
