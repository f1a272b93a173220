"""A connection to an EVM JSON-RPC endpoint that signs locally and waits for receipts fast."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import TransactionNotFound
from web3.middleware import ExtraDataToPOAMiddleware

from .errors import ErrorDecoder
from .exceptions import ChainError, NodeError, TransactionReverted
from .types import Event, Receipt

#: Gas limit = estimate × this, so a transaction mined a little later still fits.
GAS_MARGIN = 1.25


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
        self._nonces: dict[str, int] = {}
        self._nonce_lock = threading.Lock()
        self._sender_locks: dict[str, threading.Lock] = {}
        self._fee_cache: tuple[float, int] | None = None
        self._abis: list[list[dict]] = []
        self.errors = ErrorDecoder([])
        self._events: dict[tuple[str, bytes], tuple[str, Any]] = {}

    # -- registration of our contracts ---------------------------------------------------------

    def register(self, name: str, contract: Any) -> None:
        """Decode `contract`'s errors and events from now on."""
        self._abis.append(contract.abi)
        self.errors = ErrorDecoder(self._abis)
        for event in contract.events:
            abi = event.abi
            topic = bytes(Web3.keccak(text=f"{abi['name']}({','.join(i['type'] for i in abi['inputs'])})"))
            self._events[(contract.address.lower(), topic)] = (name, event())

    # -- sending ---------------------------------------------------------------------------------

    def transact(self, sender: LocalAccount, fn: ContractFunction | ContractConstructor, *, gas: int | None = None) -> Receipt:
        """Sign `fn` as `sender`, send it, wait for it to be mined and return its receipt.

        A refusal surfaces before anything is sent: the gas estimate runs the call and a revert
        is raised as the contract's custom error (ledger.exceptions).

        Raises:
            TransactionReverted: the call reverts (a ContractError subclass where decodable).
            ChainError: the node refused or lost the transaction.
        """
        built = fn.build_transaction({
            "from": sender.address, "chainId": self.chain_id, "nonce": 0, "gas": 1,
            "maxFeePerGas": 1, "maxPriorityFeePerGas": 0,
        })
        call = {"from": sender.address, "data": built["data"]}
        if built.get("to"):
            call["to"] = built["to"]
        with self.errors.translating():
            limit = gas or int(self.w3.eth.estimate_gas(call) * GAS_MARGIN)
        tx = {**call, "chainId": self.chain_id, "gas": limit, **self._fees()}
        return self.wait(self._send(sender, tx), replay=call)

    def send_value(self, sender: LocalAccount, to: str, wei: int) -> Receipt:
        """Send `wei` of the chain's native currency (gas money) from `sender` to `to`.

        Shares the sender's nonce counter and lock with transact(), so the two never collide.
        """
        tx = {"from": sender.address, "to": to, "value": wei, "chainId": self.chain_id, "gas": 21_000,
              **self._fees()}
        return self.wait(self._send(sender, tx))

    def _send(self, sender: LocalAccount, tx: dict) -> bytes:
        """Number, sign and send `tx` under the sender's lock; return its hash."""
        with self._sender_lock(sender.address):
            tx["nonce"] = self._next_nonce(sender.address)
            signed = sender.sign_transaction(tx)
            try:
                return self.w3.eth.send_raw_transaction(signed.raw_transaction)
            except Exception as error:
                self._forget_nonce(sender.address)
                raise ChainError(f"node refused the transaction from {sender.address}: {error}") from error

    def wait(self, tx_hash: bytes | str, *, timeout: float = 120.0, replay: dict | None = None) -> Receipt:
        """Wait until `tx_hash` is mined; raise its revert reason if it failed."""
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
            raise self._revert_reason(raw, replay)
        return receipt

    def receipt(self, raw: Any) -> Receipt:
        return Receipt(
            tx_hash=Web3.to_hex(raw["transactionHash"]),
            block_number=raw["blockNumber"],
            block_hash=Web3.to_hex(raw["blockHash"]),
            gas_used=raw["gasUsed"],
            events=self.decode_logs(raw["logs"]),
            contract_address=raw.get("contractAddress"),
        )

    def decode_logs(self, logs: Iterable[Any]) -> list[Event]:
        """Decode the logs of our registered contracts; others are skipped."""
        events = []
        for log in logs:
            if not log["topics"]:
                continue
            key = (log["address"].lower(), bytes(log["topics"][0]))
            found = self._events.get(key)
            if found is None:
                continue
            name, event = found
            data = event.process_log(log)
            events.append(
                Event(
                    name=data["event"],
                    args=dict(data["args"]),
                    address=log["address"],
                    contract=name,
                    block_number=log["blockNumber"],
                    block_hash=Web3.to_hex(log["blockHash"]),
                    tx_hash=Web3.to_hex(log["transactionHash"]),
                    log_index=log["logIndex"],
                )
            )
        return events

    def forget_local_state(self) -> None:
        """Drop cached nonces and fees: call after the chain was rewound (evm_revert, reorg)."""
        with self._nonce_lock:
            self._nonces.clear()
        self._fee_cache = None

    # -- helpers ---------------------------------------------------------------------------------

    def _sender_lock(self, address: str) -> threading.Lock:
        with self._nonce_lock:
            return self._sender_locks.setdefault(address, threading.Lock())

    def _next_nonce(self, address: str) -> int:
        with self._nonce_lock:
            if address not in self._nonces:
                self._nonces[address] = self.w3.eth.get_transaction_count(address, "pending")
            nonce = self._nonces[address]
            self._nonces[address] = nonce + 1
            return nonce

    def _forget_nonce(self, address: str) -> None:
        """After a failed send, re-read the nonce from the node next time."""
        with self._nonce_lock:
            self._nonces.pop(address, None)

    def _fees(self) -> dict[str, int]:
        """EIP-1559 fees from the latest base fee (cached for a second)."""
        now = time.monotonic()
        if self._fee_cache is None or now - self._fee_cache[0] > 1.0:
            base = self.w3.eth.get_block("latest").get("baseFeePerGas")
            self._fee_cache = (now, base if base is not None else -1)
        base = self._fee_cache[1]
        if base < 0:  # a pre-London chain
            return {"gasPrice": self.w3.eth.gas_price}
        tip = 1_000_000_000 if base else 0
        return {"maxFeePerGas": 2 * base + tip + 1_000_000_000, "maxPriorityFeePerGas": tip}

    def _revert_reason(self, raw: Any, replay: dict | None) -> TransactionReverted:
        tx_hash = Web3.to_hex(raw["transactionHash"])
        if replay:
            try:
                with self.errors.translating():
                    self.w3.eth.call(replay, raw["blockNumber"] - 1)
            except TransactionReverted as error:
                error.tx_hash = tx_hash
                return error
            except ChainError:
                pass
        return TransactionReverted(f"transaction {tx_hash} reverted (reason unknown)", tx_hash=tx_hash)

    def new_account(self) -> LocalAccount:
        """A fresh random key (not funded)."""
        return Account.create()
