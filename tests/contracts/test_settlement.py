"""Repayment, pro-rata claims, settlement, overdue and default."""

import pytest

from ledger import ReceivableState, VoucherStatus
from ledger.exceptions import (
    ReceivableNotActive,
    ReceivableNotFinancier,
    ReceivableNotObligor,
    ReceivableNotOverdue,
    ReceivableNotRepayable,
    ReceivableNotYetOverdue,
    ReceivableOverpayment,
    ReceivableZeroRepayment,
    VoucherNothingToClaim,
    VoucherNotActive,
    VoucherUnauthorized,
)
from tests.conftest import DAY, GRACE


def test_an_instalment_restores_credit_and_holders_claim_pro_rata(w, p, led):
    issued = w.issue(100_000)
    child = led.split(p.tier1, issued.token_id, p.tier2, 30_000)
    before = w.balance(p.core)
    receipt = led.repay(p.core, issued.receivable_id, 50_000)

    assert receipt.named("ReceivableRepaid")[0].args == {
        "receivableId": issued.receivable_id, "payer": p.core.address, "amount": 50_000, "repaid": 50_000}
    assert w.balance(p.core) == before - 50_000
    assert led.credit_line(w.line_id).used == 50_000
    assert led.receivable(issued.receivable_id).state == ReceivableState.ACTIVE
    assert (led.claimable(issued.token_id), led.claimable(child.token_id)) == (35_000, 15_000)

    t1, t2 = w.balance(p.tier1), w.balance(p.tier2)
    claimed = led.claim(p.tier1, issued.token_id)
    assert (claimed.amount, claimed.closed) == (35_000, False)
    assert led.claim(p.tier2, child.token_id).amount == 15_000
    assert (w.balance(p.tier1) - t1, w.balance(p.tier2) - t2) == (35_000, 15_000)
    assert led.voucher_of(issued.token_id).paid == 35_000
    assert led.receivable(issued.receivable_id).claimed == 50_000


def test_full_repayment_settles_and_every_voucher_claims_exactly_its_value(w, p, led):
    issued = w.issue(100_000)
    a = led.split(p.tier1, issued.token_id, p.tier2, 33_333)
    b = led.split(p.tier2, a.token_id, p.tier3, 11_111)
    receipt = led.repay(p.core, issued.receivable_id, 100_000)
    assert "ReceivableSettled" in [e.name for e in receipt.events]
    assert led.receivable(issued.receivable_id).state == ReceivableState.SETTLED
    for holder, token, value in ((p.tier1, issued.token_id, 66_667), (p.tier2, a.token_id, 22_222),
                                 (p.tier3, b.token_id, 11_111)):
        claimed = led.claim(holder, token)
        assert (claimed.amount, claimed.closed) == (value, True)
        assert led.voucher_of(token).status == VoucherStatus.CLOSED
    assert led.receivable(issued.receivable_id).claimed == 100_000
    assert led.credit_line(w.line_id).used == 0


def test_a_closed_voucher_no_longer_moves_or_claims(w, p, led):
    issued = w.issue(1_000)
    led.repay(p.core, issued.receivable_id, 1_000)
    led.claim(p.tier1, issued.token_id)
    with pytest.raises(VoucherNotActive) as info:
        led.transfer(p.tier1, issued.token_id, p.tier2)
    assert info.value.status == VoucherStatus.CLOSED
    with pytest.raises(VoucherNothingToClaim):
        led.claim(p.tier1, issued.token_id)


def test_paid_moves_with_value_when_a_voucher_splits_between_instalments(w, p, led):
    issued = w.issue(90_000)
    led.repay(p.core, issued.receivable_id, 30_000)
    led.claim(p.tier1, issued.token_id)  # 30,000 paid on all 90,000 units
    split = led.split(p.tier1, issued.token_id, p.tier2, 45_000)
    moved = split.receipt.named("VoucherPaidMoved")[0].args
    assert moved == {"fromTokenId": issued.token_id, "toTokenId": split.token_id, "paid": 15_000}
    assert led.claimable(split.token_id) == 0  # the first instalment went to tier1
    led.repay(p.core, issued.receivable_id, 60_000)
    assert led.claim(p.tier2, split.token_id).amount == 30_000
    assert led.claim(p.tier1, issued.token_id).amount == 30_000
    r = led.receivable(issued.receivable_id)
    assert r.claimed == r.repaid == r.face_value


def test_rounding_never_pays_more_than_was_repaid(w, p, led):
    issued = w.issue(3)
    a = led.split(p.tier1, issued.token_id, p.tier2, 1)
    b = led.split(p.tier1, issued.token_id, p.tier3, 1)
    led.repay(p.core, issued.receivable_id, 2)
    total = 0
    for holder, token in ((p.tier1, issued.token_id), (p.tier2, a.token_id), (p.tier3, b.token_id)):
        if led.claimable(token):
            total += led.claim(holder, token).amount
    assert total <= 2
    led.repay(p.core, issued.receivable_id, 1)
    for holder, token in ((p.tier1, issued.token_id), (p.tier2, a.token_id), (p.tier3, b.token_id)):
        if led.claimable(token):
            total += led.claim(holder, token).amount
    assert total == 3
    assert all(led.voucher_of(t).status == VoucherStatus.CLOSED for t in (issued.token_id, a.token_id, b.token_id))


