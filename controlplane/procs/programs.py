"""The programs the supervisor runs, and how each is started, found, watched and stopped.

Each program knows four things: how to find its process from an earlier run (``adopt``:
its pid file; a supervisor that was replaced leaves its processes running and the next
one takes them over), how to start it (``spawn``), whether it is ready to serve (used to
start the next one in order), and how to stop it cleanly. Starting reuses
:mod:`controlplane.stack`, so a process started by the supervisor is the same as one
started by hand or by the tests' fixture: same command, same pid file, same log.

Our children are watched through their ``Popen`` (exit status included); an adopted
process through its pid (its exit status is lost to us: "gone").
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from typing import Protocol

from controlplane import asterisk, stack
from controlplane.config import Settings
from controlplane.procs.pids import alive, flock_of, runs


@dataclass
class Handle:
    """A running process: ours (``popen``) or adopted (pid only)."""

    pid: int
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def exited(self) -> tuple[bool, int | None]:
        """(True, returncode) once it has exited; returncode None when not our child."""
        if self.popen is not None:
            code = self.popen.poll()
            return (code is not None), code
        return (not alive(self.pid)), None


class Program(Protocol):
    name: str

    def adopt(self) -> Handle | None: ...
    def spawn(self) -> Handle: ...
    def ready(self) -> bool: ...
    def stop(self, handle: Handle) -> None: ...


def _handle(pid: int) -> Handle:
    return Handle(pid, stack.child(pid))


class Daemon:
    """A process ``stack.spawn`` starts with a pid file under ``run/`` (control plane, worker,
    panel). ``token``: a word of its command line, checked before adopting it."""

    def __init__(self, settings: Settings, name: str, argv: list[str], token: str = "") -> None:
        self.settings, self.name, self.argv = settings, name, argv
        self.token = token or (argv[-1] if argv else name)

    def adopt(self) -> Handle | None:
        pid = stack.pid_alive(self.settings, self.name)
        if pid is None:
            return None
        if not runs(pid, self.token):  # a stale pid file (after a reboot): someone else's pid
            stack.pidfile(self.settings, self.name).unlink(missing_ok=True)
            return None
        return _handle(pid)

    def spawn(self) -> Handle:
        return _handle(stack.spawn(self.settings, self.name, self.argv))

    def ready(self) -> bool:
        return True

    def stop(self, handle: Handle) -> None:
        stack.stop_process(self.settings, self.name)
        if handle.popen is not None and handle.popen.poll() is None:
            handle.popen.kill()
            handle.popen.wait()


class ControlPlane(Daemon):
    """A control plane started with ``--standby``: ready once it holds the single-instance
    lock (active) or waits for it (a warm standby: every module imported)."""

    def __init__(self, settings: Settings, name: str) -> None:
        super().__init__(settings, name, centrala("controlplane", "--standby"), "controlplane")

    def ready(self) -> bool:
        pid = stack.pid_alive(self.settings, self.name)
        lock = self.settings.runtime_dir / "run" / "controlplane.lock"
        return pid is not None and flock_of(pid, lock) in ("held", "waiting")


class Redis(Daemon):
    """Our redis-server (``stack.start_redis``: its ACL file, append-only data, the wait)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, "redis", [], "redis-server")

    def spawn(self) -> Handle:
        stack.start_redis(self.settings)
        pid = stack.pid_alive(self.settings, "redis")
        if pid is None:
            raise RuntimeError("redis-server exited right after starting; see log/redis.log")
        return _handle(pid)


class Baresip(Daemon):
    """baresip as the lab's extra agent phone (its configuration holds the phone's password)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, "baresip", [], "baresip")

    def spawn(self) -> Handle:
        from controlplane.db import make_engine, make_sessionmaker
        from controlplane.models import PhoneEndpoint
        from dialplan import lab as labmod

        engine = make_engine(self.settings.database_url)
        try:
            with make_sessionmaker(engine)() as s:
                phone = s.query(PhoneEndpoint).filter_by(name=labmod.BARESIP_PHONE).one_or_none()
                if phone is None:
                    raise RuntimeError(f"no phone {labmod.BARESIP_PHONE} in the database")
                stack.start_baresip(self.settings, phone)
        finally:
            engine.dispose()
        pid = stack.pid_alive(self.settings, "baresip")
        if pid is None:
            raise RuntimeError("baresip exited right after starting; see log/baresip.log")
        return _handle(pid)


class Asterisk:
    """One Asterisk instance, run in the foreground as our child (``asterisk -f``)."""

    def __init__(self, settings: Settings, instance: asterisk.Instance) -> None:
        self.settings, self.instance = settings, instance
        self.name = f"asterisk-{instance.name}"

    def adopt(self) -> Handle | None:
        pid = self.instance.pid()
        return Handle(pid) if pid is not None and runs(pid, "asterisk") else None

    def spawn(self) -> Handle:
        popen = self.instance.spawn_foreground(self.settings.runtime_dir / "log" / f"{self.name}.log")
        # the pid file under run/ like every other program (Asterisk writes its own as well)
        stack.pidfile(self.settings, self.name).write_text(str(popen.pid))
        return Handle(popen.pid, popen)

    def ready(self) -> bool:
        return self.instance.booted()

    def stop(self, handle: Handle) -> None:
        self.instance.stop()
        if handle.popen is not None:
            try:
                handle.popen.wait(10)
            except subprocess.TimeoutExpired:
                handle.popen.kill()
                handle.popen.wait()
        stack.pidfile(self.settings, self.name).unlink(missing_ok=True)


CONTROLPLANES = ("controlplane", "controlplane-standby")


def centrala(*args: str) -> list[str]:
    """The command line of one of our own daemons (``centrala controlplane`` …)."""
    return [sys.executable, "-m", "controlplane.cli", *args]


def all_programs(settings: Settings, *, with_lab: bool) -> list[Program]:
    """Every program, in start order (stopped in the reverse order). An external Redis
    (``CENTRALA_REDIS_URL``) is somebody else's to run."""
    from dialplan import lab as labmod

    programs: list[Program] = [] if settings.redis_external else [Redis(settings)]
    programs.append(Asterisk(settings, stack.platform_instance(settings)))
    if with_lab:
        programs.append(Asterisk(settings, stack.lab_instance(settings)))
        if labmod.baresip_available():
            programs.append(Baresip(settings))
    # Two control planes: one active, one standby (imports done, waiting for the lock): a
    # control plane that dies is replaced in a fraction of a second, not after a cold start.
    # Either may be the active one; the other is restarted as the new standby.
    programs += [ControlPlane(settings, name) for name in CONTROLPLANES]
    # The local SMTP catcher (controlplane.mail.catcher) before the worker that sends mail;
    # with CENTRALA_SMTP_URL set, mail goes to that server and no catcher runs.
    if not settings.smtp_external:
        programs.append(Daemon(settings, "mailcatcher", centrala("mailcatcher")))
    programs += [Daemon(settings, name, centrala(name)) for name in ("worker", "web")]
    # The SLA probes: apart from the control plane they measure (controlplane.sla.prober)
    programs.append(Daemon(settings, "prober", centrala("sla", "prober")))
    # The desk's mailbox reader (controlplane.desk.email.poller): blocking IMAP, apart
    programs.append(Daemon(settings, "mailpoller", centrala("desk-mail", "poller")))
    return programs
