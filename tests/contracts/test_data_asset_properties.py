"""Property: across random registrations, appraisals (some expiring), listings, pledges to two
credit lines, releases, advance-rate changes, issues, repayments, syncs and time passing,

- an asset never has two active pledges (and the asset points at its one active pledge),
- no issue ever leaves a line using more than its effective limit at the time of issue: base
  limit + floor(Σ lowest unexpired appraisal of each pledged asset × advance rate / 10,000),
  computed here from the appraisals themselves, not from what CreditLines recorded,
- what CreditLines counts never exceeds that (expiry is handled conservatively), and a release
  that succeeds leaves the line within its limit;
- appraisals (issue 13.6): each appraiser has at most one live appraisal per asset (a new one
  replaces its own), none stands longer than a year, and after every replacement, withdrawal or
  strike of a pledged asset's appraisal the line counts exactly the lowest standing ones;
- foreclosure (issue 13.3): only the pledgee, against a voucher it holds of a Defaulted
  receivable of the line, credited min(counted value, exposure − what was already recovered);
  recoveredOf never exceeds the largest exposure the pledgee held when foreclosing, equals the
  sum over the assets held in foreclosure, and an asset returns only once no longer needed.

A Hypothesis state machine on the real contracts; each example rewinds the chain afterwards.
"""

import os

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from ledger import PledgeState, ReceivableState, Role
from ledger.exceptions import (
    AccessControlUnauthorizedAccount,
    CreditLineCollateralShortfall,
    CreditLineInsufficient,
    DataAssetAlreadyPledged,
    DataAssetAppraisalTooLong,
    DataAssetAppraiserNotExpelled,
    DataAssetExposureCovered,
    DataAssetHeldInForeclosure,
    DataAssetLineFull,
    DataAssetNoLiveAppraisal,
    DataAssetNotAppraised,
    DataAssetNotForeclosed,
    DataAssetStillSecuring,
    DataAssetTooManyAppraisals,
)
from tests.conftest import DAY, GRACE, LINE_LIMIT, dev_account
from tests.contracts.chain_machines import (
    APPRAISER,
    APPRAISER2,
    BPS,
    EXCHANGE,
    PROVIDER,
    ChainMachine,
    admit_data_parties,
    true_effective_limit,
    views,
)


ROGUE = dev_account(14)  # an appraiser the operator expels during the run
TERM = 365 * DAY


@pytest.fixture(scope="module")
def world(world):
    admit_data_parties(world)
    world.ledger.admit(world.parties.operator, ROGUE, [Role.APPRAISER])
    return world


EXAMPLES = int(os.environ.get("LEDGER_PROPERTY_EXAMPLES") or 20)


