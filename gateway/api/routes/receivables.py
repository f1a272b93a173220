"""Receivables: issue, accept, reject, revoke, repay, mark overdue, declare default; read with the tree."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import func, select

from ledger import ReceivableState, Role
from ledger.exceptions import CreditLineNonexistent, ReceivableNonexistent
from ledger.mirror import CreditLine, Receivable, Voucher

from ...errors import InvalidInput, NotOwner
from ...schemas import (Address, Id, ReceivableCreate, ReceivableDetail, ReceivablePage, Repayment, receivable_json,
                        voucher_json, written)
from ...service import Outcome, block_json
from ..deps import Caller, GatewayDep, IdempotencyDep, PartyDep, WriterDep

router = APIRouter(prefix="/receivables", tags=["receivables"])


def _receivable(gateway, receivable_id: int) -> Receivable:
    found = gateway.fetch(Receivable, receivable_id)
    if found is None:
        raise ReceivableNonexistent(receivable_id)
    return found


@router.post("", status_code=201, response_model=None, responses=written(201))
def issue(body: ReceivableCreate, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Issue a receivable to `supplier` against the caller's credit line (CORE_ENTERPRISE, the line's
    obligor). A fingerprint that already backs a live receivable is refused (409) before anything is sent."""

    def act() -> Outcome:
        caller.need(Role.CORE_ENTERPRISE)
        line = gateway.fetch(CreditLine, body.line_id)
        if line is None:
            raise CreditLineNonexistent(body.line_id)
        caller.must_be(line.obligor, "obligor of the credit line", line_id=body.line_id)
        # A fingerprint already in use is refused by the check before sending (the contract's
        # ReceivableDuplicateDocument, 409): no separate look-up needed.
        document = bytes.fromhex(body.document_hash[2:])
        issued = gateway.ledger.issue(caller.account, body.supplier, line_id=body.line_id, currency=line.currency,
                                      face_value=body.face_value, maturity=body.maturity, document_hash=document)
        return Outcome({"receivable_id": issued.receivable_id, "token_id": issued.token_id}, issued.receipt, 201)

    return gateway.write(caller.party, idem, act)


def _supplier_act(gateway, caller: Caller, receivable_id: int, op) -> Outcome:
    r = _receivable(gateway, receivable_id)
    caller.must_be(r.supplier, "supplier of the receivable", receivable_id=receivable_id)
    return Outcome({"receivable_id": receivable_id}, op(caller.account, receivable_id))


@router.post("/{receivable_id}/accept", response_model=None, responses=written())
def accept(receivable_id: Id, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Accept a pending receivable (its supplier): the root voucher becomes Active."""
    return gateway.write(caller.party, idem, lambda: _supplier_act(gateway, caller, receivable_id,
                                                                  gateway.ledger.accept))


@router.post("/{receivable_id}/reject", response_model=None, responses=written())
def reject(receivable_id: Id, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Reject a pending receivable (its supplier); its document fingerprint is freed."""
    return gateway.write(caller.party, idem, lambda: _supplier_act(gateway, caller, receivable_id,
                                                                  gateway.ledger.reject))


@router.post("/{receivable_id}/revoke", response_model=None, responses=written())
def revoke(receivable_id: Id, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Revoke a pending receivable (its obligor)."""

    def act() -> Outcome:
        r = _receivable(gateway, receivable_id)
        caller.must_be(r.obligor, "obligor of the receivable", receivable_id=receivable_id)
        return Outcome({"receivable_id": receivable_id}, gateway.ledger.revoke(caller.account, receivable_id))

    return gateway.write(caller.party, idem, act)


@router.post("/{receivable_id}/repayments", response_model=None, responses=written())
def repay(receivable_id: Id, body: Repayment, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Repay into the receivable (its obligor), at once or in instalments; overpayment is refused."""

    def act() -> Outcome:
        r = _receivable(gateway, receivable_id)
        caller.must_be(r.obligor, "obligor of the receivable", receivable_id=receivable_id)
        receipt = gateway.ledger.repay(caller.account, receivable_id, body.amount)
        return Outcome({"receivable_id": receivable_id, "amount": str(body.amount)}, receipt)

    return gateway.write(caller.party, idem, act)


@router.post("/{receivable_id}/mark-overdue", response_model=None, responses=written())
def mark_overdue(receivable_id: Id, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Mark the receivable Overdue (any member, once maturity plus the grace period has passed)."""

    def act() -> Outcome:
        _receivable(gateway, receivable_id)
        return Outcome({"receivable_id": receivable_id}, gateway.ledger.mark_overdue(caller.account, receivable_id))

    return gateway.write(caller.party, idem, act)


@router.post("/{receivable_id}/declare-default", response_model=None, responses=written())
def declare_default(receivable_id: Id, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Declare an Overdue receivable Defaulted (the financier of its credit line)."""

    def act() -> Outcome:
        r = _receivable(gateway, receivable_id)
        line = gateway.fetch(CreditLine, r.line_id)
        if line is None or line.financier != caller.address:
            raise NotOwner("only the financier of the receivable's credit line can do this",
                           account=caller.address, receivable_id=receivable_id)
        return Outcome({"receivable_id": receivable_id},
                       gateway.ledger.declare_default(caller.account, receivable_id))

    return gateway.write(caller.party, idem, act)


@router.get("", responses={200: {"model": ReceivablePage}})
def list_receivables(
    caller: PartyDep, gateway: GatewayDep,
    obligor: Address | None = None, supplier: Address | None = None,
    state: Annotated[str | None, Query(description=", ".join(s.name for s in ReceivableState if s))] = None,
    offset: Annotated[int, Query(ge=0, lt=2**63)] = 0, limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict:
    query = select(Receivable)
    if obligor:
        query = query.where(Receivable.obligor == obligor)
    if supplier:
        query = query.where(Receivable.supplier == supplier)
    if state is not None:
        if state.upper() not in ReceivableState.__members__ or state.upper() == "NONE":
            raise InvalidInput("unknown receivable state", state=state)
        query = query.where(Receivable.state == int(ReceivableState[state.upper()]))
    with gateway.snapshot() as snap:
        total = snap.session.exec(select(func.count()).select_from(query.subquery())).one()
        rows = snap.session.exec(query.order_by(Receivable.receivable_id).offset(offset).limit(limit)).all()
        return {"items": [receivable_json(r) for r in rows], "total": total, "offset": offset, "limit": limit,
                "block": block_json(snap.block)}


@router.get("/{receivable_id}", responses={200: {"model": ReceivableDetail}})
def get(receivable_id: Id, caller: PartyDep, gateway: GatewayDep) -> dict:
    """A receivable with its whole voucher tree (burned vouchers included, as lineage needs them)."""
    with gateway.snapshot() as snap:
        r = snap.session.get(Receivable, receivable_id)
        if r is None:
            raise ReceivableNonexistent(receivable_id)
        vouchers = snap.session.exec(select(Voucher).where(Voucher.receivable_id == receivable_id)
                                     .order_by(Voucher.token_id)).all()
        nodes = {v.token_id: {**voucher_json(v), "children": []} for v in vouchers}
        roots = []
        for v in vouchers:
            parent = nodes.get(v.parent_id or 0)
            (parent["children"] if parent is not None and v.token_id != r.root_token_id else roots).append(
                nodes[v.token_id])
        live = sum(v.value for v in vouchers if not v.burned)
        return {**receivable_json(r), "outstanding_value": str(live), "tree": roots, "block": block_json(snap.block)}
