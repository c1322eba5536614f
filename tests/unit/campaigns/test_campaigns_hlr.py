"""HLR checks of campaign numbers: the pure policy, the HTTP provider against a real local
HTTP server playing the provider, and the RQ jobs against the real database (SQLite and
PostgreSQL) and a real Redis, through an ``is_async=False`` queue and a ``SimpleWorker``."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from helpers import free_port
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.campaigns import hlr, store
from controlplane.cli import main
from controlplane.config import load_settings
from controlplane.db import transaction
from controlplane.jobs import hlr as hlr_job
from controlplane.models.campaigns import (
    Campaign,
    CampaignRecord,
    Contact,
    ContactPhone,
    HlrResult,
)

KEY = "sk-test-3f9c1d7e-never-log-me"
ACTIVE, INACTIVE, UNKNOWN, PORTED = "+48600100001", "+48600100002", "+48600100003", "+48600100009"
FIXED = "+48221000001"  # a Warsaw landline: not looked up
BUSY = "+48600100004"  # inactive, but its record is being dialled
STATUSES = {
    ACTIVE: "active",
    INACTIVE: "inactive",
    UNKNOWN: "unknown",
    PORTED: "active",
    BUSY: "inactive",
}
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


# --- the provider: a real HTTP server ------------------------------------------------------


class FakeProvider:
    """A real HTTP server on a free loopback port answering like an HLR provider;
    ``mode`` picks the answer: ok, http503, malformed, shape, bad_status, partial, slow,
    trickle, redirect."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[tuple[str | None, list[str]]] = []
        self.release = threading.Event()
        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        self.server.daemon_threads = True
        self.server.provider = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/hlr"

    def asked(self) -> list[str]:
        return [n for _, numbers in self.requests for n in numbers]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802  (http.server's name)
        p: FakeProvider = self.server.provider  # type: ignore[attr-defined]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        p.requests.append((self.headers.get("Authorization"), body["numbers"]))
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            return self._send(401, b'{"error": "bad key"}')
        results = [
            {
                "number": n,
                "status": STATUSES.get(n, "unknown"),
                "network": "Lab GSM",
                "ported": n == PORTED,
            }
            for n in body["numbers"]
        ]
        if p.mode == "ok":
            self._send(200, json.dumps({"results": results}).encode())
        elif p.mode == "partial":  # the first number only, plus one nobody asked about
            extra = {"number": "+48999999999", "status": "active"}
            self._send(200, json.dumps({"results": results[:1] + [extra]}).encode())
        elif p.mode == "bad_status":
            self._send(
                200, json.dumps({"results": [{**r, "status": "dead"} for r in results]}).encode()
            )
        elif p.mode == "http503":
            self._send(503, b"busy")
        elif p.mode == "malformed":
            self._send(200, b'{"results": [{"number": ')
        elif p.mode == "shape":
            self._send(200, b'{"answers": []}')
        elif p.mode == "redirect":
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{p.port}/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif p.mode == "slow":
            p.release.wait(10)
            self._send(200, json.dumps({"results": results}).encode())
        elif p.mode == "trickle":  # a byte every 0.1 s: each read is quick, the whole is not
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                while not p.release.wait(0.1):
                    self.wfile.write(b" ")
                    self.wfile.flush()
            except OSError:
                pass

    def _send(self, code: int, body: bytes) -> None:
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up (the timeout case)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    p = FakeProvider()
    yield p
    p.close()


# --- the pure policy -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "skip_uncertain", "expected"),
    [
        ("active", False, "dial"),
        ("active", True, "dial"),
        ("inactive", False, "skip"),
        ("inactive", True, "skip"),
        ("unknown", False, "dial"),
        ("unknown", True, "skip"),
        ("error", False, "dial"),
        ("error", True, "skip"),
    ],
)
def test_action_table(status: str, skip_uncertain: bool, expected: str) -> None:
    assert hlr.action(status, hlr.HlrPolicy(skip_uncertain=skip_uncertain)) == expected


