"""REST over the ARI events websocket (``AriClient``, module doc of ``engine/ari_``).

A websockets server on loopback plays Asterisk's side of the protocol (a ``RESTRequest``
answered by a ``RESTResponse`` with the same ``request_id``, events in between); the
live proof is every integration test, whose daemon talks to a real Asterisk 22 this way.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets

from controlplane.engine.ari_ import AriClient, AriError


class FakeAsterisk:
    """Answers requests from ``routes`` ((method, uri) → (status, body)); ``mute`` answers
    nothing; ``hang_up_on`` closes the socket when that uri is asked."""

    def __init__(self, *, mute: bool = False, hang_up_on: str = "") -> None:
        self.routes: dict[tuple[str, str], tuple[int, Any]] = {("GET", "asterisk/ping"): (200, {})}
        self.requests: list[dict[str, Any]] = []
        self.mute = mute
        self.hang_up_on = hang_up_on

    async def handler(self, ws: websockets.ServerConnection) -> None:
        async for message in ws:
            req = json.loads(message)
            self.requests.append(req)
            if self.mute:
                continue
            if req["uri"] == self.hang_up_on:
                await ws.close()
                return
            # an event before the answer: the reader must pass it on and still match
            await ws.send(json.dumps({"type": "Heartbeat", "note": req["uri"]}))
            status, body = self.routes.get((req["method"], req["uri"]), (404, {"message": "no"}))
            await ws.send(json.dumps({
                "type": "RESTResponse", "request_id": req["request_id"], "status_code": status,
                "reason_phrase": "", "uri": req["uri"], "content_type": "application/json",
                "message_body": json.dumps(body) if status != 204 else ""}))


async def _session(fake: FakeAsterisk, timeout: float = 5.0) -> tuple[list[Any], Any]:
    seen: list[Any] = []

    async def on_event(event: Any) -> None:
        seen.append(event)

    async with websockets.serve(fake.handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with AriClient(f"http://127.0.0.1:{port}/ari", "u", "p", "t",
                             request_timeout=timeout) as client:
            reader = asyncio.create_task(client.run_events(on_event))
            try:
                await asyncio.wait_for(client.connected.wait(), 5)
                for _ in range(200):  # bounded: the ping's answer turns it on
                    if client.rest_over_websocket or fake.requests and fake.mute:
                        break
                    await asyncio.sleep(0.01)
                out: list[Any] = [client.rest_over_websocket]
                fake.routes[("POST", "bridges/b1")] = (200, {"id": "b1"})
                fake.routes[("DELETE", "bridges/b1")] = (204, None)
                if client.rest_over_websocket:
                    out.append(await client.post("/bridges/b1", type="mixing,proxy_media",
                                                 beep=True, skip=None))
                    out.append(await client.delete("/bridges/b1"))
                    with pytest.raises(AriError) as missing:
                        await client.delete("/bridges/nope")
                    out.append(missing.value.status)
                return out, client
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)


def test_requests_go_over_the_events_socket_once_it_answered_a_ping() -> None:
    fake = FakeAsterisk()
    out, _client = asyncio.run(_session(fake))
    on, made, deleted, missing_status = out
    assert on is True
    assert made == {"id": "b1"} and deleted is None and missing_status == 404
    post = next(r for r in fake.requests if r["method"] == "POST")
    # query values as strings, booleans lower-case, None left out; the path without "/"
    assert post["uri"] == "bridges/b1"
    assert post["query_strings"] == [{"name": "type", "value": "mixing,proxy_media"},
                                     {"name": "beep", "value": "true"}]
    assert "message_body" not in post


def test_a_json_body_travels_as_a_string_with_its_content_type() -> None:
    fake = FakeAsterisk()
    fake.routes[("POST", "channels")] = (200, {"id": "c1"})

    async def go() -> tuple[Any, dict[str, Any]]:
        async with websockets.serve(fake.handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            async with AriClient(f"http://127.0.0.1:{port}/ari", "u", "p", "t") as client:
                async def ignore(_e: Any) -> None:
                    return None

                reader = asyncio.create_task(client.run_events(ignore))
                try:
                    for _ in range(500):
                        if client.rest_over_websocket:
                            break
                        await asyncio.sleep(0.01)
                    got = await client.post("/channels", json_body={"variables": {"A": "1"}},
                                            endpoint="PJSIP/1001")
                finally:
                    reader.cancel()
                    await asyncio.gather(reader, return_exceptions=True)
        return got, next(r for r in fake.requests if r["uri"] == "channels")

    got, req = asyncio.run(go())
    assert got == {"id": "c1"}
    assert req["content_type"] == "application/json"
    assert json.loads(req["message_body"]) == {"variables": {"A": "1"}}
    assert req["query_strings"] == [{"name": "endpoint", "value": "PJSIP/1001"}]


def test_an_asterisk_that_does_not_answer_over_the_socket_keeps_http() -> None:
    fake = FakeAsterisk(mute=True)
    out, client = asyncio.run(_session(fake, timeout=0.3))
    assert out == [False]
    assert [r["uri"] for r in fake.requests] == ["asterisk/ping"]
    assert client.rest_over_websocket is False


def test_a_request_in_flight_when_the_socket_closes_fails_with_status_0() -> None:
    fake = FakeAsterisk(hang_up_on="channels/c9/answer")

    async def go() -> tuple[int, bool]:
        async with websockets.serve(fake.handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            async with AriClient(f"http://127.0.0.1:{port}/ari", "u", "p", "t") as client:
                async def ignore(_e: Any) -> None:
                    return None

                reader = asyncio.create_task(client.run_events(ignore, max_backoff=0.2))
                try:
                    for _ in range(500):
                        if client.rest_over_websocket:
                            break
                        await asyncio.sleep(0.01)
                    with pytest.raises(AriError) as failed:
                        await client.post("/channels/c9/answer")
                    return failed.value.status, client.rest_over_websocket
                finally:
                    reader.cancel()
                    await asyncio.gather(reader, return_exceptions=True)

    status, still_on = asyncio.run(go())
    assert status == 0
    assert still_on is False  # the closed socket is no longer used
