"""sla: settings, maintenance windows, downtime, probe results, incidents and claims

Revision ID: e1a0c0de0023
Revises: e1a0c0de0022
Create Date: 2026-12-04 04:57:10

The SLA's tables (see :mod:`controlplane.models.sla`). No data moves: a tenant without
``sla_settings`` has no statement until an operator sets its level and fee.
"""

import sqlalchemy as sa
from alembic import op

import controlplane.models.base

revision = "e1a0c0de0023"
down_revision = "e1a0c0de0022"
branch_labels = None
depends_on = None

TABLES = ("sla_incident_event", "sla_settings", "sla_probe_result", "sla_maintenance",
          "sla_incident", "sla_downtime", "sla_claim")


def upgrade() -> None:
    op.create_table('sla_claim',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('claimed_at', controlplane.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=254), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('note', sa.String(length=1000), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'granted', 'refused')", name=op.f('ck_sla_claim_status')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_sla_claim_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_claim')),
    sa.UniqueConstraint('tenant_id', 'period', name=op.f('uq_sla_claim_tenant_id'))
    )
    with op.batch_alter_table('sla_claim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_claim_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('sla_downtime',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.Column('function', sa.String(length=32), nullable=False),
    sa.Column('started_at', controlplane.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', controlplane.models.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.CheckConstraint("function IN ('outbound_call', 'inbound_call', 'ivr', 'login', 'agent_ready', 'queue_routing', 'chat_routing')", name=op.f('ck_sla_downtime_function')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_sla_downtime_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_downtime'))
    )
    with op.batch_alter_table('sla_downtime', schema=None) as batch_op:
        batch_op.create_index('ix_sla_downtime_started_at', ['started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sla_downtime_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('sla_incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('preset', sa.String(length=64), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('opened_at', controlplane.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('reported_by', sa.String(length=254), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.CheckConstraint("priority IN ('critical', 'high', 'medium', 'low')", name=op.f('ck_sla_incident_priority')),
    sa.CheckConstraint("source IN ('user', 'mail', 'probe')", name=op.f('ck_sla_incident_source')),
    sa.CheckConstraint("status IN ('open', 'reacted', 'waiting', 'repaired')", name=op.f('ck_sla_incident_status')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_sla_incident_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_incident'))
    )
    with op.batch_alter_table('sla_incident', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_incident_opened_at'), ['opened_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sla_incident_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('sla_maintenance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.Column('announced_at', controlplane.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('starts_at', controlplane.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', controlplane.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_sla_maintenance_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_maintenance'))
    )
    with op.batch_alter_table('sla_maintenance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_maintenance_starts_at'), ['starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sla_maintenance_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('sla_probe_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.Column('function', sa.String(length=32), nullable=False),
    sa.Column('at', controlplane.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('latency_ms', sa.Integer(), nullable=True),
    sa.Column('detail', sa.String(length=500), nullable=False),
    sa.CheckConstraint("function IN ('outbound_call', 'inbound_call', 'ivr', 'login', 'agent_ready', 'queue_routing', 'chat_routing')", name=op.f('ck_sla_probe_result_function')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_sla_probe_result_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_probe_result'))
    )
    with op.batch_alter_table('sla_probe_result', schema=None) as batch_op:
        batch_op.create_index('ix_sla_probe_result_function_at', ['function', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sla_probe_result_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('sla_settings',
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('monthly_fee', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('support_email', sa.String(length=254), nullable=False),
    sa.Column('updated_at', controlplane.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("level IN ('standard', 'progres', 'progres_plus', 'premium')", name=op.f('ck_sla_settings_level')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_sla_settings_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_sla_settings'))
    )
    op.create_table('sla_incident_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('at', controlplane.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('note', sa.String(length=1000), nullable=False),
    sa.CheckConstraint("kind IN ('reacted', 'paused', 'resumed', 'repaired')", name=op.f('ck_sla_incident_event_kind')),
    sa.ForeignKeyConstraint(['incident_id'], ['sla_incident.id'], name=op.f('fk_sla_incident_event_incident_id_sla_incident'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_incident_event'))
    )
    with op.batch_alter_table('sla_incident_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_incident_event_incident_id'), ['incident_id'], unique=False)


def downgrade() -> None:
    # dropping a table drops its indexes; the events go before the incidents they name
    for table in TABLES:
        op.drop_table(table)
