"""The SIP ban watcher in the control plane: AMI security events in, enforced bans out.

Theory of operation
-------------------
* The AMI reader hands every security event to :meth:`BanWatcher.on_ami` (synchronous,
  never blocks): it is parsed (:mod:`.sip_events`) and queued.
* :meth:`BanWatcher.run` is the one task that owns the per-address machines
  (:mod:`.bans`). At start it restores them from the ``sip_ban`` table (active bans,
  earlier offences; bans that expired meanwhile or are now allow-listed are lifted).
  Then it takes queued failures in batches, ticks every second (expiry), and every
  :data:`SYNC_EVERY_S` reads the table back, so bans lifted from the CLI or the panel
  are forgotten by the machines too.
* Decisions are enforced first, then stored in a thread (a ban row + its ``sip.ban``
  alert event; lifts with ``sip.unban``); a store that fails (database locked or down) is
  retried on the next round, and enforcement does not wait for it.
* The ACL is rendered from the machines' banned set, written to ``pjsip_bans.conf`` only
  when its text changes, and applied with one AMI PJSIP reload per batch (see
  :mod:`.sip_acl` for why an ACL and not a firewall). A failed reload is retried every
  round until Asterisk answers; after a restart Asterisk reads the file by itself.
* Each ban is logged at WARNING (``audit.record``) and published on ``centrala:alerts``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from controlplane.config import Settings
from controlplane.db import transaction
from controlplane.engine.ami import AmiClient, AmiError
from controlplane.security import alerts, audit, ban_store, bans, sip_acl, sip_events

log = logging.getLogger("centrala.security.bans")
TICK_S = 1.0
SYNC_EVERY_S = 2.0
QUEUE_MAX = 50_000  # failures waiting for the machine; beyond that they are dropped (logged)


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class BanWatcher:
    def __init__(self, settings: Settings, factory: sessionmaker[Session],
                 redis: aioredis.Redis | None, ami: AmiClient, *,
                 policy: bans.BanPolicy | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.factory = factory
        self.redis = redis
        self.ami = ami
        self.policy = policy or ban_store.policy_of(settings)
        self.clock = clock
        self.states: dict[str, bans.SourceState] = {}
        self._queue: asyncio.Queue[bans.AuthFailure] = asyncio.Queue(maxsize=QUEUE_MAX)
        self._unstored: list[bans.Decision] = []
        self._dropped = 0
        self._reload_needed = True  # once at start: Asterisk may hold an older file
        self._reload_failing = False
        self._module_checked = False

    def attach(self) -> None:
        """Subscribe to the AMI security events (before the AMI client runs)."""
        self.ami.subscribe(sorted(sip_events.FAILURES), self.on_ami, "security")

    def on_ami(self, message: Mapping[str, str]) -> None:
        failure = sip_events.parse(message)
        if failure is None:
            return
        try:
            self._queue.put_nowait(failure)
        except asyncio.QueueFull:
            self._dropped += 1
            if self._dropped in (1, 1000) or self._dropped % 100_000 == 0:
                log.warning("ban watcher is behind: %d authentication failures dropped",
                            self._dropped)

    @property
    def banned(self) -> set[str]:
        return {a for a, s in self.states.items() if s.status is bans.Status.BANNED}

    # ---- the loop ----

    async def run(self) -> None:
        await self._restore()
        now = self.clock()
        next_tick, next_sync = now + TICK_S, now + SYNC_EVERY_S
        while True:
            batch = await self._next_batch(max(0.0, min(next_tick, next_sync) - self.clock()))
            now = self.clock()
            out: list[bans.Decision] = []
            for failure in batch:
                out += self._step(failure.address, failure, now)
            if now >= next_tick:
                for address in list(self.states):
                    out += self._step(address, bans.Tick(), now)
                next_tick = now + TICK_S
            if now >= next_sync:
                await self._sync(now)
                next_sync = now + SYNC_EVERY_S
            # enforce first (a guess every few ms gets through while we write), then store
            self._unstored += out
            await self._apply_acl()
            await self._store_decisions()

    async def _next_batch(self, timeout: float) -> list[bans.AuthFailure]:
        try:
            first = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return []
        batch = [first]
        while not self._queue.empty() and len(batch) < 1000:
            batch.append(self._queue.get_nowait())
        return batch

    def _step(self, address: str, event: bans.Event, now: float) -> list[bans.Decision]:
        state = self.states.get(address) or bans.SourceState(address)
        new, out = bans.step(state, event, self.policy, now)
        if new.idle:
            self.states.pop(address, None)
        else:
            self.states[address] = new
        for d in out:
            if isinstance(d, bans.Refused):
                log.debug("ban machine refused %s", d)
        return [d for d in out if not isinstance(d, bans.Refused)]

    # ---- the database ----

    async def _restore(self) -> None:
        """Adopt what the table holds; lift what expired or is now allow-listed."""
        now = self.clock()
        rows, history = await self._retry(self._load, now)
        out: list[bans.Decision] = []
        for address in sorted(set(rows) | set(history)):
            row = rows.get(address)
            event = bans.Restore(
                since=row.created_at.timestamp() if row else None,
                until=row.expires_at.timestamp() if row else None,
                failures=row.failures if row else 0,
                offences=tuple(t.timestamp() for t in history.get(address, ())))
            out += self._step(address, event, now)
        log.info("SIP bans restored: %d active, %d to lift", len(self.banned), len(out))
        self._unstored += out
        await self._store_decisions()

    def _load(self, now: float) -> tuple[dict[str, Any], dict[str, list[datetime]]]:
        with self.factory() as s:
            rows = {r.address: r for r in ban_store.unlifted(s)}
            history = ban_store.offences(s, ban_store.repeat_since(self.policy, _dt(now)))
            s.expunge_all()
        return rows, history

    async def _retry(self, fn: Callable[..., Any], *args: Any) -> Any:
        delay = 1.0
        while True:
            try:
                return await asyncio.to_thread(fn, *args)
            except SQLAlchemyError as err:
                log.warning("SIP bans: database unavailable (%s); retrying", err)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _sync(self, now: float) -> None:
        """Bans lifted in the table (CLI, panel) are forgotten by the machines."""
        try:
            active = await asyncio.to_thread(self._active_addresses, now)
        except SQLAlchemyError as err:
            log.warning("SIP bans: sync skipped (%s)", err)
            return
        # decisions not stored yet are ahead of the table: leave those addresses alone
        waiting = {d.address for d in self._unstored if isinstance(d, bans.Ban | bans.Unban)}
        for address in self.banned - set(active) - waiting:
            self._step(address, bans.Lift(by="table"), now)
            log.info("SIP ban of %s lifted by an operator", address)
        for address, (since, until) in active.items():
            if address not in self.banned and address not in waiting:
                self._step(address, bans.Restore(since=since, until=until), now)

    def _active_addresses(self, now: float) -> dict[str, tuple[float, float]]:
        with self.factory() as s:
            return {r.address: (r.created_at.timestamp(), r.expires_at.timestamp())
                    for r in ban_store.active(s, _dt(now))}

    async def _store_decisions(self) -> None:
        """Store what the machines decided (kept in ``_unstored`` until it is)."""
        todo = list(self._unstored)
        if not todo:
            return
        try:
            await asyncio.to_thread(self._store, todo, self.clock())
        except SQLAlchemyError as err:
            log.warning("SIP bans: %d decisions not stored yet (%s); retrying", len(todo), err)
            return
        self._unstored = self._unstored[len(todo):]
        for d in todo:
            if isinstance(d, bans.Ban) and self.redis is not None:
                await alerts.publish(self.redis, alerts.payload(
                    "sip.ban", "alert", d.address,
                    {"failures": d.failures, "offence": d.offence,
                     "until": _dt(d.until).isoformat()}, at=_dt(d.since)))

    def _store(self, decisions: list[bans.Decision], now: float) -> None:
        with transaction(self.factory) as s:
            for d in decisions:
                if isinstance(d, bans.Ban):
                    ban_store.add(s, d)
                elif isinstance(d, bans.Unban):
                    ban_store.lift(s, d.address, d.reason, _dt(now), reason=d.reason)
                elif isinstance(d, bans.FirstFailure):
                    audit.record(s, "sip.auth_failed", source=d.address,
                                 detail={"event": d.kind, "account": d.account[:80]})
                elif isinstance(d, bans.Spared):
                    audit.record(s, "sip.ban_spared", severity="warning", source=d.address,
                                 detail={"failures": d.failures, "why": "allow-listed"})

    # ---- Asterisk ----

    async def _apply_acl(self) -> None:
        etc = ban_store.etc_dir(self.settings)
        text = sip_acl.render_bans(self.banned)
        if text != await asyncio.to_thread(_read, etc / sip_acl.BANS_FILE):
            # The file differs: a ban or lift of ours, or an operator's `security unban` that
            # rewrote it already. Read the table first so a lift is never written back.
            await self._sync(self.clock())
            text = sip_acl.render_bans(self.banned)
        try:
            written = await asyncio.to_thread(ban_store.write_file, etc, text)
        except OSError as err:
            log.error("SIP bans: %s not written: %s", sip_acl.BANS_FILE, err)
            return
        if not (written or self._reload_needed):
            return
        self._reload_needed = True
        if not self.ami.healthy.is_set():
            return  # not connected yet (start) or Asterisk restarting: it reads the file itself
        started = time.monotonic()
        try:
            if not self._module_checked:
                await self._ensure_module()
            reply = await self.ami.action(dict(ban_store.RELOAD))
            if not reply or reply.get("Response") != "Success":
                raise AmiError(f"PJSIP reload refused: {reply!r}")
        except AmiError as err:
            if not self._reload_failing:
                log.warning("SIP bans written but not applied yet (%s); retrying", err)
            self._reload_failing = True
            return
        self._reload_needed = self._reload_failing = False
        log.info("SIP ACL applied: %d banned (reload %.0f ms)", len(self.banned),
                 (time.monotonic() - started) * 1000)

    async def _ensure_module(self) -> None:
        """An Asterisk started before bans existed lacks res_pjsip_acl (modules.conf lists it
        now; sorcery.conf, written by the render, maps its type): load it, no restart."""
        reply = await self.ami.action({"Action": "ModuleCheck", "Module": "res_pjsip_acl"})
        if not reply or reply.get("Response") != "Success":
            load = await self.ami.action({"Action": "ModuleLoad", "Module": "res_pjsip_acl.so",
                                          "LoadType": "load"})
            ok = bool(load) and load.get("Response") == "Success"
            (log.info if ok else log.error)("res_pjsip_acl was not loaded; load: %s",
                                            load.get("Message") if load else "no reply")
            if not ok:
                return  # checked again at the next reload
        self._module_checked = True


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None
