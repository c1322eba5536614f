"""The SMS migration (e1a0c0de0033) adds its three tables, goes down to the revision before
without dropping anything else, and up again, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from controlplane.db import make_engine
from controlplane.migrate import alembic_config, upgrade

ADDED = {"desk_sms_account", "desk_sms_template", "desk_sms_auto_reply"}


def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_sms_tables_go_up_down_and_up(db_url: str) -> None:
    upgrade(db_url, "e1a0c0de0033")
    assert table_names(db_url) >= ADDED
    command.downgrade(alembic_config(db_url), "e1a0c0de0032")
    tables = table_names(db_url)
    assert not ADDED & tables
    assert {"ticket", "acd_queue", "chat"} <= tables
    upgrade(db_url, "e1a0c0de0033")
    assert table_names(db_url) >= ADDED
