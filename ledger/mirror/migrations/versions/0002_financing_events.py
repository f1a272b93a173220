"""Financing events: repayments, claims, factoring offers and deals; voucher paid, receivable claimed

Revision ID: 0002
Revises: 0001

A mirror built before this revision logged the financing events of ReceivableVoucher without
applying them, and never fetched the Factoring contract's logs. If its event log holds any of
them, its state cannot be completed from SQL: the upgrade halts it (status "halted"), and
``python -m ledger.mirror --rebuild`` re-applies the chain from the start block.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401 (autogenerate renders its string type)
import ledger.mirror.models
from ledger.mirror.migration_guards import halt_if_logged


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

#: ReceivableVoucher events that had no handler before this revision.
FINANCING_EVENTS = (
    "ReceivableRepaid", "ReceivableSettled", "ReceivableOverdue", "ReceivableDefaulted", "VoucherClaimed",
    "VoucherPaidMoved", "VoucherLocked", "VoucherUnlocked",
)


def upgrade() -> None:
    op.create_table('claim',
    sa.Column('block_number', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('log_index', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('token_id', sa.BigInteger(), nullable=False),
    sa.Column('receivable_id', sa.BigInteger(), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('amount', ledger.mirror.models.Amount(precision=78, scale=0), nullable=False),
    sa.Column('paid', ledger.mirror.models.Amount(precision=78, scale=0), nullable=False),
    sa.Column('closed', sa.Boolean(), nullable=False),
    sa.Column('tx_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.PrimaryKeyConstraint('block_number', 'log_index')
    )
    op.create_index(op.f('ix_claim_holder'), 'claim', ['holder'], unique=False)
    op.create_index(op.f('ix_claim_receivable_id'), 'claim', ['receivable_id'], unique=False)
    op.create_index(op.f('ix_claim_token_id'), 'claim', ['token_id'], unique=False)
    op.create_table('deal',
    sa.Column('offer_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('receivable_id', sa.BigInteger(), nullable=False),
    sa.Column('token_id', sa.BigInteger(), nullable=False),
    sa.Column('seller', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('financier', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('value', ledger.mirror.models.Amount(precision=78, scale=0), nullable=False),
    sa.Column('price', ledger.mirror.models.Amount(precision=78, scale=0), nullable=False),
    sa.Column('discount', ledger.mirror.models.Amount(precision=78, scale=0), nullable=False),
    sa.Column('rate_bps', sa.BigInteger(), nullable=False),
    sa.Column('recourse', sa.Boolean(), nullable=False),
    sa.Column('paid_at_deal', ledger.mirror.models.Amount(precision=78, scale=0), nullable=False),
    sa.Column('block_number', sa.BigInteger(), nullable=False),
    sa.Column('tx_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.PrimaryKeyConstraint('offer_id')
    )
    op.create_index(op.f('ix_deal_financier'), 'deal', ['financier'], unique=False)
    op.create_index(op.f('ix_deal_receivable_id'), 'deal', ['receivable_id'], unique=False)
    op.create_index(op.f('ix_deal_seller'), 'deal', ['seller'], unique=False)
    op.create_table('offer',
    sa.Column('offer_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('seller', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('token_id', sa.BigInteger(), nullable=False),
    sa.Column('receivable_id', sa.BigInteger(), nullable=False),
    sa.Column('rate_bps', sa.BigInteger(), nullable=False),
    sa.Column('recourse', sa.Boolean(), nullable=False),
    sa.Column('state', sa.BigInteger(), nullable=False),
    sa.Column('financier', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('deadline', sa.BigInteger(), nullable=False),
    sa.Column('recourse_state', sa.BigInteger(), nullable=False),
    sa.Column('value', ledger.mirror.models.Amount(precision=78, scale=0), nullable=False),
    sa.Column('price', ledger.mirror.models.Amount(precision=78, scale=0), nullable=False),
    sa.Column('paid_at_deal', ledger.mirror.models.Amount(precision=78, scale=0), nullable=False),
    sa.Column('recourse_amount', ledger.mirror.models.Amount(precision=78, scale=0), nullable=False),
    sa.Column('created_block', sa.BigInteger(), nullable=False),
    sa.Column('tx_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.Column('updated_block', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('offer_id')
    )
    op.create_index(op.f('ix_offer_financier'), 'offer', ['financier'], unique=False)
    op.create_index(op.f('ix_offer_receivable_id'), 'offer', ['receivable_id'], unique=False)
    op.create_index(op.f('ix_offer_seller'), 'offer', ['seller'], unique=False)
    op.create_index(op.f('ix_offer_token_id'), 'offer', ['token_id'], unique=False)
    op.create_table('repayment',
    sa.Column('block_number', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('log_index', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('receivable_id', sa.BigInteger(), nullable=False),
    sa.Column('payer', sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
    sa.Column('amount', ledger.mirror.models.Amount(precision=78, scale=0), nullable=False),
    sa.Column('repaid', ledger.mirror.models.Amount(precision=78, scale=0), nullable=False),
    sa.Column('tx_hash', sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
    sa.PrimaryKeyConstraint('block_number', 'log_index')
    )
    op.create_index(op.f('ix_repayment_payer'), 'repayment', ['payer'], unique=False)
    op.create_index(op.f('ix_repayment_receivable_id'), 'repayment', ['receivable_id'], unique=False)
    op.add_column('receivable', sa.Column('claimed', ledger.mirror.models.Amount(precision=78, scale=0), server_default=sa.text('0'), nullable=False))
    op.add_column('voucher', sa.Column('paid', ledger.mirror.models.Amount(precision=78, scale=0), server_default=sa.text('0'), nullable=False))
    _halt_if_financing_was_skipped()


def _halt_if_financing_was_skipped() -> None:
    halt_if_logged("ReceivableVoucher", FINANCING_EVENTS, (
        "schema 0002 mirrors the financing events, which this database logged but did not apply: "
        "rebuild the mirror (ledger.mirror --rebuild)"
    ))


def downgrade() -> None:
    with op.batch_alter_table('voucher') as batch:  # SQLite rebuilds the table
        batch.drop_column('paid')
    with op.batch_alter_table('receivable') as batch:
        batch.drop_column('claimed')
    op.drop_index(op.f('ix_repayment_receivable_id'), table_name='repayment')
    op.drop_index(op.f('ix_repayment_payer'), table_name='repayment')
    op.drop_table('repayment')
    op.drop_index(op.f('ix_offer_token_id'), table_name='offer')
    op.drop_index(op.f('ix_offer_seller'), table_name='offer')
    op.drop_index(op.f('ix_offer_receivable_id'), table_name='offer')
    op.drop_index(op.f('ix_offer_financier'), table_name='offer')
    op.drop_table('offer')
    op.drop_index(op.f('ix_deal_seller'), table_name='deal')
    op.drop_index(op.f('ix_deal_receivable_id'), table_name='deal')
    op.drop_index(op.f('ix_deal_financier'), table_name='deal')
    op.drop_table('deal')
    op.drop_index(op.f('ix_claim_token_id'), table_name='claim')
    op.drop_index(op.f('ix_claim_receivable_id'), table_name='claim')
    op.drop_index(op.f('ix_claim_holder'), table_name='claim')
    op.drop_table('claim')
