"""Issuing receivables: credit draw, duplicate-document guard, accept / reject / revoke."""

import os

import pytest

from ledger import ReceivableState, VoucherStatus
from ledger.exceptions import (
    AccessControlUnauthorizedAccount,
    CreditLineCurrencyMismatch,
    CreditLineInsufficient,
    CreditLineNonexistent,
    CreditLineObligorMismatch,
    ReceivableDuplicateDocument,
    ReceivableInvalidDocument,
    ReceivableInvalidFaceValue,
    ReceivableInvalidMaturity,
    ReceivableNonexistent,
    ReceivableNotObligor,
    ReceivableNotPending,
    ReceivableNotSupplier,
    VoucherNonexistent,
    VoucherNotActive,
)
from ledger.types import Role
from tests.conftest import DAY, LINE_LIMIT


def test_issue_records_the_receivable_mints_a_pending_root_voucher_and_draws_credit(w, p, led):
    doc = os.urandom(32)
    maturity = w.now() + 90 * DAY
    issued = led.issue(p.core, p.tier1, line_id=w.line_id, currency=w.cash, face_value=250_000,
                       maturity=maturity, document_hash=doc)

    r = led.receivable(issued.receivable_id)
    assert (r.obligor, r.state, r.face_value, r.maturity, r.currency, r.line_id, r.root_token_id) == (
        p.core.address, ReceivableState.PENDING, 250_000, maturity, w.cash, w.line_id, issued.token_id)
    assert issued.receipt.named("ReceivableIssued")[0].args["documentHash"] == doc
    v = led.voucher_of(issued.token_id)
    assert (v.holder, v.value, v.status, v.parent_id, v.receivable_id) == (
        p.tier1.address, 250_000, VoucherStatus.PENDING, 0, issued.receivable_id)
    assert led.credit_line(w.line_id).used == 250_000
    assert led.credit_available(w.line_id) == LINE_LIMIT - 250_000
    assert led.receivable_of_document(p.core, doc) == issued.receivable_id
    assert led.receivable_of_document(p.core2, doc) == 0  # the guard is per obligor
    drawn = issued.receipt.named("CreditLineDrawn")[0].args
    assert (drawn["lineId"], drawn["receivableId"], drawn["amount"]) == (w.line_id, issued.receivable_id, 250_000)


def test_accept_activates_the_receivable_and_its_voucher(w, p, led):
    issued = w.issue(accept=False)
    receipt = led.accept(p.tier1, issued.receivable_id)
    assert receipt.named("ReceivableAccepted")[0].args == {"receivableId": issued.receivable_id,
                                                           "supplier": p.tier1.address}
    assert led.receivable(issued.receivable_id).state == ReceivableState.ACTIVE
    assert led.voucher_of(issued.token_id).status == VoucherStatus.ACTIVE


def test_a_duplicate_document_fingerprint_is_refused_with_the_receivable_it_backs(w, p, led):
    doc = os.urandom(32)
    first = w.issue(doc=doc)
    with pytest.raises(ReceivableDuplicateDocument) as info:
        w.issue(doc=doc)
    assert (info.value.document_hash, info.value.receivable_id) == (doc, first.receivable_id)


