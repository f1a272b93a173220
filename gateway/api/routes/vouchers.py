"""Vouchers: list and read (with lineage), split, transfer value, merge, transfer whole, claim."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import func, or_, select

from ledger import VoucherStatus
from ledger.exceptions import VoucherNonexistent
from ledger.mirror import EventLog, Receivable, Voucher

from ...errors import InvalidInput
from ...schemas import (Address, Id, MergeRequest, SplitRequest, Timestamp, TokenApproval, TransferRequest,
                        ValueApproval, ValueTransfer, VoucherDetail, VoucherPage, voucher_json, written)
from ...service import Outcome, block_json
from ...validation import Limit, Offset
from ..deps import Caller, GatewayDep, IdempotencyDep, ReaderDep, WriterDep
from ..visibility import Access, may_see_event, refuse, scope_of, voucher_access

router = APIRouter(prefix="/vouchers", tags=["vouchers"])

STATUSES = [s.name for s in VoucherStatus if s is not VoucherStatus.NONE] + ["BURNED"]


def held_voucher(gateway, caller: Caller, token_id: int) -> Voucher:
    """The voucher, checked to exist and to be the caller's, from the mirror (before signing)."""
    v = gateway.fetch(Voucher, token_id)
    if v is None or v.burned:
        raise VoucherNonexistent(token_id)
    caller.must_be(v.holder, "holder of the voucher", token_id=token_id, holder=v.holder)
    return v


def _serial(gateway, *token_ids: int):
    """Run the decorated write holding the vouchers' locks (see Gateway.locked)."""

    def wrap(act):
        def run() -> Outcome:
            with gateway.locked(*(("voucher", t) for t in token_ids)):
                return act()
        return run

    return wrap


