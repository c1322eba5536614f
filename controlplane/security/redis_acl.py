"""Redis users: one per process kind, each with only the keys and commands it needs (pure).

Theory of operation: the platform's own Redis starts with ``--aclfile`` pointing at the
file :func:`render_acl` writes (mode 0600, in ``<runtime>/redis/``), so there is no moment
when it accepts a client without a password. The ``default`` user is switched off: a
client that does not authenticate gets ``NOAUTH`` for every command. Each process kind
logs in as its own user with a password from ``secrets.json`` (``redis_<role>``); the
file holds only their SHA-256 hashes.

=============  =========================================  ==================================
user           keys                                       commands
=============  =========================================  ==================================
controlplane   ``centrala:*`` and RQ's ``rq:*``            everything but @admin/@dangerous;
                                                          ``INFO`` (RQ reads the version)
web (panel)    reads ``centrala:*``; writes only reply    @read @write @connection
               keys and its own ``centrala:web:*`` keys;  @transaction, minus @admin and
               ``XADD`` (only) to ``centrala:commands``   @dangerous (no FLUSHALL, CONFIG,
                                                          KEYS, scripts, pub/sub)
worker         ``rq:*`` (keys and channels)               as controlplane
admin          everything (the CLI, tests, operators)     everything
=============  =========================================  ==================================

Why the panel may write ``centrala:commands`` but not ``centrala:admin:commands``: the
daemon re-checks every panel command against the acting user
(:mod:`controlplane.security.command_rules`); the admin stream is trusted as it is, so
only the admin user (root, who can read ``secrets.json``) may write it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from urllib.parse import quote

ROLES = ("controlplane", "web", "worker", "admin")
USER_PREFIX = "centrala-"

# Redis ACL rules of each role, applied left to right after ``reset on #<hash>``.
RULES: dict[str, tuple[str, ...]] = {
    "controlplane": ("~centrala:*", "~rq:*", "&rq:*",
                     "+@all", "-@admin", "-@dangerous", "+info"),
    "web": ("%R~centrala:*", "~centrala:reply:*", "~centrala:web:*",
            "+@read", "+@write", "+@connection", "+@transaction", "-@admin", "-@dangerous",
            # a selector: the command stream may be appended to, nothing else (no DEL, XTRIM)
            "(~centrala:commands +xadd)"),
    "worker": ("~rq:*", "&rq:*", "+@all", "-@admin", "-@dangerous", "+info"),
    "admin": ("~*", "&*", "+@all"),
}
# Nobody logs in without a name and password.
DEFAULT_USER = "user default reset off -@all"


def username(role: str) -> str:
    """The Redis user name of a process kind; ValueError for an unknown kind."""
    if role not in ROLES:
        raise ValueError(f"unknown Redis role {role!r}; one of {', '.join(ROLES)}")
    return USER_PREFIX + role


def secret_name(role: str) -> str:
    """The key of the role's password in ``secrets.json``."""
    username(role)  # validates
    return f"redis_{role}"


def url(role: str, password: str, host: str, port: int, db: int = 0) -> str:
    """A ``redis://`` URL that logs in as the role's user."""
    return f"redis://{quote(username(role), safe='')}:{quote(password, safe='')}@{host}:{port}/{db}"


def _hash(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def render_acl(passwords: Mapping[str, str]) -> str:
    """The ACL file: the default user off, then one line per role (password hashes only).

    ``passwords`` maps every role of :data:`ROLES` to its password; a missing or empty one
    is a ValueError (a user without a password would be open to anyone).
    """
    lines = [DEFAULT_USER]
    for role in ROLES:
        password = passwords.get(role, "")
        if len(password) < 16:
            raise ValueError(f"Redis user {username(role)}: password missing or shorter than 16")
        lines.append(" ".join(("user", username(role), "reset", "on", f"#{_hash(password)}",
                               *RULES[role])))
    return "\n".join(lines) + "\n"
