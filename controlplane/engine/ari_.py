"""The thin ARI client: aiohttp for REST, websockets for events.

One adapter owns the connection and its tasks (STYLE.md §4): it reconnects with
capped exponential backoff, re-registers the Stasis application on every
connect, calls ``on_connect`` (where the control plane reconciles its state with
what Asterisk holds), and hands every event to ``on_event`` in a task of its
own, so the reader never blocks. Events of types the consumer does not handle (``wants``)
are dropped before they are parsed and cost no task.

(Per-channel lanes, one task per burst of a channel's events, were tried: with them
``bench/ari_throughput.py`` read 0.79-0.81 of the bare loop against 0.86-0.99 without, so
each event keeps its own task until that is understood.)
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Awaitable, Callable, Container
from typing import Any

import aiohttp
import websockets

from controlplane.engine.events import Event, parse_event

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
                        self._spawn(on_event(event))
            except asyncio.CancelledError:
                self.connected.clear()  # a reader started again must wait for its own socket
                raise
            except (OSError, websockets.WebSocketException, TimeoutError) as err:
                log.warning("ARI events disconnected: %s; retrying in %.1f s", err, backoff)
            self.connected.clear()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, max_backoff)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("ARI event handler failed", exc_info=task.exception())

