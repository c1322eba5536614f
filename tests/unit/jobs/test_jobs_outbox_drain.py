"""The daemon's outbox loop (``jobs/outbox_drain.py``): drains again after a failure, ends
only when cancelled; the outbox itself stays free of asyncio (the panel imports it)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from controlplane.jobs import outbox, outbox_drain


async def test_the_loop_survives_a_failed_drain_and_stops_on_cancel(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    third = asyncio.Event()

    def fake_drain(factory: Any, queues: Any) -> outbox.Drained:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database hiccup")
        if len(calls) >= 3:
            third.set()
        return outbox.Drained()

    monkeypatch.setattr(outbox_drain, "drain", fake_drain)
    task = asyncio.create_task(outbox_drain.run_drain(None, lambda name: None, every_s=0))  # type: ignore[arg-type]
    async with asyncio.timeout(30):
        await third.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(calls) >= 3


def test_the_outbox_module_does_not_need_asyncio() -> None:
    assert "run_drain" not in vars(outbox)
    assert "asyncio" not in vars(outbox)
    assert outbox_drain.drain is outbox.drain
