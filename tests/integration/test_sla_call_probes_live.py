"""The call probes (issue 15, item 1): a round records ok for inbound_call, ivr and
outbound_call; the probe DID's flow unpublished (the platform then answers "no service"),
ivr reads down while the others stay up; the probe calls leave call records of the probe
tenant only. With the agent probes (longer rounds): agent_ready and queue_routing pass too,
every probe call in the live view is the probe tenant's, and the demo tenant's ACD view
(its wallboard) never holds the probe agent or queue.

The prober runs as its own process (``centrala sla prober``) every few seconds next to the
session's control plane and lab; it seeds the probe tenant's trunk (to the lab at
127.0.0.4), IVR flow, DIDs, desk phone, agent and queue, and applies them. Leaves the
platform as found: the prober stopped, its rows deleted, the probe lines removed and the
configuration re-applied (the probe agent and queue stay, unreachable without a phone/DID).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import redis
from helpers import until
from sqlalchemy import delete, select

from controlplane import stack
from controlplane.admin import apply
from controlplane.bus import ACD_KEY, LIVE_CALLS_KEY, LiveCall
from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models import CallRecord, Did, PhoneEndpoint, Tenant, Trunk, User
from controlplane.models.ivr import IvrFlow
from controlplane.models.sla import SlaIncident
from controlplane.models.sla_probes import SlaProbeRun
from controlplane.procs.programs import centrala
from controlplane.seed import DEMO_DOMAIN
from controlplane.sla.probe_agent import PROBE_AGENT, PROBE_QUEUE, PROBE_QUEUE_DID
from controlplane.sla.probe_calls import PROBE_DID, PROBE_FLOW, PROBE_PHONE, PROBE_TRUNK
from controlplane.sla.probes import PROBE_DOMAIN

pytestmark = pytest.mark.integration

EVERY_S = 6
CALLS = ("inbound_call", "ivr", "outbound_call")
AGENT = ("agent_ready", "queue_routing")
AGENT_EVERY_S = 20  # log out, log in, a 7 s queue call: a round takes ~12 s (more on a busy machine)


@pytest.fixture
def prober(platform, monkeypatch, request):  # type: ignore[no-untyped-def]
    settings = platform.settings
    every, agents = getattr(request, "param", (EVERY_S, False))
    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    started_web = stack.pid_alive(settings, "web") is None
    if started_web:  # the login probe needs a panel; not this test's subject
        stack.spawn(settings, "web", centrala("web"))
    stack.stop_process(settings, "prober")
    monkeypatch.setenv("CENTRALA_SLA_PROBE_INTERVAL_S", str(every))
    monkeypatch.setenv("CENTRALA_SLA_CALL_PROBES", "1")
    monkeypatch.setenv("CENTRALA_SLA_AGENT_PROBES", "1" if agents else "0")
    stack.spawn(settings, "prober", centrala("sla", "prober"))
    try:
        yield factory
    finally:
        stack.stop_process(settings, "prober")
        if started_web:
            stack.stop_process(settings, "web")
        with transaction(factory) as s:
            s.execute(delete(SlaProbeRun))
            s.execute(delete(SlaIncident).where(SlaIncident.source == "probe"))
            s.execute(delete(Did).where(Did.number.in_((PROBE_DID, PROBE_QUEUE_DID))))
            s.execute(delete(PhoneEndpoint).where(PhoneEndpoint.name == PROBE_PHONE))
            s.execute(delete(Trunk).where(Trunk.name == PROBE_TRUNK))
            flow = s.scalar(select(IvrFlow).where(IvrFlow.name == PROBE_FLOW))
            if flow is not None:
                flow.current_version_id = None
                s.flush()
                s.delete(flow)
        apply.apply(settings, factory)
        stack.prepare_lab(settings)
        engine.dispose()


def _latest(factory, after: datetime) -> dict[str, tuple[bool, str]]:  # type: ignore[no-untyped-def]
    """The newest result after ``after`` of each call and agent probe: (ok, detail). (The
    control plane's probe writes the same functions; each of these probes is named as its
    function.)"""
    out: dict[str, tuple[bool, str]] = {}
    with factory() as s:
        for run in s.scalars(select(SlaProbeRun).where(
                SlaProbeRun.function.in_(CALLS + AGENT), SlaProbeRun.probe == SlaProbeRun.function,
                SlaProbeRun.started_at > after)
                .order_by(SlaProbeRun.started_at)):
            out[run.function] = (run.ok, run.detail)
    return out


def _states(factory, after: datetime) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    return {f: ok for f, (ok, _) in _latest(factory, after).items() if f in CALLS}


def _until(factory, fn, timeout: float, what: str, seen: datetime) -> None:  # type: ignore[no-untyped-def]
    try:
        until(fn, timeout=timeout, what=what)
    except AssertionError as err:  # say what the probes saw
        raise AssertionError(f"{err}; results: {_latest(factory, seen)}") from None


def _publish(factory, version_id: int | None) -> int | None:  # type: ignore[no-untyped-def]
    """Make ``version_id`` the probe flow's current version (None: unpublished); the old one."""
    with transaction(factory) as s:
        flow = s.scalar(select(IvrFlow).where(IvrFlow.name == PROBE_FLOW))
        old, flow.current_version_id = flow.current_version_id, version_id
        return old


