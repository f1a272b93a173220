// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC3525Metadata} from "./IERC3525.sol";

/**
 * @title Receivable vouchers: core-enterprise payment promises as ERC-3525 tokens
 * @dev A receivable is an ERC-3525 slot (slot id = receivable id): one obligor's promise to pay
 * `faceValue` units of `currency` at `maturity`, drawn on a credit line and backed by the
 * fingerprint of its trade documents. Vouchers are the tokens of that slot.
 *
 * Lifecycle:
 * - {issue} (CORE_ENTERPRISE, to a SUPPLIER member) MUST draw `faceValue` from the credit line,
 *   MUST refuse a document fingerprint that already backs a live receivable of the same obligor
 *   (ReceivableDuplicateDocument), and MUST mint one root voucher of `faceValue` to the supplier
 *   in status Pending, emitting Transfer(0, supplier, id), SlotChanged(id, 0, receivableId),
 *   TransferValue(0, id, faceValue) and ReceivableIssued.
 * - While Pending, the voucher MUST NOT move. The supplier (root voucher holder) MAY {accept}
 *   (the receivable and voucher become Active) or {reject}; the obligor MAY {revoke}. Reject
 *   and revoke MUST burn the root voucher, restore the credit line and free the fingerprint
 *   (it no longer backs anything, so the same documents may back a corrected issue).
 * - The duplicate-financing guard is per obligor: a fingerprint backs at most one live
 *   receivable of each obligor ({receivableOfDocument}(obligor, documentHash)). Another
 *   obligor's receivable citing the same fingerprint MUST NOT block the obligor's issue (so a
 *   fingerprint seen in the mempool cannot be squatted), and cannot claim the obligor's trade.
 *
 * Settlement:
 * - The obligor {repay}s in one payment or in instalments, before or after maturity, while the
 *   receivable is Active, Overdue or Defaulted; more than the outstanding amount MUST be refused
 *   (ReceivableOverpayment). Each repayment MUST restore the credit line by the amount repaid.
 *   Full repayment makes the receivable Settled.
 * - Each voucher keeps `paid`: what has been paid out on the units it now holds. A voucher's
 *   entitlement is floor(value × repaid / faceValue); {claim} pays its holder
 *   entitlement − paid, never more than the receivable's repaid − claimed (so the sum of all
 *   claims MUST never exceed what was repaid).
 * - Rounding. When value w of a voucher (value v, paid p) moves (split, value transfer, merge),
 *   each side MUST be charged its exact share of p rounded UP: the moving part carries
 *   ceil(p × w / v) (VoucherPaidMoved), the part left behind keeps ceil(p × (v − w) / v). So no
 *   holder can ever be paid more than floor(its units' exact pro-rata entitlement), however
 *   often it cuts, moves or bounces value between vouchers. When both shares round up, the two
 *   sides together carry one unit more than was paid: that unit MUST be added to the
 *   receivable's rounding remainder (VoucherPaidRounded, emitted after VoucherPaidMoved; the
 *   voucher left behind is the one charged). The remainder is the only home of rounding:
 *   no voucher can claim it, and once the receivable is Settled anyone MAY {releaseRemainder},
 *   which MUST pay it to the obligor (it paid those units and nobody is entitled to them) and
 *   count it in `claimed`. Before full repayment the units the vouchers cannot claim yet are
 *   their fractional entitlements, not a remainder: they stay in the contract and become
 *   claimable as repayment goes on (also after default: a Defaulted receivable stays
 *   repayable). Once fully repaid, every voucher can claim exactly value − paid, and all claims
 *   plus the released remainder add up to the face value to the unit.
 * - A voucher whose value is fully paid out (value > 0, paid == value) MUST be Closed wherever
 *   that arises (a claim, or either side of a split, value transfer or lock) and MUST NOT move
 *   again; {lockForOffer} MUST refuse a part that would be fully paid out (VoucherNothingToClaim).
 * - After {overdueAt} (maturity + the line's grace period + time paused since issue) anyone
 *   MAY {markOverdue} an Active receivable
 *   (idempotent: an Overdue or Defaulted one is left as it is). The line's financier MAY then
 *   {declareDefault}. Vouchers of an Overdue or Defaulted receivable still move (the debt
 *   stands and may change hands, e.g. back to a seller under recourse) but MUST NOT be offered
 *   for factoring.
 *
 * Factoring (the Factoring contract, through the hooks below):
 * - An offered or recourse-claimed voucher is Locked: it MUST NOT be transferred, split or
 *   merged, and can still claim repayments.
 *
 * Vouchers:
 * - Value never changes in total: every split, value transfer and merge MUST move value from
 *   one voucher to another of the same receivable, so the values of a receivable's vouchers
 *   always sum to its face value.
 * - A value transfer into an existing voucher ({transferFrom}(fromTokenId, toTokenId, value))
 *   needs the receiver's consent: unless the caller is authorised for `toTokenId` too (its
 *   holder, its approved address, or an operator of its holder), it MUST revert with
 *   VoucherUnsolicitedValue(caller, toTokenId, holder) before anything moves. (ERC-3525 lets
 *   any spender of the source push value into any voucher of the slot; here a third party
 *   cannot change a voucher under its holder, e.g. to block recourse on a deal's voucher.)
 * - A split ({transferFrom}(fromTokenId, to, value)) MUST create a new voucher whose parent is
 *   `fromTokenId` ({parentOf}); it emits Transfer(0, to, newId), SlotChanged(newId, 0, slot),
 *   then TransferValue(fromTokenId, newId, value). The tree of a receivable is rebuilt from
 *   these events alone: a voucher's parent is the `_fromTokenId` of the first TransferValue
 *   into it (0 for the root, minted by issue).
 * - {merge} MUST move all value of `fromTokenId` into `toTokenId` (same holder, same
 *   receivable) and burn `fromTokenId`: TransferValue(from, to, value), TransferValue(from, 0, 0),
 *   SlotChanged(from, slot, 0), Transfer(holder, 0, from).
 * - Every holder, sender and recipient MUST be a member (MembershipNotMember). A transfer of the
 *   whole voucher (ERC-721) MUST clear its ERC-721 approval and every value allowance on it (they
 *   lapse with the voucher's epoch, which it moves on). A burn (merge, reject, revoke) MUST delete
 *   its ERC-721 approval, and no value allowance on a burned voucher can ever apply again (ids
 *   are never reused; every view of a burned id reverts with VoucherNonexistent).
 * - Approvals are reproducible from events alone: ApprovalValue MUST carry the allowance as
 *   stored (an approval above 2^128 − 1 is stored, and emitted, as 2^128 − 1, unlimited), every
 *   spend of a limited allowance MUST emit ApprovalValue with what is left, and every ERC-721
 *   approval and value allowance on a voucher lapses at its next Transfer (whole transfer,
 *   delivery or burn): allowance() and getApproved() equal the last ApprovalValue / Approval
 *   for that voucher and operator since its last Transfer, else 0.
 * - Values are in the smallest unit of the receivable's currency and fit in 128 bits.
 *
 * Metadata (IERC3525Metadata 0xe1600902, IERC721Metadata 0x5b5e139f): {tokenURI}, {slotURI} and
 * {contractURI} MUST be answered by the descriptor contract fixed at deployment ({descriptor},
 * IVoucherDescriptor), read-only, so no write pays for them: each is a
 * `data:application/json;base64,` URI of a JSON document built from this contract's views at
 * the time of the call. {tokenURI} MUST revert with VoucherNonexistent for a voucher that does
 * not exist (or was burned); {slotURI} with ReceivableNonexistent for an unknown receivable.
 *
 * Pause (the one policy of every contract of the ledger; OPERATOR pauses and unpauses here,
 * and Factoring and DataAssetRegistry read {paused} from this contract):
 * - While paused, every change of who holds, owes or is owed value MUST revert with
 *   EnforcedPause before anything changes: issue, accept, reject, revoke, every transfer,
 *   split and merge, claim, markOverdue, declareDefault, the Factoring hooks; in Factoring
 *   offer, cancel, accept, exerciseRecourse and payRecourse; in DataAssetRegistry pledge,
 *   release, foreclose and redeem.
 * - {repay} MUST go on while paused: paying a debt down only brings money in, and an obligor
 *   must always be able to cure.
 * - What moves no value and only bounds or authorises later actions goes on: membership
 *   (admit, grant, revoke, expel: the operator must be able to expel a compromised account
 *   while paused), approvals, CreditLines grant / setTerms / setAdvanceRate, and in
 *   DataAssetRegistry register, list, appraise, withdrawAppraisal, strikeAppraisals and sync.
 *   Views always work.
 * - No party loses a right because of time spent paused. {pausedTime} is the total time the
 *   ledger has been paused (the current pause included); a period that protects a party
 *   against another's action MUST be measured on the clock that stops during pauses: the
 *   grace period, so a receivable becomes overdue at {overdueAt} = maturity + grace period +
 *   the time paused since its issue (and so MUST every later such period, e.g. a recourse
 *   window: its end + pausedTime() at the check − pausedTime() at its start). Dates that their
 *   grantor may change at will stay calendar dates: an offer's deadline (the seller may
 *   cancel at any time), a credit line's expiry (its financier sets it), an appraisal's
 *   validity (a new appraisal may be made during a pause); and so does maturity (repayment
 *   goes on).
 */
