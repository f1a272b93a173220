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
    DataAssetAppraisalTooLong,
    DataAssetAppraiserNotExpelled,
    DataAssetExposureCovered,
    DataAssetHeldInForeclosure,
    DataAssetNoLiveAppraisal,
    DataAssetNotForeclosed,
    DataAssetNotVoucherHolder,
    DataAssetStillSecuring,
    DataAssetAlreadyPledged,
    DataAssetDuplicateContent,
    DataAssetInvalidAppraisal,
    DataAssetInvalidContent,
    DataAssetInvalidListing,
    DataAssetLineFull,
    DataAssetNonexistent,
    DataAssetNotAppraised,
    DataAssetNotListed,
    DataAssetOtherVoucherCited,
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

APPRAISER, APPRAISER2, EXCHANGE, PROVIDER, APPRAISER3, APPRAISER4, APPRAISER5 = (
    dev_account(i) for i in (10, 11, 12, 13, 14, 15, 16))
TERM = 365 * DAY  # MAX_APPRAISAL_TERM
RATE = 5_000  # the bank lends half the appraised value
VALUE = 4_000_000
LISTING = b"SZDE-0001".ljust(32, b"\0")


@pytest.fixture(scope="module")
def world(world):
    """The shared world plus two appraisers, an exchange and a data provider (members)."""
    led, op = world.ledger, world.parties.operator
    led.admit(op, APPRAISER, [Role.APPRAISER])
    led.admit(op, APPRAISER2, [Role.APPRAISER])
    for extra in (APPRAISER3, APPRAISER4, APPRAISER5):
        led.admit(op, extra, [Role.APPRAISER])
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
    for i, appraiser in enumerate((APPRAISER, APPRAISER2, APPRAISER3, APPRAISER4)):
        led.appraise(appraiser, asset_id, report_hash=os.urandom(32), value=1_000 + i,
                     valid_until=w.now() + (i + 1) * DAY)
    before = w.chain.w3.eth.block_number
    with pytest.raises(DataAssetTooManyAppraisals) as info:
        led.appraise(APPRAISER5, asset_id, report_hash=os.urandom(32), value=7, valid_until=w.now() + DAY)
    assert (info.value.asset_id, info.value.max) == (asset_id, 4)
    assert w.chain.w3.eth.block_number == before
    w.advance(DAY + 1)  # slot 0 expired
    made = led.appraise(APPRAISER5, asset_id, report_hash=os.urandom(32), value=2_000, valid_until=w.now() + DAY)
    assert made.slot == 0
    assert led.counted_value(asset_id)[0] == 1_001


# -- appraisal: bounded term, one live appraisal per appraiser, withdrawal, strike (issue 13.6) --


def appraisal_state(led, asset_id):
    return [(a.slot, a.appraiser, a.value, a.valid_until) for a in led.appraisals(asset_id)]


def test_one_appraiser_cannot_fill_every_slot_for_ever(w, led):
    """Regression (issue 13.6): before, one appraiser could take all four slots until 2^40 - 1,
    after which nobody could appraise the asset again and its value was frozen."""
    asset_id = register(led)
    before = w.chain.w3.eth.block_number
    with pytest.raises(DataAssetAppraisalTooLong) as info:
        led.appraise(APPRAISER, asset_id, report_hash=os.urandom(32), value=9_000_000, valid_until=2**40 - 1)
    assert info.value.valid_until == 2**40 - 1
    assert TERM - 60 <= info.value.max_valid_until - w.now() <= TERM  # the next block's now + a year
    assert w.chain.w3.eth.block_number == before and led.appraisals(asset_id) == []
    for value in (9_000_000, 8_000_000, 7_000_000, 6_000_000):
        made = led.appraise(APPRAISER, asset_id, report_hash=os.urandom(32), value=value,
                            valid_until=w.now() + TERM - DAY)
        assert made.slot == 0  # its own appraisal is replaced, never a second slot
    assert [(a.appraiser, a.value) for a in led.appraisals(asset_id)] == [(APPRAISER.address, 6_000_000)]
    for appraiser in (APPRAISER2, APPRAISER3, APPRAISER4):  # the other slots stay open to others
        led.appraise(appraiser, asset_id, report_hash=os.urandom(32), value=5_000_000, valid_until=w.now() + DAY)
    assert led.counted_value(asset_id)[0] == 5_000_000


