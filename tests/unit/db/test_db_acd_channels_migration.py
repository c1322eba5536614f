"""Migration e1a0c0de0035 (chat capacity per tenant and agent) goes up, down and up."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from controlplane.db import make_engine
from controlplane.migrate import alembic_config, upgrade

ADDED = {"acd_channel_settings", "acd_agent_capacity"}


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_chat_capacity_tables_go_up_down_and_up(db_url: str) -> None:
    upgrade(db_url, "e1a0c0de0035")
    assert tables(db_url) >= ADDED
    command.downgrade(alembic_config(db_url), "e1a0c0de0039")
    assert not ADDED & tables(db_url)
    assert {"chat", "acd_queue", "tenant"} <= tables(db_url)
    upgrade(db_url, "e1a0c0de0035")
    assert tables(db_url) >= ADDED
