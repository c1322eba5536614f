"""The panel sessions of open event streams, re-checked together.

A stream outlives the login check made when it opened, so it asks now and then whether
its session is still live (a logout, a password change or a force logout elsewhere ends
it). Asked per stream, that is two queries per open page per check: 200 agents' pages
make the database load grow with the pages. :class:`SessionWatch` keeps the ids of the
sessions that streams hold open and re-reads all of them in ONE query at most every
``recheck_s``; every stream's question between two re-reads is answered from the last one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.models import User
from controlplane.models.panel_sessions import PanelSession
from controlplane.security import panel_sessions


class SessionWatch:
    """Sessions held by open streams (see the module docstring)."""

    def __init__(self, sessions: sessionmaker[Session], now: Callable[[], datetime],
                 recheck_s: float = 2.0) -> None:
        self.sessions, self.now, self.recheck_s = sessions, now, recheck_s
        self._lock = threading.Lock()
        self._open: dict[int, int] = {}  # session id → streams holding it
        self._live: set[int] = set()
        self._read_at = float("-inf")
        self.reads = 0  # for tests and the bench

    def open(self, session_id: int) -> None:
        """A stream holds ``session_id``, just found live by its request's login check."""
        with self._lock:
            self._open[session_id] = self._open.get(session_id, 0) + 1
            self._live.add(session_id)

    def close(self, session_id: int) -> None:
        with self._lock:
            left = self._open.get(session_id, 0) - 1
            if left > 0:
                self._open[session_id] = left
            else:
                self._open.pop(session_id, None)

    def live(self, session_id: int) -> bool:
        """Whether ``session_id`` was live at the last re-read (made now when it is older
        than ``recheck_s``)."""
        with self._lock:
            if time.monotonic() - self._read_at >= self.recheck_s:
                self._live = self._read(set(self._open))
                self._read_at = time.monotonic()
                self.reads += 1
            return session_id in self._live

    def _read(self, ids: set[int]) -> set[int]:
        if not ids:
            return set()
        now = self.now()
        with self.sessions() as s:
            rows = s.execute(select(PanelSession, User.active, User.password_hash)
                             .join(User, User.id == PanelSession.user_id)
                             .where(PanelSession.id.in_(ids))).all()
            return {row.id for row, active, pw in rows
                    if active and panel_sessions.info_of(row).live(now)
                    and row.password_fp == panel_sessions.password_fingerprint(pw)}
