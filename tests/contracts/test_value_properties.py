"""Property: any sequence of splits, value transfers, merges and whole transfers keeps every
receivable's vouchers summing to its face value, and every voucher held by a member.

A Hypothesis state machine drives the real contracts on the test node and keeps a model of
who should hold what; after every step the chain must agree with the model and with the
invariants. Each example starts from a chain snapshot and rewinds to it afterwards.
"""


import pytest
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, initialize, invariant, multiple, rule

from ledger.exceptions import MembershipNotMember, VoucherInsufficientValue, VoucherUnsolicitedValue
from tests.contracts.chain_machines import ChainMachine



@pytest.mark.chain
def test_value_is_conserved_and_held_by_members(world):
    w = world
    p = w.parties
    members = [p.tier1, p.tier2, p.tier3, p.bank]

    class Vouchers(ChainMachine):
        tokens = Bundle("tokens")

        @initialize(target=tokens, faces=st.lists(st.integers(1, 10**6), min_size=1, max_size=2))
        def issue(self, faces):
            self.begin()
            self.model: dict[int, tuple[str, int, int]] = {}  # token -> (holder, value, receivable)
            self.faces: dict[int, int] = {}
            roots = []
            for face in faces:
                issued = w.issue(face, maturity_days=90)
                self.faces[issued.receivable_id] = face
                self.model[issued.token_id] = (p.tier1.address, face, issued.receivable_id)
                roots.append(issued.token_id)
            return multiple(*roots)

        def _signer(self, token):
            holder = self.model[token][0]
            return next(m for m in members if m.address == holder)

        @rule(target=tokens, token=tokens, to=st.sampled_from(members), share=st.floats(0.01, 1.0))
        def split(self, token, to, share):
            if token not in self.model:
                return token
            holder, value, rid = self.model[token]
            amount = max(1, int(value * share))
            if value == 0:
                return token
            new = w.ledger.split(self._signer(token), token, to, amount).token_id
            self.model[token] = (holder, value - amount, rid)
            self.model[new] = (to.address, amount, rid)
            return new

        @rule(source=tokens, dest=tokens, share=st.floats(0.01, 1.0))
        def transfer_value(self, source, dest, share):
            if source not in self.model or dest not in self.model or source == dest:
                return
            s_holder, s_value, s_rid = self.model[source]
            d_holder, d_value, d_rid = self.model[dest]
            if s_rid != d_rid or s_value == 0:
                return
            amount = max(1, int(s_value * share))
            if d_holder != s_holder:  # into another's voucher: it never consented (issue 13, item 2)
                with pytest.raises(VoucherUnsolicitedValue):
                    w.ledger.transfer_value(self._signer(source), source, dest, amount)
                return
            w.ledger.transfer_value(self._signer(source), source, dest, amount)
            self.model[source] = (s_holder, s_value - amount, s_rid)
            self.model[dest] = (d_holder, d_value + amount, d_rid)

        @rule(source=tokens, dest=tokens)
        def merge(self, source, dest):
            if source not in self.model or dest not in self.model or source == dest:
                return
            s_holder, s_value, s_rid = self.model[source]
            d_holder, d_value, d_rid = self.model[dest]
            if s_rid != d_rid or s_holder != d_holder:
                return
            w.ledger.merge(self._signer(source), source, dest)
            del self.model[source]
            self.model[dest] = (d_holder, d_value + s_value, d_rid)

        @rule(token=tokens, to=st.sampled_from(members))
        def transfer_whole(self, token, to):
            if token not in self.model:
                return
            _, value, rid = self.model[token]
            w.ledger.transfer(self._signer(token), token, to)
            self.model[token] = (to.address, value, rid)

        @rule(token=tokens)
        def overdraw_is_refused(self, token):
            if token not in self.model:
                return
            _, value, _ = self.model[token]
            with pytest.raises(VoucherInsufficientValue):
                w.ledger.split(self._signer(token), token, p.tier2, value + 1)

        @rule(token=tokens)
        def non_members_cannot_receive(self, token):
            if token not in self.model or self.model[token][1] == 0:
                return
            with pytest.raises(MembershipNotMember):
                w.ledger.split(self._signer(token), token, p.outsider, 1)

        @invariant()
        def chain_matches_model_and_value_is_conserved(self):
            if not hasattr(self, "model"):
                return
            totals: dict[int, int] = {}
            for token, (holder, value, rid) in self.model.items():
                v = w.ledger.voucher_of(token)
                assert (v.holder, v.value, v.receivable_id) == (holder, value, rid)
                assert w.ledger.is_member(v.holder)
                totals[rid] = totals.get(rid, 0) + v.value
            assert totals == self.faces

    Vouchers.run(w, steps=25)