interface IReceivableVoucher is IERC3525Metadata {
    enum ReceivableState {
        None,
        Pending,
        Active,
        Rejected,
        Revoked,
        Settled,
        Overdue,
        Defaulted
    }

    enum VoucherStatus {
        None,
        Pending,
        Active,
        Locked,
        Closed
    }

    struct Receivable {
        address obligor;
        uint40 issuedAt;
        uint40 maturity;
        ReceivableState state;
        address currency;
        uint48 lineId;
        uint48 rootTokenId;
        uint96 faceValue;
        uint96 repaid;
        uint96 claimed;
    }

    struct Voucher {
        address holder;
        uint48 receivableId;
        VoucherStatus status;
        uint96 value;
        uint96 paid;
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
    event ReceivableRepaid(uint256 indexed receivableId, address indexed payer, uint256 amount, uint256 repaid);
    event ReceivableSettled(uint256 indexed receivableId);
    event ReceivableOverdue(uint256 indexed receivableId, address indexed markedBy);
    event ReceivableDefaulted(uint256 indexed receivableId, address indexed financier);
    /// @dev `paid` is the voucher's total paid out after this claim; `closed` when that is its value.
    event VoucherClaimed(
        uint256 indexed tokenId, uint256 indexed receivableId, address indexed holder, uint256 amount, uint256 paid, bool closed
    );
    /// @dev Emitted when value moves with a non-zero share of what was already paid on it: `paid`
    /// is the moving part's share, rounded up; the source's paid falls by `paid`.
    event VoucherPaidMoved(uint256 indexed fromTokenId, uint256 indexed toTokenId, uint256 paid);
    /// @dev Emitted after VoucherPaidMoved when both shares rounded up: `tokenId` (the source)
    /// keeps one unit of paid more, and the receivable's unreleased remainder is now `remainder`.
    event VoucherPaidRounded(uint256 indexed tokenId, uint256 indexed receivableId, uint256 remainder);
    event ReceivableRemainderReleased(uint256 indexed receivableId, address indexed obligor, uint256 amount);
    event VoucherLocked(uint256 indexed tokenId);
    event VoucherUnlocked(uint256 indexed tokenId);

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
    error VoucherNothingToClaim(uint256 tokenId);
    error VoucherNotLocked(uint256 tokenId, VoucherStatus status);
    error VoucherUnauthorizedCaller(address caller);
    /// @dev Value pushed into `toTokenId` by an `operator` its holder did not authorise.
    error VoucherUnsolicitedValue(address operator, uint256 toTokenId, address holder);

