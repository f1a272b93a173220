"""Reorgs (anvil_reorg, anvil_rollback, evm_snapshot + evm_revert): after each, the mirror equals
the chain at its block, with no duplicate and no gap in the event log; a reorg deeper than the
window halts it with a message, and nothing is guessed."""

from __future__ import annotations

import random

import pytest
from mirror_checks import assert_mirror_matches_chain

from ledger.mirror import MirrorHalted, MirrorReader


def revert_to(mw, snapshot: str) -> None:
    assert mw.rpc("evm_revert", snapshot) is True
    mw.chain.forget_local_state()


def test_snapshot_revert_then_other_transactions(mw, db):
    with mw.mirror(db) as mirror:
        mw.traffic(1)
        mirror.sync()
        snapshot = mw.rpc("evm_snapshot")
        mw.traffic(2)
        mirror.sync()
        revert_to(mw, snapshot)
        mw.issue(55_000)  # fewer blocks than were undone: the head went back too
        assert mirror.sync().number == mw.head()
        assert_mirror_matches_chain(mw, db)
        mw.traffic(2)  # now past the old head, on the new branch
        mirror.sync()
        assert_mirror_matches_chain(mw, db)


def test_rollback_shortens_the_chain(mw, db):
    with mw.mirror(db) as mirror:
        mw.traffic(2)
        mirror.sync()
        mw.rpc("anvil_rollback", 5)
        mw.chain.forget_local_state()
        assert mirror.sync().number == mw.head()
        assert_mirror_matches_chain(mw, db)
        mw.traffic(1)
        mirror.sync()
        assert_mirror_matches_chain(mw, db)


def test_anvil_reorg_replaces_blocks_at_the_same_height(mw, db):
    with mw.mirror(db) as mirror:
        mw.traffic(2)
        mirror.sync()
        head = mw.head()
        mw.rpc("anvil_reorg", 4, [])
        mw.chain.forget_local_state()
        assert mw.head() == head
        assert mirror.sync().number == head
        assert_mirror_matches_chain(mw, db)
        mw.traffic(1)
        mirror.sync()
        assert_mirror_matches_chain(mw, db)


def test_a_reorg_while_following_the_head(mw, db):
    with mw.mirror(db, poll_interval=0.01) as mirror:
        mirror.start()
        mw.traffic(1)
        snapshot = mw.rpc("evm_snapshot")
        mw.traffic(1)
        mirror.wait_for_block(mw.head())
        revert_to(mw, snapshot)
        mw.traffic(2)
        mirror.wait_for_block(mw.head())
        mirror.stop()
        assert mirror.cursor.number == mw.head()
    assert_mirror_matches_chain(mw, db)


def test_random_reorgs(mw, db):
    rng = random.Random(5)
    with mw.mirror(db, max_page=4) as mirror:
        for _ in range(8):
            mw.traffic(1)
            if rng.random() < 0.5:
                mirror.step()  # sometimes the mirror is behind when the chain changes
            else:
                mirror.sync()
            kind = rng.choice(["rollback", "reorg", "revert"])
            depth = rng.randint(1, 8)
            if kind == "rollback":
                mw.rpc("anvil_rollback", depth)
            elif kind == "reorg":
                mw.rpc("anvil_reorg", depth, [])
            else:
                snapshot = mw.rpc("evm_snapshot")
                mw.traffic(1)
                mirror.sync()
                revert_to(mw, snapshot)
            mw.chain.forget_local_state()
            mirror.sync()
            assert_mirror_matches_chain(mw, db)


def test_a_reorg_deeper_than_the_window_halts_the_mirror(mw, db):
    with mw.mirror(db, window=3) as mirror:
        snapshot = mw.rpc("evm_snapshot")
        mw.traffic(2)  # 14 blocks
        mirror.sync()
        before = mirror.cursor
        revert_to(mw, snapshot)
        mw.traffic(3)  # longer than before: the head moved on, on another branch
        with pytest.raises(MirrorHalted, match="deeper than the window of 3 blocks"):
            mirror.sync()
        assert mirror.status == "halted" and mirror.cursor == before
    with MirrorReader(db).snapshot() as snap:  # the halt is on record for every reader
        assert snap.status == "halted" and "deeper than the window" in snap.message
    with mw.mirror(db, window=3) as mirror:  # and a restart does not paper over it
        with pytest.raises(MirrorHalted):
            mirror.sync()
        mirror.rebuild()
        mirror.sync()
    assert_mirror_matches_chain(mw, db)