def test_action_refuses_an_unknown_status() -> None:
    with pytest.raises(ValueError, match="unknown HLR status 'dead'"):
        hlr.action("dead", hlr.HlrPolicy())


DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ([], None),
        ([("active", T0 - 29 * DAY)], "active"),
        ([("active", T0 - 31 * DAY)], None),  # too old: ask again
        ([("inactive", T0 - 2 * DAY), ("active", T0 - 20 * DAY)], "inactive"),  # newest wins
        ([("error", T0 - timedelta(minutes=5)), ("active", T0 - 3 * DAY)], "active"),
        ([("error", T0 - timedelta(minutes=5))], "error"),  # an error stands for an hour
        ([("error", T0 - timedelta(minutes=61))], None),
        ([("unknown", T0 - DAY)], "unknown"),
    ],
)
def test_cached_status(history: list[tuple[str, datetime]], expected: str | None) -> None:
    assert hlr.cached_status(history, T0, hlr.HlrPolicy()) == expected


def test_only_mobile_numbers_are_checked_by_default() -> None:
    policy = hlr.HlrPolicy()
    assert [
        k for k in ("mobile", "fixed", "fixed_or_mobile", "voip") if hlr.should_check(k, policy)
    ] == ["mobile"]
    assert hlr.should_check("fixed_or_mobile", hlr.HlrPolicy(kinds=frozenset({"fixed_or_mobile"})))
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        hlr.HlrPolicy(batch_size=0)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"not json", "malformed JSON from the HLR provider"),
        (b"[1, 2]", 'has no "results" list'),
        (b'{"results": [7, {"number": ["+48600100001"]}, {"status": "active"}]}', "no result"),
        (
            b'{"results": [{"number": "+48600100001", "status": "gone"}]}',
            "results[0].status: 'gone' is not one of active, inactive, unknown",
        ),
        (
            b'{"results": [{"number": "+48600100002", "status": "active"}]}',
            "has no result for this number",
        ),
    ],
)
def test_parse_answer_turns_bad_replies_into_errors(body: bytes, detail: str) -> None:
    answer = hlr.parse_answer(["+48600100001"], body)["+48600100001"]
    assert answer.status == "error" and detail in answer.detail


def test_describe_and_settings_keep_the_key_out() -> None:
    assert hlr.HlrAnswer("active", "Orange", True).describe() == "network Orange; ported"
    assert hlr.HlrAnswer("error", detail="x" * 300).describe() == "x" * 200
    settings = load_settings(
        {"CENTRALA_HLR_URL": "https://hlr.example/v1", "CENTRALA_HLR_KEY": KEY}
    )
    assert settings.hlr_key == KEY and KEY not in repr(settings)
    provider = hlr.provider_from_settings(settings)
    assert provider.name == "http:hlr.example" and KEY not in repr(provider)
    with pytest.raises(hlr.HlrNotConfigured, match="set CENTRALA_HLR_URL"):
        hlr.provider_from_settings(load_settings({}))
    with pytest.raises(hlr.HlrNotConfigured, match="http:// or https://"):
        hlr.HttpHlrProvider("ftp://hlr.example", KEY)


# --- the HTTP provider against the real server -----------------------------------------------


def test_http_provider_answers(provider: FakeProvider) -> None:
    client = hlr.HttpHlrProvider(provider.url, KEY, timeout_s=5)
    answers = client.lookup([ACTIVE, INACTIVE, UNKNOWN, PORTED])
    assert {n: a.status for n, a in answers.items()} == {
        ACTIVE: "active",
        INACTIVE: "inactive",
        UNKNOWN: "unknown",
        PORTED: "active",
    }
    assert answers[PORTED] == hlr.HlrAnswer("active", "Lab GSM", True)
    assert provider.requests == [(f"Bearer {KEY}", [ACTIVE, INACTIVE, UNKNOWN, PORTED])]
    assert client.lookup([]) == {} and len(provider.requests) == 1  # nothing to ask


