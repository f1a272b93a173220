"""Repayment, pro-rata claims, settlement, overdue and default."""

import pytest

from ledger import ReceivableState, VoucherStatus
from ledger.exceptions import (
    ReceivableNoRemainder,
    ReceivableNotActive,
    ReceivableNotFinancier,
    ReceivableNotObligor,
    ReceivableNotOverdue,
    ReceivableNotRepayable,
    ReceivableNotSettled,
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


def test_a_voucher_left_fully_paid_out_by_a_split_is_closed(w, p, led):
    """IReceivableVoucher: a voucher whose value is fully paid out is Closed and MUST NOT move.
    Found by tests/contracts/test_system_properties.py's model."""
    issued = w.issue(3)
    led.repay(p.core, issued.receivable_id, 1)
    assert led.claim(p.tier1, issued.token_id).amount == 1  # value 3, paid 1
    split = led.split(p.tier1, issued.token_id, p.tier2, 2)
    # Each side is charged its share of paid rounded up: ceil(1 × 2 / 3) = 1 moves, the part left
    # keeps ceil(1 × 1 / 3) = 1; the unit charged twice is the receivable's rounding remainder.
    assert [(e.name, e.args) for e in split.receipt.events][3:] == [
        ("VoucherPaidMoved", {"fromTokenId": issued.token_id, "toTokenId": split.token_id, "paid": 1}),
        ("VoucherPaidRounded", {"tokenId": issued.token_id, "receivableId": issued.receivable_id, "remainder": 1}),
    ]
    v = led.voucher_of(issued.token_id)
    assert (v.value, v.paid, v.status) == (1, 1, VoucherStatus.CLOSED)
    assert (led.voucher_of(split.token_id).value, led.voucher_of(split.token_id).paid) == (2, 1)
    with pytest.raises(VoucherNotActive) as info:
        led.split(p.tier1, issued.token_id, p.tier3, 1)
    assert (info.value.token_id, info.value.status) == (issued.token_id, VoucherStatus.CLOSED)
    assert led.voucher_of(issued.token_id).value == 1


# -- rounding: nobody is paid more than its exact share, the remainder has one home ---------------


def _claim_what_is_due(led, holder, token_id) -> int:
    due = led.claimable(token_id)
    return led.claim(holder, token_id).amount if due else 0


def _bounce(w, led, holder, x, y, moves) -> int:
    """`holder` moves value back and forth between its vouchers x and y, claiming after each move;
    returns what it claimed. A refused move must leave both vouchers as they were."""
    ids = {"x": x, "y": y}
    total = 0
    for source, target, value in moves:
        before = (led.voucher_of(x), led.voucher_of(y))
        try:
            led.transfer_value(holder, ids[source], ids[target], value)
        except VoucherNotActive as refused:  # a side was left fully paid out: Closed
            assert refused.status == VoucherStatus.CLOSED
            assert (led.voucher_of(x), led.voucher_of(y)) == before
            continue
        total += _claim_what_is_due(led, holder, x) + _claim_what_is_due(led, holder, y)
    return total


def test_bouncing_value_between_two_vouchers_never_claims_more_than_the_exact_share(w, p, led):
    """Regression (issue 13, item 9): on the old rule (paid moved rounded down) tier2 claimed 5
    of a 3.5 share here by bouncing value between its two vouchers."""
    issued = w.issue(10)
    rid = issued.receivable_id
    x = led.split(p.tier1, issued.token_id, p.tier2, 3).token_id
    y = led.split(p.tier1, issued.token_id, p.tier2, 4).token_id
    led.repay(p.core, rid, 5)
    claimed = led.claim(p.tier2, x).amount + led.claim(p.tier2, y).amount
    assert claimed == 1 + 2  # floor(1.5) + floor(2)
    claimed += _bounce(w, led, p.tier2, x, y, [("x", "y", 2), ("y", "x", 1), ("y", "x", 1), ("y", "x", 1)])
    assert claimed <= 7 * 5 // 10  # tier2's 7 units' exact share of 5 repaid is 3.5
    # tier1's 3 untouched units still get their floor, and the pool covers everyone's floor.
    assert led.claim(p.tier1, issued.token_id).amount == 1

    # Fully repaid: every voucher claims value − paid; the rounding remainder goes to the obligor.
    led.repay(p.core, rid, 5)
    claimed += sum(_claim_what_is_due(led, p.tier2, t) for t in (x, y))
    tier1 = 1 + _claim_what_is_due(led, p.tier1, issued.token_id)
    assert tier1 == 3
    r = led.receivable(rid)
    remainder = r.face_value - r.claimed
    assert claimed + tier1 + remainder == 10 and 0 < remainder and claimed <= 7
    before = w.balance(p.core)
    receipt = led.release_remainder(p.outsider, rid)
    assert receipt.named("ReceivableRemainderReleased")[0].args == {
        "receivableId": rid, "obligor": p.core.address, "amount": remainder}
    assert w.balance(p.core) - before == remainder
    assert led.receivable(rid).claimed == 10
    assert w.balance(led.voucher.address) == 0  # nothing stranded
    assert all(led.voucher_of(t).status == VoucherStatus.CLOSED for t in (x, y, issued.token_id))


def test_a_defaulted_receivable_pays_nobody_more_than_its_floor_and_strands_nothing(w, p, led):
    """Regression (issue 13, item 9): on the old rule tier2 kept extra units of a receivable
    that defaulted; what no voucher can claim yet stays owed to the vouchers and is paid once
    the receivable is repaid, however late, and the rounding remainder goes to the obligor."""
    issued = w.issue(10, maturity_days=30)
    rid = issued.receivable_id
    x = led.split(p.tier1, issued.token_id, p.tier2, 3).token_id
    y = led.split(p.tier1, issued.token_id, p.tier2, 4).token_id
    led.repay(p.core, rid, 5)
    w.advance(38 * DAY)
    led.mark_overdue(p.outsider, rid)
    led.declare_default(p.bank, rid)
    claimed = led.claim(p.tier2, x).amount + led.claim(p.tier2, y).amount
    claimed += _bounce(w, led, p.tier2, x, y, [("x", "y", 2), ("y", "x", 1), ("y", "x", 1), ("y", "x", 1)])
    assert claimed <= 3  # floor(7 × 5 / 10)
    assert led.claim(p.tier1, issued.token_id).amount == 1  # floor(3 × 5 / 10)
    held = w.balance(led.voucher.address)
    r = led.receivable(rid)
    assert held == r.repaid - r.claimed > 0  # fractions still owed to the vouchers, not lost
    with pytest.raises(ReceivableNotSettled) as info:
        led.release_remainder(p.outsider, rid)
    assert (info.value.receivable_id, info.value.state) == (rid, ReceivableState.DEFAULTED)
    assert w.balance(led.voucher.address) == held

    # The defaulted receivable is repaid after all: every unit is paid once, the rest to the obligor.
    led.repay(p.core, rid, 5)
    claimed += sum(_claim_what_is_due(led, p.tier2, t) for t in (x, y))
    assert _claim_what_is_due(led, p.tier1, issued.token_id) == 2
    led.release_remainder(p.tier3, rid)
    assert w.balance(led.voucher.address) == 0
    assert led.receivable(rid).claimed == 10 and claimed <= 7
    with pytest.raises(ReceivableNoRemainder) as info:
        led.release_remainder(p.tier3, rid)
    assert info.value.receivable_id == rid


def test_splitting_never_lets_the_parts_claim_more_than_the_whole(w, p, led):
    """Many small splits of a part-paid voucher: the parts together claim at most the whole's
    floor at every repayment, and exactly value − paid once settled (the old rule paid about one
    unit more per voucher created)."""
    issued = w.issue(1_000)
    rid = issued.receivable_id
    led.repay(p.core, rid, 333)
    total = led.claim(p.tier1, issued.token_id).amount  # 333
    parts = [led.split(p.tier1, issued.token_id, p.tier1, 7).token_id for _ in range(9)]
    total += sum(_claim_what_is_due(led, p.tier1, t) for t in [issued.token_id, *parts])
    assert total <= 1_000 * 333 // 1_000
    led.repay(p.core, rid, 667)
    total += sum(_claim_what_is_due(led, p.tier1, t) for t in [issued.token_id, *parts])
    assert total == led.receivable(rid).claimed
    remainder = 1_000 - total
    assert 0 < remainder <= len(parts)  # at most one unit per move, and these moves rounded
    released = led.release_remainder(p.outsider, rid).named("ReceivableRemainderReleased")[0].args["amount"]
    assert released == remainder and w.balance(led.voucher.address) == 0


def test_the_remainder_is_released_only_once_settled(w, p, led):
    issued = w.issue(3)
    rid = issued.receivable_id
    with pytest.raises(ReceivableNotSettled) as info:
        led.release_remainder(p.outsider, rid)
    assert info.value.state == ReceivableState.ACTIVE
    led.repay(p.core, rid, 3)
    with pytest.raises(ReceivableNoRemainder):
        led.release_remainder(p.outsider, rid)
