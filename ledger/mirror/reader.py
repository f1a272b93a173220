"""Read the mirror from any process: every read says which block it reflects."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session

from . import db as dbmod
from .follower import HALTED, BlockRef, MirrorHalted
from .models import MirrorCursor, TokenApproval, ValueAllowance, Voucher


@dataclass
class Snapshot:
    """A read-only session on one consistent state of the mirror, and the block it reflects."""

    session: Session
    block: BlockRef | None
    status: str
    message: str


class MirrorReader:
    """Readers of a mirror database (any number, in any process, beside its one writer).

    Args:
        db: a SQLAlchemy URL or a SQLite file path (the writer's).
    """

    def __init__(self, db: str):
        self.engine = dbmod.make_engine(db, reader=True)

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """A session whose queries all see one committed state, with that state's block."""
        with Session(self.engine) as session, session.begin():
            row = session.exec(select(MirrorCursor)).first()
            cursor = row[0] if row is not None else None
            yield Snapshot(
                session=session,
                block=BlockRef(cursor.block_number, cursor.block_hash) if cursor else None,
                status=cursor.status if cursor else "empty",
                message=cursor.message if cursor else "",
            )

    def block(self) -> BlockRef | None:
        """The block the mirror reflects now (None before its first commit)."""
        with self.snapshot() as snap:
            return snap.block

    def wait_for_block(self, number: int, timeout: float = 10.0, *, poll: float = 0.02) -> BlockRef:
        """Wait until the mirror has applied block `number` (read-your-writes); return its block.

        Raises:
            TimeoutError: not reached within `timeout` seconds.
            MirrorHalted: the mirror halted.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self.snapshot() as snap:
                if snap.status == HALTED:
                    raise MirrorHalted(snap.message)
                if snap.block is not None and snap.block.number >= number:
                    return snap.block
            if time.monotonic() >= deadline:
                raise TimeoutError(f"the mirror has not reached block {number} (it is at {snap.block})")
            time.sleep(poll)

    def close(self) -> None:
        self.engine.dispose()


def allowance(session: Session, token_id: int, operator: str) -> int:
    """What `operator` may move out of `token_id` (0 once a whole transfer lapsed it), as on chain."""
    voucher = session.get(Voucher, token_id)
    found = session.get(ValueAllowance, (token_id, operator))
    if voucher is None or voucher.burned or found is None or found.epoch != voucher.epoch:
        return 0
    return found.value


def approved(session: Session, token_id: int) -> str | None:
    """The address approved for the whole voucher (ERC-721 getApproved), or None."""
    voucher = session.get(Voucher, token_id)
    found = session.get(TokenApproval, token_id)
    if voucher is None or voucher.burned or found is None or found.epoch != voucher.epoch:
        return None
    return None if int(found.operator, 16) == 0 else found.operator
