"""Migration e1a0c0de0039 (``desktop_settings.supervision_notice``) goes up and down; a
tenant's screen-pop settings from before are kept and its agents are not told (false)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from controlplane.db import make_engine
from controlplane.migrate import alembic_config, upgrade


def _columns(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns("desktop_settings")}
    finally:
        engine.dispose()


def test_supervision_notice_up_and_down(db_url: str) -> None:
    upgrade(db_url, "e1a0c0de0038")
    engine = make_engine(db_url)
    try:
        with engine.begin() as c:
            c.execute(text("INSERT INTO tenant (domain, name, licences, locale, time_zone, "
                           "active, api_monthly_limit, created_at, webphone_enabled) VALUES "
                           "('n.example', 'n', 1, 'pl', 'UTC', :t, 1, '2026-01-01 00:00:00', :t)"),
                      {"t": True})
            c.execute(text("INSERT INTO desktop_settings (tenant_id, screen_pop_url, "
                           "screen_pop_mode, updated_at) SELECT id, 'https://crm.example/{number}', "
                           "'tab', '2026-01-01 00:00:00' FROM tenant"))
        upgrade(db_url, "e1a0c0de0039")
        with engine.begin() as c:
            row = c.execute(text("SELECT screen_pop_url, supervision_notice "
                                 "FROM desktop_settings")).one()
        assert row[0] == "https://crm.example/{number}" and not row[1]
        command.downgrade(alembic_config(db_url), "e1a0c0de0038")
        assert "supervision_notice" not in _columns(db_url)
        with engine.begin() as c:
            assert c.execute(text("SELECT count(*) FROM desktop_settings")).scalar_one() == 1
        upgrade(db_url, "e1a0c0de0039")
        assert "supervision_notice" in _columns(db_url)
    finally:
        engine.dispose()
