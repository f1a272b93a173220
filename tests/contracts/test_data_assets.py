"""Data assets: register, appraise, list, pledge, release, foreclose, and the credit they add."""

import os

import pytest

from ledger import PledgeState, ReceivableState, Role
from ledger.exceptions import (
    AccessControlUnauthorizedAccount,
    CreditLineCollateralShortfall,
    CreditLineInsufficient,
    CreditLineInvalidAdvanceRate,
    CreditLineNonexistent,
    CreditLineNotFinancier,
    CreditLineUnauthorizedCaller,
    DataAssetAlreadyListed,
    DataAssetAlreadyPledged,
    DataAssetDuplicateContent,
    DataAssetInvalidAppraisal,
    DataAssetInvalidContent,
    DataAssetInvalidListing,
    DataAssetLineFull,
    DataAssetNonexistent,
    DataAssetNotAppraised,
    DataAssetNotListed,
    DataAssetNotOwner,
    DataAssetNotPledged,
    DataAssetNotPledgee,
    DataAssetReceivableLineMismatch,
    DataAssetReceivableNotDefaulted,
    DataAssetSelfAppraisal,
    DataAssetTooManyAppraisals,
    MembershipNotMember,
)
from tests.conftest import DAY, GRACE, LINE_LIMIT, dev_account

APPRAISER, APPRAISER2, EXCHANGE, PROVIDER = (dev_account(i) for i in (10, 11, 12, 13))
RATE = 5_000  # the bank lends half the appraised value
VALUE = 4_000_000
LISTING = b"SZDE-0001".ljust(32, b"\0")


@pytest.fixture(scope="module")
def world(world):
    """The shared world plus two appraisers, an exchange and a data provider (members)."""
    led, op = world.ledger, world.parties.operator
    led.admit(op, APPRAISER, [Role.APPRAISER])
    led.admit(op, APPRAISER2, [Role.APPRAISER])
    led.admit(op, EXCHANGE, [Role.EXCHANGE])
    led.admit(op, PROVIDER, [Role.SUPPLIER])
    return world


def register(led, owner=PROVIDER, content=None):
    return led.register_data_asset(owner, content or os.urandom(32), metadata_hash=os.urandom(32),
                                   uri="ipfs://meta").asset_id


def ready_asset(w, value=VALUE, days=180, owner=PROVIDER):
    """A registered, appraised (for `days`) and listed asset of `owner`."""
    led = w.ledger
    asset_id = register(led, owner)
    led.appraise(APPRAISER, asset_id, report_hash=os.urandom(32), value=value, valid_until=w.now() + days * DAY)
    led.list_data_asset(EXCHANGE, asset_id, LISTING)
    return asset_id


def pledged_asset(w, value=VALUE, days=180, rate=RATE):
    led = w.ledger
    led.set_advance_rate(w.parties.bank, w.line_id, rate)
    asset_id = ready_asset(w, value, days)
    pledge = led.pledge(PROVIDER, asset_id, w.line_id)
    return asset_id, pledge.pledge_id


def default_receivable(w, led, p, face=100_000):
    issued = w.issue(face, maturity_days=30)
    w.advance(30 * DAY + GRACE + 1)
    led.mark_overdue(p.outsider, issued.receivable_id)
    led.declare_default(p.bank, issued.receivable_id)
    return issued.receivable_id


# -- registration ------------------------------------------------------------------------------


def test_a_member_registers_an_asset_by_its_content_fingerprint(w, led):
    content, meta = os.urandom(32), os.urandom(32)
    made = led.register_data_asset(PROVIDER, content, metadata_hash=meta, uri="ipfs://catalogue")
    (event,) = made.receipt.named("DataAssetRegistered")
    assert event.args["owner"] == PROVIDER.address and event.args["contentHash"] == content
    a = led.data_asset(made.asset_id)
    assert (a.owner, a.content_hash, a.metadata_hash, a.uri, a.pledge_id, a.listed) == (
        PROVIDER.address, content, meta, "ipfs://catalogue", 0, False)
    assert led.asset_of_content(content) == made.asset_id


def test_the_same_content_cannot_be_registered_twice(w, p, led):
    content = os.urandom(32)
    first = register(led, content=content)
    with pytest.raises(DataAssetDuplicateContent) as info:
        led.register_data_asset(p.tier1, content)
    assert (info.value.content_hash, info.value.asset_id) == (content, first)


