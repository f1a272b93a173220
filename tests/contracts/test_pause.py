"""The pause policy (docs/contracts.md): what stops, what goes on, and no right lost to time paused.

One pause, the voucher contract's, stops every change of who holds, owes or is owed value in
every contract; repayments go on; configuration and membership go on. Periods that protect a
party (the grace period) do not run while paused.
"""

import os

import pytest
from eth_account import Account

from ledger import PledgeState, ReceivableState, Role
from ledger.types import OfferState
from ledger.exceptions import EnforcedPause, ReceivableNotYetOverdue
from tests.conftest import DAY, GRACE, LINE_LIMIT, dev_account

APPRAISER, EXCHANGE, PROVIDER = (dev_account(i) for i in (10, 12, 13))
LISTING = b"SZDE-0001".ljust(32, b"\0")


@pytest.fixture(scope="module")
def world(world):
    """The shared world plus an appraiser, an exchange and a data provider (members)."""
    led, op = world.ledger, world.parties.operator
    led.admit(op, APPRAISER, [Role.APPRAISER])
    led.admit(op, EXCHANGE, [Role.EXCHANGE])
    led.admit(op, PROVIDER, [Role.SUPPLIER])
    return world


def refused(w, call, *args, **kwargs):
    """Call something the policy stops during a pause: EnforcedPause, and nothing mined."""
    before = w.chain.w3.eth.block_number
    with pytest.raises(EnforcedPause):
        call(*args, **kwargs)
    assert w.chain.w3.eth.block_number == before, "a refused call mined a block"


def ready_asset(w):
    led = w.ledger
    asset_id = led.register_data_asset(PROVIDER, os.urandom(32)).asset_id
    led.appraise(APPRAISER, asset_id, report_hash=os.urandom(32), value=4_000_000, valid_until=w.now() + 180 * DAY)
    led.list_data_asset(EXCHANGE, asset_id, LISTING)
    return asset_id


def block_time(w, receipt) -> int:
    return w.chain.w3.eth.get_block(receipt.block_number)["timestamp"]


# -- what goes on --------------------------------------------------------------------------------


def test_the_obligor_repays_during_a_pause_up_to_settlement(w, p, led):
    issued = w.issue(100_000)
    used = led.credit_line(w.line_id).used
    led.pause(p.operator)
    led.repay(p.core, issued.receivable_id, 40_000)
    assert led.credit_line(w.line_id).used == used - 40_000
    led.repay(p.core, issued.receivable_id, 60_000)
    assert led.receivable(issued.receivable_id).state == ReceivableState.SETTLED
    assert led.paused()


def test_claims_wait_for_the_unpause_and_lose_nothing(w, p, led):
    issued = w.issue(100_000)
    led.pause(p.operator)
    led.repay(p.core, issued.receivable_id, 100_000)
    cash = w.balance(p.tier1)
    refused(w, led.claim, p.tier1, issued.token_id)
    assert w.balance(p.tier1) == cash and led.claimable(issued.token_id) == 100_000
    led.unpause(p.operator)
    assert led.claim(p.tier1, issued.token_id).amount == 100_000


