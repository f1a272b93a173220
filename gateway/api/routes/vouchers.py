"""Vouchers: list and read (with lineage), split, transfer value, merge, transfer whole, claim."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import func, select

from ledger import VoucherStatus
from ledger.exceptions import VoucherNonexistent
from ledger.mirror import Voucher

from ...schemas import Address, Id, MergeRequest, SplitRequest, TransferRequest, ValueTransfer, voucher_json
from ...service import Outcome, block_json
from ..deps import Caller, GatewayDep, IdempotencyDep, PartyDep, WriterDep

router = APIRouter(prefix="/vouchers", tags=["vouchers"])

STATUSES = [s.name for s in VoucherStatus if s is not VoucherStatus.NONE] + ["BURNED"]


def held_voucher(gateway, caller: Caller, token_id: int) -> Voucher:
    """The voucher, checked to exist and to be the caller's, from the mirror (before signing)."""
    v = gateway.fetch(Voucher, token_id)
    if v is None or v.burned:
        raise VoucherNonexistent(token_id)
    caller.must_be(v.holder, "holder of the voucher", token_id=token_id, holder=v.holder)
    return v


@router.post("/{token_id}/split", status_code=201, response_model=None)
def split(token_id: Id, body: SplitRequest, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Move `value` out of the voucher into a new voucher for `to` (a member)."""

    def act() -> Outcome:
        held_voucher(gateway, caller, token_id)
        made = gateway.ledger.split(caller.account, token_id, body.to, body.value)
        return Outcome({"token_id": made.token_id, "parent_id": token_id, "value": str(body.value)},
                       made.receipt, 201)

    return gateway.write(caller.party, idem, act)


@router.post("/{token_id}/transfer-value", response_model=None)
def transfer_value(token_id: Id, body: ValueTransfer, caller: WriterDep, gateway: GatewayDep,
                   idem: IdempotencyDep):
    """Move `value` into an existing voucher of the same receivable."""

    def act() -> Outcome:
        held_voucher(gateway, caller, token_id)
        receipt = gateway.ledger.transfer_value(caller.account, token_id, body.to_token_id, body.value)
        return Outcome({"from_token_id": token_id, "to_token_id": body.to_token_id, "value": str(body.value)},
                       receipt)

    return gateway.write(caller.party, idem, act)


@router.post("/{token_id}/merge", response_model=None)
def merge(token_id: Id, body: MergeRequest, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Join this voucher into `into_token_id` (same holder and receivable); this one is burned."""

    def act() -> Outcome:
        held_voucher(gateway, caller, token_id)
        receipt = gateway.ledger.merge(caller.account, token_id, body.into_token_id)
        return Outcome({"from_token_id": token_id, "into_token_id": body.into_token_id}, receipt)

    return gateway.write(caller.party, idem, act)


@router.post("/{token_id}/transfer", response_model=None)
def transfer(token_id: Id, body: TransferRequest, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Transfer the whole voucher to `to` (a member)."""

    def act() -> Outcome:
        v = held_voucher(gateway, caller, token_id)
        receipt = gateway.ledger.transfer(caller.account, token_id, body.to, holder=v.holder)
        return Outcome({"token_id": token_id, "to": body.to}, receipt)

    return gateway.write(caller.party, idem, act)


@router.post("/{token_id}/claim", response_model=None)
def claim(token_id: Id, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Pay the holder its share of what the obligor has repaid so far."""

    def act() -> Outcome:
        held_voucher(gateway, caller, token_id)
        claimed = gateway.ledger.claim(caller.account, token_id)
        return Outcome({"token_id": token_id, "amount": str(claimed.amount), "closed": claimed.closed},
                       claimed.receipt)

    return gateway.write(caller.party, idem, act)


@router.get("")
def list_vouchers(
    caller: PartyDep, gateway: GatewayDep,
    holder: Address | None = None, receivable_id: Annotated[int | None, Query(gt=0)] = None,
    status: Annotated[str | None, Query(description="one of " + ", ".join(STATUSES))] = None,
    offset: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict:
    """Vouchers, filtered and paginated (by token id); burned ones only when status=BURNED."""
    query = select(Voucher)
    if holder:
        query = query.where(Voucher.holder == holder)
    if receivable_id is not None:
        query = query.where(Voucher.receivable_id == receivable_id)
    if status is not None:
        wanted = status.upper()
        if wanted not in STATUSES:
            from ...errors import InvalidInput
            raise InvalidInput("unknown voucher status", status=status, statuses=STATUSES)
        if wanted == "BURNED":
            query = query.where(Voucher.burned == True)  # noqa: E712
        else:
            query = query.where(Voucher.burned == False, Voucher.status == int(VoucherStatus[wanted]))  # noqa: E712
    else:
        query = query.where(Voucher.burned == False)  # noqa: E712
    with gateway.snapshot() as snap:
        total = snap.session.exec(select(func.count()).select_from(query.subquery())).one()
        rows = snap.session.exec(query.order_by(Voucher.token_id).offset(offset).limit(limit)).all()
        return {"items": [voucher_json(v) for v in rows], "total": total, "offset": offset, "limit": limit,
                "block": block_json(snap.block)}


@router.get("/{token_id}")
def get(token_id: Id, caller: PartyDep, gateway: GatewayDep) -> dict:
    """A voucher and its lineage: its ancestors from the root down to its parent."""
    with gateway.snapshot() as snap:
        v = snap.session.get(Voucher, token_id)
        if v is None:
            raise VoucherNonexistent(token_id)
        lineage, seen, parent = [], {token_id}, v.parent_id
        while parent and parent not in seen:
            seen.add(parent)
            p = snap.session.get(Voucher, parent)
            if p is None:
                break
            lineage.append(voucher_json(p))
            parent = p.parent_id
        lineage.reverse()
        return {**voucher_json(v), "lineage": lineage, "block": block_json(snap.block)}
