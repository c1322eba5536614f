"""A call inside an IVR keeps its place in the flow across a control-plane restart.

Each live IVR session stores its position (``ivr_flows.snapshot``: the flow version of each
frame, node, phase, variables, language, deadline, ...) in Redis whenever a step changes it,
one key per call (``POSITION_KEY``), with a time to live beyond any flow's maximum length so
that a call that ended while nobody listened leaves nothing behind for long. The session
deletes the key when its flow ends or its caller hangs up.

Why Redis, not SQL: the position changes on every key press and prompt, on the hot path of
every IVR call; a key write costs a fraction of a row update, and Redis is already the
store of live state that must survive a daemon crash (append-only file), like the queue
positions and the dialer's attempts.

After a restart :func:`resume_call` (from reconcile, the call's lock held) reads the
position, parses the flow versions again and starts a session that takes the call up at
its node; without a usable position the caller is routed as before (the DID's phone).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from sqlalchemy.orm import Session, sessionmaker

from controlplane.bus import IVR_POSITION_KEY
from controlplane.calls import routing
from controlplane.ivr import store as flow_store
from controlplane.models.ivr import IvrFlow, IvrFlowVersion
from ivr_flows import snapshot
from ivr_flows.model import Flow
from ivr_flows.runtime import IvrState

if TYPE_CHECKING:
    from controlplane.calls.machine import CallState
    from controlplane.calls.service import CallService

log = logging.getLogger(__name__)
POSITION_KEY = IVR_POSITION_KEY
# Longer than any call stays in an IVR (max_duration_s is bounded by the validator to hours).
POSITION_TTL_S = 6 * 3600
_DELETING: set[asyncio.Task[None]] = set()  # strong references until each delete is done


def position_key(call_id: str) -> str:
    return POSITION_KEY.format(call_id=call_id)


class IvrPositions:
    """Where each live IVR call is, in Redis. Losing a write never harms the call itself:
    at worst a restart routes it to the DID's phone, as it did before positions existed."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis

    async def save(self, call_id: str, parents: list[IvrState], state: IvrState,
                   caller: str, did: str) -> None:
        data = snapshot.dump(parents, state, caller, did)
        try:
            await self.redis.set(position_key(call_id), json.dumps(data, default=str),
                                 ex=POSITION_TTL_S)
        except aioredis.RedisError as err:
            log.warning("IVR %s: position not stored: %s", call_id, err)

    def drop(self, call_id: str) -> None:
        """Forget the call's position (its flow ended); runs in the background."""
        task = asyncio.ensure_future(self._delete(call_id))
        _DELETING.add(task)
        task.add_done_callback(_DELETING.discard)

    async def _delete(self, call_id: str) -> None:
        try:
            await self.redis.delete(position_key(call_id))
        except aioredis.RedisError as err:
            log.warning("IVR %s: position not deleted: %s", call_id, err)

    async def load(self, call_id: str) -> dict[str, Any] | None:
        try:
            raw = await self.redis.get(position_key(call_id))
        except aioredis.RedisError as err:
            log.warning("IVR %s: position not readable: %s", call_id, err)
            return None
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None


def flow_versions(db: sessionmaker[Session], tenant_id: int | None,
                  version_ids: list[str]) -> dict[str, Flow]:
    """The parsed flow of each version id that exists and belongs to ``tenant_id`` (blocking)."""
    found: dict[str, Flow] = {}
    with db() as s:
        for vid in version_ids:
            version = s.get(IvrFlowVersion, int(vid)) if vid.isdigit() else None
            flow = s.get(IvrFlow, version.flow_id) if version is not None else None
            if version is not None and flow is not None and flow.tenant_id == tenant_id:
                found[vid] = flow_store.parsed(version)
    return found


async def resume_call(service: CallService, call_id: str, state: CallState) -> bool:
    """Take the IVR call ``call_id`` up at its stored node (lock held); False when it cannot
    be (no position, a flow version gone, nothing to resume, no IVR engine in this process)."""
    if service.tts is None or service.http is None:
        return False
    positions = IvrPositions(service.redis)
    data = await positions.load(call_id)
    if data is None:
        return False
    try:
        ids = snapshot.version_ids(data)
        flows = await asyncio.to_thread(flow_versions, service.db, state.tenant_id, ids)
        # Parse now, so a broken position falls back before anything is started.
        calendars: dict[str, Any] = {}
        _, running = snapshot.load(data, flows.get, calendars)
    except (snapshot.SnapshotError, KeyError, TypeError, ValueError) as err:
        log.warning("IVR %s: stored position not usable (%s): to the DID's phone", call_id, err)
        return False
    if not snapshot.resumable(running):
        log.info("IVR %s: stored in phase %s, nothing to resume", call_id, running.phase.value)
        return False
    binding = await asyncio.to_thread(routing.inbound_binding, service.db, state.did or "",
                                      state.tenant_id)
    root = ids[0]
    # the DID's own binding: the fallback if the resumed flow cannot connect the caller
    service.ivr.plan(call_id, root, flows[root], binding)
    await service.ivr.start(call_id, resume=(data, flows))
    resumed = service.ivr.running(call_id) or call_id not in service.calls or (
        service.calls[call_id].phase.value != "ivr")
    if resumed:
        log.info("IVR %s: resumed at node %s of flow version %s", call_id, running.node_id,
                 running.version_id)
    return resumed