    error ReceivableNonexistent(uint256 receivableId);
    error ReceivableNotPending(uint256 receivableId, ReceivableState state);
    error ReceivableNotSupplier(uint256 receivableId, address account);
    error ReceivableNotObligor(uint256 receivableId, address account);
    error ReceivableDuplicateDocument(bytes32 documentHash, uint256 receivableId);
    error ReceivableInvalidDocument();
    error ReceivableInvalidFaceValue(uint256 faceValue);
    error ReceivableInvalidMaturity(uint256 maturity, uint256 timestamp);
    error ReceivableNotRepayable(uint256 receivableId, ReceivableState state);
    error ReceivableOverpayment(uint256 receivableId, uint256 outstanding, uint256 amount);
    error ReceivableZeroRepayment(uint256 receivableId);
    error ReceivableNotYetOverdue(uint256 receivableId, uint256 overdueAt, uint256 timestamp);
    error ReceivableNotActive(uint256 receivableId, ReceivableState state);
    error ReceivableNotOverdue(uint256 receivableId, ReceivableState state);
    error ReceivableNotFinancier(uint256 receivableId, address account);
    error ReceivableCurrencyShortfall(address currency, uint256 expected, uint256 received);
    error ReceivableNotSettled(uint256 receivableId, ReceivableState state);
    error ReceivableNoRemainder(uint256 receivableId);

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

