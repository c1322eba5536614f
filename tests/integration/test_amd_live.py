"""Live AMD against real Asterisk and the lab carrier.

The platform originates over the trunk to the lab's number plan (``100XXXX``
answers "Hello?" then silence, ``200XXXX`` is an answering machine) into this
test's own ARI app; :func:`controlplane.amd_live.detect` snoops the called
party's audio into ``chan_websocket`` (slin16) and, at the same time, into
Asterisk's ``AMD()`` for comparison. Both verdicts are recorded.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select

from amd.verdict import Label
from controlplane import stack
from controlplane.amd_live.probe import AmdProbe
from controlplane.db import make_engine, make_sessionmaker
from controlplane.engine.ari_ import AriError
from controlplane.models import CallRecord

pytestmark = pytest.mark.integration

APP = "centrala-amdtest"


async def _no_leftovers(probe: AmdProbe, platform, timeout: float = 10) -> None:  # type: ignore[no-untyped-def]
    """Nothing of ours in ARI, and none of our channel names in `core show channels`."""
    instance = stack.platform_instance(platform.settings)
    deadline = time.monotonic() + timeout
    while True:
        left = await probe.leftovers()
        shown = await asyncio.to_thread(instance.cli, "core show channels")
        mine = [
            line for line in shown.splitlines() if any(cid in line for cid in probe.channel_ids)
        ]  # Snoop/<id>-...
        if not left and not mine:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"left behind: {left} {mine}")
        await asyncio.sleep(0.2)


async def test_live_amd_tells_human_from_machine(platform, record_property) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(platform.settings.database_url)
    factory = make_sessionmaker(engine)
    async with AmdProbe(platform.settings, APP, prefix="amdtest", db=factory) as probe:
        human, machine = await asyncio.gather(probe.call("1001234"), probe.call("2001234"))
        for name, call in (("human", human), ("machine", machine)):
            r = call.result
            record_property(name, repr(r))
            print(
                f"{name}: centrala {r.centrala} {r.cause} at {r.decision_ms} ms "
                f"(setup {r.setup_ms} ms, {r.frames} frames, cpu {r.detector_cpu_ms} ms); "
                f"AMD() {r.app_amd_status} {r.app_amd_cause} at {r.app_amd_ms} ms"
            )

        assert human.result.centrala == Label.HUMAN, human.result
        assert machine.result.centrala == Label.MACHINE, machine.result
        for call in (human, machine):
            r = call.result
            assert not r.timed_out and not r.hung_up, r
            assert r.setup_ms is not None and r.setup_ms < 500, r
            assert r.frames > 0 and r.decision_ms is not None and r.decision_ms > 0, r
            # Asterisk's AMD() ran on the same audio and answered.
            assert r.app_amd_status in ("HUMAN", "MACHINE", "NOTSURE"), r
            assert r.app_amd_ms is not None and 0 < r.app_amd_ms < 7000, r
            # both verdicts are kept on the call record
            with factory() as s:
                row = s.scalar(select(CallRecord).where(CallRecord.call_id == call.channel_id))
            assert row is not None and row.status == "ended" and row.callee == call.number
            assert (row.amd_verdict, row.amd_cause) == (r.centrala.value, r.cause)
            assert (row.app_amd_status, row.app_amd_ms) == (r.app_amd_status, r.app_amd_ms)
        await _no_leftovers(probe, platform)
    engine.dispose()


async def test_live_amd_cleans_up_when_cancelled_or_hung_up(platform) -> None:  # type: ignore[no-untyped-def]
    async with AmdProbe(platform.settings, APP, prefix="amdtest") as probe:
        # Cancelled mid-detection (e.g. the dialer gives up on the call).
        task = asyncio.create_task(probe.call("2001234"))
        await asyncio.sleep(2.0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        # The called party hangs up during detection: the detector decides with what it heard.
        cid = probe.new_channel_id()

        async def hang_up_one_second_after_answer() -> None:
            for _ in range(300):
                try:
                    if (await probe.ari.get(f"/channels/{cid}"))["state"] == "Up":
                        break
                except AriError:
                    pass  # not originated yet
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)
            await probe.ari.delete(f"/channels/{cid}")

        killer = asyncio.create_task(hang_up_one_second_after_answer())
        result = (await probe.call("2001234", channel_id=cid)).result
        await killer
        assert result.hung_up and not result.timed_out, result
        await _no_leftovers(probe, platform)
