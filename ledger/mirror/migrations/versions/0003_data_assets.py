"""Data assets: assets, appraisals and pledges; each credit line's collateral and advance rate

Revision ID: 0003
Revises: 0002

A mirror built before this revision logged CreditLines' CreditLineAdvanceRateSet and
CreditLineCollateralChanged without applying them: if its event log holds any, the upgrade
halts it (status "halted"), and ``python -m ledger.mirror --rebuild`` re-applies the chain.
It never fetched the DataAssetRegistry's logs at all, which SQL alone cannot tell: the cursor
now records the contracts followed since the start block (before this revision: the three
below), and the mirror halts when it follows one more (ledger.mirror.follower.Mirror._open).
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401 (autogenerate renders its string type)
import ledger.mirror.models
from ledger.mirror.migration_guards import halt_if_logged


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

#: CreditLines events that had no handler before this revision.
COLLATERAL_EVENTS = ("CreditLineAdvanceRateSet", "CreditLineCollateralChanged")
#: What a mirror followed before this revision.
FOLLOWED_BEFORE = "CreditLines,Factoring,ReceivableVoucher"


def upgrade() -> None:
    op.create_table('appraisal',
    sa.Column('asset_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('slot', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('appraiser', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('appraised_at', sa.BigInteger(), nullable=False),
    sa.Column('valid_until', sa.BigInteger(), nullable=False),
    sa.Column('value', ledger.mirror.models.Amount(precision=78, scale=0), nullable=False),
    sa.Column('report_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('tx_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.PrimaryKeyConstraint('asset_id', 'slot')
    )
    op.create_index(op.f('ix_appraisal_appraiser'), 'appraisal', ['appraiser'], unique=False)
    op.create_table('data_asset',
    sa.Column('asset_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('metadata_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('uri', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('exchange', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('listing_id', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('registered_at', sa.BigInteger(), nullable=False),
    sa.Column('pledge_id', sa.BigInteger(), nullable=False),
    sa.Column('registered_block', sa.BigInteger(), nullable=False),
    sa.Column('tx_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('asset_id')
    )
    op.create_index(op.f('ix_data_asset_content_hash'), 'data_asset', ['content_hash'], unique=False)
    op.create_index(op.f('ix_data_asset_exchange'), 'data_asset', ['exchange'], unique=False)
    op.create_index(op.f('ix_data_asset_owner'), 'data_asset', ['owner'], unique=False)
    op.create_table('pledge',
    sa.Column('pledge_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('asset_id', sa.BigInteger(), nullable=False),
    sa.Column('line_id', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.BigInteger(), nullable=False),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('financier', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('counted_value', ledger.mirror.models.Amount(precision=78, scale=0), nullable=False),
    sa.Column('pledged_at', sa.BigInteger(), nullable=False),
    sa.Column('ended_at', sa.BigInteger(), nullable=False),
    sa.Column('receivable_id', sa.BigInteger(), nullable=False),
    sa.Column('pledged_block', sa.BigInteger(), nullable=False),
    sa.Column('ended_block', sa.BigInteger(), nullable=True),
    sa.Column('tx_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.PrimaryKeyConstraint('pledge_id')
    )
    op.create_index(op.f('ix_pledge_asset_id'), 'pledge', ['asset_id'], unique=False)
    op.create_index(op.f('ix_pledge_financier'), 'pledge', ['financier'], unique=False)
    op.create_index(op.f('ix_pledge_line_id'), 'pledge', ['line_id'], unique=False)
    op.create_index(op.f('ix_pledge_owner'), 'pledge', ['owner'], unique=False)
    op.add_column('credit_line', sa.Column('collateral_value', ledger.mirror.models.Amount(precision=78, scale=0), server_default=sa.text('0'), nullable=False))
    op.add_column('credit_line', sa.Column('collateral_valid_until', sa.BigInteger(), server_default=sa.text('0'), nullable=False))
    op.add_column('credit_line', sa.Column('advance_rate_bps', sa.BigInteger(), server_default=sa.text('0'), nullable=False))
    op.add_column('mirror_cursor', sa.Column('contracts', sqlmodel.sql.sqltypes.AutoString(), server_default='', nullable=False))
    op.execute(sa.text("UPDATE mirror_cursor SET contracts = :followed").bindparams(followed=FOLLOWED_BEFORE))
    _halt_if_collateral_was_skipped()


def _halt_if_collateral_was_skipped() -> None:
    halt_if_logged("CreditLines", COLLATERAL_EVENTS, (
        "schema 0003 mirrors the credit lines' collateral and advance rate, which this database logged but did "
        "not apply: rebuild the mirror (ledger.mirror --rebuild)"
    ))


def downgrade() -> None:
    with op.batch_alter_table('mirror_cursor') as batch:  # SQLite rebuilds the table
        batch.drop_column('contracts')
    with op.batch_alter_table('credit_line') as batch:
        batch.drop_column('advance_rate_bps')
        batch.drop_column('collateral_valid_until')
        batch.drop_column('collateral_value')
    op.drop_index(op.f('ix_pledge_owner'), table_name='pledge')
    op.drop_index(op.f('ix_pledge_line_id'), table_name='pledge')
    op.drop_index(op.f('ix_pledge_financier'), table_name='pledge')
    op.drop_index(op.f('ix_pledge_asset_id'), table_name='pledge')
    op.drop_table('pledge')
    op.drop_index(op.f('ix_data_asset_owner'), table_name='data_asset')
    op.drop_index(op.f('ix_data_asset_exchange'), table_name='data_asset')
    op.drop_index(op.f('ix_data_asset_content_hash'), table_name='data_asset')
    op.drop_table('data_asset')
    op.drop_index(op.f('ix_appraisal_appraiser'), table_name='appraisal')
    op.drop_table('appraisal')
