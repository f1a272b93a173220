"""Request bodies (validated before anything is signed) and response helpers.

Amounts are integers in the currency's smallest unit; requests accept them as JSON numbers or
decimal strings, responses always give them as decimal strings (uint256 exceeds 2^53).
Ids (receivable, voucher, line, offer) are 48-bit and are plain JSON numbers.
"""

from __future__ import annotations

from typing import Annotated, Any

from eth_utils import is_address, to_checksum_address
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ledger import Role
from ledger.mirror import CreditLine, Offer, Receivable, Voucher
from ledger.types import OfferState, ReceivableState, RecourseState, VoucherStatus

from .service import GRANTABLE

UINT256 = 2**256


def _address(value: str) -> str:
    if not is_address(value):
        raise ValueError("not an address (0x and 40 hex digits)")
    return to_checksum_address(value)


def _hash32(value: str) -> str:
    body = value[2:] if value.startswith(("0x", "0X")) else ""
    if len(body) != 64:
        raise ValueError("not a 32-byte hash (0x and 64 hex digits)")
    try:
        raw = bytes.fromhex(body)
    except ValueError:
        raise ValueError("not hex") from None
    if raw == bytes(32):
        raise ValueError("the zero hash fingerprints nothing")
    return "0x" + body.lower()


Address = Annotated[str, AfterValidator(_address), Field(examples=["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"])]
Hash32 = Annotated[str, AfterValidator(_hash32), Field(
    examples=["0x9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"])]
Amount = Annotated[int, Field(gt=0, lt=UINT256, examples=["40000"])]
Id = Annotated[int, Field(gt=0, lt=2**48, examples=[1])]
Timestamp = Annotated[int, Field(gt=0, lt=2**40, description="unix seconds", examples=[1767225600])]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartyCreate(Body):
    name: str = Field(min_length=1, max_length=200)
    roles: list[Role] = Field(min_length=1, description="party roles: " + ", ".join(r.value for r in GRANTABLE))
    address: Address | None = Field(None, description="bring your own address (self-signed transactions); "
                                                      "omit to have the gateway generate and keep the key")
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"name": "Tier-1 Components Ltd", "roles": ["SUPPLIER_ROLE"]}]})


class CreditLineCreate(Body):
    obligor: Address
    currency: Address
    limit: Amount
    expiry: Timestamp
    grace_period: int = Field(0, ge=0, lt=2**40, description="seconds after maturity before Overdue")
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "obligor": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", "currency": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        "limit": "10000000", "expiry": 1798761600, "grace_period": 604800}]})


class ReceivableCreate(Body):
    supplier: Address
    line_id: Id
    face_value: Amount
    maturity: Timestamp
    document_hash: Hash32 = Field(description="SHA-256 of the trade documents (upload them to /v1/documents "
                                              "first to have the gateway keep them, encrypted)")
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "supplier": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "line_id": 1, "face_value": "100000",
        "maturity": 1775001600,
        "document_hash": "0x9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}]})


class Repayment(Body):
    amount: Amount
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"amount": "40000"}]})


class SplitRequest(Body):
    to: Address
    value: Amount
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "to": "0x90F79bf6EB2c4f870365E785982E1f101E93b906", "value": "40000"}]})


class ValueTransfer(Body):
    to_token_id: Id
    value: Amount
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"to_token_id": 7, "value": "5000"}]})


class MergeRequest(Body):
    into_token_id: Id
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"into_token_id": 3}]})


class TransferRequest(Body):
    to: Address
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "to": "0x90F79bf6EB2c4f870365E785982E1f101E93b906"}]})


class OfferCreate(Body):
    token_id: Id
    value: Amount
    rate_bps: int = Field(gt=0, le=10_000, description="annual discount rate, basis points")
    deadline: Timestamp
    financier: Address | None = Field(None, description="the only financier who may accept; omit: any")
    recourse: bool = False
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "token_id": 1, "value": "30000", "rate_bps": 500, "deadline": 1769904000,
        "financier": "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc", "recourse": True}]})


class RawTransaction(Body):
    raw_transaction: str = Field(pattern=r"^0x[0-9a-fA-F]+$", max_length=200_000,
                                 description="an EIP-1559 or legacy transaction signed by the party's own key")


# -- responses -----------------------------------------------------------------------------------


def amount(value: int) -> str:
    return str(int(value))


def voucher_json(v: Voucher) -> dict[str, Any]:
    return {
        "token_id": v.token_id, "holder": v.holder, "receivable_id": v.receivable_id, "value": amount(v.value),
        "paid": amount(v.paid), "parent_id": v.parent_id or None,
        "status": "BURNED" if v.burned else VoucherStatus(v.status).name,
        "minted_block": v.minted_block, "burned_block": v.burned_block,
    }


def receivable_json(r: Receivable) -> dict[str, Any]:
    return {
        "receivable_id": r.receivable_id, "obligor": r.obligor, "supplier": r.supplier, "line_id": r.line_id,
        "currency": r.currency, "face_value": amount(r.face_value), "repaid": amount(r.repaid),
        "claimed": amount(r.claimed), "maturity": r.maturity, "document_hash": r.document_hash,
        "root_token_id": r.root_token_id, "state": ReceivableState(r.state).name, "issued_block": r.issued_block,
        "tx_hash": r.tx_hash,
    }


def credit_line_json(c: CreditLine) -> dict[str, Any]:
    return {"line_id": c.line_id, "financier": c.financier, "obligor": c.obligor, "currency": c.currency,
            "limit": amount(c.limit), "used": amount(c.used), "expiry": c.expiry, "grace_period": c.grace_period}


def offer_json(o: Offer) -> dict[str, Any]:
    return {
        "offer_id": o.offer_id, "seller": o.seller, "token_id": o.token_id, "receivable_id": o.receivable_id,
        "value": amount(o.value), "rate_bps": o.rate_bps, "recourse": o.recourse, "state": OfferState(o.state).name,
        "financier": None if int(o.financier, 16) == 0 else o.financier, "deadline": o.deadline,
        "recourse_state": RecourseState(o.recourse_state).name, "price": amount(o.price),
        "recourse_amount": amount(o.recourse_amount),
    }
