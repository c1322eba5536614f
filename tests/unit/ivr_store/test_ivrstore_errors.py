"""The IVR domain's errors live under the one root with the status and id the panel uses."""

import pytest

from controlplane import audio_store, tts
from controlplane.errors import CentralaError
from controlplane.ivr import store as flow_store
from controlplane.ivr.exceptions import (
    AudioRejected,
    FlowInvalid,
    FlowNotFound,
    IvrError,
    NotPublished,
    PublishedVersionImmutable,
    TtsError,
)
from ivr_flows.errors import FlowError


@pytest.mark.parametrize(("err", "status", "error_id"), [
    (FlowNotFound("no IVR flow named 'x'"), 404, "not_found"),
    (PublishedVersionImmutable("version 2 is published"), 409, "conflict"),
    (NotPublished("version 3 was never published"), 409, "conflict"),
    (AudioRejected("not a sound file"), 400, "audio_rejected"),
    (TtsError("espeak-ng: exit 1"), 502, "tts_failed"),
])
def test_every_ivr_error_has_the_one_root_a_status_and_an_id(
        err: IvrError, status: int, error_id: str) -> None:
    assert isinstance(err, CentralaError)
    assert (err.status, err.error_id, err.message) == (status, error_id, str(err))


def test_an_invalid_flow_lists_every_problem_in_its_details() -> None:
    problems = [FlowError(f"/nodes/{i}", "unknown_node", f"node {i} is unknown", "add it")
                for i in range(7)]
    err = FlowInvalid(problems)
    assert (err.status, err.error_id) == (422, "invalid_flow")
    assert str(err).startswith("flow document has 7 error(s): #/nodes/0: node 0 is unknown")
    assert str(err).endswith(" ...")
    assert err.details["errors"][6] == {"pointer": "/nodes/6", "code": "unknown_node",
                                        "message": "node 6 is unknown", "hint": "add it"}


def test_a_rejected_upload_is_still_a_value_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        raise AudioRejected("the file is empty")


def test_the_old_homes_still_name_the_same_classes() -> None:
    assert flow_store.FlowInvalid is FlowInvalid
    assert flow_store.FlowNotFound is FlowNotFound
    assert audio_store.AudioRejected is AudioRejected
    assert tts.TtsError is TtsError


def test_the_ivr_errors_are_pure_so_pure_modules_may_raise_them() -> None:
    import grimp

    graph = grimp.build_graph("controlplane", "ivr_flows", "dialplan",
                              include_external_packages=True, cache_dir=None)
    for bad in ("asyncio", "aiohttp", "websockets", "sqlalchemy", "redis", "rq", "subprocess"):
        assert graph.find_shortest_chain(importer="controlplane.ivr.exceptions",
                                         imported=bad) is None, bad
