// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {ERC721Utils} from "@openzeppelin/contracts/token/ERC721/utils/ERC721Utils.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

import {IERC3525, IERC3525Receiver} from "./interfaces/IERC3525.sol";
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
contract ReceivableVoucher is IReceivableVoucher, Membership, Pausable {
    struct Token {
        // word 0
        address holder;
        uint48 receivableId;
        VoucherStatus status;
        uint40 epoch;
        // word 1
        uint128 value;
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

    /// @dev Three words written at issue. The currency is not stored: it is the credit line's
    /// (issue checks they match, and a line's currency never changes), which saves a word.
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
        // word 2 (written at the first repayment)
        uint128 repaid;
        // word 3
        bytes32 documentHash;
    }

    struct Counters {
        uint48 lastTokenId;
        uint48 lastReceivableId;
    }

    string private constant _NAME = "Receivable Voucher";
    string private constant _SYMBOL = "RCV";

    address private immutable _creditLines;
    uint8 private immutable _valueDecimals;

    Counters private _counters;
    mapping(uint256 tokenId => Token) private _tokens;
    mapping(uint256 tokenId => TokenApproval) private _tokenApprovals;
    mapping(uint256 tokenId => mapping(address operator => ValueAllowance)) private _allowances;
    mapping(address holder => mapping(address operator => bool)) private _operatorApprovals;
    mapping(uint256 receivableId => ReceivableData) private _receivables;
    mapping(bytes32 documentHash => uint256 receivableId) private _documents;

    /**
     * @param admin Receives DEFAULT_ADMIN_ROLE, membership and OPERATOR_ROLE.
     * @param creditLines_ The CreditLines contract this voucher contract draws on.
     * @param valueDecimals_ Decimals of every settlement currency used here (CreditLines
     * refuses a line in a currency with other decimals).
     */
    constructor(address admin, address creditLines_, uint8 valueDecimals_) Membership(admin) {
        _creditLines = creditLines_;
        _valueDecimals = valueDecimals_;
    }

    // ----------------------------------------------------------------------------------------
    // Operator
    // ----------------------------------------------------------------------------------------

    /// @notice Stop every voucher and receivable state change (operator only).
    function pause() external onlyRole(OPERATOR_ROLE) {
        _pause();
    }

    function unpause() external onlyRole(OPERATOR_ROLE) {
        _unpause();
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
        uint256 existing = _documents[documentHash];
        if (existing != 0) revert ReceivableDuplicateDocument(documentHash, existing);
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
            repaid: 0,
            documentHash: documentHash
        });
        _documents[documentHash] = receivableId;
        _tokens[tokenId] = Token({
            holder: supplier,
            receivableId: uint48(receivableId),
            status: VoucherStatus.Pending,
            epoch: 0,
            value: uint128(faceValue),
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
        uint48 receivableId = from.receivableId;
        _requireActive(fromTokenId, holder, from.status);
        if (value == 0) revert VoucherZeroValue(fromTokenId);
        _spendAllowance(_msgSender(), fromTokenId, holder, from.epoch, value);
        uint128 balance = from.value;
        if (balance < value) revert VoucherInsufficientValue(fromTokenId, balance, value);
        _requireMember(_accounts[holder].roles, holder);
        if (to == address(0)) revert VoucherInvalidReceiver(to);
        Account memory recipient = _accounts[to];
        _requireMember(recipient.roles, to);

        Counters memory c = _counters;
        newTokenId = ++c.lastTokenId;
        _counters = c;

        from.value = balance - uint128(value);
        _tokens[newTokenId] = Token({
            holder: to,
            receivableId: receivableId,
            status: VoucherStatus.Active,
            epoch: 0,
            value: uint128(value),
            parentId: uint48(fromTokenId)
        });
        _accounts[to].vouchers = recipient.vouchers + 1;

        emit Transfer(address(0), to, newTokenId);
        emit SlotChanged(newTokenId, 0, receivableId);
        emit TransferValue(fromTokenId, newTokenId, value);

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
        _spendAllowance(_msgSender(), fromTokenId, fromHolder, from.epoch, value);
        uint128 balance = from.value;
        if (balance < value) revert VoucherInsufficientValue(fromTokenId, balance, value);
        _requireMember(_accounts[fromHolder].roles, fromHolder);
        _requireMember(_accounts[toHolder].roles, toHolder);

        from.value = balance - uint128(value);
        to.value += uint128(value);
        emit TransferValue(fromTokenId, toTokenId, value);

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

        uint128 value = from.value;
        uint256 slot = from.receivableId;
        to.value += value;
        emit TransferValue(fromTokenId, toTokenId, value);
        _burn(fromTokenId, holder, slot, 0);
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
        if (to == address(0)) revert VoucherInvalidReceiver(to);
        Account memory sender = _accounts[from];
        _requireMember(sender.roles, from);
        _accounts[from].vouchers = sender.vouchers - 1;
        Account memory recipient = _accounts[to];
        _requireMember(recipient.roles, to);
        _accounts[to].vouchers = recipient.vouchers + 1;

        // One write: new holder, and a new epoch so every approval on the voucher lapses.
        t.holder = to;
        t.epoch = epoch + 1;
        emit Transfer(from, to, tokenId);
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
        emit ApprovalValue(tokenId, operator, value);
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

    /// @inheritdoc IERC3525
    function valueDecimals() external view override returns (uint8) {
        return _valueDecimals;
    }

    /// @inheritdoc IReceivableVoucher
    function creditLines() external view override returns (address) {
        return _creditLines;
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
            documentHash: r.documentHash
        });
    }

    /// @inheritdoc IReceivableVoucher
    function voucherOf(uint256 tokenId) external view override returns (Voucher memory) {
        _requireExists(tokenId);
        Token memory t = _tokens[tokenId];
        return Voucher(t.holder, t.receivableId, t.status, t.value, t.parentId);
    }

    /// @inheritdoc IReceivableVoucher
    function parentOf(uint256 tokenId) external view override returns (uint256) {
        _requireExists(tokenId);
        return _tokens[tokenId].parentId;
    }

    /// @inheritdoc IReceivableVoucher
    function receivableOfDocument(bytes32 documentHash) external view override returns (uint256) {
        return _documents[documentHash];
    }

    /// @inheritdoc IERC165
    function supportsInterface(bytes4 interfaceId) public view override(AccessControl, IERC165) returns (bool) {
        return interfaceId == type(IERC3525).interfaceId || interfaceId == type(IERC721).interfaceId
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

    /// @dev Reject or revoke: burn the root voucher, free the fingerprint, give the credit back.
    function _cancel(uint256 receivableId, ReceivableData storage r, ReceivableState state) private {
        r.state = state;
        uint256 root = r.rootTokenId;
        uint256 faceValue = r.faceValue;
        delete _documents[r.documentHash];
        _burn(root, _tokens[root].holder, receivableId, faceValue);
        ICreditLines(_creditLines).restore(r.lineId, faceValue, receivableId);
    }

    /// @dev Destroy a voucher; `value` is what it still held (0 when a merge moved it out).
    function _burn(uint256 tokenId, address holder, uint256 slot, uint256 value) private {
        delete _tokens[tokenId];
        _accounts[holder].vouchers -= 1;
        emit TransferValue(tokenId, 0, value);
        emit SlotChanged(tokenId, slot, 0);
        emit Transfer(holder, address(0), tokenId);
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