def test_an_appraisal_may_stand_at_most_a_year(w, led):
    asset_id = register(led)
    now = w.now()
    made = led.appraise(APPRAISER, asset_id, report_hash=os.urandom(32), value=1_000, valid_until=now + TERM)
    assert led.appraisals(asset_id)[0].valid_until == now + TERM  # the bound itself is allowed
    assert made.slot == 0
    with pytest.raises(DataAssetAppraisalTooLong):
        led.appraise(APPRAISER2, asset_id, report_hash=os.urandom(32), value=1_000, valid_until=now + 2 * TERM)


def test_a_new_appraisal_replaces_the_appraisers_own_and_the_line_follows(w, p, led):
    asset_id, _ = pledged_asset(w)  # APPRAISER: 4,000,000
    led.appraise(APPRAISER2, asset_id, report_hash=os.urandom(32), value=6_000_000, valid_until=w.now() + 90 * DAY)
    assert led.collateral(w.line_id).value == VALUE
    # APPRAISER raises its own figure: the old one no longer stands, the next lowest counts.
    made = led.appraise(APPRAISER, asset_id, report_hash=os.urandom(32), value=8_000_000,
                        valid_until=w.now() + 30 * DAY)
    assert made.slot == 0
    assert [a.value for a in led.appraisals(asset_id)] == [8_000_000, 6_000_000]
    assert led.collateral(w.line_id).value == 6_000_000
    assert led.effective_limit(w.line_id) == LINE_LIMIT + 6_000_000 * RATE // 10_000


def test_an_appraiser_withdraws_its_appraisal_and_the_line_is_recounted(w, p, led):
    asset_id, _ = pledged_asset(w)  # APPRAISER: 4,000,000 for 180 days
    second_until = w.now() + 60 * DAY
    led.appraise(APPRAISER2, asset_id, report_hash=os.urandom(32), value=3_000_000, valid_until=second_until)
    assert led.collateral(w.line_id).value == 3_000_000
    made = led.withdraw_appraisal(APPRAISER2, asset_id)
    (event,) = made.receipt.named("DataAssetAppraisalWithdrawn")
    assert (event.args["assetId"], event.args["appraiser"], event.args["slot"]) == (asset_id, APPRAISER2.address, 1)
    assert [a.appraiser for a in led.appraisals(asset_id)] == [APPRAISER.address]
    collateral = led.collateral(w.line_id)
    assert (collateral.value, collateral.valid_until) == led.counted_value(asset_id) == (
        VALUE, led.appraisals(asset_id)[0].valid_until)
    before = w.chain.w3.eth.block_number
    with pytest.raises(DataAssetNoLiveAppraisal) as info:
        led.withdraw_appraisal(APPRAISER2, asset_id)
    assert (info.value.asset_id, info.value.appraiser) == (asset_id, APPRAISER2.address)
    assert w.chain.w3.eth.block_number == before
    # The last appraisal withdrawn, the asset counts nothing and the line loses its credit.
    led.withdraw_appraisal(APPRAISER, asset_id)
    assert led.counted_value(asset_id) == (0, 0)
    assert (led.collateral(w.line_id).value, led.effective_limit(w.line_id)) == (0, LINE_LIMIT)
    # The withdrawn slot is free again.
    assert led.appraise(APPRAISER3, asset_id, report_hash=os.urandom(32), value=1_000,
                        valid_until=w.now() + DAY).slot == 0


def test_the_operator_strikes_an_expelled_appraisers_appraisals(w, p, led):
    asset_id, _ = pledged_asset(w)  # APPRAISER: 4,000,000
    led.appraise(APPRAISER3, asset_id, report_hash=os.urandom(32), value=900_000, valid_until=w.now() + 90 * DAY)
    assert led.collateral(w.line_id).value == 900_000
    before = w.chain.w3.eth.block_number
    with pytest.raises(DataAssetAppraiserNotExpelled) as info:  # still an appraiser in good standing
        led.strike_appraisals(p.operator, asset_id, APPRAISER3)
    assert info.value.appraiser == APPRAISER3.address
    with pytest.raises(AccessControlUnauthorizedAccount) as denied:
        led.strike_appraisals(p.bank, asset_id, APPRAISER3)
    assert denied.value.account == p.bank.address
    assert w.chain.w3.eth.block_number == before and led.collateral(w.line_id).value == 900_000
    led.expel(p.operator, APPRAISER3)
    assert led.strike_appraisals(p.operator, asset_id, APPRAISER3).slots == (1,)
    assert [a.appraiser for a in led.appraisals(asset_id)] == [APPRAISER.address]
    assert led.collateral(w.line_id).value == VALUE
    with pytest.raises(DataAssetNoLiveAppraisal):
        led.strike_appraisals(p.operator, asset_id, APPRAISER3)


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


