"""The dialer's errors live under the one root with the status and id the panel answers."""

import pytest

from controlplane.dialer import callerid, live, preview_store, records
from controlplane.dialer.exceptions import (
    DialerError,
    DialerRecordsError,
    InvalidPlaceCall,
    NoCallerIdAvailable,
    PreviewError,
)
from controlplane.errors import CentralaError


@pytest.mark.parametrize(("err", "status", "error_id"), [
    (DialerRecordsError("record 3: attempts -1 < 0"), 400, "invalid_dialer_data"),
    (NoCallerIdAvailable("2 numbers, all at their cap"), 409, "no_caller_id"),
    (InvalidPlaceCall("queue", "missing", "7-1"), 400, "invalid_place_call"),
])
def test_every_dialer_error_has_the_one_root_a_status_and_an_id(
        err: DialerError, status: int, error_id: str) -> None:
    assert isinstance(err, CentralaError)
    assert (err.status, err.error_id) == (status, error_id)
    assert err.message == str(err)


def test_input_errors_stay_value_errors_for_callers_that_validate_with_them() -> None:
    with pytest.raises(ValueError, match="not an E.164 number"):
        records.check_e164("0048", "record 1")
    with pytest.raises(ValueError, match="attempt '7-1': queue: missing"):
        raise InvalidPlaceCall("queue", "missing", "7-1")


def test_invalid_place_call_names_its_field() -> None:
    err = InvalidPlaceCall("ring_timeout_s", "below 15")
    assert str(err) == "ring_timeout_s: below 15"
    assert err.details == {"field": "ring_timeout_s"}
    assert (err.field, err.reason, err.attempt_id) == ("ring_timeout_s", "below 15", None)


@pytest.mark.parametrize(("code", "status"), [
    ("not_found", 404), ("forbidden", 403), ("bad_command", 400), ("expired", 503),
    ("error", 500), ("agent_phone", 502), ("not_in_batch", 409), ("no_trunk", 409),
])
def test_a_preview_refusal_has_the_panels_shape_and_status_for_its_code(
        code: str, status: int) -> None:
    err = PreviewError(code, "what and where")
    assert isinstance(err, CentralaError)
    assert (err.status, err.error_id, err.code, err.details) == (
        status, "command_refused", code, {"code": code})


def test_the_old_homes_still_name_the_same_classes() -> None:
    assert records.DialerRecordsError is DialerRecordsError
    assert callerid.NoCallerIdAvailable is NoCallerIdAvailable
    assert live.InvalidPlaceCall is InvalidPlaceCall
    assert preview_store.PreviewError is PreviewError
