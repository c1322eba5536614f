"""Redis users per process kind: the URLs, the ACL file, and a real redis-server started
with it (what each user may and may not do, and RQ working as the daemon and worker users)."""

from __future__ import annotations

import json
import stat
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from helpers import free_port, until
from rq import Queue, SimpleWorker

from controlplane import stack
from controlplane.bus import EVENTS_STREAM, LIVE_CALLS_KEY, send_reload
from controlplane.config import Settings, load_settings
from controlplane.security import redis_acl, redis_setup
from controlplane.security.login_throttle import Attempt, LoginThrottle, redis_keys


def managed(tmp_path: Path, port: int = 6390) -> Settings:
    return load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path / "rt"),
                          "CENTRALA_REDIS_PORT": str(port)})


# ---- URLs ----

def test_each_process_kind_gets_its_own_user_and_password(tmp_path: Path) -> None:
    settings = managed(tmp_path, 7001)
    urls = {role: settings.redis_url_for(role) for role in redis_acl.ROLES}
    secrets = json.loads(settings.secrets_file.read_text())
    for role, url in urls.items():
        password = secrets[f"redis_{role}"]
        assert url == f"redis://centrala-{role}:{password}@127.0.0.1:7001/0"
        assert len(password) >= 24
    assert len({secrets[f"redis_{r}"] for r in redis_acl.ROLES}) == len(redis_acl.ROLES)
    assert stat.S_IMODE(settings.secrets_file.stat().st_mode) == 0o600
    assert settings.redis_url_for("web") == urls["web"]  # stable: read back, not regenerated
    # the URL without credentials is what messages show; the settings' repr has none either
    assert settings.redis_location == "redis://127.0.0.1:7001/0"
    assert secrets["redis_web"] not in repr(settings)


def test_unknown_process_kind_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown Redis role 'panel'"):
        managed(tmp_path).redis_url_for("panel")


def test_an_external_redis_url_is_used_as_given_by_everyone(tmp_path: Path) -> None:
    given = "redis://:s3cret@redis.example:6379/2"
    settings = load_settings({"CENTRALA_RUNTIME_DIR": str(tmp_path), "CENTRALA_REDIS_URL": given})
    assert settings.redis_external
    assert {settings.redis_url_for(r) for r in redis_acl.ROLES} == {given}
    assert settings.redis_location == "redis://redis.example:6379/2"  # no password in messages
    assert not settings.secrets_file.exists()  # no passwords generated for nothing
    with pytest.raises(ValueError):
        settings.redis_url_for("nobody")


def test_url_quotes_what_a_url_cannot_hold() -> None:
    url = redis_acl.url("web", "a/b:c@d", "127.0.0.1", 1)
    assert url == "redis://centrala-web:a%2Fb%3Ac%40d@127.0.0.1:1/0"
    assert redis.Redis.from_url(url).connection_pool.connection_kwargs["password"] == "a/b:c@d"


# ---- the ACL file ----

PASSWORDS = {role: f"{role}-password-0123456789" for role in redis_acl.ROLES}


def test_acl_file_turns_the_default_user_off_and_holds_hashes_only() -> None:
    text = redis_acl.render_acl(PASSWORDS)
    lines = text.splitlines()
    assert lines[0] == "user default reset off -@all"
    assert [ln.split()[1] for ln in lines[1:]] == [f"centrala-{r}" for r in redis_acl.ROLES]
    for password in PASSWORDS.values():
        assert password not in text
    assert all(" on #" in ln for ln in lines[1:])


def test_acl_file_refuses_a_missing_or_short_password() -> None:
    with pytest.raises(ValueError, match="centrala-worker"):
        redis_acl.render_acl({**PASSWORDS, "worker": ""})
    with pytest.raises(ValueError, match="centrala-admin"):
        redis_acl.render_acl({k: v for k, v in PASSWORDS.items() if k != "admin"})


