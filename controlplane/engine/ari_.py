"""The thin ARI client: aiohttp for REST, websockets for events.

One adapter owns the connection and its tasks (STYLE.md §4): it reconnects with
capped exponential backoff, re-registers the Stasis application on every
connect, calls ``on_connect`` (where the control plane reconciles its state with
what Asterisk holds), and hands every event to ``on_event`` off the reader, so the
reader never blocks.

Events go out in **lanes**, one per channel (a playback's events in its target channel's
lane): a lane's events are handled one after the other, in arrival order, by one task that
lives while the lane has events; lanes run concurrently. So a call's burst of events costs
one task, not one per event, and a channel's events cannot overtake each other. Events of
types the consumer does not handle (``wants``) are dropped before they are parsed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Container
from typing import Any

import aiohttp
import websockets

from controlplane.engine.events import Event, PlaybackFinished, parse_event

log = logging.getLogger(__name__)


class AriError(RuntimeError):
    """An ARI REST call failed; ``status`` is the HTTP status (0 when unreachable)."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        self.status = status
        super().__init__(f"ARI {method} {path} -> {status}: {body[:200]}")


class AriClient:
    def __init__(self, base_url: str, user: str, password: str, app: str,
                 request_timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.app = app
        # A plain header: aiohttp deprecates ``auth=``/BasicAuth objects for sessions.
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self._auth_header = {"Authorization": f"Basic {token}"}
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._lanes: dict[str, deque[Event]] = {}  # channel → its events not yet handled
        self.connected = asyncio.Event()

    async def __aenter__(self) -> AriClient:
        connector = aiohttp.TCPConnector(limit=64)
        self._session = aiohttp.ClientSession(headers=self._auth_header, timeout=self._timeout,
                                              connector=connector)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    # ---- REST ----
    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                      json_body: Any = None) -> Any:
        assert self._session is not None, "use `async with AriClient(...)`"
        clean = {k: (str(v).lower() if isinstance(v, bool) else v)
                 for k, v in (params or {}).items() if v is not None}
        try:
            async with self._session.request(method, self.base_url + path, params=clean,
                                             json=json_body) as resp:
                body = await resp.text()
                if resp.status >= 300:
                    raise AriError(method, path, resp.status, body)
                return json.loads(body) if body else None
        except (aiohttp.ClientError, TimeoutError) as err:
            raise AriError(method, path, 0, str(err)) from err

    async def get(self, path: str, **params: Any) -> Any:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, json_body: Any = None, **params: Any) -> Any:
        return await self.request("POST", path, params=params, json_body=json_body)

    async def delete(self, path: str, **params: Any) -> Any:
        return await self.request("DELETE", path, params=params)

    # ---- events ----
    def _ws_url(self) -> str:
        url = self.base_url.replace("http://", "ws://").replace("https://", "wss://")
        return f"{url}/events?app={self.app}&subscribeAll=false"

    async def run_events(self, on_event: Callable[[Event], Awaitable[None]],
                         on_connect: Callable[[], Awaitable[None]] | None = None,
                         max_backoff: float = 5.0, wants: Container[str] | None = None) -> None:
        """Read events forever; reconnect with backoff. Ends only when cancelled.
        ``wants``: the event types (ARI's ``type``) ``on_event`` handles; None: all."""
        backoff = 0.2
        headers = self._auth_header
        while True:
            try:
                async with websockets.connect(self._ws_url(), additional_headers=headers,
                                              ping_interval=10, ping_timeout=10,
                                              max_size=2**22) as ws:
                    log.info("ARI events connected (app %s)", self.app)
                    backoff = 0.2
                    self.connected.set()
                    if on_connect is not None:
                        self._spawn(on_connect())
                    async for message in ws:
                        try:
                            raw = json.loads(message)
                            if wants is not None and raw.get("type") not in wants:
                                continue
                            event = parse_event(raw)
                        except (ValueError, KeyError, AttributeError) as err:
                            log.warning("unparseable ARI event: %s", err)
                            continue
                        self.route(event, on_event)
            except asyncio.CancelledError:
                raise
            except (OSError, websockets.WebSocketException, TimeoutError) as err:
                log.warning("ARI events disconnected: %s; retrying in %.1f s", err, backoff)
            self.connected.clear()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, max_backoff)

    def route(self, event: Event, on_event: Callable[[Event], Awaitable[None]]) -> None:
        """Queue ``event`` in its channel's lane (a task of its own when it has no channel)."""
        key = lane_of(event)
        if key is None:
            self._spawn(on_event(event))
            return
        lane = self._lanes.get(key)
        if lane is not None:  # its task is still at work: it takes this one next
            lane.append(event)
            return
        lane = self._lanes[key] = deque((event,))
        self._spawn(self._drain(key, lane, on_event))

    async def _drain(self, key: str, lane: deque[Event],
                     on_event: Callable[[Event], Awaitable[None]]) -> None:
        try:
            while lane:
                try:
                    await on_event(lane[0])
                except asyncio.CancelledError:
                    raise
                except Exception:  # one failed handler must not stop the channel's others
                    log.exception("ARI event handler failed")
                lane.popleft()
        finally:
            if self._lanes.get(key) is lane:
                del self._lanes[key]

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("ARI event handler failed", exc_info=task.exception())


def lane_of(event: Event) -> str | None:
    """The channel whose lane carries ``event``: its own, or a playback's target channel."""
    channel = getattr(event, "channel", None)
    if channel is not None:
        return str(channel.id)
    if isinstance(event, PlaybackFinished) and event.target_uri.startswith("channel:"):
        return event.target_uri.removeprefix("channel:")
    return None
