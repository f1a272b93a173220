"""The transaction pipeline (ledger.chain.Pipeline): many threads, one sender's nonces, refusals
that fail alone, the gas book's out-of-gas recovery, and receipts on nodes of either kind."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from ledger.chain import CACHED_GAS_MARGIN
from ledger.exceptions import VoucherInsufficientValue

pytestmark = pytest.mark.chain


def nonce(w, account) -> int:
    return w.chain.w3.eth.get_transaction_count(account.address)


def test_many_threads_sending_as_one_party_never_collide_on_nonces(w, p, led):
    before, start = led.cash_balance(w.cash, p.outsider), nonce(w, p.operator)
    with ThreadPoolExecutor(24) as pool:
        receipts = list(pool.map(lambda i: led.mint_cash(p.operator, w.cash, p.outsider, i + 1), range(24)))
    assert len({r.tx_hash for r in receipts}) == 24
    assert nonce(w, p.operator) == start + 24  # one transaction each, no gap, none lost
    assert led.cash_balance(w.cash, p.outsider) == before + sum(range(1, 25))


def test_a_refused_transaction_fails_alone_and_sends_nothing(w, p, led):
    holders = [p.tier1, p.tier2, p.tier3]
    roots = [w.issue(1_000, supplier=h).token_id for h in holders]
    sent_before = nonce(w, p.tier3)

    def split(i: int):
        if i == 2:  # more than the voucher holds: refused by the check before sending
            return led.split(p.tier3, roots[2], p.tier1, 5_000)
        return led.split(holders[i], roots[i], p.tier3, 400)

    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(split, i) for i in range(3)]
    with pytest.raises(VoucherInsufficientValue) as refused:
        futures[2].result()
    assert (refused.value.balance, refused.value.needed) == (1_000, 5_000)
    assert nonce(w, p.tier3) == sent_before
    for i in (0, 1):
        made = futures[i].result()
        assert led.voucher_of(made.token_id).value == 400


def test_an_out_of_gas_under_the_gas_book_limit_is_resent_once_with_an_estimate(w, p, led):
    root = w.issue(1_000).token_id
    call = {"to": led.voucher.address,
            "data": led.voucher.functions.transferFrom(root, p.tier2.address, 1)._encode_transaction_data()}
    w.chain.gas_book.forget(call)
    w.chain.gas_book.record(call, 20_000)  # far below what a split costs
    assert w.chain.gas_book.limit(call) == int(20_000 * CACHED_GAS_MARGIN)
    sent_before = nonce(w, p.tier1)

    made = led.split(p.tier1, root, p.tier2, 100)

    assert led.voucher_of(made.token_id).value == 100
    assert nonce(w, p.tier1) == sent_before + 2  # the failed attempt, then the estimated one
    assert w.chain.gas_book.limit(call) > 2 * 40_000  # the book now holds a real estimate


def test_receipts_are_read_per_transaction_on_nodes_without_block_receipts(w, p, led):
    pipeline = w.chain.pipeline
    pipeline._block_receipts = False
    try:
        with ThreadPoolExecutor(4) as pool:
            receipts = list(pool.map(lambda i: led.mint_cash(p.operator, w.cash, p.outsider, 1), range(8)))
        assert all(r.block_number > 0 for r in receipts)
    finally:
        pipeline._block_receipts = True


def test_a_send_the_node_refuses_leaves_no_nonce_gap(w, p, led, monkeypatch):
    """The node refuses one of a sender's transactions (injected: it is never sent); the sender's
    others still go through, numbered without a gap, whether they shared its round or not."""
    pipeline = w.chain.pipeline
    forward = pipeline.rpc.batch_replies
    refused: list[str] = []

    def refuse_first_send(calls):
        if refused or not calls or calls[0][0] != "eth_sendRawTransaction":
            return forward(calls)
        refused.append(calls[0][1][0])
        return [{"error": {"code": -32000, "message": "injected refusal"}}, *forward(calls[1:])]

    monkeypatch.setattr(pipeline.rpc, "batch_replies", refuse_first_send)
    before, start = led.cash_balance(w.cash, p.outsider), nonce(w, p.operator)
    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(led.mint_cash, p.operator, w.cash, p.outsider, 10 ** i) for i in range(6)]
    failed = [i for i, f in enumerate(futures) if f.exception() is not None]
    assert len(failed) == 1 and "injected refusal" in str(futures[failed[0]].exception())
    assert nonce(w, p.operator) == start + 5
    assert led.cash_balance(w.cash, p.outsider) == before + sum(10 ** i for i in range(6)) - 10 ** failed[0]


def test_jobs_put_back_unsent_are_checked_again_unless_their_gas_was_given(w, p):
    from ledger.chain import _Job

    pipeline = w.chain.pipeline
    checked = _Job(p.tier1, {"to": p.tier2.address}, 90_000, deadline=0.0, from_book=True)
    given = _Job(p.tier1, {"to": p.tier2.address}, 21_000, deadline=0.0, given=True)
    with pipeline._wake:  # keep the sender thread from taking them while we look
        pipeline._requeue([checked, given])
        assert (checked.gas, checked.from_book, given.gas) == (None, False, 21_000)
        pipeline._queue.remove(checked)
        pipeline._queue.remove(given)
