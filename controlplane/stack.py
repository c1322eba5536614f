"""Bring the parts of the platform up and down: database, Redis, both Asterisks, baresip.

The CLI (``controlplane.cli``) and the integration tests call these; they are
idempotent (a running part is left running) and report problems as
:class:`controlplane.asterisk.AsteriskError` or :class:`dialplan.problems.ConfigError`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from controlplane import asterisk
from controlplane.config import Settings
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.engine import ami_sync
from controlplane.migrate import upgrade
from controlplane.models import PhoneEndpoint
from controlplane.procs.pids import alive
from controlplane.security import audit, file_modes, redis_setup
from controlplane.seed import DemoLogin, seed_demo
from dialplan import lab as labmod
from dialplan.render import render_platform, write_config

PLATFORM_ENTITY = "02:00:00:00:00:01"
LAB_ENTITY = "02:00:00:00:00:02"


def database(settings: Settings) -> DemoLogin:
    """Migrate to head and seed the demo tenant; then only the service may read the runtime
    folder's secrets (:func:`secure_files`)."""
    settings.runtime_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        factory = make_sessionmaker(engine)
        login = seed_demo(factory, settings.runtime_dir, settings.lab.sip,
                          settings.lab_carrier_address)
        secure_files(settings, factory)
        return login
    finally:
        engine.dispose()


def secure_files(settings: Settings, factory: sessionmaker[Session] | None = None) -> list[str]:
    """Tighten the modes of the runtime folder's files (:mod:`controlplane.security.file_modes`);
    what had to change goes into the audit trail (``files.permissions``) when ``factory`` is
    given. Returns the changes, described."""
    changes = file_modes.secure_runtime(settings.runtime_dir, settings.database_url,
                                        _asterisk_gid(settings))
    tightened = [c.describe() for c in changes if c.tightened]
    if tightened and factory is not None:
        with transaction(factory) as s:
            audit.record(s, "files.permissions", severity="warning", actor="centrala",
                         detail={"tightened": tightened[:50], "count": len(tightened)})
    return [c.describe() for c in changes]


def _asterisk_gid(settings: Settings) -> int | None:
    """The group Asterisk runs with (it walks through the runtime folder), if provisioned."""
    try:
        return platform_instance(settings).owner_ids()[1]
    except (asterisk.AsteriskError, OSError):
        return None


def platform_instance(settings: Settings, inst: asterisk.Installation | None = None) -> asterisk.Instance:
    return asterisk.Instance("platform", settings, inst or asterisk.installation(settings),
                             settings.platform, PLATFORM_ENTITY)


def lab_instance(settings: Settings, inst: asterisk.Installation | None = None) -> asterisk.Instance:
    return asterisk.Instance("lab", settings, inst or asterisk.installation(settings),
                             settings.lab, LAB_ENTITY)


def render_platform_files(settings: Settings, instance: asterisk.Instance) -> list[str]:
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            files = render_platform(session, settings, check_ports=not instance.running())
    finally:
        engine.dispose()
    files["asterisk.conf"] = instance.asterisk_conf()
    return write_config(instance.dir("etc"), files)


def apply_platform_config(settings: Settings) -> list[str]:
    """Render, write and (if running) reload: the changed files are returned."""
    instance = platform_instance(settings)
    instance.prepare_dirs()
    changed = render_platform_files(settings, instance)
    if changed and instance.running():
        instance.fix_ownership()
        ami_sync.reload(settings.bind_address, settings.platform.ami, settings.ami_user,
                        settings.ami_password)
    return changed


def start_platform_asterisk(settings: Settings) -> asterisk.Instance:
    instance = prepare_platform_asterisk(settings)
    instance.start()
    return instance


def prepare_platform_asterisk(settings: Settings) -> asterisk.Instance:
    """Provision, create the folders and (when not running) render the configuration."""
    inst = asterisk.provision(settings)
    instance = platform_instance(settings, inst)
    instance.prepare_dirs()
    if not instance.running():
        render_platform_files(settings, instance)
    return instance


def start_lab(settings: Settings) -> asterisk.Instance:
    instance, baresip_phone = prepare_lab(settings)
    instance.start()
    if baresip_phone is not None and labmod.baresip_available():
        start_baresip(settings, baresip_phone)
    return instance


def prepare_lab(settings: Settings) -> tuple[asterisk.Instance, PhoneEndpoint | None]:
    """Provision, render the lab (reloaded if running and changed) and make its prompts;
    returns the instance and baresip's phone (None: not seeded)."""
    inst = asterisk.provision(settings)
    instance = lab_instance(settings, inst)
    instance.prepare_dirs()
    recdir, _ = labmod.lab_dirs(settings)
    recdir.mkdir(parents=True, exist_ok=True)
    labmod.make_prompts(settings)
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            files = labmod.render_lab(session, settings)
            baresip_phone = session.query(PhoneEndpoint).filter_by(name=labmod.BARESIP_PHONE).one_or_none()
    finally:
        engine.dispose()
    files["asterisk.conf"] = instance.asterisk_conf()
    changed = write_config(instance.dir("etc"), files)
    if instance.running() and changed:
        instance.fix_ownership()
        instance.cli("core reload")
    return instance, baresip_phone


