"""The gateway's engine room: the chain, the ledger, the mirror, the party keys and the
idempotent write path. Route handlers stay thin over this and `ledger`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, select

from ledger import Chain, Ledger, Role
from ledger.deploy import Deployment
from ledger.exceptions import ChainError, ConfigurationError
from ledger.mirror import Member, Mirror, MirrorReader
from ledger.mirror.db import make_engine
from ledger.mirror.follower import BlockRef
from ledger.types import Receipt

from . import errors
from .config import Settings
from .crypto import API_KEYS, APPRAISAL_REPORTS, DOCUMENTS, PARTY_KEYS, KeyBox, hash_api_key, new_api_key
from .idempotency import Idempotent, Journal, JournaledChain, current_journal
from .models import AppraisalReport, Document, GatewayInstance, IdempotencyRecord, Party

log = logging.getLogger("gateway")

#: Roles the operator may give a party through the gateway (OPERATOR stays with the platform).
GRANTABLE = (Role.CORE_ENTERPRISE, Role.SUPPLIER, Role.FINANCIER, Role.APPRAISER, Role.EXCHANGE, Role.AUDITOR)
GATEWAY_TABLES = [Party.__table__, IdempotencyRecord.__table__, Document.__table__, AppraisalReport.__table__,
                  GatewayInstance.__table__]


def _is_refusal(error: Exception) -> bool:
    """Whether `error` is a refusal (4xx), not a failure of the chain, mirror or database."""
    try:
        return errors.response_of(error)[0] < 500
    except Exception:
        return False


@dataclass(frozen=True)
class Idempotency:
    """An Idempotency-Key and the fingerprint of the request it came with."""

    key: str
    request_hash: str


@dataclass
class Outcome:
    """What a write did: the response body (ids and the like) and the last receipt it produced."""

    body: dict[str, Any]
    receipt: Receipt | None
    status: int = 200


def block_json(block: BlockRef | None) -> dict[str, Any] | None:
    return None if block is None else {"number": block.number, "hash": block.hash}


def load_deployment(settings: Settings, chain: Chain) -> Deployment:
    if settings.deployment is None:
        return Deployment.load(chain.chain_id)
    if not settings.deployment.is_file():
        raise ConfigurationError(f"no deployment file at {settings.deployment}")
    return Deployment(**json.loads(settings.deployment.read_text()))


class Gateway:
    """One gateway process's connections and services.

    Args:
        settings: the configuration (gateway.config.Settings).
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        # Sends inside an idempotent write are recorded before they go out (gateway.idempotency).
        self.chain: Chain = JournaledChain(settings.rpc_url)
        self.deployment = load_deployment(settings, self.chain)
        self.ledger = Ledger(self.chain, self.deployment)
        self.operator: LocalAccount = Account.from_key(settings.operator_key.get_secret_value())
        self.keys = KeyBox(settings.master_secret, PARTY_KEYS)
        self.documents = KeyBox(settings.master_secret, DOCUMENTS)
        self.reports = KeyBox(settings.master_secret, APPRAISAL_REPORTS)
        self.api_keys = KeyBox(settings.master_secret, API_KEYS)
        self.engine = make_engine(settings.db)
        SQLModel.metadata.create_all(self.engine, tables=GATEWAY_TABLES)
        self.idempotent = Idempotent(self)
        self.mirror: Mirror | None = None
        if settings.run_mirror:
            self.mirror = Mirror(settings.rpc_url, settings.mirror_db, self.deployment)
        self.reader = MirrorReader(settings.mirror_db)
        self._accounts: dict[int, LocalAccount] = {}
        self._accounts_lock = threading.Lock()
        self._parties: dict[str, Party] = {}  # by API key hash (see party_by_api_key)
        self._timing = threading.local()
        self._resource_locks: dict[tuple[str, int], threading.Lock] = {}
        #: The operator as the idempotency records' party (id 0: no registered party has it).
        self.operator_party = Party(id=0, name="operator", address=self.operator.address, api_key_hash="")

    def __repr__(self) -> str:  # never show settings (secrets) or keys
        return f"Gateway(chain={self.chain.chain_id}, voucher={self.deployment.voucher})"

    def start(self) -> Gateway:
        if self.mirror is not None:
            self.mirror.start()
        self.idempotent.start()
        return self

    def close(self) -> None:
        self.idempotent.close()
        if self.mirror is not None:
            self.mirror.close()
        self.reader.close()
        self.engine.dispose()

    # -- mirror ----------------------------------------------------------------------------------

    def wait_for_block(self, number: int) -> BlockRef:
        """Wait until the mirror has applied block `number` (read-your-writes)."""
        timeout = self.settings.write_timeout
        if self.mirror is not None:
            cursor = self.mirror.cursor
            if cursor is None or cursor.number < number:
                self.mirror.poke()  # the block is mined: no need to wait for the next poll
            return self.mirror.wait_for_block(number, timeout)
        return self.reader.wait_for_block(number, timeout)

    def snapshot(self):
        return self.reader.snapshot()

    def fetch(self, model, key):
        """One mirror row by primary key, detached (usable after the snapshot ends), or None."""
        with self.snapshot() as snap:
            row = snap.session.get(model, key)
            if row is not None:
                snap.session.expunge(row)
            return row

    # -- parties ---------------------------------------------------------------------------------

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def party_by_api_key(self, api_key: str) -> Party | None:
        """The party of an API key. Found parties are kept in memory by the key's hash: a party's
        row never changes once registered (no endpoint rotates or deletes keys), and the look-up
        was a tenth of a write's CPU."""
        digest = hash_api_key(api_key)
        party = self._parties.get(digest)
        if party is None:
            with self.session() as s:
                party = s.exec(select(Party).where(Party.api_key_hash == digest)).first()
            if party is not None:
                self._parties[digest] = party
        return party

    def check_own_address(self, address: str) -> None:
        """Refuse an address a party cannot bring (422): the operator's own (its API key would be
        bound to the operator's account) or a contract's (code at the address: no key signs for
        it). The zero address never gets here (validation.Address). An account delegated under
        EIP-7702 (code 0xef0100 || address) still has its key and may register."""
        if address.lower() == self.operator.address.lower():
            raise errors.InvalidInput("this is the operator's own address: a party needs an account of its own",
                                      address=address)
        code = bytes(self.chain.w3.eth.get_code(address))
        if code and not (len(code) == 23 and code.startswith(b"\xef\x01\x00")):
            raise errors.InvalidInput("this address is a contract (it has code): a party is an account with a key",
                                      address=address, code_size=len(code))

    def register(self, name: str, roles: Iterable[Role], address: str | None = None) -> tuple[Party, str, BlockRef]:
        """Create a party: its key (unless it brings its own address), membership and API key.

        The party's row, with its key sealed, is committed before anything is sent, marked
        pending (`api_key_hash` "pending-<id>", which no SHA-256 equals): an outage after the
        admission was mined loses nothing. Run inside an idempotent write, the pending row belongs
        to the write's record, so a retry with the same Idempotency-Key finds it and the key it
        journaled, finds the funding and admission on chain (never sent twice), and finishes.

        Returns:
            The party, its API key (shown once, stored only as a hash) and the mirror's block.
        """
        roles = list(dict.fromkeys(roles))
        if address is not None:
            self.check_own_address(address)
        journal = current_journal()
        marker = f"pending-{journal.record_id}" if journal is not None else f"pending-{uuid.uuid4().hex}"
        with self.session() as s:
            party = s.exec(select(Party).where(Party.api_key_hash == marker)).first()
        if party is None:
            account = Account.create() if address is None else None
            party = Party(name=name, address=account.address if account is not None else address,
                          api_key_hash=marker,
                          sealed_key=self.keys.seal(bytes(account.key), account.address.encode())
                          if account is not None else None)
            with self.session() as s:
                s.add(party)
                try:
                    s.commit()
                except IntegrityError:
                    raise errors.PartyExists(f"{party.address} is already a party", address=party.address) from None
                s.refresh(party)
        else:
            log.warning("finishing the pending registration of %s (%s)", party.id, party.address)
        address = party.address
        try:
            if party.sealed_key is not None and self.settings.fund_wei:
                self.fund(address, self.settings.fund_wei)
            receipt = self.ledger.admit(self.operator, address, roles)
        except Exception as error:
            if party.sealed_key is None and _is_refusal(error):
                # Nothing was mined for an address brought along: it may register again.
                with self.session() as s:
                    s.delete(s.get(Party, party.id))
                    s.commit()
            raise
        block = self.wait_for_block(receipt.block_number)
        api_key = new_api_key()
        with self.session() as s:
            row = s.get(Party, party.id)
            row.api_key_hash = hash_api_key(api_key)
            s.add(row)
            s.commit()
            s.refresh(row)
            party = row
        if party.sealed_key is not None:
            with self._accounts_lock:
                self._accounts[party.id] = self.account_of_key(party)
        log.info("registered party %s (%s) with roles %s", party.id, address, [r.name for r in roles])
        return party, api_key, block

    def account_of_key(self, party: Party) -> LocalAccount:
        return Account.from_key(self.keys.open(party.sealed_key, party.address.encode()))

    def account_of(self, party: Party) -> LocalAccount:
        """The party's signing key, decrypted once per process."""
        with self._accounts_lock:
            account = self._accounts.get(party.id)
            if account is None:
                if party.sealed_key is None:
                    raise errors.Conflict(
                        "this party brings its own key: sign the transaction yourself and POST it to "
                        "/v1/transactions", address=party.address)
                account = self.account_of_key(party)
                self._accounts[party.id] = account
            return account

    def roles_of(self, address: str) -> tuple[bool, set[Role]]:
        """Whether `address` is a member and its roles, as the mirror reflects them."""
        member = self.fetch(Member, address)
        if member is None:
            return False, set()
        return bool(member.is_member), set(Role.from_mask(member.roles))

    def fund(self, to: str, wei: int) -> Receipt:
        """Send `wei` of the native currency from the operator (gas for a new managed key)."""
        try:
            return self.chain.send_value(self.operator, to, wei)
        except ChainError as error:
            raise ChainError(f"the node refused to fund {to}: {error}") from error

    # -- writes ----------------------------------------------------------------------------------

    @contextmanager
    def locked(self, *resources: tuple[str, int]):
        """Hold the locks of `resources` (e.g. ("voucher", 7)) from the pre-check until mined.

        Concurrent writes to one voucher then run one after another, so each one's gas estimate
        sees the previous one mined: a split of value that is already gone is refused (4xx) before
        anything is sent instead of reverting on-chain. Locks are taken in sorted order (no
        deadlock between a merge of a into b and one of b into a). Per process: behind a load
        balancer, route a voucher's writes to one process or accept the on-chain revert (409).
        """
        with self._accounts_lock:
            locks = [self._resource_locks.setdefault(r, threading.Lock()) for r in sorted(set(resources))]
        for lock in locks:
            lock.acquire()
        try:
            yield
        finally:
            for lock in reversed(locks):
                lock.release()

    def perform(self, action: Callable[[], Outcome]) -> tuple[int, dict[str, Any]]:
        """Run a write and wait until the mirror has applied its block.

        How long each step took goes to `self.timing` (this thread's last write), which write()
        returns as a Server-Timing header: `chain` (checks, signing, sending, mining) and
        `mirror` (waiting for the mirror to apply the block).
        """
        started = time.perf_counter()
        self._timing.value = {}
        outcome = action()
        mined = time.perf_counter()
        self._timing.value["chain"] = mined - started
        body = dict(outcome.body)
        if outcome.receipt is not None:
            body.update(tx_hash=outcome.receipt.tx_hash, mined_in=outcome.receipt.block_number)
            try:
                body["block"] = block_json(self.wait_for_block(outcome.receipt.block_number))
            except TimeoutError:
                # Mined, so done: say so (202) rather than fail a write that happened.
                body.update(block=None, detail="mined; the mirror has not applied it yet")
                return 202, body
            finally:
                self._timing.value["mirror"] = time.perf_counter() - mined
        return outcome.status, body

    def _server_timing(self) -> dict[str, str]:
        timing = getattr(self._timing, "value", None) or {}
        self._timing.value = {}
        if not timing:
            return {}
        return {"Server-Timing": ", ".join(f"{k};dur={v * 1000:.1f}" for k, v in timing.items())}

    def write(self, party: Party, idempotency: Idempotency | None, action: Callable[[], Outcome], *,
              reveal: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> JSONResponse:
        """Run a write once per Idempotency-Key: a retry gets the first result, nothing is sent twice.

        A refusal is a result too (stored and replayed): nothing was sent for it. A failure of the
        chain, mirror or database (5xx) is not: a retry resumes the write without sending again
        what it already sent (gateway.idempotency).

        `reveal` turns a stored body (the first run's or a replayed one) into the answer: a
        registration stores its API key sealed and reveals it to whoever retries with the key.
        """
        shown = reveal or (lambda body: body)
        if idempotency is None:
            status, body = self.perform(action)
            return JSONResponse(shown(body), status_code=status, headers=self._server_timing())
        claimed = self.idempotent.claim(party, idempotency)
        if not isinstance(claimed, Journal):
            status, body = claimed
            return JSONResponse(shown(body), status_code=status, headers={"Idempotent-Replayed": "true"})
        status, body = self.idempotent.run(claimed, lambda: self.perform(action))
        return JSONResponse(shown(body), status_code=status, headers=self._server_timing())