def test_configuration_and_membership_go_on_during_a_pause(w, p, led):
    asset_id = ready_asset(w)
    led.pause(p.operator)
    line = led.grant_credit_line(p.bank2, p.core2, w.cash, LINE_LIMIT, w.now() + 30 * DAY, GRACE)
    led.set_credit_terms(p.bank, w.line_id, LINE_LIMIT // 2, w.now() + 60 * DAY)
    led.set_advance_rate(p.bank, w.line_id, 5_000)
    assert led.credit_line(w.line_id).limit == LINE_LIMIT // 2 and line.line_id > w.line_id
    other = led.register_data_asset(PROVIDER, os.urandom(32)).asset_id
    led.appraise(APPRAISER, other, report_hash=os.urandom(32), value=1_000, valid_until=w.now() + DAY)
    led.list_data_asset(EXCHANGE, other, LISTING)
    led.sync_collateral(p.outsider, w.line_id)
    newcomer = Account.create()
    led.admit(p.operator, newcomer, [Role.SUPPLIER])
    led.expel(p.operator, newcomer)
    assert not led.is_member(newcomer) and led.data_asset(asset_id).pledge_id == 0


# -- what stops ----------------------------------------------------------------------------------


def test_pledge_release_and_foreclosure_stop_during_a_pause(w, p, led):
    # Regression (issue 13, item 5): all three went through while the voucher contract was paused.
    led.set_advance_rate(p.bank, w.line_id, 5_000)
    free_asset, pledged = ready_asset(w), ready_asset(w)
    led.pledge(PROVIDER, pledged, w.line_id)
    defaulted = w.issue(1_000, maturity_days=30)
    token = led.split(p.tier1, defaulted.token_id, p.bank, 500).token_id  # the bank's exposure
    w.advance(30 * DAY + GRACE + 1)
    led.mark_overdue(p.outsider, defaulted.receivable_id)
    led.declare_default(p.bank, defaulted.receivable_id)
    collateral = led.collateral(w.line_id)

    led.pause(p.operator)
    refused(w, led.pledge, PROVIDER, free_asset, w.line_id)
    refused(w, led.release, p.bank, pledged)
    refused(w, led.foreclose, p.bank, pledged, token)
    assert led.data_asset(free_asset).pledge_id == 0
    asset = led.data_asset(pledged)
    assert asset.owner == PROVIDER.address and led.pledge_of(asset.pledge_id).state == PledgeState.ACTIVE
    assert led.collateral(w.line_id) == collateral

    led.unpause(p.operator)
    led.foreclose(p.bank, pledged, token)
    assert led.data_asset(pledged).owner == p.bank.address
    # The return of a foreclosed asset stops too; withdrawing an appraisal goes on.
    led.repay(p.core, defaulted.receivable_id, 1_000)
    led.pause(p.operator)
    refused(w, led.redeem_data_asset, PROVIDER, pledged)
    assert led.data_asset(pledged).owner == p.bank.address
    led.withdraw_appraisal(APPRAISER, pledged)
    led.unpause(p.operator)
    led.redeem_data_asset(PROVIDER, pledged)
    assert led.data_asset(pledged).owner == PROVIDER.address


def test_offers_and_deals_stop_during_a_pause(w, p, led):
    issued = w.issue(100_000)
    offered = led.offer(p.tier1, issued.token_id, 40_000, rate_bps=1_000, deadline=w.now() + 5 * DAY)
    led.approve_cash(p.bank, w.cash, led.factoring.address, 40_000)
    led.pause(p.operator)
    refused(w, led.offer, p.tier1, issued.token_id, 10_000, rate_bps=1_000, deadline=w.now() + 5 * DAY)
    refused(w, led.accept_offer, p.bank, offered.offer_id, approve=False)
    refused(w, led.cancel_offer, p.tier1, offered.offer_id)
    assert led.offer_of(offered.offer_id).state == OfferState.OPEN
    led.unpause(p.operator)
    led.accept_offer(p.bank, offered.offer_id, approve=False)


def test_recourse_stops_during_a_pause(w, p, led):
    issued = w.issue(100_000, maturity_days=30)
    offered = led.offer(p.tier1, issued.token_id, 100_000, rate_bps=1_000, deadline=w.now() + 5 * DAY,
                        recourse=True)
    led.accept_offer(p.bank, offered.offer_id)
    w.advance(30 * DAY + GRACE + 1)
    led.mark_overdue(p.outsider, issued.receivable_id)
    led.pause(p.operator)
    refused(w, led.exercise_recourse, p.bank, offered.offer_id)
    led.unpause(p.operator)
    led.exercise_recourse(p.bank, offered.offer_id)
    led.approve_cash(p.tier1, w.cash, led.factoring.address, led.recourse_due(offered.offer_id))
    led.pause(p.operator)
    cash = w.balance(p.tier1), w.balance(p.bank)
    refused(w, led.pay_recourse, p.tier1, offered.offer_id, approve=False)
    assert (w.balance(p.tier1), w.balance(p.bank)) == cash
    led.unpause(p.operator)
    led.pay_recourse(p.tier1, offered.offer_id, approve=False)


def test_cancelling_an_offer_of_a_paid_out_voucher_stops_during_a_pause(w, p, led):
    # Regression: a cancel that had nothing to unlock never reached the paused voucher contract.
    issued = w.issue(100_000)
    offered = led.offer(p.tier1, issued.token_id, 100_000, rate_bps=1_000, deadline=w.now() + 5 * DAY)
    led.repay(p.core, issued.receivable_id, 100_000)
    led.claim(p.tier1, issued.token_id)  # the locked voucher is paid out: Closed
    led.pause(p.operator)
    refused(w, led.cancel_offer, p.tier1, offered.offer_id)
    assert led.offer_of(offered.offer_id).state == OfferState.OPEN


def test_receivable_and_voucher_changes_stop_during_a_pause(w, p, led):
    issued = w.issue(100_000)
    pending = w.issue(5_000, accept=False)
    led.pause(p.operator)
    refused(w, w.issue, 1_000, accept=False)
    refused(w, led.accept, p.tier1, pending.receivable_id)
    refused(w, led.revoke, p.core, pending.receivable_id)
    refused(w, led.split, p.tier1, issued.token_id, p.tier2, 1_000)
    refused(w, led.transfer, p.tier1, issued.token_id, p.tier2)
    refused(w, led.mark_overdue, p.outsider, issued.receivable_id)


# -- no right lost to time paused ----------------------------------------------------------------


def test_a_pause_in_the_grace_period_does_not_shorten_it(w, p, led):
    # Regression (issue 13, item 5): the grace period ran on during a pause, so the receivable
    # could be marked overdue as soon as the pause ended, with days of its grace gone.
    issued = w.issue(100_000, maturity_days=30)
    rid = issued.receivable_id
    maturity = led.receivable(rid).maturity
    assert led.overdue_at(rid) == maturity + GRACE
    w.advance(30 * DAY + GRACE - DAY)
    paused_at = block_time(w, led.pause(p.operator))
    w.advance(3 * DAY)
    assert led.overdue_at(rid) >= maturity + GRACE + 3 * DAY  # it moves on while paused
    resumed_at = block_time(w, led.unpause(p.operator))
    paused_for = resumed_at - paused_at
    assert led.paused_time() == paused_for
    overdue_at = maturity + GRACE + paused_for
    assert led.overdue_at(rid) == overdue_at

    before = w.chain.w3.eth.block_number
    with pytest.raises(ReceivableNotYetOverdue) as info:
        led.mark_overdue(p.outsider, rid)
    assert (info.value.receivable_id, info.value.overdue_at) == (rid, overdue_at)
    assert info.value.timestamp <= overdue_at and w.chain.w3.eth.block_number == before
    assert led.receivable(rid).state == ReceivableState.ACTIVE

    # The obligor had its full grace: a day before the pause, and the day left after it.
    w.advance(overdue_at - w.now() + 1)
    led.mark_overdue(p.outsider, rid)
    assert led.receivable(rid).state == ReceivableState.OVERDUE


def test_pauses_before_issue_do_not_move_a_receivables_dates(w, p, led):
    led.pause(p.operator)
    w.advance(2 * DAY)
    led.unpause(p.operator)
    issued = w.issue(100_000, maturity_days=30)
    assert led.paused_time() >= 2 * DAY
    assert led.overdue_at(issued.receivable_id) == led.receivable(issued.receivable_id).maturity + GRACE


def test_pauses_add_up(w, p, led):
    issued = w.issue(100_000, maturity_days=30)
    total = 0
    for days in (1, 2):
        start = block_time(w, led.pause(p.operator))
        w.advance(days * DAY)
        total += block_time(w, led.unpause(p.operator)) - start
    assert led.paused_time() == total
    assert led.overdue_at(issued.receivable_id) == led.receivable(issued.receivable_id).maturity + GRACE + total


def test_pausing_twice_or_unpausing_a_running_ledger_is_refused(w, p, led):
    from ledger.exceptions import ExpectedPause
    with pytest.raises(ExpectedPause):
        led.unpause(p.operator)
    led.pause(p.operator)
    with pytest.raises(EnforcedPause):
        led.pause(p.operator)


def test_a_pause_after_the_overdue_moment_does_not_cure_the_receivable(w, p, led):
    """Attack (red team): pausing once the grace period is over, before anyone marked the
    receivable, must not make it not-overdue again: the overdue moment moves with the pause, so
    it stays as far in the past as it was when the pause began; marking goes on at the unpause."""
    issued = w.issue(100_000, maturity_days=30)
    rid = issued.receivable_id
    w.advance(30 * DAY + GRACE + DAY)  # a day past the overdue moment, not marked
    due = led.overdue_at(rid)
    paused_at = block_time(w, led.pause(p.operator))
    late_by = paused_at - due  # block times, not the wall clock: the pause's own block counts
    assert late_by >= DAY
    w.advance(5 * DAY)
    assert led.overdue_at(rid) >= due + 5 * DAY  # during the pause it moves on with the clock
    refused(w, led.mark_overdue, p.outsider, rid)
    resumed_at = block_time(w, led.unpause(p.operator))
    assert led.overdue_at(rid) == due + resumed_at - paused_at
    assert resumed_at - led.overdue_at(rid) == late_by  # exactly as late as when the pause began
    led.mark_overdue(p.outsider, rid)
    led.declare_default(p.bank, rid)
    assert led.receivable(rid).state == ReceivableState.DEFAULTED


def test_a_pause_between_issue_and_acceptance_counts_from_the_issue(w, p, led):
    """Attack (red team): a receivable left pending across a pause; the clock taken at issue
    counts that pause (the obligor's grace is not shortened by it either way)."""
    maturity = w.now() + 30 * DAY
    pending = led.issue(p.core, p.tier1, line_id=w.line_id, currency=w.cash, face_value=10_000,
                        maturity=maturity, document_hash=os.urandom(32))
    start = block_time(w, led.pause(p.operator))
    w.advance(2 * DAY)
    refused(w, led.accept, p.tier1, pending.receivable_id)
    paused_for = block_time(w, led.unpause(p.operator)) - start
    led.accept(p.tier1, pending.receivable_id)
    assert led.overdue_at(pending.receivable_id) == maturity + GRACE + paused_for
