"""A connection to an EVM JSON-RPC endpoint that signs locally and sends through a pipeline.

Many threads may send at once (the gateway does): their transactions meet in one background
`Pipeline`, which checks (eth_estimateGas), numbers, signs and sends them in JSON-RPC batches
and collects their receipts in batches. A transaction then costs a share of three HTTP round
trips instead of five or more of its own, and web3.py's middleware is out of the hot path.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import TransactionNotFound
from web3.middleware import ExtraDataToPOAMiddleware

from .errors import ErrorDecoder
from .exceptions import ChainError, LedgerError, NodeError, TransactionReverted
from .logs import LogDecoder
from .rpc import Rpc
from .types import Event, Receipt

log = logging.getLogger("ledger.chain")

#: Gas limit = estimate × this, so a transaction mined a little later still fits.
GAS_MARGIN = 1.25
#: Gas limit = the largest estimate seen for the same function × this, when not estimated anew.
CACHED_GAS_MARGIN = 2.0
#: Estimate a function's gas anew every this many calls (the rest are checked with eth_call).
REESTIMATE_EVERY = 32
#: The most transactions the pipeline checks and sends in one round, and of one sender.
MAX_ROUND = 256
MAX_PER_SENDER = 16
#: How many receipts read before anyone waited for them are kept (see Pipeline._hand_out).
UNCLAIMED_KEPT = 4096


class Chain:
    """Web3 plus local signing, per-sender nonces, error translation and event decoding.

    Args:
        url: JSON-RPC endpoint (http://...).
        request_timeout: seconds before an RPC request fails.
    """

    def __init__(self, url: str, *, request_timeout: float = 30.0):
        self.url = url
        self.w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": request_timeout}))
        # Besu/QBFT and other PoA chains put more than 32 bytes in extraData.
        self.w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
        try:
            self.chain_id = self.w3.eth.chain_id
        except Exception as error:  # requests' and web3's connection errors alike
            raise NodeError(f"no EVM node answers at {url}: {error}") from error
        self.request_timeout = request_timeout
        self._nonces: dict[str, int] = {}
        self._nonce_lock = threading.Lock()
        self._fee_cache: tuple[float, int] | None = None
        self._abis: list[list[dict]] = []
        self.errors = ErrorDecoder([])
        self._events: dict[tuple[str, bytes], tuple[str, Any]] = {}
        self._contracts: list[tuple[str, str, list[dict]]] = []
        self._logs = LogDecoder([])
        self._pipeline: Pipeline | None = None
        self._pipeline_lock = threading.Lock()
        self.gas_book = GasBook()

    # -- registration of our contracts ---------------------------------------------------------

    def register(self, name: str, contract: Any) -> None:
        """Decode `contract`'s errors and events from now on."""
        self._abis.append(contract.abi)
        self.errors = ErrorDecoder(self._abis)
        for event in contract.events:
            abi = event.abi
            topic = bytes(Web3.keccak(text=f"{abi['name']}({','.join(i['type'] for i in abi['inputs'])})"))
            self._events[(contract.address.lower(), topic)] = (name, event())
        self._contracts.append((name, contract.address, contract.abi))
        self._logs = LogDecoder(self._contracts)

    # -- sending ---------------------------------------------------------------------------------

    def transact(self, sender: LocalAccount, fn: ContractFunction | ContractConstructor, *, gas: int | None = None) -> Receipt:
        """Sign `fn` as `sender`, send it, wait for it to be mined and return its receipt.

        A refusal surfaces before anything is sent: the gas estimate runs the call and a revert
        is raised as the contract's custom error (ledger.exceptions). Safe from many threads.

        Raises:
            TransactionReverted: the call reverts (a ContractError subclass where decodable).
            ChainError: the node refused or lost the transaction.
        """
        if isinstance(fn, ContractConstructor):
            data = fn.build_transaction({
                "from": sender.address, "chainId": self.chain_id, "nonce": 0, "gas": 1,
                "maxFeePerGas": 1, "maxPriorityFeePerGas": 0,
            })["data"]
            call = {"from": sender.address, "data": data}
        else:
            call = {"from": sender.address, "to": fn.address, "data": fn._encode_transaction_data()}
        return self._submit(sender, call, gas)

    def send_value(self, sender: LocalAccount, to: str, wei: int) -> Receipt:
        """Send `wei` of the chain's native currency (gas money) from `sender` to `to`.

        Shares the sender's nonce counter with transact(), so the two never collide.
        """
        return self._submit(sender, {"from": sender.address, "to": to, "value": hex(wei)}, 21_000)

    def _submit(self, sender: LocalAccount, call: dict, gas: int | None, timeout: float = 120.0) -> Receipt:
        raw, limit, from_book = self.pipeline.submit(sender, call, gas, timeout)
        if raw["status"] != "0x1" and from_book and int(raw["gasUsed"], 16) >= limit * 63 // 64:
            # Out of gas under a limit taken from the gas book: nothing happened but the fee.
            # Estimate this call properly and send it again, once.
            log.warning("transaction %s ran out of gas (limit %d from the gas book); estimating and resending",
                        raw["transactionHash"], limit)
            self.gas_book.forget(call)
            raw, limit, from_book = self.pipeline.submit(sender, call, gas, timeout, estimate=True)
        receipt = self._raw_receipt(raw)
        if raw["status"] != "0x1":
            raise self._revert_reason(raw["transactionHash"], int(raw["blockNumber"], 16), call)
        return receipt

    @property
    def pipeline(self) -> Pipeline:
        """The background sender, started on first use."""
        with self._pipeline_lock:
            if self._pipeline is None or self._pipeline.closed:
                self._pipeline = Pipeline(self)
            return self._pipeline

    def close(self) -> None:
        """Stop the pipeline (transactions still in it fail with ChainError)."""
        with self._pipeline_lock:
            if self._pipeline is not None:
                self._pipeline.close()

    def wait(self, tx_hash: bytes | str, *, timeout: float = 120.0, replay: dict | None = None) -> Receipt:
        """Wait until `tx_hash` (sent by someone else, e.g. a self-signed transaction) is mined;
        raise its revert reason if it failed."""
        delay = 0.0
        deadline = time.monotonic() + timeout
        while True:
            try:
                raw = self.w3.eth.get_transaction_receipt(tx_hash)
                break
            except TransactionNotFound:
                if time.monotonic() > deadline:
                    raise ChainError(f"transaction {Web3.to_hex(tx_hash)} not mined within {timeout:.0f}s")
                time.sleep(delay)
                delay = min(max(delay * 2, 0.005), 0.2)
        receipt = self.receipt(raw)
        if raw["status"] != 1:
            raise self._revert_reason(Web3.to_hex(raw["transactionHash"]), raw["blockNumber"], replay)
        return receipt

    def receipt(self, raw: Any) -> Receipt:
        """A web3-formatted receipt as a Receipt."""
        return Receipt(
            tx_hash=Web3.to_hex(raw["transactionHash"]),
            block_number=raw["blockNumber"],
            block_hash=Web3.to_hex(raw["blockHash"]),
            gas_used=raw["gasUsed"],
            events=self.decode_logs(raw["logs"]),
            contract_address=raw.get("contractAddress"),
        )

    def _raw_receipt(self, raw: dict[str, Any]) -> Receipt:
        """A receipt as the node sent it (hex JSON), with our contracts' events decoded."""
        decode = self._logs.decode
        return Receipt(
            tx_hash=raw["transactionHash"],
            block_number=int(raw["blockNumber"], 16),
            block_hash=raw["blockHash"],
            gas_used=int(raw["gasUsed"], 16),
            events=[e for e in map(decode, raw["logs"]) if e is not None],
            contract_address=Web3.to_checksum_address(raw["contractAddress"]) if raw.get("contractAddress") else None,
        )

    def decode_logs(self, logs: Iterable[Any]) -> list[Event]:
        """Decode web3-formatted logs of our registered contracts (web3's process_log); others
        are skipped. The pipeline decodes raw logs with ledger.logs instead (same events, faster)."""
        events = []
        for log_ in logs:
            if not log_["topics"]:
                continue
            key = (log_["address"].lower(), bytes(log_["topics"][0]))
            found = self._events.get(key)
            if found is None:
                continue
            name, event = found
            data = event.process_log(log_)
            events.append(
                Event(
                    name=data["event"],
                    args=dict(data["args"]),
                    address=log_["address"],
                    contract=name,
                    block_number=log_["blockNumber"],
                    block_hash=Web3.to_hex(log_["blockHash"]),
                    tx_hash=Web3.to_hex(log_["transactionHash"]),
                    log_index=log_["logIndex"],
                )
            )
        return events

    def forget_local_state(self) -> None:
        """Drop cached nonces and fees: call after the chain was rewound (evm_revert, reorg)."""
        with self._nonce_lock:
            self._nonces.clear()
        self._fee_cache = None

    # -- helpers ---------------------------------------------------------------------------------

    def _forget_nonce(self, address: str) -> None:
        """After a failed send, re-read the nonce from the node next time."""
        with self._nonce_lock:
            self._nonces.pop(address, None)

    def _fees(self, rpc: Rpc) -> dict[str, int]:
        """EIP-1559 fees from the latest base fee (cached for a second)."""
        now = time.monotonic()
        if self._fee_cache is None or now - self._fee_cache[0] > 1.0:
            raw = rpc.call("eth_getBlockByNumber", "latest", False).get("baseFeePerGas")
            self._fee_cache = (now, int(raw, 16) if raw is not None else -1)
        base = self._fee_cache[1]
        if base < 0:  # a pre-London chain
            return {"gasPrice": int(rpc.call("eth_gasPrice"), 16)}
        tip = 1_000_000_000 if base else 0
        return {"maxFeePerGas": 2 * base + tip + 1_000_000_000, "maxPriorityFeePerGas": tip}

    def _revert_reason(self, tx_hash: str, block: int, replay: dict | None) -> TransactionReverted:
        """Why a mined transaction failed: its call replayed on the state it ran on."""
        if replay:
            call = dict(replay)
            if isinstance(call.get("value"), str):
                call["value"] = int(call["value"], 16)
            try:
                with self.errors.translating():
                    self.w3.eth.call(call, block - 1)
            except TransactionReverted as error:
                error.tx_hash = tx_hash
                return error
            except ChainError:
                pass
        return TransactionReverted(f"transaction {tx_hash} reverted (reason unknown)", tx_hash=tx_hash)

    def new_account(self) -> LocalAccount:
        """A fresh random key (not funded)."""
        return Account.create()


class GasBook:
    """The largest gas estimate seen per (contract, function), so most transactions need only an
    eth_call (one execution) to be checked before sending, not an eth_estimateGas (a search of
    several executions, about 6× the node's time on Anvil).

    A function's first call, and every REESTIMATE_EVERY-th, is estimated; the others get the
    largest estimate seen × CACHED_GAS_MARGIN as their limit (unused gas is not charged). Should
    one still run out of gas, Chain._submit forgets the function's entry and resends it once with
    a fresh estimate.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._book: dict[tuple[str, str], tuple[int, int]] = {}  # key -> (largest estimate, calls since)

    @staticmethod
    def _key(call: dict[str, Any]) -> tuple[str, str] | None:
        to, data = call.get("to"), call.get("data") or "0x"
        if not to or len(data) < 10:
            return None
        return to.lower(), data[:10]

    def limit(self, call: dict[str, Any]) -> int | None:
        """A gas limit for `call` without estimating, or None when it should be estimated."""
        key = self._key(call)
        if key is None:
            return None
        with self._lock:
            entry = self._book.get(key)
            if entry is None or entry[1] + 1 >= REESTIMATE_EVERY:
                return None
            self._book[key] = (entry[0], entry[1] + 1)
            return int(entry[0] * CACHED_GAS_MARGIN)

    def record(self, call: dict[str, Any], estimate: int) -> None:
        key = self._key(call)
        if key is not None:
            with self._lock:
                largest = self._book.get(key, (0, 0))[0]
                self._book[key] = (max(largest, estimate), 0)

    def forget(self, call: dict[str, Any]) -> None:
        key = self._key(call)
        if key is not None:
            with self._lock:
                self._book.pop(key, None)


@dataclass(eq=False)
class _Job:
    """One transaction on its way through the pipeline."""

    sender: LocalAccount
    call: dict[str, Any]
    gas: int | None
    deadline: float
    estimate: bool = False
    from_book: bool = False
    given: bool = False  # the caller chose the gas limit (no check before sending)
    done: threading.Event = field(default_factory=threading.Event)
    receipt: dict[str, Any] | None = None
    error: BaseException | None = None
    tx_hash: str | None = None

    def finish(self, receipt: dict[str, Any] | None = None, error: BaseException | None = None) -> None:
        self.receipt, self.error = receipt, error
        self.done.set()


class Pipeline:
    """Sends the transactions of many threads in rounds; two background threads per Chain.

    The sender thread takes the waiting transactions and, in one batch, checks each (eth_call
    with the GasBook's limit, or eth_estimateGas when the book has none; a revert fails that
    transaction alone, with the contract's error, before anything is sent) together with the
    nonces of senders not seen before. Then it signs them and sends them in batches by layer:
    every sender's first, then every sender's second, and so on, so a refused send never leaves
    a later nonce of the same sender waiting behind a gap. While the node works on a round the
    next one gathers, so rounds grow with the load. Two transactions of one round are checked
    against the same state: one that depends on the other must wait for its receipt (the
    gateway's per-voucher locks do), or it may revert once mined (then its error is replayed).

    The receipt thread asks for the receipts of what was just sent at once, in one batch (Anvil
    mines before answering the send, so they are usually there and nothing polls). For what is
    still missing it watches the head and, for each new block, reads all its receipts at once
    (eth_getBlockReceipts), so its cost follows blocks, not waiting transactions; per
    transaction (eth_getTransactionReceipt) on nodes without that method, after a rewind or reorg
    of the head, and as a safety net when the head has not moved for a second.
    Callers block in submit() until their own receipt arrives.
    """

    def __init__(self, chain: Chain):
        self.chain = chain
        self.rpc = Rpc(chain.url, timeout=chain.request_timeout)
        self._watch_rpc = Rpc(chain.url, timeout=chain.request_timeout)
        self.closed = False
        self._queue: deque[_Job] = deque()
        self._pending: dict[str, _Job] = {}
        self._unclaimed: dict[str, dict[str, Any]] = {}  # receipts read before their job was pending
        self._fresh: list[str] = []  # hashes sent since the receipt thread last looked
        self._wake = threading.Condition()  # guards _queue, _pending and closed
        self._block_receipts = True  # until the node says it lacks eth_getBlockReceipts
        self._threads = [threading.Thread(target=self._run, name="ledger-pipeline", daemon=True),
                         threading.Thread(target=self._watch, name="ledger-receipts", daemon=True)]
        for thread in self._threads:
            thread.start()

    def submit(self, sender: LocalAccount, call: dict[str, Any], gas: int | None, timeout: float, *,
               estimate: bool = False) -> tuple[dict[str, Any], int, bool]:
        """Send `call` as `sender` (with gas limit `gas`, or one found by the pipeline) and return,
        once mined, its raw receipt (hex JSON), its gas limit and whether that came from the gas
        book. `estimate` forces a fresh estimate.

        Raises:
            TransactionReverted: the check (eth_call or eth_estimateGas) reverted; nothing was sent.
            ChainError: the node refused the transaction, or it was not mined within `timeout`.
        """
        job = _Job(sender, call, gas, time.monotonic() + timeout, estimate=estimate, given=gas is not None)
        with self._wake:
            if self.closed:
                raise ChainError("the chain connection is closed")
            self._queue.append(job)
            self._wake.notify_all()
        if not job.done.wait(timeout + 5):
            raise ChainError(f"transaction from {sender.address} not mined within {timeout:.0f}s")
        if job.error is not None:
            raise job.error
        return job.receipt, job.gas, job.from_book

    def close(self) -> None:
        with self._wake:
            self.closed = True
            self._wake.notify_all()
        for thread in self._threads:
            thread.join(5)
        self.rpc.close()
        self._watch_rpc.close()

    # -- sending -------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._queue and not self.closed:
                    self._wake.wait()
                if self.closed:
                    error = ChainError("the chain connection was closed before the transaction was mined")
                    for job in [*self._queue, *self._pending.values()]:
                        job.finish(error=error)
                    self._queue.clear()
                    self._pending.clear()
                    return
                jobs = self._take()
            try:
                self._dispatch(jobs)
            except BaseException as error:  # never let the thread die with callers waiting
                log.exception("transaction pipeline round failed")
                for job in jobs:
                    if not job.done.is_set() and job.tx_hash is None:
                        job.finish(error=ChainError(f"sending failed: {error}"))

    def _take(self) -> list[_Job]:
        """The next round: waiting jobs in arrival order, at most MAX_PER_SENDER of one sender."""
        jobs, per_sender, rest = [], {}, deque()
        while self._queue and len(jobs) < MAX_ROUND:
            job = self._queue.popleft()
            count = per_sender.get(job.sender.address, 0)
            if count >= MAX_PER_SENDER:
                rest.append(job)
            else:
                per_sender[job.sender.address] = count + 1
                jobs.append(job)
        rest.extend(self._queue)
        self._queue = rest
        return jobs

    def _dispatch(self, jobs: list[_Job]) -> None:
        chain = self.chain
        with chain._nonce_lock:
            unknown = sorted({j.sender.address for j in jobs} - chain._nonces.keys())
        checks = []  # (job, whether estimated) for every job without a given gas limit
        for job in jobs:
            if job.gas is None:
                limit = None if job.estimate else chain.gas_book.limit(job.call)
                job.gas, job.from_book = limit, limit is not None
                checks.append((job, limit is None))
        try:
            replies = self.rpc.batch_replies(
                [("eth_estimateGas", [j.call]) if estimated else ("eth_call", [j.call, "latest"])
                 for j, estimated in checks]
                + [("eth_getTransactionCount", [a, "pending"]) for a in unknown]
            )
            fees = chain._fees(self.rpc)
        except LedgerError as error:
            for job in jobs:
                job.finish(error=NodeError(f"the node did not answer: {error}"))
            return
        for (job, estimated), reply in zip(checks, replies, strict=False):
            if "error" in reply:
                job.finish(error=chain.errors.from_rpc(reply["error"]))
            elif estimated:
                used = int(reply["result"], 16)
                chain.gas_book.record(job.call, used)
                job.gas = int(used * GAS_MARGIN)
        with chain._nonce_lock:
            for address, reply in zip(unknown, replies[len(checks):], strict=True):
                if "error" not in reply:
                    chain._nonces.setdefault(address, int(reply["result"], 16))
        # Number and sign each sender's jobs in arrival order.
        by_sender: dict[str, list[tuple[_Job, str]]] = {}
        for job in jobs:
            if job.done.is_set():
                continue
            with chain._nonce_lock:
                nonce = chain._nonces.get(job.sender.address)
                if nonce is None:
                    job.finish(error=NodeError(f"the node did not give the nonce of {job.sender.address}"))
                    continue
                chain._nonces[job.sender.address] = nonce + 1
            tx = {"chainId": chain.chain_id, "nonce": nonce, "gas": job.gas, **fees,
                  "value": int(job.call.get("value", "0x0"), 16), "data": job.call.get("data", "0x")}
            if job.call.get("to"):
                tx["to"] = job.call["to"]
            raw = job.sender.sign_transaction(tx).raw_transaction
            by_sender.setdefault(job.sender.address, []).append((job, "0x" + bytes(raw).hex()))
        # Send in layers: every sender's first transaction, then every second one, and so on. A
        # sender whose send is refused sends nothing more this round, so no later nonce of its
        # waits behind a gap; its unsent jobs go back to the queue, to be numbered afresh.
        layer = 0
        while by_sender:
            signed = [(address, *queued[layer]) for address, queued in by_sender.items()]
            try:
                replies = self.rpc.batch_replies([("eth_sendRawTransaction", [raw]) for _, _, raw in signed])
            except LedgerError as error:
                # Unknown whether the node took them: re-read the nonces; the callers may retry.
                for address, queued in by_sender.items():
                    chain._forget_nonce(address)
                    for job, _ in queued[layer:]:
                        job.finish(error=NodeError(f"sending to the node failed; the transaction may or may "
                                                   f"not have been received: {error}"))
                return
            for (address, job, _), reply in zip(signed, replies, strict=True):
                if "error" in reply:
                    chain._forget_nonce(address)
                    message = reply["error"].get("message", reply["error"])
                    job.finish(error=ChainError(f"node refused the transaction from {address}: {message}"))
                    self._requeue([j for j, _ in by_sender.pop(address)[layer + 1:]])
                else:
                    self._sent(job, reply["result"])
            layer += 1
            by_sender = {a: queued for a, queued in by_sender.items() if len(queued) > layer}

    def _requeue(self, jobs: list[_Job]) -> None:
        """Put signed-but-unsent jobs back at the head of the queue, unnumbered and to be checked
        again (the state may have moved on since their check)."""
        for job in jobs:
            if not job.given:
                job.gas, job.from_book = None, False
        if jobs:
            with self._wake:
                self._queue.extendleft(reversed(jobs))
                self._wake.notify_all()

    def _sent(self, job: _Job, tx_hash: str) -> None:
        job.tx_hash = tx_hash
        with self._wake:
            receipt = self._unclaimed.pop(tx_hash, None)
            if receipt is None:
                self._pending[tx_hash] = job
                self._fresh.append(tx_hash)
                self._wake.notify_all()
        if receipt is not None:
            job.finish(receipt=receipt)

    # -- receipts ------------------------------------------------------------------------------

    def _watch(self) -> None:
        seen: tuple[int, str] | None = None  # the head (number, hash) whose receipts were read
        idle, checked = 0.0, time.monotonic()
        while True:
            with self._wake:
                while not self._pending and not self.closed:
                    self._wake.wait()
                if self.closed:
                    return
                fresh, self._fresh = self._fresh, []
            try:
                if fresh:
                    # Just sent: Anvil (automine) has mined them by the time the send returns, so
                    # ask for these at once; the head is watched only for what is still missing.
                    self._collect_by_hash(fresh)
                    seen, idle = None, 0.0
                    continue
                if idle:
                    with self._wake:
                        self._wake.wait_for(lambda: self._fresh or self.closed, idle)
                        if self._fresh or self.closed:
                            continue
                latest = self._watch_rpc.call("eth_getBlockByNumber", "latest", False)
                head = (int(latest["number"], 16), latest["hash"])
                if head == seen:
                    idle = min(max(idle * 2, 0.001), 0.02)
                    if time.monotonic() - checked > 1.0:  # a safety net: ask for each one
                        self._collect_by_hash()
                        checked = time.monotonic()
                elif seen is None or head[0] <= seen[0] or head[0] - seen[0] > 64:
                    # First look, a rewind or reorg (evm_revert, anvil_reorg) or a long gap.
                    self._collect_by_hash()
                    seen, idle, checked = head, 0.0, time.monotonic()
                else:
                    self._collect(seen[0] + 1, head[0])
                    seen, idle = head, 0.0
            except LedgerError as error:
                log.warning("reading receipts failed: %s; retrying", error)
                idle = 0.5
            except BaseException:  # never let the thread die with callers waiting
                log.exception("reading receipts failed")
                idle = 0.5
            self._expire()

    def _collect(self, first: int, last: int) -> None:
        """Hand out the receipts of blocks first..last (eth_getBlockReceipts where the node has it)."""
        if not self._block_receipts:
            return self._collect_by_hash()
        replies = self._watch_rpc.batch_replies([("eth_getBlockReceipts", [hex(n)]) for n in range(first, last + 1)])
        if any("error" in r for r in replies):
            if any(_unsupported(r["error"]) for r in replies if "error" in r):
                self._block_receipts = False  # the node lacks the method (Ganache 7, older Geth)
            return self._collect_by_hash()
        self._hand_out([receipt for r in replies for receipt in (r["result"] or [])])

    def _collect_by_hash(self, hashes: list[str] | None = None) -> None:
        if hashes is None:
            with self._wake:
                hashes = list(self._pending)
        replies = self._watch_rpc.batch_replies([("eth_getTransactionReceipt", [h]) for h in hashes])
        self._hand_out([r["result"] for r in replies if r.get("result")])

    def _hand_out(self, receipts: list[dict[str, Any]]) -> None:
        """Give each receipt to its waiting transaction. One not (yet) waited for is kept a while:
        a transaction can be mined, and its block read, before its sender registers it."""
        found = []
        with self._wake:
            for receipt in receipts:
                job = self._pending.pop(receipt["transactionHash"], None)
                if job is not None:
                    found.append((job, receipt))
                else:
                    self._unclaimed[receipt["transactionHash"]] = receipt
            while len(self._unclaimed) > UNCLAIMED_KEPT:
                self._unclaimed.pop(next(iter(self._unclaimed)))
        for job, receipt in found:
            job.finish(receipt=receipt)

    def _expire(self) -> None:
        now = time.monotonic()
        with self._wake:
            late = [h for h, job in self._pending.items() if now > job.deadline]
            jobs = [self._pending.pop(h) for h in late]
        for job in jobs:
            job.finish(error=ChainError(f"transaction {job.tx_hash} not mined in time"))


def _unsupported(error: dict[str, Any]) -> bool:
    """Whether a JSON-RPC error says the method does not exist (-32601; Ganache says it in words)."""
    message = str(error.get("message", "")).lower()
    return error.get("code") == -32601 or "does not exist" in message or "not supported" in message
