"""The interaction card as one JSON document, shared by the API and the SSE stream.

:class:`Card` holds what stays the same during one connection (the user, their phones,
the tenant's region, dispositions, screen pop, the user's row and the tenant's break
labels, re-read when a reason the card does not know shows up) and caches the database
part of the current call by call id (:func:`controlplane.desktop.interaction.details`), so
the stream reads only Redis on each event while the agent has no call, and the database
part of a call again at most every :data:`DETAILS_TTL_S`. When the tenant tells its agents
they are supervised, one more small query per build while a call is up: who supervises it.
One more small query per build: the e-mail (ticket) offers waiting for the agent and the
tickets the ACD gave them (:func:`controlplane.desk.routing.mine`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane.acd.http.board import agent_row, break_labels
from controlplane.calls.http.records import own_endpoints
from controlplane.contacts import store as contacts
from controlplane.desk import routing
from controlplane.desktop import interaction, screen_pop
from controlplane.desktop.wrapup import tenant_dispositions
from controlplane.models import Role, User
from controlplane.models.acd import Queue
from controlplane.models.desktop import DesktopSettings
from controlplane.models.supervision import SupervisionSession
from web.auth import CurrentUser


def settings_of(s: Session, tenant_id: int) -> DesktopSettings | None:
    return s.get(DesktopSettings, tenant_id)


# The database part of a call is re-read at most this often while events arrive: a contact
# created, a wrap-up saved or the call record's queue written during the call shows up.
DETAILS_TTL_S = 5.0


@dataclass
class Card:
    user: CurrentUser
    endpoints: list[str]
    region: str
    dispositions: list[dict[str, str]]
    pop_template: str | None
    pop_mode: str
    supervision_notice: bool = False
    queues: list[dict[str, object]] = field(default_factory=list)  # transfer targets
    agents: list[dict[str, object]] = field(default_factory=list)  # the same, the colleagues
    me: User | None = None  # the user's row as loaded (name, login), detached
    labels: dict[str, str] = field(default_factory=dict)  # break reason code → label
    _details: dict[str, dict[str, Any]] = field(default_factory=dict)
    _read_at: float = 0.0
    _asked: set[str] = field(default_factory=set)  # unknown reasons the labels were re-read for

    @staticmethod
    def load(s: Session, user: CurrentUser) -> Card:
        st = settings_of(s, user.tenant_id)
        return Card(
            user=user, endpoints=own_endpoints(s, user),
            region=contacts.region(s, user.tenant_id),
            dispositions=[{"code": d.code, "label": d.label or d.code}
                          for d in tenant_dispositions(s, user.tenant_id)],
            pop_template=st.screen_pop_url if st else None,
            pop_mode=st.screen_pop_mode if st else "tab",
            supervision_notice=bool(st and st.supervision_notice),
            queues=[{"id": qid, "name": name} for qid, name in s.execute(
                select(Queue.id, Queue.name).where(Queue.tenant_id == user.tenant_id)
                .order_by(Queue.name))],
            agents=[{"id": uid, "name": name or login} for uid, name, login in s.execute(
                select(User.id, User.display_name, User.login).where(
                    User.tenant_id == user.tenant_id, User.active, User.id != user.id,
                    User.role == Role.AGENT).order_by(User.display_name, User.login))],
            me=s.get(User, user.id), labels=break_labels(s, user.tenant_id))

    def forget(self, call_id: str) -> None:
        self._details.pop(call_id, None)

    def build(self, client: redis.Redis, s: Session, now: datetime) -> dict[str, Any]:
        me = self.me or s.get(User, self.user.id)
        assert me is not None  # login_required loaded it
        row = agent_row(client, s, self.user.tenant_id, me, self.labels)
        if row.reason and row.reason not in self.labels and row.reason not in self._asked:
            self._asked.add(row.reason)  # a reason added since the load: read once
            self.labels = break_labels(s, self.user.tenant_id)
            row = agent_row(client, s, self.user.tenant_id, me, self.labels)
        agent = row.to_json()
        call = interaction.own_call(client, self.user.tenant_id, self.endpoints)
        out: dict[str, Any] = {"agent": agent, "call": None, "dispositions": self.dispositions,
                               "screen_pop_mode": self.pop_mode, "queues": self.queues,
                               "agents": self.agents,
                               "tickets": routing.mine(s, self.user.tenant_id, self.user.id, now)}
        if call is None:
            self._details.clear()
            return out
        stale = time.monotonic() - self._read_at > DETAILS_TTL_S
        if call.call_id not in self._details or stale:
            self._details = {call.call_id: interaction.details(
                s, self.user.tenant_id, call, self.region)}
            self._read_at = time.monotonic()
        part = {**interaction.live_part(call, self.region, now), **self._details[call.call_id],
                "ivr_variables": interaction.ivr_variables(client, call.call_id)}
        campaign = part.get("campaign")
        if campaign is not None:  # a campaign call is disposed with the campaign's codes
            out["dispositions"] = campaign.get("dispositions", self.dispositions)
        part["screen_pop_url"] = (screen_pop.fill(
            self.pop_template, number=part["number"], call_id=call.call_id,
            queue=part.get("queue")) if self.pop_template else None)
        if self.supervision_notice:  # read on every build: a session starts at any moment
            part["supervised"] = supervised(s, self.user.tenant_id, call.call_id)
        out["call"] = part
        return out


def supervised(s: Session, tenant_id: int, call_id: str) -> dict[str, str] | None:
    """Who supervises the call now and how (a connected session), for the agent's notice."""
    row = s.execute(select(SupervisionSession.mode, User.display_name, User.login)
                    .outerjoin(User, User.id == SupervisionSession.supervisor_id)
                    .where(SupervisionSession.tenant_id == tenant_id,
                           SupervisionSession.call_id == call_id,
                           SupervisionSession.state == "active")
                    .order_by(SupervisionSession.id.desc()).limit(1)).first()
    if row is None:
        return None
    mode, name, login = row
    return {"mode": mode, "by": name or login or ""}


def stable(doc: dict[str, Any]) -> dict[str, Any]:
    """The document without what changes by itself (the wait while ringing, an e-mail
    offer's seconds left): what the stream compares to decide whether to send."""
    tickets = doc.get("tickets")
    if tickets and tickets.get("offers"):
        doc = {**doc, "tickets": {**tickets, "offers": [
            {k: v for k, v in o.items() if k != "seconds_left"} for o in tickets["offers"]]}}
    call = doc.get("call")
    if call is None or call.get("answered_at"):
        return doc
    return {**doc, "call": {k: v for k, v in call.items() if k != "wait_s"}}


