"""The events reader drops event types nobody registered with the router: the router's
``wanted`` follows its registrations."""

from __future__ import annotations

from controlplane.calls.stasis import StasisRouter
from controlplane.engine import events as ev


def test_the_router_wants_only_what_is_registered() -> None:
    async def nothing(*_: object) -> None:
        return None

    router = StasisRouter(unknown_start=nothing)
    assert router.wanted == set()
    router.event_type(ev.StasisEnd, nothing)
    router.start_kind("inbound", nothing)
    assert router.wanted == {"StasisEnd", "StasisStart"}
    router.object_suffix("-prompt", nothing)
    assert {"PlaybackFinished", "RecordingFinished", "RecordingFailed"} <= router.wanted
    assert "ChannelVarset" not in router.wanted
