"""The financing events (repayment, claims, overdue and default, factoring offers, deals and
recourse) land in the right tables, equal the chain, and roll back with a reorg."""

from __future__ import annotations

import random

from conftest import DAY, GRACE
from mirror_checks import assert_mirror_matches_chain, dump
from sqlalchemy import func, select

from ledger.mirror import Claim, Deal, EventLog, MirrorReader, Offer, Receivable, Repayment, Voucher
from ledger.mirror.handlers import HANDLERS
from ledger.types import OfferState, ReceivableState, RecourseState, VoucherStatus

#: The events the financing contracts emit: each must have a handler.
FINANCING_EVENTS = {
    ("ReceivableVoucher", name) for name in (
        "ReceivableRepaid", "ReceivableSettled", "ReceivableOverdue", "ReceivableDefaulted", "VoucherClaimed",
        "VoucherPaidMoved", "VoucherPaidRounded", "ReceivableRemainderReleased", "VoucherLocked", "VoucherUnlocked",
    )
} | {("Factoring", name) for name in ("OfferCreated", "OfferCancelled", "Factored", "RecourseExercised",
                                      "RecoursePaid", "RecourseLapsed")}


def test_every_financing_event_has_a_handler():
    assert FINANCING_EVENTS <= set(HANDLERS)


def test_every_factoring_event_is_in_the_abi_the_mirror_follows():
    """The handlers cover the Factoring ABI, so no event of it is only logged."""
    from ledger.compiler import compile_project
    from ledger.mirror import DEPLOYMENT_CONTRACTS

    assert DEPLOYMENT_CONTRACTS["factoring"] == "Factoring"
    abi = compile_project()["Factoring"].abi
    assert {("Factoring", i["name"]) for i in abi if i.get("type") == "event"} <= set(HANDLERS)


def every_financing_event(w) -> dict[str, int]:
    """Make the contracts emit each financing event at least once; return the ids made."""
    led = w.ledger
    issued = w.issue(100_000)
    rid, root = issued.receivable_id, issued.token_id
    deadline = w.now() + 30 * DAY

    # Offered to any financier, then withdrawn: a part split off and locked, then unlocked.
    withdrawn = led.offer(w.tier1, root, 20_000, rate_bps=900, deadline=deadline)
    led.cancel_offer(w.tier1, withdrawn.offer_id)
    # Sold with recourse to the bank: a part.
    sold = led.offer(w.tier1, root, 30_000, rate_bps=600, deadline=deadline, financier=w.bank, recourse=True)
    led.accept_offer(w.bank, sold.offer_id)
    # A whole voucher sold without recourse, to whichever financier takes it.
    child = led.split(w.tier1, root, w.tier2, 20_000).token_id
    whole = led.offer(w.tier2, child, 20_000, rate_bps=300, deadline=deadline)
    assert whole.token_id == child
    led.accept_offer(w.bank, whole.offer_id)

    # Half repaid; claims; paid moves with value (split, merge, value transfer).
    led.repay(w.core, rid, 50_000)
    led.claim(w.bank, sold.token_id)            # 15,000
    led.claim(w.tier1, root)                     # 15,000 of its 30,000
    led.claim(w.tier1, withdrawn.token_id)       # 10,000 of its 20,000
    third = led.split(w.tier1, root, w.tier3, 10_000).token_id      # VoucherPaidMoved(root, third, 5,000)
    led.merge(w.tier1, withdrawn.token_id, root)                    # VoucherPaidMoved(withdrawn, root, 10,000)
    led.set_approval_for_all(w.tier3, w.tier1, True)                # tier3 consents to value into its vouchers
    led.transfer_value(w.tier1, root, third, 4_000)                 # VoucherPaidMoved(root, third, 2,000)

    # A second receivable with an offer left open (its voucher stays Locked), and overdue later.
    other = w.issue(50_000)
    open_offer = led.offer(w.tier1, other.token_id, 50_000, rate_bps=100, deadline=w.now() + 200 * DAY)

    # Past maturity and grace: overdue, then defaulted; the bank calls recourse on its deal.
    w.advance(90 * DAY + GRACE + DAY)
    led.mark_overdue(w.tier3, rid)
    led.mark_overdue(w.tier3, other.receivable_id)
    led.declare_default(w.bank, rid)
    led.exercise_recourse(w.bank, sold.offer_id)   # locks the sold voucher
    led.repay(w.core, rid, 20_000)                 # a defaulted receivable may still be repaid
    led.claim(w.bank, sold.token_id)               # a locked voucher still claims: 6,000
    led.pay_recourse(w.tier1, sold.offer_id)       # what is left of the price; the voucher goes back

    # Settled; every voucher claims the rest and closes.
    led.repay(w.core, rid, 30_000)
    for holder, token in ((w.tier1, sold.token_id), (w.tier1, root), (w.tier3, third), (w.bank, child)):
        assert led.claim(holder, token).closed

    # Odd units: a split charges both sides their share of paid rounded up (VoucherPaidRounded),
    # the part left behind is fully paid out (Closed by the split), the remainder goes to core.
    odd = w.issue(3)
    led.repay(w.core, odd.receivable_id, 1)
    led.claim(w.tier1, odd.token_id)                                 # value 3, paid 1
    odd_child = led.split(w.tier1, odd.token_id, w.tier2, 2).token_id  # left: value 1, paid 1: Closed
    led.repay(w.core, odd.receivable_id, 2)
    assert led.claim(w.tier2, odd_child).amount == 1               # value 2, paid 1
    led.release_remainder(w.tier3, odd.receivable_id)              # the unit charged twice: to core
    return {"receivable": rid, "other": other.receivable_id, "root": root, "sold": sold.token_id, "child": child,
            "third": third, "withdrawn": withdrawn.token_id, "other_token": other.token_id,
            "withdrawn_offer": withdrawn.offer_id, "sold_offer": sold.offer_id, "whole_offer": whole.offer_id,
            "open_offer": open_offer.offer_id, "odd": odd.receivable_id, "odd_root": odd.token_id,
            "odd_child": odd_child}


