"""The demo tenant seeded on first start: users, agent phones, a lab trunk and DIDs.

Idempotent: an existing demo tenant is left as it is, except that a lab trunk still
pointing at 127.0.0.1 (before the lab carrier had its own address) is moved to
``lab_carrier_address``. The demo admin's password
is generated on first seed and written to ``<runtime>/demo-login.txt`` (0600)
so ``make up`` can print it; it is never logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import transaction
from controlplane.models import Did, PhoneEndpoint, Role, Tenant, Trunk, User
from controlplane.passwords import generate_password, generate_sip_secret, hash_password

DEMO_DOMAIN = "demo.centrala.local"
# Desk phones the lab registers (eight, so queue tests and benchmarks have agents to spare),
# plus one for baresip.
DEMO_PHONES = ("1001", "1002", "1003", "1004", "1005", "1006", "1007", "1008", "1009")
DEMO_DIDS = {"48221000001": "1001", "48221000002": "1002", "48221000003": "1003",
             "48221000009": "1009"}
LAB_TRUNK = "lab-carrier"


@dataclass(frozen=True)
class DemoLogin:
    address: str
    password: str


def seed_demo(factory: sessionmaker[Session], runtime_dir: Path, lab_sip_port: int,
              lab_carrier_address: str = "127.0.0.2") -> DemoLogin:
    login_file = runtime_dir / "demo-login.txt"
    with transaction(factory) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == DEMO_DOMAIN))
        if tenant is not None:
            _move_lab_trunk(s, tenant.id, lab_sip_port, lab_carrier_address)
        if tenant is not None and login_file.exists():
            address, password = login_file.read_text().split()
            return DemoLogin(address, password)
        if tenant is None:
            tenant = Tenant(domain=DEMO_DOMAIN, name="Demo contact center", licences=20)
            s.add(tenant)
            s.flush()
            trunk = Trunk(tenant_id=tenant.id, name=LAB_TRUNK, host=lab_carrier_address,
                          port=lab_sip_port, username="centrala-demo",
                          secret=generate_sip_secret(), register=True)
            s.add(trunk)
            phones = {}
            for ext in DEMO_PHONES:
                phone = PhoneEndpoint(tenant_id=tenant.id, name=f"demo-{ext}", extension=ext,
                                      secret=generate_sip_secret())
                s.add(phone)
                phones[ext] = phone
            s.flush()
            for number, ext in DEMO_DIDS.items():
                s.add(Did(tenant_id=tenant.id, number=number, trunk_id=trunk.id,
                          phone_endpoint_id=phones[ext].id))
            for login, role in (("supervisor", Role.SUPERVISOR), ("agent1", Role.AGENT)):
                s.add(User(tenant_id=tenant.id, login=login, role=role,
                           display_name=login.title(), password_hash=hash_password(generate_password())))
        password = generate_password()
        admin = s.scalar(select(User).where(User.tenant_id == tenant.id, User.login == "admin"))
        if admin is None:
            admin = User(tenant_id=tenant.id, login="admin", role=Role.ADMIN,
                         display_name="Administrator", password_hash="")
            s.add(admin)
        admin.password_hash = hash_password(password)
    login = DemoLogin(f"admin@{DEMO_DOMAIN}", password)
    runtime_dir.mkdir(parents=True, exist_ok=True)
    login_file.write_text(f"{login.address} {login.password}\n")
    login_file.chmod(0o600)
    return login


def _move_lab_trunk(s: Session, tenant_id: int, lab_sip_port: int, address: str) -> None:
    """Point an older demo database's lab trunk at the carrier's own address.

    Trunk calls are identified by source address; a trunk left on 127.0.0.1 would share it
    with the lab's desk phones, and the lab would no longer render a carrier for it.
    """
    trunk = s.scalar(select(Trunk).where(Trunk.tenant_id == tenant_id, Trunk.name == LAB_TRUNK))
    if (trunk is not None and trunk.port == lab_sip_port and trunk.host != address
            and trunk.host in ("127.0.0.1", "localhost")):
        trunk.host = address


def seed_probes(factory: sessionmaker[Session], runtime_dir: Path) -> None:
    """The SLA probes' own tenant and panel user (:mod:`controlplane.sla.probes`): a tenant
    of its own keeps the probes out of every customer's users, calls and statistics. Its
    password is regenerated when its file is missing (``<runtime>/sla-probe-login.txt``).
    Seeded by the prober when it starts (:func:`controlplane.sla.prober.run`): only a platform
    that runs the probes has them, and the demo tenant, seeded first, keeps the first id."""
    from controlplane.sla.probes import LOGIN_FILE, PROBE_DOMAIN, PROBE_LOGIN

    path = runtime_dir / LOGIN_FILE
    with transaction(factory) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == PROBE_DOMAIN))
        if tenant is None:
            tenant = Tenant(domain=PROBE_DOMAIN, name="SLA probes", licences=1)
            s.add(tenant)
            s.flush()
        user = s.scalar(select(User).where(User.tenant_id == tenant.id,
                                           User.login == PROBE_LOGIN))
        if user is not None and path.exists():
            return
        if user is None:
            user = User(tenant_id=tenant.id, login=PROBE_LOGIN, role=Role.AGENT,
                        display_name="SLA probe", password_hash="")
            s.add(user)
        secret = generate_password()
        user.password_hash = hash_password(secret)
    runtime_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{PROBE_LOGIN}@{PROBE_DOMAIN} {secret}\n")
    path.chmod(0o600)


def seed_probe_lines(factory: sessionmaker[Session], lab_sip_port: int, prompt_sound: str) -> bool:
    """The call probes' telephony in the probe tenant (:mod:`controlplane.sla.probe_calls`):
    a trunk to the lab carrier at an address of its own (trunk calls are identified by
    source address, so the probe calls land in the probe tenant and never in a customer's
    records), a DID answered by a published IVR flow that plays ``prompt_sound`` (an Asterisk
    sound name) and hangs
    up, and a desk phone the lab registers. Returns whether anything was added (the caller
    then renders Asterisk and the lab)."""
    from controlplane.ivr import store as flows
    from controlplane.models.ivr import IvrFlow
    from controlplane.sla.probe_calls import (
        PROBE_ACCOUNT,
        PROBE_CARRIER_ADDRESS,
        PROBE_DID,
        PROBE_FLOW,
        PROBE_PHONE,
        PROBE_TRUNK,
    )
    from controlplane.sla.probes import PROBE_DOMAIN

    with transaction(factory) as s:
        tenant = s.scalar(select(Tenant).where(Tenant.domain == PROBE_DOMAIN))
        if tenant is None:
            raise RuntimeError("seed_probes first: no probe tenant")
        added = False
        trunk = s.scalar(select(Trunk).where(Trunk.name == PROBE_TRUNK))
        if trunk is None:
            trunk = Trunk(tenant_id=tenant.id, name=PROBE_TRUNK, host=PROBE_CARRIER_ADDRESS,
                          port=lab_sip_port, username=PROBE_ACCOUNT,
                          secret=generate_sip_secret(), register=True)
            s.add(trunk)
            s.flush()
            added = True
        flow = s.scalar(select(IvrFlow).where(IvrFlow.tenant_id == tenant.id,
                                              IvrFlow.name == PROBE_FLOW))
        if flow is None:  # a new version only when missing: the tests unpublish it on purpose
            version = flows.save_draft(s, tenant.id, PROBE_FLOW, {
                "format_version": 1, "id": PROBE_FLOW, "start": "prompt",
                "nodes": {"prompt": {"type": "play", "prompt": {"sound": prompt_sound},
                                     "next": "bye"},
                          "bye": {"type": "hangup"}}})
            flows.publish(s, version.flow_id, version.version)
            flow = s.get(IvrFlow, version.flow_id)
        did = s.scalar(select(Did).where(Did.number == PROBE_DID))
        if did is None:
            s.add(Did(tenant_id=tenant.id, number=PROBE_DID, trunk_id=trunk.id,
                      flow_id=flow.id if flow is not None else None))
            added = True
        phone = s.scalar(select(PhoneEndpoint).where(PhoneEndpoint.name == PROBE_PHONE))
        if phone is None:
            phone = PhoneEndpoint(tenant_id=tenant.id, name=PROBE_PHONE, extension="2001",
                                  secret=generate_sip_secret())
            s.add(phone)
            added = True
        _seed_probe_queue(s, tenant, trunk.id, phone)
    return added


def _seed_probe_queue(s: Session, tenant: Tenant, trunk_id: int, phone: PhoneEndpoint) -> None:
    """The probe agent (on the probe desk phone, a member of the probe queue) and the DID
    of that queue (:mod:`controlplane.sla.probe_agent`). The ACD loads them on first use."""
    from controlplane.models.acd import Queue, QueueMember
    from controlplane.sla.probe_agent import PROBE_AGENT, PROBE_QUEUE, PROBE_QUEUE_DID

    tenant.licences = max(tenant.licences, 2)  # the panel probe's user and the probe agent
    agent = s.scalar(select(User).where(User.tenant_id == tenant.id, User.login == PROBE_AGENT))
    if agent is None:
        agent = User(tenant_id=tenant.id, login=PROBE_AGENT, role=Role.AGENT,
                     display_name="SLA probe agent",
                     password_hash=hash_password(generate_password()))
        s.add(agent)
    s.flush()
    phone.user_id = agent.id
    queue = s.scalar(select(Queue).where(Queue.tenant_id == tenant.id, Queue.name == PROBE_QUEUE))
    if queue is None:
        # short rings, no wrap-up, no recording, no announcements: one short call a round
        queue = Queue(tenant_id=tenant.id, name=PROBE_QUEUE, ring_timeout_s=5.0, wrap_up_s=0.0,
                      recording="never", announce_every_s=None)
        s.add(queue)
        s.flush()
    if s.scalar(select(QueueMember).where(QueueMember.queue_id == queue.id,
                                          QueueMember.user_id == agent.id)) is None:
        s.add(QueueMember(queue_id=queue.id, user_id=agent.id))
    if s.scalar(select(Did).where(Did.number == PROBE_QUEUE_DID)) is None:
        s.add(Did(tenant_id=tenant.id, number=PROBE_QUEUE_DID, trunk_id=trunk_id,
                  queue_id=queue.id))
