"""Campaigns: start/pause, the attempts log, dispositions and disposing an attempt.

Shape, types and bounds here; the campaign rules (known codes, a move needs a
target campaign, a recontact time in the future) stay in
:mod:`controlplane.campaigns.dispositions` and name their field too.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from web.schemas.common import MULTI_LINE, ONE_LINE, Body, Count, Id, Query

PER_PAGE = 50
MAX_PAGE = 1_000_000
MAX_PER_PAGE = 200

Code = Annotated[str, Field(max_length=32), ONE_LINE]


class StatusBody(Body):
    """``{"status": "running" | "paused"}``."""

    status: Literal["running", "paused"]


class AttemptsQuery(Query):
    """``?page=N&per_page=M`` of the attempts log (newest first)."""

    page: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 1
    per_page: Annotated[int, Field(ge=1, le=MAX_PER_PAGE)] = PER_PAGE


class DisposeBody(Body):
    """``{"code", "recontact_at"?, "note"?}``: ``recontact_at`` is ISO 8601 with a zone."""

    code: Code
    recontact_at: Annotated[str, Field(max_length=64), ONE_LINE] | None = None
    note: Annotated[str, Field(max_length=500), MULTI_LINE] | None = None


class DispositionBody(Body):
    """A disposition to create (``code`` required) or the fields to change."""

    code: Code = ""
    label: Annotated[str, Field(max_length=100), ONE_LINE] = ""
    success: bool = False
    action: Annotated[str, Field(max_length=16), ONE_LINE] = "none"
    action_delay_s: Count | None = None
    recontact_private: bool = True
    action_campaign_id: Id | None = None
