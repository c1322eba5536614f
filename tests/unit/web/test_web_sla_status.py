"""``/sla/status`` and ``GET /api/v1/sla/status``: each function now and its last 24 hours.

Probe results, 5-minute rounds over the last 3 hours: the platform's control-plane probe
failing for the last 30 minutes (inbound calls down now), the acme tenant's own login probe
failing in the middle (not the Polish tenant's business), the platform's login probe
passing. The Polish admin sees the platform's outage in Polish, not acme's; acme's admin
sees both; the operator sees the platform's with the failure's reason, which tenants never
see; agents and supervisors are refused.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete

from controlplane.db import transaction
from controlplane.models.sla_probes import SlaProbeRun

from .test_web_sla_incidents import PW, operator  # noqa: F401 (a fixture)

REASON = "ProbeFailed: no control plane heartbeat"


@pytest.fixture
def probed(app, world, clock):  # type: ignore[no-untyped-def]
    now = clock.now
    factory = app.extensions["centrala"].sessions
    rows = []
    for step in range(36, -1, -1):  # every 5 min for 3 h, the last one now
        at = now - timedelta(minutes=5 * step)
        failing = step <= 6  # the last 30 min (and now)
        for function in ("inbound_call", "ivr"):
            rows.append(SlaProbeRun(probe="controlplane", function=function, tenant_id=None,
                                    started_at=at, ok=not failing, duration_ms=3,
                                    interval_s=300, detail=REASON if failing else "pid 1"))
        rows.append(SlaProbeRun(probe="panel_login", function="login", tenant_id=None,
                                started_at=at, ok=True, duration_ms=40, interval_s=300))
        rows.append(SlaProbeRun(probe="panel_login", function="login",
                                tenant_id=world.acme_tenant, started_at=at,
                                ok=not 20 <= step < 24, duration_ms=40, interval_s=300,
                                detail="acme's own"))
    with transaction(factory) as s:
        s.add_all(rows)
    yield now
    with transaction(factory) as s:
        s.execute(delete(SlaProbeRun))


def _by_function(body):  # type: ignore[no-untyped-def]
    return {f["function"]: f for f in body["functions"]}


def test_the_polish_admin_sees_the_platform_outage_not_another_tenants(
        login, client, probed) -> None:  # type: ignore[no-untyped-def]
    login("szef@polska.example")
    page = client.get("/sla/status")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Stan usług" in html and "Niedostępna" in html and "Działa" in html
    assert "Jeszcze nie mierzona" in html  # outbound calls etc.: no probe yet
    assert REASON not in html and "acme" not in html
    body = client.get("/api/v1/sla/status").get_json()
    assert body["tenant"] == "polska.example" and body["slot_minutes"] == 15
    fn = _by_function(body)
    assert fn["inbound_call"]["state"] == "down" and fn["inbound_call"]["detail"] == ""
    assert fn["inbound_call"]["down_seconds"] == 30 * 60
    assert fn["login"]["state"] == "up" and fn["login"]["down_seconds"] == 0
    assert fn["chat_routing"]["state"] == "unknown"
    history = fn["inbound_call"]["history"]
    assert len(history) == 96 and history[-1] == "down" and history[0] == "unknown"
    assert "up" in history and history.count("down") == 2  # the last half hour
    since = fn["inbound_call"]["since"]
    assert since is not None and since.startswith((probed - timedelta(minutes=30)).strftime(
        "%Y-%m-%dT%H:%M"))


def test_a_tenants_own_probe_counts_for_it(login, client, probed) -> None:  # type: ignore[no-untyped-def]
    login("boss@acme.example")
    fn = _by_function(client.get("/api/v1/sla/status").get_json())
    assert fn["login"]["state"] == "up" and fn["login"]["down_seconds"] == 20 * 60
    assert fn["inbound_call"]["state"] == "down"
    page = client.get("/sla/status").get_data(as_text=True)
    assert "Service status" in page and "Down" in page  # acme works in English


def test_the_operator_sees_the_platform_and_why(login, client, operator, probed) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    login(operator, PW)
    body = client.get("/api/v1/sla/status").get_json()
    assert body["tenant"] is None
    fn = _by_function(body)
    assert fn["inbound_call"]["detail"] == REASON
    assert fn["login"]["down_seconds"] == 0  # acme's own failure is not the platform's
    assert REASON in client.get("/sla/status").get_data(as_text=True)


@pytest.mark.parametrize("address", ["agentka@polska.example", "bob@acme.example"])
def test_agents_are_refused(login, client, address: str) -> None:  # type: ignore[no-untyped-def]
    login(address)
    assert client.get("/sla/status").status_code == 403
    assert client.get("/api/v1/sla/status").status_code == 403
