"""The agent probes: the probe agent goes ready from its desk phone, and a call into the
probe queue is offered to it and answered.

Theory of operation. The probe tenant has an agent (:data:`PROBE_AGENT`) on the lab desk
phone :data:`~controlplane.sla.probe_calls.PROBE_PHONE`, the only member of the queue
:data:`PROBE_QUEUE`, whose DID :data:`PROBE_QUEUE_DID` arrives on the probe trunk (seeded by
:func:`controlplane.seed.seed_probe_lines`; the ACD loads the tenant on first use).

- ``agent_ready``: the desk phone dials ``*53`` (log out; whatever the agent was, the next
  step is a real change), then ``*50``; passes when the ACD's live view (Redis
  ``centrala:acd:<tenant>:agents``, read as the panel reads it) shows the agent ``ready``
  within :data:`READY_WITHIN_S`.
- ``queue_routing``: waits for this round's ``agent_ready`` (:class:`SharedStep`: the two
  must not race: a queue call offered while the agent logs out would fail for the wrong
  reason); the lab carrier then calls the queue's DID; passes when the caller hears the
  agent's phone (the lab desk phones answer with a 1400 Hz tone) for
  :data:`AGENT_HEARD_MIN_S` within :data:`QUEUE_HOLD_S` s.

Cost per round: two feature-code calls (answered, a confirmation, hung up) and one queue
call of :data:`QUEUE_HOLD_S` s (caller leg, agent leg, a bridge).
"""

from __future__ import annotations

import json
import time
from functools import partial

from controlplane.config import Settings
from controlplane.sla import probe_calls
from controlplane.sla.probe_calls import CallProbeFailed, CallResult, SharedStep

PROBE_AGENT = "probe-agent"
PROBE_QUEUE = "sla-probe"
PROBE_QUEUE_DID = "48229990002"
READY_WITHIN_S = 6.0
QUEUE_HOLD_S = 7  # the offer (~3 s after the answer here) + the phone's 0.5 s delay + its tone
AGENT_TONE_HZ = 1400  # PHONE_TONE of the lab's desk phones
AGENT_HEARD_MIN_S = 1.0


def _ids(settings: Settings) -> tuple[int, int]:
    """(probe tenant id, probe agent user id)."""
    from sqlalchemy import select

    from controlplane.db import make_engine, make_sessionmaker
    from controlplane.models import Tenant, User
    from controlplane.sla.probes import PROBE_DOMAIN

    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            row = s.execute(select(Tenant.id, User.id).join(User, User.tenant_id == Tenant.id)
                            .where(Tenant.domain == PROBE_DOMAIN,
                                   User.login == PROBE_AGENT)).first()
    finally:
        engine.dispose()
    if row is None:
        raise CallProbeFailed("no probe agent seeded")
    return int(row[0]), int(row[1])


def agent_status(settings: Settings, tenant_id: int, user_id: int) -> str | None:
    """The agent's status in the ACD's live view (None: not there, i.e. never logged in)."""
    import redis

    from controlplane.bus import ACD_KEY

    client = redis.Redis.from_url(settings.redis_url_for("web"), socket_timeout=2.0)
    try:
        raw = client.hget(ACD_KEY.format(tenant=tenant_id, part="agents"), str(user_id))
    finally:
        client.close()
    return None if raw is None else str(json.loads(raw).get("status"))


def _wait_status(settings: Settings, ids: tuple[int, int], wanted: set[str | None],
                 within_s: float, t0: float) -> tuple[str | None, float]:
    status = agent_status(settings, *ids)
    while status not in wanted and time.monotonic() - t0 < within_s:
        time.sleep(0.2)
        status = agent_status(settings, *ids)
    return status, time.monotonic() - t0


def _ready_step(settings: Settings) -> CallResult:
    from dialplan.labcall import phone_dials

    probe_calls.ensure_lines(settings)
    ids = _ids(settings)
    phone_dials(settings, probe_calls.PROBE_PHONE, "*53", hangup_after=3)
    _wait_status(settings, ids, {"logged_out", None}, READY_WITHIN_S, time.monotonic())
    t0 = time.monotonic()
    phone_dials(settings, probe_calls.PROBE_PHONE, "*50", hangup_after=3)
    status, took = _wait_status(settings, ids, {"ready"}, READY_WITHIN_S, t0)
    if status != "ready":
        return CallResult(None, 0.0, f"agent {status or 'not logged in'} "
                                     f"{READY_WITHIN_S:g} s after *50")
    return CallResult(took, 0.0, f"ready {took:.1f} s after *50")


_ready = SharedStep(_ready_step, 2 * READY_WITHIN_S + 10)


def agent_ready(settings: Settings) -> str:
    result = _ready.get(settings)
    if result.answered_s is None:
        raise CallProbeFailed(result.detail)
    return result.detail


def queue_routing(settings: Settings) -> str:
    ready = _ready.get(settings)
    if ready.answered_s is None:
        raise CallProbeFailed(f"no ready probe agent: {ready.detail}")
    result = probe_calls.lab_call(
        settings, f"PJSIP/{PROBE_QUEUE_DID}@{probe_calls.PROBE_ACCOUNT}", "48600999001",
        partial(probe_calls.tone_seconds, hz=AGENT_TONE_HZ), "the agent", hold_s=QUEUE_HOLD_S)
    if result.answered_s is None:
        raise CallProbeFailed(result.detail)
    if result.heard_s < AGENT_HEARD_MIN_S:
        raise CallProbeFailed(f"the agent not heard: {result.detail}")
    return result.detail
