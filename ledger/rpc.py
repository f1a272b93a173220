"""A lean JSON-RPC client: raw hex results, batches, and typed errors.

web3.py wraps every log in AttributeDicts and HexBytes; at tens of thousands of logs that costs
more than the SQL (the mirror) or the signing (the chain's transaction pipeline). These read raw
JSON instead and decode only our own events (ledger.logs).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import requests

from .exceptions import NodeError

#: Phrases providers use when an eth_getLogs range or result is too large (Geth, Besu, Erigon,
#: Alchemy, Infura, QuickNode, ...). Matched case-insensitively.
RANGE_ERROR_HINTS = (
    "range", "too many", "too large", "limit exceeded", "exceed", "more than", "response size",
    "query returned", "timeout", "timed out",
)


class RpcError(NodeError):
    """The node answered a request with an error."""

    def __init__(self, method: str, error: dict[str, Any]):
        self.method = method
        self.code = error.get("code")
        self.rpc_message = str(error.get("message", ""))
        super().__init__(f"{method} failed: {self.rpc_message} (code {self.code})")

    @property
    def is_range_error(self) -> bool:
        """Whether the node refused because the range or the answer was too large."""
        text = self.rpc_message.lower()
        return self.code == -32005 or any(hint in text for hint in RANGE_ERROR_HINTS)


@dataclass(frozen=True)
class Header:
    number: int
    hash: str
    parent_hash: str
    timestamp: int


def header(raw: dict[str, Any]) -> Header:
    return Header(int(raw["number"], 16), raw["hash"], raw["parentHash"], int(raw["timestamp"], 16))


class Rpc:
    """JSON-RPC over HTTP with keep-alive.

    Args:
        url: the node's endpoint.
        timeout: seconds per HTTP request.
    """

    def __init__(self, url: str, *, timeout: float = 30.0):
        self.url = url
        self.timeout = timeout
        self._session = requests.Session()
        # Not the environment's proxy settings: a node is called directly, and requests would
        # re-read them on every call (a large share of a small request's time).
        self._session.trust_env = False
        self._ids = itertools.count(1)

    def _post(self, body: Any) -> Any:
        try:
            response = self._session.post(self.url, json=body, timeout=self.timeout)
            response.raise_for_status()
            return response.json()
        except (requests.RequestException, ValueError) as error:
            raise NodeError(f"no answer from {self.url}: {error}") from error

    def call(self, method: str, *params: Any) -> Any:
        """One request; its result.

        Raises:
            RpcError: the node returned an error.
            NodeError: the node did not answer.
        """
        reply = self._post({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)})
        if "error" in reply:
            raise RpcError(method, reply["error"])
        return reply["result"]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Several requests in one HTTP round trip; their results in order.

        Raises:
            RpcError: the first request that failed.
        """
        results = []
        for (method, _), reply in zip(calls, self.batch_replies(calls), strict=True):
            if "error" in reply:
                raise RpcError(method, reply["error"])
            results.append(reply["result"])
        return results

    def batch_replies(self, calls: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        """Several requests in one HTTP round trip; each one's reply ({"result": ...} or
        {"error": {...}}) in order, so one failure does not hide the others' results."""
        if not calls:
            return []
        first = next(self._ids)
        body = [{"jsonrpc": "2.0", "id": first + i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        for _ in calls[1:]:
            next(self._ids)
        replies = self._post(body)
        if isinstance(replies, dict):  # a node that refuses batches answers with one error
            raise RpcError("batch", replies.get("error", {"message": str(replies)}))
        by_id = {r.get("id"): r for r in replies}
        missing = {"error": {"message": "missing from the batch reply"}}
        return [by_id.get(first + i, missing) for i in range(len(calls))]

    def chain_id(self) -> int:
        return int(self.call("eth_chainId"), 16)

    def latest(self) -> Header:
        return header(self.call("eth_getBlockByNumber", "latest", False))

    def headers(self, numbers: list[int]) -> dict[int, Header | None]:
        """The canonical headers at `numbers` (None where the chain is shorter)."""
        raws = self.batch([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        return {n: (header(raw) if raw else None) for n, raw in zip(numbers, raws, strict=True)}

    def logs(self, addresses: list[str], from_block: int, to_block: int) -> list[dict[str, Any]]:
        return self.call("eth_getLogs", {"address": addresses, "fromBlock": hex(from_block), "toBlock": hex(to_block)})

    def close(self) -> None:
        self._session.close()
