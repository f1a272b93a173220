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
 *   (block.timestamp < expiry) and has `amount` available (used + amount <= limit).
 * - Amounts are in the currency's smallest unit and fit in 96 bits.
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

    function lineOf(uint256 lineId) external view returns (Line memory);

    function available(uint256 lineId) external view returns (uint256);
}