# -- foreclosure (issue 13.3) -------------------------------------------------------------------


def bank_holds(w, led, p, receivable_id, value):
    """The bank buys `value` of the receivable's root voucher from tier1; returns its voucher."""
    root = led.receivable(receivable_id).root_token_id
    return led.split(p.tier1, root, p.bank, value).token_id


def defaulted_with_exposure(w, led, p, face=100_000, exposure=30_000):
    """A receivable of `face` issued, `exposure` of it sold to the bank, then defaulted."""
    issued = w.issue(face, maturity_days=30)
    token = bank_holds(w, led, p, issued.receivable_id, exposure)
    w.advance(30 * DAY + GRACE + 1)
    led.mark_overdue(p.outsider, issued.receivable_id)
    led.declare_default(p.bank, issued.receivable_id)
    return issued.receivable_id, token


def pledge_more(w, led, value, days=180):
    asset_id = ready_asset(w, value, days)
    return asset_id, led.pledge(PROVIDER, asset_id, w.line_id).pledge_id


def unchanged(w, led, asset_ids, receivable_id):
    """What a refused foreclosure must leave as it was."""
    return (w.chain.w3.eth.block_number, [led.data_asset(a).owner for a in asset_ids],
            led.pledged_to(w.line_id), led.collateral(w.line_id), led.recovered(receivable_id))


def test_on_default_the_pledgee_forecloses_against_its_own_exposure(w, p, led):
    asset_id, pledge_id = pledged_asset(w, value=20_000)
    receivable_id, token = defaulted_with_exposure(w, led, p, exposure=30_000)
    made = led.foreclose(p.bank, asset_id, token)
    (event,) = made.receipt.named("DataAssetForeclosed")
    assert (event.args["financier"], event.args["previousOwner"], event.args["receivableId"], event.args["tokenId"],
            event.args["value"], event.args["recovered"]) == (
        p.bank.address, PROVIDER.address, receivable_id, token, 20_000, 20_000)
    assert (made.receivable_id, made.value, made.recovered) == (receivable_id, 20_000, 20_000)
    assert led.data_asset(asset_id).owner == p.bank.address
    pledge = led.pledge_of(pledge_id)
    assert (pledge.state, pledge.receivable_id, pledge.recovered) == (PledgeState.FORECLOSED, receivable_id, 20_000)
    assert led.recovered(receivable_id) == 20_000 and led.held_under(asset_id) == pledge_id
    assert led.pledged_to(w.line_id) == [] and led.collateral(w.line_id).value == 0


def test_a_pledgee_that_bears_none_of_the_defaulted_value_cannot_foreclose(w, p, led):
    """Regression (issue 13.3): before, the pledgee could foreclose on any defaulted receivable
    of the line without holding any of it."""
    asset_id, _ = pledged_asset(w)
    issued = w.issue(100_000, maturity_days=30)
    w.advance(30 * DAY + GRACE + 1)
    led.mark_overdue(p.outsider, issued.receivable_id)
    led.declare_default(p.bank, issued.receivable_id)
    root = led.receivable(issued.receivable_id).root_token_id  # all of it is still tier1's
    before = unchanged(w, led, [asset_id], issued.receivable_id)
    with pytest.raises(DataAssetNotVoucherHolder) as info:
        led.foreclose(p.bank, asset_id, root)
    assert (info.value.token_id, info.value.holder, info.value.account) == (root, p.tier1.address, p.bank.address)
    assert unchanged(w, led, [asset_id], issued.receivable_id) == before


