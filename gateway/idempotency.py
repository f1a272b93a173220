"""Idempotent writes that survive a crash of the gateway and an outage of the chain or database.

A write sent with an Idempotency-Key claims a record (gateway_idempotency) before anything is
signed; a retry with the same key gets the first result. What makes "exactly one effect" hold
when the first attempt never finished:

* **Steps are recorded before they are sent.** Each transaction of the write (its sender,
  target, calldata and value) is committed to the record before it is handed to the chain, in an
  update that succeeds only while this instance still owns the record; its hash is added once
  mined. A crash can lose the answer, never the knowledge that something may have been sent.
* **A failure of the infrastructure is not a result.** A write that fails because the chain,
  the mirror or the database is away (5xx) releases its record (owner None, steps kept), and a
  retry with the same key takes it over. Refusals (4xx) and successes are final and replayed.
* **A dead owner is noticed.** Every gateway process keeps a heartbeat row (gateway_instance);
  a pending record whose owner has been silent for INSTANCE_TTL seconds (SIGKILL, power loss)
  is taken over by the next retry. One process also takes over its own records it no longer
  runs (their release failed while the database was away).
* **Taking over** looks each recorded step up on chain: by its hash, else as a transaction from
  its sender with its target, calldata and value mined since the record's start block. While the
  sender still has transactions waiting in the node's pool the takeover is refused (409
  IdempotencyInProgress: retry shortly), since one of them may be the step. Then the write runs
  again: a step found on chain is not sent again, its receipt stands in for it. If the re-run
  is refused before it reaches such a step (its pre-checks see the step's effect, e.g. the
  voucher already moved), the answer is what the steps did: 200 with ``"recovered": true``, the
  transactions and their decoded events.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests
from eth_account.signers.local import LocalAccount
from sqlalchemy import inspect, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from ledger import Chain
from ledger.exceptions import TransactionReverted
from ledger.types import Receipt

from . import errors
from .models import GatewayInstance, IdempotencyRecord

if TYPE_CHECKING:
    from .models import Party
    from .service import Gateway, Idempotency

log = logging.getLogger("gateway")

#: Seconds without a heartbeat after which a gateway instance counts as gone.
INSTANCE_TTL = 5.0
HEARTBEAT_INTERVAL = 1.0
#: Blocks fetched per JSON-RPC batch while looking for a step's transaction.
SCAN_BATCH = 100
#: Blocks before the mirror's cursor a write's start block is put (reorgs move the head back).
START_MARGIN = 64

_journal: ContextVar[Journal | None] = ContextVar("gateway_write_journal", default=None)


def current_journal() -> Journal | None:
    """The journal of the idempotent write running in this context, if any."""
    return _journal.get()


class WriteDiverged(errors.ApiError):
    """A resumed write asked for another transaction than the one its first attempt sent."""

    status = 409


@dataclass
class Journal:
    """The steps of one idempotent write, and the receipts of those a takeover found on chain."""

    owner: Idempotent
    record_id: int
    steps: list[dict[str, Any]] = field(default_factory=list)
    found: list[Receipt | TransactionReverted] = field(default_factory=list)
    position: int = 0

    @property
    def unreached(self) -> bool:
        """Whether steps found on chain were not reached by the re-run."""
        return self.position < len(self.found)

    def step(self, sender: str, to: str, data: str, value: int, send: Callable[[], Receipt]) -> Receipt:
        """Send one transaction of the write, or stand in the receipt of the one already mined."""
        k = self.position
        self.position += 1
        want = {"sender": sender, "to": to, "data": data.lower(), "value": value}
        if k < len(self.found):
            recorded = {name: self.steps[k].get(name) for name in want}
            if recorded != want:
                raise WriteDiverged("the retried write asked for another transaction than its first attempt sent",
                                    step=k, tx_hash=getattr(self.found[k], "tx_hash", None))
            found = self.found[k]
            if isinstance(found, TransactionReverted):
                raise found
            return found
        del self.steps[k:]
        # A block the step's transaction cannot be in or before: where a takeover looks for it.
        self.steps.append({**want, "after": self.owner.cursor()})
        self.owner.save_steps(self)  # raises (nothing sent) if the record is no longer ours
        try:
            receipt = send()
        except TransactionReverted as error:
            if error.tx_hash:
                self._note_hash(k, error.tx_hash)
            raise
        self._note_hash(k, receipt.tx_hash)
        return receipt

    def _note_hash(self, k: int, tx_hash: str) -> None:
        self.steps[k]["tx_hash"] = tx_hash
        try:
            self.owner.save_steps(self)
        except Exception as error:  # a takeover finds the step by its calldata anyway
            log.warning("could not record transaction %s of idempotent write %s: %s", tx_hash, self.record_id, error)


class JournaledChain(Chain):
    """A Chain whose sends, inside an idempotent write, go through that write's Journal."""

    def transact(self, sender: LocalAccount, fn, *, gas: int | None = None) -> Receipt:
        journal = _journal.get()
        address = getattr(fn, "address", None)
        if journal is None or address is None:  # not in a write, or a deployment
            return super().transact(sender, fn, gas=gas)
        data = fn._encode_transaction_data()
        return journal.step(sender.address, address, data, 0, lambda: super(JournaledChain, self).transact(
            sender, fn, gas=gas))

    def send_value(self, sender: LocalAccount, to: str, wei: int) -> Receipt:
        journal = _journal.get()
        if journal is None:
            return super().send_value(sender, to, wei)
        return journal.step(sender.address, to, "0x", wei, lambda: super(JournaledChain, self).send_value(
            sender, to, wei))