@pytest.mark.parametrize(
    ("mode", "detail"),
    [
        ("http503", "HTTP 503 from the HLR provider"),
        ("malformed", "malformed JSON from the HLR provider"),
        ("shape", 'has no "results" list'),
        ("bad_status", ".status: 'dead' is not one of active, inactive, unknown"),
        ("redirect", "HTTP 302 from the HLR provider"),  # not followed: the key stays home
        ("slow", "no reply from the HLR provider within 0.5 s"),
        ("trickle", "no reply from the HLR provider within 0.5 s"),
    ],
)
def test_http_provider_failures_are_error_answers(
    provider: FakeProvider, mode: str, detail: str
) -> None:
    provider.mode = mode
    client = hlr.HttpHlrProvider(provider.url, KEY, timeout_s=0.5)
    started = time.monotonic()
    answers = client.lookup([ACTIVE, INACTIVE])
    assert time.monotonic() - started < 3
    assert set(answers) == {ACTIVE, INACTIVE}
    for answer in answers.values():
        assert answer.status == "error" and detail in answer.detail, answer
    assert len(provider.requests) == 1  # the redirect was not followed


def test_http_provider_partial_answer_and_unreachable(provider: FakeProvider) -> None:
    provider.mode = "partial"
    answers = hlr.HttpHlrProvider(provider.url, KEY, timeout_s=2).lookup([ACTIVE, INACTIVE])
    assert set(answers) == {ACTIVE, INACTIVE}  # the unasked number is dropped
    assert answers[ACTIVE].status == "active"
    assert answers[INACTIVE].status == "error" and "no result" in answers[INACTIVE].detail
    wrong_key = hlr.HttpHlrProvider(provider.url, "wrong", timeout_s=2).lookup([ACTIVE])
    assert wrong_key[ACTIVE].detail == "HTTP 401 from the HLR provider"
    nobody = hlr.HttpHlrProvider(f"http://127.0.0.1:{free_port()}/", KEY, timeout_s=2)
    assert "cannot reach the HLR provider" in nobody.lookup([ACTIVE])[ACTIVE].detail


# --- the jobs against the database -----------------------------------------------------------


def _seed(factory: sessionmaker[Session], tenant: int, campaign_id: int) -> dict[str, int]:
    """A record per number in the campaign; BUSY's record is being dialled. Returns
    record ids by number."""
    ids: dict[str, int] = {}
    with transaction(factory) as s:
        campaign = s.get(Campaign, campaign_id)
        assert campaign is not None
        for number in (ACTIVE, INACTIVE, UNKNOWN, FIXED, BUSY):
            contact, phones, _ = store.add_contact(s, tenant, [number], "PL")
            record, _ = store.attach(s, campaign, contact, phones[0])
            ids[number] = record.id
        s.get_one(CampaignRecord, ids[BUSY]).state = "in_progress"
    return ids


def _records(factory: sessionmaker[Session]) -> dict[int, tuple[str, str | None, datetime]]:
    with factory() as s:
        return {
            r.id: (r.state, r.last_outcome, r.updated_at) for r in s.scalars(select(CampaignRecord))
        }


