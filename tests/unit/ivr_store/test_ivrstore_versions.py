"""Flow store: drafts, version numbers, publishing, immutability, rollback, DIDs, tenants."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import transaction
from controlplane.ivr import did_store
from controlplane.ivr import exceptions as ivr_errors
from controlplane.ivr import store as flow_store
from controlplane.models import Did, IvrFlow, IvrFlowVersion
from controlplane.tts import TtsMeter
from ivr_flows.model import parse_flow
from ivr_flows.tts import static_billable_chars
from ivr_flows.validator import validate

EXAMPLES = Path(__file__).resolve().parents[3] / "ivr_flows" / "examples"
T1 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


def example(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return doc


def changed(doc: dict[str, Any], text: str) -> dict[str, Any]:
    """A copy of the FAQ flow whose first TTS prompt says ``text``."""
    out = copy.deepcopy(doc)
    out["description"] = text
    return out


def test_drafts_are_numbered_and_identical_saves_are_not_doubled(factory, tenants) -> None:
    doc = example("faq")
    with transaction(factory) as s:
        v1 = flow_store.save_draft(s, tenants.a, "faq", doc, tenants.a_user)
        v2 = flow_store.save_draft(s, tenants.a, "faq", changed(doc, "second"))
        again = flow_store.save_draft(s, tenants.a, "faq", json.dumps(changed(doc, "second")))
        other = flow_store.save_draft(s, tenants.a, None, example("main_menu"))  # named by its id
        assert (v1.version, v2.version, again.id, other.flow.name) == (1, 2, v2.id, "main_menu")
        assert v1.status == v2.status == "draft"
        assert v1.created_by == tenants.a_user and v2.created_by is None
        assert v1.sha256 != v2.sha256 and len(v1.sha256) == 64
        assert json.loads(v1.document) == doc
        flow = flow_store.get_flow(s, tenants.a, "faq")
        assert [v.version for v in flow_store.versions(s, flow.id)] == [1, 2]
        assert flow.current_version_id is None
        assert [f.name for f in flow_store.list_flows(s, tenants.a)] == ["faq", "main_menu"]
        assert flow_store.list_flows(s, tenants.b) == []


def test_publish_makes_current_and_published_versions_are_immutable(factory, tenants) -> None:
    doc = example("faq")
    with transaction(factory) as s:
        v1 = flow_store.save_draft(s, tenants.a, "faq", doc)
        flow_store.publish(s, v1.flow_id, 1, now=T1)
        assert (v1.status, v1.published_at) == ("published", T1)
        assert v1.flow.current_version_id == v1.id
        with pytest.raises(ivr_errors.PublishedVersionImmutable, match="published and cannot"):
            flow_store.update_draft(s, v1.flow_id, 1, changed(doc, "sneaky edit"))
        v2 = flow_store.save_draft(s, tenants.a, "faq", changed(doc, "draft 2"))
        flow_store.update_draft(s, v2.flow_id, 2, changed(doc, "draft 2, edited"))
        assert json.loads(v2.document)["description"] == "draft 2, edited"
    with factory() as s:
        stored = s.get(IvrFlowVersion, v1.id)
        assert stored is not None and json.loads(stored.document) == doc


def test_rollback_points_new_calls_at_an_earlier_version(factory, tenants) -> None:
    doc = example("faq")
    with transaction(factory) as s:
        v1 = flow_store.save_draft(s, tenants.a, "faq", doc)
        flow_id = v1.flow_id
        flow_store.publish(s, flow_id, 1)
        did_store.bind_did(s, tenants.a, tenants.a_did, "faq")
    with factory() as s:
        first_call = did_store.flow_for_did(s, tenants.a_did)
    assert first_call is not None and first_call[0].version == 1
    with transaction(factory) as s:
        flow_store.save_draft(s, tenants.a, "faq", changed(doc, "v2"))
        flow_store.publish(s, flow_id, 2)
        flow_store.save_draft(s, tenants.a, "faq", changed(doc, "v3"))  # a draft only
    with factory() as s:
        second_call = did_store.flow_for_did(s, tenants.a_did)
    assert second_call is not None and second_call[0].version == 2
    # The call that started on v1 still holds v1, untouched by the publish.
    assert first_call[0].version == 1 and json.loads(first_call[0].document) == doc
    with transaction(factory) as s:
        flow_store.rollback(s, flow_id, 1)
    with factory() as s:
        third_call = did_store.flow_for_did(s, tenants.a_did)
    assert third_call is not None and third_call[0].version == 1
    assert third_call[1].id == "faq" and third_call[1].start == parse_flow(doc).start
    with transaction(factory) as s:
        with pytest.raises(ivr_errors.NotPublished, match="never published"):
            flow_store.rollback(s, flow_id, 3)
        with pytest.raises(ivr_errors.FlowNotFound, match="no version 9"):
            flow_store.rollback(s, flow_id, 9)


def test_flow_for_did_none_until_bound_and_published(factory, tenants) -> None:
    with transaction(factory) as s:
        assert did_store.flow_for_did(s, tenants.a_did) is None  # no flow
        v1 = flow_store.save_draft(s, tenants.a, "faq", example("faq"))
        did_store.bind_did(s, tenants.a, tenants.a_did, "faq")
        assert did_store.flow_for_did(s, tenants.a_did) is None  # nothing published yet
        flow_store.publish(s, v1.flow_id, 1)
        found = did_store.flow_for_did(s, "+48 22 100 0001")  # numbers match after normalising
        assert found is not None and found[0].id == v1.id
        assert did_store.flow_for_did(s, "48221000002") is None  # another DID, unbound
        assert did_store.flow_for_did(s, "999") is None
        did_store.bind_did(s, tenants.a, tenants.a_did, None)
        assert did_store.flow_for_did(s, tenants.a_did) is None


def test_did_lookup_for_the_call_service(factory, tenants) -> None:
    lookup = did_store.did_lookup(factory)
    assert lookup(tenants.a_did) is None
    with transaction(factory) as s:
        v1 = flow_store.save_draft(s, tenants.a, "faq", example("faq"))
        flow_store.publish(s, v1.flow_id, 1)
        did_store.bind_did(s, tenants.a, tenants.a_did, "faq")
    found = lookup(tenants.a_did)
    assert found is not None and found[0] == str(v1.id) and found[1].id == "faq"


def test_invalid_document_is_refused_with_every_error(factory, tenants) -> None:
    doc = example("faq")
    doc["nodes"]["extra"] = {"type": "hangup"}  # unreachable
    doc["nodes"]["done"]["wat"] = 1  # unknown property
    doc["nodes"]["topics"]["timeout_s"] = -5  # below the minimum
    doc["nodes"]["billing"]["next"] = "missing"  # dangling reference
    expected = validate(doc, known_flows={"faq"})
    assert len(expected) >= 3
    with transaction(factory) as s:
        with pytest.raises(ivr_errors.FlowInvalid) as caught:
            flow_store.save_draft(s, tenants.a, "faq", doc)
        assert caught.value.errors == expected
        with pytest.raises(ivr_errors.FlowInvalid) as not_json:
            flow_store.save_draft(s, tenants.a, "faq", '{"format_version": 1,')
        assert not_json.value.errors[0].code == "json"
        with pytest.raises(ivr_errors.FlowInvalid, match="invalid flow name"):
            flow_store.save_draft(s, tenants.a, "a/b", example("faq"))
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(IvrFlow)) == 0


def test_tenant_isolation(factory, tenants) -> None:
    with transaction(factory) as s:
        a_flow = flow_store.save_draft(s, tenants.a, "main", example("faq"))
        b_flow = flow_store.save_draft(s, tenants.b, "main", example("faq"))  # same name, own flow
        assert a_flow.flow_id != b_flow.flow_id
        flow_store.publish(s, b_flow.flow_id, 1)
        with pytest.raises(ivr_errors.FlowNotFound):  # B's DID cannot be reached from A
            did_store.bind_did(s, tenants.a, tenants.b_did, "main")
        with pytest.raises(ivr_errors.FlowNotFound):  # nor can A publish B's flow
            flow_store.publish(s, b_flow.flow_id, 1, tenant_id=tenants.a)
        with pytest.raises(ivr_errors.FlowNotFound):
            flow_store.rollback(s, b_flow.flow_id, 1, tenant_id=tenants.a)
        with pytest.raises(ivr_errors.FlowNotFound):
            flow_store.get_version(s, b_flow.flow_id, 1, tenant_id=tenants.a)
        only_b = flow_store.save_draft(s, tenants.b, "b_only", example("faq"))
        with pytest.raises(ivr_errors.FlowNotFound):
            did_store.bind_did(s, tenants.a, tenants.a_did, only_b.flow.name)
        # A sub-flow may only name the tenant's own flows.
        caller = example("language_switch")
        sub = [n for n in caller["nodes"].values() if n["type"] == "subflow"]
        assert sub
        sub[0]["flow"] = "b_only"
        with pytest.raises(ivr_errors.FlowInvalid, match="b_only"):
            flow_store.save_draft(s, tenants.a, "caller", caller)
        # Even a binding forged in the database does not leak B's flow into A's calls.
        did = s.scalar(select(Did).where(Did.number == tenants.a_did))
        assert did is not None
        did.flow_id = b_flow.flow_id
        s.flush()
        assert did_store.flow_for_did(s, tenants.a_did) is None
        assert did_store.flow_for_did(s, tenants.b_did) is None  # B's DID is not bound


def test_first_publish_bills_static_tts_once(factory, tenants) -> None:
    doc = example("main_menu")
    chars = static_billable_chars(parse_flow(doc))
    assert chars > 0
    with transaction(factory) as s:
        v1 = flow_store.save_draft(s, tenants.a, "main_menu", doc)
        flow_store.publish(s, v1.flow_id, 1, now=T1)
        flow_store.publish(s, v1.flow_id, 1, now=T1)  # already published: no second bill
        assert TtsMeter().usage(s, tenants.a, "2026-11") == chars
        assert TtsMeter().usage(s, tenants.b, "2026-11") == 0


def test_migration_downgrades_and_upgrades_again(
    db_url: str, factory: sessionmaker[Session]
) -> None:
    from alembic import command

    from controlplane.migrate import alembic_config

    cfg = alembic_config(db_url)
    factory.kw["bind"].dispose()
    command.downgrade(cfg, "45e0f44f121e")
    command.upgrade(cfg, "heads")
    command.check(cfg)  # models and migrations agree
