"""Probe calls for live AMD: own ARI app, originate to a number, run :func:`detect`, hang up.

Used by ``tests/integration/test_amd_live.py`` and ``bench/amd_live.py`` against
the lab carrier (``100XXXX`` human, ``200XXXX`` answering machine).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from controlplane.amd_live import store
from controlplane.amd_live.detection import detect
from controlplane.amd_live.detector import preload_detector
from controlplane.amd_live.result import LiveAmdResult, object_ids
from controlplane.config import Settings
from controlplane.engine import commands as c
from controlplane.engine import events as ev
from controlplane.engine.ari_ import AriClient, AriError
from controlplane.engine.executor import Executor


@dataclass(frozen=True)
class ProbeCall:
    number: str
    channel_id: str
    channel_name: str
    result: LiveAmdResult
    wall_s: float  # detect() from call to return


class AmdProbe:
    """``async with AmdProbe(settings, app) as probe: await probe.call("1001234")``."""

    def __init__(
        self, settings: Settings, app: str, trunk: str = "lab-carrier", prefix: str = "amdprobe",
        db: sessionmaker[Session] | None = None, tenant_id: int | None = None,
    ) -> None:
        """With ``db``, each probe call is kept as a call record with both verdicts."""
        self.settings = settings
        self.app = app
        self.trunk = trunk
        self.prefix = prefix
        self.ari = AriClient(settings.ari_url, settings.ari_user, settings.ari_password, app)
        self.engine = Executor(self.ari)  # every request of the probe goes through it
        self._started: dict[str, asyncio.Future[ev.StasisStart]] = {}
        self._reader: asyncio.Task[None] | None = None
        self.channel_ids: list[str] = []
        self.db = db
        self.tenant_id = tenant_id

    async def __aenter__(self) -> AmdProbe:
        await asyncio.to_thread(preload_detector)  # before the first call's timings start
        await self.ari.__aenter__()
        self._reader = asyncio.create_task(self.ari.run_events(self._on_event))
        async with asyncio.timeout(10):
            await self.ari.connected.wait()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await self.ari.__aexit__(*exc)

    async def _on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.StasisStart):
            fut = self._started.get(event.channel.id)
            if fut is not None and not fut.done():
                fut.set_result(event)

    def new_channel_id(self) -> str:
        return f"{self.prefix}-{uuid.uuid4().hex[:12]}"

    async def call(self, number: str, channel_id: str | None = None, **detect_kw: Any) -> ProbeCall:
        """Originate to ``number`` over the trunk, detect once answered, hang up."""
        cid = channel_id or self.new_channel_id()
        fut: asyncio.Future[ev.StasisStart] = asyncio.get_running_loop().create_future()
        self._started[cid] = fut
        self.channel_ids.append(cid)
        try:
            await self.engine.run(
                c.Originate(cid, f"PJSIP/{number}@{self.trunk}", "", None, 15, app=self.app)
            )
            async with asyncio.timeout(15):
                start = await fut  # originate with app=: the channel arrives answered
            t = time.monotonic()
            result = await detect(
                self.engine,
                cid,
                app=self.app,
                media_host=self.settings.bind_address,
                media_port=self.settings.platform.http,
                answered_at=start.at,
                **detect_kw,
            )
            if self.db is not None:
                await asyncio.to_thread(store.save_probe, self.db, cid, self.tenant_id,
                                        number, self.trunk, start.at, datetime.now(UTC), result)
            return ProbeCall(number, cid, start.channel.name, result, time.monotonic() - t)
        finally:
            self._started.pop(cid, None)
            try:
                await self.engine.run(c.Hangup(cid))
            except AriError as err:
                if err.status != 404:
                    raise

    async def leftovers(self) -> list[str]:
        """Channels and bridges of this probe's calls that Asterisk still holds."""
        ours = set(self.channel_ids)
        for cid in self.channel_ids:
            ours.update(object_ids(cid).values())
        channels = [ch["id"] for ch in await self.engine.channels() if ch["id"] in ours]
        bridges = [b["id"] for b in await self.engine.bridges() if b["id"] in ours]
        return channels + bridges
