// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {ICreditLines} from "./interfaces/ICreditLines.sol";
import {IERC3525} from "./interfaces/IERC3525.sol";

/**
 * @title CreditLines
 * @notice Credit lines granted by financiers to core enterprises; receivables draw on them.
 * @dev Roles are read from the membership registry, which is the voucher contract. A line is
 * three words; a draw reads all three and writes one. Pledged data assets add a fourth word per
 * line (Collateral: counted value, its earliest appraisal expiry, the advance rate), which the
 * DataAssetRegistry keeps current; a draw reads it only when the base limit alone does not cover
 * the amount, so a line without pledges costs what it did before, and a draw is O(1) either way.
 */
contract CreditLines is ICreditLines {
    bytes32 public constant FINANCIER_ROLE = keccak256("FINANCIER_ROLE");
    bytes32 public constant CORE_ENTERPRISE_ROLE = keccak256("CORE_ENTERPRISE_ROLE");

    /// @notice The voucher contract: the membership registry and the only drawer.
    address public immutable voucher;

    /// @notice The DataAssetRegistry: the only writer of a line's collateral.
    address public immutable dataAssets;

    uint256 private constant _BPS = 10_000;

    uint256 private _lastLineId;
    mapping(uint256 lineId => Line) private _lines;
    mapping(uint256 lineId => Collateral) private _collateral;

    constructor(address voucher_, address dataAssets_) {
        voucher = voucher_;
        dataAssets = dataAssets_;
    }

    modifier onlyVoucher() {
        if (msg.sender != voucher) revert CreditLineUnauthorizedCaller(msg.sender);
        _;
    }

    /// @inheritdoc ICreditLines
    function grant(address obligor, address currency, uint256 limit, uint256 expiry, uint256 gracePeriod)
        external
        returns (uint256 lineId)
    {
        _requireRole(FINANCIER_ROLE, msg.sender);
        _requireRole(CORE_ENTERPRISE_ROLE, obligor);
        _checkTerms(limit, expiry);
        if (gracePeriod > type(uint32).max) revert CreditLineInvalidExpiry(gracePeriod, block.timestamp);
        _checkCurrency(currency);
        lineId = ++_lastLineId;
        _lines[lineId] = Line({
            obligor: obligor,
            used: 0,
            currency: currency,
            limit: uint96(limit),
            financier: msg.sender,
            expiry: uint40(expiry),
            gracePeriod: uint32(gracePeriod)
        });
        emit CreditLineGranted(lineId, msg.sender, obligor, currency, limit, expiry, gracePeriod);
    }

    /// @inheritdoc ICreditLines
    function setTerms(uint256 lineId, uint256 limit, uint256 expiry) external {
        Line storage line = _existing(lineId);
        if (line.financier != msg.sender) revert CreditLineNotFinancier(lineId, msg.sender);
        _checkTerms(limit, expiry);
        line.limit = uint96(limit);
        line.expiry = uint40(expiry);
        emit CreditLineTermsChanged(lineId, limit, expiry);
    }

    /// @inheritdoc ICreditLines
    function draw(uint256 lineId, address obligor, address currency, uint256 amount, uint256 receivableId)
        external
        onlyVoucher
    {
        Line storage line = _existing(lineId);
        address lineObligor = line.obligor;
        uint256 used = line.used;
        if (lineObligor != obligor) revert CreditLineObligorMismatch(lineId, lineObligor, obligor);
        if (line.currency != currency) revert CreditLineCurrencyMismatch(lineId, line.currency, currency);
        if (block.timestamp >= line.expiry) revert CreditLineExpired(lineId, line.expiry, block.timestamp);
        uint256 limit = line.limit;
        // The collateral word is read only when the base limit does not cover the draw.
        if (used + amount > limit) limit = _enhanced(lineId, limit);
        uint256 free = limit > used ? limit - used : 0;
        if (amount > free) revert CreditLineInsufficient(lineId, free, amount);
        used += amount;
        line.used = uint96(used);
        emit CreditLineDrawn(lineId, receivableId, amount, used);
    }

    /// @inheritdoc ICreditLines
    function restore(uint256 lineId, uint256 amount, uint256 receivableId)
        external
        onlyVoucher
        returns (address currency)
    {
        Line storage line = _existing(lineId);
        // The voucher contract only gives back what it drew, so this cannot underflow.
        uint256 used = line.used - amount;
        line.used = uint96(used);
        emit CreditLineRestored(lineId, receivableId, amount, used);
        return line.currency;
    }

    /// @inheritdoc ICreditLines
    function setAdvanceRate(uint256 lineId, uint256 advanceRateBps) external {
        Line storage line = _existing(lineId);
        if (line.financier != msg.sender) revert CreditLineNotFinancier(lineId, msg.sender);
        if (advanceRateBps > _BPS) revert CreditLineInvalidAdvanceRate(advanceRateBps);
        _collateral[lineId].advanceRateBps = uint16(advanceRateBps);
        emit CreditLineAdvanceRateSet(lineId, advanceRateBps);
    }

    /// @inheritdoc ICreditLines
    function setCollateral(uint256 lineId, uint256 value, uint256 validUntil, bool requireCover) external {
        if (msg.sender != dataAssets) revert CreditLineUnauthorizedCaller(msg.sender);
        Line storage line = _existing(lineId);
        Collateral storage c = _collateral[lineId];
        c.value = uint128(value);
        c.validUntil = uint40(validUntil);
        emit CreditLineCollateralChanged(lineId, value, validUntil);
        if (requireCover) {
            uint256 limit = _enhanced(lineId, line.limit);
            if (line.used > limit) revert CreditLineCollateralShortfall(lineId, limit, line.used);
        }
    }

    /// @inheritdoc ICreditLines
    function lineOf(uint256 lineId) external view returns (Line memory) {
        return _existing(lineId);
    }

    /// @inheritdoc ICreditLines
    function collateralOf(uint256 lineId) external view returns (Collateral memory) {
        _existing(lineId);
        return _collateral[lineId];
    }

    /// @inheritdoc ICreditLines
    function effectiveLimit(uint256 lineId) external view returns (uint256) {
        return _enhanced(lineId, _existing(lineId).limit);
    }

    /// @inheritdoc ICreditLines
    function available(uint256 lineId) external view returns (uint256) {
        Line storage line = _existing(lineId);
        uint256 limit = _enhanced(lineId, line.limit);
        if (block.timestamp >= line.expiry || line.used >= limit) return 0;
        return limit - line.used;
    }

    /// @dev `baseLimit` plus the collateral credit that counts now, capped at 2^96 - 1.
    function _enhanced(uint256 lineId, uint256 baseLimit) private view returns (uint256) {
        Collateral storage c = _collateral[lineId];
        if (block.timestamp >= c.validUntil) return baseLimit;
        uint256 limit = baseLimit + (uint256(c.value) * c.advanceRateBps) / _BPS;
        return limit > type(uint96).max ? type(uint96).max : limit;
    }

    function _existing(uint256 lineId) private view returns (Line storage line) {
        line = _lines[lineId];
        if (line.financier == address(0)) revert CreditLineNonexistent(lineId);
    }

    function _requireRole(bytes32 role, address account) private view {
        if (!IAccessControl(voucher).hasRole(role, account)) {
            revert IAccessControl.AccessControlUnauthorizedAccount(account, role);
        }
    }

    function _checkTerms(uint256 limit, uint256 expiry) private view {
        if (limit == 0 || limit > type(uint96).max) revert CreditLineInvalidLimit(limit);
        if (expiry <= block.timestamp || expiry > type(uint40).max) {
            revert CreditLineInvalidExpiry(expiry, block.timestamp);
        }
    }

    function _checkCurrency(address currency) private view {
        if (currency.code.length == 0) revert CreditLineInvalidCurrency(currency);
        uint8 expected = IERC3525(voucher).valueDecimals();
        try IERC20Metadata(currency).decimals() returns (uint8 actual) {
            if (actual != expected) revert CreditLineCurrencyDecimals(currency, expected, actual);
        } catch {
            revert CreditLineInvalidCurrency(currency);
        }
    }
}