def _results(factory: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    with factory() as s:
        rows = s.execute(select(HlrResult.number, HlrResult.status, HlrResult.detail))
        return sorted((number, status, detail) for number, status, detail in rows)


@pytest.fixture
def env(
    db_url: str,
    redis_port: int,
    provider: FakeProvider,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> str:
    """The worker's environment: the test database, Redis and the fake provider."""
    monkeypatch.setenv("CENTRALA_DATABASE_URL", db_url)
    monkeypatch.setenv("CENTRALA_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("CENTRALA_REDIS_URL", f"redis://127.0.0.1:{redis_port}/0")
    monkeypatch.setenv("CENTRALA_HLR_URL", provider.url)
    monkeypatch.setenv("CENTRALA_HLR_KEY", KEY)
    monkeypatch.setenv("CENTRALA_HLR_TIMEOUT_S", "0.5")
    return db_url


EXPECTED = {
    "checked": 3,
    "cached": 0,
    "active": 1,
    "inactive": 1,
    "unknown": 1,
    "errors": 0,
    "ignored": 1,
    "closed": 1,
}


def test_check_campaign_job_on_a_real_queue_is_idempotent(  # type: ignore[no-untyped-def]
    env, factory, world, provider: FakeProvider, redis_port: int, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    ids = _seed(factory, world.a, world.campaign)
    before = _records(factory)
    with Redis(port=redis_port) as conn:
        queue = Queue(f"hlr-{uuid.uuid4().hex}", connection=conn, is_async=False)
        first = queue.enqueue(hlr_job.check_campaign, world.campaign)
        assert first.return_value() == EXPECTED
        after = _records(factory)
        # the mobiles of waiting records were asked, in one batch, with the key
        assert provider.requests == [(f"Bearer {KEY}", [ACTIVE, INACTIVE, UNKNOWN])]
        assert _results(factory) == [
            (ACTIVE, "active", "network Lab GSM; not ported"),
            (INACTIVE, "inactive", "network Lab GSM; not ported"),
            (UNKNOWN, "unknown", "network Lab GSM; not ported"),
        ]
        assert after[ids[INACTIVE]][:2] == ("closed", "skipped")
        for number in (ACTIVE, UNKNOWN, FIXED, BUSY):  # dialled as planned
            assert after[ids[number]] == before[ids[number]], number

        second = queue.enqueue(hlr_job.check_campaign, world.campaign)
        assert second.return_value() == {
            **EXPECTED,
            "checked": 0,
            "cached": 2,
            "inactive": 0,
            "closed": 0,
        }  # the closed record is no longer waiting
    assert len(provider.requests) == 1 and len(_results(factory)) == 3
    assert _records(factory) == after  # not even updated_at moved
    assert "HLR check of campaign" in caplog.text
    assert KEY not in caplog.text


@pytest.mark.parametrize("mode", ["slow", "malformed", "http503"])
def test_provider_failures_leave_records_for_dialling(  # type: ignore[no-untyped-def]
    env, factory, world, provider: FakeProvider, mode: str, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    ids = _seed(factory, world.a, world.campaign)
    before = _records(factory)
    provider.mode = mode
    counts = hlr_job.check_campaign(world.campaign)
    assert counts == {
        **EXPECTED,
        "active": 0,
        "inactive": 0,
        "unknown": 0,
        "errors": 3,
        "closed": 0,
    }
    assert [status for _, status, _ in _results(factory)] == ["error"] * 3
    assert _records(factory) == before  # unanswered numbers are dialled as planned
    assert "3 of 3 numbers unanswered" in caplog.text and KEY not in caplog.text

    # within the hour the error stands (no second request); --skip-uncertain closes them
    provider.mode = "ok"
    counts = hlr_job.check_campaign(world.campaign, skip_uncertain=True)
    assert (counts["checked"], counts["cached"], counts["closed"]) == (0, 3, 3)
    assert len(provider.requests) == 1
    assert {
        n
        for n in (ACTIVE, INACTIVE, UNKNOWN)
        if _records(factory)[ids[n]][:2] == ("closed", "skipped")
    } == {ACTIVE, INACTIVE, UNKNOWN}


def test_stale_answers_and_errors_are_asked_again(  # type: ignore[no-untyped-def]
    factory, world, provider: FakeProvider
) -> None:
    ids = _seed(factory, world.a, world.campaign)
    with transaction(factory) as s:
        s.add_all(
            [
                HlrResult(
                    tenant_id=world.a,
                    number=ACTIVE,
                    status="inactive",
                    provider="old",
                    checked_at=T0 - 31 * DAY,
                ),  # too old to trust
                HlrResult(
                    tenant_id=world.a,
                    number=INACTIVE,
                    status="error",
                    provider="old",
                    checked_at=T0 - 2 * timedelta(hours=1),
                ),  # retry due
                HlrResult(
                    tenant_id=world.a,
                    number=UNKNOWN,
                    status="active",
                    provider="old",
                    checked_at=T0 - 29 * DAY,
                ),  # still fresh
                HlrResult(
                    tenant_id=world.b,
                    number=INACTIVE,
                    status="active",
                    provider="old",
                    checked_at=T0,
                ),  # another tenant's answer is not used
            ]
        )
    client = hlr.HttpHlrProvider(provider.url, KEY, timeout_s=2)
    policy = hlr.HlrPolicy(batch_size=1)
    with factory() as s:
        phones = hlr_job._phones(s, ContactPhone.tenant_id == world.a)
    counts = hlr_job.run_check(
        factory, client, world.a, phones, CampaignRecord.campaign_id == world.campaign, policy, T0
    )
    assert provider.asked() == [ACTIVE, INACTIVE, BUSY]  # one per batch; BUSY is a phone too
    assert (counts["checked"], counts["cached"], counts["active"]) == (3, 1, 2)
    records = _records(factory)
    assert records[ids[ACTIVE]][0] == "fresh" and records[ids[INACTIVE]][0] == "closed"
    assert records[ids[BUSY]][0] == "in_progress"  # being dialled: never closed under it


def test_check_numbers_acts_in_every_campaign_of_the_tenant(  # type: ignore[no-untyped-def]
    env, factory, world, provider: FakeProvider
) -> None:
    ids = _seed(factory, world.a, world.campaign)
    with transaction(factory) as s:
        other = store.create_campaign(s, world.a, "autumn")
        contact_id = s.get_one(CampaignRecord, ids[INACTIVE]).contact_id
        phone = s.scalars(select(ContactPhone).where(ContactPhone.number == INACTIVE)).one()
        record, _ = store.attach(s, other, s.get_one(Contact, contact_id), phone)
        contact_b, phones_b, _ = store.add_contact(s, world.b, [INACTIVE], "PL")
        ours, theirs = phone.id, phones_b[0].id
    counts = hlr_job.check_numbers(world.a, [ours, theirs])
    assert counts["checked"] == 1 and counts["closed"] == 2  # both campaigns' records
    assert provider.asked() == [INACTIVE]
    assert _records(factory)[record.id][:2] == ("closed", "skipped")
    with factory() as s:  # tenant B's phone was neither checked nor recorded
        assert (
            s.scalar(
                select(func.count()).select_from(HlrResult).where(HlrResult.tenant_id == world.b)
            )
            == 0
        )


def test_cli_queues_the_job_and_a_real_worker_runs_it(  # type: ignore[no-untyped-def]
    env,
    factory,
    world,
    provider: FakeProvider,
    redis_port: int,
    capsys,
    caplog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    ids = _seed(factory, world.a, world.campaign)
    with Redis(port=redis_port) as conn:
        queue = Queue("default", connection=conn)
        queue.empty()
        assert main(["campaign", "hlr", "spring", "--tenant", "a.example"]) == 0
        out = capsys.readouterr().out
        assert out.startswith("spring: HLR check queued as job ")
        job_id = out.split("job ")[1].split()[0]
        assert provider.requests == []  # queued, not run
        SimpleWorker([queue], connection=conn).work(burst=True)
        job = queue.fetch_job(job_id)
        assert job is not None and job.get_status() == "finished"
        assert job.return_value() == EXPECTED
        assert KEY not in repr(job.args) + repr(job.kwargs)
    assert _records(factory)[ids[INACTIVE]][:2] == ("closed", "skipped")
    assert KEY not in caplog.text

    assert main(["campaign", "hlr", "spring", "--tenant", "a.example", "--sync"]) == 0
    assert capsys.readouterr().out.startswith("spring: checked 0, cached 2, active 1")
    assert main(["campaign", "hlr", "nope", "--tenant", "a.example", "--sync"]) == 1
    assert "no campaign named 'nope'" in capsys.readouterr().err
    monkeypatch.delenv("CENTRALA_HLR_URL")
    assert main(["campaign", "hlr", "spring", "--tenant", "a.example"]) == 1
    assert "no HLR provider is configured" in capsys.readouterr().err
