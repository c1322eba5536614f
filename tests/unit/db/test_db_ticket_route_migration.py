"""Migration e1a0c0de0040 (tickets routed by the ACD, the e-mail capacity) goes up, down and
up on SQLite and PostgreSQL; existing channel settings get the defaults."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from controlplane.db import make_engine
from controlplane.migrate import alembic_config, upgrade


def shape(url: str) -> tuple[set[str], set[str]]:
    engine = make_engine(url)
    try:
        i = inspect(engine)
        cols = {c["name"] for c in i.get_columns("acd_channel_settings")}
        cols |= {f"agent.{c['name']}" for c in i.get_columns("acd_agent_capacity")}
        return set(i.get_table_names()), cols
    finally:
        engine.dispose()


def test_ticket_routing_goes_up_down_and_up(db_url: str) -> None:
    upgrade(db_url, "e1a0c0de0034")
    engine = make_engine(db_url)
    with engine.begin() as c:
        c.execute(text("INSERT INTO tenant (domain, name, licences, active, created_at) "
                       "VALUES ('m.example', 'M', 5, true, CURRENT_TIMESTAMP)"))
        tid = c.execute(text("SELECT id FROM tenant")).scalar_one()
        c.execute(text("INSERT INTO acd_channel_settings VALUES (:t, 4, false, 20)"), {"t": tid})
    upgrade(db_url, "e1a0c0de0040")
    tables, cols = shape(db_url)
    assert "ticket_route" in tables and {"emails_per_agent", "email_offer_timeout_s"} <= cols
    assert "agent.emails" in cols
    with engine.begin() as c:
        row = c.execute(text("SELECT chats_per_agent, emails_per_agent, email_offer_timeout_s "
                             "FROM acd_channel_settings")).one()
    assert tuple(row) == (4, 3, 60)
    command.downgrade(alembic_config(db_url), "e1a0c0de0034")
    tables, cols = shape(db_url)
    assert "ticket_route" not in tables and "emails_per_agent" not in cols
    assert "agent.emails" not in cols and "agent.chats" in cols
    assert {"ticket", "chat_widget"} <= tables
    upgrade(db_url, "e1a0c0de0040")
    assert "ticket_route" in shape(db_url)[0]
    engine.dispose()