def test_overpayment_is_refused_with_what_is_outstanding(w, p, led):
    issued = w.issue(10_000)
    led.repay(p.core, issued.receivable_id, 4_000)
    with pytest.raises(ReceivableOverpayment) as info:
        led.repay(p.core, issued.receivable_id, 6_001)
    assert (info.value.receivable_id, info.value.outstanding, info.value.amount) == (issued.receivable_id, 6_000, 6_001)
    with pytest.raises(ReceivableZeroRepayment):
        led.repay(p.core, issued.receivable_id, 0)


def test_only_the_obligor_repays_an_accepted_receivable(w, p, led):
    issued = w.issue(10_000)
    with pytest.raises(ReceivableNotObligor):
        led.repay(p.tier1, issued.receivable_id, 1)
    pending = w.issue(10_000, accept=False)
    with pytest.raises(ReceivableNotRepayable) as info:
        led.repay(p.core, pending.receivable_id, 1)
    assert info.value.state == ReceivableState.PENDING


def test_claims_are_for_the_holder_and_need_something_to_claim(w, p, led):
    issued = w.issue(10_000)
    with pytest.raises(VoucherNothingToClaim) as info:
        led.claim(p.tier1, issued.token_id)
    assert info.value.token_id == issued.token_id
    led.repay(p.core, issued.receivable_id, 10)
    with pytest.raises(VoucherUnauthorized):
        led.claim(p.tier2, issued.token_id)


def test_overdue_after_maturity_and_grace_is_permissionless_and_idempotent(w, p, led):
    issued = w.issue(10_000, maturity_days=30)
    maturity = led.receivable(issued.receivable_id).maturity
    with pytest.raises(ReceivableNotYetOverdue) as info:
        led.mark_overdue(p.outsider, issued.receivable_id)
    assert info.value.overdue_at == maturity + GRACE
    w.advance(maturity + GRACE - w.now() + 1)
    receipt = led.mark_overdue(p.outsider, issued.receivable_id)
    assert receipt.named("ReceivableOverdue")[0].args == {"receivableId": issued.receivable_id,
                                                          "markedBy": p.outsider.address}
    assert led.receivable(issued.receivable_id).state == ReceivableState.OVERDUE
    again = led.mark_overdue(p.tier2, issued.receivable_id)
    assert again.events == []


def test_default_is_declared_by_the_lines_financier_after_overdue(w, p, led):
    issued = w.issue(10_000, maturity_days=30)
    with pytest.raises(ReceivableNotOverdue) as info:
        led.declare_default(p.bank, issued.receivable_id)
    assert info.value.state == ReceivableState.ACTIVE
    w.advance(38 * DAY)
    led.mark_overdue(p.tier1, issued.receivable_id)
    with pytest.raises(ReceivableNotFinancier) as info:
        led.declare_default(p.bank2, issued.receivable_id)
    assert info.value.account == p.bank2.address
    receipt = led.declare_default(p.bank, issued.receivable_id)
    assert receipt.named("ReceivableDefaulted")[0].args["financier"] == p.bank.address
    assert led.receivable(issued.receivable_id).state == ReceivableState.DEFAULTED
    led.mark_overdue(p.tier1, issued.receivable_id)  # idempotent: stays Defaulted
    assert led.receivable(issued.receivable_id).state == ReceivableState.DEFAULTED


def test_overdue_vouchers_still_move_and_late_repayment_settles(w, p, led):
    issued = w.issue(10_000, maturity_days=30)
    w.advance(38 * DAY)
    led.mark_overdue(p.tier1, issued.receivable_id)
    child = led.split(p.tier1, issued.token_id, p.tier2, 4_000)
    led.repay(p.core, issued.receivable_id, 10_000)
    assert led.receivable(issued.receivable_id).state == ReceivableState.SETTLED
    assert led.claim(p.tier2, child.token_id).amount == 4_000


def test_only_active_receivables_go_overdue(w, p, led):
    pending = w.issue(10_000, accept=False, maturity_days=1)
    w.advance(9 * DAY)
    with pytest.raises(ReceivableNotActive) as info:
        led.mark_overdue(p.tier1, pending.receivable_id)
    assert info.value.state == ReceivableState.PENDING


@pytest.mark.xfail(strict=True, reason=(
    "known, not fixed: a split moves paid rounded down, so the part left behind can be fully paid "
    "out (paid == value) and stay Active; it can still move (it can no longer be offered for "
    "factoring: test_factoring.py). "
    "Closing it there changes the split path's gas and needs the mirror and the audit to follow."))
def test_a_voucher_left_fully_paid_out_by_a_split_is_closed(w, p, led):
    """IReceivableVoucher: a voucher whose value is fully paid out is Closed and MUST NOT move.
    Found by tests/contracts/test_system_properties.py's model."""
    issued = w.issue(3)
    led.repay(p.core, issued.receivable_id, 1)
    assert led.claim(p.tier1, issued.token_id).amount == 1  # value 3, paid 1
    led.split(p.tier1, issued.token_id, p.tier2, 2)  # takes floor(1 × 2 / 3) = 0 of the paid
    v = led.voucher_of(issued.token_id)
    assert (v.value, v.paid) == (1, 1)
    assert v.status == VoucherStatus.CLOSED
