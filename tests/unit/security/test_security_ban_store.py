"""SIP bans in the database (SQLite and PostgreSQL), the ACL file, the platform render and
the operator's CLI."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from controlplane.db import transaction
from controlplane.models.security import SecurityEvent
from controlplane.models.sip_bans import SipBan
from controlplane.security import ban_store, bans, sip_acl

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def ban(address: str, since: datetime = NOW, seconds: float = 3600, offence: int = 1,
        ) -> bans.Ban:
    t = since.timestamp()
    return bans.Ban(address, t, t + seconds, 10, offence, ("ChallengeResponseFailed",),
                    ("demo-1001", "demo-1002"))


def events(s: Session, kind: str) -> list[SecurityEvent]:
    return list(s.scalars(select(SecurityEvent).where(SecurityEvent.kind == kind)
                          .order_by(SecurityEvent.id)))


def test_a_ban_is_a_row_and_an_alert_without_account_names(
        factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        ban_store.add(s, ban("198.51.100.7"))
    with factory() as s:
        row = s.scalars(select(SipBan)).one()
        assert (row.address, row.failures, row.offence, row.accounts) == (
            "198.51.100.7", 10, 1, ["demo-1001", "demo-1002"])
        assert row.expires_at - row.created_at == timedelta(hours=1)
        assert row.reason == "10 failed SIP authentications (ChallengeResponseFailed)"
        (event,) = events(s, "sip.ban")
        assert (event.severity, event.source, event.tenant_id) == ("alert", "198.51.100.7", None)
        assert event.detail["accounts_tried"] == 2 and "demo-1001" not in json.dumps(event.detail)


def test_active_unlifted_recent_and_offences(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        ban_store.add(s, ban("192.0.2.1"))  # active
        ban_store.add(s, ban("192.0.2.2", since=NOW - timedelta(hours=2)))  # expired
        ban_store.add(s, ban("192.0.2.3"))
        ban_store.lift(s, "192.0.2.3", "cli:root", NOW)  # lifted
    with factory() as s:
        assert [b.address for b in ban_store.active(s, NOW)] == ["192.0.2.1"]
        assert sorted(b.address for b in ban_store.unlifted(s)) == ["192.0.2.1", "192.0.2.2"]
        assert len(ban_store.recent(s, 2)) == 2
        hist = ban_store.offences(s, NOW - timedelta(hours=1))
        assert set(hist) == {"192.0.2.1", "192.0.2.3"}
        assert sip_acl.banned_in(ban_store.render(s, NOW)) == {"192.0.2.1"}


def test_lift_is_audited_once(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        ban_store.add(s, ban("2001:db8::7"))
    with transaction(factory) as s:
        lifted = ban_store.lift(s, "2001:DB8:0::7", "panel:admin@demo", NOW)
        assert [r.address for r in lifted] == ["2001:db8::7"]
    with transaction(factory) as s:
        assert ban_store.lift(s, "2001:db8::7", "panel:admin@demo", NOW) == []
    with factory() as s:
        row = s.scalars(select(SipBan)).one()
        assert (row.lifted_at, row.lifted_by) == (NOW, "panel:admin@demo")
        (event,) = events(s, "sip.unban")
        assert (event.actor, event.source, event.detail["reason"]) == (
            "panel:admin@demo", "2001:db8::7", "lifted")


@pytest.mark.parametrize("bad", ["", "evil", "300.1.2.3", "127.0.0.5\n[x]"])
def test_bad_addresses_are_named(bad: str) -> None:
    with pytest.raises(ValueError, match="is not an IPv4 or IPv6 address"):
        ban_store.normalise(bad)


def test_write_file_keeps_asterisk_able_to_read_it(tmp_path: Path) -> None:
    (tmp_path / "pjsip.conf").write_text("")
    os.chown(tmp_path / "pjsip.conf", 4321, 4321)
    assert ban_store.write_file(tmp_path, sip_acl.render_bans(["192.0.2.9"])) is True
    path = tmp_path / sip_acl.BANS_FILE
    st = path.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (4321, 4321, 0o640)
    assert ban_store.write_file(tmp_path, sip_acl.render_bans(["192.0.2.9"])) is False
    assert ban_store.write_file(tmp_path, sip_acl.render_bans([])) is True
    assert sip_acl.banned_in(path.read_text()) == set()
    assert not list(tmp_path.glob("*.tmp"))


def test_policy_from_settings() -> None:
    from controlplane.config import load_settings

    settings = load_settings({"CENTRALA_SIP_BAN_FAILURES": "5", "CENTRALA_SIP_BAN_WINDOW_S": "30",
                              "CENTRALA_SIP_BAN_TIME_S": "600",
                              "CENTRALA_SIP_BAN_ALLOW": "10.0.0.0/8, 2001:db8::1"})
    policy = ban_store.policy_of(settings)
    assert (policy.max_failures, policy.window_s, policy.ban_s) == (5, 30, 600)
    assert policy.allowed("10.9.9.9") and policy.allowed("2001:db8::1")
    assert not policy.allowed("127.0.0.1")  # the default is replaced, not extended


@pytest.mark.parametrize(("env", "message"), [
    ({"CENTRALA_SIP_BAN_ALLOW": "10.0.0.0/8,10.0.0.x"}, "CENTRALA_SIP_BAN_ALLOW: '10.0.0.x'"),
    ({"CENTRALA_SIP_BAN_FAILURES": "many"}, "CENTRALA_SIP_BAN_FAILURES: 'many' is not a number"),
    ({"CENTRALA_SIP_BAN_TIME_S": "0"}, "CENTRALA_SIP_BAN_TIME_S: must be at least 1"),
])
def test_bad_settings_are_named(env: dict[str, str], message: str) -> None:
    from controlplane.config import load_settings

    with pytest.raises(ValueError, match=message):
        load_settings(env)


# ---- the platform render and the CLI (SQLite, through the real `centrala` entry point) ----

@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from helpers import free_port

    from controlplane.config import load_settings
    from controlplane.db import make_engine, make_sessionmaker
    from controlplane.migrate import upgrade

    env = {"CENTRALA_RUNTIME_DIR": str(tmp_path / "var"),
           "CENTRALA_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
           "CENTRALA_AMI_PORT": str(free_port())}  # nothing listens: Asterisk is "down"
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    settings = load_settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    yield settings, make_sessionmaker(engine)
    engine.dispose()


def test_render_platform_writes_the_active_bans(cli_env) -> None:  # type: ignore[no-untyped-def]
    from dialplan.modules import PLATFORM
    from dialplan.render import render_platform

    settings, factory = cli_env
    with transaction(factory) as s:
        ban_store.add(s, ban("192.0.2.44", since=datetime.now(UTC)))
    with factory() as s:
        files = render_platform(s, settings)
    assert sip_acl.banned_in(files[sip_acl.BANS_FILE]) == {"192.0.2.44"}
    assert files["sorcery.conf"] == sip_acl.SORCERY_CONF
    assert "res_pjsip_acl" in PLATFORM


def test_cli_lists_and_lifts_with_asterisk_down(cli_env, capsys) -> None:  # type: ignore[no-untyped-def]
    from controlplane.cli import main

    settings, factory = cli_env
    with transaction(factory) as s:
        ban_store.add(s, ban("192.0.2.55", since=datetime.now(UTC)))
    with factory() as s:
        ban_store.write_file(ban_store.etc_dir(settings), ban_store.render(s, datetime.now(UTC)))

    assert main(["security", "bans"]) == 0
    out = capsys.readouterr().out
    assert "ACTIVE  192.0.2.55" in out and "tried: demo-1001, demo-1002" in out
    assert "127.0.0.1/32" in out  # the allow-list
    assert main(["security", "bans", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [b["address"] for b in listed["bans"]] == ["192.0.2.55"]

    assert main(["security", "unban", "192.0.2.55"]) == 0
    captured = capsys.readouterr()
    assert "192.0.2.55: ban lifted" in captured.out
    assert "Asterisk not reloaded" in captured.err
    bans_file = ban_store.etc_dir(settings) / sip_acl.BANS_FILE
    assert sip_acl.banned_in(bans_file.read_text()) == set()
    with factory() as s:
        assert s.scalars(select(SipBan)).one().lifted_by.startswith("cli:")
    assert main(["security", "bans"]) == 0
    assert "no active SIP bans" in capsys.readouterr().out
    assert main(["security", "bans", "--all"]) == 0
    assert "lifted  192.0.2.55" in capsys.readouterr().out


@pytest.mark.parametrize(("address", "code", "message"), [
    ("192.0.2.99", 1, "192.0.2.99 is not banned"),
    ("not-an-ip", 2, "'not-an-ip' is not an IPv4 or IPv6 address"),
])
def test_cli_unban_errors(cli_env, capsys, address: str, code: int, message: str) -> None:  # type: ignore[no-untyped-def]
    from controlplane.cli import main

    assert main(["security", "unban", address]) == code
    captured = capsys.readouterr()
    assert message in captured.out + captured.err
