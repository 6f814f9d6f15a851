"""service record imports and corrections (issue 19, issue 20)

Revision ID: 0024_service_imports
Revises: 0023_api_tokens
Create Date: 2026-12-02 17:00:00

"""
from alembic import op
import sqlalchemy as sa

import marketplace.core.db


revision = '0024_service_imports'
down_revision = '0023_api_tokens'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'service_imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('contract_id', sa.Integer(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('rows', sa.JSON(), nullable=False),
        sa.Column('row_count', sa.Integer(), nullable=False),
        sa.Column('record_ids', sa.JSON(), nullable=False),
        sa.Column('staged_at', marketplace.core.db.UTCDateTime(), nullable=False),
        sa.Column('staged_by_id', sa.Integer(), nullable=False),
        sa.Column('stored_at', marketplace.core.db.UTCDateTime(), nullable=True),
        sa.Column('stored_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['contract_id'], ['contracts.id'], name=op.f('fk_service_imports_contract_id_contracts'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(['staged_by_id'], ['users.id'], name=op.f('fk_service_imports_staged_by_id_users')),
        sa.ForeignKeyConstraint(['stored_by_id'], ['users.id'], name=op.f('fk_service_imports_stored_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_service_imports')),
        sa.UniqueConstraint('contract_id', 'digest', name=op.f('uq_service_imports_contract_id_digest')),
    )
    with op.batch_alter_table('service_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_imports_contract_id'), ['contract_id'], unique=False)

    op.create_table(
        'service_import_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('idempotency_key', sa.String(length=255), nullable=False),
        sa.Column('contract_id', sa.Integer(), nullable=False),
        sa.Column('request_digest', sa.String(length=64), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=False),
        sa.Column('response', sa.JSON(), nullable=False),
        sa.Column('created_at', marketplace.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['contract_id'], ['contracts.id'], name=op.f('fk_service_import_requests_contract_id_contracts'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_service_import_requests_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_service_import_requests')),
        sa.UniqueConstraint(
            'user_id', 'idempotency_key', name=op.f('uq_service_import_requests_user_id_idempotency_key')
        ),
    )
    with op.batch_alter_table('service_import_requests', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_service_import_requests_contract_id'), ['contract_id'], unique=False
        )

    op.create_table(
        'service_record_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('record_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('service_date', sa.Date(), nullable=False),
        sa.Column('activity_type', sa.String(length=40), nullable=False),
        sa.Column('target_id', sa.Integer(), nullable=True),
        sa.Column('quantity', sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column('beneficiaries', sa.Integer(), nullable=False),
        sa.Column('hours', sa.Numeric(precision=8, scale=2), nullable=False),
        sa.Column('community_code', sa.String(length=12), nullable=True),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('entered_at', marketplace.core.db.UTCDateTime(), nullable=False),
        sa.Column('entered_by_id', sa.Integer(), nullable=False),
        sa.Column('replaced_at', marketplace.core.db.UTCDateTime(), nullable=False),
        sa.Column('replaced_by_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ['record_id'], ['service_records.id'], name=op.f('fk_service_record_versions_record_id_service_records'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['target_id'], ['contract_targets.id'],
            name=op.f('fk_service_record_versions_target_id_contract_targets'),
        ),
        sa.ForeignKeyConstraint(
            ['community_code'], ['districts.code'], name=op.f('fk_service_record_versions_community_code_districts')
        ),
        sa.ForeignKeyConstraint(
            ['entered_by_id'], ['users.id'], name=op.f('fk_service_record_versions_entered_by_id_users')
        ),
        sa.ForeignKeyConstraint(
            ['replaced_by_id'], ['users.id'], name=op.f('fk_service_record_versions_replaced_by_id_users')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_service_record_versions')),
        sa.UniqueConstraint('record_id', 'version', name=op.f('uq_service_record_versions_record_id_version')),
    )
    with op.batch_alter_table('service_record_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_record_versions_record_id'), ['record_id'], unique=False)


def downgrade():
    op.drop_table('service_record_versions')
    op.drop_table('service_import_requests')
    op.drop_table('service_imports')
