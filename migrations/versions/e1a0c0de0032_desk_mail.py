"""The desk's mailboxes and reply surveys

Revision ID: e1a0c0de0032
Revises: e1a0c0de0035
Create Date: 2026-12-04 12:45:00

``desk_mailbox`` (a tenant's IMAP + SMTP account, encrypted passwords, routing rules, the
reader's place) and ``desk_survey`` (the satisfaction survey of a reply that solved a
ticket). See :mod:`controlplane.models.desk_mail`.
"""

import sqlalchemy as sa
from alembic import op

from controlplane.models.base import UtcDateTime

revision = "e1a0c0de0032"
down_revision = "e1a0c0de0035"
branch_labels = None
depends_on = None


def _tenant() -> sa.Column:
    return sa.Column("tenant_id", sa.Integer(),
                     sa.ForeignKey("tenant.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "desk_mailbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        _tenant(),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("imap_host", sa.String(length=253), nullable=False),
        sa.Column("imap_port", sa.Integer(), nullable=False),
        sa.Column("imap_security", sa.String(length=16), nullable=False),
        sa.Column("imap_login", sa.String(length=320), nullable=False),
        sa.Column("imap_password", sa.Text(), nullable=False),
        sa.Column("smtp_host", sa.String(length=253), nullable=False),
        sa.Column("smtp_port", sa.Integer(), nullable=False),
        sa.Column("smtp_security", sa.String(length=16), nullable=False),
        sa.Column("smtp_login", sa.String(length=320), nullable=False),
        sa.Column("smtp_password", sa.Text(), nullable=False),
        sa.Column("queue_id", sa.Integer(), sa.ForeignKey("acd_queue.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("poll_interval_s", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("last_poll_at", UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "address"),
        sa.CheckConstraint("imap_security IN ('ssl', 'starttls', 'plain')",
                           name=op.f("ck_desk_mailbox_imap_security")),
        sa.CheckConstraint("smtp_security IN ('ssl', 'starttls', 'plain')",
                           name=op.f("ck_desk_mailbox_smtp_security")),
    )
    op.create_index("ix_desk_mailbox_tenant_id", "desk_mailbox", ["tenant_id"])
    op.create_table(
        "desk_survey",
        sa.Column("id", sa.Integer(), primary_key=True),
        _tenant(),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("ticket.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("comment", sa.String(length=2000), nullable=False),
        sa.Column("created_at", UtcDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("score IS NULL OR (score BETWEEN 1 AND 5)",
                           name=op.f("ck_desk_survey_score")),
    )
    op.create_index("ix_desk_survey_tenant_id", "desk_survey", ["tenant_id"])
    op.create_index("ix_desk_survey_ticket_id", "desk_survey", ["ticket_id"])


def downgrade() -> None:
    op.drop_table("desk_survey")
    op.drop_table("desk_mailbox")
