"""The synthetic probes: what each one checks, for which critical functions, how long it may take.

Each probe is a plain function ``(settings) -> detail`` that raises on failure; the prober
(:mod:`controlplane.sla.prober`) runs each with its own timeout and stores one result per
function it covers. They use the platform's dedicated probe objects (seeded by
:func:`controlplane.seed.seed_probes`: a tenant of their own, so no customer's users, calls
or statistics ever hold them), never a customer's:

- ``panel_login`` (``login``): HTTP to the panel as the probe user: the login form, its
  CSRF token, the password, the landing page; then logs out (one user, one workstation:
  a session left behind would make the next round a take-over).
- ``controlplane`` (every function that needs the control plane to answer a call): its
  Redis heartbeat exists, is fresh and says ARI is connected. Read as the panel's Redis
  user (read-only on ``centrala:*``).

- ``inbound_call``, ``ivr``, ``outbound_call``: real calls through the lab in the probe
  tenant (:mod:`controlplane.sla.probe_calls`); ``agent_ready``, ``queue_routing``: the
  probe agent logs in from its desk phone and answers a call of the probe queue
  (:mod:`controlplane.sla.probe_agent`). Only where a lab runs (:func:`probes_for`).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from controlplane.config import Settings

PROBE_DOMAIN = "sla-probe.centrala.local"  # the probes' own tenant (see seed_probes)
PROBE_LOGIN = "probe"
LOGIN_FILE = "sla-probe-login.txt"  # <runtime>/…, 0600: "address password"
HEARTBEAT_STALE_S = 5.0  # the daemon writes every 2 s; older than this: not answering
CONTROLPLANE_FUNCTIONS = ("inbound_call", "outbound_call", "ivr", "agent_ready",
                          "queue_routing")


class ProbeFailed(Exception):
    """The function is not working; the message says what was seen."""


@dataclass(frozen=True)
class Probe:
    name: str
    functions: tuple[str, ...]
    timeout_s: float
    check: Callable[[Settings], str]


def probe_login(runtime_dir: Path) -> tuple[str, str]:
    address, password = (runtime_dir / LOGIN_FILE).read_text().split()
    return address, password


def _panel_url(settings: Settings) -> str:
    scheme = "https" if settings.web_tls else "http"
    return f"{scheme}://{settings.bind_address}:{settings.web_port}"


def panel_login(settings: Settings, timeout_s: float = 10.0) -> str:
    import requests

    address, password = probe_login(settings.runtime_dir)
    base = _panel_url(settings)
    with requests.Session() as http:
        if settings.web_tls:  # the panel's own self-signed certificate: reachability, not trust
            import urllib3

            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            http.verify = False
        form = http.get(f"{base}/login", timeout=timeout_s)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        if form.status_code != 200 or token is None:
            raise ProbeFailed(f"login form: HTTP {form.status_code}")
        resp = http.post(f"{base}/login", timeout=timeout_s, allow_redirects=False,
                         data={"address": address, "password": password,
                               "csrf_token": token.group(1)})
        if resp.status_code == 200 and "/login/take-over" in resp.text:
            pending = re.search(r'name="pending" value="([^"]+)"', resp.text)
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', resp.text)
            if pending is None or csrf is None:
                raise ProbeFailed("take-over form without its fields")
            resp = http.post(f"{base}/login/take-over", timeout=timeout_s,
                             allow_redirects=False,
                             data={"pending": pending.group(1), "csrf_token": csrf.group(1)})
        if resp.status_code != 302 or "/login" in resp.headers.get("Location", "/login"):
            raise ProbeFailed(f"login refused: HTTP {resp.status_code}")
        page = http.get(base + resp.headers["Location"], timeout=timeout_s)
        if page.status_code != 200:
            raise ProbeFailed(f"landing page: HTTP {page.status_code}")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        if csrf is not None:
            http.post(f"{base}/logout", data={"csrf_token": csrf.group(1)},
                      timeout=timeout_s, allow_redirects=False)
    return "logged in and out"


def controlplane_alive(settings: Settings) -> str:
    import redis

    from controlplane.bus import HEARTBEAT_KEY

    client = redis.Redis.from_url(settings.redis_url_for("web"), socket_timeout=2.0)
    try:
        raw = client.get(HEARTBEAT_KEY)
    finally:
        client.close()
    if raw is None:
        raise ProbeFailed("no control plane heartbeat")
    beat = json.loads(raw)
    age = time.time() - float(beat.get("at", 0))
    if age > HEARTBEAT_STALE_S:
        raise ProbeFailed(f"control plane heartbeat {age:.1f} s old")
    if not beat.get("ari"):
        raise ProbeFailed(f"control plane pid {beat.get('pid')} not connected to ARI")
    return f"control plane pid {beat.get('pid')}"


PROBES = (
    Probe("panel_login", ("login",), 10.0, panel_login),
    Probe("controlplane", CONTROLPLANE_FUNCTIONS, 3.0, controlplane_alive),
)

CALL_TIMEOUT_S = 14.0  # answer (≤ 6 s) + 2 s held + the recording closed


AGENT_TIMEOUT_S = 25.0  # log out and in (≤ 12 s), then a queue call of 7 s, recording closed


def call_probes() -> tuple[Probe, ...]:
    from controlplane.sla import probe_agent, probe_calls

    calls = (Probe("inbound_call", ("inbound_call",), CALL_TIMEOUT_S, probe_calls.inbound_call),
             Probe("ivr", ("ivr",), CALL_TIMEOUT_S, probe_calls.ivr),
             Probe("outbound_call", ("outbound_call",), CALL_TIMEOUT_S,
                   probe_calls.outbound_call))
    if os.environ.get("CENTRALA_SLA_AGENT_PROBES", "") == "0":  # tests with short rounds
        return calls
    return (*calls,
            Probe("agent_ready", ("agent_ready",), AGENT_TIMEOUT_S, probe_agent.agent_ready),
            Probe("queue_routing", ("queue_routing",), AGENT_TIMEOUT_S,
                  probe_agent.queue_routing))


def probes_for(settings: Settings, base: tuple[Probe, ...] = PROBES) -> tuple[Probe, ...]:
    """The probes this platform runs: ``base``, and the call probes where a lab runs."""
    from controlplane.sla import probe_calls

    return base + call_probes() if probe_calls.enabled(settings) else base
