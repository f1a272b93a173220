// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC3525} from "./IERC3525.sol";

/**
 * @title Receivable vouchers: core-enterprise payment promises as ERC-3525 tokens
 * @dev A receivable is an ERC-3525 slot (slot id = receivable id): one obligor's promise to pay
 * `faceValue` units of `currency` at `maturity`, drawn on a credit line and backed by the
 * fingerprint of its trade documents. Vouchers are the tokens of that slot.
 *
 * Lifecycle:
 * - {issue} (CORE_ENTERPRISE, to a SUPPLIER member) MUST draw `faceValue` from the credit line,
 *   MUST refuse a document fingerprint that already backs a live receivable
 *   (ReceivableDuplicateDocument), and MUST mint one root voucher of `faceValue` to the supplier
 *   in status Pending, emitting Transfer(0, supplier, id), SlotChanged(id, 0, receivableId),
 *   TransferValue(0, id, faceValue) and ReceivableIssued.
 * - While Pending, the voucher MUST NOT move. The supplier (root voucher holder) MAY {accept}
 *   (the receivable and voucher become Active) or {reject}; the obligor MAY {revoke}. Reject
 *   and revoke MUST burn the root voucher, restore the credit line and free the fingerprint
 *   (it no longer backs anything, so the same documents may back a corrected issue).
 *
 * Vouchers:
 * - Value never changes in total: every split, value transfer and merge MUST move value from
 *   one voucher to another of the same receivable, so the values of a receivable's vouchers
 *   always sum to its face value.
 * - A split ({transferFrom}(fromTokenId, to, value)) MUST create a new voucher whose parent is
 *   `fromTokenId` ({parentOf}); it emits Transfer(0, to, newId), SlotChanged(newId, 0, slot),
 *   then TransferValue(fromTokenId, newId, value). The tree of a receivable is rebuilt from
 *   these events alone: a voucher's parent is the `_fromTokenId` of the first TransferValue
 *   into it (0 for the root, minted by issue).
 * - {merge} MUST move all value of `fromTokenId` into `toTokenId` (same holder, same
 *   receivable) and burn `fromTokenId`: TransferValue(from, to, value), TransferValue(from, 0, 0),
 *   SlotChanged(from, slot, 0), Transfer(holder, 0, from).
 * - Every holder, sender and recipient MUST be a member (MembershipNotMember). A transfer of the
 *   whole voucher (ERC-721) MUST clear its ERC-721 approval and every value allowance on it.
 * - Values are in the smallest unit of the receivable's currency and fit in 128 bits.
 */
interface IReceivableVoucher is IERC3525 {
    enum ReceivableState {
        None,
        Pending,
        Active,
        Rejected,
        Revoked
    }

    enum VoucherStatus {
        None,
        Pending,
        Active
    }

    struct Receivable {
        address obligor;
        uint40 issuedAt;
        uint40 maturity;
        ReceivableState state;
        address currency;
        uint48 lineId;
        uint48 rootTokenId;
        uint128 faceValue;
        uint128 repaid;
        bytes32 documentHash;
    }

    struct Voucher {
        address holder;
        uint48 receivableId;
        VoucherStatus status;
        uint128 value;
        uint48 parentId;
    }

    event ReceivableIssued(
        uint256 indexed receivableId,
        address indexed obligor,
        address indexed supplier,
        uint256 tokenId,
        uint256 lineId,
        address currency,
        uint256 faceValue,
        uint256 maturity,
        bytes32 documentHash
    );
    event ReceivableAccepted(uint256 indexed receivableId, address indexed supplier);
    event ReceivableRejected(uint256 indexed receivableId, address indexed supplier);
    event ReceivableRevoked(uint256 indexed receivableId, address indexed obligor);

    error VoucherNonexistent(uint256 tokenId);
    error VoucherInsufficientValue(uint256 tokenId, uint256 balance, uint256 needed);
    error VoucherInsufficientAllowance(uint256 tokenId, address operator, uint256 allowance, uint256 needed);
    error VoucherUnauthorized(address operator, uint256 tokenId);
    error VoucherIncorrectHolder(address from, uint256 tokenId, address holder);
    error VoucherNotActive(uint256 tokenId, VoucherStatus status);
    error VoucherZeroValue(uint256 tokenId);
    error VoucherSameToken(uint256 tokenId);
    error VoucherSlotMismatch(uint256 fromTokenId, uint256 fromSlot, uint256 toTokenId, uint256 toSlot);
    error VoucherHolderMismatch(uint256 fromTokenId, address fromHolder, uint256 toTokenId, address toHolder);
    error VoucherInvalidReceiver(address receiver);
    error VoucherInvalidOperator(address operator);

    error ReceivableNonexistent(uint256 receivableId);
    error ReceivableNotPending(uint256 receivableId, ReceivableState state);
    error ReceivableNotSupplier(uint256 receivableId, address account);
    error ReceivableNotObligor(uint256 receivableId, address account);
    error ReceivableDuplicateDocument(bytes32 documentHash, uint256 receivableId);
    error ReceivableInvalidDocument();
    error ReceivableInvalidFaceValue(uint256 faceValue);
    error ReceivableInvalidMaturity(uint256 maturity, uint256 timestamp);

    /// @notice Issue a receivable of `faceValue` to `supplier`, drawn on credit line `lineId`.
    /// @return receivableId The new receivable (the vouchers' slot).
    /// @return tokenId The root voucher, held by `supplier`, Pending until accepted.
    function issue(
        address supplier,
        uint256 lineId,
        address currency,
        uint256 faceValue,
        uint256 maturity,
        bytes32 documentHash
    ) external returns (uint256 receivableId, uint256 tokenId);

    function accept(uint256 receivableId) external;

    function reject(uint256 receivableId) external;

    function revoke(uint256 receivableId) external;

    /// @notice Move all value of `fromTokenId` into `toTokenId` and burn `fromTokenId`.
    function merge(uint256 fromTokenId, uint256 toTokenId) external;

    function receivableOf(uint256 receivableId) external view returns (Receivable memory);

    function voucherOf(uint256 tokenId) external view returns (Voucher memory);

    function parentOf(uint256 tokenId) external view returns (uint256);

    /// @notice The live receivable a document fingerprint backs, or 0.
    function receivableOfDocument(bytes32 documentHash) external view returns (uint256);

    function creditLines() external view returns (address);
}
