"""Alembic environment: run on the connection the mirror hands over (ledger.mirror.db.migrate)."""

from alembic import context
from sqlalchemy import create_engine

from ledger.mirror.models import TABLE_NAMES, SQLModel

target_metadata = SQLModel.metadata


def _ours(obj, name, type_, reflected, compare_to):
    """Only the mirror's tables: other SQLModel tables (the gateway's) have their own migrations."""
    return type_ != "table" or name in TABLE_NAMES


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:  # the alembic command line: sqlalchemy.url from alembic.ini / -x
        engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
        with engine.begin() as connection:
            _run(connection)
    else:
        _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection, target_metadata=target_metadata, include_object=_ours,
        version_table="mirror_alembic_version",
    )
    with context.begin_transaction():
        context.run_migrations()


run()
