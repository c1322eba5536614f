"""Migration e1a0c0de0022 (``phone_endpoint.kind``, ``tenant.webphone_enabled``) goes up and down."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, text

from controlplane.db import make_engine
from controlplane.migrate import alembic_config, upgrade


def _columns(url: str, table: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def test_webphone_migration_up_and_down(db_url: str) -> None:
    upgrade(db_url, "e1a0c0de0021")
    engine = make_engine(db_url)
    with engine.begin() as c:  # a desk phone from before: it stays a desk phone, and is kept
        c.execute(text("INSERT INTO tenant (domain, name, licences, locale, time_zone, active, "
                       "api_monthly_limit, created_at) VALUES ('m.example', 'm', 1, 'pl', "
                       "'UTC', :t, 1, '2026-01-01 00:00:00')"), {"t": True})
        c.execute(text("INSERT INTO phone_endpoint (tenant_id, name, extension, secret, transport) "
                       "SELECT id, 'm-100', '100', 'x', 'udp' FROM tenant"))
    try:
        _up_and_down(db_url, engine)
    finally:
        engine.dispose()


def _up_and_down(db_url: str, engine: Engine) -> None:
    upgrade(db_url, "e1a0c0de0022")
    assert "kind" in _columns(db_url, "phone_endpoint")
    assert "webphone_enabled" in _columns(db_url, "tenant")
    with engine.begin() as c:
        assert c.execute(text("SELECT kind FROM phone_endpoint")).scalar_one() == "desk"
        assert c.execute(text("SELECT webphone_enabled FROM tenant")).scalar_one() in (1, True)
    command.downgrade(alembic_config(db_url), "e1a0c0de0021")
    assert "kind" not in _columns(db_url, "phone_endpoint")
    assert "webphone_enabled" not in _columns(db_url, "tenant")
    assert {"name", "transport"} <= _columns(db_url, "phone_endpoint")
    with engine.begin() as c:  # nothing cascaded away on the way down either
        assert c.execute(text("SELECT count(*) FROM phone_endpoint")).scalar_one() == 1
    upgrade(db_url, "e1a0c0de0022")
    assert "kind" in _columns(db_url, "phone_endpoint")
