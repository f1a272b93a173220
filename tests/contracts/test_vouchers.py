"""Moving vouchers: split, value transfer, merge, whole transfer, approvals, members only."""

import pytest

from ledger import VoucherStatus
from ledger.exceptions import (
    EnforcedPause,
    MembershipNotMember,
    VoucherHolderMismatch,
    VoucherIncorrectHolder,
    VoucherInsufficientAllowance,
    VoucherInsufficientValue,
    VoucherInvalidOperator,
    VoucherInvalidReceiver,
    VoucherNonexistent,
    VoucherSameToken,
    VoucherSlotMismatch,
    VoucherUnauthorized,
    VoucherUnsolicitedValue,
    VoucherZeroValue,
    ERC721InvalidReceiver,
)


def test_split_creates_a_child_voucher_linked_to_its_parent(w, p, led):
    root = w.issue(100_000)
    child = led.split(p.tier1, root.token_id, p.tier2, 30_000)

    c = led.voucher_of(child.token_id)
    assert (c.holder, c.value, c.parent_id, c.receivable_id, c.status) == (
        p.tier2.address, 30_000, root.token_id, root.receivable_id, VoucherStatus.ACTIVE)
    assert led.voucher_of(root.token_id).value == 70_000
    assert led.voucher_count(p.tier2) == 1
    grandchild = led.split(p.tier2, child.token_id, p.tier3, 5_000)
    assert led.voucher_of(grandchild.token_id).parent_id == child.token_id


def test_split_of_more_than_the_balance_is_refused_with_balance_and_need(w, p, led):
    root = w.issue(1_000)
    with pytest.raises(VoucherInsufficientValue) as info:
        led.split(p.tier1, root.token_id, p.tier2, 1_001)
    assert (info.value.token_id, info.value.balance, info.value.needed) == (root.token_id, 1_000, 1_001)


def test_split_to_a_non_member_is_refused(w, p, led):
    root = w.issue()
    with pytest.raises(MembershipNotMember) as info:
        led.split(p.tier1, root.token_id, p.outsider, 1)
    assert info.value.account == p.outsider.address


def test_split_by_someone_else_needs_an_allowance(w, p, led):
    root = w.issue()
    with pytest.raises(VoucherInsufficientAllowance) as info:
        led.split(p.tier2, root.token_id, p.tier2, 10)
    assert (info.value.token_id, info.value.operator, info.value.allowance, info.value.needed) == (
        root.token_id, p.tier2.address, 0, 10)


def test_a_value_allowance_is_spent_and_reported(w, p, led):
    root = w.issue()
    receipt = led.approve_value(p.tier1, root.token_id, p.bank.address, 500)
    assert receipt.named("ApprovalValue")[0].args == {"_tokenId": root.token_id, "_operator": p.bank.address,
                                                      "_value": 500}
    assert led.allowance(root.token_id, p.bank) == 500
    led.split(p.bank, root.token_id, p.tier2, 200)
    assert led.allowance(root.token_id, p.bank) == 300
    with pytest.raises(VoucherInsufficientAllowance) as info:
        led.split(p.bank, root.token_id, p.tier2, 301)
    assert info.value.allowance == 300


def test_zero_value_moves_are_refused(w, p, led):
    root = w.issue()
    with pytest.raises(VoucherZeroValue):
        led.split(p.tier1, root.token_id, p.tier2, 0)


def test_value_transfer_to_an_existing_voucher_of_the_same_receivable(w, p, led):
    root = w.issue(100_000)
    own = led.split(p.tier1, root.token_id, p.tier1, 10_000)
    receipt = led.transfer_value(p.tier1, root.token_id, own.token_id, 2_500)
    assert receipt.named("TransferValue")[0].args == {"_fromTokenId": root.token_id, "_toTokenId": own.token_id,
                                                      "_value": 2_500}
    assert led.voucher_of(root.token_id).value == 87_500
    assert led.voucher_of(own.token_id).value == 12_500


