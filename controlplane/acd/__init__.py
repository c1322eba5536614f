"""Automatic call distribution: agents, queues and the routing decision.

Every module in this package is pure (no asyncio, aiohttp, SQLAlchemy or
Redis): machines of the form ``step(state, event, now) -> (state, outputs)``
and functions over frozen snapshots. Times are float seconds on one clock
chosen by the adapter (epoch seconds in production, small numbers in tests).
The specification is ``docs/acd.md``.
"""
