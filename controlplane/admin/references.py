"""Cross-object checks between IVR flows and the tenant's objects (issue 12 item 10).

Two rules, both on *published* flows (the current version of each flow: what new calls
get):

* publishing a flow that names a queue, a sub-flow or an uploaded prompt the tenant does
  not have is refused, each missing reference with its JSON pointer
  (:func:`publish_errors`; the flow validator's ``known_queues`` / ``known_flows`` /
  ``audio_exists`` checks, fed here with the tenant's objects: a sub-flow counts only when
  it is published, since a call can only enter a published one);
* a queue or an uploaded prompt a published flow uses cannot be deleted
  (:func:`refuse_if_used`: 409 ``in_use`` naming the flows); nor can a queue a DID routes
  straight to (:func:`refuse_if_did_routes_to`, naming the DIDs).

Drafts may name what does not exist yet (an admin builds the flow before its queue); the
check that matters is the one before callers reach it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane import audio_store
from controlplane.admin.exceptions import InUse
from controlplane.ivr import store as ivr_store
from controlplane.models import Did
from controlplane.models.acd import Queue
from controlplane.models.ivr import PUBLISHED, IvrFlow, IvrFlowVersion
from ivr_flows.errors import FlowError
from ivr_flows.model import CallbackNode, Flow, PromptItem, QueueNode, SubflowNode
from ivr_flows.validator import validate


def _published(session: Session, tenant_id: int) -> list[tuple[str, Flow]]:
    """(name, parsed flow) of each of the tenant's flows that has a published current version."""
    rows = session.execute(
        select(IvrFlow.name, IvrFlowVersion)
        .join(IvrFlowVersion, IvrFlowVersion.id == IvrFlow.current_version_id)
        .where(IvrFlow.tenant_id == tenant_id, IvrFlowVersion.status == PUBLISHED)
        .order_by(IvrFlow.name))
    return [(name, ivr_store.parsed(version)) for name, version in rows]


def publish_errors(session: Session, tenant_id: int, name: str, document: Any) -> list[FlowError]:
    """Every reference in ``document`` (flow ``name``) to a queue, published sub-flow or
    uploaded prompt the tenant does not have, with its JSON pointer."""
    queues = set(session.scalars(select(Queue.name).where(Queue.tenant_id == tenant_id)))
    flows = {n for n, _ in _published(session, tenant_id)} | {name}

    def audio_exists(kind: str, ref: str) -> bool:
        return kind != "audio" or audio_store.exists(session, tenant_id, ref)

    return validate(document, known_flows=flows, known_queues=queues, audio_exists=audio_exists)


def _prompts(flow: Flow) -> set[str]:
    """Uploaded-audio ids a flow plays."""
    out: set[str] = set()
    for node in flow.nodes.values():
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            if isinstance(value, tuple):
                out |= {p.value for p in value if isinstance(p, PromptItem) and p.kind == "audio"}
    return out


def flows_using(session: Session, tenant_id: int, *, queue: str | None = None,
                audio: str | None = None, flow: str | None = None) -> list[str]:
    """Names of the tenant's published flows that use ``queue``, ``audio`` or sub-flow ``flow``."""
    users = []
    for name, parsed in _published(session, tenant_id):
        nodes = parsed.nodes.values()
        if (queue is not None and any(isinstance(n, QueueNode | CallbackNode) and n.queue == queue
                                      for n in nodes)) \
                or (audio is not None and audio in _prompts(parsed)) \
                or (flow is not None and name != flow and any(
                    isinstance(n, SubflowNode) and n.flow == flow for n in nodes)):
            users.append(name)
    return users


def refuse_if_used(session: Session, tenant_id: int, what: str, name: str) -> None:
    """InUse (409) when a published flow uses queue/audio/flow ``name``; ``what`` says which."""
    used = flows_using(session, tenant_id, **{what: name})
    if used:
        noun = {"queue": "queue", "audio": "prompt", "flow": "flow"}[what]
        raise InUse(f"{noun} {name!r} is used by the published IVR flow(s) {', '.join(used)}: "
                    "publish versions without it first", [f"IVR flow {n}" for n in used])


def refuse_if_did_routes_to(session: Session, tenant_id: int, queue_id: int, name: str) -> None:
    """InUse (409) when one of the tenant's DIDs routes straight to queue ``queue_id``
    (its callers would meet nothing); route those DIDs elsewhere first."""
    numbers = list(session.scalars(select(Did.number).where(
        Did.tenant_id == tenant_id, Did.queue_id == queue_id).order_by(Did.number)))
    if numbers:
        raise InUse(f"queue {name!r} is the target of DID {', '.join(numbers)}: route "
                    "those elsewhere first", [f"DID {n}" for n in numbers])