def test_value_into_someone_elses_voucher_needs_its_consent(w, p, led):
    """Issue 13, item 2: an unsolicited push could change a voucher under its holder (and block
    its rights, e.g. recourse, which needs the deal's value). The destination's holder, its
    approved address or an operator of its holder consents; anyone else is refused."""
    root = w.issue(100_000)
    theirs = led.split(p.tier1, root.token_id, p.tier2, 10_000).token_id
    block = led.chain.w3.eth.block_number
    with pytest.raises(VoucherUnsolicitedValue) as info:
        led.transfer_value(p.tier1, root.token_id, theirs, 1)
    assert (info.value.operator, info.value.to_token_id, info.value.holder) == (p.tier1.address, theirs, p.tier2.address)
    assert led.chain.w3.eth.block_number == block
    assert (led.voucher_of(root.token_id).value, led.voucher_of(theirs).value) == (90_000, 10_000)
    # A value allowance on the source is not consent of the destination either.
    led.approve_value(p.tier1, root.token_id, p.tier3.address, 5)
    with pytest.raises(VoucherUnsolicitedValue):
        led.transfer_value(p.tier3, root.token_id, theirs, 5)
    assert led.allowance(root.token_id, p.tier3) == 5
    # Consent: the destination approved to the mover, or the mover an operator of its holder.
    led.approve(p.tier2, p.tier1, theirs)
    led.transfer_value(p.tier1, root.token_id, theirs, 1)
    led.set_approval_for_all(p.tier2, p.tier3, True)
    led.transfer_value(p.tier3, root.token_id, theirs, 5)  # spends tier3's allowance on the source
    assert (led.voucher_of(root.token_id).value, led.voucher_of(theirs).value) == (89_994, 10_006)
    assert led.allowance(root.token_id, p.tier3) == 0
    # Its holder may always pull value from a voucher it may spend into its own.
    led.approve_value(p.tier1, root.token_id, p.tier2.address, 4)
    led.transfer_value(p.tier2, root.token_id, theirs, 4)
    assert led.voucher_of(theirs).value == 10_010


def test_value_transfer_across_receivables_is_refused(w, p, led):
    a, b = w.issue(), w.issue()
    with pytest.raises(VoucherSlotMismatch) as info:
        led.transfer_value(p.tier1, a.token_id, b.token_id, 1)
    assert info.value.as_dict() == {"from_token_id": a.token_id, "from_slot": a.receivable_id,
                                    "to_token_id": b.token_id, "to_slot": b.receivable_id}


def test_value_transfer_to_itself_or_a_missing_voucher_is_refused(w, p, led):
    root = w.issue()
    with pytest.raises(VoucherSameToken):
        led.transfer_value(p.tier1, root.token_id, root.token_id, 1)
    with pytest.raises(VoucherNonexistent) as info:
        led.transfer_value(p.tier1, root.token_id, 999, 1)
    assert info.value.token_id == 999


def test_merge_joins_two_vouchers_of_one_holder_and_burns_the_first(w, p, led):
    root = w.issue(100_000)
    a = led.split(p.tier1, root.token_id, p.tier2, 10_000)
    b = led.split(p.tier1, root.token_id, p.tier2, 20_000)
    receipt = led.merge(p.tier2, a.token_id, b.token_id)
    assert led.voucher_of(b.token_id).value == 30_000
    with pytest.raises(VoucherNonexistent):
        led.voucher_of(a.token_id)
    assert led.voucher_count(p.tier2) == 1
    assert [e.name for e in receipt.events] == ["TransferValue", "TransferValue", "SlotChanged", "Transfer"]


def test_merge_of_vouchers_of_different_holders_is_refused(w, p, led):
    root = w.issue()
    a = led.split(p.tier1, root.token_id, p.tier2, 10)
    with pytest.raises(VoucherHolderMismatch) as info:
        led.merge(p.tier1, root.token_id, a.token_id)
    assert (info.value.from_holder, info.value.to_holder) == (p.tier1.address, p.tier2.address)


def test_merge_by_a_stranger_is_refused(w, p, led):
    root = w.issue()
    a = led.split(p.tier1, root.token_id, p.tier2, 10)
    b = led.split(p.tier1, root.token_id, p.tier2, 10)
    with pytest.raises(VoucherUnauthorized):
        led.merge(p.tier3, a.token_id, b.token_id)


def test_whole_transfer_moves_the_voucher_and_clears_its_approvals(w, p, led):
    root = w.issue()
    led.approve(p.tier1, p.bank, root.token_id)
    led.approve_value(p.tier1, root.token_id, p.bank2.address, 1_000)
    led.transfer(p.bank, root.token_id, p.tier2)  # the approved address moves it
    v = led.voucher_of(root.token_id)
    assert v.holder == p.tier2.address
    assert led.voucher_count(p.tier1) == 0 and led.voucher_count(p.tier2) == 1
    assert led.voucher.functions.getApproved(root.token_id).call() == "0x" + "00" * 20
    assert led.allowance(root.token_id, p.bank2) == 0
    with pytest.raises(VoucherUnauthorized):
        led.transfer(p.bank, root.token_id, p.tier1)
    with pytest.raises(VoucherInsufficientAllowance):
        led.split(p.bank2, root.token_id, p.bank2, 1)