def test_call_probes_pass_then_an_unpublished_flow_reads_ivr_down(platform, prober) -> None:  # type: ignore[no-untyped-def]
    factory = prober
    start = datetime.now(UTC)
    # the first round seeds and applies the probe lines; the trunk registers meanwhile
    _until(factory, lambda: _states(factory, start) == dict.fromkeys(CALLS, True), timeout=45,
          what="inbound_call, ivr and outbound_call passing", seen=start)

    published = _publish(factory, None)  # the platform answers "no service" instead
    try:
        broken = datetime.now(UTC)
        _until(factory, lambda: _states(factory, broken) == {"inbound_call": True, "ivr": False,
                                                   "outbound_call": True},
              timeout=3 * EVERY_S + 10, what="ivr down, inbound and outbound up", seen=broken)
    finally:
        _publish(factory, published)
    fixed = datetime.now(UTC)
    _until(factory, lambda: _states(factory, fixed).get("ivr") is True, timeout=3 * EVERY_S + 10,
          what="ivr passing again", seen=fixed)

    with factory() as s:
        probe_tenant = s.scalar(select(Tenant.id).where(Tenant.domain == PROBE_DOMAIN))
        demo = s.scalar(select(Tenant.id).where(Tenant.domain == DEMO_DOMAIN))
        probe_calls = s.scalars(select(CallRecord).where(
            CallRecord.started_at > start,
            (CallRecord.did == PROBE_DID) | (CallRecord.agent_endpoint == PROBE_PHONE))).all()
        assert probe_calls, "the probe calls left no call record"
        assert {r.tenant_id for r in probe_calls} == {probe_tenant}
        assert not s.scalars(select(CallRecord).where(
            CallRecord.tenant_id == demo, CallRecord.started_at > start,
            (CallRecord.did == PROBE_DID) | (CallRecord.callee == PROBE_DID)
            | (CallRecord.agent_endpoint == PROBE_PHONE))).first()


@pytest.mark.parametrize("prober", [(AGENT_EVERY_S, True)], indirect=True)
def test_the_probe_agent_goes_ready_and_answers_the_probe_queue(platform, prober) -> None:  # type: ignore[no-untyped-def]
    factory = prober
    start = datetime.now(UTC)
    _until(factory, lambda: all(ok for ok, _ in _latest(factory, start).values())
           and len(_latest(factory, start)) == len(CALLS + AGENT),
           timeout=3 * AGENT_EVERY_S + 10, what="every call and agent probe passing",
           seen=start)
    print("round:", _latest(factory, start))

    # while the next rounds run: every probe call the live view shows is the probe tenant's,
    # and the demo tenant's ACD view (its wallboard's source) never holds the probe agent/queue
    client = redis.Redis.from_url(platform.settings.redis_url_for("admin"), decode_responses=True)
    with factory() as s:
        probe_tenant = s.scalar(select(Tenant.id).where(Tenant.domain == PROBE_DOMAIN))
        demo = s.scalar(select(Tenant.id).where(Tenant.domain == DEMO_DOMAIN))
        agent_id = s.scalar(select(User.id).where(User.tenant_id == probe_tenant,
                                                  User.login == PROBE_AGENT))
    seen: dict[str, LiveCall] = {}

    def probe_calls_live() -> bool:
        for raw in client.hvals(LIVE_CALLS_KEY):
            call = LiveCall.from_json(raw)
            if (call.did in (PROBE_DID, PROBE_QUEUE_DID) or call.agent_endpoint == PROBE_PHONE
                    or call.tenant_id == probe_tenant):
                seen[call.call_id] = call
        return len(seen) >= 2

    try:
        until(probe_calls_live, timeout=2 * AGENT_EVERY_S, interval=0.05,
              what="probe calls in the live view")
        assert {c.tenant_id for c in seen.values()} == {probe_tenant}, seen
        demo_view = client.hgetall(ACD_KEY.format(tenant=demo, part="agents"))
        assert str(agent_id) not in demo_view
        assert PROBE_QUEUE not in (client.get(ACD_KEY.format(tenant=demo, part="stats")) or "")
    finally:
        client.close()
