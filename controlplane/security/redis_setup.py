"""Our own Redis with passwords: the ACL file on disk and the checks around a start.

``controlplane.stack.start_redis`` uses these; the rules themselves are the pure
:mod:`controlplane.security.redis_acl`. Passwords come from ``secrets.json``
(``Settings.secret``) and never appear in a message: errors name the location only.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import redis

from controlplane.config import Settings
from controlplane.security import redis_acl

ACL_FILE = "users.acl"


def write_acl(settings: Settings, folder: Path) -> Path:
    """Render the ACL file into ``folder`` (mode 0600 from the first byte) and return it.

    Every role's password is generated now if it does not exist yet, so the processes
    started afterwards only read ``secrets.json``.
    """
    passwords = {role: settings.secret(redis_acl.secret_name(role)) for role in redis_acl.ROLES}
    path = folder / ACL_FILE
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(redis_acl.render_acl(passwords))
    tmp.replace(path)
    return path


def answers_without_password(settings: Settings) -> bool:
    """True when the Redis on our port serves a client that did not log in: one started
    before passwords existed (it must be restarted with the ACL file)."""
    client = redis.Redis(host="127.0.0.1", port=settings.redis_port, socket_timeout=2,
                         socket_connect_timeout=2)
    try:
        return bool(client.ping())
    except redis.ConnectionError:  # NOAUTH (an AuthenticationError is one) or nobody there
        return False
    finally:
        client.close()


def wait_ready(settings: Settings, timeout_s: float = 10) -> None:
    """Wait until Redis answers the admin user's PING; a refused password is an error at
    once (another Redis on the port, or ``secrets.json`` replaced)."""
    client = redis.Redis.from_url(settings.redis_url_for("admin"), socket_timeout=2,
                                  socket_connect_timeout=2)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                client.ping()
                return
            except redis.AuthenticationError as err:
                raise RuntimeError(
                    f"Redis at {settings.redis_location} refused the admin user's password "
                    f"({err}): is another Redis using port {settings.redis_port}, or was "
                    f"{settings.secrets_file} replaced?") from None
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        client.close()


def reload_acl(settings: Settings) -> None:
    """Make a Redis that was already running read the ACL file again (``ACL LOAD``)."""
    client = redis.Redis.from_url(settings.redis_url_for("admin"), socket_timeout=5)
    try:
        client.acl_load()
    finally:
        client.close()