def test_whole_transfer_from_the_wrong_holder_or_to_a_non_member_is_refused(w, p, led):
    root = w.issue()
    with pytest.raises(VoucherIncorrectHolder) as info:
        led.transfer(p.tier1, root.token_id, p.tier3, holder=p.tier2.address)
    assert (info.value.from_, info.value.holder) == (p.tier2.address, p.tier1.address)
    with pytest.raises(MembershipNotMember):
        led.transfer(p.tier1, root.token_id, p.outsider)
    with pytest.raises(VoucherUnauthorized):
        led.transfer(p.tier2, root.token_id, p.tier2)


def test_an_operator_approved_for_all_moves_every_voucher(w, p, led):
    root = w.issue()
    led.set_approval_for_all(p.tier1, p.bank, True)
    child = led.split(p.bank, root.token_id, p.tier2, 10)
    led.transfer(p.bank, root.token_id, p.tier3)
    assert led.voucher_of(root.token_id).holder == p.tier3.address
    assert led.voucher_of(child.token_id).value == 10
    with pytest.raises(VoucherInvalidOperator):
        led.set_approval_for_all(p.tier1, p.tier1, True)


def test_approvals_are_for_holders_only(w, p, led):
    root = w.issue()
    with pytest.raises(VoucherUnauthorized):
        led.approve_value(p.tier2, root.token_id, p.bank.address, 1)
    with pytest.raises(VoucherUnauthorized):
        led.approve(p.tier2, p.bank, root.token_id)
    with pytest.raises(VoucherInvalidOperator):
        led.approve_value(p.tier1, root.token_id, p.tier1.address, 1)


def test_an_expelled_member_can_neither_send_nor_receive(w, p, led):
    root = w.issue()
    child = led.split(p.tier1, root.token_id, p.tier2, 10)
    led.expel(p.operator, p.tier2)
    with pytest.raises(MembershipNotMember):
        led.split(p.tier1, root.token_id, p.tier2, 1)
    with pytest.raises(MembershipNotMember) as info:
        led.transfer(p.tier2, child.token_id, p.tier1)
    assert info.value.account == p.tier2.address


def test_pausing_stops_every_movement(w, p, led):
    root = w.issue()
    led.pause(p.operator)
    with pytest.raises(EnforcedPause):
        led.split(p.tier1, root.token_id, p.tier2, 1)
    with pytest.raises(EnforcedPause):
        w.issue()
    led.unpause(p.operator)
    led.split(p.tier1, root.token_id, p.tier2, 1)


@pytest.fixture
def receiver(w, p, led):
    """Deploy a contract holder (accepting or refusing) and admit it as a supplier."""
    from ledger.deploy import deploy_artifact
    from ledger.types import Role

    def make(accepting: bool) -> str:
        address, _ = deploy_artifact(led.chain, p.operator, led.artifacts["VoucherReceiverMock"], accepting)
        led.admit(p.operator, address, [Role.SUPPLIER])
        return address
    return make


def test_a_contract_holder_is_told_of_value_it_receives(w, p, led, receiver):
    good = receiver(True)
    root = w.issue()
    split = led.split(p.tier1, root.token_id, good, 10)
    assert led.voucher_of(split.token_id).holder == good
    assert led.chain.w3.eth.get_transaction_receipt(split.receipt.tx_hash)["logs"][-1]["address"] == good


def test_a_contract_that_refuses_value_makes_the_split_revert(w, p, led, receiver):
    bad = receiver(False)
    root = w.issue()
    with pytest.raises(VoucherInvalidReceiver) as info:
        led.split(p.tier1, root.token_id, bad, 10)
    assert info.value.receiver == bad
    led.transfer(p.tier1, root.token_id, bad)  # plain transferFrom does not ask
    root2 = w.issue()
    with pytest.raises(ERC721InvalidReceiver):
        led.transfer(p.tier1, root2.token_id, bad, safe=True)


# -- approvals as an event-only indexer sees them (issue 13, item 10) ------------------------------

ZERO = "0x" + "00" * 20
UNLIMITED = 2**128 - 1


