"""Rows of the state tables, read through a cache and written in bulk with undo records.

Handlers read and write rows as plain dicts through a Store. Within one database transaction
the Store collects the changes and writes them at the end in a few executemany statements (one
insert, update and delete per table). For each row a block changes, it records the row's image
from before that block in the undo journal (when the block is inside the reorg window), so
rolling back to block N means restoring, newest first, every image recorded after N.

The mirror is the only writer of its database (db.WriterLock), so rows it committed can be
cached across transactions: a committed row is never read twice from SQL.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Table, and_, bindparam, select
from sqlalchemy.engine import Connection

from .models import STATE_MODELS, MirrorJournal

Row = dict[str, Any]
Key = tuple[Any, ...]

#: Committed rows kept in memory at most; beyond it the cache starts afresh.
CACHE_LIMIT = 500_000
_MISSING = object()


class _TableOps:
    """The prepared statements of one table."""

    def __init__(self, table: Table):
        self.table = table
        self.pk = [c.name for c in table.primary_key.columns]
        self.columns = [c.name for c in table.columns]
        where = and_(*(table.c[name] == bindparam(f"k_{name}") for name in self.pk))
        self.select = select(table).where(where)
        self.delete = table.delete().where(where)
        others = [c for c in self.columns if c not in self.pk]
        self.update = table.update().where(where).values({c: bindparam(f"v_{c}") for c in others}) if others else None
        self.insert = table.insert()
        #: Columns a migration added with a server default (0): journal images written before
        #: the migration lack them, and restoring such an image gives them that default.
        self.added = {c.name: 0 for c in table.columns if c.server_default is not None}

    def key_params(self, key: Key) -> dict[str, Any]:
        return {f"k_{name}": value for name, value in zip(self.pk, key, strict=True)}

    def key_of(self, row: Row) -> Key:
        return tuple(row[name] for name in self.pk)


class Store:
    """The state tables as dicts of rows, with a journal for undo."""

    def __init__(self) -> None:
        self.ops = {name: _TableOps(model.__table__) for name, model in STATE_MODELS.items()}
        self._committed: dict[tuple[str, Key], Row | None] = {}
        self._conn: Connection | None = None
        self._pending: dict[tuple[str, Key], Row | None] = {}
        self._before: dict[tuple[str, Key], Row | None] = {}
        self._journal: list[dict[str, Any]] = []
        self._journaled: set[tuple[int, str, Key]] = set()
        #: The block being applied, and whether its changes go to the undo journal.
        self.block = 0
        self.journaling = False
        #: The block's timestamp, for handlers registered with timed=True (None for the others).
        self.timestamp: int | None = None

    # -- transaction ---------------------------------------------------------------------------

    def begin(self, conn: Connection) -> None:
        self._conn = conn
        self._pending.clear()
        self._before.clear()
        self._journal.clear()
        self._journaled.clear()

    def abort(self) -> None:
        """Forget the transaction's changes; the cache may hold rows it read, so drop it too."""
        self._conn = None
        self._pending.clear()
        self._before.clear()
        self._committed.clear()

    def committed(self) -> None:
        """The transaction committed: its rows are now the committed state."""
        if len(self._committed) + len(self._pending) > CACHE_LIMIT:
            self._committed.clear()
        self._committed.update(self._pending)
        self._conn = None
        self._pending.clear()
        self._before.clear()

    def forget(self) -> None:
        """Drop the cache (after a rollback rewrote rows behind it)."""
        self._committed.clear()

    # -- rows ----------------------------------------------------------------------------------

    def _current(self, table: str, key: Key) -> Row | None:
        slot = (table, key)
        row = self._pending.get(slot, _MISSING)
        if row is _MISSING:
            row = self._committed.get(slot, _MISSING)
            if row is _MISSING:
                ops = self.ops[table]
                found = self._conn.execute(ops.select, ops.key_params(key)).first()
                row = dict(found._mapping) if found is not None else None
                self._committed[slot] = row
        return row

    def get(self, table: str, *key: Any) -> Row | None:
        """A copy of the row with primary key `key`, or None."""
        row = self._current(table, key)
        return None if row is None else dict(row)

    def put(self, table: str, row: Row) -> None:
        """Insert or replace a whole row."""
        self._change(table, self.ops[table].key_of(row), dict(row))

    def delete(self, table: str, *key: Any) -> None:
        self._change(table, key, None)

    def restore(self, table: str, key: Key, image: Row | None) -> None:
        """Set a row back to a journaled image (no journal entry of its own)."""
        slot = (table, key)
        if slot not in self._before:
            self._before[slot] = self._current(table, key)
        added = self.ops[table].added
        if image is not None and added and not added.keys() <= image.keys():
            image = {**added, **image}
        self._pending[slot] = image

    def _change(self, table: str, key: Key, row: Row | None) -> None:
        slot = (table, key)
        current = self._current(table, key)
        if slot not in self._before:
            self._before[slot] = current
        if self.journaling and (self.block, table, key) not in self._journaled:
            self._journaled.add((self.block, table, key))
            self._journal.append({
                "block_number": self.block, "table_name": table, "row_key": json.dumps(list(key)),
                "image": None if current is None else json.dumps(current),
            })
        self._pending[slot] = row

    # -- writing -------------------------------------------------------------------------------

    def flush(self) -> None:
        """Write the transaction's changes and journal entries."""
        conn = self._conn
        by_table: dict[str, tuple[list, list, list]] = {}
        for (table, key), row in self._pending.items():
            before = self._before.get((table, key))
            inserts, updates, deletes = by_table.setdefault(table, ([], [], []))
            ops = self.ops[table]
            if row is None:
                if before is not None:
                    deletes.append(ops.key_params(key))
            elif before is None:
                inserts.append(row)
            elif row != before:
                params = ops.key_params(key)
                params.update({f"v_{c}": row[c] for c in ops.columns if c not in ops.pk})
                updates.append(params)
        for table, (inserts, updates, deletes) in by_table.items():
            ops = self.ops[table]
            if deletes:
                conn.execute(ops.delete, deletes)
            if updates:
                conn.execute(ops.update, updates)
            if inserts:
                conn.execute(ops.insert, inserts)
        if self._journal:
            conn.execute(MirrorJournal.__table__.insert(), self._journal)
            self._journal.clear()


def decode_key(row_key: str) -> Key:
    return tuple(json.loads(row_key))


def decode_image(image: str | None) -> Row | None:
    return None if image is None else json.loads(image)
