"""``centrala up`` / ``down`` / ``supervise``: one supervisor runs every part of the platform.

``centrala supervise`` is the supervisor, in the foreground (what systemd runs, see
``deploy/systemd/``): it migrates the database, renders the Asterisk configuration, then
starts and watches Redis, both Asterisks, baresip, the control plane, the worker and the
panel, restarting any that dies with exponential backoff (:mod:`controlplane.procs`). Its
state (pid, start time, restarts, last exit of each) is in ``<runtime>/run/supervisor.json``,
which ``centrala status`` shows.

``centrala up`` starts the supervisor detached (pid file ``run/supervisor.pid``, log
``log/supervisor.log``), waits until everything is up, prints the health checks and exits
non-zero when one is BAD. The demo password is printed only when it was generated (first
start); afterwards ``up`` says where it is. ``centrala down`` stops the supervisor first
(it stops its processes cleanly, in reverse order), then whatever is left.

Signals to the supervisor: TERM or INT stop everything; USR1 makes it leave and keep every
process running (a new supervisor adopts them: an upgrade without dropping a call).
"""

from __future__ import annotations

import logging
import os
import signal
import ssl
import threading
import time
import urllib.request
from collections.abc import Iterable

from controlplane import stack
from controlplane.config import Settings
from controlplane.health import Check, check_all
from controlplane.procs.policy import ProcState
from controlplane.procs.programs import all_programs, centrala
from controlplane.procs.runner import Runner
from controlplane.procs.status import read_state, state_path

log = logging.getLogger("centrala.supervisor")
NAME = "supervisor"
LOGIN_FILE = "demo-login.txt"
# stopped by `down` if left by a dead supervisor (or started by hand)
DAEMONS = ("controlplane", "controlplane-standby", "mailcatcher", "worker", "web", "prober",
           "mailpoller")
UP_TIMEOUT_S = 180.0  # a first start builds nothing here (provisioning is done before)
HEALTHY_TIMEOUT_S = 45.0


def _prepare(settings: Settings, with_lab: bool) -> None:
    """Everything the processes need before they start (idempotent)."""
    stack.database(settings)
    stack.prepare_platform_asterisk(settings)
    if with_lab:
        stack.prepare_lab(settings)


def supervise(settings: Settings, with_lab: bool = True) -> int:
    """Run the supervisor in the foreground until TERM/INT (stop all) or USR1 (leave)."""
    os.umask(0o077)
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s supervisor[%(process)d] %(levelname)s %(message)s")
    _prepare(settings, with_lab)
    stop, leave = threading.Event(), threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGUSR1, lambda *_: leave.set())
    runner = Runner(all_programs(settings, with_lab=with_lab), state_path(settings.runtime_dir),
                    on_death=_audit_death(settings))
    log.info("supervising %s", ", ".join(runner.order))
    runner.run(stop, leave)
    log.info("supervisor done (%s)", "processes left running" if leave.is_set() else "stopped")
    return 0


def _audit_death(settings: Settings):  # type: ignore[no-untyped-def]
    """A process that dies is an event for the audit trail (a crash, or someone killed it)."""
    from controlplane.db import make_engine, make_sessionmaker, transaction
    from controlplane.security import audit

    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)

    def record(name: str, state: ProcState) -> None:
        delay = max((state.restart_at or 0) - time.time(), 0)
        with transaction(factory) as s:
            audit.record(s, "process.exited", severity="warning", actor="supervisor",
                         detail={"program": name, "how": state.last_exit or "",
                                 "restarts": state.restarts, "restart_in_s": round(delay, 1)})

    return record


