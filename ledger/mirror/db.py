"""Database access for the mirror: engines, migrations and the one-writer lock.

A database is named by a SQLAlchemy URL (``sqlite:///path.db``, ``postgresql+psycopg://...``)
or by a plain file path (SQLite). SQLite runs in WAL mode, so readers never block the writer.
"""

from __future__ import annotations

import fcntl
import os
import zlib
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url

from ..exceptions import ConfigurationError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class MirrorLocked(ConfigurationError):
    """Another mirror process already writes to this database."""


def database_url(db: str) -> str:
    """A SQLAlchemy URL for `db`: a URL as given, a file path as SQLite."""
    if "://" in db:
        url = make_url(db)
        if url.drivername in ("postgresql", "postgres"):
            # psycopg 3 is the driver we depend on; SQLAlchemy's bare default is psycopg2.
            url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)
    return f"sqlite:///{Path(db).resolve()}"


def make_engine(db: str, *, reader: bool = False) -> Engine:
    """An engine for `db`.

    SQLite: WAL, and transactions that begin with an explicit BEGIN, so a reader's queries in
    one transaction see one snapshot (pysqlite otherwise runs each SELECT on its own); a
    writer's (reader=False) with BEGIN IMMEDIATE.
    PostgreSQL: readers use REPEATABLE READ for the same reason.
    """
    url = database_url(db)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable against a process crash (kill -9) in WAL mode; only a power
            # loss can lose the last commits, which the mirror then re-applies from the chain.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        # A writer's transaction takes the write lock when it begins (IMMEDIATE): one that read
        # first and then wrote could not wait for the lock when another writer committed in
        # between (SQLite answers "database is locked" at once, whatever the busy timeout).
        begin = "BEGIN" if reader else "BEGIN IMMEDIATE"

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            conn.exec_driver_sql(begin)

        return engine
    options = {"isolation_level": "REPEATABLE READ"} if reader else {}
    return create_engine(url, pool_pre_ping=True, **options)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (alembic upgrade head)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class WriterLock:
    """Hold the database's single-writer lock until released.

    SQLite: an exclusive flock on ``<database>.lock`` (freed by the OS when the process dies).
    PostgreSQL: a session advisory lock keyed by database and schema (freed when the session
    ends, a killed process included).

    Raises:
        MirrorLocked: another process holds it.
    """

    def __init__(self, engine: Engine):
        self._file = None
        self._connection: Connection | None = None
        if engine.dialect.name == "sqlite":
            path = engine.url.database
            if not path or path == ":memory:":
                return
            self._file = open(f"{path}.lock", "a+")
            try:
                fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._file.close()
                raise MirrorLocked(f"another mirror writes to {path} (lock {path}.lock is held)") from None
        else:
            self._connection = engine.connect()
            scope = self._connection.execute(text("select current_database() || '.' || current_schema()")).scalar()
            key = zlib.crc32(f"ledger.mirror:{scope}".encode())
            got = self._connection.execute(text("select pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            self._connection.commit()
            if not got:
                self._connection.close()
                raise MirrorLocked(f"another mirror writes to {scope} (advisory lock {key} is held)")

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        if self._connection is not None:
            self._connection.close()  # ending the session frees the advisory lock
            self._connection = None


def is_postgres_url(db: str) -> bool:
    return database_url(db).startswith("postgresql")


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")
