"""Webhooks on a real call: a lab caller dials a DID, the call is answered, recorded and hung
up; the daemon's dispatcher (running in the control plane) fans the call events written with
the call record out and queues them; a real RQ worker POSTs them to a real HTTP receiver,
which verifies the signature of ``call.started``, ``call.answered`` and ``call.ended``."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator

import pytest
from helpers import until
from labtools import CALLER_TONE, ended_record, unique_caller
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import delete, select
from webhook_receiver import Receiver

from controlplane.db import make_engine, make_sessionmaker, transaction
from controlplane.models import Tenant
from controlplane.models.webhooks import WebhookSubscription
from controlplane.seed import DEMO_DOMAIN
from controlplane.webhooks import store
from dialplan import labcall

pytestmark = pytest.mark.integration


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def _verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    ts, sig = headers["Centrala-Timestamp"], headers["Centrala-Signature"]
    mac = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(sig, "v1=" + mac) and abs(time.time() - int(ts)) < 300


def test_a_real_call_reaches_a_receiver_as_signed_call_events(  # type: ignore[no-untyped-def]
        platform, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CENTRALA_WEBHOOKS_ALLOW_PRIVATE", "1")  # the worker below reads it
    engine = make_engine(platform.settings.database_url)
    factory = make_sessionmaker(engine)
    with transaction(factory) as s:
        tid = s.scalar(select(Tenant.id).where(Tenant.domain == DEMO_DOMAIN))
        assert tid is not None
        sub = store.create(s, tid, receiver.url, ["call.started", "call.answered", "call.ended"],
                           "integration", True)
        sub_id, secret = sub.id, sub.secret
    conn = Redis.from_url(platform.settings.redis_url_for("admin"))
    try:
        caller = unique_caller()
        labcall.call(platform.settings, labcall.CallSpec(
            did="48221000001", caller_id=caller, tone_hz=CALLER_TONE, hangup_after=5))
        row = ended_record(platform, caller)

        def mine() -> dict[str, dict]:  # type: ignore[type-arg]
            SimpleWorker([Queue("default", connection=conn)], connection=conn).work(burst=True)
            docs = [(json.loads(r.body), r) for r in receiver.requests]
            return {d["type"]: {"doc": d, "req": r} for d, r in docs
                    if d["data"].get("call_id") == row.call_id}

        got = until(lambda: (lambda m: m if "call.ended" in m and len(m) == 3 else None)(mine()),
                    timeout=30, what="call.started, call.answered and call.ended delivered")
        for kind, item in got.items():
            req = item["req"]
            assert _verify(secret, req.headers, req.body), kind
            assert req.headers["Centrala-Event-Id"] == item["doc"]["id"]
        ended = got["call.ended"]["doc"]
        assert ended["tenant"] == DEMO_DOMAIN
        assert ended["data"]["hangup_cause"] == row.hangup_cause
        assert ended["data"]["agent_endpoint"] == "demo-1001"
        assert ended["data"]["duration_s"] == pytest.approx(row.duration_s, abs=0.01)
    finally:
        conn.close()
        with transaction(factory) as s:
            s.execute(delete(WebhookSubscription).where(WebhookSubscription.id == sub_id))
        engine.dispose()