    /// @notice Repay `amount` of the receivable (its obligor; currency pulled with transferFrom).
    function repay(uint256 receivableId, uint256 amount) external;

    /// @notice Pay the voucher's holder what it can claim now; returns the amount.
    function claim(uint256 tokenId) external returns (uint256 amount);

    /// @notice Pay a Settled receivable's rounding remainder to its obligor (anyone); returns it.
    function releaseRemainder(uint256 receivableId) external returns (uint256 amount);

    /// @notice What {claim} would pay for `tokenId` now.
    function claimable(uint256 tokenId) external view returns (uint256);

    /// @notice Mark a receivable Overdue once maturity + grace has passed (anyone; idempotent).
    function markOverdue(uint256 receivableId) external;

    /// @notice When the receivable can be marked Overdue: maturity + its line's grace period + the
    /// time paused since its issue (it moves on while the ledger is paused).
    function overdueAt(uint256 receivableId) external view returns (uint256);

    /// @notice Whether the ledger is paused (see the pause policy above).
    function paused() external view returns (bool);

    /// @notice The total time the ledger has been paused, the current pause included.
    function pausedTime() external view returns (uint256);

    /// @notice Declare an Overdue receivable Defaulted (the credit line's financier).
    function declareDefault(uint256 receivableId) external;

    // -- hooks for the Factoring contract (and only it) -----------------------------------------

    /// @notice Lock `value` of `tokenId` held by `holder` for an offer: the whole voucher, or a
    /// part split off into a new voucher of `holder`. Returns the locked voucher. MUST revert
    /// with VoucherNothingToClaim when the voucher is fully paid out (paid == value).
    function lockForOffer(address holder, uint256 tokenId, uint256 value) external returns (uint256 lockedTokenId);

    /// @notice Lock a voucher held by `holder` as it is (recourse pending).
    function lock(address holder, uint256 tokenId) external;

    /// @notice Unlock a locked voucher, leaving it with its holder.
    function unlock(uint256 tokenId) external;

    /// @notice Unlock a locked voucher and hand it to `to`: a deal's delivery (`members`: both
    /// sides MUST be members), or the settlement of recourse (not `members`: the seller paid for
    /// it under the deal's terms, so it is handed back whatever either side's membership; an
    /// expelled seller then holds it frozen, like the vouchers it held when expelled).
    function deliver(uint256 tokenId, address to, bool members) external;

    function factoring() external view returns (address);

    function receivableOf(uint256 receivableId) external view returns (Receivable memory);

    function voucherOf(uint256 tokenId) external view returns (Voucher memory);

    function parentOf(uint256 tokenId) external view returns (uint256);

    /// @notice The live receivable of `obligor` a document fingerprint backs, or 0 (also once the
    /// receivable it backed was rejected or revoked). The fingerprint is in ReceivableIssued.
    function receivableOfDocument(address obligor, bytes32 documentHash) external view returns (uint256);

    function creditLines() external view returns (address);

    /// @notice The IVoucherDescriptor that builds tokenURI, slotURI and contractURI.
    function descriptor() external view returns (address);
}
