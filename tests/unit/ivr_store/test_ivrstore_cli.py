"""``ivr deploy``, ``ivr versions`` and ``ivr rollback`` against a real database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.config import load_settings
from controlplane.db import transaction
from controlplane.ivr import did_store
from controlplane.ivr import store as flow_store
from controlplane.models.acd import Queue
from controlplane.models.security import SecurityEvent
from controlplane.tts import EspeakEngine, cache_dir
from ivr_flows.cli import main
from ivr_flows.model import parse_flow
from ivr_flows.tts import static_prompts

EXAMPLES = Path(__file__).resolve().parents[3] / "ivr_flows" / "examples"


@pytest.fixture
def env(
    db_url: str,
    factory: sessionmaker[Session],
    tenants,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> sessionmaker[Session]:
    monkeypatch.setenv("CENTRALA_DATABASE_URL", db_url)
    monkeypatch.setenv("CENTRALA_RUNTIME_DIR", str(tmp_path / "runtime"))
    return factory


def test_deploy_publish_bind_versions_rollback(env, tenants, tmp_path: Path, capsys) -> None:
    with transaction(env) as s:  # the queues main_menu sends callers to (publish checks them)
        s.add_all([Queue(tenant_id=tenants.a, name=n) for n in ("sales", "support")])
    flow = tmp_path / "menu.json"
    doc = json.loads((EXAMPLES / "main_menu.json").read_text(encoding="utf-8"))
    flow.write_text(json.dumps(doc), encoding="utf-8")
    assert main(["deploy", str(flow), "--tenant", "a.example", "--publish"]) == 0
    prompts = static_prompts(parse_flow(doc))
    assert capsys.readouterr().out.splitlines() == [
        "main_menu version 1: published, current (new calls get it)",
        f"{len(prompts)} static TTS prompt(s) ready",
    ]
    engine = EspeakEngine(cache_dir(load_settings()))
    assert engine.cache_dir == tmp_path / "runtime" / "platform" / "sounds" / "tts"
    for text, voice in prompts:  # synthesised at deploy: the first caller does not wait
        assert engine.path_for(text, voice).with_suffix(".wav").is_file()
    doc["description"] = "v2"
    flow.write_text(json.dumps(doc), encoding="utf-8")
    args = ["deploy", str(flow), "--tenant", "A.example", "--publish", "--did", tenants.a_did]
    assert main(args) == 0
    assert "version 2: published" in capsys.readouterr().out
    with env() as s:
        found = did_store.flow_for_did(s, tenants.a_did)
        assert found is not None and found[0].version == 2

    assert main(["versions", "main_menu", "--tenant", "a.example"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["version", "status"]
    assert [line.split()[:3] for line in lines[1:]] == [
        ["1", "published", lines[1].split()[2]],
        ["*", "2", "published"],
    ]

    assert main(["rollback", "main_menu", "1", "--tenant", "a.example"]) == 0
    assert capsys.readouterr().out == "main_menu: version 1 is current (new calls get it)\n"
    with env() as s:
        found = did_store.flow_for_did(s, tenants.a_did)
        assert found is not None and found[0].version == 1

    assert main(["rollback", "main_menu", "7", "--tenant", "a.example"]) == 1
    assert "has no version 7" in capsys.readouterr().out


def test_deploy_prints_every_error_with_file_and_pointer(env, tmp_path: Path, capsys) -> None:
    doc = json.loads((EXAMPLES / "faq.json").read_text(encoding="utf-8"))
    doc["nodes"]["extra"] = {"type": "hangup"}
    doc["nodes"]["done"]["wat"] = 1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    assert main(["deploy", str(bad), "--tenant", "a.example"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{bad}#/nodes/done/wat: unknown property 'wat' "
        "(remove it; allowed: description, label, position, type)",
        f"{bad}#/nodes/extra: node 'extra' cannot be reached from start "
        "(link it from another node or delete it)",
    ]
    assert main(["versions", "faq", "--tenant", "a.example"]) == 1  # nothing was stored
    assert "no IVR flow named 'faq'" in capsys.readouterr().out


def test_deploy_refuses_other_tenants_did_and_unknown_tenant(
    env, tenants, tmp_path, capsys
) -> None:
    flow = tmp_path / "faq.json"
    flow.write_text((EXAMPLES / "faq.json").read_text(encoding="utf-8"), encoding="utf-8")
    args = ["deploy", str(flow), "--tenant", "a.example", "--did", tenants.b_did]
    assert main(args) == 1
    assert (
        f"no DID '{tenants.b_did}' in this tenant (nothing was changed)" in capsys.readouterr().out
    )
    with env() as s:  # the whole deploy was rolled back, draft included
        assert flow_store.list_flows(s, tenants.a) == []
    assert main(["deploy", str(flow), "--tenant", "nobody.example"]) == 1
    assert "no tenant with domain 'nobody.example'" in capsys.readouterr().out


def test_deploy_publish_refuses_a_missing_queue_like_the_panel(env, tenants, tmp_path: Path,
                                                               capsys) -> None:
    """``--publish`` runs the panel's cross-object check: a flow naming a queue the tenant
    does not have is not published (nor stored: the deploy is one transaction)."""
    flow = tmp_path / "menu.json"
    flow.write_text((EXAMPLES / "main_menu.json").read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["deploy", str(flow), "--tenant", "a.example", "--publish"]) == 1
    out = capsys.readouterr().out
    assert f"{flow}#/nodes/sales/queue: queue 'sales' does not exist" in out
    with env() as s:
        assert flow_store.list_flows(s, tenants.a) == []
    # Without --publish the draft is stored (drafts may name what does not exist yet), audited.
    assert main(["deploy", str(flow), "--tenant", "a.example"]) == 0
    assert "main_menu version 1: draft" in capsys.readouterr().out
    with env() as s:
        kinds = [e.kind for e in s.scalars(select(SecurityEvent).where(
            SecurityEvent.tenant_id == tenants.a))]
    assert kinds == ["ivr.flow.saved"]
