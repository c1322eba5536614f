"""The campaign runner: once a second, how many calls each running campaign starts now.

Theory of operation
-------------------
For every campaign with status ``running`` (``store.running_campaigns``) and every tick:

1. the *floor*: agents of the campaign's queue logged in and free, from the ACD's live
   statistics (``QueueService.snapshot``), and the campaign's lines in flight, from the
   call service's own calls (phase ringing / amd / queued: not yet with an agent);
2. the *count*: ``progressive`` and ``preview``-less modes dial one line per free agent
   not already covered by a line in flight (:func:`pacing.progressive_count`, the agent is
   guaranteed, nothing can be abandoned); ``predictive`` asks the pacing machine
   (:mod:`controlplane.dialer.pacing`), which dials ahead of free agents once it has
   history and regulator headroom, and is progressive until then;
3. the *records*: ``attempt_store.reserve`` picks them with the pure selection (dialling
   order, calling hours in each record's time zone, blacklists, lockouts), chooses the caller
   ID, marks them ``in_progress`` and writes their compliance row before any call leaves;
4. the *calls*: ``CampaignCalls.place`` dials each; a refusal releases the record, except a
   refusal by the toll-fraud guard: a number the outbound policy forbids closes the record
   (outcome ``refused``), a cap reached meanwhile releases it. The caps also bound step 2
   (``TollGuard.headroom``), so a campaign slows down at a cap instead of being refused.

When an attempt ends (``on_result``, hooked to ``CampaignCalls.on_result``) its compliance
row gets the timestamps and outcome, the record moves on by the retry rules, and the
pacing machine learns the outcome. Preview campaigns are dialled by agents from the panel,
not here. After a restart ``recover`` closes attempts whose call is gone.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from controlplane.admin.outbound_routes import Leg
from controlplane.calls.campaign_glue import OutboundRefused
from controlplane.calls.machine import Phase
from controlplane.dialer import attempt_store, pacing, store
from controlplane.dialer import regulator as reg
from controlplane.dialer.events import AttemptEnded, FloorView, LiveAnswered, Tick
from controlplane.dialer.live import AttemptResult, PlaceCall
from controlplane.live import raise_if_cancelled

if TYPE_CHECKING:
    from controlplane.acd.service import QueueService
    from controlplane.calls.campaign_glue import CampaignCalls

log = logging.getLogger(__name__)
PENDING = (Phase.RINGING, Phase.AMD, Phase.QUEUED)
PACING_OUTCOME = {"human": "human", "abandoned": "human", "machine": "machine",
                  "no_answer": "no_answer", "busy": "busy", "failed": "unobtain",
                  "unallocated": "unobtain"}


class CampaignRunner:
    """Drives every running campaign of the platform (see the module docstring)."""

    def __init__(self, db: sessionmaker[Session], campaigns: CampaignCalls, acd: QueueService,
                 clock: Callable[[], float] = time.time, *, seed: int = 0) -> None:
        self.db = db
        self.campaigns = campaigns
        self.acd = acd
        self.clock = clock
        self.rng = random.Random(seed)
        self._plans: dict[int, store.CampaignPlan] = {}
        self._pacing: dict[int, pacing.CentralaState] = {}
        self._lock = asyncio.Lock()

    async def run(self, interval_s: float = 1.0) -> None:
        """Recover open attempts, then tick until cancelled."""
        live = set(self.campaigns.calls.calls)
        try:  # Asterisk is the truth about which calls still exist
            live |= {ch["id"] for ch in await self.campaigns.calls.engine.channels()}
        except Exception as err:  # noqa: BLE001 - ARI not up yet: only what the service knows
            log.warning("dialer: channels not listed at start: %s", err)
        closed = await asyncio.to_thread(attempt_store.recover, self.db, live)
        if closed:
            log.warning("dialer: %d attempts open at a restart were closed as failed", closed)
        while True:
            try:
                await self.tick()
            except Exception:  # noqa: BLE001 - one bad tick must not stop the dialer
                log.exception("dialer tick failed")
            raise_if_cancelled()
            await asyncio.sleep(interval_s)

    async def tick(self) -> None:
        async with self._lock:
            plans = await asyncio.to_thread(store.running_campaigns, self.db)
            self._plans.update({p.id: p for p in plans})
            for plan in plans:
                if plan.mode == "preview":
                    continue
                await self._tick_campaign(plan)

    async def _tick_campaign(self, plan: store.CampaignPlan) -> None:
        now = self.clock()
        view = await self._floor(plan)
        if plan.mode == "predictive":
            state = self._pacing.get(plan.id) or pacing.initial_state(pacing.CentralaConfig(
                reg.RegulatorConfig(plan.regulator)))
            state, dials = pacing.step(state, Tick(view), now)
            self._pacing[plan.id] = state
            n = sum(d.count for d in dials)
            guaranteed = all(d.guaranteed_agent for d in dials)
            amd = all(d.amd for d in dials)
        else:
            n, guaranteed, amd = pacing.progressive_count(view), True, True
        if n <= 0:
            return
        # the toll-fraud caps (tenant, trunk, hour) bound the count: nothing is reserved
        # only to be refused
        n = min(n, await self.campaigns.calls.guard.headroom(plan.tenant_id, plan.trunk))
        if n <= 0:
            return
        taken = await asyncio.to_thread(attempt_store.reserve, self.db, plan, n, now,
                                        guaranteed=guaranteed, rng=self.rng)
        for r in taken:
            # the outbound route of the number (reserve took only numbers a route takes)
            leg = store.leg_for(plan, r.number) or Leg(plan.trunk, r.number.lstrip("+"))
            place = PlaceCall(attempt_id=r.attempt_id, tenant_id=plan.tenant_id,
                              number=r.number, trunk=leg.trunk, caller_id=r.caller_id,
                              queue=plan.queue, abandon_prompt=store.ABANDON_MESSAGE,
                              ring_timeout_s=plan.ring_timeout_s, amd=amd, dialled=leg.number)
            try:
                await self.campaigns.place(place)
            except OutboundRefused as err:  # the call record and the audit say why
                log.warning("dialer: attempt %s refused: %s", r.attempt_id, err.reason)
                await asyncio.to_thread(attempt_store.refuse, self.db, plan, r.attempt_id,
                                        err.reason, final=err.final, now=now)
            except Exception as err:  # noqa: BLE001 - InvalidPlaceCall, refused: release, go on
                log.warning("dialer: attempt %s not placed: %s", r.attempt_id, err)
                await asyncio.to_thread(attempt_store.release, self.db, r.attempt_id, str(err))

    async def _floor(self, plan: store.CampaignPlan) -> FloorView:
        stats = await self.acd.snapshot(plan.tenant_id)
        q = next((q for q in stats["queues"] if q["name"] == plan.queue), None)
        prefix = f"campaign-{plan.id}-"
        phases = [s.phase for cid, s in self.campaigns.calls.calls.items()
                  if cid.startswith(prefix)]
        return FloorView(
            logged_in=int(q["agents_logged_in"]) if q else 0,
            ready=int(q["agents_free"]) if q else 0,
            ringing_elapsed=tuple(0.0 for p in phases if p == Phase.RINGING),
            analysing=sum(1 for p in phases if p == Phase.AMD),
            queued=sum(1 for p in phases if p == Phase.QUEUED),
        )

    async def on_result(self, result: AttemptResult) -> None:
        """An attempt ended: compliance row, record, pacing."""
        parts = result.attempt_id.split("-")
        plan = self._plans.get(int(parts[0])) if parts[0].isdigit() else None
        if plan is None:
            log.warning("dialer: result for unknown campaign attempt %s", result.attempt_id)
            return
        agent = await asyncio.to_thread(store.agent_user_id, self.db,
                                        result.agent_endpoint)
        state = await asyncio.to_thread(attempt_store.finish, self.db, plan, result,
                                        self.clock(), agent)
        log.info("dialer: %s %s → record %s", result.attempt_id, result.outcome, state)
        pstate = self._pacing.get(plan.id)
        if pstate is not None:
            elapsed = ((result.greeting_end_at or result.ended_at or result.dial_at)
                       - result.dial_at).total_seconds() if result.dial_at else 0.0
            pstate, _ = pacing.step(pstate, AttemptEnded(PACING_OUTCOME[result.outcome],
                                                         max(elapsed, 0.0)), self.clock())
            if result.outcome in ("human", "abandoned"):
                pstate, _ = pacing.step(pstate, LiveAnswered(result.outcome == "abandoned"),
                                        self.clock())
            self._pacing[plan.id] = pstate

