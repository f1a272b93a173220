"""Raw JSON-RPC for the audit: paged eth_getLogs, and eth_call in batches with per-call errors.

The audit reads what it checks from the node itself; nothing comes from SQL. Each eth_call is
pinned to the audited block, and thousands go in one HTTP request (a JSON-RPC batch), which is
what keeps a 10,000-voucher comparison within seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..rpc import Rpc, RpcError

#: eth_calls per HTTP request.
CALL_BATCH = 1_000


@dataclass(frozen=True)
class CallResult:
    """One eth_call's answer: its return data, or the error it reverted with."""

    ok: bool
    data: bytes = b""
    error: str = ""


class AuditRpc(Rpc):
    """The mirror's JSON-RPC client, plus lenient batches (a failed call is an answer, not an
    exception), batched eth_calls and paged logs for the audit and proof verification.

    Args:
        url: the node's endpoint.
        timeout: seconds per HTTP request (long: batches of 1,000 calls).
    """

    def __init__(self, url: str, *, timeout: float = 120.0):
        super().__init__(url, timeout=timeout)

    def batch_results(self, calls: list[tuple[str, list[Any]]], *, size: int = CALL_BATCH) -> list[tuple[bool, Any]]:
        """Many requests, `size` per HTTP round trip; (ok, result or error message) each, in order."""
        out: list[tuple[bool, Any]] = []
        for start in range(0, len(calls), size):
            chunk = calls[start:start + size]
            first = next(self._ids)
            for _ in chunk[1:]:
                next(self._ids)
            body = [{"jsonrpc": "2.0", "id": first + i, "method": m, "params": p} for i, (m, p) in enumerate(chunk)]
            replies = self._post(body)
            if isinstance(replies, dict):  # a node that refuses batches: one request at a time
                for method, params in chunk:
                    try:
                        out.append((True, self.call(method, *params)))
                    except RpcError as error:
                        out.append((False, error.rpc_message))
                continue
            by_id = {r.get("id"): r for r in replies}
            for i, (method, _) in enumerate(chunk):
                reply = by_id.get(first + i)
                if reply is None:
                    out.append((False, f"{method}: missing from the batch reply"))
                elif "error" in reply:
                    out.append((False, str(reply["error"].get("message", reply["error"]))))
                else:
                    out.append((True, reply["result"]))
        return out

    def eth_calls(self, calls: list[tuple[str, bytes]], block: int, *, size: int = CALL_BATCH) -> list[CallResult]:
        """eth_call (to, data) at `block` for each call, `size` per request; a revert is CallResult(ok=False)."""
        answers = self.batch_results([("eth_call", [{"to": to, "data": "0x" + data.hex()}, hex(block)]) for to, data in calls],
                             size=size)
        return [CallResult(True, bytes.fromhex(result[2:])) if ok else CallResult(False, error=result)
                for ok, result in answers]

    def logs(self, addresses: list[str], from_block: int, to_block: int, *, page: int = 5_000) -> list[dict[str, Any]]:
        """Every log of `addresses` in [from_block, to_block], in chain order, paged.

        A page the node refuses as too large is halved until it is accepted.
        """
        found: list[dict[str, Any]] = []
        start = from_block
        while start <= to_block:
            end = min(to_block, start + page - 1)
            try:
                found.extend(self.call("eth_getLogs", {"address": addresses, "fromBlock": hex(start),
                                                       "toBlock": hex(end)}))
            except RpcError as error:
                if error.is_range_error and end > start:
                    page = max(1, (end - start + 1) // 2)
                    continue
                raise
            start = end + 1
        found.sort(key=lambda log: (int(log["blockNumber"], 16), int(log["logIndex"], 16)))
        return found

    def block(self, number: int | str) -> dict[str, Any] | None:
        return self.call("eth_getBlockByNumber", number if isinstance(number, str) else hex(number), False)

    def close(self) -> None:
        self._session.close()
