"""sla probes: one row per probe, function and round (sla_probe_run)

Revision ID: e1a0c0de0025
Revises: e1a0c0de0024
Create Date: 2026-12-04 07:15:00

See :mod:`controlplane.models.sla_probes`. No data moves (``sla_probe_result`` was never
written).
"""

import sqlalchemy as sa
from alembic import op

import controlplane.models.base

revision = "e1a0c0de0025"
down_revision = "e1a0c0de0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sla_probe_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('probe', sa.String(length=32), nullable=False),
    sa.Column('function', sa.String(length=32), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=True),
    sa.Column('started_at', controlplane.models.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('interval_s', sa.Integer(), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=False),
    sa.CheckConstraint("function IN ('outbound_call', 'inbound_call', 'ivr', 'login', 'agent_ready', 'queue_routing', 'chat_routing')", name=op.f('ck_sla_probe_run_function')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], name=op.f('fk_sla_probe_run_tenant_id_tenant'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_probe_run'))
    )
    with op.batch_alter_table('sla_probe_run', schema=None) as batch_op:
        batch_op.create_index('ix_sla_probe_run_function_started_at', ['function', 'started_at'], unique=False)
        batch_op.create_index('ix_sla_probe_run_started_at', ['started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sla_probe_run_tenant_id'), ['tenant_id'], unique=False)


def downgrade() -> None:
    op.drop_table('sla_probe_run')
