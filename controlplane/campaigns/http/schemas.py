"""Campaigns' request schemas: start/pause, the attempts log, dispositions, disposing an
attempt, and the contact-import upload (below).

Shape, types and bounds here; the campaign rules (known codes, a move needs a
target campaign, a recontact time in the future) stay in
:mod:`controlplane.campaigns.dispositions` and name their field too.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from web.schemas.common import (
    MULTI_LINE,
    ONE_LINE,
    Body,
    Count,
    Form,
    Id,
    Query,
    file_part,
    file_required,
)

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


# Contact imports: the multipart upload (``POST /api/v1/campaigns/<id>/imports``).
#
# The form has one part, ``file``: the CSV, sent as a file (``curl -F file=@contacts.csv``).
# Any other part is refused by name, as a text field where the file should be is. The
# model does not read the stream: the view reads it, at most the app's
# ``IMPORT_MAX_BYTES`` (413 ``too_large``), and checks it is UTF-8 (400 naming ``file``).
# The other two routes (progress, rejected rows) take nothing.

ATTACH = "attach the CSV as the multipart field 'file' (curl -F file=@contacts.csv)"


FilePart = file_part(ATTACH)
"""The CSV's file part of a multipart form."""


class ImportUpload(Form):
    """``file``: the CSV of contacts (UTF-8, a header row, then one contact a row)."""

    model_config = ConfigDict(json_schema_extra=file_required)

    # The default only stands for "not sent": it is validated, so a missing file is
    # named with the hint above instead of a bare "required".
    file: FilePart = Field(default=None, validate_default=True)


# Campaign settings (``POST /api/v1/campaigns``, ``PATCH /api/v1/campaigns/<id>``): shape,
# types and bounds here; the rules (shares add up to 100, the queue is the tenant's, the
# calling hours end after they start, a fixed caller ID is a valid number) are
# controlplane.campaigns.settings', shared with the page, and come back as 422 invalid_form.

Line = Annotated[str, Field(max_length=100), ONE_LINE]
Clock = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$")]


class DialingOrderBody(Body):
    """Shares (per cent, adding up to 100) of new records, private and system recontacts;
    which recontacts first; after how long a private recontact goes to anyone (null: never)."""

    fresh: Annotated[int, Field(ge=0, le=100)] | None = None
    private: Annotated[int, Field(ge=0, le=100)] | None = None
    system: Annotated[int, Field(ge=0, le=100)] | None = None
    recontact_order: Literal["most_overdue", "least_overdue"] | None = None
    private_grace_s: Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)] | None = None


class RetryRuleBody(Body):
    """Retry after ``interval_s`` seconds while fewer than ``max_attempts`` ended so."""

    max_attempts: Annotated[int, Field(ge=0, le=100)]
    interval_s: Annotated[int, Field(ge=0, le=365 * 86400)]


RetryOutcome = Literal["no_answer", "busy", "machine", "failed", "abandoned"]


class CampaignBody(Body):
    """A campaign to create (``name`` required) or the settings to change. ``retry_rules``
    replaces the whole set (an outcome without a rule is not retried); ``dialing_order``
    changes the keys it names. ``window_days`` are ISO weekdays (1 = Monday);
    ``window_start``/``window_end`` local ``HH:MM`` in each contact's time zone."""

    name: Line | None = None
    mode: Literal["preview", "progressive", "predictive"] | None = None
    queue_id: Id | None = None
    default_region: Annotated[str, Field(min_length=2, max_length=2)] | None = None
    default_timezone: Annotated[str, Field(max_length=64), ONE_LINE] | None = None
    caller_id_mode: Literal["fixed", "local", "pool"] | None = None
    fixed_caller_id: Annotated[str, Field(max_length=32), ONE_LINE] | None = None
    window_start: Clock | None = None
    window_end: Clock | None = None
    window_days: Annotated[list[Annotated[int, Field(ge=1, le=7)]],
                           Field(min_length=1, max_length=7)] | None = None
    max_attempts: Annotated[int, Field(ge=1, le=100)] | None = None
    ring_timeout_s: Annotated[float, Field(ge=15, le=300, allow_inf_nan=False)] | None = None
    target_abandon_rate: Annotated[float, Field(gt=0, le=0.03, allow_inf_nan=False)] | None = None
    regulator: Literal["uk", "us"] | None = None
    preview_batch_size: Annotated[int, Field(ge=1, le=100)] | None = None
    dialing_order: DialingOrderBody | None = None
    retry_rules: dict[RetryOutcome, RetryRuleBody] | None = None

    def values(self) -> dict[str, Any]:
        """The settings sent (nested bodies as plain mappings)."""
        return self.model_dump(exclude_unset=True)


class CampaignListQuery(Query):
    """``?archived=true`` lists the archived campaigns too."""

    archived: bool = False
