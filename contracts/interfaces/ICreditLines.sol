// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @title Credit lines granted by financiers to core enterprises
 * @dev A line has a financier, an obligor (CORE_ENTERPRISE), a settlement currency, a limit, an
 * expiry and a grace period (used after a receivable's maturity). Issuing a receivable draws
 * its face value from the obligor's line; revoking or rejecting a pending receivable restores it.
 *
 * - {grant} MUST be called by a FINANCIER for a CORE_ENTERPRISE, with a future expiry and a
 *   currency whose decimals equal the voucher contract's valueDecimals.
 * - {draw} MUST only be callable by the voucher contract, and MUST revert unless the line
 *   exists, belongs to the obligor, is in the currency, is not expired
 *   (block.timestamp < expiry) and has `amount` available (used + amount <= effective limit).
 * - Amounts are in the currency's smallest unit and fit in 96 bits.
 *
 * Credit enhancement by pledged data assets (the DataAssetRegistry, `dataAssets`):
 * - A line's effective limit is its base `limit` plus its collateral credit,
 *   floor(collateral.value × collateral.advanceRateBps / 10,000), capped at 2^96 − 1, where
 *   collateral.value is the sum of the counted (lowest unexpired) appraised values of the assets
 *   pledged to it. The credit MUST count only while block.timestamp < collateral.validUntil, the
 *   earliest expiry of the appraisals counted: once one has expired the line counts no collateral
 *   (new issues see the base limit; existing vouchers stay valid) until the registry recounts it
 *   (DataAssetRegistry.sync, which anyone may call).
 * - The registry keeps collateral.value and validUntil current through {setCollateral} (only it
 *   may call it) on every pledge, release, foreclosure and appraisal of a pledged asset, so a
 *   draw reads one word more than the line, and only when the base limit alone does not cover it.
 * - A release MUST be refused (CreditLineCollateralShortfall) when the line's use would exceed
 *   its effective limit after it. Foreclosures, lower appraisals, expiries and advance-rate
 *   changes may leave use above the limit: that only stops new draws.
 * - {setAdvanceRate} MUST be called by the line's financier, with at most 10,000 bps.
 *
 * Pause (the ledger's one policy, stated in IReceivableVoucher): draws stop with the voucher
 * contract's issue; repayments restore during a pause (repay goes on). {grant}, {setTerms} and
 * {setAdvanceRate} go on: they move no value and only bound later draws, and a financier must be
 * able to tighten a line before business resumes rather than race the first issue after the
 * unpause. A line's expiry is a calendar date (its financier sets it at will).
 */
interface ICreditLines {
    struct Line {
        address obligor;
        uint96 used;
        address currency;
        uint96 limit;
        address financier;
        uint40 expiry;
        uint32 gracePeriod;
    }

    /// @dev What a line's pledged data assets count: one word, read by a draw past the base limit.
    struct Collateral {
        uint128 value;
        uint40 validUntil;
        uint16 advanceRateBps;
    }

    event CreditLineGranted(
        uint256 indexed lineId,
        address indexed financier,
        address indexed obligor,
        address currency,
        uint256 limit,
        uint256 expiry,
        uint256 gracePeriod
    );
    event CreditLineTermsChanged(uint256 indexed lineId, uint256 limit, uint256 expiry);
    event CreditLineDrawn(uint256 indexed lineId, uint256 indexed receivableId, uint256 amount, uint256 used);
    event CreditLineRestored(uint256 indexed lineId, uint256 indexed receivableId, uint256 amount, uint256 used);
    event CreditLineAdvanceRateSet(uint256 indexed lineId, uint256 advanceRateBps);
    event CreditLineCollateralChanged(uint256 indexed lineId, uint256 value, uint256 validUntil);

    error CreditLineNonexistent(uint256 lineId);
    error CreditLineNotFinancier(uint256 lineId, address account);
    error CreditLineObligorMismatch(uint256 lineId, address obligor, address account);
    error CreditLineCurrencyMismatch(uint256 lineId, address lineCurrency, address currency);
    error CreditLineExpired(uint256 lineId, uint256 expiry, uint256 timestamp);
    error CreditLineInsufficient(uint256 lineId, uint256 available, uint256 needed);
    error CreditLineInvalidLimit(uint256 limit);
    error CreditLineInvalidExpiry(uint256 expiry, uint256 timestamp);
    error CreditLineInvalidCurrency(address currency);
    error CreditLineCurrencyDecimals(address currency, uint8 expected, uint8 actual);
    error CreditLineUnauthorizedCaller(address caller);
    error CreditLineInvalidAdvanceRate(uint256 advanceRateBps);
    error CreditLineCollateralShortfall(uint256 lineId, uint256 limit, uint256 used);

    /// @notice Grant `obligor` a line of `limit` in `currency` until `expiry` (FINANCIER only).
    function grant(address obligor, address currency, uint256 limit, uint256 expiry, uint256 gracePeriod)
        external
        returns (uint256 lineId);

    /// @notice Change a line's limit and expiry (its financier only). A limit below the amount
    /// in use is allowed: it only stops new draws until repayments bring usage under it.
    function setTerms(uint256 lineId, uint256 limit, uint256 expiry) external;

    /// @notice Draw `amount` for `receivableId` (voucher contract only).
    function draw(uint256 lineId, address obligor, address currency, uint256 amount, uint256 receivableId) external;

    /// @notice Give `amount` back to the line (voucher contract only); returns its currency.
    function restore(uint256 lineId, uint256 amount, uint256 receivableId) external returns (address currency);

    /// @notice Set the share of pledged collateral value the line lends against (its financier).
    function setAdvanceRate(uint256 lineId, uint256 advanceRateBps) external;

    /// @notice Record what the line's pledged assets count (the data-asset registry only);
    /// with `requireCover`, revert unless the line's use stays within its effective limit.
    function setCollateral(uint256 lineId, uint256 value, uint256 validUntil, bool requireCover) external;

    function lineOf(uint256 lineId) external view returns (Line memory);

    function collateralOf(uint256 lineId) external view returns (Collateral memory);

    /// @notice Base limit plus the collateral credit that counts now.
    function effectiveLimit(uint256 lineId) external view returns (uint256);

    /// @notice What the line can still lend now: effective limit − used, 0 once expired.
    function available(uint256 lineId) external view returns (uint256);

    function dataAssets() external view returns (address);
}
