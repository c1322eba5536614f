"""IVR flow storage: drafts, publishing and rollback of a tenant's flows (sessions passed in).

Theory of operation
-------------------
* Every save of a flow document is validated first (all errors at once, see
  :func:`ivr_flows.validator.validate`) and becomes version n+1 of the tenant's
  flow of that name, status ``draft``. Saving the very document that already is
  the newest version (same sha256) returns that version instead of a copy, so
  deploying the same file twice is harmless.
* :func:`publish` freezes a version and makes it the flow's current version:
  new calls get it. Published versions are immutable: :func:`update_draft`
  refuses them with :class:`PublishedVersionImmutable`.
* :func:`rollback` points the flow back at an earlier published version.
* What a NEW call on a DID gets is in :mod:`controlplane.ivr.did_store` (DID bindings);
  holiday calendars in :mod:`controlplane.ivr.calendar_store`. A call already in the
  IVR keeps the version object it started with (the call adapter holds it), so
  publishing or rolling back never changes a call in progress.
* Tenant isolation: every look-up by name or number is scoped by ``tenant_id``;
  a flow of one tenant can never be bound to another tenant's DID.

Functions flush but never commit: the caller owns the transaction.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from controlplane import audio_store
from controlplane.ivr.exceptions import FlowInvalid, FlowNotFound, PublishedVersionImmutable
from controlplane.ivr.exceptions import NotPublished as NotPublished
from controlplane.models.ivr import DRAFT, PUBLISHED, IvrFlow, IvrFlowVersion
from controlplane.tts import TtsMeter
from ivr_flows import json_text
from ivr_flows.model import Flow, parse_flow
from ivr_flows.tts import static_billable_chars
from ivr_flows.validator import FlowError, validate

MAX_NAME_LEN = 64


def now_utc() -> datetime:
    return datetime.now(UTC)


def document_text(document: Mapping[str, Any]) -> str:
    """The stored form of a document: JSON, keys in document order, UTF-8 kept readable."""
    return json.dumps(document, ensure_ascii=False, indent=2)


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_document(raw: str | bytes | Mapping[str, Any]) -> Any:
    """Parse JSON text (a mapping is returned as is); bad JSON raises :class:`FlowInvalid`."""
    if isinstance(raw, Mapping):
        return raw
    try:
        return json_text.loads(raw)
    except ValueError as err:  # JSONDecodeError (line and column), bad UTF-8, too deep
        raise FlowInvalid(
            [FlowError("", "json", f"not valid JSON: {err}", "fix the JSON syntax")]
        ) from err


def check_name(name: str) -> None:
    if not name or len(name) > MAX_NAME_LEN or name != name.strip() or "/" in name:
        raise FlowInvalid(
            [
                FlowError(
                    "",
                    "name",
                    f"invalid flow name {name!r}",
                    f"use 1-{MAX_NAME_LEN} characters, no '/' and no surrounding spaces",
                )
            ]
        )


# --- queries ------------------------------------------------------------------------


def list_flows(session: Session, tenant_id: int) -> list[IvrFlow]:
    """The tenant's flows by name."""
    return list(
        session.scalars(
            select(IvrFlow).where(IvrFlow.tenant_id == tenant_id).order_by(IvrFlow.name)
        )
    )


def flow_names(session: Session, tenant_id: int) -> set[str]:
    return set(session.scalars(select(IvrFlow.name).where(IvrFlow.tenant_id == tenant_id)))


def get_flow(session: Session, tenant_id: int, name: str) -> IvrFlow:
    """The tenant's flow called ``name``; :class:`FlowNotFound` otherwise."""
    flow = session.scalar(
        select(IvrFlow).where(IvrFlow.tenant_id == tenant_id, IvrFlow.name == name)
    )
    if flow is None:
        raise FlowNotFound(f"no IVR flow named {name!r}")
    return flow


def _flow(session: Session, flow_id: int, tenant_id: int | None) -> IvrFlow:
    flow = session.get(IvrFlow, flow_id)
    if flow is None or (tenant_id is not None and flow.tenant_id != tenant_id):
        raise FlowNotFound(f"no IVR flow with id {flow_id}")
    return flow


def versions(session: Session, flow_id: int) -> list[IvrFlowVersion]:
    """Every version of the flow, oldest first."""
    return list(
        session.scalars(
            select(IvrFlowVersion)
            .where(IvrFlowVersion.flow_id == flow_id)
            .order_by(IvrFlowVersion.version)
        )
    )


def get_version(
    session: Session, flow_id: int, version: int, *, tenant_id: int | None = None
) -> IvrFlowVersion:
    """Version number ``version`` of the flow; :class:`FlowNotFound` otherwise."""
    flow = _flow(session, flow_id, tenant_id)
    found = session.scalar(
        select(IvrFlowVersion).where(
            IvrFlowVersion.flow_id == flow_id, IvrFlowVersion.version == version
        )
    )
    if found is None:
        raise FlowNotFound(f"flow {flow.name!r} has no version {version}")
    return found


def parsed(version: IvrFlowVersion) -> Flow:
    """The version's document as a typed :class:`~ivr_flows.model.Flow` (cached by content)."""
    return _parse_cached(version.sha256, version.document)


def parse_stored(sha256: str, document: str) -> Flow:
    """A stored version's document (and its ``sha256``) as a typed flow, cached by content."""
    return _parse_cached(sha256, document)


