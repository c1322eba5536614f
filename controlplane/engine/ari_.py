"""The thin ARI client: websockets for events, and REST over that same socket (aiohttp
while it is not open).

One adapter owns the connection and its tasks (STYLE.md §4): it reconnects with
capped exponential backoff, re-registers the Stasis application on every
connect, calls ``on_connect`` (where the control plane reconciles its state with
what Asterisk holds), and hands every event to ``on_event`` in a task of its
own, so the reader never blocks. Events of types the consumer does not handle (``wants``)
are dropped before they are parsed and cost no task.

REST over the events websocket (Asterisk 22.2+, "ARI REST over WebSocket"): a request is a
``RESTRequest`` message with a ``request_id``; its ``RESTResponse`` comes back on the same
socket, in order with the events, and the reader resolves the request's future. It costs
both sides far less than an HTTP request (no header parsing, no connection pool, no
per-request thread in Asterisk's HTTP server: a round trip measured ~0.15 ms on loopback).
A reader turns it on once a ``GET asterisk/ping`` came back that way on the new socket;
until then, with no reader (a client used only for requests), or on an Asterisk without
it, requests go over HTTP as before. A request in flight when the socket closes fails
with status 0, like an HTTP request whose connection broke.

(Per-channel lanes, one task per burst of a channel's events, were tried: with them
``bench/ari_throughput.py`` read 0.79-0.81 of the bare loop against 0.86-0.99 without, so
each event keeps its own task until that is understood.)
"""

from __future__ import annotations

import asyncio
import base64
import itertools
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
        # REST over the events socket (module doc): the socket once it answered a ping
        self._rest_ws: websockets.ClientConnection | None = None
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._request_ids = itertools.count(1)

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
    @property
    def rest_over_websocket(self) -> bool:
        """Whether requests now go over the events socket (module doc)."""
        return self._rest_ws is not None

    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                      json_body: Any = None) -> Any:
        clean = {k: (str(v).lower() if isinstance(v, bool) else v)
                 for k, v in (params or {}).items() if v is not None}
        ws = self._rest_ws
        if ws is not None:
            return await self._over_websocket(ws, method, path, clean, json_body)
        assert self._session is not None, "use `async with AriClient(...)`"
        try:
            async with self._session.request(method, self.base_url + path, params=clean,
                                             json=json_body) as resp:
                body = await resp.text()
                if resp.status >= 300:
                    raise AriError(method, path, resp.status, body)
                return json.loads(body) if body else None
        except (aiohttp.ClientError, TimeoutError) as err:
            raise AriError(method, path, 0, str(err)) from err

    async def _over_websocket(self, ws: websockets.ClientConnection, method: str, path: str,
                              params: dict[str, Any], json_body: Any) -> Any:
        request_id = f"r{next(self._request_ids)}"
        message: dict[str, Any] = {"type": "RESTRequest", "request_id": request_id,
                                   "method": method, "uri": path.lstrip("/")}
        if params:
            message["query_strings"] = [{"name": k, "value": str(v)} for k, v in params.items()]
        if json_body is not None:
            message["content_type"] = "application/json"
            message["message_body"] = json.dumps(json_body)
        reply = asyncio.get_running_loop().create_future()
        self._replies[request_id] = reply
        try:
            await ws.send(json.dumps(message))
            answer = await asyncio.wait_for(reply, self._timeout.total)
        except (websockets.WebSocketException, OSError, TimeoutError) as err:
            raise AriError(method, path, 0, str(err) or type(err).__name__) from err
        finally:
            self._replies.pop(request_id, None)
        status, body = int(answer.get("status_code", 0)), answer.get("message_body") or ""
        if status >= 300 or status == 0:
            raise AriError(method, path, status, body)
        return json.loads(body) if body else None

    def _replied(self, raw: dict[str, Any]) -> None:
        reply = self._replies.get(str(raw.get("request_id", "")))
        if reply is not None and not reply.done():
            reply.set_result(raw)

    async def _turn_on_rest(self, ws: websockets.ClientConnection) -> None:
        """Requests go over ``ws`` once it answered a ping there (module doc)."""
        try:
            await self._over_websocket(ws, "GET", "/asterisk/ping", {}, None)
        except AriError as err:
            log.info("ARI REST over the websocket not available (%s): HTTP it is", err)
            return
        self._rest_ws = ws

    def _socket_gone(self, ws: websockets.ClientConnection) -> None:
        if self._rest_ws is ws:
            self._rest_ws = None
        for reply in self._replies.values():
            if not reply.done():
                reply.set_exception(TimeoutError("the ARI websocket closed"))

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
                    self._spawn(self._turn_on_rest(ws))
                    if on_connect is not None:
                        self._spawn(on_connect())
                    try:
                        await self._read(ws, on_event, wants)
                    finally:
                        self._socket_gone(ws)
            except asyncio.CancelledError:
                self.connected.clear()  # a reader started again must wait for its own socket
                raise
            except (OSError, websockets.WebSocketException, TimeoutError) as err:
                log.warning("ARI events disconnected: %s; retrying in %.1f s", err, backoff)
            self.connected.clear()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, max_backoff)

    async def _read(self, ws: websockets.ClientConnection,
                    on_event: Callable[[Event], Awaitable[None]],
                    wants: Container[str] | None) -> None:
        async for message in ws:
            try:
                raw = json.loads(message)
                kind = raw.get("type")
                if kind == "RESTResponse":
                    self._replied(raw)
                    continue
                if wants is not None and kind not in wants:
                    continue
                event = parse_event(raw)
            except (ValueError, KeyError, AttributeError) as err:
                log.warning("unparseable ARI event: %s", err)
                continue
            self._spawn(on_event(event))

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("ARI event handler failed", exc_info=task.exception())

