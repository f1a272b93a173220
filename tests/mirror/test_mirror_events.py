"""Every event of our contracts lands in the right tables, once, and survives restarts."""

from __future__ import annotations

import pytest
from mirror_checks import assert_mirror_matches_chain, dump
from sqlalchemy import func, select

from ledger.mirror import EventLog, Member, MirrorLocked, MirrorReader, PauseState, Voucher
from ledger.mirror.handlers import HANDLERS
from ledger.types import ReceivableState, Role, VoucherStatus

#: The events the foundation contracts emit: each must have a handler.
FOUNDATION_EVENTS = {
    ("ReceivableVoucher", name) for name in (
        "Transfer", "Approval", "ApprovalForAll", "TransferValue", "ApprovalValue", "SlotChanged",
        "ReceivableIssued", "ReceivableAccepted", "ReceivableRejected", "ReceivableRevoked",
        "RoleGranted", "RoleRevoked", "RoleAdminChanged", "Paused", "Unpaused",
    )
} | {("CreditLines", name) for name in (
    "CreditLineGranted", "CreditLineTermsChanged", "CreditLineDrawn", "CreditLineRestored")}


def every_event(w) -> dict[str, int]:
    """Make the contracts emit each foundation event at least once; return some ids made."""
    led = w.ledger
    led.set_credit_terms(w.bank, w.line_id, 20_000_000, w.now() + 400 * 86_400)
    rejected = w.issue(accept=False)
    led.reject(w.tier1, rejected.receivable_id)
    revoked = w.issue(accept=False)
    led.revoke(w.core, revoked.receivable_id)
    root = w.issue(100_000).token_id
    child = led.split(w.tier1, root, w.tier2, 40_000).token_id
    grandchild = led.split(w.tier2, child, w.tier3, 15_000).token_id
    led.approve(w.tier3, w.tier2, grandchild)  # consent to value pushed into it (issue 13, item 2)
    led.transfer_value(w.tier2, child, grandchild, 5_000)
    extra = led.split(w.tier1, root, w.tier1, 1_000).token_id
    led.merge(w.tier1, extra, root)
    led.approve(w.tier1, w.tier2, root)                      # Approval
    led.approve_value(w.tier1, root, w.tier3.address, 7_000)  # ApprovalValue
    led.split(w.tier3, root, w.tier3, 2_000)                  # spends it: ApprovalValue(5,000)
    led.approve_value(w.tier2, child, w.tier1.address, 3_000)
    led.set_approval_for_all(w.tier3, w.tier1, True)          # ApprovalForAll
    led.set_approval_for_all(w.tier2, w.tier1, True)
    led.set_approval_for_all(w.tier2, w.tier1, False)
    led.transfer(w.tier2, child, w.tier3, holder=w.tier2.address)  # lapses child's allowance
    led.pause(w.operator)
    led.unpause(w.operator)
    led.pause(w.operator)
    led.unpause(w.operator)
    led.admit(w.operator, w.spare, [Role.SUPPLIER, Role.AUDITOR])
    led.revoke_role(w.operator, Role.AUDITOR, w.spare)
    led.grant_role(w.operator, Role.FINANCIER, w.spare)
    led.expel(w.operator, w.spare)                            # RoleRevoked for each role, membership last
    return {"root": root, "child": child, "grandchild": grandchild, "extra": extra,
            "rejected": rejected.receivable_id, "revoked": revoked.receivable_id}


def test_every_foundation_event_has_a_handler():
    assert FOUNDATION_EVENTS <= set(HANDLERS)


def test_every_event_lands_in_the_right_tables(mw, db):
    ids = every_event(mw)
    with mw.mirror(db) as mirror:
        cursor = mirror.sync()
    assert cursor.number == mw.head()
    assert assert_mirror_matches_chain(mw, db) == cursor.number

    with MirrorReader(db).snapshot() as snap:
        s = snap.session
        names = {n for (n,) in s.exec(select(EventLog.name).distinct())}
        assert {name for _, name in FOUNDATION_EVENTS} <= names
        root, extra = s.get(Voucher, ids["root"]), s.get(Voucher, ids["extra"])
        assert (root.parent_id, root.status, root.burned) == (0, VoucherStatus.ACTIVE, False)
        assert (extra.parent_id, extra.burned, extra.value) == (ids["root"], True, 0)
        assert s.get(Voucher, ids["grandchild"]).parent_id == ids["child"]
        spare = s.get(Member, mw.spare.address)
        assert (spare.is_member, spare.roles) == (False, 0)
        assert s.get(PauseState, mw.deployment.voucher).paused is False
        from ledger.mirror import Receivable
        assert s.get(Receivable, ids["rejected"]).state == ReceivableState.REJECTED
        assert s.get(Receivable, ids["revoked"]).state == ReceivableState.REVOKED


def test_a_restart_resumes_where_it_stopped(mw, db, tmp_path):
    mw.traffic(2)
    with mw.mirror(db, max_page=3) as mirror:
        mirror.step()
        mirror.step()
        middle = mirror.cursor.number
    assert middle < mw.head()
    mw.traffic(2)
    with mw.mirror(db) as mirror:
        assert mirror.cursor.number == middle
        mirror.sync()
    assert_mirror_matches_chain(mw, db)

    # The same chain mirrored in one go gives the same tables.
    other = str(tmp_path / "uninterrupted.db")
    with mw.mirror(other) as mirror:
        mirror.sync()
    assert dump(other) == dump(db)


def test_reads_say_their_block_and_wait_for_a_later_one(mw, db):
    with mw.mirror(db, poll_interval=0.01) as mirror:
        mirror.start()
        receipt = mw.issue().receipt
        reached = mirror.wait_for_block(receipt.block_number, timeout=10)
        assert reached.number >= receipt.block_number
        reader = MirrorReader(db)
        assert reader.wait_for_block(receipt.block_number, timeout=10).number >= receipt.block_number
        with reader.snapshot() as snap:
            assert snap.block.number >= receipt.block_number
            assert snap.session.exec(select(func.count()).select_from(EventLog)).one()[0] > 0
        reader.close()
        with pytest.raises(TimeoutError):
            mirror.wait_for_block(mw.head() + 100, timeout=0.2)


def test_one_writer_per_database(mw, db):
    with mw.mirror(db):
        with pytest.raises(MirrorLocked):
            mw.mirror(db)
    with mw.mirror(db) as mirror:  # released on close
        mirror.sync()
