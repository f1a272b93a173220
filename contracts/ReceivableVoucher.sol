// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {ERC721Utils} from "@openzeppelin/contracts/token/ERC721/utils/ERC721Utils.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {IERC721Metadata} from "@openzeppelin/contracts/token/ERC721/extensions/IERC721Metadata.sol";
import {IERC3525, IERC3525Metadata, IERC3525Receiver} from "./interfaces/IERC3525.sol";
import {IReceivableVoucher} from "./interfaces/IReceivableVoucher.sol";
import {ICreditLines} from "./interfaces/ICreditLines.sol";
import {Membership} from "./Membership.sol";

/**
 * @title ReceivableVoucher
 * @notice Core-enterprise payment promises (receivables) as ERC-3525 vouchers that suppliers
 * split and pass up their supply chain. This contract is also the membership registry.
 * @dev Storage is packed for the hot paths: a voucher is two words (holder, receivable,
 * status and approval epoch in the first; value and parent in the second), an account is one
 * word (roles and voucher count). Approvals carry the voucher's epoch, which a whole-voucher
 * transfer increments: every ERC-721 approval and value allowance on it lapses without a loop
 * and without a write per approval.
 */
contract ReceivableVoucher is IReceivableVoucher, Membership, Pausable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    struct Token {
        // word 0
        address holder;
        uint48 receivableId;
        VoucherStatus status;
        uint40 epoch;
        // word 1
        uint96 value;
        uint96 paid;
        uint48 parentId;
    }

    struct TokenApproval {
        address operator;
        uint40 epoch;
    }

    struct ValueAllowance {
        uint128 value;
        uint40 epoch;
    }

    /// @dev Two words written at issue. The currency is not stored: it is the credit line's
    /// (issue checks they match, and a line's currency never changes). Nor is the document
    /// fingerprint: `_documents` binds it to the receivable and ReceivableIssued records it.
    struct ReceivableData {
        // word 0
        address obligor;
        uint40 issuedAt;
        uint40 maturity;
        ReceivableState state;
        // word 1
        uint96 faceValue;
        uint48 lineId;
        uint48 rootTokenId;
        uint40 pausedAtIssue; // the pause clock at issue: grace runs only while unpaused
        // word 2 (written at the first repayment)
        uint96 repaid;
        uint96 claimed;
        uint64 remainder; // rounding units no voucher can claim, not yet released (see _movePaid)
    }

    struct Counters {
        uint48 lastTokenId;
        uint48 lastReceivableId;
    }

    /// @dev One word, read by every `whenNotPaused`: whether paused, since when, and the total
    /// time paused before that (Pausable's own flag is not used).
    struct PauseClock {
        bool paused;
        uint40 since;
        uint40 total;
    }

    string private constant _NAME = "Receivable Voucher";
    string private constant _SYMBOL = "RCV";

    address private immutable _creditLines;
    address private immutable _factoring;
    uint8 private immutable _valueDecimals;
    address private immutable _descriptor;

    Counters private _counters;
    PauseClock private _clock;
    mapping(uint256 tokenId => Token) private _tokens;
    mapping(uint256 tokenId => TokenApproval) private _tokenApprovals;
    mapping(uint256 tokenId => mapping(address operator => ValueAllowance)) private _allowances;
    mapping(address holder => mapping(address operator => bool)) private _operatorApprovals;
    mapping(uint256 receivableId => ReceivableData) private _receivables;
    /// @dev Per obligor: the same trade documents back at most one live receivable of an
    /// obligor, and no one else's issue can block it by claiming their fingerprint first.
    mapping(address obligor => mapping(bytes32 documentHash => uint256 receivableId)) private _documents;

    /**
     * @param admin Receives DEFAULT_ADMIN_ROLE, membership and OPERATOR_ROLE.
     * @param creditLines_ The CreditLines contract this voucher contract draws on.
     * @param factoring_ The Factoring contract, the only caller of the lock/deliver hooks.
     * @param valueDecimals_ Decimals of every settlement currency used here (CreditLines
     * refuses a line in a currency with other decimals).
     * @param descriptor_ The VoucherDescriptor that answers tokenURI, slotURI and contractURI.
     */
    constructor(address admin, address creditLines_, address factoring_, uint8 valueDecimals_, address descriptor_)
        Membership(admin)
    {
        _creditLines = creditLines_;
        _factoring = factoring_;
        _valueDecimals = valueDecimals_;
        _descriptor = descriptor_;
    }

    // ----------------------------------------------------------------------------------------
    // Operator
    // ----------------------------------------------------------------------------------------

    /// @notice Pause the ledger (operator only): see the pause policy in IReceivableVoucher.
    function pause() external onlyRole(OPERATOR_ROLE) whenNotPaused {
        _clock = PauseClock(true, uint40(block.timestamp), _clock.total);
        emit Paused(_msgSender());
    }

    function unpause() external onlyRole(OPERATOR_ROLE) whenPaused {
        PauseClock memory c = _clock;
        _clock = PauseClock(false, 0, c.total + uint40(block.timestamp - c.since));
        emit Unpaused(_msgSender());
    }

    /// @inheritdoc IReceivableVoucher
    function paused() public view override(IReceivableVoucher, Pausable) returns (bool) {
        return _clock.paused;
    }

    /// @inheritdoc IReceivableVoucher
    function pausedTime() public view returns (uint256) {
        PauseClock memory c = _clock;
        return c.paused ? c.total + block.timestamp - c.since : c.total;
    }

    // ----------------------------------------------------------------------------------------
    // Receivable lifecycle
    // ----------------------------------------------------------------------------------------

    /// @inheritdoc IReceivableVoucher
    function issue(
        address supplier,
        uint256 lineId,
        address currency,
        uint256 faceValue,
        uint256 maturity,
        bytes32 documentHash
    ) external whenNotPaused returns (uint256 receivableId, uint256 tokenId) {
        address obligor = _msgSender();
        _requirePartyRole(obligor, _CORE_ENTERPRISE, CORE_ENTERPRISE_ROLE);
        Account memory payee = _accounts[supplier];
        if (payee.roles & _SUPPLIER == 0) revert AccessControlUnauthorizedAccount(supplier, SUPPLIER_ROLE);
        if (documentHash == bytes32(0)) revert ReceivableInvalidDocument();
        uint256 existing = _documents[obligor][documentHash];
        if (existing != 0 && _backsDocument(existing)) revert ReceivableDuplicateDocument(documentHash, existing);
        // Line amounts are 96-bit, so a larger face value could never be drawn.
        if (faceValue == 0 || faceValue > type(uint96).max) revert ReceivableInvalidFaceValue(faceValue);
        if (maturity <= block.timestamp || maturity > type(uint40).max) {
            revert ReceivableInvalidMaturity(maturity, block.timestamp);
        }

        Counters memory c = _counters;
        receivableId = ++c.lastReceivableId;
        tokenId = ++c.lastTokenId;
        _counters = c;

        // lineId is stored in 48 bits; CreditLines.draw below reverts for any id it never issued.
        _receivables[receivableId] = ReceivableData({
            obligor: obligor,
            issuedAt: uint40(block.timestamp),
            maturity: uint40(maturity),
            state: ReceivableState.Pending,
            faceValue: uint96(faceValue),
            lineId: uint48(lineId),
            rootTokenId: uint48(tokenId),
            pausedAtIssue: _clock.total,
            repaid: 0,
            claimed: 0,
            remainder: 0
        });
        _documents[obligor][documentHash] = receivableId;
        _tokens[tokenId] = Token({
            holder: supplier,
            receivableId: uint48(receivableId),
            status: VoucherStatus.Pending,
            epoch: 0,
            value: uint96(faceValue),
            paid: 0,
            parentId: 0
        });
        _accounts[supplier].vouchers = payee.vouchers + 1;

        emit Transfer(address(0), supplier, tokenId);
        emit SlotChanged(tokenId, 0, receivableId);
        emit TransferValue(0, tokenId, faceValue);
        emit ReceivableIssued(
            receivableId, obligor, supplier, tokenId, lineId, currency, faceValue, maturity, documentHash
        );

        ICreditLines(_creditLines).draw(lineId, obligor, currency, faceValue, receivableId);
    }

    /// @inheritdoc IReceivableVoucher
    function accept(uint256 receivableId) external whenNotPaused {
        ReceivableData storage r = _pendingReceivable(receivableId);
        uint256 root = r.rootTokenId;
        address supplier = _tokens[root].holder;
        if (_msgSender() != supplier) revert ReceivableNotSupplier(receivableId, _msgSender());
        r.state = ReceivableState.Active;
        _tokens[root].status = VoucherStatus.Active;
        emit ReceivableAccepted(receivableId, supplier);
    }

    /// @inheritdoc IReceivableVoucher
    function reject(uint256 receivableId) external whenNotPaused {
        ReceivableData storage r = _pendingReceivable(receivableId);
        address supplier = _tokens[r.rootTokenId].holder;
        if (_msgSender() != supplier) revert ReceivableNotSupplier(receivableId, _msgSender());
        _cancel(receivableId, r, ReceivableState.Rejected);
        emit ReceivableRejected(receivableId, supplier);
    }

    /// @inheritdoc IReceivableVoucher
    function revoke(uint256 receivableId) external whenNotPaused {
        ReceivableData storage r = _pendingReceivable(receivableId);
        if (_msgSender() != r.obligor) revert ReceivableNotObligor(receivableId, _msgSender());
        _cancel(receivableId, r, ReceivableState.Revoked);
        emit ReceivableRevoked(receivableId, r.obligor);
    }

    // ----------------------------------------------------------------------------------------
    // ERC-3525 value transfers
    // ----------------------------------------------------------------------------------------

    /// @inheritdoc IERC3525
    /// @dev A split: the new voucher's parent is `fromTokenId`.
    function transferFrom(uint256 fromTokenId, address to, uint256 value)
        public
        override
        whenNotPaused
        returns (uint256 newTokenId)
    {
        Token storage from = _tokens[fromTokenId];
        address holder = from.holder;
        _requireActive(fromTokenId, holder, from.status);
        if (value == 0) revert VoucherZeroValue(fromTokenId);
        _spendAllowance(_msgSender(), fromTokenId, holder, from.epoch, value);
        newTokenId = _split(fromTokenId, from, holder, to, value, VoucherStatus.Active);
        _checkOnERC3525Received(to, fromTokenId, newTokenId, value);
    }

    /// @inheritdoc IERC3525
    function transferFrom(uint256 fromTokenId, uint256 toTokenId, uint256 value) public override whenNotPaused {
        Token storage from = _tokens[fromTokenId];
        Token storage to = _tokens[toTokenId];
        address fromHolder = from.holder;
        address toHolder = to.holder;
        _requireActive(fromTokenId, fromHolder, from.status);
        _requireActive(toTokenId, toHolder, to.status);
        _requireSameReceivable(fromTokenId, from.receivableId, toTokenId, to.receivableId);
        if (value == 0) revert VoucherZeroValue(fromTokenId);
        // Value into a voucher changes it under its holder (and can block its rights, e.g.
        // recourse on a deal's voucher): only with the destination's consent.
        if (!_isAuthorized(_msgSender(), toTokenId, toHolder, to.epoch)) {
            revert VoucherUnsolicitedValue(_msgSender(), toTokenId, toHolder);
        }
        _spendAllowance(_msgSender(), fromTokenId, fromHolder, from.epoch, value);
        uint96 balance = from.value;
        if (balance < value) revert VoucherInsufficientValue(fromTokenId, balance, value);
        _requireMember(_accounts[fromHolder].roles, fromHolder);
        _requireMember(_accounts[toHolder].roles, toHolder);

        from.value = balance - uint96(value);
        to.value += uint96(value);
        emit TransferValue(fromTokenId, toTokenId, value);
        _movePaid(fromTokenId, from, toTokenId, to, balance, value);

        _checkOnERC3525Received(toHolder, fromTokenId, toTokenId, value);
    }

    /// @inheritdoc IReceivableVoucher
    function merge(uint256 fromTokenId, uint256 toTokenId) external whenNotPaused {
        Token storage from = _tokens[fromTokenId];
        Token storage to = _tokens[toTokenId];
        address holder = from.holder;
        _requireActive(fromTokenId, holder, from.status);
        _requireActive(toTokenId, to.holder, to.status);
        _requireSameReceivable(fromTokenId, from.receivableId, toTokenId, to.receivableId);
        if (to.holder != holder) revert VoucherHolderMismatch(fromTokenId, holder, toTokenId, to.holder);
        if (!_isAuthorized(_msgSender(), fromTokenId, holder, from.epoch)) {
            revert VoucherUnauthorized(_msgSender(), fromTokenId);
        }
        _requireMember(_accounts[holder].roles, holder);

        uint96 value = from.value;
        uint96 paid = from.paid;
        uint256 slot = from.receivableId;
        to.value += value;
        emit TransferValue(fromTokenId, toTokenId, value);
        if (paid != 0) {
            to.paid += paid;
            emit VoucherPaidMoved(fromTokenId, toTokenId, paid);
        }
        _burn(fromTokenId, holder, slot, 0);
    }

    // ----------------------------------------------------------------------------------------
    // Settlement
    // ----------------------------------------------------------------------------------------

    /// @inheritdoc IReceivableVoucher
    /// @dev Not `whenNotPaused`: paying a debt down goes on during a pause (the pause policy).
    function repay(uint256 receivableId, uint256 amount) external nonReentrant {
        ReceivableData storage r = _receivables[receivableId];
        ReceivableState state = r.state;
        if (state == ReceivableState.None) revert ReceivableNonexistent(receivableId);
        if (state != ReceivableState.Active && state != ReceivableState.Overdue && state != ReceivableState.Defaulted) {
            revert ReceivableNotRepayable(receivableId, state);
        }
        address obligor = r.obligor;
        if (_msgSender() != obligor) revert ReceivableNotObligor(receivableId, _msgSender());
        if (amount == 0) revert ReceivableZeroRepayment(receivableId);
        uint256 repaid = r.repaid;
        uint256 outstanding = uint256(r.faceValue) - repaid;
        if (amount > outstanding) revert ReceivableOverpayment(receivableId, outstanding, amount);

        repaid += amount;
        r.repaid = uint96(repaid);
        emit ReceivableRepaid(receivableId, obligor, amount, repaid);
        if (amount == outstanding) {
            r.state = ReceivableState.Settled;
            emit ReceivableSettled(receivableId);
        }
        IERC20 currency = IERC20(ICreditLines(_creditLines).restore(r.lineId, amount, receivableId));
        // From the caller, never from an address argument: only the obligor's own allowance
        // can be spent (slither: arbitrary-send-erc20).
        _pull(currency, _msgSender(), amount);
    }

    /// @inheritdoc IReceivableVoucher
    function claim(uint256 tokenId) external nonReentrant whenNotPaused returns (uint256 amount) {
        Token storage t = _tokens[tokenId];
        address holder = t.holder;
        VoucherStatus status = t.status;
        if (holder == address(0)) revert VoucherNonexistent(tokenId);
        if (status == VoucherStatus.Pending) revert VoucherNotActive(tokenId, status);
        if (!_isAuthorized(_msgSender(), tokenId, holder, t.epoch)) revert VoucherUnauthorized(_msgSender(), tokenId);
        ReceivableData storage r = _receivables[t.receivableId];
        uint96 paid = t.paid;
        amount = _claimable(t.value, paid, r.faceValue, r.repaid, r.claimed);
        if (amount == 0) revert VoucherNothingToClaim(tokenId);

        paid += uint96(amount);
        bool closed = paid == t.value;
        t.paid = paid;
        if (closed) t.status = VoucherStatus.Closed;
        r.claimed += uint96(amount);
        emit VoucherClaimed(tokenId, t.receivableId, holder, amount, paid, closed);
        _payOut(r, holder, amount);
    }

    /// @inheritdoc IReceivableVoucher
    function claimable(uint256 tokenId) external view returns (uint256) {
        Token storage t = _tokens[tokenId];
        if (t.holder == address(0)) revert VoucherNonexistent(tokenId);
        if (t.status == VoucherStatus.Pending) return 0;
        ReceivableData storage r = _receivables[t.receivableId];
        return _claimable(t.value, t.paid, r.faceValue, r.repaid, r.claimed);
    }

    /// @inheritdoc IReceivableVoucher
    function releaseRemainder(uint256 receivableId) external nonReentrant whenNotPaused returns (uint256 amount) {
        ReceivableData storage r = _receivables[receivableId];
        ReceivableState state = r.state;
        if (state != ReceivableState.Settled) revert ReceivableNotSettled(receivableId, state);
        amount = r.remainder;
        if (amount == 0) revert ReceivableNoRemainder(receivableId);
        r.remainder = 0;
        r.claimed += uint96(amount);
        address obligor = r.obligor;
        emit ReceivableRemainderReleased(receivableId, obligor, amount);
        _payOut(r, obligor, amount);
    }

    /// @inheritdoc IReceivableVoucher
    function markOverdue(uint256 receivableId) external whenNotPaused {
        ReceivableData storage r = _receivables[receivableId];
        ReceivableState state = r.state;
        if (state == ReceivableState.Overdue || state == ReceivableState.Defaulted) return;
        if (state == ReceivableState.None) revert ReceivableNonexistent(receivableId);
        if (state != ReceivableState.Active) revert ReceivableNotActive(receivableId, state);
        uint256 overdueAt = _overdueAt(r);
        if (block.timestamp <= overdueAt) revert ReceivableNotYetOverdue(receivableId, overdueAt, block.timestamp);
        r.state = ReceivableState.Overdue;
        emit ReceivableOverdue(receivableId, _msgSender());
    }

    /// @inheritdoc IReceivableVoucher
    function overdueAt(uint256 receivableId) external view returns (uint256) {
        ReceivableData storage r = _receivables[receivableId];
        if (r.state == ReceivableState.None) revert ReceivableNonexistent(receivableId);
        return _overdueAt(r);
    }

    /// @dev Maturity + the line's grace period + the time paused since issue.
    function _overdueAt(ReceivableData storage r) private view returns (uint256) {
        return uint256(r.maturity) + ICreditLines(_creditLines).lineOf(r.lineId).gracePeriod + pausedTime()
            - r.pausedAtIssue;
    }

    /// @inheritdoc IReceivableVoucher
    function declareDefault(uint256 receivableId) external whenNotPaused {
        ReceivableData storage r = _receivables[receivableId];
        ReceivableState state = r.state;
        if (state == ReceivableState.None) revert ReceivableNonexistent(receivableId);
        if (state != ReceivableState.Overdue) revert ReceivableNotOverdue(receivableId, state);
        if (ICreditLines(_creditLines).lineOf(r.lineId).financier != _msgSender()) {
            revert ReceivableNotFinancier(receivableId, _msgSender());
        }
        r.state = ReceivableState.Defaulted;
        emit ReceivableDefaulted(receivableId, _msgSender());
    }

    // ----------------------------------------------------------------------------------------
    // Hooks for the Factoring contract
    // ----------------------------------------------------------------------------------------

    modifier onlyFactoring() {
        if (_msgSender() != _factoring) revert VoucherUnauthorizedCaller(_msgSender());
        _;
    }

    /// @inheritdoc IReceivableVoucher
    function lockForOffer(address holder, uint256 tokenId, uint256 value)
        external
        onlyFactoring
        whenNotPaused
        returns (uint256 lockedTokenId)
    {
        Token storage t = _tokens[tokenId];
        _requireActive(tokenId, t.holder, t.status);
        if (t.holder != holder) revert VoucherIncorrectHolder(holder, tokenId, t.holder);
        uint256 receivableId = t.receivableId;
        ReceivableState state = _receivables[receivableId].state;
        if (state != ReceivableState.Active) revert ReceivableNotActive(receivableId, state);
        if (value == 0) revert VoucherZeroValue(tokenId);
        // Fully paid out (a split can leave a voucher so, still Active): nothing left to finance.
        if (t.paid >= t.value) revert VoucherNothingToClaim(tokenId);
        if (value == t.value) {
            _requireMember(_accounts[holder].roles, holder);
            lockedTokenId = tokenId;
            t.status = VoucherStatus.Locked;
        } else {
            lockedTokenId = _split(tokenId, t, holder, holder, value, VoucherStatus.Locked);
            // Its share of paid (rounded up) can leave the part fully paid out: nothing to sell.
            if (_tokens[lockedTokenId].status == VoucherStatus.Closed) revert VoucherNothingToClaim(tokenId);
        }
        emit VoucherLocked(lockedTokenId);
    }

    /// @inheritdoc IReceivableVoucher
    function lock(address holder, uint256 tokenId) external onlyFactoring whenNotPaused {
        Token storage t = _tokens[tokenId];
        _requireActive(tokenId, t.holder, t.status);
        if (t.holder != holder) revert VoucherIncorrectHolder(holder, tokenId, t.holder);
        t.status = VoucherStatus.Locked;
        emit VoucherLocked(tokenId);
    }

    /// @inheritdoc IReceivableVoucher
    function unlock(uint256 tokenId) external onlyFactoring whenNotPaused {
        Token storage t = _requireLocked(tokenId);
        t.status = VoucherStatus.Active;
        emit VoucherUnlocked(tokenId);
    }

    /// @inheritdoc IReceivableVoucher
    function deliver(uint256 tokenId, address to, bool members) external onlyFactoring whenNotPaused {
        Token storage t = _requireLocked(tokenId);
        t.status = VoucherStatus.Active;
        emit VoucherUnlocked(tokenId);
        _handOver(t, tokenId, t.holder, to, t.epoch, members);
    }

    // ----------------------------------------------------------------------------------------
    // ERC-721 whole-voucher transfers
    // ----------------------------------------------------------------------------------------

    /// @inheritdoc IERC721
    function transferFrom(address from, address to, uint256 tokenId) public override whenNotPaused {
        Token storage t = _tokens[tokenId];
        address holder = t.holder;
        uint40 epoch = t.epoch;
        _requireActive(tokenId, holder, t.status);
        if (holder != from) revert VoucherIncorrectHolder(from, tokenId, holder);
        if (!_isAuthorized(_msgSender(), tokenId, holder, epoch)) revert VoucherUnauthorized(_msgSender(), tokenId);
        _handOver(t, tokenId, from, to, epoch, true);
    }

    /// @inheritdoc IERC721
    function safeTransferFrom(address from, address to, uint256 tokenId) external override {
        safeTransferFrom(from, to, tokenId, "");
    }

    /// @inheritdoc IERC721
    function safeTransferFrom(address from, address to, uint256 tokenId, bytes memory data) public override {
        transferFrom(from, to, tokenId);
        ERC721Utils.checkOnERC721Received(_msgSender(), from, to, tokenId, data);
    }

    // ----------------------------------------------------------------------------------------
    // Approvals
    // ----------------------------------------------------------------------------------------

    /// @inheritdoc IERC721
    function approve(address to, uint256 tokenId) external override {
        Token storage t = _tokens[tokenId];
        address holder = t.holder;
        if (holder == address(0)) revert VoucherNonexistent(tokenId);
        address caller = _msgSender();
        if (caller != holder && !_operatorApprovals[holder][caller]) revert VoucherUnauthorized(caller, tokenId);
        if (to == holder) revert VoucherInvalidOperator(to);
        _tokenApprovals[tokenId] = TokenApproval(to, t.epoch);
        emit Approval(holder, to, tokenId);
    }

    /// @inheritdoc IERC721
    function setApprovalForAll(address operator, bool approved) external override {
        if (operator == address(0) || operator == _msgSender()) revert VoucherInvalidOperator(operator);
        _operatorApprovals[_msgSender()][operator] = approved;
        emit ApprovalForAll(_msgSender(), operator, approved);
    }

    /// @inheritdoc IERC3525
    function approve(uint256 tokenId, address operator, uint256 value) external override {
        Token storage t = _tokens[tokenId];
        address holder = t.holder;
        uint40 epoch = t.epoch;
        if (holder == address(0)) revert VoucherNonexistent(tokenId);
        if (!_isAuthorized(_msgSender(), tokenId, holder, epoch)) revert VoucherUnauthorized(_msgSender(), tokenId);
        if (operator == address(0) || operator == holder) revert VoucherInvalidOperator(operator);
        // Values are 128-bit: an approval above that is an unlimited one.
        uint128 capped = value > type(uint128).max ? type(uint128).max : uint128(value);
        _allowances[tokenId][operator] = ValueAllowance(capped, epoch);
        emit ApprovalValue(tokenId, operator, capped);
    }

    // ----------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------

    function name() external pure returns (string memory) {
        return _NAME;
    }

    function symbol() external pure returns (string memory) {
        return _SYMBOL;
    }

    /// @inheritdoc IERC721Metadata
    function tokenURI(uint256 tokenId) external view returns (string memory) {
        _requireExists(tokenId);
        _describe();
    }

    /// @inheritdoc IERC3525Metadata
    function slotURI(uint256) external view returns (string memory) {
        _describe();
    }

    /// @inheritdoc IERC3525Metadata
    function contractURI() external view returns (string memory) {
        _describe();
    }

    /// @inheritdoc IReceivableVoucher
    function descriptor() external view returns (address) {
        return _descriptor;
    }

    /// @inheritdoc IERC3525
    function valueDecimals() external view override returns (uint8) {
        return _valueDecimals;
    }

    /// @inheritdoc IReceivableVoucher
    function creditLines() external view override returns (address) {
        return _creditLines;
    }

    /// @inheritdoc IReceivableVoucher
    function factoring() external view override returns (address) {
        return _factoring;
    }

    /// @inheritdoc IERC3525
    function balanceOf(uint256 tokenId) external view override returns (uint256) {
        _requireExists(tokenId);
        return _tokens[tokenId].value;
    }

    /// @inheritdoc IERC721
    function balanceOf(address holder) external view override returns (uint256) {
        if (holder == address(0)) revert VoucherInvalidReceiver(holder);
        return _accounts[holder].vouchers;
    }

    /// @inheritdoc IERC721
    function ownerOf(uint256 tokenId) external view override returns (address) {
        return _requireExists(tokenId);
    }

    /// @inheritdoc IERC3525
    function slotOf(uint256 tokenId) external view override returns (uint256) {
        _requireExists(tokenId);
        return _tokens[tokenId].receivableId;
    }

    /// @inheritdoc IERC3525
    function allowance(uint256 tokenId, address operator) external view override returns (uint256) {
        _requireExists(tokenId);
        ValueAllowance memory a = _allowances[tokenId][operator];
        return a.epoch == _tokens[tokenId].epoch ? a.value : 0;
    }

    /// @inheritdoc IERC721
    function getApproved(uint256 tokenId) external view override returns (address) {
        _requireExists(tokenId);
        TokenApproval memory a = _tokenApprovals[tokenId];
        return a.epoch == _tokens[tokenId].epoch ? a.operator : address(0);
    }

    /// @inheritdoc IERC721
    function isApprovedForAll(address holder, address operator) external view override returns (bool) {
        return _operatorApprovals[holder][operator];
    }

    /// @inheritdoc IReceivableVoucher
    function receivableOf(uint256 receivableId) external view override returns (Receivable memory) {
        ReceivableData memory r = _receivables[receivableId];
        if (r.state == ReceivableState.None) revert ReceivableNonexistent(receivableId);
        return Receivable({
            obligor: r.obligor,
            issuedAt: r.issuedAt,
            maturity: r.maturity,
            state: r.state,
            currency: ICreditLines(_creditLines).lineOf(r.lineId).currency,
            lineId: r.lineId,
            rootTokenId: r.rootTokenId,
            faceValue: r.faceValue,
            repaid: r.repaid,
            claimed: r.claimed
        });
    }

    /// @inheritdoc IReceivableVoucher
    function voucherOf(uint256 tokenId) external view override returns (Voucher memory) {
        _requireExists(tokenId);
        Token memory t = _tokens[tokenId];
        return Voucher(t.holder, t.receivableId, t.status, t.value, t.paid, t.parentId);
    }

    /// @inheritdoc IReceivableVoucher
    function parentOf(uint256 tokenId) external view override returns (uint256) {
        _requireExists(tokenId);
        return _tokens[tokenId].parentId;
    }

    /// @inheritdoc IReceivableVoucher
    function receivableOfDocument(address obligor, bytes32 documentHash) external view override returns (uint256) {
        uint256 receivableId = _documents[obligor][documentHash];
        return receivableId != 0 && _backsDocument(receivableId) ? receivableId : 0;
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) public view override(AccessControl, IERC165) returns (bool) {
        return interfaceId == type(IERC3525).interfaceId || interfaceId == type(IERC721).interfaceId
            || interfaceId == type(IERC3525Metadata).interfaceId || interfaceId == type(IERC721Metadata).interfaceId
            || super.supportsInterface(interfaceId);
    }

    // ----------------------------------------------------------------------------------------
    // Internals
    // ----------------------------------------------------------------------------------------

    function _pendingReceivable(uint256 receivableId) private view returns (ReceivableData storage r) {
        r = _receivables[receivableId];
        ReceivableState state = r.state;
        if (state == ReceivableState.None) revert ReceivableNonexistent(receivableId);
        if (state != ReceivableState.Pending) revert ReceivableNotPending(receivableId, state);
    }

    /// @dev A rejected or revoked receivable no longer backs its documents: they may back
    /// another. (Freed lazily, at the next issue with them, so cancelling needs no hash.)
    function _backsDocument(uint256 receivableId) private view returns (bool) {
        ReceivableState state = _receivables[receivableId].state;
        return state != ReceivableState.Rejected && state != ReceivableState.Revoked;
    }

    /// @dev Reject or revoke: burn the root voucher, give the credit back. The fingerprint is
    /// free from now on (see _backsDocument).
    function _cancel(uint256 receivableId, ReceivableData storage r, ReceivableState state) private {
        r.state = state;
        uint256 root = r.rootTokenId;
        uint256 faceValue = r.faceValue;
        _burn(root, _tokens[root].holder, receivableId, faceValue);
        ICreditLines(_creditLines).restore(r.lineId, faceValue, receivableId);
    }

    /// @dev Move `value` out of `fromTokenId` (held by `holder`, checked Active by the caller)
    /// into a new voucher of `to` with status `status`, carrying its share of `paid`.
    function _split(
        uint256 fromTokenId,
        Token storage from,
        address holder,
        address to,
        uint256 value,
        VoucherStatus status
    ) private returns (uint256 newTokenId) {
        uint96 balance = from.value;
        if (balance < value) revert VoucherInsufficientValue(fromTokenId, balance, value);
        _requireMember(_accounts[holder].roles, holder);
        if (to == address(0)) revert VoucherInvalidReceiver(to);
        Account memory recipient = _accounts[to];
        _requireMember(recipient.roles, to);

        Counters memory c = _counters;
        newTokenId = ++c.lastTokenId;
        _counters = c;

        uint48 receivableId = from.receivableId;
        from.value = balance - uint96(value);
        _tokens[newTokenId] = Token({
            holder: to,
            receivableId: receivableId,
            status: status,
            epoch: 0,
            value: uint96(value),
            paid: 0, // its share follows in _movePaid
            parentId: uint48(fromTokenId)
        });
        _accounts[to].vouchers = recipient.vouchers + 1;

        emit Transfer(address(0), to, newTokenId);
        emit SlotChanged(newTokenId, 0, receivableId);
        emit TransferValue(fromTokenId, newTokenId, value);
        _movePaid(fromTokenId, from, newTokenId, _tokens[newTokenId], balance, value);
    }

    /// @dev Hand the whole voucher from `from` to `to` (both members, unless `members` is false:
    /// the settlement of recourse), with a new epoch so every approval on it lapses.
    function _handOver(Token storage t, uint256 tokenId, address from, address to, uint40 epoch, bool members)
        private
    {
        if (to == address(0)) revert VoucherInvalidReceiver(to);
        Account memory sender = _accounts[from];
        Account memory recipient = _accounts[to];
        if (members) {
            _requireMember(sender.roles, from);
            _requireMember(recipient.roles, to);
        }
        _accounts[from].vouchers = sender.vouchers - 1;
        _accounts[to].vouchers = recipient.vouchers + 1;
        t.holder = to;
        t.epoch = epoch + 1;
        emit Transfer(from, to, tokenId);
    }

    /// @dev Carry `paid` with `value` of `balance` moving from `from` to `to` (values already
    /// moved). Each side is charged its exact pro-rata share of `paid` rounded UP: no part can
    /// ever claim a unit that was paid out on its units before, however the value is cut. When
    /// both shares round up, the two sides carry one unit more than was paid: that unit is the
    /// receivable's rounding remainder (released to the obligor once Settled). A side left fully
    /// paid out is Closed.
    function _movePaid(uint256 fromTokenId, Token storage from, uint256 toTokenId, Token storage to, uint96 balance, uint256 value)
        private
    {
        uint256 paid = from.paid;
        if (paid == 0) return;
        uint256 moved = Math.ceilDiv(paid * value, balance);
        uint256 kept = Math.ceilDiv(paid * (balance - value), balance);
        uint96 toPaid = to.paid + uint96(moved);
        from.paid = uint96(kept);
        to.paid = toPaid;
        emit VoucherPaidMoved(fromTokenId, toTokenId, moved);
        if (moved + kept != paid) {
            uint256 receivableId = from.receivableId;
            ReceivableData storage r = _receivables[receivableId];
            uint64 remainder = r.remainder + 1;
            r.remainder = remainder;
            emit VoucherPaidRounded(fromTokenId, receivableId, remainder);
        }
        if (kept != 0 && kept == from.value) from.status = VoucherStatus.Closed;
        if (toPaid == to.value) to.status = VoucherStatus.Closed;
    }

    /// @dev floor(value × repaid / face) − paid, capped by what the receivable still holds.
    function _claimable(uint96 value, uint96 paid, uint96 face, uint96 repaid, uint96 claimed)
        private
        pure
        returns (uint256)
    {
        uint256 entitled = (uint256(value) * repaid) / face;
        if (entitled <= paid) return 0;
        uint256 due = entitled - paid;
        uint256 available = uint256(repaid) - claimed;
        return due < available ? due : available;
    }

    /// @dev Pay `amount` of the receivable's currency out of this contract to `to`.
    function _payOut(ReceivableData storage r, address to, uint256 amount) private {
        IERC20(ICreditLines(_creditLines).lineOf(r.lineId).currency).safeTransfer(to, amount);
    }

    /// @dev Pull `amount` of `currency` from `payer`, refusing a token that delivers less.
    function _pull(IERC20 currency, address payer, uint256 amount) private {
        uint256 before = currency.balanceOf(address(this));
        currency.safeTransferFrom(payer, address(this), amount);
        uint256 received = currency.balanceOf(address(this)) - before;
        if (received != amount) revert ReceivableCurrencyShortfall(address(currency), amount, received);
    }

    function _requireLocked(uint256 tokenId) private view returns (Token storage t) {
        t = _tokens[tokenId];
        if (t.holder == address(0)) revert VoucherNonexistent(tokenId);
        if (t.status != VoucherStatus.Locked) revert VoucherNotLocked(tokenId, t.status);
    }

    /// @dev Destroy a voucher; `value` is what it still held (0 when a merge moved it out).
    /// Its ERC-721 approval is deleted with it; its value allowances (a mapping by operator, not
    /// enumerable without a write per approval) can never apply again: ids are never reused and
    /// every view of a burned id reverts. An event-only indexer lapses both on Transfer(_, 0).
    function _burn(uint256 tokenId, address holder, uint256 slot, uint256 value) private {
        delete _tokens[tokenId];
        delete _tokenApprovals[tokenId];
        _accounts[holder].vouchers -= 1;
        emit TransferValue(tokenId, 0, value);
        emit SlotChanged(tokenId, slot, 0);
        emit Transfer(holder, address(0), tokenId);
    }

    /// @dev Answer a metadata view with the descriptor's answer to the same call (IVoucherDescriptor
    /// has the same selectors): its return data, or its revert, byte for byte. Never returns.
    function _describe() private view {
        address target = _descriptor;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, 0, calldatasize())
            let ok := staticcall(gas(), target, ptr, calldatasize(), 0, 0)
            returndatacopy(ptr, 0, returndatasize())
            if iszero(ok) { revert(ptr, returndatasize()) }
            return(ptr, returndatasize())
        }
    }

    function _requireExists(uint256 tokenId) private view returns (address holder) {
        holder = _tokens[tokenId].holder;
        if (holder == address(0)) revert VoucherNonexistent(tokenId);
    }

    function _requireActive(uint256 tokenId, address holder, VoucherStatus status) private pure {
        if (holder == address(0)) revert VoucherNonexistent(tokenId);
        if (status != VoucherStatus.Active) revert VoucherNotActive(tokenId, status);
    }

    function _requireSameReceivable(uint256 fromTokenId, uint48 fromSlot, uint256 toTokenId, uint48 toSlot)
        private
        pure
    {
        if (fromTokenId == toTokenId) revert VoucherSameToken(fromTokenId);
        if (fromSlot != toSlot) revert VoucherSlotMismatch(fromTokenId, fromSlot, toTokenId, toSlot);
    }

    function _isAuthorized(address operator, uint256 tokenId, address holder, uint40 epoch)
        private
        view
        returns (bool)
    {
        if (operator == holder || _operatorApprovals[holder][operator]) return true;
        TokenApproval memory a = _tokenApprovals[tokenId];
        return a.operator == operator && a.epoch == epoch;
    }

    /// @dev Holders, their operators and the voucher's approved address move any value; anyone
    /// else spends a value allowance.
    function _spendAllowance(address operator, uint256 tokenId, address holder, uint40 epoch, uint256 value)
        private
    {
        if (_isAuthorized(operator, tokenId, holder, epoch)) return;
        ValueAllowance storage a = _allowances[tokenId][operator];
        uint256 current = a.epoch == epoch ? a.value : 0;
        if (current < value) revert VoucherInsufficientAllowance(tokenId, operator, current, value);
        if (current != type(uint128).max) {
            a.value = uint128(current - value);
            emit ApprovalValue(tokenId, operator, current - value);
        }
    }

    function _checkOnERC3525Received(address to, uint256 fromTokenId, uint256 toTokenId, uint256 value) private {
        if (to.code.length == 0) return;
        try IERC165(to).supportsInterface(type(IERC3525Receiver).interfaceId) returns (bool supported) {
            if (!supported) return;
        } catch {
            return;
        }
        try IERC3525Receiver(to).onERC3525Received(_msgSender(), fromTokenId, toTokenId, value, "") returns (
            bytes4 retval
        ) {
            if (retval != IERC3525Receiver.onERC3525Received.selector) revert VoucherInvalidReceiver(to);
        } catch {
            revert VoucherInvalidReceiver(to);
        }
    }
}