def test_foreclosure_takes_only_what_covers_the_defaulted_exposure(w, p, led):
    """Regression (issue 13.3): before, one small default let the pledgee take every asset of the
    line. Now the pledgee names assets one at a time and none once its exposure is covered."""
    a, _ = pledged_asset(w, value=20_000)
    b, pledge_b = pledge_more(w, led, 20_000)
    c, _ = pledge_more(w, led, 20_000)
    receivable_id, token = defaulted_with_exposure(w, led, p, exposure=30_000)
    assert led.foreclose(p.bank, a, token).recovered == 20_000
    second = led.foreclose(p.bank, b, token)
    # Worth 20,000, b is credited only the 10,000 still uncovered: the rest secures nothing.
    assert (second.value, second.recovered) == (20_000, 10_000)
    assert led.pledge_of(pledge_b).recovered == 10_000 and led.recovered(receivable_id) == 30_000
    before = unchanged(w, led, [a, b, c], receivable_id)
    with pytest.raises(DataAssetExposureCovered) as info:
        led.foreclose(p.bank, c, token)
    assert (info.value.receivable_id, info.value.token_id, info.value.exposure, info.value.recovered) == (
        receivable_id, token, 30_000, 30_000)
    assert unchanged(w, led, [a, b, c], receivable_id) == before
    assert led.data_asset(c).owner == PROVIDER.address and led.pledged_to(w.line_id) == [c]


def test_the_recovery_is_recorded_against_the_debt_and_never_collected_twice(w, p, led):
    """Regression (issue 13.3): before, nothing recorded what a foreclosure took, so the same
    defaulted value could be collected again. Splitting the voucher does not reset it."""
    a, _ = pledged_asset(w, value=30_000)
    b, _ = pledge_more(w, led, 30_000)
    receivable_id, token = defaulted_with_exposure(w, led, p, exposure=30_000)
    led.foreclose(p.bank, a, token)
    half = led.split(p.bank, token, p.bank, 15_000).token_id  # a fresh voucher, same receivable
    for cited in (token, half):
        with pytest.raises(DataAssetExposureCovered) as info:
            led.foreclose(p.bank, b, cited)
        assert info.value.recovered == 30_000
    # More exposure bought later is new exposure: only what exceeds the recovery counts.
    more = bank_holds(w, led, p, receivable_id, 10_000)
    led.merge(p.bank, more, token)
    led.merge(p.bank, half, token)
    assert led.foreclose(p.bank, b, token).recovered == 10_000
    assert led.recovered(receivable_id) == 40_000


def test_what_was_repaid_or_paid_out_is_not_exposure(w, p, led):
    a, _ = pledged_asset(w, value=100_000)
    receivable_id, token = defaulted_with_exposure(w, led, p, exposure=30_000)
    led.repay(p.core, receivable_id, 50_000)  # half the face: 15,000 of the bank's 30,000 is repaid
    assert led.claimable(token) == 15_000
    assert led.foreclose(p.bank, a, token).recovered == 15_000  # claimable or claimed, it is not at risk


def test_full_repayment_returns_the_foreclosed_asset_to_its_owner(w, p, led):
    """Regression (issue 13.3): before, the pledgee kept the asset after the receivable it was
    taken for was repaid in full."""
    a, pledge_id = pledged_asset(w, value=20_000)
    receivable_id, token = defaulted_with_exposure(w, led, p, exposure=30_000)
    led.foreclose(p.bank, a, token)
    assert led.pledge_of(pledge_id).token_id == token
    before = w.chain.w3.eth.block_number
    with pytest.raises(DataAssetHeldInForeclosure) as held:  # the pledgee cannot pledge it on
        led.pledge(p.bank, a, w.line_id)
    assert (held.value.asset_id, held.value.pledge_id, held.value.receivable_id) == (a, pledge_id, receivable_id)
    with pytest.raises(DataAssetStillSecuring) as info:
        led.redeem_data_asset(PROVIDER, a)
    assert (info.value.asset_id, info.value.token_id, info.value.exposure, info.value.covered_without) == (
        a, token, 30_000, 0)
    led.repay(p.core, receivable_id, 99_999)
    with pytest.raises(DataAssetStillSecuring) as info:  # one unit short: the claim stands
        led.redeem_data_asset(PROVIDER, a)
    assert info.value.exposure == 1
    assert w.chain.w3.eth.block_number == before + 2 and led.data_asset(a).owner == p.bank.address  # approve, repay
    led.repay(p.core, receivable_id, 1)
    receipt = led.redeem_data_asset(p.outsider, a)  # anyone may hand it back
    (event,) = receipt.named("DataAssetReturned")
    assert (event.args["assetId"], event.args["pledgeId"], event.args["owner"], event.args["receivableId"],
            event.args["recovered"]) == (a, pledge_id, PROVIDER.address, receivable_id, 20_000)
    assert led.data_asset(a).owner == PROVIDER.address
    assert led.pledge_of(pledge_id).state == PledgeState.RETURNED
    assert (led.recovered(receivable_id), led.held_under(a)) == (0, 0)
    with pytest.raises(DataAssetNotForeclosed):
        led.redeem_data_asset(PROVIDER, a)
    assert led.pledge(PROVIDER, a, w.line_id).pledge_id  # back with its owner, free to pledge again


