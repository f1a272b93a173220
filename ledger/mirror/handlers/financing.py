"""Handlers of the financing events: repayment, claims, overdue and default (ReceivableVoucher),
and offers, deals and recourse (Factoring).

A voucher's `paid` is never recomputed here: the contract emits VoucherClaimed with the new
total, VoucherPaidMoved whenever a split, value transfer or merge moves a non-zero share of it
(rounded up on chain), and VoucherPaidRounded when the source keeps one unit more (the
receivable's rounding remainder), so applying those events keeps it exact. A voucher left fully
paid out by a move (value > 0, paid == value) is Closed, as the contract closes it.
"""

from __future__ import annotations

from ...types import Event, OfferState, ReceivableState, RecourseState, VoucherStatus
from ..store import Store
from . import on
from .core import VOUCHER, set_receivable_state

FACTORING = "Factoring"


# -- settlement (ReceivableVoucher) --------------------------------------------------------------


@on(VOUCHER, "ReceivableRepaid")
def receivable_repaid(store: Store, e: Event) -> None:
    a = e.args
    receivable = store.get("receivable", a["receivableId"])
    receivable["repaid"] = a["repaid"]  # the event carries the new total
    store.put("receivable", receivable)
    store.put("repayment", {
        "block_number": e.block_number, "log_index": e.log_index, "receivable_id": a["receivableId"],
        "payer": a["payer"], "amount": a["amount"], "repaid": a["repaid"], "tx_hash": e.tx_hash,
    })


@on(VOUCHER, "ReceivableSettled", "ReceivableOverdue", "ReceivableDefaulted")
def receivable_state_changed(store: Store, e: Event) -> None:
    state = {
        "ReceivableSettled": ReceivableState.SETTLED,
        "ReceivableOverdue": ReceivableState.OVERDUE,
        "ReceivableDefaulted": ReceivableState.DEFAULTED,
    }[e.name]
    set_receivable_state(store, e.args["receivableId"], state)


@on(VOUCHER, "VoucherClaimed")
def voucher_claimed(store: Store, e: Event) -> None:
    a = e.args
    voucher = store.get("voucher", a["tokenId"])
    voucher["paid"] = a["paid"]  # the new total
    if a["closed"]:
        voucher["status"] = int(VoucherStatus.CLOSED)
    store.put("voucher", voucher)
    receivable = store.get("receivable", a["receivableId"])
    receivable["claimed"] += a["amount"]
    store.put("receivable", receivable)
    store.put("claim", {
        "block_number": e.block_number, "log_index": e.log_index, "token_id": a["tokenId"],
        "receivable_id": a["receivableId"], "holder": a["holder"], "amount": a["amount"], "paid": a["paid"],
        "closed": a["closed"], "tx_hash": e.tx_hash,
    })


@on(VOUCHER, "VoucherPaidMoved")
def voucher_paid_moved(store: Store, e: Event) -> None:
    """A split, value transfer or merge carried `paid` with the value (after its TransferValue)."""
    source, target, paid = e.args["fromTokenId"], e.args["toTokenId"], e.args["paid"]
    voucher = store.get("voucher", source)
    voucher["paid"] -= paid  # a merge's source is burned next: it ends at 0 either way
    store.put("voucher", voucher)
    voucher = store.get("voucher", target)
    voucher["paid"] += paid
    _close_if_paid_out(voucher)
    store.put("voucher", voucher)


@on(VOUCHER, "VoucherPaidRounded")
def voucher_paid_rounded(store: Store, e: Event) -> None:
    """Both shares of a move rounded up: the source keeps one unit of paid more (after VoucherPaidMoved)."""
    voucher = store.get("voucher", e.args["tokenId"])
    voucher["paid"] += 1
    _close_if_paid_out(voucher)
    store.put("voucher", voucher)