def test_every_financing_event_lands_in_the_right_tables(mw, db):
    with mw.mirror(db) as mirror:
        ids = every_financing_event(mw)
        cursor = mirror.sync()
    assert cursor.number == mw.head()
    assert assert_mirror_matches_chain(mw, db) == cursor.number

    led = mw.ledger
    with MirrorReader(db).snapshot() as snap:
        s = snap.session
        names = {(c, n) for c, n in s.exec(select(EventLog.contract, EventLog.name).distinct())}
        # A lapse needs a recourse left unpaid for its whole window: its own test below.
        assert FINANCING_EVENTS - {("Factoring", "RecourseLapsed")} <= names

        r = s.get(Receivable, ids["receivable"])
        assert (r.state, r.repaid, r.claimed) == (ReceivableState.SETTLED, 100_000, 100_000)
        assert s.get(Receivable, ids["other"]).state == ReceivableState.OVERDUE
        repayments = s.exec(select(Repayment.amount).where(Repayment.receivable_id == r.receivable_id)
                            .order_by(Repayment.block_number)).scalars().all()
        assert repayments == [50_000, 20_000, 30_000]
        claims = s.exec(select(func.count()).select_from(Claim)).one()[0]
        assert claims == 10
        for name in ("root", "sold", "child", "third"):
            t = s.get(Voucher, ids[name])
            assert (t.status, t.paid) == (VoucherStatus.CLOSED, t.value), name
        for name in ("odd_root", "odd_child"):
            t = s.get(Voucher, ids[name])
            assert (t.status, t.paid) == (VoucherStatus.CLOSED, t.value), name
        odd = s.get(Receivable, ids["odd"])
        assert (odd.state, odd.repaid, odd.claimed) == (ReceivableState.SETTLED, 3, 3)
        withdrawn = s.get(Voucher, ids["withdrawn"])
        assert withdrawn.burned and withdrawn.paid == 0  # merged: its paid moved into the root
        assert s.get(Voucher, ids["other_token"]).status == VoucherStatus.LOCKED

        offers = {o.offer_id: o for o in s.exec(select(Offer)).scalars()}
        assert offers[ids["withdrawn_offer"]].state == OfferState.CANCELLED
        assert offers[ids["open_offer"]].state == OfferState.OPEN
        sold = offers[ids["sold_offer"]]
        assert (sold.state, sold.recourse_state, sold.financier) == (
            OfferState.ACCEPTED, RecourseState.PAID, mw.bank.address)
        # The price less what the voucher was paid out since the deal (15,000 + 6,000).
        assert sold.recourse_amount == sold.price - 21_000
        assert sold.paid_at_deal == 0

        deals = {d.offer_id: d for d in s.exec(select(Deal)).scalars()}
        assert set(deals) == {ids["sold_offer"], ids["whole_offer"]}
        for offer_id, d in deals.items():
            view = led.offer_of(offer_id, block=cursor.number)
            assert (d.financier, d.seller, d.price, d.value) == (mw.bank.address, view.seller, view.price, view.value)
            assert 0 < d.discount == d.value - view.paid_at_deal - d.price  # on the unpaid value sold
            assert d.receivable_id == ids["receivable"] and d.currency == mw.cash
        assert deals[ids["sold_offer"]].recourse and not deals[ids["whole_offer"]].recourse


