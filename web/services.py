"""The clients one panel process shares between requests, built once by ``create_app``.

Views reach them through :func:`services`; nothing in ``web`` builds its own
engine or Redis client (STYLE.md §5).
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from controlplane.config import Settings
from controlplane.db import make_engine, make_sessionmaker
from controlplane.desk import acd_sync

EXTENSION_KEY = "centrala"
# XREAD in the live stream blocks for a few seconds; the socket timeout must outlast it.
REDIS_SOCKET_TIMEOUT_S = 30.0
REDIS_CONNECT_TIMEOUT_S = 2.0
# Every open event stream (a chat visitor's, an agent's console, a watch) holds one pooled
# connection while it blocks in XREAD, so the pool must outgrow the streams a panel serves:
# redis-py's default cap (100) made the 101st stream, and every request's publish after it,
# fail with "Too many connections" (bench/chat_load.py: 500 visitors, lost messages,
# delivery p99 over 40 s). Redis itself takes 10 000 clients.
REDIS_MAX_CONNECTIONS = 5000


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    redis: redis.Redis

    @staticmethod
    def build(settings: Settings) -> Services:
        """Build the engine, session factory and Redis client from ``settings``."""
        engine = make_engine(settings.database_url)
        client = redis.Redis.from_url(
            settings.redis_url_for("web"),
            socket_timeout=REDIS_SOCKET_TIMEOUT_S,
            socket_connect_timeout=REDIS_CONNECT_TIMEOUT_S,
            max_connections=REDIS_MAX_CONNECTIONS,
            decode_responses=True,
        )
        sessions = make_sessionmaker(engine)
        acd_sync.install(sessions, client)  # ticket.sync after a commit that touched a ticket
        return Services(settings, engine, sessions, client)

    def close(self) -> None:
        """Release pooled connections (tests and orderly shutdown)."""
        self.redis.close()
        self.engine.dispose()


def services() -> Services:
    """The :class:`Services` of the current app."""
    svc: Services = current_app.extensions[EXTENSION_KEY]
    return svc
