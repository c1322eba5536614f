"""Live AMD as a daemon service: the AMD app's connection, one decision per answered call.

:class:`LiveAmd` is what the campaign calls (:mod:`controlplane.calls.campaign_glue`) use:
:meth:`~LiveAmd.decide` runs :func:`~.detection.detect` on the customer's leg and returns a
typed :class:`~.result.AmdDecision` (never raises: a failed detection is NOTSURE, a person);
:meth:`~LiveAmd.compare` runs Asterisk's ``AMD()`` on a second snoop, for comparison only.

AMD's snoop and media channels live in a Stasis app of their own (``<app>-amd``), whose
events websocket :meth:`~LiveAmd.run` holds and ignores, so the call service never sees them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime
from typing import TYPE_CHECKING

from controlplane.amd_live.detection import detect
from controlplane.amd_live.reference import app_amd
from controlplane.amd_live.result import NOT_DECIDED, AmdDecision, object_ids
from controlplane.engine import commands as c
from controlplane.engine import events as ev
from controlplane.engine.ari_ import AriClient, AriError
from controlplane.engine.executor import Executor

if TYPE_CHECKING:
    from amd.detector import DetectorConfig
    from controlplane.config import Settings

log = logging.getLogger(__name__)


class LiveAmd:
    """``run()`` in a task of the composition root; then ``decide`` / ``compare`` per call."""

    def __init__(self, settings: Settings, *, config: DetectorConfig | None = None,
                 timeout_s: float = 6.0, app_amd: bool = True) -> None:
        self.settings = settings
        self.config = config
        self.timeout_s = timeout_s
        self.app_amd = app_amd  # also run Asterisk's AMD() for comparison
        self.app = f"{settings.ari_app}-amd"
        self._ari: AriClient | None = None  # the AMD app's connection (see run)

    async def run(self) -> None:
        """Hold the AMD app's events websocket (AMD channels need a registered app)."""
        s = self.settings
        async with AriClient(s.ari_url, s.ari_user, s.ari_password, self.app) as ari:
            self._ari = ari
            try:
                await ari.run_events(self._ignore)
            finally:
                self._ari = None

    @staticmethod
    async def _ignore(event: ev.Event) -> None:
        """AMD's own channels: detect() waits for them by polling, not by events."""

    async def decide(self, call_id: str, answered_at: datetime | None) -> AmdDecision:
        """Classify the party on ``call_id`` (answered, in Stasis); NOTSURE on any failure."""
        try:
            ari = await self._client()
            if ari is None:
                raise AriError("POST", "/channels/snoop", 0, f"ARI app {self.app} not up")
            s = self.settings
            result = await detect(ari, call_id, app=self.app, media_host=s.bind_address,
                                  media_port=s.platform.http, config=self.config,
                                  timeout_s=self.timeout_s, run_app_amd=False,
                                  answered_at=answered_at)
            return AmdDecision.of(result)
        except Exception as err:  # noqa: BLE001 - a detector failure must not strand a person
            log.warning("campaign %s: AMD failed (treated as NOTSURE): %s", call_id, err)
            return NOT_DECIDED

    async def compare(self, call_id: str, answered_at: datetime) -> tuple[str, str, int] | None:
        """Asterisk's ``AMD()`` on a second snoop: (status, cause, ms from the answer)."""
        ari = await self._client()
        if ari is None:
            return None
        ref_id = object_ids(call_id)["ref"]
        try:
            await ari.run(c.Snoop(call_id, ref_id, self.app))
            got = await app_amd(ari, ref_id, time.monotonic() + self.timeout_s)
            if got is not None:
                return got[0], got[1], round((got[2] - answered_at.timestamp()) * 1000)
        except AriError as err:
            log.info("campaign %s: AMD() comparison: %s", call_id, err)
        finally:
            with contextlib.suppress(AriError):
                await ari.run(c.Hangup(ref_id))
        return None

    async def _client(self) -> Executor | None:
        ari = self._ari
        if ari is None:
            return None
        try:
            async with asyncio.timeout(3):
                await ari.connected.wait()
        except TimeoutError:
            return None
        return Executor(ari)
