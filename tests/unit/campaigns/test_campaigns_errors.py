"""The campaign data layer's errors live under the one root with a status and an id."""

import pytest

from controlplane.campaigns import csv_rows, dispositions, hlr
from controlplane.campaigns.exceptions import (
    CampaignError,
    Conflict,
    FileRejected,
    HlrNotConfigured,
    InvalidField,
    InvalidNumber,
    InvalidValue,
    NotFound,
    NotYours,
    UnknownRegion,
)
from controlplane.errors import CentralaError


@pytest.mark.parametrize(("err", "status", "error_id"), [
    (InvalidNumber("12", "too short"), 400, "invalid_number"),
    (UnknownRegion("'XX' is not a region"), 400, "unknown_region"),
    (NotFound("no campaign #9 in this tenant"), 404, "not_found"),
    (Conflict("a campaign named 'a' exists"), 409, "conflict"),
    (InvalidValue("mode: 'x'"), 400, "invalid_value"),
    (InvalidField("code", "empty"), 400, "bad_parameter"),
    (NotYours("attempt 4 was handled by another agent"), 403, "forbidden"),
    (FileRejected("not UTF-8 text"), 400, "file_rejected"),
    (HlrNotConfigured("no HLR provider"), 503, "hlr_not_configured"),
])
def test_every_campaign_error_has_the_one_root_a_status_and_an_id(
        err: CampaignError, status: int, error_id: str) -> None:
    assert isinstance(err, CampaignError) and isinstance(err, CentralaError)
    assert (err.status, err.error_id, err.message) == (status, error_id, str(err))


def test_an_invalid_field_names_the_field_in_its_details() -> None:
    err = InvalidField("recontact_at", "not after now")
    assert str(err) == "recontact_at: not after now"
    assert err.details == {"field": "recontact_at", "message": "not after now"}
    assert isinstance(err, InvalidValue)


def test_the_old_homes_still_name_the_same_classes() -> None:
    assert dispositions.InvalidField is InvalidField
    assert dispositions.NotYours is NotYours
    assert csv_rows.FileRejected is FileRejected
    assert hlr.HlrNotConfigured is HlrNotConfigured
