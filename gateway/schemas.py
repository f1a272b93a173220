"""Request bodies (validated before anything is signed) and response helpers.

Every number, address, hash and text of a request is one of gateway/validation.py's types
(amounts: a JSON integer or a decimal-digit string, nothing else); responses give amounts as
decimal strings (uint256 exceeds 2^53) and ids (48-bit) as JSON numbers.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ledger import Role
from ledger.mirror import Appraisal, CreditLine, DataAsset, Offer, Pledge, Receivable, Voucher
from ledger.types import OfferState, PledgeState, ReceivableState, RecourseState, VoucherStatus

from .service import GRANTABLE
from .validation import (Address, AddressOrZero, Allowance, Amount, Bps, BpsOrZero, Hash32, Id, Name, Seconds,
                         SignedTransaction, Timestamp, Uri)

__all__ = ["Address", "Amount", "Hash32", "Id", "Timestamp"]  # re-exported for the routes


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartyCreate(Body):
    name: Name
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
    grace_period: Seconds = Field(0, description="seconds after maturity before Overdue")
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
    rate_bps: Bps = Field(description="annual discount rate, basis points")
    deadline: Timestamp
    financier: Address | None = Field(None, description="the only financier who may accept; omit it for an open "
                                                               "offer (the zero address is refused)")
    recourse: bool = False
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "token_id": 1, "value": "30000", "rate_bps": 500, "deadline": 1769904000,
        "financier": "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc", "recourse": True}]})


class OfferAccept(Body):
    """The financier's limits on an acceptance (IFactoring.accept): omitted, each is read from the
    chain just before sending (the quote, and the voucher's unpaid value value − paid)."""
    max_price: Amount | None = Field(None, description="the most the financier pays; omit: the current quote")
    min_unpaid_value: Allowance | None = Field(
        None, description="the least unpaid value (value − paid) it buys; omit: the voucher's now")
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "max_price": "29500", "min_unpaid_value": "30000"}]})


class CreditTerms(Body):
    limit: Amount
    expiry: Timestamp
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"limit": "20000000",
                                                                              "expiry": 1830297600}]})


class AdvanceRate(Body):
    rate_bps: BpsOrZero = Field(description="share of the pledged assets' counted value lent, bps")
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"rate_bps": 5000}]})


class ValueApproval(Body):
    operator: Address
    value: Allowance
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "operator": "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc", "value": "25000"}]})


class TokenApproval(Body):
    operator: AddressOrZero = Field(description="the zero address withdraws the approval")
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "operator": "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"}]})


class OperatorApproval(Body):
    operator: Address
    approved: bool
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "operator": "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc", "approved": True}]})


class RoleChange(Body):
    role: Role = Field(description="a party role: " + ", ".join(r.value for r in GRANTABLE))
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"role": "FINANCIER_ROLE"}]})


class DataAssetCreate(Body):
    content_hash: Hash32 = Field(description="fingerprint of the data itself; the same content registers once")
    metadata_hash: Hash32 | None = Field(None, description="fingerprint of its description")
    uri: Uri = Field("", description="where the metadata can be fetched (not the data); no control characters")
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "content_hash": "0x5d41402abc4b2a76b9719d911017c592a2e1d3b4c5f60718293a4b5c6d7e8f90",
        "metadata_hash": "0x2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
        "uri": "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"}]})


class AppraisalCreate(Body):
    report_hash: Hash32 = Field(description="SHA-256 of the appraisal report (upload it to "
                                            "/v1/data-assets/{asset_id}/appraisal-reports first)")
    value: Amount
    valid_until: Timestamp
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "report_hash": "0xfcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9",
        "value": "200000000", "valid_until": 1798761600}]})


class ListingCreate(Body):
    listing_id: Hash32 = Field(description="the exchange's product listing id (bytes32)")
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "listing_id": "0x6c697374696e672d303030303432000000000000000000000000000000000000"}]})


class PledgeCreate(Body):
    line_id: Id
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"line_id": 1}]})


class ForecloseRequest(Body):
    token_id: Id = Field(description="a voucher the pledgee holds of a Defaulted receivable of the pledge's credit "
                                     "line: its unpaid value (value - paid - claimable) is the exposure foreclosed")
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"token_id": 7}]})


class StrikeRequest(Body):
    appraiser: Address = Field(description="an account that no longer holds APPRAISER")
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "appraiser": "0x90F79bf6EB2c4f870365E785982E1f101E93b906"}]})


class RawTransaction(Body):
    raw_transaction: SignedTransaction = Field(
        description="an EIP-1559 or legacy transaction signed by the party's own key")


# -- responses -----------------------------------------------------------------------------------


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every error response (gateway/errors.py): the error's name, a message, and the error's
    arguments by snake_case name (integers as decimal strings, bytes as 0x-hex)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"error": "VoucherInsufficientValue", "detail": "the voucher holds less than that",
         "token_id": "7", "balance": "100", "needed": "250"}]})
    error: str = Field(description="the Solidity custom error's or the gateway's error name")
    detail: str
    errors: list[ValidationIssue] | None = Field(None, description="RequestValidationError only: what is wrong where")