def up(settings: Settings, with_lab: bool = True) -> int:
    first = not (settings.runtime_dir / LOGIN_FILE).exists()
    login = stack.database(settings)
    print("database: migrated and seeded")
    stack.prepare_platform_asterisk(settings)  # provisions (prints what it builds) and renders
    print(f"asterisk: SIP {settings.bind_address}:{settings.platform.sip}, "
          f"ARI :{settings.platform.http}")
    pid = stack.spawn(settings, NAME, centrala("supervise", *([] if with_lab else ["--no-lab"])))
    print(f"supervisor: pid {pid}, log {settings.runtime_dir / 'log' / 'supervisor.log'}")
    if not _wait_started(settings, pid):
        return 1
    checks = _wait_healthy(settings, with_lab)
    for check in checks:
        print(f"  {'ok ' if check.ok else 'BAD'} {check.name:9} {check.detail}")
    scheme = "https" if settings.web_tls else "http"
    url = f"{scheme}://{settings.bind_address}:{settings.web_port}/"
    print(f"\npanel: {url}\nlogin: {login.address}")
    if first:
        print(f"password: {login.password}  (shown this once; kept in "
              f"{settings.runtime_dir / LOGIN_FILE}, mode 0600)")
    else:
        print(f"password: in {settings.runtime_dir / LOGIN_FILE} (mode 0600)")
    print(f"logs:  {settings.runtime_dir / 'log'}  (`centrala status`; stop with `make down`)")
    bad = [c.name for c in checks if not c.ok]
    if bad:
        print(f"\nBAD: {', '.join(bad)}: see the logs above", flush=True)
        return 1
    return 0


def _wait_started(settings: Settings, pid: int) -> bool:
    """Until the supervisor has started (or adopted) every program once."""
    deadline = time.monotonic() + UP_TIMEOUT_S
    while time.monotonic() < deadline:
        if stack.pid_alive(settings, NAME) != pid:
            print(f"supervisor exited during start; the end of its log:\n{_tail(settings)}")
            return False
        data = read_state(state_path(settings.runtime_dir))
        if data is not None and data.get("pid") == pid and data.get("ready"):
            return True
        time.sleep(0.3)
    print(f"supervisor did not start everything in {UP_TIMEOUT_S:.0f} s:\n{_tail(settings)}")
    return False


def _tail(settings: Settings, lines: int = 20) -> str:
    try:
        text = (settings.runtime_dir / "log" / f"{NAME}.log").read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def _wait_healthy(settings: Settings, with_lab: bool) -> list[Check]:
    """The checks, again until all pass (the control plane needs a moment to connect)."""
    deadline = time.monotonic() + HEALTHY_TIMEOUT_S
    while True:
        checks = [c for c in check_all(settings) if with_lab or c.name != "lab"]
        checks.append(_check_web(settings))
        if all(c.ok for c in checks) or time.monotonic() > deadline:
            return checks
        time.sleep(1)


def _check_web(settings: Settings) -> Check:
    """The panel answers its ``/healthz``."""
    scheme = "https" if settings.web_tls else "http"
    url = f"{scheme}://{settings.bind_address}:{settings.web_port}/healthz"
    # The panel's own self-signed certificate (web.tls): reachability only, not trust.
    tls = ssl._create_unverified_context() if settings.web_tls else None
    try:
        urllib.request.urlopen(url, timeout=2, context=tls).close()
    except OSError as err:
        return Check("web", False, f"{url}: {err}")
    return Check("web", True, f"panel answers on {url.removesuffix('healthz')}")


def down(settings: Settings) -> None:
    # The supervisor first: it would restart what we stop; it stops its own processes.
    stack.stop_process(settings, NAME, timeout=90)
    for name in reversed(DAEMONS):
        stack.stop_process(settings, name)
    stack.stop_process(settings, "baresip")
    try:
        stack.lab_instance(settings).stop()
        stack.platform_instance(settings).stop()
    except stack.asterisk.AsteriskError:
        pass
    stack.stop_process(settings, "redis")
    for name in _asterisk_pidfiles():
        stack.pidfile(settings, name).unlink(missing_ok=True)


def _asterisk_pidfiles() -> Iterable[str]:
    return ("asterisk-platform", "asterisk-lab")
