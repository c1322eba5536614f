"""The live ACD's tenants: loading their configuration, restoring agents after a restart,
finding a phone's owner.

I/O: reads the database (``store``, in a thread) and the agents hash in Redis; the state it
builds is the pure :class:`~controlplane.acd.live_state.Registry`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import replace

import redis.asyncio as aioredis
from sqlalchemy.orm import Session, sessionmaker

from controlplane.acd import agent_events as ev
from controlplane.acd import agent_machine as am
from controlplane.acd import sessions as ss
from controlplane.acd import store
from controlplane.acd.exceptions import UnknownTenant
from controlplane.acd.interactions import capacity_of
from controlplane.acd.live_state import KEY, Batch, OpenBreaks, Registry, TenantLive
from controlplane.acd.live_steps import Steps
from controlplane.acd.tenant import TenantConfig, agent_from_json

S = ev.Status


class Tenants:
    """Loads tenants into the registry on first use and re-reads them on ``reload``."""

    def __init__(
        self,
        db: sessionmaker[Session],
        redis: aioredis.Redis,
        registry: Registry,
        steps: Steps,
        clock: Callable[[], float],
        max_missed: int,
    ) -> None:
        self.db = db
        self.redis = redis
        self.registry = registry
        self.steps = steps
        self.clock = clock
        self.max_missed = max_missed

    def settings(self, cfg: TenantConfig) -> am.AgentSettings:
        capacity = capacity_of(cfg.chats, cfg.voice_with_chats, cfg.emails)
        return am.AgentSettings(self.max_missed, cfg.breaks or OpenBreaks(), capacity)

    @staticmethod
    def agent_settings(cfg: TenantConfig, base: am.AgentSettings) -> dict[str, am.AgentSettings]:
        """The agents with their own chat or e-mail limit, and the settings their machines
        run with."""
        return {aid: replace(base, capacity=capacity_of(
            cfg.agent_chats.get(aid, cfg.chats), cfg.voice_with_chats,
            cfg.agent_emails.get(aid, cfg.emails)))
            for aid in {*cfg.agent_chats, *cfg.agent_emails}}

    async def ids(self) -> list[int]:
        return await asyncio.to_thread(store.tenant_ids, self.db)

    async def get(self, tenant_id: int, b: Batch) -> TenantLive:
        """The live tenant, loaded (and its agents restored) on first use."""
        t = self.registry.tenants.get(tenant_id)
        if t is not None:
            return t
        cfg = await self._config(tenant_id)
        t = TenantLive(
            cfg,
            self.settings(cfg),
            ss.SessionsState(tenant_id, cfg.licences),
            rng=random.Random(tenant_id),
        )
        t.agent_settings = self.agent_settings(cfg, t.settings)
        self.registry.tenants[tenant_id] = t
        self.registry.own(t)
        await self._restore(t, b)
        return t

    async def reload(self, tenant_id: int, b: Batch) -> None:
        """Re-read a tenant's configuration (queues, members, skills, breaks)."""
        t = self.registry.tenants.get(tenant_id)
        if t is None:
            await self.get(tenant_id, b)
            return
        cfg = await self._config(tenant_id)
        t.cfg, t.settings = cfg, self.settings(cfg)
        t.agent_settings = self.agent_settings(cfg, t.settings)
        self.registry.own(t)

    async def _config(self, tenant_id: int) -> TenantConfig:
        cfg = await asyncio.to_thread(store.load_tenant, self.db, tenant_id)
        if cfg is None:
            raise UnknownTenant(f"tenant {tenant_id} does not exist")
        return cfg

    async def _restore(self, t: TenantLive, b: Batch) -> None:
        now = self.clock()
        raw = await self.redis.hgetall(KEY.format(tenant=t.tid, part="agents"))
        for value in raw.values():
            state, endpoint = agent_from_json(value)
            t.agents[state.agent_id] = state
            if endpoint:
                t.endpoint[state.agent_id] = endpoint
        if not raw:  # Redis lost its data: the status log says where everyone was
            rows = await asyncio.to_thread(store.latest_statuses, self.db, t.tid)
            for aid, (status, reason, at) in rows.items():
                t.agents[aid] = self.steps.restored_agent(t, b, aid, S(status), reason, at, now)
        sessions = dict(t.sessions.sessions)
        for aid, a in list(t.agents.items()):
            if a.offer is not None:  # the agent leg is an orphan now; the call service hangs it up
                self.steps.agent(t, b, aid, ev.OfferCancelled(a.offer.interaction_id), now)
            phones = t.cfg.endpoints.get(aid, ())
            if a.status != S.LOGGED_OUT and aid not in t.endpoint and phones:
                t.endpoint[aid] = phones[0]  # rebuilt from the log: the default phone
            if a.status != S.LOGGED_OUT:
                ws = t.endpoint.get(aid) or "panel"
                sessions[aid] = ss.Session(aid, ws, a.since)
            b.dirty.add((t.tid, aid))
        t.sessions = ss.SessionsState(t.tid, t.cfg.licences, sessions=sessions)

    async def owner(self, endpoint: str, b: Batch) -> tuple[TenantLive, str] | None:
        """The tenant and agent a phone belongs to (loading the tenant), or None."""
        owner = self.registry.owners.get(endpoint)
        if owner is None:
            found = await asyncio.to_thread(store.endpoint_owner, self.db, endpoint)
            if found is None:
                return None
            owner = (found[0], str(found[1]))
            self.registry.owners[endpoint] = owner
        return await self.get(owner[0], b), owner[1]