# Documented success bodies (`responses=` on the routes: documentation only, the handlers' dicts
# are sent as they are; tests/gateway/test_gateway_fuzz.py checks that they match). The fields
# named here are always there; responses may carry more.

Decimal = Annotated[str, Field(pattern=r"^[0-9]+$", description="an integer as a decimal string")]
AddressOut = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$")]
Hash32Out = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")]


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class BlockRef(Out):
    """The chain block a read reflects (the mirror's), or the block a write was applied in."""

    number: int
    hash: Hash32Out


class VoucherPublic(Out):
    token_id: int
    holder: AddressOut
    receivable_id: int
    value: Decimal
    paid: Decimal
    parent_id: int | None
    status: Literal[tuple([s.name for s in VoucherStatus if s] + ["BURNED"])]  # type: ignore[valid-type]
    minted_block: int
    burned_block: int | None


class VoucherDetail(VoucherPublic):
    lineage: list[VoucherPublic] = Field(description="its ancestors, from the root down to its parent")
    history: list[dict[str, Any]]
    block: BlockRef | None


class VoucherPage(Out):
    items: list[VoucherPublic]
    total: int
    offset: int
    limit: int
    block: BlockRef | None


class ReceivablePublic(Out):
    receivable_id: int
    obligor: AddressOut
    supplier: AddressOut
    line_id: int
    currency: AddressOut
    face_value: Decimal
    repaid: Decimal
    claimed: Decimal
    maturity: int
    document_hash: Hash32Out
    root_token_id: int
    state: Literal[tuple(s.name for s in ReceivableState if s)]  # type: ignore[valid-type]
    issued_block: int
    tx_hash: Hash32Out


class ReceivableAccess(Out):
    scope: Literal["all", "branches"] = Field(description="the whole tree, or the caller's branches of it")
    as_: str = Field(alias="as", description="why: auditor, operator, obligor, supplier, financier of the "
                                             "credit line, or holder")


class ReceivableDetail(ReceivablePublic):
    outstanding_value: Decimal = Field(description="what the obligor still owes: face_value - repaid (0 once "
                                                   "Settled; 0 if Rejected or Revoked)")
    tree: list[dict[str, Any]] = Field(description="its vouchers the caller may see, each with its `children`")
    access: ReceivableAccess
    hidden: int = Field(description="how many of its vouchers the caller may not see (left out of `tree`)")
    block: BlockRef | None


class ReceivablePage(Out):
    items: list[ReceivablePublic]
    total: int
    offset: int
    limit: int
    block: BlockRef | None


class OfferPublic(Out):
    offer_id: int
    seller: AddressOut
    token_id: int
    receivable_id: int
    value: Decimal
    rate_bps: int
    recourse: bool
    state: Literal[tuple(s.name for s in OfferState if s)]  # type: ignore[valid-type]
    financier: AddressOut | None
    deadline: int
    recourse_state: Literal[tuple(s.name for s in RecourseState)]  # type: ignore[valid-type]
    price: Decimal
    recourse_amount: Decimal
    block: BlockRef | None


class CollateralPublic(Out):
    value: Decimal = Field(description="what the pledged data assets count, as CreditLines last recorded it")
    valid_until: int | None = Field(description="the earliest expiry of the appraisals counted")
    advance_rate_bps: int
    source: Literal["mirror"]


class CreditLinePublic(Out):
    line_id: int
    financier: AddressOut
    obligor: AddressOut
    currency: AddressOut
    limit: Decimal
    used: Decimal
    expiry: int
    grace_period: int
    block: BlockRef | None
    collateral: CollateralPublic | None = None
    effective_limit: Decimal | None = Field(None, description="CreditLines.effectiveLimit at `block`")
    available: Decimal | None = Field(None, description="CreditLines.creditAvailable at `block`")


class AppraisalPublic(Out):
    slot: int
    appraiser: AddressOut
    appraised_at: int
    valid_until: int = Field(description="expired appraisals stay listed until a new one takes their slot")
    value: Decimal
    report_hash: Hash32Out


class PledgePublic(Out):
    pledge_id: int
    line_id: int
    state: Literal[tuple(s.name for s in PledgeState if s)]  # type: ignore[valid-type]
    financier: AddressOut = Field(description="the pledgee: the credit line's financier")
    pledged_at: int
    ended_at: int | None


