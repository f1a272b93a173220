"""The mirror's writer: follow the chain and apply each event of our contracts to SQL once.

How it stays exact:

* Exactly once, in order. A page of blocks is applied in one database transaction, together
  with the event log rows (unique on chain id, block hash, log index) and the cursor (the last
  applied block's number and hash). A crash anywhere loses the whole transaction or none of it;
  a restart resumes after the cursor.
* Reorgs. A reorg that replaces up to `window` blocks is undone. The newest `window` blocks are
  applied with their headers: each block's hash and parent hash are kept (mirror_block), and each
  row change is journaled with the row's previous image (mirror_journal). Before going on, the
  mirror checks that the next block's parent is the cursor and that the cursor is still
  canonical; if not, it finds the newest block still on the canonical chain that can be rolled
  back to (a kept block, or the parent of the oldest, which is the common ancestor of a reorg
  exactly `window` deep), undoes everything after it from the journal, and goes on from there.
  The node's `removed` flag is not trusted (Anvil long reported it wrongly). A reorg deeper than
  the window, a head that went back past it, or a reorg that reaches a block applied without a
  journal (catch-up blocks, which a head that moved back can bring within the window again)
  halts the mirror with status "halted" and a message saying which: nothing is guessed.
* Catch-up. Blocks older than the window are final here: they are fetched in pages of up to
  `max_page` blocks, one eth_getLogs for all our contracts per page; a provider's range or size
  error halves the page, and each success doubles it again up to `max_page`. They carry no
  journal (it would double the writes of a catch-up), so they can never be undone.
* Coverage. The cursor records the contracts followed since the start block; a database that
  did not follow one the mirror follows now never fetched its events, and halts until rebuilt.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import DBAPIError

from ..compiler import compile_project
from ..deploy import Deployment
from ..exceptions import LedgerError, NodeError
from ..types import Event
from . import db as dbmod
from ..logs import LogDecoder
from .handlers import HANDLERS, TIMED
from .models import EventLog, MirrorBlock, MirrorCursor, MirrorJournal
from ..rpc import Header, Rpc, RpcError
from .store import Store, decode_image, decode_key

log = logging.getLogger("ledger.mirror")

#: Deployment field -> contract (artifact) name: the contracts the mirror follows (those the
#: deployment has: an old deployment file has no data_assets).
DEPLOYMENT_CONTRACTS = {
    "voucher": "ReceivableVoucher", "credit_lines": "CreditLines", "factoring": "Factoring",
    "data_assets": "DataAssetRegistry",
}

RUNNING = "running"
HALTED = "halted"


class MirrorHalted(LedgerError):
    """The mirror stopped on a condition it must not repair by itself (a reorg too deep)."""


@dataclass(frozen=True)
class BlockRef:
    """A block the mirror's state reflects: all its events, and none after it, are applied."""

    number: int
    hash: str


