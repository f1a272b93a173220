"""Turn web3's revert errors into the ledger's exceptions (ledger.exceptions)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from eth_abi import decode
from eth_utils import keccak
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError, Web3RPCError

from . import exceptions as exc

_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
_PANIC = bytes.fromhex("4e487b71")  # Panic(uint256)


def _canonical_type(item: dict) -> str:
    if item["type"].startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in item["components"])
        return f"({inner}){item['type'][5:]}"
    return item["type"]


class ErrorDecoder:
    """Maps 4-byte error selectors of the given ABIs to exception classes."""

    def __init__(self, abis: Iterable[list[dict]]):
        self._by_selector: dict[bytes, tuple[type[exc.ContractError], list[str]]] = {}
        for abi in abis:
            for item in abi:
                if item.get("type") != "error":
                    continue
                types = [_canonical_type(i) for i in item["inputs"]]
                signature = f"{item['name']}({','.join(types)})"
                cls = exc.ContractError.registry.get(item["name"])
                if cls is None:
                    # An error without a hand-written class still gets a named one.
                    cls = type(item["name"], (exc.ContractError,), {
                        "__doc__": f"Contract error {signature}.",
                        "fields": tuple(i["name"] for i in item["inputs"]),
                    })
                self._by_selector[keccak(text=signature)[:4]] = (cls, types)

    def decode(self, data: str | bytes | None, *, tx_hash: str | None = None) -> exc.TransactionReverted:
        """Build the exception for revert `data` (0x-hex or bytes)."""
        raw = _to_bytes(data)
        hex_data = "0x" + raw.hex() if raw else None
        if len(raw) >= 4:
            selector, body = raw[:4], raw[4:]
            if selector in self._by_selector:
                cls, types = self._by_selector[selector]
                values = [_plain(v) for v in decode(types, body)]
                return cls(*values, tx_hash=tx_hash, data=hex_data)
            if selector == _ERROR_STRING:
                (reason,) = decode(["string"], body)
                return exc.UnknownRevert(f"reverted: {reason}", tx_hash=tx_hash, data=hex_data)
            if selector == _PANIC:
                (code,) = decode(["uint256"], body)
                return exc.UnknownRevert(f"reverted with panic 0x{code:02x}", tx_hash=tx_hash, data=hex_data)
        return exc.UnknownRevert(
            f"reverted without a known reason (data {hex_data or 'empty'})", tx_hash=tx_hash, data=hex_data
        )

    def from_rpc(self, error: dict[str, Any]) -> exc.ChainError:
        """The exception for a raw JSON-RPC error object (e.g. eth_estimateGas's reply)."""
        data: Any = error.get("data")
        if isinstance(data, dict):  # Ganache: {"hash": ..., "programCounter": ..., "result": "0x..."}
            data = data.get("data") or data.get("result")
        message = str(error.get("message", ""))
        if isinstance(data, str) and _to_bytes(data):
            return self.decode(data)
        if "revert" in message.lower():
            return self.decode(None)
        return exc.ChainError(f"node refused the request: {message} (code {error.get('code')})")

    @contextlib.contextmanager
    def translating(self) -> Iterator[None]:
        """Re-raise web3's revert errors inside the block as ledger exceptions."""
        try:
            yield
        except (ContractCustomError, ContractPanicError, ContractLogicError) as error:
            raise self.decode(_error_data(error)) from error
        except Web3RPCError as error:
            data = _error_data(error)
            if data:
                raise self.decode(data) from error
            raise exc.ChainError(f"node refused the request: {error}") from error


def _error_data(error: Exception) -> str | None:
    data: Any = getattr(error, "data", None)
    if isinstance(data, dict):  # Ganache: {"hash": ..., "programCounter": ..., "result": "0x..."}
        data = data.get("data") or data.get("result")
    if data is None:
        rpc = getattr(error, "rpc_response", None) or {}
        data = (rpc.get("error") or {}).get("data")
        if isinstance(data, dict):  # Ganache nests it: {"data": {"hash":..., "result": "0x..."}}
            data = data.get("result") or data.get("data")
    return data if isinstance(data, str) else None


def _to_bytes(data: str | bytes | None) -> bytes:
    if not data:
        return b""
    if isinstance(data, bytes):
        return data
    text = data[2:] if data.startswith("0x") else data
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        from eth_utils import to_checksum_address

        return to_checksum_address(value)
    return value
