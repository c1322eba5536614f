"""The media websocket of one detection: read slin16 frames, batch them into the detector.

:class:`MediaRun` reads ``chan_websocket``'s binary frames, hands batches of
``batch_frames`` 20 ms frames to :class:`~.detector.LockedDetector` in a worker thread, and
stops at the first verdict, at the end of audio (hang-up, websocket closed: the detector
then decides with what it heard) or at the deadline.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import websockets

from amd.verdict import Verdict
from controlplane.amd_live.detector import LockedDetector
from controlplane.amd_live.objects import channel_exists
from controlplane.amd_live.result import FRAME_BYTES
from controlplane.engine.executor import Executor

log = logging.getLogger(__name__)


class MediaRun:
    """Read the media websocket, batch frames into the detector, stop at a verdict."""

    def __init__(
        self, ari: Executor, channel_id: str, ws: Any, det: LockedDetector, batch_frames: int
    ) -> None:
        self.ari, self.channel_id, self.ws, self.det = ari, channel_id, ws, det
        self.batch = max(1, batch_frames)
        self.buf = bytearray()
        self.frames = 0
        self.first_frame_at: float | None = None
        self.ended = False  # no more audio (hang-up, websocket closed)
        self.hung_up = False
        self.wake = asyncio.Event()

    def _take(self) -> list[bytes]:
        n = len(self.buf) // FRAME_BYTES
        frames = [bytes(self.buf[i * FRAME_BYTES : (i + 1) * FRAME_BYTES]) for i in range(n)]
        del self.buf[: n * FRAME_BYTES]
        self.frames += n
        return frames

    async def _reader(self) -> None:
        try:
            while True:
                try:
                    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
                    # that lands as a frame arrives (met here: detect hung on cancel).
                    async with asyncio.timeout(0.5):
                        msg = await self.ws.recv()
                except TimeoutError:
                    # Audio stalls when the snooped party hangs up (the snoop leaves the bridge).
                    if not await channel_exists(self.ari, self.channel_id):
                        self.hung_up = True
                        return
                    continue
                if isinstance(msg, str):
                    log.debug("media control: %s", msg[:200])
                    continue
                if self.first_frame_at is None:
                    self.first_frame_at = time.time()
                self.buf += msg
                if len(self.buf) >= self.batch * FRAME_BYTES:
                    self.wake.set()
        except websockets.ConnectionClosed:
            self.hung_up = not await channel_exists(self.ari, self.channel_id)
        finally:
            self.ended = True
            self.wake.set()

    async def _consumer(self) -> tuple[Verdict, float]:
        while True:
            await self.wake.wait()
            self.wake.clear()
            if self.ended:
                final = await asyncio.to_thread(self.det.finish, self._take())
                return final, time.time()
            frames = self._take()
            if frames:
                verdict = await asyncio.to_thread(self.det.feed, frames)
                if verdict is not None:
                    return verdict, time.time()

    async def until_verdict(self, deadline: float) -> tuple[Verdict, float, bool]:
        reader = asyncio.create_task(self._reader())
        consumer = asyncio.create_task(self._consumer())
        try:
            done, _ = await asyncio.wait({consumer}, timeout=max(0.0, deadline - time.monotonic()))
            if consumer in done:
                verdict, at = consumer.result()
                return verdict, at, False
            consumer.cancel()
            await asyncio.wait({consumer})  # (a cancellation of ours still propagates)
            verdict = await asyncio.to_thread(self.det.finish, self._take())
            return verdict, time.time(), True
        finally:
            for task in (reader, consumer):
                task.cancel()
            await asyncio.gather(reader, consumer, return_exceptions=True)
