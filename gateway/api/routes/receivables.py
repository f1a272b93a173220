"""Receivables: issue, accept, reject, revoke, repay, mark overdue, declare default; read with the tree."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import func, select

from ledger import ReceivableState, Role
from ledger.exceptions import CreditLineNonexistent, ReceivableNonexistent
from ledger.mirror import CreditLine, Receivable

from ...errors import InvalidInput, NotOwner
from ...schemas import (Address, Id, ReceivableCreate, ReceivableDetail, ReceivablePage, Repayment, receivable_json,
                        voucher_json, written)
from ...service import Outcome, block_json
from ...validation import Limit, Offset
from ..deps import Caller, GatewayDep, IdempotencyDep, ReaderDep, WriterDep
from ..visibility import access_to, receivable_and_vouchers, refuse, scope_of

router = APIRouter(prefix="/receivables", tags=["receivables"])


def outstanding(r: Receivable) -> int:
    """What the obligor still owes: face value minus what it repaid (0 once settled), and nothing
    for a receivable that was rejected or revoked (it never became a debt)."""
    if r.state in (int(ReceivableState.REJECTED), int(ReceivableState.REVOKED)):
        return 0
    return max(0, r.face_value - r.repaid)


def _receivable(gateway, receivable_id: int) -> Receivable:
    found = gateway.fetch(Receivable, receivable_id)
    if found is None:
        raise ReceivableNonexistent(receivable_id)
    return found


@router.post("", status_code=201, response_model=None, responses=written(201))
def issue(body: ReceivableCreate, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Issue a receivable to `supplier` against the caller's credit line (CORE_ENTERPRISE, the line's
    obligor). A fingerprint that already backs a live receivable of the same obligor is refused (409) before
    anything is sent; another obligor's receivable on the same fingerprint does not block it."""

    def act() -> Outcome:
        caller.need(Role.CORE_ENTERPRISE)
        line = gateway.fetch(CreditLine, body.line_id)
        if line is None:
            raise CreditLineNonexistent(body.line_id)
        caller.must_be(line.obligor, "obligor of the credit line", line_id=body.line_id)
        # A fingerprint this obligor already uses for a live receivable is refused by the check
        # before sending (the contract's ReceivableDuplicateDocument, per obligor, 409): no
        # separate look-up needed, and none could be right across obligors.
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
    """Mark the receivable Overdue (any member, once maturity plus the grace period, plus any time the
    ledger spent paused since issue, has passed)."""

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
    caller: ReaderDep, gateway: GatewayDep,
    obligor: Address | None = None, supplier: Address | None = None,
    state: Annotated[str | None, Query(description=", ".join(s.name for s in ReceivableState if s))] = None,
    offset: Annotated[Offset, Query()] = 0, limit: Annotated[Limit, Query()] = 50,
) -> dict:
    """Receivables, filtered and paginated (by id): only those the caller may see (api/visibility.py):
    auditors and the operator all; a party those it owes, was issued or finances the line of, and
    those of which it holds or held, offered or dealt in a voucher. `total` counts only those."""
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
        query = query.where(scope_of(snap.session, caller).receivables_())
        total = snap.session.exec(select(func.count()).select_from(query.subquery())).one()
        rows = snap.session.exec(query.order_by(Receivable.receivable_id).offset(offset).limit(limit)).all()
        return {"items": [receivable_json(r) for r in rows], "total": total, "offset": offset, "limit": limit,
                "block": block_json(snap.block)}


@router.get("/{receivable_id}", responses={200: {"model": ReceivableDetail}})
def get(receivable_id: Id, caller: ReaderDep, gateway: GatewayDep) -> dict:
    """A receivable with its voucher tree (burned vouchers included, as lineage needs them).

    Auditors, the operator, its obligor, supplier and line financier get the whole tree
    (`access.scope` "all"); a party that holds or held, offered or dealt in part of it gets the tree
    cut to its branches (`access.scope` "branches": the lineage above its vouchers and what was
    split off below them; `hidden` counts the vouchers left out); anyone else 403 `NotOwner` (a
    receivable that does not exist is 404 for everyone). See api/visibility.py."""
    with gateway.snapshot() as snap:
        r, every = receivable_and_vouchers(snap.session, receivable_id)
        access = access_to(snap.session, caller, r, every)
        if not access.any:
            raise refuse(caller, "this receivable", receivable_id=receivable_id)
        vouchers = [v for v in every if access.sees(v.token_id)]
        nodes = {v.token_id: {**voucher_json(v), "children": []} for v in vouchers}
        roots = []
        for v in vouchers:
            parent = nodes.get(v.parent_id or 0)
            (parent["children"] if parent is not None and v.token_id != r.root_token_id else roots).append(
                nodes[v.token_id])
        return {**receivable_json(r), "outstanding_value": str(outstanding(r)), "tree": roots, "access": access.json(),
                "hidden": len(every) - len(vouchers), "block": block_json(snap.block)}
