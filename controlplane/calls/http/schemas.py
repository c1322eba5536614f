"""Call records: the filter of the records page and ``/api/v1/calls/records``."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from web.schemas.common import ONE_LINE, Query

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
MAX_PAGE = 1_000_000
MAX_NUMBER_LEN = 64

Instant = Annotated[str, Field(max_length=40), ONE_LINE]


class RecordsQuery(Query):
    """``from``/``to``: a day ``YYYY-MM-DD`` (UTC) or an ISO 8601 time; ``number``: part of
    a caller, callee or DID; then the page."""

    from_: Instant | None = Field(default=None, alias="from")
    to: Instant | None = None
    number: Annotated[str, Field(max_length=MAX_NUMBER_LEN), ONE_LINE] = ""
    page: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 1
    per_page: Annotated[int, Field(ge=1, le=MAX_PER_PAGE)] = DEFAULT_PER_PAGE


class RecordingsQuery(RecordsQuery):
    """The records filter, and ``agent`` (a user id: calls on their phones) and ``queue``
    (a queue's name); only calls with a recording are listed."""

    agent: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    queue: Annotated[str, Field(max_length=100), ONE_LINE] = ""