def test_registration_needs_a_member_and_a_fingerprint(w, p, led):
    with pytest.raises(MembershipNotMember) as info:
        led.register_data_asset(p.outsider, os.urandom(32))
    assert info.value.account == p.outsider.address
    with pytest.raises(DataAssetInvalidContent):
        led.register_data_asset(PROVIDER, bytes(32))


def test_unknown_assets_are_refused(w, led):
    with pytest.raises(DataAssetNonexistent) as info:
        led.data_asset(999)
    assert info.value.asset_id == 999


# -- appraisal ---------------------------------------------------------------------------------


def test_an_appraiser_attests_and_the_lowest_unexpired_appraisal_counts(w, led):
    asset_id = register(led)
    report = os.urandom(32)
    short = w.now() + 10 * DAY
    made = led.appraise(APPRAISER, asset_id, report_hash=report, value=3_000_000, valid_until=short)
    (event,) = made.receipt.named("DataAssetAppraised")
    assert (event.args["appraiser"], event.args["value"], event.args["reportHash"]) == (
        APPRAISER.address, 3_000_000, report)
    led.appraise(APPRAISER2, asset_id, report_hash=os.urandom(32), value=5_000_000, valid_until=w.now() + 90 * DAY)
    assert led.counted_value(asset_id) == (3_000_000, short)
    assert [a.value for a in led.appraisals(asset_id)] == [3_000_000, 5_000_000]
    w.advance(11 * DAY)  # the lower one expires: the other is now the lowest unexpired
    assert led.counted_value(asset_id)[0] == 5_000_000
    w.advance(80 * DAY)
    assert led.counted_value(asset_id) == (0, 0)


def test_only_an_appraiser_other_than_the_owner_appraises(w, p, led):
    asset_id = register(led)
    with pytest.raises(AccessControlUnauthorizedAccount) as info:
        led.appraise(p.bank, asset_id, report_hash=os.urandom(32), value=1, valid_until=w.now() + DAY)
    assert (info.value.account, info.value.needed_role) == (p.bank.address, Role.APPRAISER.id)
    own = register(led, owner=APPRAISER)
    with pytest.raises(DataAssetSelfAppraisal) as info:
        led.appraise(APPRAISER, own, report_hash=os.urandom(32), value=1, valid_until=w.now() + DAY)
    assert (info.value.asset_id, info.value.appraiser) == (own, APPRAISER.address)


def test_an_appraisal_needs_a_value_and_a_future_expiry(w, led):
    asset_id = register(led)
    now = w.now()
    for value, until in ((0, now + DAY), (1, now), (2**96, now + DAY)):
        with pytest.raises(DataAssetInvalidAppraisal) as info:
            led.appraise(APPRAISER, asset_id, report_hash=os.urandom(32), value=value, valid_until=until)
        assert (info.value.value, info.value.valid_until) == (value, until)


def test_live_appraisals_are_capped_and_an_expired_slot_is_reused(w, led):
    asset_id = register(led)
    for i in range(4):
        led.appraise(APPRAISER, asset_id, report_hash=os.urandom(32), value=1_000 + i,
                     valid_until=w.now() + (i + 1) * DAY)
    with pytest.raises(DataAssetTooManyAppraisals) as info:
        led.appraise(APPRAISER, asset_id, report_hash=os.urandom(32), value=7, valid_until=w.now() + DAY)
    assert (info.value.asset_id, info.value.max) == (asset_id, 4)
    w.advance(DAY + 1)  # slot 0 expired
    made = led.appraise(APPRAISER2, asset_id, report_hash=os.urandom(32), value=2_000, valid_until=w.now() + DAY)
    assert made.slot == 0
    assert led.counted_value(asset_id)[0] == 1_001


# -- listing -----------------------------------------------------------------------------------


def test_an_exchange_lists_an_asset_once(w, p, led):
    asset_id = register(led)
    receipt = led.list_data_asset(EXCHANGE, asset_id, LISTING)
    assert receipt.named("DataAssetListed")[0].args["listingId"] == LISTING
    a = led.data_asset(asset_id)
    assert (a.exchange, a.listing_id, a.listed) == (EXCHANGE.address, LISTING, True)
    with pytest.raises(DataAssetAlreadyListed) as info:
        led.list_data_asset(EXCHANGE, asset_id, b"\1" * 32)
    assert (info.value.asset_id, info.value.exchange, info.value.listing_id) == (asset_id, EXCHANGE.address, LISTING)