@pytest.mark.chain
@pytest.mark.timeout(120 + 40 * EXAMPLES)  # a longer run gets longer
def test_one_pledge_per_asset_and_no_line_beyond_its_effective_limit(world):
    w = world
    p = w.parties
    led = w.ledger
    financiers = {}
    reached = {"foreclosed": 0, "covered": 0, "returned": 0, "still securing": 0, "withdrawn": 0, "struck": 0,
               "replaced": 0}

    class Collateral(ChainMachine):
        @initialize()
        def start(self):
            self.begin()
            second = led.grant_credit_line(p.bank2, p.core, w.cash, LINE_LIMIT // 2, w.now() + 3 * 365 * DAY).line_id
            self.lines = [w.line_id, second]
            financiers.update({w.line_id: p.bank, second: p.bank2})
            self.assets: list[int] = []
            self.pledges: list[int] = []
            self.pledged_values: dict[int, int] = {}  # pledge -> the asset's counted value then
            self.receivables: dict[int, int] = {}  # id -> line
            self.defaulted: dict[int, int] = {}  # defaulted receivable -> the financier's voucher of it
            self.max_exposure: dict[int, int] = {}  # receivable -> largest exposure foreclosed against
            self.rogue_expelled = False

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
        @rule(data=st.data(), value=st.integers(1, 8_000_000), days=st.integers(1, 60), forever=st.booleans(),
              appraiser=st.sampled_from([APPRAISER, APPRAISER2, ROGUE]))
        def appraise(self, data, value, days, forever, appraiser):
            asset_id = data.draw(st.sampled_from(self.assets))
            until = 2**40 - 1 if forever else w.now() + days * DAY
            before = [a for a in led.appraisals(asset_id) if a.valid_until > w.now() + 60]
            own = [a.slot for a in before if a.appraiser == appraiser.address]
            try:
                made = led.appraise(appraiser, asset_id, report_hash=os.urandom(32), value=value, valid_until=until)
            except DataAssetAppraisalTooLong as error:
                assert forever and error.max_valid_until < until
                return
            except AccessControlUnauthorizedAccount:
                assert appraiser is ROGUE and self.rogue_expelled
                return
            except DataAssetTooManyAppraisals:
                assert not own, "an appraiser's own live appraisal must be replaceable"
                return
            assert not forever, "an appraisal for ever was accepted"
            if own:
                assert made.slot == own[0], "a new appraisal by the same appraiser must replace its own"
                reached["replaced"] += 1
            self.exact_recount(asset_id, made.receipt.block_number)

        def exact_recount(self, asset_id, block):
            """A pledged asset's line counts exactly its pledged assets' lowest standing appraisals."""
            a = led.data_asset(asset_id, block=block)
            if not a.pledge_id:
                return
            line_id = led.pledge_of(a.pledge_id, block=block).line_id
            now = w.chain.w3.eth.get_block(block)["timestamp"]
            total = sum(min((x.value for x in led.appraisals(x_id, block=block) if x.valid_until > now), default=0)
                        for x_id in led.pledged_to(line_id))
            assert led.collateral(line_id, block=block).value == total

        @precondition(lambda self: getattr(self, "assets", None))
        @rule(data=st.data(), appraiser=st.sampled_from([APPRAISER, APPRAISER2, ROGUE]))
        def withdraw(self, data, appraiser):
            asset_id = data.draw(st.sampled_from(self.assets))
            now = w.now()
            live = [a for a in led.appraisals(asset_id) if a.appraiser == appraiser.address and a.valid_until > now]
            before = w.chain.w3.eth.block_number
            try:
                made = led.withdraw_appraisal(appraiser, asset_id)
            except DataAssetNoLiveAppraisal:
                assert w.chain.w3.eth.block_number == before
                assert all(a.valid_until <= now + 60 for a in live), "a live appraisal could not be withdrawn"
                return
            assert made.slot not in [a.slot for a in led.appraisals(asset_id)]
            reached["withdrawn"] += 1
            self.exact_recount(asset_id, made.receipt.block_number)

        @precondition(lambda self: getattr(self, "assets", None))
        @rule(data=st.data(), expel=st.booleans())
        def strike(self, data, expel):
            if expel and not self.rogue_expelled:
                led.expel(p.operator, ROGUE)
                self.rogue_expelled = True
            asset_id = data.draw(st.sampled_from(self.assets))
            before = w.chain.w3.eth.block_number
            try:
                struck = led.strike_appraisals(p.operator, asset_id, ROGUE)
            except DataAssetAppraiserNotExpelled:
                assert not self.rogue_expelled and w.chain.w3.eth.block_number == before
                return
            except DataAssetNoLiveAppraisal:
                assert all(a.appraiser != ROGUE.address for a in led.appraisals(asset_id))
                return
            assert self.rogue_expelled and struck.slots
            reached["struck"] += 1
            assert all(a.appraiser != ROGUE.address for a in led.appraisals(asset_id))
            self.exact_recount(asset_id, struck.receipt.block_number)

        @precondition(lambda self: getattr(self, "assets", None))
        @rule(data=st.data())
        def pledge(self, data):
            asset_id = data.draw(st.sampled_from(self.assets))
            line_id = data.draw(st.sampled_from(self.lines))
            a = led.data_asset(asset_id)
            if not a.listed or a.owner != PROVIDER.address:
                return
            try:
                made = led.pledge(PROVIDER, asset_id, line_id)
                self.pledges.append(made.pledge_id)
                self.pledged_values[made.pledge_id] = made.counted_value
            except DataAssetHeldInForeclosure:
                raise AssertionError("the provider owns it, so it is not held in foreclosure")
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
        @rule(data=st.data(), face=st.integers(10_000, 3_000_000), share=st.integers(1, 100))
        def default_a_receivable(self, data, face, share):
            """A receivable of a line, `share` % of it sold to the line's financier, defaulted."""
            line_id = data.draw(st.sampled_from(self.lines))
            if led.credit_available(line_id) < face:
                return
            issued = led.issue(p.core, p.tier1, line_id=line_id, currency=w.cash, face_value=face,
                               maturity=w.now() + DAY, document_hash=os.urandom(32))
            led.accept(p.tier1, issued.receivable_id)
            token = led.split(p.tier1, issued.token_id, financiers[line_id], face * share // 100 or 1).token_id
            if data.draw(st.booleans(), label="pledge a fresh asset to the line first"):
                asset_id = led.register_data_asset(PROVIDER, os.urandom(32)).asset_id
                led.appraise(APPRAISER, asset_id, report_hash=os.urandom(32), value=face // 3 or 1,
                             valid_until=w.now() + 60 * DAY)
                led.list_data_asset(EXCHANGE, asset_id, b"L".ljust(32, b"\0"))
                self.assets.append(asset_id)
                made = led.pledge(PROVIDER, asset_id, line_id)
                self.pledges.append(made.pledge_id)
                self.pledged_values[made.pledge_id] = made.counted_value
            w.advance(DAY + GRACE + 1)
            led.mark_overdue(p.outsider, issued.receivable_id)
            led.declare_default(financiers[line_id], issued.receivable_id)
            self.defaulted[issued.receivable_id] = token
            for _ in range(data.draw(st.integers(0, 3), label="foreclosures at once")):
                self.foreclose(data, rid=issued.receivable_id)

        @precondition(lambda self: getattr(self, "defaulted", None) and getattr(self, "pledges", None))
        @rule(data=st.data())
        def foreclose(self, data, rid=None):
            rid = rid or data.draw(st.sampled_from(sorted(self.defaulted)))
            token = self.defaulted[rid]
            r = led.receivable(rid)
            candidates = [g for g in map(led.pledge_of, self.pledges)
                          if g.state == PledgeState.ACTIVE and g.line_id == r.line_id]
            if not candidates or r.state != ReceivableState.DEFAULTED:
                return
            pledge = data.draw(st.sampled_from(candidates))
            financier = financiers[pledge.line_id]
            v = led.voucher_of(token)
            exposure = v.value - v.paid - led.claimable(token) if v.holder == financier.address else 0
            already = led.recovered(rid)
            before = w.chain.w3.eth.block_number
            try:
                made = led.foreclose(financier, pledge.asset_id, token)
            except DataAssetExposureCovered as error:
                assert (error.exposure, error.recovered) == (exposure, already) and exposure <= already
                assert w.chain.w3.eth.block_number == before
                reached["covered"] += 1
                return
            assert exposure > already
            assert made.value == self.pledged_values[pledge.pledge_id]  # as pledged, whatever was appraised since
            assert made.recovered == min(made.value, exposure - already) > 0
            self.max_exposure[rid] = max(self.max_exposure.get(rid, 0), exposure)
            reached["foreclosed"] += 1

        @precondition(lambda self: getattr(self, "assets", None))
        @rule(data=st.data(), repay=st.booleans())
        def redeem(self, data, repay):
            held_ids = [x for x in self.assets if led.held_under(x)]
            asset_id = data.draw(st.sampled_from(held_ids if held_ids and data.draw(st.booleans()) else self.assets))
            held = led.held_under(asset_id)
            if held and repay:  # the obligor pays the rest: the asset must come back
                rid = led.pledge_of(held).receivable_id
                r = led.receivable(rid)
                if r.state != ReceivableState.SETTLED:
                    led.repay(p.core, rid, r.face_value - r.repaid)
            before = w.chain.w3.eth.block_number
            try:
                led.redeem_data_asset(p.outsider, asset_id)
            except DataAssetNotForeclosed:
                assert not held and w.chain.w3.eth.block_number == before
                return
            except DataAssetStillSecuring as error:
                assert held and not repay and error.exposure > error.covered_without
                assert w.chain.w3.eth.block_number == before
                reached["still securing"] += 1
                return
            assert held and led.data_asset(asset_id).owner == led.pledge_of(held).owner
            assert led.pledge_of(held).state == PledgeState.RETURNED
            reached["returned"] += 1

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
        def appraisals_and_recoveries(self):
            """One live appraisal per appraiser, none longer than a year; recoveredOf is the sum
            over the assets held in foreclosure, never above the exposure foreclosed against.
            One JSON-RPC batch (this runs after every step)."""
            if not getattr(self, "assets", None):
                return
            r = led.data_assets.functions
            rids = sorted(self.defaulted)
            block = w.chain.w3.eth.get_block("latest")
            got = iter(views(led, [r.appraisalsOf(a) for a in self.assets] + [r.pledgeOf(g) for g in self.pledges]
                             + [r.heldUnder(a) for a in self.assets] + [r.recoveredOf(x) for x in rids], block.number))
            for asset_id in self.assets:
                live = [a for a in next(got) if a[2] > block.timestamp]  # (appraiser, at, until, value, report)
                assert len({a[0] for a in live}) == len(live), (asset_id, live)
                assert all(a[2] <= a[1] + TERM for a in live), (asset_id, live)
            held_by: dict[int, int] = {}
            recovered: dict[int, int] = {}
            for pledge_id in self.pledges:
                g = next(got)  # (asset, line, state, index, receivable, recovered, owner, token, financier, ...)
                if PledgeState(g[2]) == PledgeState.FORECLOSED:
                    held_by[g[0]] = pledge_id
                    recovered[g[4]] = recovered.get(g[4], 0) + g[5]
            for asset_id in self.assets:
                assert next(got) == held_by.get(asset_id, 0), asset_id
            for rid in rids:
                on_chain = next(got)
                assert on_chain == recovered.get(rid, 0) and on_chain <= self.max_exposure.get(rid, 0), rid

        @invariant()
        def recorded_credit_never_exceeds_the_spec(self):
            if not hasattr(self, "lines"):
                return
            block = w.chain.w3.eth.block_number
            for line_id in self.lines:
                assert led.effective_limit(line_id) <= true_effective_limit(led, line_id, block)

    Collateral.run(w, steps=30)
    print(f"data-asset moves reached: {reached}")