def test_a_lapsed_recourse_is_mirrored_with_what_the_seller_left_unpaid(mw, db):
    """Issue 13, item 11: the seller stays silent past the recourse window; the financier ends it
    and keeps the voucher. The mirror records the lapse and the unpaid recourse, as the chain."""
    led = mw.ledger
    issued = mw.issue(100_000)
    offered = led.offer(mw.tier1, issued.token_id, 40_000, rate_bps=700, deadline=mw.now() + 10 * DAY,
                        financier=mw.bank, recourse=True)
    deal = led.accept_offer(mw.bank, offered.offer_id)
    mw.advance(led.overdue_at(issued.receivable_id) - mw.now() + 60)
    led.mark_overdue(mw.tier2, issued.receivable_id)
    led.exercise_recourse(mw.bank, offered.offer_id)
    mw.advance(led.recourse_ends_at(offered.offer_id) - mw.now() + 60)
    led.end_recourse(mw.bank, offered.offer_id)
    with mw.mirror(db) as mirror:
        mirror.sync()
    assert_mirror_matches_chain(mw, db)
    with MirrorReader(db).snapshot() as snap:
        offer = snap.session.get(Offer, offered.offer_id)
        voucher = snap.session.get(Voucher, offered.token_id)
        assert (offer.recourse_state, offer.recourse_amount) == (int(RecourseState.LAPSED), deal.price)
        assert (voucher.holder, voucher.status) == (mw.bank.address, int(VoucherStatus.ACTIVE))


def test_paid_at_deal_is_the_vouchers_paid_when_it_was_sold(mw, db):
    """A voucher sold after a repayment was claimed on it carries that paid into the deal."""
    led = mw.ledger
    issued = mw.issue(100_000)
    led.repay(mw.core, issued.receivable_id, 10_000)
    led.claim(mw.tier1, issued.token_id)  # paid 10,000
    offered = led.offer(mw.tier1, issued.token_id, 40_000, rate_bps=700, deadline=mw.now() + 10 * DAY,
                        financier=mw.bank, recourse=True)  # the split part carries 4,000 of it
    led.accept_offer(mw.bank, offered.offer_id)
    with mw.mirror(db) as mirror:
        mirror.sync()
    assert_mirror_matches_chain(mw, db)
    with MirrorReader(db).snapshot() as snap:
        offer = snap.session.get(Offer, offered.offer_id)
        deal = snap.session.get(Deal, offered.offer_id)
        assert offer.paid_at_deal == deal.paid_at_deal == 4_000 == led.offer_of(offered.offer_id).paid_at_deal


def revert_to(mw, snapshot: str) -> None:
    assert mw.rpc("evm_revert", snapshot) is True
    mw.chain.forget_local_state()


