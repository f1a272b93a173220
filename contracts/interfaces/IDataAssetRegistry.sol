// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @title Data assets: registered, appraised, listed, and pledged to enhance a credit line
 * @dev Roles are read from the membership registry (the voucher contract). Amounts are in the
 * smallest unit of the settlement currency and fit in 96 bits.
 *
 * Registration:
 * - {register} MUST be called by a member; the content fingerprint MUST be non-zero and MUST be
 *   unique across the registry for ever (DataAssetDuplicateContent), so the same data cannot be
 *   registered twice. The caller becomes the asset's owner.
 *
 * Appraisal:
 * - {appraise} MUST be called by an APPRAISER other than the asset's owner, with a non-zero
 *   value and a `validUntil` in the future and at most MAX_APPRAISAL_TERM after now
 *   (DataAssetAppraisalTooLong): no appraisal outlives a year, so none freezes the value.
 * - An appraiser MUST have at most one live (unexpired) appraisal per asset: a new appraisal by
 *   the same appraiser MUST replace its own live one, in its slot. Otherwise it takes a slot
 *   that is unused, expired, withdrawn or struck, and MUST be refused
 *   (DataAssetTooManyAppraisals) when MAX_LIVE_APPRAISALS other appraisers have live ones.
 * - {withdrawAppraisal} MUST be called by the appraiser of the asset's live appraisal (its role
 *   need not be held any more); the slot's validUntil becomes 0 and it counts nothing.
 * - {strikeAppraisals} MUST be called by an OPERATOR, for an appraiser that no longer holds
 *   APPRAISER (DataAssetAppraiserNotExpelled); every slot of the asset that appraiser wrote gets
 *   validUntil 0. Both MUST be refused (DataAssetNoLiveAppraisal) when there is nothing to remove.
 * - The value that counts ({countedValue}) is the LOWEST UNEXPIRED appraisal
 *   (validUntil > block.timestamp); an asset without one counts 0 and is not appraised.
 *   A replacement, withdrawal or strike of a pledged asset's appraisal MUST recount its line at
 *   once (see Credit enhancement), so the line never counts an appraisal that no longer stands.
 *
 * Listing:
 * - {list} MUST be called by an EXCHANGE, once per asset, with a non-zero listing id.
 *
 * Pledge:
 * - {pledge} MUST be called by the owner (a member), for an asset that is listed and has an
 *   unexpired appraisal and no active pledge (DataAssetAlreadyPledged), to an existing credit
 *   line whose financier holds FINANCIER; the pledgee is that financier. A line carries at most
 *   MAX_PLEDGES_PER_LINE active pledges.
 * - {release} MUST be called by the pledgee; it MUST be refused when the line's utilisation
 *   would exceed its effective limit without the asset (CreditLineCollateralShortfall).
 * - {pledge} MUST be refused for an asset held in foreclosure (DataAssetHeldInForeclosure).
 *
 * Foreclosure (strict foreclosure in partial satisfaction, with return on full repayment):
 * - {foreclose}(assetId, tokenId) MUST be called by the pledgee, citing a voucher it holds
 *   (DataAssetNotVoucherHolder) of a receivable of the pledge's line
 *   (DataAssetReceivableLineMismatch) that is Defaulted (DataAssetReceivableNotDefaulted).
 * - The pledgee's exposure is that voucher's unpaid value: value − paid − claimable (what was
 *   neither paid out nor repaid and waiting to be claimed). Only that exposure counts: value of
 *   the receivable held by others, or on other vouchers, does not (merge them first).
 * - {recoveredOf}(receivableId) is what the assets held in foreclosure against the receivable
 *   were credited. A foreclosure MUST be refused (DataAssetExposureCovered) unless the exposure
 *   exceeds it: the pledgee names assets one at a time, and none once the exposure is covered.
 * - While anything is held against the receivable (recoveredOf != 0), a foreclosure MUST cite
 *   the voucher the assets held cite (DataAssetOtherVoucherCited): the recovery and the exposure
 *   it is weighed against on {redeem} are then one voucher's, and an asset taken for one
 *   voucher cannot be handed back on the credit another voucher earned (merge first).
 * - The asset MUST be valued at its counted value when the pledge was made (the lowest unexpired
 *   appraisal then, as DataAssetPledged's countedValue), at 100 %: the value both parties relied
 *   on. An appraisal made, replaced, withdrawn or expired after the pledge MUST NOT change it, so
 *   nobody can make the pledgee take more assets (a low appraisal by any appraiser) or block a
 *   foreclosure (appraisals withdrawn or let lapse). The advance rate is the lender's margin for a
 *   fall in value, not a discount on what the pledgor gives up.
 *   It is credited min(value, exposure − recoveredOf): recoveredOf grows by that amount and the
 *   pledge records it (`recovered`), the receivable (`receivableId`) and the voucher (`tokenId`).
 *   An indivisible asset worth more than what is left is credited only what is left; the rest
 *   of its worth secures nothing and comes back with the asset.
 * - Ownership passes to the pledgee and the pledge ends (Foreclosed); while it is held in
 *   foreclosure ({heldUnder} != 0) the asset MUST NOT be pledged again.
 * - {redeem}(assetId) MAY be called by anyone once the asset is no longer needed: the
 *   pledgee's exposure on the cited voucher now (0 once the receivable is Settled, or once the
 *   pledgee no longer holds that voucher: sold, returned under recourse, merged away) is
 *   covered by what the OTHER assets held against the receivable were credited
 *   (DataAssetStillSecuring otherwise). The claim on what was taken ends: the asset returns to
 *   the owner that pledged it, the pledge becomes Returned and recoveredOf falls by what it was
 *   credited. So full repayment always returns every asset taken for the receivable, and a
 *   partial one returns those the remaining exposure no longer needs.
 *
 * Credit enhancement (see ICreditLines):
 * - Every change to what a line's pledged assets count (pledge, release, foreclosure, a new
 *   appraisal of a pledged asset, {sync}) MUST push to CreditLines the sum of the counted values
 *   of the line's pledged assets and the earliest expiry of the appraisals counted, so a draw
 *   reads one word. Past that expiry the line counts no collateral until anyone calls
 *   {sync}(lineId), which recounts it (at most MAX_PLEDGES_PER_LINE × MAX_LIVE_APPRAISALS reads).
 *
 * Pause (the ledger's one policy, stated in IReceivableVoucher):
 * - While the voucher contract is paused, {pledge}, {release}, {foreclose} and {redeem} MUST
 *   revert with EnforcedPause before anything changes: they change who has a claim on an asset.
 *   {register}, {list}, {appraise}, {withdrawAppraisal}, {strikeAppraisals} and {sync} go on
 *   (they record information; an expiring appraisal can be renewed during a pause, so its
 *   validity stays a calendar date, and one withdrawn or struck stops counting at once).
 */
interface IDataAssetRegistry {
    enum PledgeState {
        None,
        Active,
        Released,
        Foreclosed,
        Returned
    }

    struct Asset {
        address owner;
        uint40 registeredAt;
        uint48 pledgeId; // the active pledge, 0 when none
        address exchange; // 0 until listed
        bytes32 contentHash;
        bytes32 metadataHash;
        bytes32 listingId;
        string uri;
    }

    struct Appraisal {
        address appraiser;
        uint40 appraisedAt;
        uint40 validUntil;
        uint96 value;
        bytes32 reportHash;
    }

    struct Pledge {
        uint48 assetId;
        uint48 lineId;
        PledgeState state;
        uint8 index; // position among the line's pledged assets while active
        uint48 receivableId; // the defaulted receivable a foreclosure cited (0 otherwise)
        uint96 recovered; // what the foreclosure credited against it
        address owner;
        uint48 tokenId; // the pledgee's voucher a foreclosure cited (0 otherwise)
        address financier;
        uint40 pledgedAt;
        uint40 endedAt;
    }

    event DataAssetRegistered(
        uint256 indexed assetId, address indexed owner, bytes32 indexed contentHash, bytes32 metadataHash, string uri
    );
    event DataAssetAppraised(
        uint256 indexed assetId,
        address indexed appraiser,
        uint256 slot,
        bytes32 reportHash,
        uint256 value,
        uint256 validUntil
    );
    event DataAssetListed(uint256 indexed assetId, address indexed exchange, bytes32 listingId);
    event DataAssetPledged(
        uint256 indexed assetId,
        uint256 indexed pledgeId,
        address indexed financier,
        address owner,
        uint256 lineId,
        uint256 countedValue
    );
    event DataAssetReleased(uint256 indexed assetId, uint256 indexed pledgeId, address indexed financier);
    /// @dev `value` is the asset's counted value when pledged, `recovered` what it was credited
    /// against the receivable (at most the exposure left), `tokenId` the pledgee's voucher cited.
    event DataAssetForeclosed(
        uint256 indexed assetId,
        uint256 indexed pledgeId,
        address indexed financier,
        address previousOwner,
        uint256 receivableId,
        uint256 tokenId,
        uint256 value,
        uint256 recovered
    );
    /// @dev A foreclosed asset back with `owner` after the receivable was repaid in full.
    event DataAssetReturned(
        uint256 indexed assetId, uint256 indexed pledgeId, address indexed owner, uint256 receivableId, uint256 recovered
    );
    event DataAssetAppraisalWithdrawn(uint256 indexed assetId, address indexed appraiser, uint256 slot);
    event DataAssetAppraisalStruck(
        uint256 indexed assetId, address indexed appraiser, uint256 slot, address indexed operator
    );

    error DataAssetNonexistent(uint256 assetId);
    error DataAssetInvalidContent();
    error DataAssetDuplicateContent(bytes32 contentHash, uint256 assetId);
    error DataAssetNotOwner(uint256 assetId, address account);
    error DataAssetSelfAppraisal(uint256 assetId, address appraiser);
    error DataAssetInvalidAppraisal(uint256 value, uint256 validUntil, uint256 timestamp);
    error DataAssetTooManyAppraisals(uint256 assetId, uint256 max);
    error DataAssetInvalidListing(uint256 assetId);
    error DataAssetAlreadyListed(uint256 assetId, address exchange, bytes32 listingId);
    error DataAssetNotListed(uint256 assetId);
    error DataAssetNotAppraised(uint256 assetId, uint256 timestamp);
    error DataAssetAlreadyPledged(uint256 assetId, uint256 pledgeId, address financier);
    error DataAssetLineFull(uint256 lineId, uint256 max);
    error DataAssetNotPledged(uint256 assetId);
    error DataAssetNotPledgee(uint256 assetId, address financier, address account);
    error DataAssetReceivableLineMismatch(uint256 receivableId, uint256 receivableLineId, uint256 pledgeLineId);
    error DataAssetReceivableNotDefaulted(uint256 receivableId, uint8 state);
    error DataAssetStillSecuring(uint256 assetId, uint256 tokenId, uint256 exposure, uint256 coveredWithout);
    error DataAssetNotVoucherHolder(uint256 tokenId, address holder, address account);
    error DataAssetExposureCovered(uint256 receivableId, uint256 tokenId, uint256 exposure, uint256 recovered);
    error DataAssetOtherVoucherCited(uint256 receivableId, uint256 tokenId, uint256 citedTokenId);
    error DataAssetHeldInForeclosure(uint256 assetId, uint256 pledgeId, uint256 receivableId);
    error DataAssetNotForeclosed(uint256 assetId);
    error DataAssetAppraisalTooLong(uint256 validUntil, uint256 maxValidUntil);
    error DataAssetNoLiveAppraisal(uint256 assetId, address appraiser);
    error DataAssetAppraiserNotExpelled(address appraiser);

    /// @notice Register a data asset owned by the caller (a member).
    function register(bytes32 contentHash, bytes32 metadataHash, string calldata uri) external returns (uint256 assetId);

    /// @notice Attest the asset's value until `validUntil` (APPRAISER); returns the slot used
    /// (the caller's own live appraisal's slot, which it replaces, if it has one).
    function appraise(uint256 assetId, bytes32 reportHash, uint256 value, uint256 validUntil)
        external
        returns (uint256 slot);

    /// @notice Withdraw the caller's live appraisal of the asset; returns its slot.
    function withdrawAppraisal(uint256 assetId) external returns (uint256 slot);

    /// @notice Strike every appraisal of the asset by `appraiser`, no longer an APPRAISER (OPERATOR).
    function strikeAppraisals(uint256 assetId, address appraiser) external;

    /// @notice Certify and list the asset on the caller's exchange (EXCHANGE).
    function list(uint256 assetId, bytes32 listingId) external;

    /// @notice Pledge the asset (owner) to credit line `lineId`'s financier.
    function pledge(uint256 assetId, uint256 lineId) external returns (uint256 pledgeId);

    /// @notice End the asset's active pledge (its pledgee).
    function release(uint256 assetId) external;

    /// @notice Take the pledged asset (its pledgee) against the unpaid value of voucher `tokenId`,
    /// which it holds, of a Defaulted receivable of the pledge's line; returns what it credited.
    function foreclose(uint256 assetId, uint256 tokenId) external returns (uint256 recovered);

    /// @notice Give a foreclosed asset back to the owner that pledged it once the pledgee's
    /// exposure no longer needs it, e.g. after full repayment (anyone).
    function redeem(uint256 assetId) external;

    /// @notice Recount what the assets pledged to `lineId` are worth now (anyone).
    function sync(uint256 lineId) external;

    function assetOf(uint256 assetId) external view returns (Asset memory);

    function appraisalsOf(uint256 assetId) external view returns (Appraisal[] memory);

    function pledgeOf(uint256 pledgeId) external view returns (Pledge memory);

    /// @notice The asset whose content has this fingerprint, or 0.
    function assetOfContent(bytes32 contentHash) external view returns (uint256);

    /// @notice The lowest unexpired appraised value (0 if none) and when that appraisal expires.
    function countedValue(uint256 assetId) external view returns (uint256 value, uint256 validUntil);

    /// @notice What the assets held in foreclosure against `receivableId` were credited.
    function recoveredOf(uint256 receivableId) external view returns (uint256);

    /// @notice The foreclosed pledge under which the asset is held, or 0.
    function heldUnder(uint256 assetId) external view returns (uint256 pledgeId);

    /// @notice The assets pledged to `lineId` now (at most MAX_PLEDGES_PER_LINE).
    function pledgedTo(uint256 lineId) external view returns (uint256[] memory assetIds);
}
