"""Migration e1a0c0de0016 (tenant access policy, TOTP, session workstation) goes up and down."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from controlplane.db import make_engine
from controlplane.migrate import alembic_config, upgrade


def _tables_and_session_columns(url: str) -> tuple[set[str], set[str]]:
    engine = make_engine(url)
    try:
        insp = inspect(engine)
        return (set(insp.get_table_names()),
                {c["name"] for c in insp.get_columns("panel_session")})
    finally:
        engine.dispose()


def test_access_migration_up_and_down(db_url: str) -> None:
    upgrade(db_url, "e1a0c0de0016")
    tables, columns = _tables_and_session_columns(db_url)
    assert {"tenant_access", "user_totp"} <= tables
    assert "workstation" in columns
    command.downgrade(alembic_config(db_url), "e1a0c0de0011")
    tables, columns = _tables_and_session_columns(db_url)
    assert not {"tenant_access", "user_totp"} & tables
    assert "workstation" not in columns
    upgrade(db_url, "e1a0c0de0016")
    assert "tenant_access" in _tables_and_session_columns(db_url)[0]
