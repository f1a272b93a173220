"""Data assets: the URI's exact bytes on chain (data_asset.uri_hex)

Revision ID: 0005
Revises: 0004

The URI is whatever bytes its registrant sent; `uri` keeps them readable (invalid UTF-8 and NUL
as U+FFFD), so two different URIs could read the same and a NUL on chain read differently from
the registry's view, which failed the audit. `uri_hex` keeps the bytes, and the audit compares
those. Existing rows get the UTF-8 of their text, which is exact unless the text holds U+FFFD (it
may stand for bytes the text lost): then the mirror is halted (status "halted") until
``python -m ledger.mirror --rebuild`` re-applies the chain.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel  # noqa: F401 (autogenerate renders its string type)


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

REPLACEMENT = "\ufffd"


def upgrade() -> None:
    with op.batch_alter_table('data_asset') as batch:
        batch.add_column(sa.Column('uri_hex', sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    conn = op.get_bind()
    table = sa.table('data_asset', sa.column('asset_id', sa.BigInteger()), sa.column('uri', sa.String()),
                     sa.column('uri_hex', sa.String()))
    lost = []
    for asset_id, uri in conn.execute(sa.select(table.c.asset_id, table.c.uri)).all():
        if REPLACEMENT in uri:
            lost.append(asset_id)
            continue
        conn.execute(table.update().where(table.c.asset_id == asset_id)
                     .values(uri_hex="0x" + uri.encode("utf-8").hex()))
    if lost:
        op.execute(sa.text("UPDATE mirror_cursor SET status = 'halted', message = :message").bindparams(
            message=f"data assets {lost[:10]} have a URI whose bytes the mirror lost before revision 0005: "
                    "rebuild it (python -m ledger.mirror --rebuild)"))


def downgrade() -> None:
    with op.batch_alter_table('data_asset') as batch:
        batch.drop_column('uri_hex')
