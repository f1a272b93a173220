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
 *   value and a future `validUntil`. An asset keeps at most MAX_LIVE_APPRAISALS unexpired
 *   appraisals: a new one takes the place of an expired one, and MUST be refused
 *   (DataAssetTooManyAppraisals) when all are live.
 * - The value that counts ({countedValue}) is the LOWEST UNEXPIRED appraisal
 *   (validUntil > block.timestamp); an asset without one counts 0 and is not appraised.
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
 * - {foreclose} MUST be called by the pledgee, citing a receivable of the pledge's line that is
 *   Defaulted; ownership of the asset passes to the pledgee and the pledge ends.
 *
 * Credit enhancement (see ICreditLines):
 * - Every change to what a line's pledged assets count (pledge, release, foreclosure, a new
 *   appraisal of a pledged asset, {sync}) MUST push to CreditLines the sum of the counted values
 *   of the line's pledged assets and the earliest expiry of the appraisals counted, so a draw
 *   reads one word. Past that expiry the line counts no collateral until anyone calls
 *   {sync}(lineId), which recounts it (at most MAX_PLEDGES_PER_LINE × MAX_LIVE_APPRAISALS reads).
 *
 * Pause (the ledger's one policy, stated in IReceivableVoucher):
 * - While the voucher contract is paused, {pledge}, {release} and {foreclose} MUST revert with
 *   EnforcedPause before anything changes: they change who has a claim on an asset.
 *   {register}, {list}, {appraise} and {sync} go on (they record information; an expiring
 *   appraisal can be renewed during a pause, so its validity stays a calendar date).
 */
interface IDataAssetRegistry {
    enum PledgeState {
        None,
        Active,
        Released,
        Foreclosed
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
        address owner;
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
    event DataAssetForeclosed(
        uint256 indexed assetId,
        uint256 indexed pledgeId,
        address indexed financier,
        address previousOwner,
        uint256 receivableId
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

    /// @notice Register a data asset owned by the caller (a member).
    function register(bytes32 contentHash, bytes32 metadataHash, string calldata uri) external returns (uint256 assetId);

    /// @notice Attest the asset's value until `validUntil` (APPRAISER); returns the slot used.
    function appraise(uint256 assetId, bytes32 reportHash, uint256 value, uint256 validUntil)
        external
        returns (uint256 slot);

    /// @notice Certify and list the asset on the caller's exchange (EXCHANGE).
    function list(uint256 assetId, bytes32 listingId) external;

    /// @notice Pledge the asset (owner) to credit line `lineId`'s financier.
    function pledge(uint256 assetId, uint256 lineId) external returns (uint256 pledgeId);

    /// @notice End the asset's active pledge (its pledgee).
    function release(uint256 assetId) external;

    /// @notice Take ownership of the pledged asset on default of `receivableId` (its pledgee).
    function foreclose(uint256 assetId, uint256 receivableId) external;

    /// @notice Recount what the assets pledged to `lineId` are worth now (anyone).
    function sync(uint256 lineId) external;

    function assetOf(uint256 assetId) external view returns (Asset memory);

    function appraisalsOf(uint256 assetId) external view returns (Appraisal[] memory);

    function pledgeOf(uint256 pledgeId) external view returns (Pledge memory);

    /// @notice The asset whose content has this fingerprint, or 0.
    function assetOfContent(bytes32 contentHash) external view returns (uint256);

    /// @notice The lowest unexpired appraised value (0 if none) and when that appraisal expires.
    function countedValue(uint256 assetId) external view returns (uint256 value, uint256 validUntil);

    /// @notice The assets pledged to `lineId` now (at most MAX_PLEDGES_PER_LINE).
    function pledgedTo(uint256 lineId) external view returns (uint256[] memory assetIds);
}
