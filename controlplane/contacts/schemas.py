"""The contacts room's request schemas: one per resource, shared by ``/api/v1`` and the
API description (the pages post plain forms that :mod:`.service` checks by the same rules).

Shape, types and bounds here; the rules (a number is valid in the tenant's region and no
other contact's, one main number, a known time zone) are :mod:`.service`'s and come back
as 422 ``invalid_form`` or 409 ``number_taken``, naming the field.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from web.schemas.common import ONE_LINE, Body, Id

Line100 = Annotated[str, Field(max_length=100), ONE_LINE]
CustomKey = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]
CustomValue = Annotated[str, Field(max_length=500), ONE_LINE] | Annotated[
    int, Field(ge=-(2**53), le=2**53)] | bool | None
MAX_PHONES = 20
MAX_CUSTOM = 50


class PhoneIn(Body):
    """A number as typed (``600 100 200`` in the tenant's region, or ``+48600100200``);
    ``main`` marks the number the dialer calls first (the first one when none is)."""

    number: Annotated[str, Field(min_length=1, max_length=32), ONE_LINE]
    main: bool = False


class ContactBody(Body):
    """A contact to create or the fields to change (fields not sent keep their value).
    ``phones`` replaces the whole list; ``custom`` replaces the custom fields."""

    first_name: Line100 | None = None
    last_name: Line100 | None = None
    email: Annotated[str, Field(max_length=254), ONE_LINE] | None = None
    timezone: Annotated[str, Field(max_length=64), ONE_LINE] | None = None
    custom: Annotated[dict[CustomKey, CustomValue], Field(max_length=MAX_CUSTOM)] | None = None
    phones: Annotated[list[PhoneIn], Field(max_length=MAX_PHONES)] | None = None


class MergeBody(Body):
    """``{"from_id": N}``: contact N is merged into this one and deleted."""

    from_id: Id


# ---- what the API answers (for the API description; the views build plain dicts) ----


class PhoneOut(BaseModel):
    """A number of a contact in E.164; ``main``: the one the dialer calls first."""

    id: int
    number: str
    main: bool
    kind: str
    country: str
    region: str


class ContactOut(BaseModel):
    """A contact: its fields, custom fields and numbers (main first)."""

    id: int
    first_name: str
    last_name: str
    name: str
    email: str
    timezone: str | None
    custom: dict[str, Any]
    phones: list[PhoneOut]
    created_at: str
    updated_at: str


class ContactResponse(BaseModel):
    """One contact."""

    contact: ContactOut


class ContactRow(BaseModel):
    """A contact as a list shows it."""

    id: int
    name: str
    first_name: str
    last_name: str
    email: str
    main_number: str | None
    updated_at: str


class ContactList(BaseModel):
    """One page of contacts and where it is in the whole."""

    contacts: list[ContactRow]
    page: int
    per_page: int
    total: int
    pages: int


class MergeOut(BaseModel):
    """A merge: ``merged_id`` (deleted) went into this contact; its old name and e-mail,
    who merged it, when, and what moved."""

    id: int
    merged_id: int
    merged_name: str
    merged_email: str
    actor: str
    moved: dict[str, Any]
    merged_at: str


class MergeResponse(BaseModel):
    """The contact after the merge, and the merge log row."""

    contact: ContactOut
    merge: MergeOut


class HistoryResponse(BaseModel):
    """The contact's timeline, newest first (``kind``: campaign_record, attempt, call,
    recontact, hlr; ``at``: ISO 8601), and its merge log."""

    history: list[dict[str, Any]]
    merges: list[MergeOut]


class Deleted(BaseModel):
    """The id of the contact deleted."""

    deleted: int
