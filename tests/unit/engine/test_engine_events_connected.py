"""``AriClient.connected`` says whether *this* reader's events socket is open.

A reader cancelled and started again (a bench's loop, a restart of the events task) used
to find ``connected`` still set by the old socket, went on before the new one was open,
and the events Asterisk sent meanwhile never reached it. Real websockets on loopback.
"""

from __future__ import annotations

import asyncio

import websockets

from controlplane.engine.ari_ import AriClient


async def _cancelled_reader_is_not_connected() -> tuple[bool, bool]:
    async def handler(ws: websockets.ServerConnection) -> None:
        await ws.wait_closed()

    async with websockets.serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        client = AriClient(f"http://127.0.0.1:{port}/ari", "u", "p", "test")

        async def ignore(_event: object) -> None:
            return None

        reader = asyncio.create_task(client.run_events(ignore))
        await asyncio.wait_for(client.connected.wait(), 5)
        was = client.connected.is_set()
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        return was, client.connected.is_set()


def test_a_cancelled_reader_is_no_longer_connected() -> None:
    was, after = asyncio.run(_cancelled_reader_is_not_connected())
    assert was is True
    assert after is False
