"""The webhook tables' migration goes up and down (and up again) cleanly."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import inspect

from controlplane.db import make_engine
from controlplane.migrate import alembic_config, upgrade

TABLES = {"webhook_subscription", "webhook_event", "webhook_delivery", "webhook_attempt"}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_webhook_migration_up_and_down(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    assert _tables(url) >= TABLES
    cfg = alembic_config(url)
    command.downgrade(cfg, "e1a0c0de0011")
    assert not (TABLES & _tables(url))
    command.upgrade(cfg, "e1a0c0de0014")
    assert _tables(url) >= TABLES
