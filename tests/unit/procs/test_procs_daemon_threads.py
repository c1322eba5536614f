"""The daemon's threads: the AMD preload has its own, the default executor a set size."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from controlplane import daemon


def test_the_amd_preload_runs_outside_the_default_executor(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []
    monkeypatch.setattr(daemon, "preload_detector", lambda: ran.append(threading.current_thread().name))
    connected = asyncio.Event()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        default: list[str] = []
        await loop.run_in_executor(None, lambda: default.append(threading.current_thread().name))
        connected.set()
        await daemon._preload(SimpleNamespace(connected=connected), delay_s=0)  # type: ignore[arg-type]
        assert ran and ran[0].startswith("amd-preload") and ran[0] != default[0]

    asyncio.run(main())


def test_the_io_executor_is_sized_deliberately() -> None:
    pool: Any = daemon.io_executor()
    try:
        assert pool._max_workers == daemon.IO_THREADS == 8
        assert pool._thread_name_prefix == "cp-io"
    finally:
        pool.shutdown()