def _rows(db: str) -> dict[str, int]:
    with MirrorReader(db).snapshot() as snap:
        s = snap.session
        return {model.__tablename__: s.exec(select(func.count()).select_from(model)).one()[0]
                for model in (Repayment, Claim, Deal)}


def test_a_reorg_rolls_back_a_repayment_a_claim_and_a_deal(mw, db, tmp_path):
    led = mw.ledger
    issued = mw.issue(100_000)
    rid, root = issued.receivable_id, issued.token_id
    offered = led.offer(mw.tier1, root, 40_000, rate_bps=500, deadline=mw.now() + 30 * DAY, financier=mw.bank,
                        recourse=True)
    with mw.mirror(db) as mirror:
        mirror.sync()
        before = dump(db)
        snapshot = mw.rpc("evm_snapshot")
        led.accept_offer(mw.bank, offered.offer_id)  # the deal
        led.repay(mw.core, rid, 60_000)              # a repayment
        led.claim(mw.tier1, root)                     # claims
        led.claim(mw.bank, offered.token_id)
        led.split(mw.tier1, root, mw.tier2, 6_000)    # paid moves with value
        mirror.sync()
        assert_mirror_matches_chain(mw, db)
        assert _rows(db) == {"repayment": 1, "claim": 2, "deal": 1}

        # The chain goes back to before the deal: the tables go back with it.
        revert_to(mw, snapshot)
        assert mirror.sync().number == mw.head()
        assert dump(db) == before
        assert_mirror_matches_chain(mw, db)

        # Another branch: the offer withdrawn, a smaller repayment.
        led.cancel_offer(mw.tier1, offered.offer_id)
        led.repay(mw.core, rid, 25_000)
        mirror.sync()
        assert_mirror_matches_chain(mw, db)
        assert _rows(db) == {"repayment": 1, "claim": 0, "deal": 0}
        with MirrorReader(db).snapshot() as snap:
            s = snap.session
            assert s.get(Offer, offered.offer_id).state == OfferState.CANCELLED
            assert s.get(Voucher, offered.token_id).status == VoucherStatus.ACTIVE
            assert (s.get(Voucher, root).paid, s.get(Receivable, rid).repaid) == (0, 25_000)

        # Replaced at the same height (anvil_reorg): a claim, a second offer and its deal undone.
        again = led.offer(mw.tier1, root, 10_000, rate_bps=500, deadline=mw.now() + 30 * DAY)
        led.accept_offer(mw.bank, again.offer_id)   # approve + accept: 2 blocks
        led.claim(mw.tier1, offered.token_id)
        mirror.sync()
        assert _rows(db) == {"repayment": 1, "claim": 1, "deal": 1}
        head = mw.head()
        mw.rpc("anvil_reorg", 4, [])
        mw.chain.forget_local_state()
        assert mw.head() == head
        assert mirror.sync().number == head
        assert_mirror_matches_chain(mw, db)
        assert _rows(db) == {"repayment": 1, "claim": 0, "deal": 0}

    # And the tables are what a mirror of the final chain alone builds.
    fresh = str(tmp_path / "fresh.db")
    with mw.mirror(fresh) as mirror:
        mirror.sync()
    assert _strip_cursor(dump(fresh)) == _strip_cursor(dump(db))


def _strip_cursor(tables: dict) -> dict:
    return {name: rows for name, rows in tables.items() if name != "cursor"}


def test_random_reorgs_with_financing(mw, db):
    rng = random.Random(11)
    with mw.mirror(db, max_page=4) as mirror:
        for _ in range(4):
            mw.financing(1)
            if rng.random() < 0.5:
                mirror.step()
            else:
                mirror.sync()
            kind = rng.choice(["rollback", "reorg", "revert"])
            depth = rng.randint(1, 10)
            if kind == "rollback":
                mw.rpc("anvil_rollback", depth)
            elif kind == "reorg":
                mw.rpc("anvil_reorg", depth, [])
            else:
                snapshot = mw.rpc("evm_snapshot")
                mw.financing(1)
                mirror.sync()
                revert_to(mw, snapshot)
            mw.chain.forget_local_state()
            mirror.sync()
            assert_mirror_matches_chain(mw, db)
