"""``centrala up`` / ``centrala down``: start and stop every part of the platform."""

from __future__ import annotations

import ssl
import sys
import time
import urllib.request

from controlplane import stack
from controlplane.config import Settings
from controlplane.health import check_all

DAEMONS = ("controlplane", "worker", "web")


def _centrala(*args: str) -> list[str]:
    return [sys.executable, "-m", "controlplane.cli", *args]


def up(settings: Settings, with_lab: bool = True) -> int:
    login = stack.database(settings)
    print("database: migrated and seeded")
    stack.start_redis(settings)
    print(f"redis: 127.0.0.1:{settings.redis_port}")
    stack.start_platform_asterisk(settings)
    print(f"asterisk: SIP {settings.bind_address}:{settings.platform.sip}, ARI :{settings.platform.http}")
    if with_lab:
        stack.start_lab(settings)
        print(f"lab: carrier/public/desk phones on {settings.bind_address}:{settings.lab.sip}")
    for name in DAEMONS:
        stack.spawn(settings, name, _centrala(name))
    scheme = "https" if settings.web_tls else "http"
    url = f"{scheme}://{settings.bind_address}:{settings.web_port}/"
    # The panel's own self-signed certificate (web.tls): reachability only, not trust.
    tls = ssl._create_unverified_context() if settings.web_tls else None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "healthz", timeout=1, context=tls).close()
            break
        except OSError:
            time.sleep(0.3)
    time.sleep(1)
    for check in check_all(settings):
        if not with_lab and check.name == "lab":
            continue
        print(f"  {'ok ' if check.ok else 'BAD'} {check.name:9} {check.detail}")
    print(f"\npanel: {url}\nlogin: {login.address}\npassword: {login.password}")
    print(f"logs:  {settings.runtime_dir / 'log'}  (stop everything with `make down`)")
    return 0


def down(settings: Settings) -> None:
    for name in reversed(DAEMONS):
        stack.stop_process(settings, name)
    stack.stop_process(settings, "baresip")
    try:
        stack.lab_instance(settings).stop()
        stack.platform_instance(settings).stop()
    except stack.asterisk.AsteriskError:
        pass
    stack.stop_process(settings, "redis")