# ---- background processes with pid files (redis, baresip, control plane, worker, web) ----

# Children started by this process, kept so they are reaped (and no Popen is dropped alive).
_children: dict[int, subprocess.Popen[bytes]] = {}


def pidfile(settings: Settings, name: str) -> Path:
    return settings.runtime_dir / "run" / f"{name}.pid"


def pid_alive(settings: Settings, name: str) -> int | None:
    path = pidfile(settings, name)
    try:
        pid = int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    child = _children.get(pid)
    if child is not None and child.poll() is not None:  # our child, exited (a zombie until now)
        _children.pop(pid, None)
        return None
    return pid if alive(pid) else None  # another's zombie is dead too


def child(pid: int) -> subprocess.Popen[bytes] | None:
    """The handle of a process this process spawned and has not reaped (else None)."""
    return _children.get(pid)


def spawn(settings: Settings, name: str, argv: list[str], cwd: Path | None = None) -> int:
    """Start ``argv`` detached with output to ``<runtime>/log/<name>.log``; reuse if alive.

    The child runs with umask 077 and its log is 0600: what it writes is the service's alone."""
    if (pid := pid_alive(settings, name)) is not None:
        return pid
    logdir = settings.runtime_dir / "log"
    logdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    pidfile(settings, name).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    log = open(logdir / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
    os.chmod(logdir / f"{name}.log", 0o600)
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            cwd=cwd, start_new_session=True, umask=0o077)
    log.close()
    _children[proc.pid] = proc
    pidfile(settings, name).write_text(str(proc.pid))
    return proc.pid


def stop_process(settings: Settings, name: str, timeout: float = 10) -> None:
    pid = pid_alive(settings, name)
    if pid is None:
        pidfile(settings, name).unlink(missing_ok=True)
        return
    os.kill(pid, signal.SIGTERM)
    child = _children.pop(pid, None)
    if child is not None:
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    else:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not alive(pid):
                break
            time.sleep(0.1)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    pidfile(settings, name).unlink(missing_ok=True)


def forget_child(pid: int) -> None:
    """Reap a child that was killed on purpose (tests that crash the control plane)."""
    child = _children.pop(pid, None)
    if child is not None:
        child.wait()


def start_redis(settings: Settings) -> None:
    """Our own redis-server on loopback, append-only so queued jobs survive a restart, with
    one password-protected user per process kind (``controlplane.security.redis_acl``).

    An external Redis (``CENTRALA_REDIS_URL``) is only checked, never started."""
    if settings.redis_external:
        redis_setup.wait_ready(settings)
        return
    data = settings.runtime_dir / "redis"
    data.mkdir(parents=True, exist_ok=True)
    acl = redis_setup.write_acl(settings, data)
    if pid_alive(settings, "redis") is not None and redis_setup.answers_without_password(settings):
        stop_process(settings, "redis")  # started without passwords: again, with them
    running = pid_alive(settings, "redis") is not None
    spawn(settings, "redis", [
        "redis-server", "--port", str(settings.redis_port), "--bind", "127.0.0.1",
        "--dir", str(data), "--appendonly", "yes", "--appendfsync", "everysec",
        "--save", "", "--protected-mode", "yes", "--aclfile", str(acl),
    ])
    redis_setup.wait_ready(settings)
    if running:
        redis_setup.reload_acl(settings)  # the users and rules of this version


def baresip_ctrl_port(settings: Settings) -> int:
    """baresip's ctrl_tcp port (netstring JSON: dial, hangup, reginfo, …)."""
    return settings.lab.sip + 22


def start_baresip(settings: Settings, phone: PhoneEndpoint) -> None:
    base = settings.runtime_dir / "baresip"
    base.mkdir(parents=True, exist_ok=True)
    (base / "snd").mkdir(exist_ok=True)
    audio = base / "mic.wav"
    if not audio.exists():
        subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(audio),
                        "synth", "30", "sine", "900", "vol", "0.15"], check=True)
    # ctrl_tcp two ports above SIP: baresip's SIP over TLS takes SIP + 1 (sip_listen), and
    # ctrl_tcp then failed to listen ("Address already in use") and baresip had no control
    files = labmod.baresip_config(settings, phone, audio, baresip_ctrl_port(settings))
    for name, text in files.items():
        (base / name).write_text(text)
        (base / name).chmod(0o600)
    spawn(settings, "baresip", ["baresip", "-f", str(base)], cwd=base)