def contracts_of(deployment: Deployment) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(name, address, abi) of each contract of `deployment` the mirror follows."""
    artifacts = compile_project()
    found = []
    for field, name in DEPLOYMENT_CONTRACTS.items():
        address = getattr(deployment, field, None)
        if address:
            found.append((name, address, artifacts[name].abi))
    return found


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    raise TypeError(f"cannot store {type(value).__name__} in the event log")


class Mirror:
    """Follow one deployment's events into one database.

    Args:
        rpc_url: the node's JSON-RPC endpoint.
        db: a SQLAlchemy URL or a SQLite file path.
        deployment: the contracts to follow and their start block.
        window: how many recent blocks can be rolled back (the reorg window).
        max_page: the most blocks one eth_getLogs asks for.
        poll_interval: seconds between head polls when idle.
        contracts: (name, address, abi) to follow instead of the deployment's (tests).
    """

    def __init__(
        self,
        rpc_url: str,
        db: str,
        deployment: Deployment,
        *,
        window: int = 64,
        max_page: int = 2_000,
        poll_interval: float = 0.05,
        contracts: list[tuple[str, str, list[dict[str, Any]]]] | None = None,
    ):
        if window < 1 or max_page < 1:
            raise ValueError("window and max_page must be at least 1")
        self.deployment = deployment
        self.window = window
        self.max_page = max_page
        self.page = max_page
        self.poll_interval = poll_interval
        self.rpc = Rpc(rpc_url)
        contracts = contracts if contracts is not None else contracts_of(deployment)
        self.decoder = LogDecoder(contracts)
        #: The names of the contracts followed, as the cursor records them.
        self.followed = ",".join(sorted({name for name, _, _ in contracts}))
        self.engine: Engine = dbmod.make_engine(db)
        self.store = Store()
        self._lock: dbmod.WriterLock | None = None
        self._cursor: BlockRef | None = None
        self._status = RUNNING
        self._message = ""
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.error: BaseException | None = None
        #: Called after each commit with the new cursor (the benchmark measures latency with it).
        self.on_commit: Callable[[BlockRef], None] | None = None
        self._open()

    # -- life cycle ----------------------------------------------------------------------------

    def _open(self) -> None:
        chain_id = self.rpc.chain_id()
        if chain_id != self.deployment.chain_id:
            raise NodeError(f"the deployment is for chain {self.deployment.chain_id}, the node is chain {chain_id}")
        self._lock = dbmod.WriterLock(self.engine)
        try:
            dbmod.migrate(self.engine)
            with self.engine.connect() as conn:
                row = conn.execute(select(MirrorCursor)).first()
            if row is not None:
                if row.chain_id != chain_id or row.voucher.lower() != self.deployment.voucher.lower():
                    raise dbmod.ConfigurationError(
                        f"this database mirrors {row.voucher} on chain {row.chain_id}, not "
                        f"{self.deployment.voucher} on chain {chain_id}"
                    )
                self._cursor = BlockRef(row.block_number, row.block_hash)
                self._status, self._message = row.status, row.message
                missing = set(self.followed.split(",")) - set(row.contracts.split(","))
                if missing and self._status != HALTED:
                    self._status = HALTED
                    self._message = (
                        f"this database did not follow {', '.join(sorted(missing))} from the start block, so it "
                        "lacks its events: rebuild the mirror (ledger.mirror --rebuild)"
                    )
                    with self.engine.begin() as conn:
                        self._write_cursor(conn, self._cursor, HALTED, self._message)
                    log.error("mirror halted: %s", self._message)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop following, release the writer lock and the connections."""
        self.stop()
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        self.engine.dispose()
        self.rpc.close()

    def __enter__(self) -> Mirror:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- state ---------------------------------------------------------------------------------

    @property
    def cursor(self) -> BlockRef | None:
        """The last block applied (None before the first)."""
        return self._cursor

    @property
    def status(self) -> str:
        return self._status

    @property
    def message(self) -> str:
        return self._message

    def wait_for_block(self, number: int, timeout: float = 10.0) -> BlockRef:
        """Block until the mirror has applied block `number`; return the block it reflects.

        Raises:
            TimeoutError: not reached within `timeout` seconds.
            MirrorHalted: the mirror halted.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if self._status == HALTED:
                    raise MirrorHalted(self._message)
                cursor = self._cursor
                if cursor is not None and cursor.number >= number:
                    return cursor
                if self.error is not None:
                    raise MirrorHalted(f"the mirror stopped on an error: {self.error}") from self.error
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"the mirror has not reached block {number} (it is at {cursor})")
                self._changed.wait(min(left, 0.5))

    # -- following -----------------------------------------------------------------------------

    def sync(self) -> BlockRef | None:
        """Apply everything up to the current head; return the cursor.

        Raises:
            MirrorHalted: a reorg deeper than the window, now or in an earlier run.
        """
        while self.step():
            pass
        return self._cursor

    def run(self) -> None:
        """Follow the head until stop() (or a halt, which is raised)."""
        while not self._stop.is_set():
            try:
                progressed = self.step()
            except NodeError as error:  # the node is away: keep trying, as a follower must
                log.warning("mirror: %s; retrying", error)
                progressed = False
                self._stop.wait(1.0)
            except DBAPIError as error:  # so is the database (stopped, locked): the page rolled back
                log.warning("mirror: the database failed: %s; retrying", str(error).splitlines()[0])
                self.store.forget()
                progressed = False
                self._stop.wait(1.0)
            if not progressed:
                self._wake.wait(self.poll_interval)
                self._wake.clear()

    def poke(self) -> None:
        """Look at the head now rather than at the next poll (e.g. a transaction was just mined)."""
        self._wake.set()

    def start(self) -> Mirror:
        """Follow the head in a background thread."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run_thread, name="ledger-mirror", daemon=True)
            self._thread.start()
        return self

    def _run_thread(self) -> None:
        try:
            self.run()
        except BaseException as error:  # surfaced by wait_for_block
            self.error = error
            log.error("mirror stopped: %s", error)
            with self._changed:
                self._changed.notify_all()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()

    def step(self) -> bool:
        """Apply the next page of blocks, or repair a reorg. Return whether anything changed."""
        if self._status == HALTED:
            raise MirrorHalted(self._message)
        head = self.rpc.latest()
        cursor = self._cursor
        if cursor is not None:
            if head.number < cursor.number or (head.number == cursor.number and head.hash != cursor.hash):
                self._reorg(head)
                return True
            if head.number == cursor.number:
                return False
        first = cursor.number + 1 if cursor else self.deployment.start_block
        if first > head.number:
            return False
        final = head.number - self.window  # blocks up to here are beyond the reorg window
        if first <= final:
            return self._apply_range(first, min(final, first + self.page - 1), head, journaled=False)
        return self._apply_range(first, min(head.number, first + min(self.page, self.window) - 1), head, journaled=True)

    def _apply_range(self, first: int, last: int, head: Header, *, journaled: bool) -> bool:
        numbers = list(range(first, last + 1)) if journaled else sorted({first, last})
        headers = self.rpc.headers(numbers)
        if any(h is None for h in headers.values()):
            return True  # the chain got shorter since the head was read: look again
        cursor = self._cursor
        if cursor is not None and headers[first].parent_hash != cursor.hash:
            self._reorg(head)
            return True
        if journaled and any(headers[n].parent_hash != headers[n - 1].hash for n in numbers[1:]):
            return True  # the chain changed while we read it: read again
        try:
            raw_logs = self.rpc.logs(self.decoder.addresses, first, last)
        except RpcError as error:
            if error.is_range_error and last > first:
                self.page = max(1, (last - first + 1) // 2)
                log.info("mirror: %s; asking for %d blocks at a time", error.rpc_message, self.page)
                return True
            raise
        events = [e for e in map(self.decoder.decode, raw_logs) if e is not None]
        timed = sorted({e.block_number for e in events if (e.contract, e.name) in TIMED} - headers.keys())
        if timed:  # the timestamps some handlers record: only those blocks' headers
            more = self.rpc.headers(timed)
            if any(h is None for h in more.values()):
                return True
            headers = {**headers, **more}
        for raw in raw_logs:
            known = headers.get(int(raw["blockNumber"], 16))
            if known is not None and raw["blockHash"] != known.hash:
                return True  # logs of another fork than the headers: read again
        events.sort(key=lambda e: (e.block_number, e.log_index))
        times = {n: h.timestamp for n, h in headers.items()}
        self._apply(events, headers[last], {n: headers[n] for n in numbers} if journaled else {}, times)
        self.page = min(self.max_page, self.page * 2)
        return True

    # -- writing -------------------------------------------------------------------------------

    def _apply(self, events: list[Event], last: Header, kept: dict[int, Header], times: dict[int, int]) -> None:
        """Apply `events` (`times`: timestamps of their blocks, at least those of timed events)
        and move the cursor to `last`, in one transaction."""
        store = self.store
        chain_id = self.deployment.chain_id
        try:
            with self.engine.begin() as conn:
                store.begin(conn)
                rows = []
                for e in events:
                    store.block = e.block_number
                    store.journaling = e.block_number in kept
                    store.timestamp = times.get(e.block_number)
                    handler = HANDLERS.get((e.contract, e.name))
                    if handler is not None:
                        handler(store, e)
                    rows.append({
                        "chain_id": chain_id, "block_number": e.block_number, "block_hash": e.block_hash,
                        "log_index": e.log_index, "tx_hash": e.tx_hash, "contract": e.contract,
                        "address": e.address, "name": e.name,
                        "args": json.dumps(e.args, default=_json_default, separators=(",", ":")),
                    })
                store.flush()
                if rows:
                    conn.execute(EventLog.__table__.insert(), rows)
                if kept:
                    conn.execute(MirrorBlock.__table__.insert(), [
                        {"number": h.number, "hash": h.hash, "parent_hash": h.parent_hash} for h in kept.values()
                    ])
                horizon = last.number - self.window
                conn.execute(delete(MirrorBlock).where(MirrorBlock.number <= horizon))
                conn.execute(delete(MirrorJournal).where(MirrorJournal.block_number <= horizon))
                self._write_cursor(conn, BlockRef(last.number, last.hash))
        except BaseException:
            store.abort()
            raise
        store.committed()
        self._moved(BlockRef(last.number, last.hash))

    def _write_cursor(self, conn, cursor: BlockRef, status: str = RUNNING, message: str = "") -> None:
        values = {"block_number": cursor.number, "block_hash": cursor.hash, "status": status, "message": message}
        if conn.execute(update(MirrorCursor).where(MirrorCursor.id == 1).values(**values)).rowcount == 0:
            conn.execute(MirrorCursor.__table__.insert(), [{
                "id": 1, "chain_id": self.deployment.chain_id, "voucher": self.deployment.voucher,
                "contracts": self.followed, **values,
            }])

    def _moved(self, cursor: BlockRef) -> None:
        with self._changed:
            self._cursor = cursor
            self._changed.notify_all()
        if self.on_commit is not None:
            self.on_commit(cursor)

    # -- reorgs --------------------------------------------------------------------------------

    def _reorg(self, head: Header) -> None:
        """Roll back to the newest block still canonical that can be rolled back to, or halt.

        A block can be rolled back to when every block applied after it was journaled. Each kept
        header (mirror_block) is a journaled block, so those are the kept blocks from the cursor
        down to the first gap, and the parent of the oldest of them (its hash is that block's
        parent hash): so a reorg exactly `window` deep, whose common ancestor is the block just
        below the window, is undone. Below a gap lie blocks applied without a journal (catch-up)
        or whose journal left the window of an earlier, higher head; a head that moved back can
        bring them within the window again, and a reorg that reaches them halts the mirror.
        """
        cursor = self._cursor
        with self.engine.connect() as conn:
            kept = {r.number: (r.hash, r.parent_hash)
                    for r in conn.execute(select(MirrorBlock.number, MirrorBlock.hash, MirrorBlock.parent_hash))}
        known: dict[int, str] = {}  # block number -> hash, for every block that can be rolled back to
        lowest = cursor.number + 1  # the oldest block of the journaled run ending at the cursor
        while lowest - 1 in kept:
            lowest -= 1
            known[lowest] = kept[lowest][0]
        known[lowest - 1] = kept[lowest][1] if lowest in kept else cursor.hash
        candidates = sorted((n for n in known if n <= head.number), reverse=True)
        canonical = self.rpc.headers(candidates) if candidates else {}
        ancestor = next((n for n in candidates if canonical[n] is not None and canonical[n].hash == known[n]), None)
        if ancestor is not None:
            log.warning("mirror: reorg: rolling back from block %d to %d", cursor.number, ancestor)
            self._rollback(BlockRef(ancestor, known[ancestor]))
            return
        oldest = lowest - 1  # the oldest block that could be rolled back to
        if cursor.number - oldest < self.window and oldest >= self.deployment.start_block:
            # Blocks below `oldest` were applied, within the window, but cannot be undone.
            self._halt(
                f"a reorg at block {cursor.number} reaches below block {oldest}, the oldest it can be rolled back "
                f"to although the window is {self.window} blocks: blocks up to {oldest} were applied without an "
                f"undo journal (while catching up) or beyond the window of an earlier, higher head, and block "
                f"{oldest} is no longer on the canonical chain (the head is block {head.number}); rebuild the mirror "
                "(ledger.mirror --rebuild)")
        if head.number < oldest:
            why = f"the head went back to block {head.number}, below the oldest block kept ({oldest})"
        else:
            why = f"no block kept since {oldest} is still on the canonical chain"
        self._halt(f"reorg deeper than the window of {self.window} blocks at block {cursor.number}: {why}; "
                   "rebuild the mirror (ledger.mirror --rebuild)")

    def _rollback(self, to: BlockRef) -> None:
        """Undo every change after block `to.number`, in one transaction."""
        store = self.store
        store.forget()
        try:
            with self.engine.begin() as conn:
                store.begin(conn)
                store.journaling = False
                entries = conn.execute(
                    select(MirrorJournal).where(MirrorJournal.block_number > to.number).order_by(MirrorJournal.id.desc())
                ).all()
                for entry in entries:  # newest first: the oldest image of a row is written last
                    store.restore(entry.table_name, decode_key(entry.row_key), decode_image(entry.image))
                store.flush()
                conn.execute(delete(MirrorJournal).where(MirrorJournal.block_number > to.number))
                conn.execute(delete(MirrorBlock).where(MirrorBlock.number > to.number))
                conn.execute(delete(EventLog).where(EventLog.block_number > to.number))
                self._write_cursor(conn, to)
        except BaseException:
            store.abort()
            raise
        store.committed()
        store.forget()
        self.page = self.max_page
        self._moved(to)

    def _halt(self, message: str) -> None:
        with self.engine.begin() as conn:
            self._write_cursor(conn, self._cursor, HALTED, message)
        with self._changed:
            self._status, self._message = HALTED, message
            self._changed.notify_all()
        log.error("mirror halted: %s", message)
        raise MirrorHalted(message)

    # -- maintenance ---------------------------------------------------------------------------

    def rebuild(self) -> None:
        """Empty every mirror table, so the next sync starts again from the start block."""
        from .models import ALL_MODELS

        with self.engine.begin() as conn:
            for model in ALL_MODELS:
                conn.execute(delete(model))
        self.store.forget()
        with self._changed:
            self._cursor, self._status, self._message = None, RUNNING, ""
        self.page = self.max_page
