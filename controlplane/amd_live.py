"""Live answering-machine detection on an answered call, over ARI and ``chan_websocket``.

Given a channel that is Up and in a Stasis application, :func:`detect` wires the
called party's audio to :class:`amd.detector.StreamingDetector`:

    target ──snoop(spy=in)── <id>-amd-snoop ─┐ mixing bridge <id>-amd-bridge
                                             └─ <id>-amd-media  (externalMedia, chan_websocket,
                                                slin16, server mode) ──ws /media/<conn id>──▶ Python

and, when ``run_app_amd`` is set, Asterisk's own ``AMD()`` on the same audio at
the same time, for comparison:

    target ──snoop(spy=in)── <id>-amd-ref ──continue──▶ [centrala-amd] s,1: AMD(), then
        CENTRALA_AMD = STATUS/CAUSE/epoch-ms on that channel (read back with an ARI GET)

Every Asterisk object is named from the target channel id, so a restarted daemon
can find (and hang up) leftovers with ARI GETs alone.  Everything created here is
torn down before :func:`detect` returns, also on errors and on cancellation.

The detector runs in a worker thread (``asyncio.to_thread``) on batches of
frames; per-frame cost is ~50-60 µs at 16 kHz on the lab machine, so the batch
(default 5 frames = 100 ms) mostly amortises the thread hand-off.

``detect`` needs no events websocket of its own: channels it creates are placed
in ``app`` (which must be registered, i.e. someone holds its events websocket),
and it waits for them by retrying, and for ``AMD()`` by polling a channel variable.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import websockets

from amd.verdict import Label, Verdict
from controlplane.engine import commands as c
from controlplane.engine.ari_ import AriError
from controlplane.engine.executor import Executor

if TYPE_CHECKING:
    from amd.detector import DetectorConfig

# ``amd.detector`` pulls in SciPy (over a second to import). The daemon imports it in a
# thread once it has connected (:func:`preload_detector`), so a restarted control plane takes
# its calls back sooner; :func:`detect` imports it in a thread too if it is still missing, so
# no call ever waits for an import on the event loop.


def preload_detector() -> None:
    """Import the detector and its numeric libraries (call in a thread)."""
    import scipy.special  # noqa: F401  (the dialer's estimators)

    import amd.detector  # noqa: F401


log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
FRAME_BYTES = 640  # 20 ms of slin16
AMD_CONTEXT = "centrala-amd"
AMD_RESULT_VAR = "CENTRALA_AMD"
# Asterisk's AMD() for comparison runs in the [centrala-amd] context of the rendered
# dialplan (dialplan/templates/extensions.conf.j2) and leaves its result in CENTRALA_AMD.

# Teardowns that outlive a cancelled detect() (kept referenced until done).
_BACKGROUND: set[asyncio.Task[None]] = set()


@dataclass(frozen=True)
class LiveAmdResult:
    """Both detectors' answers for one call. Times are ms from the answer."""

    centrala: Label
    cause: str
    decision_ms: int | None  # answer → verdict in hand (wall clock)
    audio_ms: int | None  # the detector's own audio clock at the verdict (from the first frame)
    setup_ms: int | None  # answer → first audio frame received
    frames: int = 0
    timed_out: bool = False
    hung_up: bool = False  # the audio ended (party hung up) before a verdict
    detector_cpu_ms: float = 0.0  # CPU time of the detector (worker thread)
    app_amd_status: str | None = None  # MACHINE/HUMAN/NOTSURE/HANGUP; None: not run/no answer
    app_amd_cause: str | None = None
    app_amd_ms: int | None = None
    objects: tuple[str, ...] = field(default=(), repr=False)  # what was created (and torn down)


def object_ids(channel_id: str) -> dict[str, str]:
    """Names of the objects :func:`detect` creates for ``channel_id``."""
    return {
        "snoop": f"{channel_id}-amd-snoop",
        "media": f"{channel_id}-amd-media",
        "bridge": f"{channel_id}-amd-bridge",
        "ref": f"{channel_id}-amd-ref",
    }


def _epoch(at: datetime | float | None) -> float:
    if at is None:
        return time.time()
    if isinstance(at, datetime):
        return at.timestamp()
    return float(at)


