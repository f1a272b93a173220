"""Factoring offers: create, cancel, accept (delivery versus payment), recourse."""

from __future__ import annotations

from fastapi import APIRouter

from ledger import Role
from ledger.exceptions import FactoringOfferNonexistent
from ledger.mirror import Offer
from ledger.types import OfferState

from ...errors import NotOwner
from ...schemas import Id, OfferAccept, OfferCreate, OfferPublic, offer_json, written
from ...service import Outcome, block_json
from ..deps import GatewayDep, IdempotencyDep, ReaderDep, WriterDep
from ..visibility import require_offer
from .vouchers import held_voucher

router = APIRouter(prefix="/offers", tags=["offers"])


def _offer(gateway, offer_id: int) -> Offer:
    found = gateway.fetch(Offer, offer_id)
    if found is None:
        raise FactoringOfferNonexistent(offer_id)
    return found


@router.post("", status_code=201, response_model=None, responses=written(201))
def create(body: OfferCreate, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Offer `value` of a voucher for factoring; the value is locked (split off if a part) until
    the offer is accepted or cancelled."""

    def act() -> Outcome:
        with gateway.locked(("voucher", body.token_id)):
            held_voucher(gateway, caller, body.token_id)
            made = gateway.ledger.offer(caller.account, body.token_id, body.value, rate_bps=body.rate_bps,
                                        deadline=body.deadline, financier=body.financier, recourse=body.recourse)
        return Outcome({"offer_id": made.offer_id, "token_id": made.token_id}, made.receipt, 201)

    return gateway.write(caller.party, idem, act)


@router.post("/{offer_id}/cancel", response_model=None, responses=written())
def cancel(offer_id: Id, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Withdraw an open offer (its seller); the voucher is unlocked."""

    def act() -> Outcome:
        o = _offer(gateway, offer_id)
        caller.must_be(o.seller, "seller", offer_id=offer_id)
        return Outcome({"offer_id": offer_id}, gateway.ledger.cancel_offer(caller.account, offer_id))

    return gateway.write(caller.party, idem, act)


@router.post("/{offer_id}/accept", response_model=None, responses=written())
def accept(offer_id: Id, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep,
           body: OfferAccept | None = None):
    """Buy the offered voucher (FINANCIER; the offeree if one was named): voucher and price change
    hands in one transaction. The price is on the voucher's unpaid value (value − paid) at
    acceptance; the body's limits (`max_price`, `min_unpaid_value`, each optional, read from the
    chain just before sending when omitted) make the contract refuse a deal that changed under
    the financier (409 `FactoringPriceAboveLimit` / `FactoringUnpaidValueBelowLimit`)."""
    limits = body or OfferAccept()

    def act() -> Outcome:
        caller.need(Role.FINANCIER)
        o = _offer(gateway, offer_id)
        if o.state == int(OfferState.OPEN) and int(o.financier, 16) != 0:
            caller.must_be(o.financier, "financier the offer is made to", offer_id=offer_id)
        deal = gateway.ledger.accept_offer(caller.account, offer_id, max_price=limits.max_price,
                                           min_unpaid_value=limits.min_unpaid_value)
        return Outcome({"offer_id": offer_id, "price": str(deal.price)}, deal.receipt)

    return gateway.write(caller.party, idem, act)


@router.post("/{offer_id}/exercise-recourse", response_model=None, responses=written())
def exercise_recourse(offer_id: Id, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Claim recourse against the seller once the receivable is Overdue (the deal's financier)."""

    def act() -> Outcome:
        o = _offer(gateway, offer_id)
        if o.state != int(OfferState.ACCEPTED) or o.financier != caller.address:
            raise NotOwner("only the financier who bought this offer can exercise recourse",
                           account=caller.address, offer_id=offer_id)
        return Outcome({"offer_id": offer_id}, gateway.ledger.exercise_recourse(caller.account, offer_id))

    return gateway.write(caller.party, idem, act)


@router.post("/{offer_id}/pay-recourse", response_model=None, responses=written())
def pay_recourse(offer_id: Id, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Pay what recourse asks (the seller) and take the voucher back."""

    def act() -> Outcome:
        o = _offer(gateway, offer_id)
        caller.must_be(o.seller, "seller", offer_id=offer_id)
        return Outcome({"offer_id": offer_id}, gateway.ledger.pay_recourse(caller.account, offer_id))

    return gateway.write(caller.party, idem, act)


@router.post("/{offer_id}/end-recourse", response_model=None, responses=written())
def end_recourse(offer_id: Id, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """End a recourse the seller left unpaid past its window (the deal's financier): the financier
    keeps the voucher, unlocked; the unpaid recourse is recorded (409 `FactoringRecourseWindowOpen`
    before the window's end)."""

    def act() -> Outcome:
        o = _offer(gateway, offer_id)
        if o.state != int(OfferState.ACCEPTED) or o.financier != caller.address:
            raise NotOwner("only the financier who bought this offer can end its recourse",
                           account=caller.address, offer_id=offer_id)
        return Outcome({"offer_id": offer_id}, gateway.ledger.end_recourse(caller.account, offer_id))

    return gateway.write(caller.party, idem, act)


@router.get("/{offer_id}", responses={200: {"model": OfferPublic}})
def get(offer_id: Id, caller: ReaderDep, gateway: GatewayDep) -> dict:
    """A factoring offer and, once accepted, its price. Only for its seller, the financier it is made
    to, whoever may see its voucher (api/visibility.py), auditors and the operator; an open offer
    made to no financier in particular, also for every FINANCIER. Anyone else gets 403 `NotOwner`;
    an offer that does not exist is 404 for everyone."""
    with gateway.snapshot() as snap:
        o = snap.session.get(Offer, offer_id)
        if o is None:
            raise FactoringOfferNonexistent(offer_id)
        require_offer(snap.session, caller, o)
        return {**offer_json(o), "block": block_json(snap.block)}