class Idempotent:
    """The idempotency records of one gateway instance: claim, run, finish or release, take over."""

    def __init__(self, gateway: Gateway):
        self.gateway = gateway
        self.instance = uuid.uuid4().hex
        self._running: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        add_missing_columns(gateway.engine)

    # -- heartbeat -----------------------------------------------------------------------------

    def start(self) -> None:
        self._beat()
        with self.gateway.engine.begin() as conn:  # heartbeats of processes long gone
            table = GatewayInstance.__table__
            conn.execute(table.delete().where(table.c.seen_at < time.time() - 86_400))
        self._thread = threading.Thread(target=self._heartbeat, name="gateway-heartbeat", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        try:  # a clean stop: this instance's abandoned writes may be taken over at once
            with self.gateway.session() as s:
                row = s.get(GatewayInstance, self.instance)
                if row is not None:
                    s.delete(row)
                    s.commit()
        except Exception as error:
            log.warning("could not remove the heartbeat of instance %s: %s", self.instance, error)

    def _beat(self) -> None:
        with self.gateway.session() as s:
            row = s.get(GatewayInstance, self.instance) or GatewayInstance(id=self.instance)
            row.seen_at = time.time()
            s.add(row)
            s.commit()

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_INTERVAL):
            try:
                self._beat()
            except Exception as error:  # the database is away: keep trying
                log.debug("heartbeat failed: %s", error)

    def _alive(self, instance: str) -> bool:
        with self.gateway.session() as s:
            row = s.get(GatewayInstance, instance)
        return row is not None and row.seen_at > time.time() - INSTANCE_TTL

    # -- records -------------------------------------------------------------------------------

    def cursor(self) -> int:
        """The mirror's block now (it is at or behind the head), or the deployment's start block."""
        mirror = self.gateway.mirror
        block = mirror.cursor if mirror is not None else None
        if block is None:
            try:
                block = self.gateway.reader.block()
            except Exception:
                block = None
        return block.number if block is not None else self.gateway.deployment.start_block

    def _start_block(self) -> int:
        """A block no transaction of a write starting now can be in (or before)."""
        try:
            cursor = self.gateway.reader.block()
        except Exception:
            cursor = None
        start = self.gateway.deployment.start_block
        return max(start, cursor.number - START_MARGIN) if cursor is not None else start

    def claim(self, party: Party, idem: Idempotency) -> Journal | tuple[int, dict]:
        """Claim the key: a Journal to run the write with, or the first request's (status, body)."""
        record = IdempotencyRecord(party_id=party.id, key=idem.key, request_hash=idem.request_hash,
                                   owner=self.instance, start_block=self._start_block())
        with self.gateway.session() as s:
            s.add(record)
            try:
                s.commit()
                with self._lock:
                    self._running.add(record.id)
                return Journal(self, record.id)
            except IntegrityError:
                s.rollback()
        deadline = time.monotonic() + self.gateway.settings.write_timeout + 30
        while True:
            with self.gateway.session() as s:
                record = s.exec(select(IdempotencyRecord).where(
                    IdempotencyRecord.party_id == party.id, IdempotencyRecord.key == idem.key)).one()
            if record.request_hash != idem.request_hash:
                raise errors.IdempotencyKeyReused(
                    "this Idempotency-Key was used for a different request", idempotency_key=idem.key)
            if record.state == "done":
                return record.status_code, json.loads(record.response)
            if self._abandoned(record) and self._take(record):
                return self._resume(record)
            if time.monotonic() > deadline:
                raise errors.IdempotencyInProgress("the first request with this key is still running",
                                                   idempotency_key=idem.key)
            time.sleep(0.05)

    def _abandoned(self, record: IdempotencyRecord) -> bool:
        if record.owner is None:
            return True
        if record.owner == self.instance:
            with self._lock:
                return record.id not in self._running
        return not self._alive(record.owner)

    def _take(self, record: IdempotencyRecord) -> bool:
        table = IdempotencyRecord.__table__
        owner = table.c.owner.is_(None) if record.owner is None else table.c.owner == record.owner
        with self.gateway.engine.begin() as conn:
            taken = conn.execute(update(table).where(table.c.id == record.id, table.c.state == "pending", owner)
                                 .values(owner=self.instance)).rowcount == 1
        if taken:
            with self._lock:
                self._running.add(record.id)
            log.warning("taking over idempotent write %s (key %r) from %s", record.id, record.key,
                        record.owner or "a failed attempt")
        return taken

    def _resume(self, record: IdempotencyRecord) -> Journal:
        journal = Journal(self, record.id, json.loads(record.steps or "[]"))
        try:
            journal.found = self._find_steps(journal.steps, record.start_block or 0)
        except BaseException:
            self._release(journal)
            raise
        return journal

    def save_steps(self, journal: Journal) -> None:
        table = IdempotencyRecord.__table__
        with self.gateway.engine.begin() as conn:
            saved = conn.execute(update(table).where(table.c.id == journal.record_id, table.c.owner == self.instance,
                                                     table.c.state == "pending")
                                 .values(steps=json.dumps(journal.steps))).rowcount == 1
        if not saved:
            raise errors.IdempotencyInProgress("another gateway instance took this write over; nothing was sent",
                                               record=journal.record_id)

    def finish(self, journal: Journal, status: int, body: dict) -> None:
        table = IdempotencyRecord.__table__
        try:
            with self.gateway.engine.begin() as conn:
                done = conn.execute(update(table).where(table.c.id == journal.record_id, table.c.owner == self.instance)
                                    .values(state="done", status_code=status, response=json.dumps(body),
                                            steps=json.dumps(journal.steps))).rowcount == 1
            if not done:
                log.warning("idempotent write %s was taken over before it finished here", journal.record_id)
        finally:
            with self._lock:
                self._running.discard(journal.record_id)

    def _release(self, journal: Journal) -> None:
        table = IdempotencyRecord.__table__
        try:
            with self.gateway.engine.begin() as conn:
                conn.execute(update(table).where(table.c.id == journal.record_id, table.c.owner == self.instance)
                             .values(owner=None, steps=json.dumps(journal.steps)))
        except Exception as error:  # still ours but not running: a retry here takes it over
            log.warning("could not release idempotent write %s: %s", journal.record_id, error)
        finally:
            with self._lock:
                self._running.discard(journal.record_id)

    # -- running -------------------------------------------------------------------------------

    def run(self, journal: Journal, perform: Callable[[], tuple[int, dict]]) -> tuple[int, dict]:
        """Run the write with `journal`; store its result, or release it on a 5xx."""
        token = _journal.set(journal)
        try:
            status, body = perform()
        except Exception as error:
            status, body = self._failed(journal, error)
        finally:
            _journal.reset(token)
        if status >= 500:
            self._release(journal)
            body = {**body, "retry": "the write is not final: retry with the same Idempotency-Key"}
        else:
            self.finish(journal, status, body)
        return status, body

    def _failed(self, journal: Journal, error: Exception) -> tuple[int, dict]:
        try:
            status, body = errors.response_of(error)
        except Exception:
            log.exception("write failed")
            return 500, {"error": "InternalError", "detail": "the write failed; its outcome is unknown"}
        if status < 500 and journal.unreached:
            return self._recovered(journal)
        return status, body

    def _recovered(self, journal: Journal) -> tuple[int, dict]:
        """The answer of a resumed write whose re-run stopped before the steps already mined."""
        receipts = [r for r in journal.found if isinstance(r, Receipt)]
        if not receipts:
            raise journal.found[0]
        last = receipts[-1]
        body: dict[str, Any] = {
            "recovered": True,
            "detail": "the gateway stopped while running this write; these transactions of it were mined",
            "tx_hash": last.tx_hash, "mined_in": last.block_number,
            "transactions": [{"tx_hash": r.tx_hash, "block_number": r.block_number, "events": [
                {"contract": e.contract, "name": e.name, **{k: errors.jsonable(v) for k, v in e.args.items()}}
                for e in r.events]} for r in receipts],
        }
        try:
            block = self.gateway.wait_for_block(last.block_number)
            body["block"] = {"number": block.number, "hash": block.hash}
        except TimeoutError:
            body["block"] = None
        return 200, body

    # -- finding the steps on chain --------------------------------------------------------------

    def _find_steps(self, steps: list[dict], start_block: int) -> list[Receipt | TransactionReverted]:
        """The outcome of each recorded step found on chain, in order, up to the first not found."""
        chain = self.gateway.chain
        found: list[Receipt | TransactionReverted] = []
        used: set[str] = set()
        for k, step in enumerate(steps):
            # Mined after the block the mirror was at when the step was recorded, not in it.
            since = step["after"] + 1 if "after" in step else start_block
            tx_hash = step.get("tx_hash") or self._scan(step, since, used)
            receipt = self._receipt(tx_hash) if tx_hash else None
            if receipt is None:
                pending = int(chain.w3.eth.get_transaction_count(step["sender"], "pending"))
                mined = int(chain.w3.eth.get_transaction_count(step["sender"], "latest"))
                if pending > mined:
                    raise errors.IdempotencyInProgress(
                        "a transaction of this write's sender is still waiting to be mined; retry shortly",
                        sender=step["sender"])
                del steps[k:]  # never mined, and nothing after it was sent
                break
            step["tx_hash"] = tx_hash
            used.add(tx_hash.lower())
            found.append(receipt)
        return found

    def _receipt(self, tx_hash: str) -> Receipt | TransactionReverted | None:
        from web3.exceptions import TransactionNotFound

        chain = self.gateway.chain
        try:
            raw = chain.w3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None
        if raw["status"] != 1:
            return TransactionReverted(f"transaction {tx_hash} reverted", tx_hash=tx_hash)
        return chain.receipt(raw)

    def _scan(self, step: dict, start_block: int, used: set[str]) -> str | None:
        """The hash of the first transaction since `start_block` that is this step, or None."""
        url = self.gateway.settings.rpc_url
        head = int(self.gateway.chain.w3.eth.block_number)
        sender, to, data = step["sender"].lower(), step["to"].lower(), step["data"].lower()
        with requests.Session() as http:
            for first in range(start_block, head + 1, SCAN_BATCH):
                numbers = range(first, min(head, first + SCAN_BATCH - 1) + 1)
                body = [{"jsonrpc": "2.0", "id": n, "method": "eth_getBlockByNumber", "params": [hex(n), True]}
                        for n in numbers]
                replies = http.post(url, json=body, timeout=60).json()
                for reply in sorted(replies, key=lambda r: r["id"]):
                    for tx in (reply.get("result") or {}).get("transactions", []):
                        if (tx["from"].lower() == sender and (tx.get("to") or "").lower() == to
                                and tx["input"].lower() == data and int(tx["value"], 16) == step["value"]
                                and tx["hash"].lower() not in used and not self._claimed_elsewhere(tx["hash"])):
                            return tx["hash"]
        return None

    def _claimed_elsewhere(self, tx_hash: str) -> bool:
        """Whether another write recorded `tx_hash` as its own (the same call, sent by another key)."""
        table = IdempotencyRecord.__table__
        with self.gateway.engine.connect() as conn:
            found = conn.execute(select(table.c.id).where(table.c.steps.contains(tx_hash))).first()
        return found is not None


def add_missing_columns(engine) -> None:
    """Add the idempotency record's newer columns to a database created before them."""
    table = IdempotencyRecord.__table__
    have = {c["name"] for c in inspect(engine).get_columns(table.name)}
    with engine.begin() as conn:
        for column in table.columns:
            if column.name not in have:
                kind = column.type.compile(engine.dialect)
                conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))