def test_a_partial_repayment_returns_the_assets_no_longer_needed(w, p, led):
    a, _ = pledged_asset(w, value=20_000)
    b, _ = pledge_more(w, led, 10_000)
    receivable_id, token = defaulted_with_exposure(w, led, p, exposure=30_000)
    led.foreclose(p.bank, a, token)
    led.foreclose(p.bank, b, token)  # 20,000 + 10,000 cover the 30,000
    led.repay(p.core, receivable_id, 50_000)  # the bank's exposure falls to 15,000: A alone covers it
    with pytest.raises(DataAssetStillSecuring) as info:
        led.redeem_data_asset(PROVIDER, a)  # without A, B's 10,000 does not cover 15,000
    assert (info.value.exposure, info.value.covered_without) == (15_000, 10_000)
    led.redeem_data_asset(PROVIDER, b)
    assert led.data_asset(b).owner == PROVIDER.address and led.recovered(receivable_id) == 20_000
    with pytest.raises(DataAssetStillSecuring) as info:
        led.redeem_data_asset(PROVIDER, a)
    assert (info.value.exposure, info.value.covered_without) == (15_000, 0)


def test_a_pledgee_that_no_longer_bears_the_exposure_gives_the_asset_back(w, p, led):
    a, _ = pledged_asset(w, value=20_000)
    receivable_id, token = defaulted_with_exposure(w, led, p, exposure=30_000)
    led.foreclose(p.bank, a, token)
    led.transfer(p.bank, token, p.tier2)  # the bank sells the defaulted voucher on
    led.redeem_data_asset(p.outsider, a)
    assert led.data_asset(a).owner == PROVIDER.address and led.recovered(receivable_id) == 0


def test_foreclosure_needs_a_defaulted_receivable_of_the_pledged_line(w, p, led):
    asset_id, _ = pledged_asset(w)
    issued = w.issue(100_000)
    token = bank_holds(w, led, p, issued.receivable_id, 10_000)
    with pytest.raises(DataAssetReceivableNotDefaulted) as info:
        led.foreclose(p.bank, asset_id, token)
    assert (info.value.receivable_id, info.value.state) == (issued.receivable_id, ReceivableState.ACTIVE)
    other = led.grant_credit_line(p.bank, p.core, w.cash, LINE_LIMIT, w.now() + 365 * DAY, GRACE).line_id
    foreign = led.issue(p.core, p.tier1, line_id=other, currency=w.cash, face_value=1_000,
                        maturity=w.now() + 30 * DAY, document_hash=os.urandom(32))
    led.accept(p.tier1, foreign.receivable_id)
    foreign_token = led.split(p.tier1, foreign.token_id, p.bank, 500).token_id
    with pytest.raises(DataAssetReceivableLineMismatch) as info:
        led.foreclose(p.bank, asset_id, foreign_token)
    assert (info.value.receivable_line_id, info.value.pledge_line_id) == (other, w.line_id)
    with pytest.raises(DataAssetNotPledgee):
        led.foreclose(p.bank2, asset_id, token)


