"""Migration e1a0c0de0017 (campaign.archived_at) goes up and down."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from controlplane.db import make_engine
from controlplane.migrate import alembic_config, upgrade


def _campaign_columns(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {c["name"] for c in inspect(engine).get_columns("campaign")}
    finally:
        engine.dispose()


def test_campaign_archive_migration_up_and_down(db_url: str) -> None:
    upgrade(db_url, "e1a0c0de0017")
    assert "archived_at" in _campaign_columns(db_url)
    command.downgrade(alembic_config(db_url), "e1a0c0de0014")
    assert "archived_at" not in _campaign_columns(db_url)
    upgrade(db_url, "e1a0c0de0017")
    assert "archived_at" in _campaign_columns(db_url)