def _ms(a: float | None, b: float) -> int | None:
    return None if a is None else round((a - b) * 1000)


class _Detector:
    """StreamingDetector behind a lock, fed in a worker thread."""

    def __init__(self, config: DetectorConfig | None) -> None:
        from amd.detector import StreamingDetector

        self.det = StreamingDetector(SAMPLE_RATE, config)
        self.lock = threading.Lock()
        self.cpu_s = 0.0

    def feed(self, frames: list[bytes]) -> Verdict | None:
        with self.lock:
            return self._feed(frames)

    def finish(self, frames: list[bytes]) -> Verdict:
        """End of audio: feed what is left, then decide with what was heard."""
        with self.lock:
            verdict = self._feed(frames)
            if verdict is not None:
                return verdict
            t = time.thread_time()
            verdict = self.det.finish()
            self.cpu_s += time.thread_time() - t
            return verdict

    def _feed(self, frames: list[bytes]) -> Verdict | None:
        t = time.thread_time()
        try:
            for frame in frames:
                verdict = self.det.feed(frame)
                if verdict is not None:
                    return verdict
            return None
        finally:
            self.cpu_s += time.thread_time() - t


class _Session:
    """The Asterisk objects of one detection, and their teardown."""

    def __init__(self, ari: Executor, channel_id: str) -> None:
        self.ari = ari
        self.ids = object_ids(channel_id)
        self.attempted: list[str] = []  # "channel:<id>" / "bridge:<id>", in creation order
        self.confirmed: set[str] = set()
        self.done: set[str] = set()

    async def create(self, kind: str, key: str, cmd: c.Command) -> Any:
        ref = f"{kind}:{self.ids[key]}"
        self.attempted.append(ref)
        result = await self.ari.run(cmd)
        self.confirmed.add(ref)
        return result

    async def drop(self, *keys: str) -> None:
        """Hang up / destroy the named objects (all when none named); 404 is fine."""
        wanted = (
            {f"{k}:{self.ids[n]}" for n in keys for k in ("channel", "bridge")} if keys else None
        )
        refs = [r for r in self.attempted if r not in self.done and (wanted is None or r in wanted)]
        channels = [r for r in refs if r.startswith("channel:")]
        bridges = [r for r in refs if r.startswith("bridge:")]
        for group in (channels, bridges):  # channels first: nobody is left in a deleted bridge
            await asyncio.gather(*(self._drop_one(r) for r in group))

    async def _drop_one(self, ref: str) -> None:
        kind, _, oid = ref.partition(":")
        cmd = c.Hangup(oid) if kind == "channel" else c.DestroyBridge(oid)
        for attempt in range(2):
            try:
                await self.ari.run(cmd)
                log.debug("AMD teardown: %s gone", ref)
                break
            except AriError as err:
                log.debug("AMD teardown: %s -> %s", ref, err.status)
                if err.status != 404:
                    log.warning("AMD teardown of %s failed: %s", ref, err)
                    break
                # Created by a request that was cut short? It may still appear: look once more.
                if ref in self.confirmed or attempt:
                    break
                await asyncio.sleep(0.3)
        self.done.add(ref)


async def _shielded(coro: Any) -> None:
    """Run ``coro`` to completion even if the caller is cancelled meanwhile."""
    task = asyncio.ensure_future(coro)
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)
    await asyncio.shield(task)


