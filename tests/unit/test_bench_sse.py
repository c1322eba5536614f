"""``benchkit.sse_events``: the server-sent-events reader the panel and chat benches share."""

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import benchkit  # noqa: E402


class _Content:
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def iter_any(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk


class _Response:
    def __init__(self, chunks: list[bytes]) -> None:
        self.content = _Content(chunks)


def test_blocks_split_across_chunks_come_out_whole_with_their_names() -> None:
    stream = (b'event: card\ndata: {"a": 1}\n\n: keep-alive\n\n'
              b'id: 7\nevent: board\ndata: {"b":\ndata: 2}\n\ndata: plain\n\nevent: cut')
    chunks = [stream[i:i + 5] for i in range(0, len(stream), 5)]

    async def read() -> list[tuple[str, str]]:
        return [e async for e in benchkit.sse_events(_Response(chunks))]

    assert asyncio.run(read()) == [("card", '{"a": 1}'), ("message", ""),
                                   ("board", '{"b":\n2}'), ("message", "plain")]
