"""Payments that pull the currency (repayments, offer acceptances): a refusal mines nothing and
moves no allowance; a success leaves no allowance behind; concurrent payments of one party all
go through (issue 14, items 2 and 3)."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

from gateway_world import DAY
from sqlmodel import select
from test_gateway_takeover import crash, record_of

from gateway.models import Party


def _allowance(gw, party, spender: str) -> int:
    return gw.ledger.cash_allowance(gw.cash, party.address, spender)


def _cash(gw, party) -> int:
    return gw.ledger.cash_balance(gw.cash, party.address)


def _offer(gw, token: int, value: int, *, financier=None) -> int:
    body = {"token_id": token, "value": str(value), "rate_bps": 800, "deadline": gw.now() + 5 * DAY}
    if financier is not None:
        body["financier"] = financier.address
    made = gw.post(gw.tier1, "/v1/offers", body)
    assert made.status_code == 201, made.json()
    return made.json()["offer_id"]


def test_a_refused_repayment_mines_nothing_and_moves_no_allowance(gw):
    issued = gw.issue(face_value=50_000)
    rid = issued["receivable_id"]
    voucher = gw.ledger.voucher.address
    head, allowance, cash = gw.head(), _allowance(gw, gw.core, voucher), _cash(gw, gw.core)
    r = gw.post(gw.core, f"/v1/receivables/{rid}/repayments", {"amount": "50001"})
    assert r.status_code == 409 and r.json()["error"] == "ReceivableOverpayment", r.json()
    assert r.json()["outstanding"] == "50000" and r.json()["amount"] == "50001"
    assert (gw.head(), _allowance(gw, gw.core, voucher), _cash(gw, gw.core)) == (head, allowance, cash)

    paid = gw.post(gw.core, f"/v1/receivables/{rid}/repayments", {"amount": "50000"})
    assert paid.status_code == 200, paid.json()
    assert gw.head() == head + 2  # the exact approval and the repayment
    assert _allowance(gw, gw.core, voucher) == allowance == 0  # nothing left standing
    assert _cash(gw, gw.core) == cash - 50_000
    assert gw.get(gw.core, f"/v1/receivables/{rid}").json()["state"] == "SETTLED"

    head = gw.head()
    r = gw.post(gw.core, f"/v1/receivables/{rid}/repayments", {"amount": "1"})  # settled
    assert r.status_code == 409 and r.json()["error"] == "ReceivableNotRepayable", r.json()
    assert r.json()["receivable_id"] == str(rid)
    assert (gw.head(), _allowance(gw, gw.core, voucher), _cash(gw, gw.core)) == (head, 0, cash - 50_000)


def test_a_repayment_beyond_the_obligors_cash_is_refused_before_approving(gw):
    """The currency checks the allowance before the balance, so the check with no allowance only
    says "allowance"; the balance is checked before the approval is sent."""
    obligor = gw.register("poor core", ["CORE_ENTERPRISE_ROLE"])
    line = gw.post(gw.bank, "/v1/credit-lines", {"obligor": obligor.address, "currency": gw.cash,
                                                  "limit": "1000", "expiry": gw.now() + 30 * DAY})
    assert line.status_code == 201, line.json()
    issued = gw.post(obligor, "/v1/receivables", {
        "supplier": gw.tier1.address, "line_id": line.json()["line_id"], "face_value": "1000",
        "maturity": gw.now() + 30 * DAY, "document_hash": gw.doc()})
    assert issued.status_code == 201, issued.json()
    rid = issued.json()["receivable_id"]
    assert gw.post(gw.tier1, f"/v1/receivables/{rid}/accept").status_code == 200
    head = gw.head()
    r = gw.post(obligor, f"/v1/receivables/{rid}/repayments", {"amount": "1000"})
    assert r.status_code == 409 and r.json()["error"] == "ERC20InsufficientBalance", r.json()
    assert r.json()["sender"] == obligor.address and r.json()["balance"] == "0" and r.json()["needed"] == "1000"
    assert gw.head() == head and _allowance(gw, obligor, gw.ledger.voucher.address) == 0


def test_a_refused_acceptance_mines_nothing_and_a_deal_leaves_no_allowance(gw):
    issued = gw.issue()
    factoring = gw.ledger.factoring.address
    cancelled = _offer(gw, issued["token_id"], 20_000)
    assert gw.post(gw.tier1, f"/v1/offers/{cancelled}/cancel").status_code == 200
    head, allowance, cash = gw.head(), _allowance(gw, gw.bank, factoring), _cash(gw, gw.bank)
    r = gw.post(gw.bank, f"/v1/offers/{cancelled}/accept")
    assert r.status_code == 409 and r.json()["error"] == "FactoringOfferNotOpen", r.json()
    assert r.json()["offer_id"] == str(cancelled)
    assert (gw.head(), _allowance(gw, gw.bank, factoring), _cash(gw, gw.bank)) == (head, allowance, cash)

    oid = _offer(gw, issued["token_id"], 20_000)
    head, seller_cash = gw.head(), _cash(gw, gw.tier1)
    deal = gw.post(gw.bank, f"/v1/offers/{oid}/accept")
    assert deal.status_code == 200, deal.json()
    price = int(deal.json()["price"])
    assert 0 < price < 20_000
    assert gw.head() == head + 2  # approve exactly the price, accept
    assert _allowance(gw, gw.bank, factoring) == allowance == 0  # not value - price left behind
    assert _cash(gw, gw.bank) == cash - price and _cash(gw, gw.tier1) == seller_cash + price

    head = gw.head()
    again = gw.post(gw.bank2, f"/v1/offers/{oid}/accept")  # sold already
    assert again.status_code == 409 and again.json()["error"] == "FactoringOfferNotOpen", again.json()
    assert gw.head() == head and _allowance(gw, gw.bank2, factoring) == 0


def test_an_allowance_left_standing_is_not_left_standing_after_a_payment(gw):
    """An allowance left by an earlier version of the gateway (value - price, per deal) is spent
    or cleared by the next payment, never raised."""
    issued = gw.issue()
    factoring = gw.ledger.factoring.address
    gw.ledger.approve_cash(gw.gateway.account_of(_party_row(gw, gw.bank2)), gw.cash, factoring, 123)
    oid = _offer(gw, issued["token_id"], 10_000)
    deal = gw.post(gw.bank2, f"/v1/offers/{oid}/accept")
    assert deal.status_code == 200, deal.json()
    assert _allowance(gw, gw.bank2, factoring) == 0


def _party_row(gw, party):
    with gw.gateway.session() as s:
        return s.exec(select(Party).where(Party.address == party.address)).one()


def test_concurrent_repayments_by_one_party_all_succeed(gw):
    issued = gw.issue(face_value=100_000)
    rid = issued["receivable_id"]
    voucher = gw.ledger.voucher.address
    cash = _cash(gw, gw.core)

    def repay(amount: int):
        return gw.post(gw.core, f"/v1/receivables/{rid}/repayments", {"amount": str(amount)})

    with ThreadPoolExecutor(2) as pool:
        two = list(pool.map(repay, [1_000, 2_000]))
    assert [r.status_code for r in two] == [200, 200], [r.json() for r in two]
    with ThreadPoolExecutor(10) as pool:
        ten = list(pool.map(repay, [100 * (i + 1) for i in range(10)]))
    assert [r.status_code for r in ten] == [200] * 10, [r.json() for r in ten if r.status_code != 200]
    repaid = 3_000 + 5_500
    assert gw.ledger.receivable(rid).repaid == repaid
    assert _cash(gw, gw.core) == cash - repaid
    assert _allowance(gw, gw.core, voucher) == 0
    gw.gateway.wait_for_block(gw.head())
    assert gw.get(gw.core, f"/v1/receivables/{rid}").json()["repaid"] == str(repaid)


def test_concurrent_acceptances_by_one_financier_all_succeed(gw):
    factoring = gw.ledger.factoring.address
    offers = []
    for _ in range(2):
        issued = gw.issue()
        offers += [_offer(gw, issued["token_id"], 1_000 * (i + 1), financier=gw.bank) for i in range(5)]
    cash = _cash(gw, gw.bank)
    with ThreadPoolExecutor(2) as pool:
        two = list(pool.map(lambda oid: gw.post(gw.bank, f"/v1/offers/{oid}/accept"), offers[:2]))
    with ThreadPoolExecutor(8) as pool:
        rest = list(pool.map(lambda oid: gw.post(gw.bank, f"/v1/offers/{oid}/accept"), offers[2:]))
    replies = two + rest
    assert [r.status_code for r in replies] == [200] * 10, [r.json() for r in replies if r.status_code != 200]
    prices = [int(r.json()["price"]) for r in replies]
    assert _cash(gw, gw.bank) == cash - sum(prices)
    assert _allowance(gw, gw.bank, factoring) == 0
    for oid in offers:
        assert gw.ledger.offer_of(oid).financier == gw.bank.address


def test_a_repayment_cut_off_by_a_crash_is_resumed_without_paying_twice(gw):
    """The approval is a fixed amount (not current + needed), so the re-run of a repayment asks
    for the same two transactions its first attempt sent, finds both on chain, sends nothing."""
    rid = gw.issue()["receivable_id"]
    key = str(uuid.uuid4())
    first = gw.post(gw.core, f"/v1/receivables/{rid}/repayments", {"amount": "1000"}, key=key)
    assert first.status_code == 200, first.json()
    assert len(json.loads(record_of(gw, key).steps)) == 2  # the approval and the repayment
    crash(gw, key)
    head = gw.head()
    retried = gw.post(gw.core, f"/v1/receivables/{rid}/repayments", {"amount": "1000"}, key=key)
    assert retried.status_code == 200, retried.json()
    assert retried.json()["tx_hash"] == first.json()["tx_hash"]
    assert gw.head() == head and gw.ledger.receivable(rid).repaid == 1000
    assert _allowance(gw, gw.core, gw.ledger.voucher.address) == 0


def test_a_settling_repayment_cut_off_by_a_crash_is_answered_from_the_chain(gw):
    """Attack (red team): the repayment that settles the receivable is cut off after it was
    mined. Its re-run's pre-check now sees a settled receivable (a refusal) and the obligor's
    allowance at 0; the retry must still answer what the first attempt did, send nothing, and
    leave no allowance."""
    rid = gw.issue()["receivable_id"]
    face = gw.ledger.receivable(rid).face_value
    key = str(uuid.uuid4())
    first = gw.post(gw.core, f"/v1/receivables/{rid}/repayments", {"amount": str(face)}, key=key)
    assert first.status_code == 200, first.json()
    crash(gw, key)
    head, cash = gw.head(), _cash(gw, gw.core)
    retried = gw.post(gw.core, f"/v1/receivables/{rid}/repayments", {"amount": str(face)}, key=key)
    assert retried.status_code == 200, retried.json()
    assert first.json()["tx_hash"] in json.dumps(retried.json())
    assert gw.head() == head and _cash(gw, gw.core) == cash and gw.ledger.receivable(rid).repaid == face
    assert _allowance(gw, gw.core, gw.ledger.voucher.address) == 0