class ForeclosurePublic(Out):
    """The foreclosed pledge a data asset is held under until its receivable is repaid in full."""

    pledge_id: int
    line_id: int
    owner: AddressOut = Field(description="who pledged it: the asset returns to it on full repayment")
    financier: AddressOut = Field(description="the pledgee, which holds it now")
    receivable_id: int = Field(description="the Defaulted receivable it was taken for")
    token_id: int = Field(description="the pledgee's voucher whose unpaid value was the exposure")
    value: Decimal = Field(description="the asset's counted value at foreclosure")
    recovered: Decimal = Field(description="what it was credited against the receivable (at most the exposure left)")
    foreclosed_at: int


class DataAssetPublic(Out):
    asset_id: int
    owner: AddressOut
    registered_at: int
    content_hash: Hash32Out
    metadata_hash: Hash32Out
    uri: str = Field(description="for reading: invalid UTF-8 and NUL (possible from other clients) as U+FFFD")
    uri_hex: str | None = Field(description="the URI's exact bytes on chain, 0x-hex")
    listed: bool
    exchange: AddressOut | None = Field(description="the exchange that listed it (null until listed)")
    listing_id: Hash32Out | None
    appraisals: list[AppraisalPublic] = Field(description="its appraisal slots in use, by slot")
    counted_value: Decimal = Field(description="the lowest unexpired appraised value at `block` (0 if none), "
                                               "from the registry's countedValue view at that block")
    counted_until: int | None = Field(description="when the counted appraisal expires")
    pledge: PledgePublic | None = Field(description="its active pledge, or null")
    foreclosure: ForeclosurePublic | None = Field(description="the foreclosure it is held under, or null")
    source: Literal["mirror"]
    block: BlockRef | None


class WriteResult(Out):
    """A write's answer: what it created (ids), the transaction and the block the mirror applied."""

    tx_hash: Hash32Out | None = None
    mined_in: int | None = Field(None, description="the block the transaction was mined in")
    block: BlockRef | None = Field(None, description="null when the mirror had not applied it in time (202)")


def written(status: int = 200) -> dict[int | str, dict[str, Any]]:
    """The documented success responses of a write answering `status`."""
    return {status: {"model": WriteResult, "description": "mined and applied by the mirror"},
            202: {"model": WriteResult, "description": "mined; the mirror has not applied it yet (`block` null)"}}


#: The error statuses every /v1 operation may answer with (gateway/errors.py says which when).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description} for status, description in (
        (400, "refused by the contract for another reason; a body that is not UTF-8 JSON or nests too deep"),
        (401, "no or an unknown API key (or not the operator's credential)"),
        (403, "the caller lacks the role, does not own what it acts on, or may not see what it reads "
              "(gateway/api/visibility.py)"),
        (404, "nonexistent"),
        (409, "a duplicate or a state conflict"),
        (413, "the body is too large (gateway/validation.py: 256 KiB of JSON, 20 MiB + 64 KiB of upload)"),
        (415, "a body that is neither JSON nor multipart/form-data"),
        (422, "invalid input"),
        (502, "the chain answered unexpectedly"),
        (503, "the chain, the mirror or the database is unavailable; retry later"),
    )
}


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


def data_asset_listed(a: DataAsset) -> bool:
    """Whether the mirror's data asset is listed (its exchange is set)."""
    return int(a.exchange, 16) != 0


def data_asset_json(a: DataAsset, appraisals: list[Appraisal], pledge: Pledge | None,
                    counted: tuple[int, int], foreclosure: Pledge | None = None) -> dict[str, Any]:
    """A data asset as the mirror has it (its appraisal slots in use, its active pledge, the
    foreclosed pledge it is held under until its receivable is repaid in full), with the counted
    value: the lowest unexpired appraisal and when it expires."""
    listed = data_asset_listed(a)
    return {
        "asset_id": a.asset_id, "owner": a.owner, "registered_at": a.registered_at,
        "content_hash": a.content_hash, "metadata_hash": a.metadata_hash, "uri": a.uri, "uri_hex": a.uri_hex,
        "listed": listed, "exchange": a.exchange if listed else None, "listing_id": a.listing_id if listed else None,
        "appraisals": [{"slot": p.slot, "appraiser": p.appraiser, "appraised_at": p.appraised_at,
                        "valid_until": p.valid_until, "value": amount(p.value), "report_hash": p.report_hash}
                       for p in appraisals],
        "counted_value": amount(counted[0]), "counted_until": counted[1] or None,
        "pledge": None if pledge is None else {
            "pledge_id": pledge.pledge_id, "line_id": pledge.line_id, "state": PledgeState(pledge.state).name,
            "financier": pledge.financier, "pledged_at": pledge.pledged_at, "ended_at": pledge.ended_at or None},
        "foreclosure": None if foreclosure is None else {
            "pledge_id": foreclosure.pledge_id, "line_id": foreclosure.line_id, "owner": foreclosure.owner,
            "financier": foreclosure.financier, "receivable_id": foreclosure.receivable_id,
            "token_id": foreclosure.token_id, "value": amount(foreclosure.foreclosed_value),
            "recovered": amount(foreclosure.recovered), "foreclosed_at": foreclosure.ended_at},
    }
