"""Property: across random issue, accept, split, merge, transfer, offer, cancel, accept-offer,
repay (random instalments), claim, time passing and mark-overdue,

- the settlement currency is conserved (total supply constant, every unit somewhere known),
- each receivable's vouchers sum to its face value,
- the sum of claims never exceeds what was repaid, and the voucher contract holds exactly
  repaid − claimed for every receivable,
- once a receivable is fully repaid and every voucher has claimed, claims equal the face value
  to the unit.

A Hypothesis state machine on the real contracts; each example rewinds the chain afterwards.
"""


import pytest
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from ledger import ReceivableState, VoucherStatus
from ledger.types import OfferState
from tests.conftest import DAY
from tests.contracts.chain_machines import ChainMachine, assert_cash_conserved



@pytest.mark.chain
def test_money_and_value_are_conserved_through_financing(world):
    w = world
    p = w.parties
    led = w.ledger
    holders = [p.tier1, p.tier2, p.tier3, p.bank, p.bank2]
    by_address = {a.address: a for a in holders}
    everyone = [p.operator, p.core, p.core2, p.tier1, p.tier2, p.tier3, p.bank, p.bank2, p.auditor, p.outsider]
    cash = led.currency(w.cash)
    line_expiry = led.credit_line(w.line_id).expiry

    class Financing(ChainMachine):
        @initialize()
        def start(self):
            self.begin()
            self.supply = cash.functions.totalSupply().call()
            self.receivables: dict[int, int] = {}  # id -> face value
            self.tokens: set[int] = set()
            self.offers: set[int] = set()

        # -- helpers --------------------------------------------------------------------------
        def _vouchers(self, status=VoucherStatus.ACTIVE):
            found = []
            for token in sorted(self.tokens):
                v = led.voucher_of(token)
                if v.status == status:
                    found.append(v)
            return found

        def _pick(self, data, status=VoucherStatus.ACTIVE):
            vouchers = self._vouchers(status)
            return data.draw(st.sampled_from(vouchers)) if vouchers else None

        def _track(self, receipt):
            for e in receipt.named("Transfer"):
                if e.args["from"] == "0x" + "00" * 20:
                    self.tokens.add(e.args["tokenId"])
                if e.args["to"] == "0x" + "00" * 20:
                    self.tokens.discard(e.args["tokenId"])

        # -- rules ----------------------------------------------------------------------------
        @precondition(lambda self: hasattr(self, "receivables"))
        @rule(face=st.integers(1, 2_000_000))
        def issue(self, face):
            if w.now() + 90 * DAY >= line_expiry or led.credit_available(w.line_id) < face:
                return
            issued = w.issue(face, maturity_days=60)
            self.receivables[issued.receivable_id] = face
            self.tokens.add(issued.token_id)

        @rule(data=st.data(), share=st.floats(0.0, 1.0), to=st.sampled_from(holders))
        def split(self, data, share, to):
            v = self._pick(data)
            if v is None or v.value < 2:
                return
            amount = max(1, min(v.value - 1, int(v.value * share)))
            self._track(led.split(by_address[v.holder], v.token_id, to, amount).receipt)

        @rule(data=st.data())
        def merge(self, data):
            v = self._pick(data)
            if v is None:
                return
            mates = [u for u in self._vouchers() if u.holder == v.holder and u.receivable_id == v.receivable_id
                     and u.token_id != v.token_id]
            if mates:
                self._track(led.merge(by_address[v.holder], v.token_id, mates[0].token_id))

        @rule(data=st.data(), to=st.sampled_from(holders))
        def transfer(self, data, to):
            v = self._pick(data)
            if v is not None:
                led.transfer(by_address[v.holder], v.token_id, to)

        @rule(data=st.data(), share=st.floats(0.01, 1.0), rate=st.integers(0, 3_000), recourse=st.booleans())
        def offer(self, data, share, rate, recourse):
            v = self._pick(data)
            if v is None or led.receivable(v.receivable_id).state != ReceivableState.ACTIVE:
                return
            value = max(1, int(v.value * share))
            made = led.offer(by_address[v.holder], v.token_id, value, rate_bps=rate, recourse=recourse,
                             deadline=w.now() + 5 * DAY)
            self._track(made.receipt)
            self.offers.add(made.offer_id)

        def _open_offer(self, data):
            open_ = [o for o in sorted(self.offers) if led.offer_of(o).state == OfferState.OPEN]
            return data.draw(st.sampled_from(open_)) if open_ else None

        @rule(data=st.data())
        def cancel(self, data):
            offer_id = self._open_offer(data)
            if offer_id is not None:
                led.cancel_offer(by_address[led.offer_of(offer_id).seller], offer_id)

        @rule(data=st.data(), buyer=st.sampled_from([p.bank, p.bank2]))
        def accept_offer(self, data, buyer):
            offer_id = self._open_offer(data)
            if offer_id is None:
                return
            o = led.offer_of(offer_id)
            rid = led.voucher_of(o.token_id).receivable_id
            if (o.deadline < w.now() + 1 or led.receivable(rid).state != ReceivableState.ACTIVE
                    or o.seller == buyer.address):
                return
            led.accept_offer(buyer, offer_id)

        @rule(data=st.data(), share=st.floats(0.0, 1.0))
        def repay(self, data, share):
            repayable = [rid for rid in sorted(self.receivables) if led.receivable(rid).state in (
                ReceivableState.ACTIVE, ReceivableState.OVERDUE)]
            if not repayable:
                return
            rid = data.draw(st.sampled_from(repayable))
            outstanding = led.receivable(rid).outstanding
            led.repay(p.core, rid, max(1, int(outstanding * share)))

        @rule(data=st.data())
        def claim(self, data):
            candidates = [v for v in self._vouchers(VoucherStatus.ACTIVE) + self._vouchers(VoucherStatus.LOCKED)
                          if led.claimable(v.token_id) > 0]
            if candidates:
                v = data.draw(st.sampled_from(candidates))
                led.claim(by_address[v.holder], v.token_id)

        @rule(days=st.integers(1, 40))
        def time_passes(self, days):
            w.advance(days * DAY)

        @rule(data=st.data())
        def mark_overdue(self, data):
            for rid in sorted(self.receivables):
                r = led.receivable(rid)
                if r.state == ReceivableState.ACTIVE and w.now() > r.maturity + led.credit_line(r.line_id).grace_period:
                    led.mark_overdue(p.outsider, rid)

        # -- invariants -----------------------------------------------------------------------
        @invariant()
        def conserved(self):
            if not hasattr(self, "receivables"):
                return
            known = [a.address for a in everyone] + [led.voucher.address, led.factoring.address]
            assert_cash_conserved(led, w.cash, self.supply, known, self.receivables)
            values: dict[int, int] = {}
            for token in self.tokens:
                v = led.voucher_of(token)
                values[v.receivable_id] = values.get(v.receivable_id, 0) + v.value
                assert 0 <= v.paid <= v.value
            assert values == {rid: face for rid, face in self.receivables.items()}

        @invariant()
        def full_repayment_pays_out_the_face_value(self):
            if not hasattr(self, "receivables"):
                return
            for rid, face in self.receivables.items():
                r = led.receivable(rid)
                if r.state != ReceivableState.SETTLED:
                    continue
                # Every voucher's claim then adds up to exactly what is left.
                due = sum(led.claimable(t) for t in self.tokens if led.voucher_of(t).receivable_id == rid)
                assert r.claimed + due == face

    Financing.run(w, steps=30)