def test_an_asset_is_foreclosed_at_the_value_it_was_pledged_at_even_after_its_appraisal_lapsed(w, p, led):
    """Nobody blocks a foreclosure by letting the appraisals lapse (or withdrawing them), and no
    appraisal made since moves the credit: before, an expired appraisal refused the foreclosure
    (DataAssetNotAppraised) and a fresh one valued it at whatever that appraiser said."""
    asset_id, _ = pledged_asset(w, value=20_000, days=10)
    receivable_id, token = defaulted_with_exposure(w, led, p)  # 30 days + grace: the appraisal expired
    assert led.counted_value(asset_id)[0] == 0
    led.appraise(APPRAISER2, asset_id, report_hash=os.urandom(32), value=12_000, valid_until=w.now() + DAY)
    made = led.foreclose(p.bank, asset_id, token)
    assert (made.value, made.recovered) == (20_000, 20_000)
    assert led.recovered(receivable_id) == 20_000


def test_an_asset_taken_for_one_voucher_is_not_handed_back_on_the_credit_of_another(w, p, led):
    """Attack (red team): the pledgee forecloses A citing voucher T1 (exposure 20,000) and B
    citing T2, another voucher of the same receivable (exposure 50,000, credited 30,000 once A's
    20,000 was deducted from it). Before, the owner then took A back with no repayment at all:
    redeem weighed A's voucher T1 (20,000) against B's credit (30,000), a credit B earned on T2,
    and the pledgee, still bearing 70,000, was left holding 30,000. Now every asset held against a
    receivable cites one voucher (merge first), so what is credited and what is weighed on
    return are the same exposure."""
    a, _ = pledged_asset(w, value=20_000)
    b, _ = pledge_more(w, led, 40_000)
    receivable_id, first = defaulted_with_exposure(w, led, p, exposure=20_000)
    second = bank_holds(w, led, p, receivable_id, 50_000)
    assert led.foreclose(p.bank, a, first).recovered == 20_000
    before = unchanged(w, led, [a, b], receivable_id)
    with pytest.raises(DataAssetOtherVoucherCited) as info:
        led.foreclose(p.bank, b, second)
    assert (info.value.receivable_id, info.value.token_id, info.value.cited_token_id) == (
        receivable_id, second, first)
    assert unchanged(w, led, [a, b], receivable_id) == before
    # The way the docs give: merge the exposure into one voucher, then cite it.
    led.merge(p.bank, second, first)
    assert led.foreclose(p.bank, b, first).recovered == 40_000  # 70,000 − 20,000, capped at B's worth
    for asset in (a, b):  # nothing was repaid: neither comes back
        with pytest.raises(DataAssetStillSecuring):
            led.redeem_data_asset(PROVIDER, asset)
    assert led.data_asset(a).owner == led.data_asset(b).owner == p.bank.address
    assert led.recovered(receivable_id) == 60_000


def test_a_voucher_cited_before_and_since_redeemed_does_not_bind_the_next_foreclosure(w, p, led):
    a, _ = pledged_asset(w, value=20_000)
    b, _ = pledge_more(w, led, 20_000)
    receivable_id, first = defaulted_with_exposure(w, led, p, exposure=20_000)
    led.foreclose(p.bank, a, first)
    led.transfer(p.bank, first, p.tier2)  # sold on: the bank bears nothing on it, A goes back
    led.redeem_data_asset(p.outsider, a)
    second = bank_holds(w, led, p, receivable_id, 10_000)
    assert led.foreclose(p.bank, b, second).recovered == 10_000


def test_one_low_appraisal_does_not_let_the_pledgee_take_every_asset(w, p, led):
    """Attack (red team): A and B are each appraised at 20,000 by APPRAISER; the bank's exposure
    is 20,000. APPRAISER2 (any appraiser, e.g. one colluding with the bank) appraises A at 1 unit
    just before the foreclosure. Before, A was credited 1 (the lowest live appraisal at
    foreclosure), so the bank foreclosed B too: both assets for a 20,000 exposure. Now A is
    credited the 20,000 it counted when pledged and covers it alone."""
    a, _ = pledged_asset(w, value=20_000)
    b, _ = pledge_more(w, led, 20_000)
    receivable_id, token = defaulted_with_exposure(w, led, p, exposure=20_000)
    led.appraise(APPRAISER2, a, report_hash=os.urandom(32), value=1, valid_until=w.now() + DAY)
    led.foreclose(p.bank, a, token)
    before = unchanged(w, led, [a, b], receivable_id)
    with pytest.raises(DataAssetExposureCovered):
        led.foreclose(p.bank, b, token)
    assert unchanged(w, led, [a, b], receivable_id) == before