def test_a_head_that_went_back_past_the_window_halts_the_mirror(mw, db):
    with mw.mirror(db, window=3) as mirror:
        mw.traffic(1)
        mirror.sync()
        mw.rpc("anvil_rollback", 6)
        with pytest.raises(MirrorHalted, match="head went back"):
            mirror.sync()


@pytest.mark.parametrize("depth", [2, 3, 4], ids=["window-1", "window", "window+1"])
@pytest.mark.parametrize("kind", ["anvil_reorg", "anvil_rollback"])
def test_a_reorg_as_deep_as_the_window_is_undone_one_deeper_halts(mw, db, kind, depth):
    """Window 3: a reorg replacing (or a rollback removing) 2 or 3 blocks is undone; 4 halts. The
    common ancestor of a reorg exactly as deep as the window is the block just below it, whose
    hash the mirror keeps as the parent hash of the window's oldest block."""
    with mw.mirror(db, window=3) as mirror:
        mw.traffic(2)  # every block has a transaction, so each undone block changed the mirror
        mirror.sync()
        before = mirror.cursor
        if kind == "anvil_reorg":
            mw.rpc("anvil_reorg", depth, [])  # the same height, other (empty) blocks
        else:
            mw.rpc("anvil_rollback", depth)
        mw.chain.forget_local_state()
        if depth > 3:
            why = "deeper than the window of 3 blocks" if kind == "anvil_reorg" else "head went back"
            with pytest.raises(MirrorHalted, match=why):
                mirror.sync()
            assert mirror.status == "halted" and mirror.cursor == before
            return
        assert mirror.sync().number == mw.head()
        assert_mirror_matches_chain(mw, db)
        mw.traffic(1)
        mirror.sync()
        assert_mirror_matches_chain(mw, db)


def test_a_reorg_reaching_catch_up_blocks_halts_with_that_reason(mw, db):
    """The first catch-up applies blocks older than the window without an undo journal. A head
    that moves back brings them within the window again: rolling back to the parent of the
    oldest journaled block still works, one block further cannot, and the mirror halts saying
    why (not "deeper than the window": the rollback is within it)."""
    with mw.mirror(db, window=3) as mirror:
        mw.traffic(2)
        mirror.sync()
        head = mirror.cursor.number
        mw.rpc("anvil_rollback", 3)  # to the parent of the window's oldest block: undone
        mw.chain.forget_local_state()
        assert mirror.sync().number == head - 3
        assert_mirror_matches_chain(mw, db)
        before = mirror.cursor
        mw.rpc("anvil_rollback", 1)  # block head - 3 was applied while catching up
        with pytest.raises(MirrorHalted, match=f"reaches below block {head - 3}.*without an undo journal"):
            mirror.sync()
        assert mirror.status == "halted" and mirror.cursor == before
    with MirrorReader(db).snapshot() as snap:
        assert snap.status == "halted" and "undo journal" in snap.message


def test_a_reorg_reaching_an_unjournaled_page_after_kept_blocks_halts(mw, db):
    """Kept (journaled) blocks, then a page applied as final without a journal: a head that goes
    back into that page finds an older kept block still canonical, but rolling back to it would
    leave the page's changes in place and apply its surviving blocks twice. It halts instead."""
    with mw.mirror(db, window=3) as mirror:
        mw.traffic(1)
        mirror.sync()
        kept = mirror.cursor.number
        for _ in range(5):  # five blocks with an event each
            mw.issue(accept=False)
        assert mirror.step()  # the two blocks beyond the window of the head, without a journal
        assert mirror.cursor.number == kept + 2
        before = mirror.cursor
        mw.rpc("anvil_rollback", 4)  # the head is now block kept + 1: inside that page
        mw.chain.forget_local_state()
        with pytest.raises(MirrorHalted, match="without an undo journal"):
            mirror.sync()
        assert mirror.status == "halted" and mirror.cursor == before
        mirror.rebuild()
        mirror.sync()
    assert_mirror_matches_chain(mw, db)
