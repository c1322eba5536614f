"""A campaign attempt whose customer leg ended while no control plane ran (its ring timed out
during a slow restart) is reported from its own progress, not as "the control plane
restarted": reconcile takes the progress back from Redis before it feeds the hang-up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy.orm import Session, sessionmaker

from controlplane.calls import campaign_machine as cm
from controlplane.calls import machine as m
from controlplane.calls import records
from controlplane.calls.campaign_glue import PROGRESS_KEY, CampaignCalls, _Progress, dump_progress
from controlplane.calls.service import CallService
from controlplane.config import load_settings
from controlplane.dialer.live import AttemptResult, PlaceCall, call_id_for

DIAL_AT = datetime.now(UTC) - timedelta(seconds=40)  # rang 40 s: longer than any ring timeout


class Ari:
    """Asterisk after the restart: the customer's leg is gone, nothing else is there."""

    async def get(self, path: str, **params: Any) -> Any:
        return {"/channels": [], "/bridges": []}[path]

    async def post(self, path: str, json_body: Any = None, **params: Any) -> Any:
        return {}

    async def delete(self, path: str, **params: Any) -> Any:
        return {}


async def test_an_attempt_that_rang_out_while_down_keeps_its_progress(
        factory: sessionmaker[Session], rds: aioredis.Redis, tmp_path: Path) -> None:
    attempt = "a-restart-1"
    call_id = call_id_for(attempt)
    place = PlaceCall(attempt, None, "+481000001", "lab", "+48221000099", "q", "sound:x")
    plan = cm.CampaignPlan(attempt, "PJSIP/481000001@lab", 16, "q", "sound:x")
    binding = m.Binding(None, "campaign", "481000001", None, "lab", None, None, None)
    state, _ = cm.start(cm.CampaignEntered(call_id, "48221000099", binding, plan), DIAL_AT)
    assert state.phase == m.Phase.RINGING
    records.save(factory, state, tmp_path)
    await rds.hset(PROGRESS_KEY, call_id, dump_progress(_Progress(place, plan, dial_at=DIAL_AT)))

    settings = load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path)})
    calls = CallService(settings, Ari(), factory, rds)  # type: ignore[arg-type]
    results: list[AttemptResult] = []
    calls.campaigns = CampaignCalls(calls, on_result=results.append)
    await asyncio.wait_for(calls.reconcile(), timeout=10)
    await calls.records.close()  # its thread's database connection goes back before teardown
    for _ in range(100):  # the result is reported by a task of its own
        if results:
            break
        await asyncio.sleep(0.05)

    (result,) = results
    assert result.attempt_id == attempt
    assert result.note != "the control plane restarted during the attempt"
    assert result.dial_at == DIAL_AT
    assert result.outcome != "failed", result