@router.post("/{token_id}/split", status_code=201, response_model=None, responses=written(201))
def split(token_id: Id, body: SplitRequest, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Move `value` out of the voucher into a new voucher for `to` (a member)."""

    @_serial(gateway, token_id)
    def act() -> Outcome:
        held_voucher(gateway, caller, token_id)
        made = gateway.ledger.split(caller.account, token_id, body.to, body.value)
        return Outcome({"token_id": made.token_id, "parent_id": token_id, "value": str(body.value)},
                       made.receipt, 201)

    return gateway.write(caller.party, idem, act)


@router.post("/{token_id}/transfer-value", response_model=None, responses=written())
def transfer_value(token_id: Id, body: ValueTransfer, caller: WriterDep, gateway: GatewayDep,
                   idem: IdempotencyDep):
    """Move `value` into an existing voucher of the same receivable: the caller's own, or another
    party's that consented (approved that voucher to the caller, or made the caller its operator);
    otherwise 403 `VoucherUnsolicitedValue`."""

    @_serial(gateway, token_id, body.to_token_id)
    def act() -> Outcome:
        held_voucher(gateway, caller, token_id)
        receipt = gateway.ledger.transfer_value(caller.account, token_id, body.to_token_id, body.value)
        return Outcome({"from_token_id": token_id, "to_token_id": body.to_token_id, "value": str(body.value)},
                       receipt)

    return gateway.write(caller.party, idem, act)


@router.post("/{token_id}/merge", response_model=None, responses=written())
def merge(token_id: Id, body: MergeRequest, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Join this voucher into `into_token_id` (same holder and receivable); this one is burned."""

    @_serial(gateway, token_id, body.into_token_id)
    def act() -> Outcome:
        held_voucher(gateway, caller, token_id)
        receipt = gateway.ledger.merge(caller.account, token_id, body.into_token_id)
        return Outcome({"from_token_id": token_id, "into_token_id": body.into_token_id}, receipt)

    return gateway.write(caller.party, idem, act)


@router.post("/{token_id}/transfer", response_model=None, responses=written())
def transfer(token_id: Id, body: TransferRequest, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Transfer the whole voucher to `to` (a member)."""

    @_serial(gateway, token_id)
    def act() -> Outcome:
        v = held_voucher(gateway, caller, token_id)
        receipt = gateway.ledger.transfer(caller.account, token_id, body.to, holder=v.holder)
        return Outcome({"token_id": token_id, "to": body.to}, receipt)

    return gateway.write(caller.party, idem, act)


@router.post("/{token_id}/claim", response_model=None, responses=written())
def claim(token_id: Id, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Pay the holder its share of what the obligor has repaid so far."""

    @_serial(gateway, token_id)
    def act() -> Outcome:
        held_voucher(gateway, caller, token_id)
        claimed = gateway.ledger.claim(caller.account, token_id)
        return Outcome({"token_id": token_id, "amount": str(claimed.amount), "closed": claimed.closed},
                       claimed.receipt)

    return gateway.write(caller.party, idem, act)


@router.post("/{token_id}/approve-value", response_model=None, responses=written())
def approve_value(token_id: Id, body: ValueApproval, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Let `operator` move up to `value` out of the voucher (ERC-3525 value allowance; 0 withdraws it).
    A whole transfer of the voucher ends every approval."""

    @_serial(gateway, token_id)
    def act() -> Outcome:
        held_voucher(gateway, caller, token_id)
        receipt = gateway.ledger.approve_value(caller.account, token_id, body.operator, body.value)
        return Outcome({"token_id": token_id, "operator": body.operator, "value": str(body.value)}, receipt)

    return gateway.write(caller.party, idem, act)


@router.post("/{token_id}/approve", response_model=None, responses=written())
def approve(token_id: Id, body: TokenApproval, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Let `operator` move the whole voucher (ERC-721 approval; the zero address withdraws it)."""

    @_serial(gateway, token_id)
    def act() -> Outcome:
        held_voucher(gateway, caller, token_id)
        receipt = gateway.ledger.approve(caller.account, body.operator, token_id)
        return Outcome({"token_id": token_id, "operator": body.operator}, receipt)

    return gateway.write(caller.party, idem, act)


@router.get("", responses={200: {"model": VoucherPage}})
def list_vouchers(
    caller: ReaderDep, gateway: GatewayDep,
    holder: Address | None = None, receivable_id: Annotated[Id | None, Query()] = None,
    status: Annotated[str | None, Query(description="one of " + ", ".join(STATUSES))] = None,
    matures_after: Annotated[Timestamp | None, Query(description="receivable maturity >= this (unix s)")] = None,
    matures_before: Annotated[Timestamp | None, Query(description="receivable maturity < this (unix s)")] = None,
    offset: Annotated[Offset, Query()] = 0, limit: Annotated[Limit, Query()] = 50,
) -> dict:
    """Vouchers, filtered and paginated (by token id); burned ones only when status=BURNED.
    `matures_after` / `matures_before` filter by their receivable's maturity.

    Only the vouchers the caller may see (api/visibility.py): auditors and the operator all; a
    receivable's obligor, supplier and line financier all of its vouchers; anyone else the branches
    it holds or held, offered or dealt in. `total` counts only those."""
    query = select(Voucher)
    if matures_after is not None or matures_before is not None:
        if matures_after is not None and matures_before is not None and matures_before <= matures_after:
            raise InvalidInput("matures_before must be later than matures_after",
                               matures_after=matures_after, matures_before=matures_before)
        query = query.join(Receivable, Receivable.receivable_id == Voucher.receivable_id)
        if matures_after is not None:
            query = query.where(Receivable.maturity >= matures_after)
        if matures_before is not None:
            query = query.where(Receivable.maturity < matures_before)
    if holder:
        query = query.where(Voucher.holder == holder)
    if receivable_id is not None:
        query = query.where(Voucher.receivable_id == receivable_id)
    if status is not None:
        wanted = status.upper()
        if wanted not in STATUSES:
            raise InvalidInput("unknown voucher status", status=status, statuses=STATUSES)
        if wanted == "BURNED":
            query = query.where(Voucher.burned == True)  # noqa: E712
        else:
            query = query.where(Voucher.burned == False, Voucher.status == int(VoucherStatus[wanted]))  # noqa: E712
    else:
        query = query.where(Voucher.burned == False)  # noqa: E712
    with gateway.snapshot() as snap:
        query = query.where(scope_of(snap.session, caller).vouchers())
        total = snap.session.exec(select(func.count()).select_from(query.subquery())).one()
        rows = snap.session.exec(query.order_by(Voucher.token_id).offset(offset).limit(limit)).all()
        return {"items": [voucher_json(v) for v in rows], "total": total, "offset": offset, "limit": limit,
                "block": block_json(snap.block)}


@router.get("/{token_id}", responses={200: {"model": VoucherDetail}})
def get(token_id: Id, caller: ReaderDep, gateway: GatewayDep) -> dict:
    """A voucher, its lineage (its ancestors from the root down to its parent) and its `history`.

    Only for a caller that may see it (api/visibility.py): auditors, the operator, its receivable's
    obligor, supplier and line financier, and the parties of its branch (who hold or held it, or a
    voucher split off it or above it, or offered or dealt in one). Anyone else gets 403 `NotOwner`;
    a voucher that does not exist is 404 for everyone. The history leaves out events that name a
    voucher the caller may not see (a split of an ancestor into another party's branch)."""
    with gateway.snapshot() as snap:
        v = snap.session.get(Voucher, token_id)
        if v is None:
            raise VoucherNonexistent(token_id)
        access, _ = voucher_access(snap.session, caller, v)
        if not access.sees(token_id):
            raise refuse(caller, "this voucher", token_id=token_id)
        lineage, seen, parent = [], {token_id}, v.parent_id
        while parent and parent not in seen:
            seen.add(parent)
            p = snap.session.get(Voucher, parent)
            if p is None:
                break
            lineage.append(voucher_json(p))
            parent = p.parent_id
        lineage.reverse()
        history = _history(snap.session, v, access)
        return {**voucher_json(v), "lineage": lineage, "history": history, "block": block_json(snap.block)}


#: Event arguments that name a voucher, by event (ERC-721/3525 use _-prefixed names).
TOKEN_ARGS = ("tokenId", "_tokenId", "fromTokenId", "toTokenId", "_fromTokenId", "_toTokenId")


def _history(session, v: Voucher, access: Access) -> list[dict]:
    """Every event that names the voucher, in chain order, from the mirror's event_log; of those
    that name other vouchers too, only the ones whose vouchers `access` sees.

    event_log keeps arguments as JSON text (compact, ints as numbers), so a LIKE narrows the
    rows from the voucher's minting block on and the JSON decides exactly.
    """
    tid = v.token_id
    query = (select(EventLog)
             .where(EventLog.block_number >= (v.minted_block or 0),
                    or_(EventLog.args.like(f"%:{tid},%"), EventLog.args.like(f"%:{tid}}}")))
             .order_by(EventLog.block_number, EventLog.log_index))
    out = []
    for e in session.exec(query).all():
        args = json.loads(e.args)
        if e.contract not in ("ReceivableVoucher", "Factoring") or not any(args.get(k) == tid for k in TOKEN_ARGS):
            continue
        if not may_see_event(access, args, TOKEN_ARGS):
            continue
        out.append({"event": e.name, "contract": e.contract, "block_number": e.block_number,
                    "log_index": e.log_index, "tx_hash": e.tx_hash,
                    "args": {k: (str(a) if isinstance(a, int) and not isinstance(a, bool) else a)
                             for k, a in args.items()}})
    return out