@on(VOUCHER, "ReceivableRemainderReleased")
def remainder_released(store: Store, e: Event) -> None:
    """The rounding remainder paid to the obligor counts in what the receivable paid out."""
    receivable = store.get("receivable", e.args["receivableId"])
    receivable["claimed"] += e.args["amount"]
    store.put("receivable", receivable)


def _close_if_paid_out(voucher: dict) -> None:
    if voucher["value"] > 0 and voucher["paid"] == voucher["value"]:
        voucher["status"] = int(VoucherStatus.CLOSED)


@on(VOUCHER, "VoucherLocked", "VoucherUnlocked")
def voucher_lock_changed(store: Store, e: Event) -> None:
    voucher = store.get("voucher", e.args["tokenId"])
    voucher["status"] = int(VoucherStatus.LOCKED if e.name == "VoucherLocked" else VoucherStatus.ACTIVE)
    store.put("voucher", voucher)


# -- factoring -----------------------------------------------------------------------------------


def _offer(store: Store, e: Event) -> dict:
    offer = store.get("offer", e.args["offerId"])
    offer["updated_block"] = e.block_number
    return offer


@on(FACTORING, "OfferCreated")
def offer_created(store: Store, e: Event) -> None:
    """An offer of the voucher locked for it (VoucherLocked came first, in the same transaction)."""
    a = e.args
    voucher = store.get("voucher", a["tokenId"])
    store.put("offer", {
        "offer_id": a["offerId"], "seller": a["seller"], "token_id": a["tokenId"],
        "receivable_id": voucher["receivable_id"], "rate_bps": a["rateBps"], "recourse": a["recourse"],
        "state": int(OfferState.OPEN), "financier": a["financier"], "deadline": a["deadline"],
        "recourse_state": int(RecourseState.NONE), "value": a["value"], "price": 0, "paid_at_deal": 0,
        "recourse_amount": 0, "created_block": e.block_number, "tx_hash": e.tx_hash, "updated_block": e.block_number,
    })


@on(FACTORING, "OfferCancelled")
def offer_cancelled(store: Store, e: Event) -> None:
    offer = _offer(store, e)
    offer["state"] = int(OfferState.CANCELLED)
    store.put("offer", offer)


@on(FACTORING, "Factored")
def factored(store: Store, e: Event) -> None:
    """The deal. It is emitted before the voucher is delivered, so the mirrored voucher's paid is
    the paid the contract records as paidAtDeal."""
    a = e.args
    offer = _offer(store, e)
    voucher = store.get("voucher", a["tokenId"])
    receivable = store.get("receivable", voucher["receivable_id"])
    offer.update(state=int(OfferState.ACCEPTED), financier=a["financier"], price=a["price"],
                 paid_at_deal=voucher["paid"])
    store.put("offer", offer)
    store.put("deal", {
        "offer_id": a["offerId"], "receivable_id": voucher["receivable_id"], "token_id": a["tokenId"],
        "seller": a["seller"], "financier": a["financier"], "currency": receivable["currency"],
        "value": a["value"], "price": a["price"], "discount": a["value"] - voucher["paid"] - a["price"], "rate_bps": a["rateBps"],
        "recourse": a["recourse"], "paid_at_deal": voucher["paid"], "block_number": e.block_number,
        "tx_hash": e.tx_hash,
    })


_RECOURSE = {"RecourseExercised": RecourseState.CLAIMED, "RecoursePaid": RecourseState.PAID,
             "RecourseLapsed": RecourseState.LAPSED}


@on(FACTORING, "RecourseExercised", "RecoursePaid", "RecourseLapsed")
def recourse_changed(store: Store, e: Event) -> None:
    """Exercised: what the seller owes then; paid: what it paid (less if claims came between);
    lapsed: what it left unpaid past the window (its debt; the financier kept the voucher)."""
    offer = _offer(store, e)
    offer["recourse_state"] = int(_RECOURSE[e.name])
    offer["recourse_amount"] = e.args["amount"]
    store.put("offer", offer)
