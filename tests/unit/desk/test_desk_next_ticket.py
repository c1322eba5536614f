""""Next ticket" (desk progressive): the oldest ticket of the highest priority waiting
unassigned in the agent's queues (or the inbox) becomes theirs; two agents taking at the
same time never get the same ticket (two threads, real SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import transaction
from controlplane.desk import service
from controlplane.desk.exceptions import NothingWaiting
from controlplane.desk.store import Viewer
from controlplane.models import Role, Tenant, User
from controlplane.models.acd import Queue, QueueMember
from controlplane.models.base import utcnow
from controlplane.models.desk import TicketEvent
from controlplane.models.tickets import Ticket


def _setup(factory: sessionmaker[Session], tickets: int) -> tuple[int, list[int], int]:
    """A tenant, two agents in one queue, ``tickets`` waiting in it, and one in another
    queue; returns (tenant, agent ids, other queue's ticket id)."""
    with transaction(factory) as s:
        t = Tenant(domain="desk.example", name="Desk")
        s.add(t)
        s.flush()
        agents = [User(tenant_id=t.id, login=f"a{i}", role=Role.AGENT, password_hash="")
                  for i in range(2)]
        mine, other = Queue(tenant_id=t.id, name="mine"), Queue(tenant_id=t.id, name="other")
        s.add_all([*agents, mine, other])
        s.flush()
        s.add_all([QueueMember(queue_id=mine.id, user_id=a.id) for a in agents])
        now = utcnow()
        for n in range(tickets):
            s.add(Ticket(tenant_id=t.id, number=n + 1, subject=f"t{n}", channel="email",
                         queue_id=mine.id, created_at=now - timedelta(minutes=tickets - n),
                         updated_at=now))
        far = Ticket(tenant_id=t.id, number=tickets + 1, subject="other", channel="email",
                     queue_id=other.id, created_at=now - timedelta(days=1), updated_at=now)
        s.add(far)
        s.flush()
        return t.id, [a.id for a in agents], far.id


def test_oldest_of_the_highest_priority_first(factory: sessionmaker[Session]) -> None:
    tenant, (a, _), far = _setup(factory, 3)
    with transaction(factory) as s:
        ids = list(s.scalars(select(Ticket.id).where(Ticket.tenant_id == tenant,
                                                     Ticket.id != far).order_by(Ticket.id)))
        s.get_one(Ticket, ids[2]).priority = "high"  # the newest, but high
    v = Viewer(tenant, a, "agent", "a0@desk.example", "A0")
    order = []
    for _ in range(3):
        with transaction(factory) as s:
            order.append(service.next_ticket(s, v).id)
    assert order == [ids[2], ids[0], ids[1]]
    with transaction(factory) as s, pytest.raises(NothingWaiting):
        service.next_ticket(s, v)  # the other queue's ticket is not theirs to take
    with factory() as s:
        t = s.get_one(Ticket, ids[0])
        assert (t.assignee_user_id, t.status) == (a, "open")
        assert s.scalar(select(TicketEvent.detail).where(TicketEvent.ticket_id == ids[0])) == {
            "old_name": "", "new_name": "A0", "next_ticket": True}
        assert s.get_one(Ticket, far).assignee_user_id is None


def test_two_agents_at_once_never_get_the_same_ticket(factory: sessionmaker[Session]) -> None:
    tenant, agents, _ = _setup(factory, 20)
    taken: dict[int, list[int]] = {a: [] for a in agents}
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def work(agent: int) -> None:
        v = Viewer(tenant, agent, "agent", f"{agent}@desk.example")
        start.wait()
        try:
            while True:
                try:
                    with transaction(factory) as s:
                        taken[agent].append(service.next_ticket(s, v).id)
                except NothingWaiting:
                    return
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(a,)) for a in agents]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors, errors
    every = taken[agents[0]] + taken[agents[1]]
    assert len(every) == 20 and len(set(every)) == 20  # all taken, none twice
    with factory() as s:
        for agent, ids in taken.items():
            assert {s.get_one(Ticket, i).assignee_user_id for i in ids} <= {agent}