@functools.lru_cache(maxsize=128)
def _parse_cached(sha256: str, document: str) -> Flow:
    # Keyed by the text itself too, so a (never expected) hash clash cannot mix flows up.
    return parse_flow(json.loads(document))


# --- changes ------------------------------------------------------------------------


def check_document(session: Session, tenant_id: int, name: str, document: Any) -> list[FlowError]:
    """Every error in ``document`` as a flow ``name`` of this tenant (its flows are known)."""
    known = flow_names(session, tenant_id) | {name}

    def audio_exists(kind: str, ref: str) -> bool:
        # Uploaded prompts must exist in this tenant; core sounds are not checked here.
        return kind != "audio" or audio_store.exists(session, tenant_id, ref)

    return validate(document, known_flows=known, known_queues=None, audio_exists=audio_exists)


def save_draft(
    session: Session,
    tenant_id: int,
    name: str | None,
    document: str | bytes | Mapping[str, Any],
    user_id: int | None = None,
    *,
    now: datetime | None = None,
) -> IvrFlowVersion:
    """Validate ``document`` and store it as the next draft version of flow ``name``.

    ``name`` None takes the document's ``id``. Raises :class:`FlowInvalid` with
    every error when the document is not valid; nothing is stored then.
    """
    doc = load_document(document)
    if name is None:
        name = doc.get("id") if isinstance(doc, dict) else None
        if not isinstance(name, str):
            raise FlowInvalid(
                [FlowError("/id", "name", "the document has no id to name the flow by", "add 'id'")]
            )
    check_name(name)
    errors = check_document(session, tenant_id, name, doc)
    if errors:
        raise FlowInvalid(errors)
    text = document_text(doc)
    digest = sha256_of(text)
    flow = session.scalar(
        select(IvrFlow).where(IvrFlow.tenant_id == tenant_id, IvrFlow.name == name)
    )
    if flow is None:
        flow = IvrFlow(tenant_id=tenant_id, name=name, created_at=now or now_utc())
        session.add(flow)
        session.flush()
    latest = session.scalar(
        select(IvrFlowVersion)
        .where(IvrFlowVersion.flow_id == flow.id)
        .order_by(IvrFlowVersion.version.desc())
        .limit(1)
    )
    if latest is not None and latest.sha256 == digest:
        return latest
    number = (latest.version if latest is not None else 0) + 1
    version = IvrFlowVersion(
        flow_id=flow.id,
        version=number,
        status=DRAFT,
        document=text,
        sha256=digest,
        created_at=now or now_utc(),
        created_by=user_id,
    )
    session.add(version)
    session.flush()
    return version


def update_draft(
    session: Session,
    flow_id: int,
    version: int,
    document: str | bytes | Mapping[str, Any],
    *,
    tenant_id: int | None = None,
) -> IvrFlowVersion:
    """Replace the document of a draft version; published versions raise an error."""
    row = get_version(session, flow_id, version, tenant_id=tenant_id)
    if row.status == PUBLISHED:
        raise PublishedVersionImmutable(
            f"version {version} is published and cannot be changed; save a new draft instead"
        )
    doc = load_document(document)
    errors = check_document(session, row.flow.tenant_id, row.flow.name, doc)
    if errors:
        raise FlowInvalid(errors)
    row.document = document_text(doc)
    row.sha256 = sha256_of(row.document)
    session.flush()
    return row


def publish(
    session: Session,
    flow_id: int,
    version: int,
    *,
    tenant_id: int | None = None,
    now: datetime | None = None,
) -> IvrFlowVersion:
    """Publish ``version`` and make it the version new calls get.

    The document is validated again (a sub-flow it uses may have gone since it
    was saved). The first publish of a version bills its static TTS prompts to
    the tenant (``ivr_flows.tts`` billing rule); publishing a version that is
    already published just makes it current again. ``tenant_id``, when given,
    must own the flow.
    """
    flow = _flow(session, flow_id, tenant_id)
    row = get_version(session, flow_id, version)
    if row.status != PUBLISHED:
        errors = check_document(session, flow.tenant_id, flow.name, json.loads(row.document))
        if errors:
            raise FlowInvalid(errors)
        row.status = PUBLISHED
        row.published_at = now or now_utc()
        TtsMeter().add(
            session, flow.tenant_id, static_billable_chars(parsed(row)), row.published_at
        )
    flow.current_version_id = row.id
    session.flush()
    return row


def rollback(
    session: Session, flow_id: int, version: int, *, tenant_id: int | None = None
) -> IvrFlowVersion:
    """Point the flow at an earlier published ``version`` (new calls get it from now on)."""
    flow = _flow(session, flow_id, tenant_id)
    row = get_version(session, flow_id, version)
    if row.status != PUBLISHED:
        raise NotPublished(
            f"version {version} was never published; publish it instead of rolling back to it"
        )
    flow.current_version_id = row.id
    session.flush()
    return row


def published_flow(session: Session, tenant_id: int, name: str) -> tuple[IvrFlowVersion, Flow] | None:
    """The tenant's flow ``name`` as new calls get it now (for sub-flows); None if unpublished."""
    try:
        flow = get_flow(session, tenant_id, name)
    except FlowNotFound:
        return None
    if flow.current_version_id is None:
        return None
    version = session.get(IvrFlowVersion, flow.current_version_id)
    if version is None or version.status != PUBLISHED:
        return None
    return version, parsed(version)
