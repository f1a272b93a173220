"""Property: across random registrations, appraisals (some expiring), listings, pledges to two
credit lines, releases, advance-rate changes, issues, repayments, syncs and time passing,

- an asset never has two active pledges (and the asset points at its one active pledge),
- no issue ever leaves a line using more than its effective limit at the time of issue: base
  limit + floor(Σ lowest unexpired appraisal of each pledged asset × advance rate / 10,000),
  computed here from the appraisals themselves, not from what CreditLines recorded,
- what CreditLines counts never exceeds that (expiry is handled conservatively), and a release
  that succeeds leaves the line within its limit.

A Hypothesis state machine on the real contracts; each example rewinds the chain afterwards.
"""

import os

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from ledger import PledgeState
from ledger.exceptions import (
    CreditLineCollateralShortfall,
    CreditLineInsufficient,
    DataAssetAlreadyPledged,
    DataAssetLineFull,
    DataAssetNotAppraised,
    DataAssetTooManyAppraisals,
)
from tests.conftest import DAY, LINE_LIMIT
from tests.contracts.chain_machines import (
    APPRAISER,
    APPRAISER2,
    BPS,
    EXCHANGE,
    PROVIDER,
    ChainMachine,
    admit_data_parties,
    true_effective_limit,
)


@pytest.fixture(scope="module")
def world(world):
    return admit_data_parties(world)


@pytest.mark.chain
def test_one_pledge_per_asset_and_no_line_beyond_its_effective_limit(world):
    w = world
    p = w.parties
    led = w.ledger
    financiers = {}

    class Collateral(ChainMachine):
        @initialize()
        def start(self):
            self.begin()
            second = led.grant_credit_line(p.bank2, p.core, w.cash, LINE_LIMIT // 2, w.now() + 3 * 365 * DAY).line_id
            self.lines = [w.line_id, second]
            financiers.update({w.line_id: p.bank, second: p.bank2})
            self.assets: list[int] = []
            self.pledges: list[int] = []
            self.receivables: dict[int, int] = {}  # id -> line

        # -- rules ----------------------------------------------------------------------------
        @precondition(lambda self: hasattr(self, "lines"))
        @rule(value=st.integers(1, 8_000_000), days=st.integers(1, 60), listed=st.booleans())
        def make_asset(self, value, days, listed):
            asset_id = led.register_data_asset(PROVIDER, os.urandom(32)).asset_id
            led.appraise(APPRAISER, asset_id, report_hash=os.urandom(32), value=value,
                         valid_until=w.now() + days * DAY)
            if listed:
                led.list_data_asset(EXCHANGE, asset_id, b"L".ljust(32, b"\0"))
            self.assets.append(asset_id)

        @precondition(lambda self: getattr(self, "assets", None))
        @rule(data=st.data(), value=st.integers(1, 8_000_000), days=st.integers(1, 60),
              appraiser=st.sampled_from([APPRAISER, APPRAISER2]))
        def appraise(self, data, value, days, appraiser):
            asset_id = data.draw(st.sampled_from(self.assets))
            try:
                led.appraise(appraiser, asset_id, report_hash=os.urandom(32), value=value,
                             valid_until=w.now() + days * DAY)
            except DataAssetTooManyAppraisals:
                pass

        @precondition(lambda self: getattr(self, "assets", None))
        @rule(data=st.data())
        def pledge(self, data):
            asset_id = data.draw(st.sampled_from(self.assets))
            line_id = data.draw(st.sampled_from(self.lines))
            a = led.data_asset(asset_id)
            if not a.listed or a.owner != PROVIDER.address:
                return
            try:
                self.pledges.append(led.pledge(PROVIDER, asset_id, line_id).pledge_id)
            except DataAssetAlreadyPledged as error:
                assert a.pledge_id == error.pledge_id != 0
            except DataAssetNotAppraised:
                assert led.counted_value(asset_id)[0] == 0
            except DataAssetLineFull:
                assert len(led.pledged_to(line_id)) == 16
            else:
                assert a.pledge_id == 0

        @precondition(lambda self: getattr(self, "pledges", None))
        @rule(data=st.data())
        def release(self, data):
            pledge = led.pledge_of(data.draw(st.sampled_from(self.pledges)))
            if pledge.state != PledgeState.ACTIVE:
                return
            try:
                receipt = led.release(financiers[pledge.line_id], pledge.asset_id)
            except CreditLineCollateralShortfall as error:
                assert error.used > error.limit
            else:
                line = led.credit_line(pledge.line_id, block=receipt.block_number)
                assert line.used <= true_effective_limit(led, pledge.line_id, receipt.block_number)

        @precondition(lambda self: hasattr(self, "lines"))
        @rule(data=st.data(), rate=st.integers(0, BPS))
        def set_rate(self, data, rate):
            line_id = data.draw(st.sampled_from(self.lines))
            led.set_advance_rate(financiers[line_id], line_id, rate)

        @precondition(lambda self: hasattr(self, "lines"))
        @rule(data=st.data(), extra=st.integers(-2_000_000, 2_000_000))
        def issue(self, data, extra):
            line_id = data.draw(st.sampled_from(self.lines))
            face = led.credit_available(line_id) + extra
            if face <= 0:
                return
            try:
                issued = led.issue(p.core, p.tier1, line_id=line_id, currency=w.cash, face_value=face,
                                   maturity=w.now() + 30 * DAY, document_hash=os.urandom(32))
            except CreditLineInsufficient as error:
                assert error.needed > error.available
                return
            block = issued.receipt.block_number
            (drawn,) = issued.receipt.named("CreditLineDrawn")
            assert drawn.args["used"] <= true_effective_limit(led, line_id, block)
            self.receivables[issued.receivable_id] = line_id

        @precondition(lambda self: getattr(self, "receivables", None))
        @rule(data=st.data())
        def revoke(self, data):
            rid = data.draw(st.sampled_from(sorted(self.receivables)))
            led.revoke(p.core, rid)
            del self.receivables[rid]

        @precondition(lambda self: hasattr(self, "lines"))
        @rule(data=st.data())
        def sync(self, data):
            led.sync_collateral(p.outsider, data.draw(st.sampled_from(self.lines)))

        @precondition(lambda self: hasattr(self, "lines"))
        @rule(days=st.integers(1, 20))
        def time_passes(self, days):
            w.advance(days * DAY)

        # -- invariants -----------------------------------------------------------------------
        @invariant()
        def one_active_pledge_per_asset(self):
            if not hasattr(self, "pledges"):
                return
            active: dict[int, list[int]] = {}
            for pledge_id in self.pledges:
                pledge = led.pledge_of(pledge_id)
                if pledge.state == PledgeState.ACTIVE:
                    active.setdefault(pledge.asset_id, []).append(pledge_id)
            for asset_id in self.assets:
                ids = active.get(asset_id, [])
                assert len(ids) <= 1, (asset_id, ids)
                assert led.data_asset(asset_id).pledge_id == (ids[0] if ids else 0)
            for line_id in self.lines:
                on_line = sorted(led.pledged_to(line_id))
                assert on_line == sorted(a for a, ids in active.items() if led.pledge_of(ids[0]).line_id == line_id)

        @invariant()
        def recorded_credit_never_exceeds_the_spec(self):
            if not hasattr(self, "lines"):
                return
            block = w.chain.w3.eth.block_number
            for line_id in self.lines:
                assert led.effective_limit(line_id) <= true_effective_limit(led, line_id, block)

    Collateral.run(w, steps=30)