def test_listing_needs_an_exchange_and_a_listing_id(w, p, led):
    asset_id = register(led)
    with pytest.raises(AccessControlUnauthorizedAccount) as info:
        led.list_data_asset(APPRAISER, asset_id, LISTING)
    assert info.value.needed_role == Role.EXCHANGE.id
    with pytest.raises(DataAssetInvalidListing):
        led.list_data_asset(EXCHANGE, asset_id, bytes(32))


# -- pledge ------------------------------------------------------------------------------------


def test_the_owner_pledges_a_listed_appraised_asset_to_the_lines_financier(w, p, led):
    asset_id = ready_asset(w)
    made = led.pledge(PROVIDER, asset_id, w.line_id)
    (event,) = made.receipt.named("DataAssetPledged")
    assert (event.args["financier"], event.args["owner"], event.args["lineId"], event.args["countedValue"]) == (
        p.bank.address, PROVIDER.address, w.line_id, VALUE)
    pledge = led.pledge_of(made.pledge_id)
    assert (pledge.asset_id, pledge.line_id, pledge.state, pledge.financier, pledge.owner) == (
        asset_id, w.line_id, PledgeState.ACTIVE, p.bank.address, PROVIDER.address)
    assert led.data_asset(asset_id).pledge_id == made.pledge_id
    assert led.pledged_to(w.line_id) == [asset_id]
    assert led.collateral(w.line_id).value == VALUE


def test_an_unlisted_asset_cannot_be_pledged(w, led):
    asset_id = register(led)
    led.appraise(APPRAISER, asset_id, report_hash=os.urandom(32), value=VALUE, valid_until=w.now() + DAY)
    with pytest.raises(DataAssetNotListed) as info:
        led.pledge(PROVIDER, asset_id, w.line_id)
    assert info.value.asset_id == asset_id


def test_an_unappraised_or_expired_asset_cannot_be_pledged(w, led):
    asset_id = register(led)
    led.list_data_asset(EXCHANGE, asset_id, LISTING)
    with pytest.raises(DataAssetNotAppraised) as info:
        led.pledge(PROVIDER, asset_id, w.line_id)
    assert info.value.asset_id == asset_id
    led.appraise(APPRAISER, asset_id, report_hash=os.urandom(32), value=VALUE, valid_until=w.now() + DAY)
    w.advance(DAY)
    with pytest.raises(DataAssetNotAppraised) as info:
        led.pledge(PROVIDER, asset_id, w.line_id)
    assert info.value.timestamp >= led.appraisals(asset_id)[0].valid_until


def test_only_the_owner_pledges_and_only_to_an_existing_line(w, p, led):
    asset_id = ready_asset(w)
    with pytest.raises(DataAssetNotOwner) as info:
        led.pledge(p.tier1, asset_id, w.line_id)
    assert (info.value.asset_id, info.value.account) == (asset_id, p.tier1.address)
    with pytest.raises(CreditLineNonexistent) as info:
        led.pledge(PROVIDER, asset_id, 999)
    assert info.value.line_id == 999


def test_an_asset_carries_one_active_pledge(w, p, led):
    asset_id, pledge_id = pledged_asset(w)
    other = led.grant_credit_line(p.bank2, p.core, w.cash, LINE_LIMIT, w.now() + 365 * DAY).line_id
    with pytest.raises(DataAssetAlreadyPledged) as info:
        led.pledge(PROVIDER, asset_id, other)
    assert (info.value.asset_id, info.value.pledge_id, info.value.financier) == (asset_id, pledge_id, p.bank.address)


def test_a_line_carries_a_bounded_number_of_pledges(w, p, led):
    led.set_advance_rate(p.bank, w.line_id, RATE)
    for _ in range(16):
        led.pledge(PROVIDER, ready_asset(w, value=1_000), w.line_id)
    extra = ready_asset(w, value=1_000)
    with pytest.raises(DataAssetLineFull) as info:
        led.pledge(PROVIDER, extra, w.line_id)
    assert (info.value.line_id, info.value.max) == (w.line_id, 16)
    assert led.collateral(w.line_id).value == 16_000


# -- credit enhancement ------------------------------------------------------------------------