def test_written_acl_file_is_private(tmp_path: Path) -> None:
    settings = managed(tmp_path)
    folder = tmp_path / "redis"
    folder.mkdir()
    path = redis_setup.write_acl(settings, folder)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secrets = json.loads(settings.secrets_file.read_text())
    assert all(secrets[f"redis_{r}"] not in path.read_text() for r in redis_acl.ROLES)
    redis_setup.write_acl(settings, folder)  # again: replaced, still private
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# ---- a real redis-server with the file ----

@pytest.fixture(scope="module")
def acl_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A throwaway redis-server started with the rendered ACL file, as ``start_redis`` does."""
    base = tmp_path_factory.mktemp("acl")
    port = free_port()
    settings = managed(base, port)
    acl = redis_setup.write_acl(settings, base)
    proc = subprocess.Popen(["/usr/bin/redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", str(base),
                             "--aclfile", str(acl)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        until(lambda: proc.poll() is not None or _answers(settings), timeout=10,
              what="redis-server with the ACL file")
        assert proc.poll() is None, "redis-server refused the ACL file"
        yield settings
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _answers(settings: Settings) -> bool:
    try:
        redis_setup.wait_ready(settings, timeout_s=0)
        return True
    except redis.ConnectionError:
        return False


def client(settings: Settings, role: str) -> redis.Redis:
    return redis.Redis.from_url(settings.redis_url_for(role), socket_timeout=5)


def test_nobody_gets_in_without_a_password(acl_redis: Settings) -> None:
    anonymous = redis.Redis(port=acl_redis.redis_port, socket_timeout=5)
    with pytest.raises(redis.AuthenticationError, match="(?i)authenticat"):
        anonymous.get("centrala:controlplane:heartbeat")
    assert not redis_setup.answers_without_password(acl_redis)
    wrong = redis.Redis(port=acl_redis.redis_port, username="centrala-admin", password="guess")
    with pytest.raises(redis.AuthenticationError):
        wrong.ping()
    with pytest.raises(redis.AuthenticationError):  # the default user is off, even named
        redis.Redis(port=acl_redis.redis_port, username="default", password="").ping()


def test_the_panel_reads_live_state_and_sends_commands_only(acl_redis: Settings) -> None:
    admin, web = client(acl_redis, "admin"), client(acl_redis, "web")
    admin.hset("centrala:acd:1:agents", "7", "{}")
    assert web.hget("centrala:acd:1:agents", "7") == b"{}"
    send_reload(web, 1, actor_id=1)  # XADD with MAXLEN ~, as the panel sends
    assert web.xadd("centrala:commands", {"data": "{}"})
    assert web.xrange("centrala:commands")
    assert web.incr("centrala:web:login-failures:127.0.0.1") == 1
    admin.lpush("centrala:reply:x", "ok")
    assert web.blpop(["centrala:reply:x"], timeout=1) == (b"centrala:reply:x", b"ok")
    for denied in (lambda: web.config_get("*"), web.flushall, web.flushdb,
                   lambda: web.keys("*"), lambda: web.info("server"),
                   lambda: web.xadd("centrala:admin:commands", {"data": "{}"}),
                   lambda: web.hset("centrala:acd:1:agents", "7", "forged"),
                   lambda: web.delete("centrala:commands"),
                   lambda: web.xtrim("centrala:commands", 0),
                   lambda: web.set("rq:queue:default", "x"),
                   lambda: web.eval("return 1", 0),
                   lambda: web.publish("rq:pubsub:w", "x"),
                   lambda: web.acl_setuser("evil", enabled=True)):
        with pytest.raises(redis.exceptions.NoPermissionError):
            denied()
    assert admin.hget("centrala:acd:1:agents", "7") == b"{}"  # nothing forged got through


def test_daemon_and_worker_users(acl_redis: Settings) -> None:
    daemon, worker = client(acl_redis, "controlplane"), client(acl_redis, "worker")
    assert daemon.xadd("centrala:admin:commands", {"data": "{}"})  # its own streams
    for denied in (daemon.flushall, lambda: daemon.config_get("*"), daemon.shutdown,
                   lambda: daemon.set("other:key", "x"), lambda: daemon.acl_list(),
                   lambda: worker.get("centrala:controlplane:heartbeat"),
                   lambda: worker.xadd("centrala:commands", {"data": "{}"}), worker.flushall):
        with pytest.raises(redis.exceptions.NoPermissionError):
            denied()
    assert client(acl_redis, "admin").config_get("appendonly")  # the admin may do anything


def test_rq_jobs_go_from_the_daemon_user_to_the_worker_user(acl_redis: Settings) -> None:
    """RQ reads INFO, names its connection, takes locks with scripts: all allowed."""
    job = Queue("default", connection=client(acl_redis, "controlplane")).enqueue(
        "builtins.len", "abc")
    conn = client(acl_redis, "worker")
    SimpleWorker([Queue("default", connection=conn)], connection=conn).work(
        burst=True, with_scheduler=True)
    job.refresh()
    assert job.get_status() == "finished" and job.return_value() == 3


def test_start_redis_puts_passwords_on_a_redis_that_had_none(tmp_path: Path) -> None:
    """An upgrade: a Redis started by an older version (no ACL) is restarted with the file,
    its append-only data kept; a running one with the ACL is told to read the file again."""
    settings = managed(tmp_path, free_port())
    data = settings.runtime_dir / "redis"
    data.mkdir(parents=True)
    stack.spawn(settings, "redis", ["redis-server", "--port", str(settings.redis_port),
                                    "--bind", "127.0.0.1", "--dir", str(data),
                                    "--appendonly", "yes", "--save", ""])
    try:
        until(lambda: redis_setup.answers_without_password(settings), timeout=10,
              what="the password-less redis-server")
        redis.Redis(port=settings.redis_port).set("centrala:kept", "1")
        stack.start_redis(settings)
        assert not redis_setup.answers_without_password(settings)
        admin = client(settings, "admin")
        assert admin.get("centrala:kept") == b"1"  # restarted, not emptied
        pid = stack.pid_alive(settings, "redis")
        admin.acl_deluser("centrala-web")  # rules drifted from the file...
        stack.start_redis(settings)  # ...a start finds it running and reloads the file
        assert stack.pid_alive(settings, "redis") == pid
        assert client(settings, "web").get("centrala:kept") == b"1"
    finally:
        stack.stop_process(settings, "redis")


def test_the_panels_own_redis_work_runs_under_its_user(acl_redis: Settings) -> None:
    """What the panel does with Redis, as the panel's user: the login throttle (which falls
    back to the database on any Redis error, so a NOPERM would hide there), the live stream,
    the live calls hash."""
    admin, web = client(acl_redis, "admin"), client(acl_redis, "web")
    attempt = Attempt(address="192.0.2.7", account="agent@acme.example")
    now = datetime.now(UTC)
    LoginThrottle(web).record_failure(attempt, now)
    assert [admin.zcard(k) for k in redis_keys(attempt).values()] == [1, 1]
    tallies = LoginThrottle(web)._redis_tallies(attempt, now.timestamp())  # no fallback
    assert {t.failures for t in tallies.values()} == {1}
    admin.hset(LIVE_CALLS_KEY, "c1", "{}")
    admin.xadd(EVENTS_STREAM, {"data": "{}"})
    assert web.hgetall(LIVE_CALLS_KEY) == {b"c1": b"{}"}
    assert web.xrevrange(EVENTS_STREAM, count=1)
    assert web.xread({EVENTS_STREAM: "0-0"}, block=100, count=10)  # as the SSE view reads
    assert web.xread({EVENTS_STREAM: "$"}, block=50) == []  # blocking reads are allowed
