"""Initial mirror schema

Revision ID: 0001
Revises: 
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401 (autogenerate renders its string type)
import ledger.mirror.models


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('credit_line',
    sa.Column('line_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('financier', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('obligor', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('limit', ledger.mirror.models.Amount(precision=78, scale=0), nullable=False),
    sa.Column('used', ledger.mirror.models.Amount(precision=78, scale=0), nullable=False),
    sa.Column('expiry', sa.BigInteger(), nullable=False),
    sa.Column('grace_period', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('line_id')
    )
    op.create_index(op.f('ix_credit_line_financier'), 'credit_line', ['financier'], unique=False)
    op.create_index(op.f('ix_credit_line_obligor'), 'credit_line', ['obligor'], unique=False)
    op.create_table('event_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('chain_id', sa.BigInteger(), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('block_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('log_index', sa.BigInteger(), nullable=False),
    sa.Column('tx_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('contract', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('args', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('chain_id', 'block_hash', 'log_index', name='uq_event_log_key')
    )
    op.create_index(op.f('ix_event_log_name'), 'event_log', ['name'], unique=False)
    op.create_index('ix_event_log_order', 'event_log', ['block_number', 'log_index'], unique=False)
    op.create_table('member',
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('is_member', sa.Boolean(), nullable=False),
    sa.Column('roles', sa.BigInteger(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('address')
    )
    op.create_table('mirror_block',
    sa.Column('number', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('parent_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.PrimaryKeyConstraint('number')
    )
    op.create_table('mirror_cursor',
    sa.Column('id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('chain_id', sa.BigInteger(), nullable=False),
    sa.Column('voucher', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('block_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('mirror_journal',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('table_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('row_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('image', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_mirror_journal_block_number'), 'mirror_journal', ['block_number'], unique=False)
    op.create_table('operator_approval',
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('operator', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.PrimaryKeyConstraint('holder', 'operator')
    )
    op.create_table('pause_state',
    sa.Column('contract', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('contract')
    )
    op.create_table('receivable',
    sa.Column('receivable_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('obligor', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('supplier', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('line_id', sa.BigInteger(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('face_value', ledger.mirror.models.Amount(precision=78, scale=0), nullable=False),
    sa.Column('repaid', ledger.mirror.models.Amount(precision=78, scale=0), nullable=False),
    sa.Column('maturity', sa.BigInteger(), nullable=False),
    sa.Column('document_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('root_token_id', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.BigInteger(), nullable=False),
    sa.Column('issued_block', sa.BigInteger(), nullable=False),
    sa.Column('tx_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.PrimaryKeyConstraint('receivable_id')
    )
    op.create_index(op.f('ix_receivable_document_hash'), 'receivable', ['document_hash'], unique=False)
    op.create_index(op.f('ix_receivable_obligor'), 'receivable', ['obligor'], unique=False)
    op.create_index(op.f('ix_receivable_supplier'), 'receivable', ['supplier'], unique=False)
    op.create_table('role_admin',
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('admin_role', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.PrimaryKeyConstraint('role')
    )
    op.create_table('role_assignment',
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('account', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('role_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('granted_by', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('granted_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('role', 'account')
    )
    op.create_table('token_approval',
    sa.Column('token_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('operator', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('epoch', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('token_id')
    )
    op.create_table('value_allowance',
    sa.Column('token_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('operator', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('value', ledger.mirror.models.Amount(precision=78, scale=0), nullable=False),
    sa.Column('epoch', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('token_id', 'operator')
    )
    op.create_table('voucher',
    sa.Column('token_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('receivable_id', sa.BigInteger(), nullable=False),
    sa.Column('value', ledger.mirror.models.Amount(precision=78, scale=0), nullable=False),
    sa.Column('parent_id', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.BigInteger(), nullable=False),
    sa.Column('epoch', sa.BigInteger(), nullable=False),
    sa.Column('burned', sa.Boolean(), nullable=False),
    sa.Column('minted_block', sa.BigInteger(), nullable=False),
    sa.Column('burned_block', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('token_id')
    )
    op.create_index(op.f('ix_voucher_holder'), 'voucher', ['holder'], unique=False)
    op.create_index(op.f('ix_voucher_receivable_id'), 'voucher', ['receivable_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_voucher_receivable_id'), table_name='voucher')
    op.drop_index(op.f('ix_voucher_holder'), table_name='voucher')
    op.drop_table('voucher')
    op.drop_table('value_allowance')
    op.drop_table('token_approval')
    op.drop_table('role_assignment')
    op.drop_table('role_admin')
    op.drop_index(op.f('ix_receivable_supplier'), table_name='receivable')
    op.drop_index(op.f('ix_receivable_obligor'), table_name='receivable')
    op.drop_index(op.f('ix_receivable_document_hash'), table_name='receivable')
    op.drop_table('receivable')
    op.drop_table('pause_state')
    op.drop_table('operator_approval')
    op.drop_index(op.f('ix_mirror_journal_block_number'), table_name='mirror_journal')
    op.drop_table('mirror_journal')
    op.drop_table('mirror_cursor')
    op.drop_table('mirror_block')
    op.drop_table('member')
    op.drop_index('ix_event_log_order', table_name='event_log')
    op.drop_index(op.f('ix_event_log_name'), table_name='event_log')
    op.drop_table('event_log')
    op.drop_index(op.f('ix_credit_line_obligor'), table_name='credit_line')
    op.drop_index(op.f('ix_credit_line_financier'), table_name='credit_line')
    op.drop_table('credit_line')
