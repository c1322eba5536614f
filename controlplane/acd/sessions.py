"""Licences and login sessions of one tenant.

Theory of operation
-------------------
Any number of users may exist, but at most ``licences`` of them are logged in
at once, and one user is logged in on one workstation at a time. A login from
a second workstation is handled by the tenant's ``second_login`` setting:

    event                                   condition                   → outputs
    Login(user, ws)                         user not logged in, a licence free
                                                                        → LoginAccepted, Audit(login)
    Login(user, ws)                         user not logged in, all licences used
                                                                        → LoginRefused(licence_limit), Audit(login_refused)
    Login(user, ws)                         user logged in on ws        → LoginAccepted (idempotent)
    Login(user, ws2)                        logged in on ws1, refuse    → LoginRefused(logged_in_elsewhere),
                                                                          Audit(login_refused)
    Login(user, ws2)                        logged in on ws1, takeover  → EndSession(ws1), LoginAccepted,
                                                                          Audit(takeover)
    Logout(user, ws)                        that session exists         → Audit(logout)
    Logout(user, ws)                        other or no session         → (nothing: a late logout from a
                                                                          workstation that was taken over)

A takeover keeps the user's licence (the count does not change) and the
agent's ACD state: only the workstation changes. The service closes the old
workstation's panel on ``EndSession``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace


class SecondLogin(enum.StrEnum):
    REFUSE = "refuse"
    TAKEOVER = "takeover"


@dataclass(frozen=True, slots=True)
class Session:
    user: str
    workstation: str
    since: float


@dataclass(frozen=True, slots=True)
class SessionsState:
    tenant_id: int
    licences: int
    second_login: SecondLogin = SecondLogin.REFUSE
    sessions: Mapping[str, Session] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Login:
    user: str
    workstation: str


@dataclass(frozen=True, slots=True)
class Logout:
    user: str
    workstation: str


@dataclass(frozen=True, slots=True)
class LoginAccepted:
    user: str
    workstation: str


@dataclass(frozen=True, slots=True)
class LoginRefused:
    """``reason``: licence_limit | logged_in_elsewhere; ``message`` is for the login page."""

    user: str
    workstation: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class EndSession:
    user: str
    workstation: str
    reason: str


@dataclass(frozen=True, slots=True)
class Audit:
    """``action``: login | login_refused | takeover | logout."""

    tenant_id: int
    user: str
    action: str
    workstation: str
    previous_workstation: str | None
    at: float
    detail: str = ""


SessionEvent = Login | Logout
SessionOutput = LoginAccepted | LoginRefused | EndSession | Audit


def _refuse(
    s: SessionsState, e: Login, reason: str, msg: str, prev: str | None, now: float
) -> tuple[SessionsState, list[SessionOutput]]:
    return s, [
        LoginRefused(e.user, e.workstation, reason, msg),
        Audit(s.tenant_id, e.user, "login_refused", e.workstation, prev, now, reason),
    ]


def step(
    state: SessionsState, event: SessionEvent, now: float
) -> tuple[SessionsState, list[SessionOutput]]:
    """Apply one login or logout to the tenant's sessions."""
    s = state
    current = s.sessions.get(event.user)
    if isinstance(event, Logout):
        if current is None or current.workstation != event.workstation:
            return s, []
        sessions = {u: x for u, x in s.sessions.items() if u != event.user}
        return replace(s, sessions=sessions), [
            Audit(s.tenant_id, event.user, "logout", event.workstation, None, now)
        ]
    if current is not None and current.workstation == event.workstation:
        return s, [LoginAccepted(event.user, event.workstation)]
    if current is None:
        if len(s.sessions) >= s.licences:
            msg = f"all {s.licences} licences of the tenant are in use; ask an administrator"
            return _refuse(s, event, "licence_limit", msg, None, now)
        new = Session(event.user, event.workstation, now)
        return replace(s, sessions={**s.sessions, event.user: new}), [
            LoginAccepted(event.user, event.workstation),
            Audit(s.tenant_id, event.user, "login", event.workstation, None, now),
        ]
    prev = current.workstation
    if s.second_login == SecondLogin.REFUSE:
        msg = f"{event.user} is already logged in on workstation {prev}; log out there first"
        return _refuse(s, event, "logged_in_elsewhere", msg, prev, now)
    new = Session(event.user, event.workstation, now)
    return replace(s, sessions={**s.sessions, event.user: new}), [
        EndSession(event.user, prev, "taken_over"),
        LoginAccepted(event.user, event.workstation),
        Audit(s.tenant_id, event.user, "takeover", event.workstation, prev, now),
    ]
