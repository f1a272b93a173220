"""What an audit finds: discrepancies with a precise location, and the checks it ran."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: The checks, in the order the report lists them, with what each one means.
CHECKS: dict[str, str] = {
    "event_decoding": "every log of our contracts decodes, in chain order, and references what exists",
    "value_conservation": "every split, value transfer and merge moves value between vouchers of one receivable "
                          "(no negative balance); value is minted only by issue and burned only by reject, revoke "
                          "or merge; each receivable's live vouchers sum to its face value",
    "claims": "per receivable, claims never exceed repayments at any step; per voucher, what is paid out never "
              "exceeds its value or its pro-rata entitlement; repayments never exceed the face value",
    "credit_lines": "each line's utilisation equals what was issued on it and not yet repaid or restored, "
                    "step by step and at the audited block",
    "pledges": ("at most one active pledge per data asset; releases and foreclosures end an active pledge; "
                "a foreclosure credits at most the asset's value and the defaulted unpaid amount, and only a "
                "foreclosed asset returns"),
    "documents": "each trade-document fingerprint backs at most one live receivable of each obligor",
    "pause_clock": "pauses and unpauses alternate; no receivable is marked Overdue before maturity + grace + the "
                   "time paused since its issue; pausedTime and every overdueAt equal the chain's views",
    "chain_views": "the state rebuilt from events equals the contracts' views at the audited block",
    "mirror": "the SQL mirror equals the rebuilt state at the same block, its event_log equals the chain's logs, "
              "and its members, roles, pause state and approvals equal the contracts' views at that block",
    "gateway_documents": "every stored trade document decrypts, and hashes to the fingerprint anchored on chain",
}


@dataclass
class Discrepancy:
    """One thing found wrong, where it is, and what was expected instead.

    `location` names whatever applies: receivable_id, token_id, line_id, offer_id, asset_id,
    pledge_id, document_hash, block, tx_hash, log_index, table, row, column.
    """

    check: str
    message: str
    location: dict[str, Any] = field(default_factory=dict)
    expected: Any = None
    actual: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "message": self.message, "location": _plain(self.location),
                "expected": _plain(self.expected), "actual": _plain(self.actual)}


def _plain(value: Any) -> Any:
    """JSON-safe: bytes as 0x hex, ints above 2^53 as decimal strings, containers recursively."""
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, bool) or value is None or isinstance(value, (str, float)):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def plain(value: Any) -> Any:
    return _plain(value)
