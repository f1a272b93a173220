// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {ICreditLines} from "./interfaces/ICreditLines.sol";
import {IDataAssetRegistry} from "./interfaces/IDataAssetRegistry.sol";
import {IMembership} from "./interfaces/IMembership.sol";
import {IReceivableVoucher} from "./interfaces/IReceivableVoucher.sol";

/**
 * @title DataAssetRegistry
 * @notice Data assets: registration, appraisal, exchange listing, pledge, release, foreclosure
 * against the pledgee's defaulted exposure, and return of the asset on full repayment.
 * @dev Every loop is bounded by a constant: an asset keeps MAX_LIVE_APPRAISALS appraisal slots
 * and a line MAX_PLEDGES_PER_LINE pledged assets. Whenever what a line's collateral counts
 * changes, the line is recounted here and pushed into CreditLines (one word: the summed counted
 * value and the earliest expiry of the appraisals counted), so a draw stays O(1).
 */
contract DataAssetRegistry is IDataAssetRegistry {
    bytes32 public constant FINANCIER_ROLE = keccak256("FINANCIER_ROLE");
    bytes32 public constant APPRAISER_ROLE = keccak256("APPRAISER_ROLE");
    bytes32 public constant EXCHANGE_ROLE = keccak256("EXCHANGE_ROLE");
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    uint256 public constant MAX_LIVE_APPRAISALS = 4;
    uint256 public constant MAX_PLEDGES_PER_LINE = 16;
    /// @notice The longest an appraisal may stand: a year, an audit cycle.
    uint256 public constant MAX_APPRAISAL_TERM = 365 days;

    /// @notice The voucher contract: the membership registry and the receivables.
    IReceivableVoucher public immutable voucher;
    ICreditLines public immutable creditLines;

    uint256 private _lastAssetId;
    uint256 private _lastPledgeId;
    mapping(uint256 assetId => Asset) private _assets;
    mapping(uint256 assetId => Appraisal[MAX_LIVE_APPRAISALS]) private _appraisals;
    mapping(bytes32 contentHash => uint256 assetId) private _byContent;
    mapping(uint256 pledgeId => Pledge) private _pledges;
    mapping(uint256 lineId => uint256[]) private _lineAssets;
    mapping(uint256 receivableId => uint256) private _recovered;
    mapping(uint256 assetId => uint256 pledgeId) private _heldUnder;
    /// @dev The voucher every asset held against the receivable cites (meaningful while
    /// `_recovered` is not 0): what is credited and what is weighed on return is one exposure.
    mapping(uint256 receivableId => uint256 tokenId) private _cited;
    /// @dev The asset's counted value when the pledge was made: what both parties relied on, and
    /// what a foreclosure credits (no appraisal made or withdrawn later moves it).
    mapping(uint256 pledgeId => uint256) private _pledgedValue;

    constructor(IReceivableVoucher voucher_, ICreditLines creditLines_) {
        voucher = voucher_;
        creditLines = creditLines_;
    }

    /// @inheritdoc IDataAssetRegistry
    function register(bytes32 contentHash, bytes32 metadataHash, string calldata uri)
        external
        returns (uint256 assetId)
    {
        _requireMember(msg.sender);
        if (contentHash == bytes32(0)) revert DataAssetInvalidContent();
        uint256 existing = _byContent[contentHash];
        if (existing != 0) revert DataAssetDuplicateContent(contentHash, existing);
        assetId = ++_lastAssetId;
        _byContent[contentHash] = assetId;
        Asset storage a = _assets[assetId];
        a.owner = msg.sender;
        a.registeredAt = uint40(block.timestamp);
        a.contentHash = contentHash;
        a.metadataHash = metadataHash;
        if (bytes(uri).length != 0) a.uri = uri;
        emit DataAssetRegistered(assetId, msg.sender, contentHash, metadataHash, uri);
    }

    /// @inheritdoc IDataAssetRegistry
    function appraise(uint256 assetId, bytes32 reportHash, uint256 value, uint256 validUntil)
        external
        returns (uint256 slot)
    {
        Asset storage a = _existing(assetId);
        _requireRole(APPRAISER_ROLE, msg.sender);
        if (a.owner == msg.sender) revert DataAssetSelfAppraisal(assetId, msg.sender);
        if (value == 0 || value > type(uint96).max || validUntil <= block.timestamp) {
            revert DataAssetInvalidAppraisal(value, validUntil, block.timestamp);
        }
        if (validUntil > block.timestamp + MAX_APPRAISAL_TERM) {
            revert DataAssetAppraisalTooLong(validUntil, block.timestamp + MAX_APPRAISAL_TERM);
        }
        Appraisal[MAX_LIVE_APPRAISALS] storage slots = _appraisals[assetId];
        // The caller's own live appraisal is replaced in its slot; otherwise the first slot that
        // holds nothing live. Slots fill in order, so a never-used one ends the search.
        slot = MAX_LIVE_APPRAISALS;
        uint256 free = MAX_LIVE_APPRAISALS;
        for (uint256 i = 0; i < MAX_LIVE_APPRAISALS; ++i) {
            address appraiser = slots[i].appraiser;
            if (slots[i].validUntil <= block.timestamp) {
                if (free == MAX_LIVE_APPRAISALS) free = i;
                if (appraiser == address(0)) break;
            } else if (appraiser == msg.sender) {
                slot = i;
                break;
            }
        }
        if (slot == MAX_LIVE_APPRAISALS) slot = free;
        if (slot == MAX_LIVE_APPRAISALS) revert DataAssetTooManyAppraisals(assetId, MAX_LIVE_APPRAISALS);
        slots[slot] = Appraisal({
            appraiser: msg.sender,
            appraisedAt: uint40(block.timestamp),
            validUntil: uint40(validUntil),
            value: uint96(value),
            reportHash: reportHash
        });
        emit DataAssetAppraised(assetId, msg.sender, slot, reportHash, value, validUntil);
        // A lower appraisal (or a replacement) of a pledged asset recounts its line at once.
        _pushIfPledged(a);
    }

    /// @inheritdoc IDataAssetRegistry
    function withdrawAppraisal(uint256 assetId) external returns (uint256 slot) {
        Asset storage a = _existing(assetId);
        Appraisal[MAX_LIVE_APPRAISALS] storage slots = _appraisals[assetId];
        for (slot = 0; slot < MAX_LIVE_APPRAISALS; ++slot) {
            if (slots[slot].appraiser == msg.sender && slots[slot].validUntil > block.timestamp) break;
        }
        if (slot == MAX_LIVE_APPRAISALS) revert DataAssetNoLiveAppraisal(assetId, msg.sender);
        slots[slot].validUntil = 0;
        emit DataAssetAppraisalWithdrawn(assetId, msg.sender, slot);
        _pushIfPledged(a);
    }

    /// @inheritdoc IDataAssetRegistry
    function strikeAppraisals(uint256 assetId, address appraiser) external {
        Asset storage a = _existing(assetId);
        _requireRole(OPERATOR_ROLE, msg.sender);
        if (IAccessControl(address(voucher)).hasRole(APPRAISER_ROLE, appraiser)) {
            revert DataAssetAppraiserNotExpelled(appraiser);
        }
        Appraisal[MAX_LIVE_APPRAISALS] storage slots = _appraisals[assetId];
        bool struck = false;
        for (uint256 i = 0; i < MAX_LIVE_APPRAISALS; ++i) {
            if (slots[i].appraiser != appraiser || slots[i].validUntil == 0) continue;
            slots[i].validUntil = 0;
            struck = true;
            emit DataAssetAppraisalStruck(assetId, appraiser, i, msg.sender);
        }
        if (!struck) revert DataAssetNoLiveAppraisal(assetId, appraiser);
        _pushIfPledged(a);
    }

    /// @inheritdoc IDataAssetRegistry
    function list(uint256 assetId, bytes32 listingId) external {
        Asset storage a = _existing(assetId);
        _requireRole(EXCHANGE_ROLE, msg.sender);
        if (a.exchange != address(0)) revert DataAssetAlreadyListed(assetId, a.exchange, a.listingId);
        if (listingId == bytes32(0)) revert DataAssetInvalidListing(assetId);
        a.exchange = msg.sender;
        a.listingId = listingId;
        emit DataAssetListed(assetId, msg.sender, listingId);
    }

    /// @inheritdoc IDataAssetRegistry
    function pledge(uint256 assetId, uint256 lineId) external returns (uint256 pledgeId) {
        _requireNotPaused();
        Asset storage a = _existing(assetId);
        if (a.owner != msg.sender) revert DataAssetNotOwner(assetId, msg.sender);
        _requireMember(msg.sender);
        if (a.exchange == address(0)) revert DataAssetNotListed(assetId);
        (uint256 value,) = _counted(assetId);
        if (value == 0) revert DataAssetNotAppraised(assetId, block.timestamp);
        uint256 active = a.pledgeId;
        if (active != 0) revert DataAssetAlreadyPledged(assetId, active, _pledges[active].financier);
        uint256 held = _heldUnder[assetId];
        if (held != 0) revert DataAssetHeldInForeclosure(assetId, held, _pledges[held].receivableId);
        address financier = creditLines.lineOf(lineId).financier; // reverts for an unknown line
        _requireRole(FINANCIER_ROLE, financier);
        uint256[] storage assets = _lineAssets[lineId];
        if (assets.length >= MAX_PLEDGES_PER_LINE) revert DataAssetLineFull(lineId, MAX_PLEDGES_PER_LINE);

        pledgeId = ++_lastPledgeId;
        _pledges[pledgeId] = Pledge({
            assetId: uint48(assetId),
            lineId: uint48(lineId),
            state: PledgeState.Active,
            index: uint8(assets.length),
            receivableId: 0,
            recovered: 0,
            owner: msg.sender,
            tokenId: 0,
            financier: financier,
            pledgedAt: uint40(block.timestamp),
            endedAt: 0
        });
        _pledgedValue[pledgeId] = value;
        a.pledgeId = uint48(pledgeId);
        assets.push(assetId);
        emit DataAssetPledged(assetId, pledgeId, financier, msg.sender, lineId, value);
        _pushLine(lineId, false);
    }

    /// @inheritdoc IDataAssetRegistry
    function release(uint256 assetId) external {
        _requireNotPaused();
        (Pledge storage p, uint256 pledgeId) = _activePledge(assetId);
        uint256 lineId = _end(p, assetId, PledgeState.Released);
        emit DataAssetReleased(assetId, pledgeId, msg.sender);
        // CreditLines refuses it if the line's use would exceed what is left of its limit.
        _pushLine(lineId, true);
    }

    /// @inheritdoc IDataAssetRegistry
    function foreclose(uint256 assetId, uint256 tokenId) external returns (uint256 recovered) {
        _requireNotPaused();
        (Pledge storage p, uint256 pledgeId) = _activePledge(assetId);
        IReceivableVoucher.Voucher memory v = voucher.voucherOf(tokenId);
        if (v.holder != msg.sender) revert DataAssetNotVoucherHolder(tokenId, v.holder, msg.sender);
        uint256 receivableId = v.receivableId;
        IReceivableVoucher.Receivable memory r = voucher.receivableOf(receivableId);
        if (r.lineId != p.lineId) revert DataAssetReceivableLineMismatch(receivableId, r.lineId, p.lineId);
        if (r.state != IReceivableVoucher.ReceivableState.Defaulted) {
            revert DataAssetReceivableNotDefaulted(receivableId, uint8(r.state));
        }
        // What the pledgee bears: neither paid out nor repaid and waiting to be claimed.
        uint256 exposure = v.value - v.paid - voucher.claimable(tokenId);
        uint256 already = _recovered[receivableId];
        if (exposure <= already) revert DataAssetExposureCovered(receivableId, tokenId, exposure, already);
        if (already != 0 && _cited[receivableId] != tokenId) {
            revert DataAssetOtherVoucherCited(receivableId, tokenId, _cited[receivableId]);
        }
        uint256 value = _pledgedValue[pledgeId]; // > 0: pledge refuses an asset that counts nothing
        recovered = exposure - already;
        if (value < recovered) recovered = value;
        _recovered[receivableId] = already + recovered;
        _cited[receivableId] = tokenId;
        p.receivableId = uint48(receivableId);
        p.recovered = uint96(recovered);
        p.tokenId = uint48(tokenId);
        _heldUnder[assetId] = pledgeId;

        Asset storage a = _assets[assetId];
        address previousOwner = a.owner;
        uint256 lineId = _end(p, assetId, PledgeState.Foreclosed);
        a.owner = msg.sender;
        emit DataAssetForeclosed(assetId, pledgeId, msg.sender, previousOwner, receivableId, tokenId, value, recovered);
        _pushLine(lineId, false);
    }

    /// @inheritdoc IDataAssetRegistry
    function redeem(uint256 assetId) external {
        _requireNotPaused();
        _existing(assetId);
        uint256 pledgeId = _heldUnder[assetId];
        if (pledgeId == 0) revert DataAssetNotForeclosed(assetId);
        Pledge storage p = _pledges[pledgeId];
        uint256 receivableId = p.receivableId;
        uint256 recovered = p.recovered;
        // Still needed while the other assets held against the receivable do not cover the
        // pledgee's exposure on the voucher it cited (none once it no longer holds it).
        uint256 others = _recovered[receivableId] - recovered;
        uint256 tokenId = p.tokenId;
        uint256 exposure = 0;
        try voucher.voucherOf(tokenId) returns (IReceivableVoucher.Voucher memory) {
            exposure = _exposure(tokenId, p.financier);
        } catch {} // merged away: the pledgee bears nothing on it
        if (exposure > others) revert DataAssetStillSecuring(assetId, tokenId, exposure, others);
        _recovered[receivableId] = others;
        delete _heldUnder[assetId];
        p.state = PledgeState.Returned;
        address owner = p.owner;
        _assets[assetId].owner = owner;
        emit DataAssetReturned(assetId, pledgeId, owner, receivableId, recovered);
    }

    /// @inheritdoc IDataAssetRegistry
    function sync(uint256 lineId) external {
        _pushLine(lineId, false);
    }

    /// @inheritdoc IDataAssetRegistry
    function assetOf(uint256 assetId) external view returns (Asset memory) {
        return _existing(assetId);
    }

    /// @inheritdoc IDataAssetRegistry
    function appraisalsOf(uint256 assetId) external view returns (Appraisal[] memory out) {
        _existing(assetId);
        Appraisal[MAX_LIVE_APPRAISALS] storage slots = _appraisals[assetId];
        out = new Appraisal[](MAX_LIVE_APPRAISALS);
        for (uint256 i = 0; i < MAX_LIVE_APPRAISALS; ++i) {
            out[i] = slots[i];
        }
    }

    /// @inheritdoc IDataAssetRegistry
    function pledgeOf(uint256 pledgeId) external view returns (Pledge memory) {
        return _pledges[pledgeId];
    }

    /// @inheritdoc IDataAssetRegistry
    function assetOfContent(bytes32 contentHash) external view returns (uint256) {
        return _byContent[contentHash];
    }

    /// @inheritdoc IDataAssetRegistry
    function countedValue(uint256 assetId) external view returns (uint256 value, uint256 validUntil) {
        _existing(assetId);
        return _counted(assetId);
    }

    /// @inheritdoc IDataAssetRegistry
    function recoveredOf(uint256 receivableId) external view returns (uint256) {
        return _recovered[receivableId];
    }

    /// @inheritdoc IDataAssetRegistry
    function heldUnder(uint256 assetId) external view returns (uint256) {
        return _heldUnder[assetId];
    }

    /// @inheritdoc IDataAssetRegistry
    function pledgedTo(uint256 lineId) external view returns (uint256[] memory) {
        return _lineAssets[lineId];
    }

    // -- internals ------------------------------------------------------------------------------

    function _existing(uint256 assetId) private view returns (Asset storage a) {
        a = _assets[assetId];
        if (a.owner == address(0)) revert DataAssetNonexistent(assetId);
    }

    /// @dev The asset's active pledge, which the caller must hold as pledgee.
    function _activePledge(uint256 assetId) private view returns (Pledge storage p, uint256 pledgeId) {
        pledgeId = _existing(assetId).pledgeId;
        if (pledgeId == 0) revert DataAssetNotPledged(assetId);
        p = _pledges[pledgeId];
        if (p.financier != msg.sender) revert DataAssetNotPledgee(assetId, p.financier, msg.sender);
    }

    /// @dev End an active pledge: take the asset off its line (swap and pop) and off the asset.
    function _end(Pledge storage p, uint256 assetId, PledgeState state) private returns (uint256 lineId) {
        lineId = p.lineId;
        uint256[] storage assets = _lineAssets[lineId];
        uint256 index = p.index;
        uint256 last = assets[assets.length - 1];
        if (last != assetId) {
            assets[index] = last;
            _pledges[_assets[last].pledgeId].index = uint8(index);
        }
        assets.pop();
        p.state = state;
        p.endedAt = uint40(block.timestamp);
        _assets[assetId].pledgeId = 0;
    }

    /// @dev The lowest unexpired appraisal's value and expiry (of equal lowest values, the one
    /// that lasts longest); (0, 0) when none is unexpired.
    function _counted(uint256 assetId) private view returns (uint256 value, uint256 validUntil) {
        Appraisal[MAX_LIVE_APPRAISALS] storage slots = _appraisals[assetId];
        for (uint256 i = 0; i < MAX_LIVE_APPRAISALS; ++i) {
            uint256 until = slots[i].validUntil;
            if (until <= block.timestamp) continue;
            uint256 v = slots[i].value;
            if (value == 0 || v < value || (v == value && until > validUntil)) {
                value = v;
                validUntil = until;
            }
        }
    }

    /// @dev What `pledgee` bears on voucher `tokenId`: its unpaid value (neither paid out nor
    /// repaid and waiting to be claimed) while it holds it, else 0.
    function _exposure(uint256 tokenId, address pledgee) private view returns (uint256) {
        IReceivableVoucher.Voucher memory v = voucher.voucherOf(tokenId);
        if (v.holder != pledgee) return 0;
        return v.value - v.paid - voucher.claimable(tokenId);
    }

    /// @dev Recount the line of the asset's active pledge, if it has one.
    function _pushIfPledged(Asset storage a) private {
        uint256 pledgeId = a.pledgeId;
        if (pledgeId != 0) _pushLine(_pledges[pledgeId].lineId, false);
    }

    /// @dev Recount the line's pledged assets and push the sum and earliest expiry to CreditLines.
    function _pushLine(uint256 lineId, bool requireCover) private {
        uint256[] storage assets = _lineAssets[lineId];
        uint256 total = 0;
        uint256 earliest = type(uint40).max;
        uint256 n = assets.length;
        for (uint256 i = 0; i < n; ++i) {
            (uint256 value, uint256 until) = _counted(assets[i]);
            if (value == 0) continue; // every appraisal expired: it counts nothing until re-appraised
            total += value;
            if (until < earliest) earliest = until;
        }
        if (total == 0) earliest = 0;
        creditLines.setCollateral(lineId, total, earliest, requireCover);
    }

    /// @dev Pledges, releases and foreclosures stop while the voucher contract is paused (the
    /// pause policy in IReceivableVoucher); registering, listing and appraising go on.
    function _requireNotPaused() private view {
        if (voucher.paused()) revert Pausable.EnforcedPause();
    }

    function _requireMember(address account) private view {
        if (!IMembership(address(voucher)).isMember(account)) revert IMembership.MembershipNotMember(account);
    }

    function _requireRole(bytes32 role, address account) private view {
        if (!IAccessControl(address(voucher)).hasRole(role, account)) {
            revert IAccessControl.AccessControlUnauthorizedAccount(account, role);
        }
    }
}
