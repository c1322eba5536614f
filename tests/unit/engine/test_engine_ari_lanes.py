"""The events reader's lanes: a channel's events are handled one after the other in arrival
order, channels run concurrently, a failing handler does not stop its lane; event types
nobody registered are not wanted."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from controlplane.calls.stasis import StasisRouter
from controlplane.engine import events as ev
from controlplane.engine.ari_ import AriClient, lane_of

AT = datetime(2026, 1, 1, tzinfo=UTC)


def _channel(cid: str) -> ev.Channel:
    return ev.Channel.parse({"id": cid, "name": f"PJSIP/{cid}", "state": "Up"})


def _dtmf(cid: str, digit: str) -> ev.ChannelDtmfReceived:
    return ev.ChannelDtmfReceived(AT, _channel(cid), digit, 100)


async def test_one_channel_in_order_one_at_a_time_channels_concurrently() -> None:
    ari = AriClient("http://ari", "u", "p", "app")
    seen: list[tuple[str, str, str]] = []
    release = {"a": asyncio.Event(), "b": asyncio.Event()}

    async def handle(e: ev.Event) -> None:
        assert isinstance(e, ev.ChannelDtmfReceived)
        seen.append(("start", e.channel.id, e.digit))
        await release[e.channel.id].wait()
        seen.append(("end", e.channel.id, e.digit))

    for cid, digit in (("a", "1"), ("a", "2"), ("b", "1"), ("a", "3")):
        ari.route(_dtmf(cid, digit), handle)
    assert len(ari._tasks) == 2  # one task per channel, not per event
    await asyncio.sleep(0)
    assert seen == [("start", "a", "1"), ("start", "b", "1")]  # b does not wait for a
    release["a"].set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert [s for s in seen if s[1] == "a"] == [
        ("start", "a", "1"), ("end", "a", "1"), ("start", "a", "2"), ("end", "a", "2"),
        ("start", "a", "3"), ("end", "a", "3"),
    ]
    release["b"].set()
    await asyncio.gather(*ari._tasks)
    assert ari._lanes == {}  # a drained lane is gone: the next event starts a new one


async def test_a_failing_handler_does_not_stop_its_lane() -> None:
    ari = AriClient("http://ari", "u", "p", "app")
    done: list[str] = []

    async def handle(e: ev.Event) -> None:
        assert isinstance(e, ev.ChannelDtmfReceived)
        if e.digit == "1":
            raise RuntimeError("boom")
        done.append(e.digit)

    ari.route(_dtmf("a", "1"), handle)
    ari.route(_dtmf("a", "2"), handle)
    await asyncio.gather(*ari._tasks)
    assert done == ["2"]


def test_a_playback_goes_in_its_channels_lane_a_recording_alone() -> None:
    assert lane_of(ev.PlaybackFinished(AT, "c1-prompt", "channel:c1", "done")) == "c1"
    assert lane_of(ev.PlaybackFinished(AT, "x", "bridge:b1", "done")) is None
    assert lane_of(ev.RecordingFinished(AT, "c1", 3.0)) is None
    assert lane_of(_dtmf("c2", "5")) == "c2"


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
