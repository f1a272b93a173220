"""Foreclosure against the pledgee's exposure: each foreclosed pledge's voucher, value and recovery

Revision ID: 0004
Revises: 0003

Issue 13.3 and 13.6: DataAssetForeclosed now carries the pledgee's voucher (tokenId), the
asset's counted value at foreclosure (value) and what it was credited against the defaulted
receivable (recovered); DataAssetReturned gives a foreclosed asset back after full repayment
(pledge state 4, Returned); DataAssetAppraisalWithdrawn and DataAssetAppraisalStruck remove an
appraisal (its row goes). The three columns hold 0 for pledges from before this revision.

Those events are new: a database from before this revision cannot have logged them with the
new registry (an older registry emits the older DataAssetForeclosed, whose topic differs), so if
its log holds any of them the upgrade halts the mirror, which ``--rebuild`` re-applies.
"""

from alembic import op
import sqlalchemy as sa
import ledger.mirror.models
from ledger.mirror.migration_guards import halt_if_logged


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

#: DataAssetRegistry events that had no handler before this revision.
NEW_EVENTS = ("DataAssetReturned", "DataAssetAppraisalWithdrawn", "DataAssetAppraisalStruck")


def upgrade() -> None:
    op.add_column('pledge', sa.Column('token_id', sa.BigInteger(), server_default=sa.text('0'), nullable=False))
    op.add_column('pledge', sa.Column('foreclosed_value', ledger.mirror.models.Amount(precision=78, scale=0),
                                      server_default=sa.text('0'), nullable=False))
    op.add_column('pledge', sa.Column('recovered', ledger.mirror.models.Amount(precision=78, scale=0),
                                      server_default=sa.text('0'), nullable=False))
    halt_if_logged("DataAssetRegistry", NEW_EVENTS, (
        "schema 0004 mirrors returned foreclosures and withdrawn or struck appraisals, which this database "
        "logged but did not apply: rebuild the mirror (ledger.mirror --rebuild)"
    ))


def downgrade() -> None:
    with op.batch_alter_table('pledge') as batch:  # SQLite rebuilds the table
        batch.drop_column('recovered')
        batch.drop_column('foreclosed_value')
        batch.drop_column('token_id')
