"""Health checks of every part (synchronous, bounded by short timeouts).

Used by the panel's health page and by ``centrala status``. Each check returns
a :class:`Check`; none raises.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

import redis
from sqlalchemy.exc import OperationalError

from controlplane.bus import HEARTBEAT_KEY, HEARTBEAT_TTL_S
from controlplane.config import Settings
from controlplane.db import PROBE_TIMEOUT_MS, SLOW_WRITE_MS, is_locked, probe_write
from controlplane.engine.ami_sync import ping as ami_ping

TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    warn: bool = False  # ok, but degraded (e.g. a slow database): shown as WARN


def _ari_get(settings: Settings, path: str) -> object:
    req = urllib.request.Request(settings.ari_url + path)
    token = base64.b64encode(f"{settings.ari_user}:{settings.ari_password}".encode()).decode()
    req.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
        return json.loads(resp.read())


def check_asterisk(settings: Settings) -> Check:
    info = _ari_get(settings, "/asterisk/info")
    assert isinstance(info, dict)
    return Check("asterisk", True, f"Asterisk {info['system']['version']}")


def check_ari(settings: Settings, role: str = "admin") -> Check:
    """The control plane is alive and its ARI events connection is up (its Redis heartbeat,
    read as Redis user ``role``)."""
    client = redis.Redis.from_url(settings.redis_url_for(role), socket_timeout=TIMEOUT_S)
    try:
        raw = client.get(HEARTBEAT_KEY)
    finally:
        client.close()
    if raw is None:
        raise RuntimeError(f"control plane not running (no heartbeat in the last "
                           f"{HEARTBEAT_TTL_S} s)")
    beat = json.loads(raw)
    if not beat.get("ari"):
        raise RuntimeError(f"control plane (pid {beat.get('pid')}) is not connected to ARI")
    ami = "AMI up" if beat.get("ami") else "AMI DOWN"
    return Check("ari", True, f"control plane pid {beat['pid']} connected to ARI app "
                 f"'{settings.ari_app}', {ami}")


def check_ami(settings: Settings) -> Check:
    banner = ami_ping(settings.bind_address, settings.platform.ami, settings.ami_user,
                      settings.ami_password)
    return Check("ami", True, banner)


def check_redis(settings: Settings, role: str = "admin") -> Check:
    """Redis answers Redis user ``role`` (HELLO, not INFO: the panel's user may not INFO)."""
    client = redis.Redis.from_url(settings.redis_url_for(role), socket_timeout=TIMEOUT_S)
    try:
        hello = client.execute_command("HELLO")  # type: ignore[no-untyped-call]
        if isinstance(hello, list):  # RESP2: a flat list of names and values
            hello = dict(zip(hello[::2], hello[1::2], strict=True))
        version = hello.get(b"version", b"?")
        return Check("redis", True, f"redis {version.decode()}")
    finally:
        client.close()


def check_db(settings: Settings) -> Check:
    """A writer can get in, quickly: the write lock is taken and given back, timed
    (:func:`controlplane.db.probe_write`). A long import or a stuck writer shows here as
    "locked" (BAD) or "slow" (WARN), not as OK while every panel write fails."""
    try:
        probe = probe_write(settings.database_url)
    except OperationalError as err:
        if not is_locked(err):
            raise
        return Check("database", False, f"locked: another writer has held the database for "
                     f"over {PROBE_TIMEOUT_MS} ms, so writes wait or fail")
    name = f"{probe.dialect} ({probe.mode.upper()})" if probe.mode else probe.dialect
    if probe.mode and probe.mode != "wal":
        return Check("database", True, f"{name}: not in WAL mode, writers block readers",
                     warn=True)
    if probe.ms > SLOW_WRITE_MS:
        return Check("database", True, f"slow ({probe.ms:.0f} ms to get the write lock): {name}",
                     warn=True)
    return Check("database", True, f"{name}, write lock in {probe.ms:.0f} ms")


def check_lab(settings: Settings) -> Check:
    banner = ami_ping(settings.bind_address, settings.lab.ami, "lab", settings.secret("lab_ami_password"))
    return Check("lab", True, f"lab Asterisk up ({banner})")


CHECKS: tuple[Callable[[Settings], Check], ...] = (
    check_asterisk, check_ari, check_ami, check_redis, check_db, check_lab,
)
REDIS_CHECKS = (check_ari, check_redis)  # these take the Redis user to read as


def supervision(settings: Settings) -> list[str]:
    """The supervisor's view, for ``centrala status``: each process's uptime, restarts and
    how it last ended (:mod:`controlplane.procs.status`). Never raises."""
    import time

    from controlplane.procs.pids import alive
    from controlplane.procs.status import format_processes, read_state, state_path

    data = read_state(state_path(settings.runtime_dir))
    try:
        running = data is not None and alive(int(data.get("pid", 0)))
        return format_processes(data, time.time(), running)
    except (KeyError, TypeError, ValueError) as err:  # a state file of another version
        return [f"supervisor: unreadable state file ({type(err).__name__}: {err})"]


def check_all(settings: Settings, redis_role: str = "admin") -> list[Check]:
    """Every check; the Redis ones as user ``redis_role`` (``web`` from the panel)."""
    results = []
    for fn in CHECKS:
        name = fn.__name__.removeprefix("check_")
        try:
            if fn in REDIS_CHECKS:
                results.append(fn(settings, redis_role))
            else:
                results.append(fn(settings))
        except Exception as err:  # noqa: BLE001 - a health page reports, never raises
            results.append(Check(name, False, f"{type(err).__name__}: {err}"))
    return results
