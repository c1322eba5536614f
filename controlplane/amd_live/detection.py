"""One live detection on an answered call, over ARI and ``chan_websocket``.

Given a channel that is Up and in a Stasis application, :func:`detect` wires the
called party's audio to :class:`amd.detector.StreamingDetector`:

    target ──snoop(spy=in)── <id>-amd-snoop ─┐ mixing bridge <id>-amd-bridge
                                             └─ <id>-amd-media  (externalMedia, chan_websocket,
                                                slin16, server mode) ──ws /media/<conn id>──▶ Python

and, when ``run_app_amd`` is set, Asterisk's own ``AMD()`` on the same audio at
the same time, for comparison (:mod:`.reference`):

    target ──snoop(spy=in)── <id>-amd-ref ──continue──▶ [centrala-amd] s,1: AMD(), then
        CENTRALA_AMD = STATUS/CAUSE/epoch on that channel (read back with an ARI GET)

Every Asterisk object is named from the target channel id (:func:`~.result.object_ids`),
so a restarted daemon can find (and hang up) leftovers with ARI GETs alone. Everything
created here is torn down before :func:`detect` returns, also on errors and on cancellation.

The detector runs in a worker thread (``asyncio.to_thread``) on batches of frames; per-frame
cost is ~50-60 µs at 16 kHz on the lab machine, so the batch (default 5 frames = 100 ms)
mostly amortises the thread hand-off.

``detect`` needs no events websocket of its own: channels it creates are placed in ``app``
(which must be registered, i.e. someone holds its events websocket), and it waits for them
by retrying, and for ``AMD()`` by polling a channel variable.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import TYPE_CHECKING

import websockets

from controlplane.amd_live.detector import LockedDetector, detector_loaded, preload_detector
from controlplane.amd_live.media import MediaRun
from controlplane.amd_live.objects import DetectionObjects, channel_exists, retry, shielded
from controlplane.amd_live.reference import app_amd
from controlplane.amd_live.result import LiveAmdResult, epoch, hung_up_result, ms_between
from controlplane.engine import commands as c
from controlplane.engine.ari_ import AriError
from controlplane.engine.executor import Executor

if TYPE_CHECKING:
    from amd.detector import DetectorConfig

log = logging.getLogger(__name__)


async def detect(
    ari: Executor,
    channel_id: str,
    *,
    app: str,
    media_host: str,
    media_port: int,
    config: DetectorConfig | None = None,
    timeout_s: float = 6.0,
    run_app_amd: bool = True,
    answered_at: datetime | float | None = None,
    batch_frames: int = 5,
) -> LiveAmdResult:
    """Classify the party on ``channel_id`` (Up, in Stasis) as HUMAN / MACHINE / NOTSURE.

    ``media_host:media_port`` is the platform Asterisk's HTTP server (where ARI is).
    ``answered_at`` (Asterisk's StasisStart timestamp, or epoch seconds; default: now)
    is the origin of every ``*_ms`` figure. Returns at the verdict (and, with
    ``run_app_amd``, once ``AMD()`` has answered too) or after ``timeout_s``; at the
    timeout the centrala detector decides with what it heard (``timed_out``).
    """
    t_answer = epoch(answered_at)
    deadline = time.monotonic() + timeout_s
    session = DetectionObjects(ari, channel_id)
    ids = session.ids
    amd_task: asyncio.Task[tuple[str, str, float] | None] | None = None
    try:
        # One request at a time: in parallel it was no faster (~22 ms answer → first frame either
        # way), and Asterisk's HTTP server listens with a backlog of 10, so bursts of new
        # connections from many calls overflow it (SYN dropped, retried after 1 s: audio lost).
        t_call = time.time()
        try:
            await session.create("channel", "snoop", c.Snoop(channel_id, ids["snoop"], app))
        except AriError as err:
            if err.status == 404:  # the called party is already gone
                return hung_up_result(tuple(session.attempted))
            raise
        if run_app_amd:
            await session.create("channel", "ref", c.Snoop(channel_id, ids["ref"], app))
            amd_task = asyncio.create_task(app_amd(ari, ids["ref"], deadline))
        media = await session.create("channel", "media", c.ExternalMedia(ids["media"], app))
        await session.create(
            "bridge", "bridge", c.CreateBridge(ids["bridge"], "mixing", "centrala-amd")
        )
        t_created = time.time()
        conn = (media.get("channelvars") or {}).get("MEDIA_WEBSOCKET_CONNECTION_ID")
        if not conn:
            raise AriError("POST", "/channels/externalMedia", 0, "no MEDIA_WEBSOCKET_CONNECTION_ID")
        url = f"ws://{media_host}:{media_port}/media/{conn}"
        async with websockets.connect(
            url,
            subprotocols=["media"],  # type: ignore[list-item]
            compression=None,
            ping_interval=None,
            max_size=2**20,
        ) as ws:
            # The media channel enters Stasis once the websocket is up; the snoop soon after
            # creation. Until then addChannel answers 422.
            try:
                await retry(
                    lambda: ari.run(c.AddToBridge(ids["bridge"], (ids["snoop"], ids["media"]))),
                    until=min(deadline, time.monotonic() + 3),
                    statuses=(409, 422),
                )
            except AriError:
                if await channel_exists(ari, channel_id):
                    raise
                return hung_up_result(tuple(session.attempted))
            log.debug(
                "AMD %s: answer→detect %d ms, created +%d ms, bridged +%d ms",
                channel_id,
                (t_call - t_answer) * 1000,
                (t_created - t_call) * 1000,
                (time.time() - t_created) * 1000,
            )
            if not detector_loaded():  # never import SciPy on the event loop
                await asyncio.to_thread(preload_detector)
            run = MediaRun(ari, channel_id, ws, LockedDetector(config), batch_frames)
            verdict, at, timed_out = await run.until_verdict(deadline)
        await session.drop("snoop", "media", "bridge")  # free the media path early
        amd = None
        if amd_task is not None:
            amd = await amd_task
            await session.drop("ref")
        return LiveAmdResult(
            centrala=verdict.label,
            cause=verdict.cause,
            decision_ms=ms_between(at, t_answer),
            audio_ms=verdict.decision_ms if run.frames else None,
            setup_ms=ms_between(run.first_frame_at, t_answer),
            frames=run.frames,
            timed_out=timed_out,
            hung_up=run.hung_up,
            detector_cpu_ms=round(run.det.cpu_s * 1000, 1),
            app_amd_status=amd[0] if amd else None,
            app_amd_cause=amd[1] if amd else None,
            app_amd_ms=ms_between(amd[2], t_answer) if amd else None,
            objects=tuple(session.attempted),
        )
    finally:
        if amd_task is not None and not amd_task.done():
            amd_task.cancel()
        await shielded(session.drop())
