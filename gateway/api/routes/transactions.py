"""Self-signed transactions: a party that keeps its own key submits what it signed."""

from __future__ import annotations

import requests
from eth_account import Account
from eth_utils import to_checksum_address
from eth_account.typed_transactions import TypedTransaction
from fastapi import APIRouter
from eth_utils import keccak
from hexbytes import HexBytes
from web3.exceptions import TransactionNotFound

from ledger.exceptions import ChainError

from ...errors import InvalidInput
from ...schemas import RawTransaction, written
from ...service import Outcome
from ..deps import GatewayDep, IdempotencyDep, PartyDep

router = APIRouter(prefix="/transactions", tags=["self-signed transactions"])


def _call_of(raw: bytes, sender: str) -> dict:
    """The transaction as an eth_call (to run it before sending, for the contract's refusal)."""
    if raw[0] < 0x7F:
        fields = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
    else:
        import rlp
        nonce, gas_price, gas, to, value, data, *_ = rlp.decode(raw)
        fields = {"to": to, "value": int.from_bytes(value, "big"), "data": data}
    call = {"from": sender, "data": HexBytes(fields.get("data", b"")).to_0x_hex(), "value": fields.get("value", 0)}
    if fields.get("to"):
        call["to"] = to_checksum_address(HexBytes(fields["to"]).to_0x_hex())
    return call


@router.post("", response_model=None, responses=written())
def submit(body: RawTransaction, caller: PartyDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Send a transaction the party signed with its own key (sender must be the caller's address).

    It is simulated first, so a contract refusal comes back as the usual 4xx error and nothing is
    sent; once mined, the response waits for the mirror like any other write.
    """
    raw = bytes.fromhex(body.raw_transaction[2:])
    try:
        sender = Account.recover_transaction(raw)
        call = _call_of(raw, sender)
    except Exception:
        raise InvalidInput("not a signed transaction") from None
    if sender != caller.address:
        raise InvalidInput("the transaction is signed by another account", signer=sender, account=caller.address)

    def act() -> Outcome:
        chain = gateway.chain
        # A retry (after a 5xx) of a transaction that was mined meanwhile: its receipt, not a
        # simulation that would now refuse it. The hash of a signed transaction is fixed.
        try:
            chain.w3.eth.get_transaction_receipt(keccak(raw))
        except TransactionNotFound:
            pass
        else:
            receipt = chain.wait(keccak(raw), replay=call)
            return Outcome({"events": [e.name for e in receipt.events]}, receipt)
        with chain.errors.translating():
            chain.w3.eth.call(call)
        try:
            tx_hash = chain.w3.eth.send_raw_transaction(raw)
        except requests.RequestException:
            raise  # the node is away (503), not a refusal of the transaction
        except Exception as error:
            raise InvalidInput(f"the node refused the transaction: {error}") from None
        receipt = chain.wait(tx_hash, replay=call)
        return Outcome({"events": [e.name for e in receipt.events]}, receipt)

    return gateway.write(caller.party, idem, act)