def test_pledged_value_times_the_advance_rate_raises_the_limit(w, p, led):
    receipt = led.set_advance_rate(p.bank, w.line_id, 2_500)
    assert receipt.named("CreditLineAdvanceRateSet")[0].args["advanceRateBps"] == 2_500
    a = ready_asset(w, value=3_000_000)
    b = ready_asset(w, value=1_000_001)
    led.pledge(PROVIDER, a, w.line_id)
    led.pledge(PROVIDER, b, w.line_id)
    credit = 4_000_001 * 2_500 // 10_000
    assert led.effective_limit(w.line_id) == LINE_LIMIT + credit
    assert led.credit_available(w.line_id) == LINE_LIMIT + credit
    led.set_advance_rate(p.bank, w.line_id, RATE)
    credit = 4_000_001 * RATE // 10_000
    assert led.credit_line(w.line_id).limit == LINE_LIMIT  # the base limit is untouched
    w.issue(LINE_LIMIT)
    w.issue(credit)  # beyond the base limit: only the collateral covers it
    assert led.credit_available(w.line_id) == 0
    with pytest.raises(CreditLineInsufficient) as info:
        w.issue(1)
    assert (info.value.available, info.value.needed) == (0, 1)


def test_without_pledges_the_base_limit_is_all_there_is(w, p, led):
    led.set_advance_rate(p.bank, w.line_id, RATE)
    with pytest.raises(CreditLineInsufficient) as info:
        w.issue(LINE_LIMIT + 1)
    assert (info.value.available, info.value.needed) == (LINE_LIMIT, LINE_LIMIT + 1)


def test_only_the_financier_sets_a_valid_advance_rate(w, p, led):
    with pytest.raises(CreditLineNotFinancier):
        led.set_advance_rate(p.bank2, w.line_id, RATE)
    with pytest.raises(CreditLineInvalidAdvanceRate) as info:
        led.set_advance_rate(p.bank, w.line_id, 10_001)
    assert info.value.advance_rate_bps == 10_001


def test_only_the_registry_records_collateral(w, p, led):
    fn = led.credit_lines.functions.setCollateral(w.line_id, 10**9, w.now() + DAY, False)
    with pytest.raises(CreditLineUnauthorizedCaller) as info:
        led.chain.transact(p.bank, fn)
    assert info.value.caller == p.bank.address