def test_another_obligor_cannot_squat_a_fingerprint(w, p, led):
    # Regression (issue 13, item 8): fingerprints were unique across all obligors, so a second
    # core enterprise that saw the victim's fingerprint in the mempool issued a 1-unit receivable
    # on it, left Pending by a colluding supplier, and the victim's own issue was refused.
    doc = os.urandom(32)
    now = w.now()
    line2 = led.grant_credit_line(p.bank2, p.core2, w.cash, LINE_LIMIT, now + 365 * DAY, 0).line_id
    squat = led.issue(p.core2, p.tier3, line_id=line2, currency=w.cash, face_value=1, maturity=now + DAY,
                      document_hash=doc)
    assert led.receivable_of_document(p.core2, doc) == squat.receivable_id
    victim = led.issue(p.core, p.tier1, line_id=w.line_id, currency=w.cash, face_value=250_000,
                       maturity=now + 90 * DAY, document_hash=doc)
    assert led.receivable_of_document(p.core, doc) == victim.receivable_id
    assert led.receivable_of_document(p.core2, doc) == squat.receivable_id  # it claims nothing of core's
    # The guard against financing the same trade twice stays, per obligor: neither can reuse it.
    for obligor, supplier, line, rid in ((p.core, p.tier2, w.line_id, victim.receivable_id),
                                         (p.core2, p.tier3, line2, squat.receivable_id)):
        before = w.chain.w3.eth.block_number
        used = led.credit_line(line).used
        with pytest.raises(ReceivableDuplicateDocument) as info:
            led.issue(obligor, supplier, line_id=line, currency=w.cash, face_value=5, maturity=now + DAY,
                      document_hash=doc)
        assert (info.value.document_hash, info.value.receivable_id) == (doc, rid)
        assert w.chain.w3.eth.block_number == before and led.credit_line(line).used == used


def test_a_zero_fingerprint_is_refused(w):
    with pytest.raises(ReceivableInvalidDocument):
        w.ledger.issue(
            w.parties.core, w.parties.tier1, line_id=w.line_id, currency=w.cash, face_value=1,
            maturity=w.now() + DAY, document_hash=bytes(32))


def test_issue_beyond_the_available_credit_is_refused(w, p, led):
    w.issue(LINE_LIMIT - 1_000)
    with pytest.raises(CreditLineInsufficient) as info:
        w.issue(1_001)
    assert (info.value.line_id, info.value.available, info.value.needed) == (w.line_id, 1_000, 1_001)


def test_issue_after_the_line_expired_is_refused(w, p, led):
    line = led.credit_line(w.line_id)
    w.advance(line.expiry - w.now() + 1)
    from ledger.exceptions import CreditLineExpired
    with pytest.raises(CreditLineExpired) as info:
        w.issue(maturity_days=30)
    assert info.value.line_id == w.line_id and info.value.expiry == line.expiry
    assert info.value.timestamp > line.expiry


def test_only_a_core_enterprise_issues(w, p, led):
    with pytest.raises(AccessControlUnauthorizedAccount) as info:
        led.issue(p.bank, p.tier1, line_id=w.line_id, currency=w.cash, face_value=1,
                  maturity=w.now() + DAY, document_hash=os.urandom(32))
    assert (info.value.account, info.value.needed_role) == (p.bank.address, Role.CORE_ENTERPRISE.id)


def test_the_payee_must_be_a_supplier_member(w, p, led):
    for payee in (p.outsider, p.bank):
        with pytest.raises(AccessControlUnauthorizedAccount) as info:
            led.issue(p.core, payee, line_id=w.line_id, currency=w.cash, face_value=1,
                      maturity=w.now() + DAY, document_hash=os.urandom(32))
        assert (info.value.account, info.value.needed_role) == (payee.address, Role.SUPPLIER.id)


def test_an_obligor_cannot_draw_on_another_obligors_line(w, p, led):
    with pytest.raises(CreditLineObligorMismatch) as info:
        led.issue(p.core2, p.tier1, line_id=w.line_id, currency=w.cash, face_value=1,
                  maturity=w.now() + DAY, document_hash=os.urandom(32))
    assert (info.value.line_id, info.value.obligor, info.value.account) == (w.line_id, p.core.address, p.core2.address)


def test_the_currency_must_be_the_lines(w, p, led):
    other = "0x" + "ab" * 20
    with pytest.raises(CreditLineCurrencyMismatch) as info:
        led.issue(p.core, p.tier1, line_id=w.line_id, currency=led.chain.w3.to_checksum_address(other),
                  face_value=1, maturity=w.now() + DAY, document_hash=os.urandom(32))
    assert info.value.line_currency == w.cash


def test_an_unknown_line_is_refused(w, p, led):
    with pytest.raises(CreditLineNonexistent) as info:
        led.issue(p.core, p.tier1, line_id=99, currency=w.cash, face_value=1, maturity=w.now() + DAY,
                  document_hash=os.urandom(32))
    assert info.value.line_id == 99


