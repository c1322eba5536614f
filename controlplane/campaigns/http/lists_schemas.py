"""Request schemas of the dial lists: blacklists, the caller-ID pool and recontacts (one per
resource, shared by the pages, ``/api/v1`` and the API description).

Shape, types and bounds here; the rules (a number valid in its region, a campaign of the
tenant, a time in the future) are the domain's (:mod:`controlplane.campaigns.blacklist`,
:mod:`controlplane.campaigns.caller_ids`, :mod:`controlplane.campaigns.recontact_list`)
and come back as 400 naming their field, or 409 for a duplicate.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, model_validator

from web.schemas.common import ONE_LINE, Body, Form, Id, Query, file_part, file_required

BlacklistFile = file_part("attach the list as the multipart field 'file' "
                          "(curl -F file=@blacklist.csv)")

MAX_PER_PAGE = 200
PatternText = Annotated[str, Field(min_length=1, max_length=40), ONE_LINE]
Reason = Annotated[str, Field(max_length=200), ONE_LINE]
Stamp = Annotated[str, Field(max_length=64), ONE_LINE]


class PagedQuery(Query):
    page: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    per_page: Annotated[int, Field(ge=1, le=MAX_PER_PAGE)] = 50


class BlacklistQuery(PagedQuery):
    """``?campaign_id=&q=&page=&per_page=``: ``q`` matches the number (digits as typed) or
    the reason."""

    campaign_id: Id | None = None
    q: Annotated[str, Field(max_length=64), ONE_LINE] | None = None


class BlacklistBody(Body):
    """An entry: ``pattern`` as a person types it ("600 100 200", "+48 600…"; a prefix
    such as "+4870" or national "700" with ``is_prefix``), ``reason``, and
    ``campaign_id`` for one campaign only (else every campaign of the tenant)."""

    pattern: PatternText
    is_prefix: bool = False
    reason: Reason = ""
    campaign_id: Id | None = None


class BlacklistUpload(Form):
    """``file``: CSV or one number per line (the first cell the number, ``*`` after a
    prefix; an optional second cell the reason); ``campaign_id`` and a default
    ``reason`` for every line."""

    model_config = ConfigDict(json_schema_extra=file_required)

    file: BlacklistFile = Field(default=None, validate_default=True)
    campaign_id: Id | None = None
    reason: Reason = ""

    @model_validator(mode="before")
    @classmethod
    def _blank_campaign_is_none(cls, data: Any) -> Any:
        # the page's "All campaigns" choice posts an empty value
        if isinstance(data, dict) and data.get("campaign_id") == "":
            return {k: v for k, v in data.items() if k != "campaign_id"}
        return data


class CallerIdQuery(PagedQuery):
    """``?campaign_id=&q=``: numbers of that campaign's pool, or matching ``q``."""

    campaign_id: Id | None = None
    q: Annotated[str, Field(max_length=64), ONE_LINE] | None = None


class CallerIdBody(Body):
    """A caller-ID number: ``number`` (national or international), ``campaign_id`` (None:
    every campaign), ``tainted`` (flagged as spam: not presented) and ``daily_cap``
    (calls per day, None: no cap). On update, fields not sent keep their value."""

    number: PatternText | None = None
    campaign_id: Id | None = None
    tainted: bool | None = None
    daily_cap: Annotated[int, Field(ge=1, le=1_000_000)] | None = None


class RecontactQuery(PagedQuery):
    """``?campaign_id=&user_id=&due_after=&due_before=&status=``: times ISO 8601, read in
    the tenant's time zone when written without an offset."""

    campaign_id: Id | None = None
    user_id: Id | None = None
    due_after: Stamp | None = None
    due_before: Stamp | None = None
    status: Annotated[str, Field(pattern=r"^(scheduled|done|moved|cancelled|all)$")] = (
        "scheduled")


class RecontactMove(Body):
    """``due_at``: the new time (ISO 8601, in the future; the tenant's time zone when
    written without an offset); ``user_id``: the agent (null: anyone; not sent: same)."""

    due_at: Stamp
    user_id: Id | None = None