async def _retry(fn: Any, *, until: float, statuses: tuple[int, ...]) -> Any:
    """Call ``fn()`` until it stops failing with one of ``statuses`` (channel not in Stasis yet)."""
    while True:
        try:
            return await fn()
        except AriError as err:
            if err.status not in statuses or time.monotonic() > until:
                raise
        await asyncio.sleep(0.02)


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
    t_answer = _epoch(answered_at)
    deadline = time.monotonic() + timeout_s
    session = _Session(ari, channel_id)
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
                return LiveAmdResult(
                    Label.NOTSURE,
                    "HANGUP",
                    None,
                    None,
                    None,
                    hung_up=True,
                    objects=tuple(session.attempted),
                )
            raise
        if run_app_amd:
            await session.create("channel", "ref", c.Snoop(channel_id, ids["ref"], app))
            amd_task = asyncio.create_task(_app_amd(ari, ids["ref"], deadline))
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
                await _retry(
                    lambda: ari.run(c.AddToBridge(ids["bridge"], (ids["snoop"], ids["media"]))),
                    until=min(deadline, time.monotonic() + 3),
                    statuses=(409, 422),
                )
            except AriError:
                if await _channel_exists(ari, channel_id):
                    raise
                return LiveAmdResult(
                    Label.NOTSURE,
                    "HANGUP",
                    None,
                    None,
                    None,
                    hung_up=True,
                    objects=tuple(session.attempted),
                )
            log.debug(
                "AMD %s: answer→detect %d ms, created +%d ms, bridged +%d ms",
                channel_id,
                (t_call - t_answer) * 1000,
                (t_created - t_call) * 1000,
                (time.time() - t_created) * 1000,
            )
            if "amd.detector" not in sys.modules:  # never import SciPy on the event loop
                await asyncio.to_thread(preload_detector)
            run = _MediaRun(ari, channel_id, ws, _Detector(config), batch_frames)
            verdict, at, timed_out = await run.until_verdict(deadline)
        await session.drop("snoop", "media", "bridge")  # free the media path early
        amd = None
        if amd_task is not None:
            amd = await amd_task
            await session.drop("ref")
        return LiveAmdResult(
            centrala=verdict.label,
            cause=verdict.cause,
            decision_ms=_ms(at, t_answer),
            audio_ms=verdict.decision_ms if run.frames else None,
            setup_ms=_ms(run.first_frame_at, t_answer),
            frames=run.frames,
            timed_out=timed_out,
            hung_up=run.hung_up,
            detector_cpu_ms=round(run.det.cpu_s * 1000, 1),
            app_amd_status=amd[0] if amd else None,
            app_amd_cause=amd[1] if amd else None,
            app_amd_ms=_ms(amd[2], t_answer) if amd else None,
            objects=tuple(session.attempted),
        )
    finally:
        if amd_task is not None and not amd_task.done():
            amd_task.cancel()
        await _shielded(session.drop())


class _MediaRun:
    """Read the media websocket, batch frames into the detector, stop at a verdict."""

    def __init__(
        self, ari: Executor, channel_id: str, ws: Any, det: _Detector, batch_frames: int
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
                    if not await _channel_exists(self.ari, self.channel_id):
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
            self.hung_up = not await _channel_exists(self.ari, self.channel_id)
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


async def _channel_exists(ari: Executor, channel_id: str) -> bool:
    try:
        return await ari.channel_exists(channel_id)
    except AriError:  # Asterisk busy or unreachable: not proof that the party hung up
        return True


async def _app_amd(ari: Executor, ref_id: str, deadline: float) -> tuple[str, str, float] | None:
    """Send the reference snoop to ``AMD()`` and poll for its answer (status, cause, epoch s)."""
    try:
        await _retry(
            lambda: ari.run(c.ContinueInDialplan(ref_id, AMD_CONTEXT, "s", 1)),
            until=min(deadline, time.monotonic() + 3),
            statuses=(404, 409, 422),
        )
        # AMD()'s total_analysis_time is 5 s from its start; allow for it past our deadline.
        poll_until = max(deadline, time.monotonic() + 5.5)
        while time.monotonic() < poll_until:
            await asyncio.sleep(0.1)
            try:
                value = await ari.channel_variable(ref_id, AMD_RESULT_VAR)
            except AriError as err:
                if err.status == 404:
                    return None  # "Provided channel was not found": the party hung up
                continue
            if value is None:
                continue  # not set yet: AMD() has not answered
            parts = value.split("/")
            if len(parts) == 3 and parts[0]:
                return parts[0], parts[1], float(parts[2])
        return None
    except AriError as err:
        log.warning("app_amd comparison on %s failed: %s", ref_id, err)
        return None


__all__ = [
    "AMD_CONTEXT",
    "LiveAmdResult",
    "detect",
    "object_ids",
]