class ApprovalIndexer:
    """Reproduce allowance() and getApproved() from events alone, by the documented rule: the
    last ApprovalValue / Approval for a voucher (and operator) since its last Transfer, else 0."""

    def __init__(self):
        self.epoch: dict[int, int] = {}
        self.values: dict[tuple[int, str], tuple[int, int]] = {}
        self.approved: dict[int, tuple[str, int]] = {}
        self.burned: set[int] = set()

    def apply(self, *receipts) -> None:
        for receipt in receipts:
            for e in receipt.events:
                if e.contract != "ReceivableVoucher":
                    continue
                a = e.args
                if e.name == "Transfer" and a["from"] != ZERO:
                    self.epoch[a["tokenId"]] = self.epoch.get(a["tokenId"], 0) + 1
                    if a["to"] == ZERO:
                        self.burned.add(a["tokenId"])
                elif e.name == "ApprovalValue":
                    self.values[(a["_tokenId"], a["_operator"])] = (a["_value"], self.epoch.get(a["_tokenId"], 0))
                elif e.name == "Approval":
                    self.approved[a["tokenId"]] = (a["approved"], self.epoch.get(a["tokenId"], 0))

    def allowance(self, token_id: int, operator: str) -> int:
        value, epoch = self.values.get((token_id, operator), (0, -1))
        return value if epoch == self.epoch.get(token_id, 0) else 0

    def get_approved(self, token_id: int) -> str:
        operator, epoch = self.approved.get(token_id, (ZERO, -1))
        return operator if epoch == self.epoch.get(token_id, 0) else ZERO

    def assert_matches(self, led) -> None:
        """Every voucher and operator the events named: the chain answers what the indexer says."""
        tokens = {t for t, _ in self.values} | set(self.approved)
        for token_id in tokens:
            if token_id in self.burned:
                with pytest.raises(VoucherNonexistent):
                    led.allowance(token_id, ZERO)
                continue
            assert led.voucher.functions.getApproved(token_id).call() == self.get_approved(token_id), token_id
        for (token_id, operator) in self.values:
            if token_id not in self.burned:
                assert led.allowance(token_id, operator) == self.allowance(token_id, operator), (token_id, operator)


def test_approval_value_carries_the_stored_capped_allowance(w, p, led):
    """Regression (issue 13, item 10): ApprovalValue emitted the uncapped value, so an indexer
    disagreed with allowance() for any approval above 2^128 − 1."""
    root = w.issue()
    receipt = led.approve_value(p.tier1, root.token_id, p.bank.address, 2**200)
    assert receipt.named("ApprovalValue")[0].args == {
        "_tokenId": root.token_id, "_operator": p.bank.address, "_value": UNLIMITED}
    assert led.allowance(root.token_id, p.bank) == UNLIMITED
    spent = led.split(p.bank, root.token_id, p.bank, 10)
    assert spent.receipt.named("ApprovalValue") == []  # unlimited: nothing stored changes
    assert led.allowance(root.token_id, p.bank) == UNLIMITED


def test_an_event_only_indexer_reproduces_every_allowance_and_approval(w, p, led):
    """Caps, spends, re-approvals, whole transfers, deliveries of other vouchers and burns: after
    each step the events alone say what allowance() and getApproved() answer."""
    index = ApprovalIndexer()
    root = w.issue()
    index.apply(root.receipt)
    a = led.split(p.tier1, root.token_id, p.tier1, 5_000)
    b = led.split(p.tier1, root.token_id, p.tier1, 5_000)
    index.apply(a.receipt, b.receipt)
    steps = [
        lambda: led.approve_value(p.tier1, root.token_id, p.bank.address, 2**255),    # capped
        lambda: led.approve_value(p.tier1, root.token_id, p.bank2.address, 1_000),
        lambda: led.split(p.bank2, root.token_id, p.bank2, 400).receipt,              # spend: 600 left
        lambda: led.approve(p.tier1, p.tier3, root.token_id),
        lambda: led.approve_value(p.tier1, a.token_id, p.tier2.address, 700),
        lambda: led.approve(p.tier1, p.bank, a.token_id),
        lambda: led.approve_value(p.tier1, b.token_id, p.tier3.address, 50),
    ]
    for step in steps:
        index.apply(step())
        index.assert_matches(led)
    assert index.allowance(root.token_id, p.bank.address) == UNLIMITED
    assert index.allowance(root.token_id, p.bank2.address) == 600

    index.apply(led.transfer(p.tier3, root.token_id, p.tier2))   # whole transfer: all lapse
    index.assert_matches(led)
    assert led.allowance(root.token_id, p.bank2) == 0 and index.allowance(root.token_id, p.bank2.address) == 0
    index.apply(led.approve_value(p.tier2, root.token_id, p.bank2.address, 9))  # the new holder's own
    index.apply(led.merge(p.tier1, a.token_id, b.token_id))      # a is burned with its approvals
    index.assert_matches(led)
    assert a.token_id in index.burned
    assert index.allowance(a.token_id, p.tier2.address) == 0 and index.get_approved(a.token_id) == ZERO
    assert led.allowance(root.token_id, p.bank2) == 9
    with pytest.raises(VoucherNonexistent):
        led._call(led.voucher.functions.getApproved(a.token_id))
