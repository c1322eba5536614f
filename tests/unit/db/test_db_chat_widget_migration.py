"""Migration 0034 (chat widgets, canned responses) goes up, down and up again."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from controlplane.db import make_engine
from controlplane.migrate import alembic_config, upgrade

ADDED = {"chat_widget", "chat_canned_response"}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_chat_widget_migration_goes_up_down_and_up(db_url: str) -> None:
    upgrade(db_url, "e1a0c0de0034")
    assert _tables(db_url) >= ADDED
    command.downgrade(alembic_config(db_url), "e1a0c0de0033")
    tables = _tables(db_url)
    assert not ADDED & tables
    assert {"chat", "chat_message", "ticket"} <= tables
    upgrade(db_url, "e1a0c0de0034")
    assert _tables(db_url) >= ADDED
