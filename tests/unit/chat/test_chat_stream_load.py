"""What keeps chat delivery fast under many streams: the stream's login re-check is
bounded in time (not made on every read; forced by the user's own stream), idle chat
streams wake every 25 s, the panel's SQLite writers commit together, and the Redis pool
outgrows the open streams."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from controlplane.chat.transport import CHAT_BLOCK_MS, LiveCheck, block_ms
from controlplane.db import group_writer, make_engine, make_sessionmaker, transaction
from web.services import REDIS_MAX_CONNECTIONS


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_login_is_rechecked_once_its_period_is_over() -> None:
    clock, calls, live = Clock(), [], [True]

    def check() -> bool:
        calls.append(clock.now)
        return live[0]

    recheck = LiveCheck(check, "centrala:web:user-sessions:1", every_s=3.0, clock=clock)
    assert recheck() and calls == []  # the view's own check was just made
    clock.now += 2.9
    assert recheck() and calls == []
    clock.now += 0.2
    assert recheck() and len(calls) == 1
    live[0] = False  # logged out: the next read past the period ends the stream
    clock.now += 1.0
    assert recheck()
    clock.now += 2.1
    assert not recheck()
    assert not recheck(force=True) and len(calls) == 3  # forced: checked whatever its age


def test_chat_streams_block_longer_than_the_panels_other_streams() -> None:
    class App:
        def __init__(self, **config: object) -> None:
            self.config = config

    assert block_ms(App(SSE_BLOCK_MS=10_000)) == CHAT_BLOCK_MS == 25_000
    assert block_ms(App(SSE_BLOCK_MS=200)) == 500  # tests shorten both
    assert block_ms(App(SSE_BLOCK_MS=10_000, CHAT_SSE_BLOCK_MS=1000)) == 1000


def test_sqlite_writers_of_one_process_commit_together_each_error_its_own(
        tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    factory = make_sessionmaker(engine)
    with transaction(factory) as s:
        s.execute(text("CREATE TABLE t (n INTEGER)"))
    writer = group_writer(factory)
    assert writer.grouped and group_writer(factory) is writer
    raised: list[int] = []
    results: list[int] = []

    def change(n: int) -> Callable[[Session], int]:
        def run(s: Session) -> int:
            s.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
            if n % 5 == 0:
                raise ValueError(n)  # undone alone: its neighbours in the batch stand
            return n
        return run

    def thread(k: int) -> None:
        for m in range(20):
            n = k * 100 + m
            try:
                results.append(writer.run(change(n)))
            except ValueError as err:
                raised.append(err.args[0])

    threads = [threading.Thread(target=thread, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    with factory() as s:
        stored = sorted(s.scalars(text("SELECT n FROM t")))
    assert stored == sorted(results) and len(stored) == 96
    assert sorted(raised) == sorted(k * 100 + m for k in range(6) for m in range(0, 20, 5))
    assert 1 <= writer.batches <= 120
    engine.dispose()


def test_the_panels_redis_pool_outgrows_its_streams() -> None:
    assert REDIS_MAX_CONNECTIONS >= 2000  # one per open stream; redis-py's default was 100
