"""Migration e1a0c0de0012 (API tokens, the tenant's API limit) goes down and up again."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import inspect, text

from controlplane.db import make_engine
from controlplane.migrate import alembic_config, upgrade


def _shape(url: str) -> tuple[set[str], set[str]]:
    engine = make_engine(url)
    try:
        insp = inspect(engine)
        return set(insp.get_table_names()), {c["name"] for c in insp.get_columns("tenant")}
    finally:
        engine.dispose()


def test_the_migration_downgrades_and_upgrades_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "e1a0c0de0012")
    tables, columns = _shape(url)
    assert "api_token" in tables and "api_monthly_limit" in columns
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO tenant (domain, name, licences, locale, time_zone, "
                          "created_at) VALUES ('m.example', 'M', 1, 'pl', 'Europe/Warsaw', "
                          "'2026-01-01 00:00:00')"))
        assert conn.scalar(text("SELECT api_monthly_limit FROM tenant")) == 30000
    engine.dispose()
    command.downgrade(alembic_config(url), "e1a0c0de0011")
    tables, columns = _shape(url)
    assert "api_token" not in tables and "api_monthly_limit" not in columns
    assert "locale" in columns  # the revision below is intact
    upgrade(url, "e1a0c0de0012")
    tables, columns = _shape(url)
    assert "api_token" in tables and "api_monthly_limit" in columns
