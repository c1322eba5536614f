"""Migrations that only add tables go up, down and up again on SQLite and PostgreSQL: their
tables exist after the upgrade, are gone after the downgrade to the revision before, and
nothing else is dropped. (Migrations that change columns have tests of their own.)"""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect

from controlplane.db import make_engine
from controlplane.migrate import alembic_config, upgrade

# revision, the one before it, the tables it adds, tables that must survive its downgrade
CASES = [
    ("e1a0c0de0019", "e1a0c0de0018", {"contact_merge"}, {"contact"}),
    ("e1a0c0de0024", "e1a0c0de0023", {"recording_tag", "recording_tag_link",
                                      "recording_policy", "recording_export"}, {"call_record"}),
    ("e1a0c0de0025", "e1a0c0de0024", {"sla_probe_run"},
     {"tenant", "sla_incident", "sla_probe_result", "recording_tag"}),
    ("e1a0c0de0026", "e1a0c0de0025", {"supervision_session"}, {"sla_probe_run"}),
    ("e1a0c0de0027", "e1a0c0de0026", {"wallboard_alert_rule"},
     {"tenant", "acd_queue", "supervision_session"}),
    ("e1a0c0de0028", "e1a0c0de0027", {"call_disposition", "call_wrapup", "desktop_settings"},
     {"call_record", "wallboard_alert_rule"}),
    ("e1a0c0de0029", "e1a0c0de0028", {"ticket", "ticket_message", "ticket_category"},
     {"contact", "acd_queue", "call_wrapup"}),
    ("e1a0c0de0030", "e1a0c0de0029", {"chat", "chat_message"}, {"ticket", "acd_queue"}),
    ("e1a0c0de0036", "e1a0c0de0031", {"report_export"},
     {"acd_queue_log", "acd_agent_status_log", "call_wrapup", "dial_attempt", "hlr_result"}),
    ("e1a0c0de0037", "e1a0c0de0036", {"call_quality"}, {"call_record", "chat"}),
    ("e1a0c0de0038", "e1a0c0de0037", {"recording_sftp", "recording_upload"},
     {"call_recording", "call_quality"}),
    ("e1a0c0de0032", "e1a0c0de0035", {"desk_mailbox", "desk_survey"}, {"ticket", "chat"}),
]


def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize(("revision", "before", "added", "kept"), CASES,
                         ids=[c[0] for c in CASES])
def test_a_table_migration_goes_up_down_and_up(db_url: str, revision: str, before: str,
                                               added: set[str], kept: set[str]) -> None:
    upgrade(db_url, revision)
    assert added <= table_names(db_url)
    command.downgrade(alembic_config(db_url), before)
    tables = table_names(db_url)
    assert not added & tables
    assert kept <= tables  # nothing else dropped
    upgrade(db_url, revision)
    assert added <= table_names(db_url)