@pytest.mark.parametrize("face_value", [0, 2**96])
def test_face_value_must_be_positive_and_fit_96_bits(w, p, led, face_value):
    with pytest.raises(ReceivableInvalidFaceValue) as info:
        led.issue(p.core, p.tier1, line_id=w.line_id, currency=w.cash, face_value=face_value,
                  maturity=w.now() + DAY, document_hash=os.urandom(32))
    assert info.value.face_value == face_value


def test_maturity_must_lie_in_the_future(w, p, led):
    past = w.now() - 1
    with pytest.raises(ReceivableInvalidMaturity) as info:
        led.issue(p.core, p.tier1, line_id=w.line_id, currency=w.cash, face_value=1, maturity=past,
                  document_hash=os.urandom(32))
    assert info.value.maturity == past and info.value.timestamp >= past


def test_only_the_supplier_accepts(w, p, led):
    issued = w.issue(accept=False)
    with pytest.raises(ReceivableNotSupplier) as info:
        led.accept(p.tier2, issued.receivable_id)
    assert (info.value.receivable_id, info.value.account) == (issued.receivable_id, p.tier2.address)


def test_accepting_twice_is_refused_with_the_state(w, p, led):
    issued = w.issue()
    with pytest.raises(ReceivableNotPending) as info:
        led.accept(p.tier1, issued.receivable_id)
    assert (info.value.receivable_id, info.value.state) == (issued.receivable_id, ReceivableState.ACTIVE)


def test_accepting_an_unknown_receivable_is_refused(w, p, led):
    with pytest.raises(ReceivableNonexistent) as info:
        led.accept(p.tier1, 42)
    assert info.value.receivable_id == 42


@pytest.mark.parametrize("action", ["reject", "revoke"])
def test_reject_and_revoke_burn_the_voucher_restore_credit_and_free_the_fingerprint(w, p, led, action):
    doc = os.urandom(32)
    issued = w.issue(40_000, doc=doc, accept=False)
    receipt = led.reject(p.tier1, issued.receivable_id) if action == "reject" else led.revoke(
        p.core, issued.receivable_id)

    state = ReceivableState.REJECTED if action == "reject" else ReceivableState.REVOKED
    assert led.receivable(issued.receivable_id).state == state
    with pytest.raises(VoucherNonexistent):
        led.voucher_of(issued.token_id)
    assert led.credit_line(w.line_id).used == 0
    assert led.voucher_count(p.tier1) == 0
    assert led.receivable_of_document(p.core, doc) == 0
    names = [e.name for e in receipt.events]
    assert names[:3] == ["TransferValue", "SlotChanged", "Transfer"]
    assert receipt.named("TransferValue")[0].args == {"_fromTokenId": issued.token_id, "_toTokenId": 0,
                                                      "_value": 40_000}
    assert "CreditLineRestored" in names
    # The documents no longer back anything, so a corrected receivable may use them.
    again = w.issue(40_000, doc=doc)
    assert led.receivable_of_document(p.core, doc) == again.receivable_id


def test_only_the_obligor_revokes_and_only_the_supplier_rejects(w, p, led):
    issued = w.issue(accept=False)
    with pytest.raises(ReceivableNotObligor):
        led.revoke(p.tier1, issued.receivable_id)
    with pytest.raises(ReceivableNotSupplier):
        led.reject(p.core, issued.receivable_id)


def test_an_accepted_receivable_can_no_longer_be_revoked(w, p, led):
    issued = w.issue()
    with pytest.raises(ReceivableNotPending) as info:
        led.revoke(p.core, issued.receivable_id)
    assert info.value.state == ReceivableState.ACTIVE


def test_a_pending_voucher_cannot_move(w, p, led):
    issued = w.issue(accept=False)
    with pytest.raises(VoucherNotActive) as info:
        led.split(p.tier1, issued.token_id, p.tier2, 10)
    assert (info.value.token_id, info.value.status) == (issued.token_id, VoucherStatus.PENDING)
    with pytest.raises(VoucherNotActive):
        led.transfer(p.tier1, issued.token_id, p.tier2)
