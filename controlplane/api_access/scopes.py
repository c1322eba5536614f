"""API token scopes: what a token may do, and the most a user's role may give it (pure).

Theory of operation: a token has one scope, ``read`` < ``write`` < ``admin``; each
includes the ones below it. An operation needs (:func:`required_scope`):

==============================================  ========
request                                         needs
==============================================  ========
GET / HEAD / OPTIONS                            read
any other method, on a route agents or          write
supervisors may call too
any other method, on a route only               admin
administrators may call (users, queues, ...)
==============================================  ========

The scope narrows what a token may *do*; the role still decides what its user may *see*
(``login_required`` checks it on every request, token or not). A token never holds more
than its user's role allows (:data:`MAX_SCOPE`): an agent's or a supervisor's token is at
most ``write``. A user whose role is lowered later keeps their tokens, which are then
read as the lower of the two (:func:`effective`).
"""

from __future__ import annotations

from collections.abc import Iterable

SCOPES = ("read", "write", "admin")
_RANK = {s: i for i, s in enumerate(SCOPES)}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Roles by value (controlplane.models.Role is a StrEnum: Role.ADMIN == "admin"), so this
# module imports no ORM.
MAX_SCOPE = {"admin": "admin", "supervisor": "write", "agent": "write"}


def includes(held: str, needed: str) -> bool:
    """Whether scope ``held`` allows what ``needed`` does."""
    return _RANK[held] >= _RANK[needed]


def required_scope(method: str, roles: Iterable[str]) -> str:
    """The scope a request with ``method`` on a route open to ``roles`` needs."""
    if method.upper() in SAFE_METHODS:
        return "read"
    return "admin" if {str(r) for r in roles} == {"admin"} else "write"


def allowed_for(role: str) -> tuple[str, ...]:
    """The scopes a user with ``role`` may give a token."""
    return SCOPES[: _RANK[MAX_SCOPE[str(role)]] + 1]


def effective(scope: str, role: str) -> str:
    """The token's scope as it works today: never above its user's role."""
    cap = MAX_SCOPE[str(role)]
    return scope if _RANK[scope] <= _RANK[cap] else cap
