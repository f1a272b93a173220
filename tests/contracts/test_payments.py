"""The library's payments (repay, accept_offer, pay_recourse): checked before anything is sent,
approved exactly, no allowance left after (ledger.client.Ledger._pay; issue 14, item 2)."""

import pytest

from ledger.client import PRICE_HEADROOM
from ledger.node import node_kind
from ledger.exceptions import ERC20InsufficientBalance, FactoringOfferNotOpen, ReceivableOverpayment
from tests.conftest import DAY

RATE = 1_200
#: The tests that set each block's time need Anvil's evm_setNextBlockTimestamp (Ganache has none).
anvil_clock = pytest.mark.skipif(node_kind() != "anvil", reason="sets block times with evm_setNextBlockTimestamp")


def offer(w, token_id, value, **kwargs):
    kwargs.setdefault("rate_bps", RATE)
    kwargs.setdefault("deadline", w.now() + 3 * DAY)
    return w.ledger.offer(w.parties.tier1, token_id, value, **kwargs)


def allowance(w, owner, spender) -> int:
    return w.ledger.cash_allowance(w.cash, owner, spender)


def head(w) -> int:
    return w.chain.w3.eth.block_number


def next_step(w, maturity: int) -> int:
    """When the price next steps up: days left, (maturity - t) // DAY, drops one second after a
    whole number of days to maturity."""
    now = w.now()
    return now + (maturity - now) % DAY + 1


def mine_at(w, timestamp: int) -> None:
    """Mine a block at `timestamp` (Anvil's clock after a snapshot revert is not to be trusted)."""
    provider = w.chain.w3.provider
    assert "error" not in provider.make_request("evm_setNextBlockTimestamp", [timestamp])
    provider.make_request("evm_mine", [])


def watch_approvals(w, monkeypatch, after=None):
    """Record every approve sent (its amount) and run `after(amount)` once mined."""
    sent: list[int] = []
    transact = w.chain.transact

    def recording(sender, fn, **kwargs):
        receipt = transact(sender, fn, **kwargs)
        if fn.address == w.cash and getattr(fn, "_name", "") == "approve":
            amount = fn._args[1]
            sent.append(amount)
            if after is not None:
                after(amount)
        return receipt

    monkeypatch.setattr(w.chain, "transact", recording)
    return sent


def test_a_refused_repayment_sends_nothing(w, p, led):
    issued = w.issue(10_000)
    before = head(w)
    with pytest.raises(ReceivableOverpayment) as info:
        led.repay(p.core, issued.receivable_id, 10_001)
    assert (info.value.outstanding, info.value.amount) == (10_000, 10_001)
    assert head(w) == before and allowance(w, p.core, led.voucher.address) == 0


def test_a_repayment_beyond_the_cash_is_refused_before_the_approval(w, p, led):
    issued = w.issue(10_000)
    led.chain.transact(p.core, led.currency(w.cash).functions.transfer(p.outsider.address, w.balance(p.core) - 5))
    before = head(w)
    with pytest.raises(ERC20InsufficientBalance) as info:
        led.repay(p.core, issued.receivable_id, 10_000)
    assert (info.value.sender, info.value.balance, info.value.needed) == (p.core.address, 5, 10_000)
    assert head(w) == before and allowance(w, p.core, led.voucher.address) == 0


@anvil_clock
def test_a_price_that_rises_between_the_approval_and_the_acceptance_is_approved_again(w, p, led, monkeypatch):
    """A day boundary passes after the approval: the acceptance's own check (before sending) sees
    the higher price and refuses; the price is approved again and the acceptance goes through."""
    issued = w.issue(1_000_000, maturity_days=90)
    made = offer(w, issued.token_id, 400_000)
    maturity = led.receivable(issued.receivable_id).maturity
    at = next_step(w, maturity) + DAY // 2  # mid-day: no step within the headroom
    mine_at(w, at)
    moved = []

    def a_day_later(amount):
        if not moved:
            moved.append(amount)
            mine_at(w, at + DAY + 2)

    approvals = watch_approvals(w, monkeypatch, a_day_later)
    seller = w.balance(p.tier1)
    # A whole day later the price is above the default limit (the price a few minutes after the
    # latest block: FactoringPriceAboveLimit); this financier accepts any price up to the value.
    deal = led.accept_offer(p.bank, made.offer_id, max_price=400_000)
    mined_at = led.chain.w3.eth.get_block(deal.receipt.block_number)["timestamp"]
    price = led.price_of(400_000, RATE, maturity, mined_at)
    assert deal.price == price and w.balance(p.tier1) - seller == price
    assert len(approvals) == 2 and approvals[0] < approvals[1] == price
    assert allowance(w, p.bank, led.factoring.address) == 0


@anvil_clock
def test_an_acceptance_just_before_a_day_boundary_approves_the_next_days_price_and_resets_the_rest(
        w, p, led, monkeypatch):
    issued = w.issue(1_000_000, maturity_days=90)
    maturity = led.receivable(issued.receivable_id).maturity
    made = offer(w, issued.token_id, 400_000)
    # Blocks a minute before the price steps up, one second apart (each block's time is set).
    provider = w.chain.w3.provider
    at = next_step(w, maturity) + DAY - 60
    mine_at(w, at)
    provider.make_request("evm_setNextBlockTimestamp", [at + 1])
    approvals = watch_approvals(
        w, monkeypatch, lambda amount: provider.make_request("evm_setNextBlockTimestamp", [at + 2]))
    deal = led.accept_offer(p.bank, made.offer_id)
    mined_at = led.chain.w3.eth.get_block(deal.receipt.block_number)["timestamp"]
    assert mined_at == at + 2 and deal.price == led.price_of(400_000, RATE, maturity, mined_at)
    assert approvals[0] == led.price_of(400_000, RATE, maturity, at + PRICE_HEADROOM) > deal.price
    assert approvals[-1] == 0  # the part the acceptance did not pull, reset
    assert allowance(w, p.bank, led.factoring.address) == 0


def test_an_offer_cancelled_after_the_approval_leaves_no_allowance(w, p, led, monkeypatch):
    issued = w.issue(100_000)
    made = offer(w, issued.token_id, 40_000)

    def cancel(amount):
        if amount:
            led.cancel_offer(p.tier1, made.offer_id)

    approvals = watch_approvals(w, monkeypatch, cancel)
    bank = w.balance(p.bank)
    with pytest.raises(FactoringOfferNotOpen):
        led.accept_offer(p.bank, made.offer_id)
    assert approvals[-1] == 0 and allowance(w, p.bank, led.factoring.address) == 0
    assert w.balance(p.bank) == bank


def test_paying_recourse_leaves_no_allowance(w, p, led):
    issued = w.issue(100_000, maturity_days=10)
    made = offer(w, issued.token_id, 50_000, financier=p.bank, recourse=True)
    led.accept_offer(p.bank, made.offer_id)
    w.advance(10 * DAY + 8 * DAY)
    led.mark_overdue(p.bank, issued.receivable_id)
    led.exercise_recourse(p.bank, made.offer_id)
    due = led.recourse_due(made.offer_id)
    seller = w.balance(p.tier1)
    led.pay_recourse(p.tier1, made.offer_id)
    assert w.balance(p.tier1) == seller - due
    assert allowance(w, p.tier1, led.factoring.address) == 0
