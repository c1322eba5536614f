"""Automatic call distribution: agents, queues and the routing decision.

Pure modules (no asyncio, aiohttp, websockets, SQLAlchemy, redis, rq or subprocess, even
indirectly; held to ``mypy --strict``; listed in ``pyproject.toml``'s ``pure`` import
contract, which ``lint-imports`` and ``tests/unit/test_purity_contract.py`` check):
machines of the form ``step(state, event, now) -> (state, outputs)``, functions over frozen
snapshots, and the live ACD's steps over its in-memory state:

    interactions, queues, agent_events, agent_machine, queue_machine, router, stats,
    sessions, feature_codes, outputs (the orders to calls), exceptions, tenant,
    live_state, live_report, live_steps, live_calls, live_chats, live_tickets (the ACD's
    e-mail/SMS tickets), live_commands, testing,
    wallboard_figures (the wallboard's day figures from the logs), wallboard_alerts (its
    alert rules, crossed or not)

I/O modules (the edges):

    service        QueueService: the operations, composed of the collaborators below
    live_tenants   tenants and restored agents from the database and Redis
    publisher      Redis mirror, orders to the connectors (calls, chats), rows, events
    log_writer     the log rows, retried while the database is locked
    store          the SQL
    commands       the panel's client of the daemon's command stream

Times are float seconds on one clock chosen by the adapter (epoch seconds in production,
small numbers in tests). The specification is ``docs/acd.md``.
"""
