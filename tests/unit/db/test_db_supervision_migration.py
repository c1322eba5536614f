"""Migration e1a0c0de0026 (``supervision_session``) goes up and down."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from controlplane.db import make_engine
from controlplane.migrate import alembic_config, upgrade


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_supervision_migration_up_and_down(db_url: str) -> None:
    upgrade(db_url, "e1a0c0de0026")
    assert "supervision_session" in _tables(db_url)
    command.downgrade(alembic_config(db_url), "e1a0c0de0025")
    assert "supervision_session" not in _tables(db_url)
    upgrade(db_url, "e1a0c0de0026")
    assert "supervision_session" in _tables(db_url)
