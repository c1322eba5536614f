"""The ARI event router: owners register kinds, id suffixes and separators; events wait
for the adoption gate."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from controlplane.calls.stasis import StasisRouter
from controlplane.engine import events as ev

T = datetime(2026, 12, 3, tzinfo=UTC)
CH = ev.Channel("c1", "PJSIP/x-1", "Up", "600", "", "100")


def router() -> tuple[StasisRouter, list[tuple[str, object]]]:
    seen: list[tuple[str, object]] = []

    async def unknown(e: ev.StasisStart) -> None:
        seen.append(("unknown", e.args))

    r = StasisRouter(unknown)

    def start(name: str):  # type: ignore[no-untyped-def]
        async def h(e: ev.StasisStart) -> None:
            seen.append((name, e.args))
        return h

    def obj(name: str):  # type: ignore[no-untyped-def]
        async def h(stem: str, e: ev.Event) -> None:
            seen.append((name, stem))
        return h

    async def dtmf(e: ev.Event) -> None:
        seen.append(("dtmf", e))

    r.start_kind("inbound", start("calls"))
    r.start_kind("campaign", start("campaigns"))
    r.object_suffix("-prompt", obj("prompt"))
    r.object_suffix("-announce", obj("announce"))
    r.object_separator("~", obj("ivr"))
    r.event_type(ev.ChannelDtmfReceived, dtmf)
    return r, seen


async def test_events_go_to_their_owner() -> None:
    r, seen = router()
    await r.dispatch(ev.StasisStart(T, CH, ("inbound", "100")))
    await r.dispatch(ev.StasisStart(T, CH, ("campaign", "a1")))
    await r.dispatch(ev.StasisStart(T, CH, ("nobody",)))
    await r.dispatch(ev.PlaybackFinished(T, "c1-prompt", "", "done"))
    await r.dispatch(ev.PlaybackFinished(T, "c1-announce", "", "done"))
    # an IVR id is the IVR's even when its own part ends like someone's suffix
    await r.dispatch(ev.PlaybackFinished(T, "c1~menu-prompt", "", "done"))
    await r.dispatch(ev.RecordingFinished(T, "c1~msg", 3.0))
    await r.dispatch(ev.RecordingFinished(T, "c1", 3.0))  # a call's own recording: nobody's
    await r.dispatch(ev.StasisEnd(T, CH))  # no owner registered: dropped
    assert seen == [("calls", ("inbound", "100")), ("campaigns", ("campaign", "a1")),
                    ("unknown", ("nobody",)), ("prompt", "c1"), ("announce", "c1"),
                    ("ivr", "c1"), ("ivr", "c1")]


def test_one_owner_per_kind_and_suffix() -> None:
    r, _ = router()
    with pytest.raises(ValueError, match="already owned"):
        r.start_kind("inbound", r._unknown_start)
    with pytest.raises(ValueError, match="already owned"):
        r.object_suffix("-prompt", lambda stem, e: asyncio.sleep(0))


async def test_events_wait_while_calls_are_adopted() -> None:
    r, seen = router()
    r.gate.clear()
    task = asyncio.create_task(r.dispatch(ev.StasisStart(T, CH, ("inbound", "100"))))
    await asyncio.sleep(0.05)
    assert seen == [] and not task.done()
    r.gate.set()
    await asyncio.wait_for(task, 5)
    assert seen == [("calls", ("inbound", "100"))]
