"""The live ACD's tenants: loading, restoring agents after a restart, phone owners."""

from __future__ import annotations

import asyncio
import random

from controlplane.acd import agent_events as ev
from controlplane.acd import agent_machine as am
from controlplane.acd import queue_machine as qm
from controlplane.acd import sessions as ss
from controlplane.acd import store
from controlplane.acd.live_state import KEY, Batch, OpenBreaks, TenantLive, UnknownTenant
from controlplane.acd.live_steps import StepsMixin

S = ev.Status


class TenantsMixin(StepsMixin):
    """Tenant loading and look-ups of :class:`~controlplane.acd.service.QueueService`
    (its attributes are declared on :class:`StepsMixin`)."""

    def _settings(self, cfg: store.TenantConfig) -> am.AgentSettings:
        return am.AgentSettings(self.max_missed, cfg.breaks or OpenBreaks())

    def _own(self, t: TenantLive) -> None:
        for aid, eps in t.cfg.endpoints.items():
            for ep in eps:
                self._owners[ep] = (t.tid, aid)

    async def _tenant(self, tenant_id: int, b: Batch) -> TenantLive:
        t = self._tenants.get(tenant_id)
        if t is not None:
            return t
        cfg = await asyncio.to_thread(store.load_tenant, self.db, tenant_id)
        if cfg is None:
            raise UnknownTenant(f"tenant {tenant_id} does not exist")
        t = TenantLive(
            cfg,
            self._settings(cfg),
            ss.SessionsState(tenant_id, cfg.licences),
            rng=random.Random(tenant_id),
        )
        self._tenants[tenant_id] = t
        self._own(t)
        await self._restore(t, b)
        return t

    async def _restore(self, t: TenantLive, b: Batch) -> None:
        now = self.clock()
        raw = await self.redis.hgetall(KEY.format(tenant=t.tid, part="agents"))
        for value in raw.values():
            state, endpoint = store.agent_from_json(value)
            t.agents[state.agent_id] = state
            if endpoint:
                t.endpoint[state.agent_id] = endpoint
        if not raw:  # Redis lost its data: the status log says where everyone was
            rows = await asyncio.to_thread(store.latest_statuses, self.db, t.tid)
            for aid, (status, reason, at) in rows.items():
                t.agents[aid] = self._from_log(t, b, aid, S(status), reason, at, now)
        sessions = dict(t.sessions.sessions)
        for aid, a in list(t.agents.items()):
            if a.offer is not None:  # the agent leg is an orphan now; the call service hangs it up
                self._agent(t, b, aid, ev.OfferCancelled(a.offer.interaction_id), now)
            phones = t.cfg.endpoints.get(aid, ())
            if a.status != S.LOGGED_OUT and aid not in t.endpoint and phones:
                t.endpoint[aid] = phones[0]  # rebuilt from the log: the default phone
            if a.status != S.LOGGED_OUT:
                ws = t.endpoint.get(aid) or "panel"
                sessions[aid] = ss.Session(aid, ws, a.since)
            b.dirty.add((t.tid, aid))
        t.sessions = ss.SessionsState(t.tid, t.cfg.licences, sessions=sessions)

    def _from_log(
        self,
        t: TenantLive,
        b: Batch,
        aid: str,
        status: ev.Status,
        reason: str | None,
        at: float,
        now: float,
    ) -> am.AgentState:
        a = am.AgentState(aid, status, reason, since=at, idle_since=at)
        if status == S.WRAP_UP:
            return am.AgentState(aid, status, None, since=at, wrap_until=at, idle_since=at)
        if status in (S.RESERVED, S.RINGING, S.ON_CALL):  # the work is unknown now
            self._logs(t, b).statuses.append(ev.StatusChanged(aid, status, S.READY, None, now))
            return am.AgentState(aid, S.READY, since=now, idle_since=now)
        return a

    async def _owner(self, endpoint: str, b: Batch) -> tuple[int, str] | None:
        owner = self._owners.get(endpoint)
        if owner is None:
            found = await asyncio.to_thread(store.endpoint_owner, self.db, endpoint)
            if found is None:
                return None
            owner = (found[0], str(found[1]))
            self._owners[endpoint] = owner
        await self._tenant(owner[0], b)
        return owner

    def _agent_of(self, t: TenantLive | None, endpoint: str) -> str | None:
        owner = self._owners.get(endpoint)
        return owner[1] if t is not None and owner is not None and owner[0] == t.tid else None

    def _call(self, call_id: str) -> tuple[TenantLive | None, qm.QueuedState | None]:
        tid = self._calls.get(call_id)
        if tid is None:
            return None, None
        t = self._tenants[tid]
        return t, t.queued.get(call_id)