def test_an_expired_appraisal_lowers_the_limit_for_new_issues_only(w, p, led):
    asset_id, _ = pledged_asset(w, days=10)
    credit = VALUE * RATE // 10_000
    issued = w.issue(LINE_LIMIT + credit // 2, maturity_days=60)
    w.advance(10 * DAY)
    assert led.effective_limit(w.line_id) == LINE_LIMIT
    assert led.credit_available(w.line_id) == 0
    with pytest.raises(CreditLineInsufficient) as info:
        w.issue(1)
    assert info.value.available == 0
    assert led.receivable(issued.receivable_id).state == ReceivableState.ACTIVE  # still valid
    # A fresh appraisal of the pledged asset brings the credit back at once.
    led.appraise(APPRAISER2, asset_id, report_hash=os.urandom(32), value=VALUE, valid_until=w.now() + 30 * DAY)
    assert led.effective_limit(w.line_id) == LINE_LIMIT + credit


def test_past_the_earliest_counted_expiry_the_line_counts_nothing_until_synced(w, p, led):
    led.set_advance_rate(p.bank, w.line_id, RATE)
    short, long_ = ready_asset(w, value=1_000_000, days=10), ready_asset(w, value=2_000_000, days=100)
    led.pledge(PROVIDER, short, w.line_id)
    led.pledge(PROVIDER, long_, w.line_id)
    assert led.collateral(w.line_id).valid_until == led.counted_value(short)[1]
    w.advance(10 * DAY)
    assert led.effective_limit(w.line_id) == LINE_LIMIT  # conservative: nothing counts
    receipt = led.sync_collateral(p.outsider, w.line_id)
    (event,) = receipt.named("CreditLineCollateralChanged")
    assert (event.args["value"], event.args["validUntil"]) == (2_000_000, led.counted_value(long_)[1])
    assert led.effective_limit(w.line_id) == LINE_LIMIT + 2_000_000 * RATE // 10_000


def test_a_lower_appraisal_of_a_pledged_asset_lowers_the_limit_at_once(w, p, led):
    asset_id, _ = pledged_asset(w)
    led.appraise(APPRAISER2, asset_id, report_hash=os.urandom(32), value=1_000_000, valid_until=w.now() + 50 * DAY)
    assert led.effective_limit(w.line_id) == LINE_LIMIT + 1_000_000 * RATE // 10_000


# -- release -----------------------------------------------------------------------------------


def test_the_financier_releases_a_pledge(w, p, led):
    asset_id, pledge_id = pledged_asset(w)
    receipt = led.release(p.bank, asset_id)
    (event,) = receipt.named("DataAssetReleased")
    assert (event.args["assetId"], event.args["pledgeId"], event.args["financier"]) == (
        asset_id, pledge_id, p.bank.address)
    assert led.pledge_of(pledge_id).state == PledgeState.RELEASED
    assert led.data_asset(asset_id).pledge_id == 0
    assert led.pledged_to(w.line_id) == []
    assert led.effective_limit(w.line_id) == LINE_LIMIT
    # Released, it can be pledged again, to another financier's line.
    other = led.grant_credit_line(p.bank2, p.core, w.cash, LINE_LIMIT, w.now() + 365 * DAY).line_id
    again = led.pledge(PROVIDER, asset_id, other)
    assert led.pledge_of(again.pledge_id).financier == p.bank2.address


def test_only_the_pledgee_releases_and_only_an_active_pledge(w, p, led):
    asset_id, _ = pledged_asset(w)
    for someone in (p.bank2, PROVIDER):
        with pytest.raises(DataAssetNotPledgee) as info:
            led.release(someone, asset_id)
        assert (info.value.asset_id, info.value.financier, info.value.account) == (
            asset_id, p.bank.address, someone.address)
    led.release(p.bank, asset_id)
    with pytest.raises(DataAssetNotPledged) as info:
        led.release(p.bank, asset_id)
    assert info.value.asset_id == asset_id


def test_a_release_leaving_use_above_the_reduced_limit_is_refused(w, p, led):
    a, _ = pledged_asset(w)
    b = ready_asset(w, value=1_000_000)
    led.pledge(PROVIDER, b, w.line_id)
    issued = w.issue(LINE_LIMIT + 1_000_000)  # needs more than b's 500,000 of credit
    with pytest.raises(CreditLineCollateralShortfall) as info:
        led.release(p.bank, a)
    assert (info.value.line_id, info.value.limit, info.value.used) == (
        w.line_id, LINE_LIMIT + 500_000, LINE_LIMIT + 1_000_000)
    led.release(p.bank, b)  # a alone still covers the use
    led.repay(p.core, issued.receivable_id, 1_000_000)
    led.release(p.bank, a)  # repayment brought use back under the base limit
    assert led.effective_limit(w.line_id) == LINE_LIMIT


# -- foreclosure -------------------------------------------------------------------------------


def test_on_default_the_financier_forecloses_and_takes_the_asset(w, p, led):
    asset_id, pledge_id = pledged_asset(w)
    receivable_id = default_receivable(w, led, p)
    receipt = led.foreclose(p.bank, asset_id, receivable_id)
    (event,) = receipt.named("DataAssetForeclosed")
    assert (event.args["financier"], event.args["previousOwner"], event.args["receivableId"]) == (
        p.bank.address, PROVIDER.address, receivable_id)
    assert led.data_asset(asset_id).owner == p.bank.address
    assert led.pledge_of(pledge_id).state == PledgeState.FORECLOSED
    assert led.pledged_to(w.line_id) == [] and led.collateral(w.line_id).value == 0


def test_foreclosure_needs_a_defaulted_receivable_of_the_pledged_line(w, p, led):
    asset_id, _ = pledged_asset(w)
    issued = w.issue(100_000)
    with pytest.raises(DataAssetReceivableNotDefaulted) as info:
        led.foreclose(p.bank, asset_id, issued.receivable_id)
    assert (info.value.receivable_id, info.value.state) == (issued.receivable_id, ReceivableState.ACTIVE)
    other = led.grant_credit_line(p.bank, p.core, w.cash, LINE_LIMIT, w.now() + 365 * DAY, GRACE).line_id
    foreign = led.issue(p.core, p.tier1, line_id=other, currency=w.cash, face_value=1_000,
                        maturity=w.now() + 30 * DAY, document_hash=os.urandom(32))
    with pytest.raises(DataAssetReceivableLineMismatch) as info:
        led.foreclose(p.bank, asset_id, foreign.receivable_id)
    assert (info.value.receivable_line_id, info.value.pledge_line_id) == (other, w.line_id)
    with pytest.raises(DataAssetNotPledgee):
        led.foreclose(p.bank2, asset_id, issued.receivable_id)
