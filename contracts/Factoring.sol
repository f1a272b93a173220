// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IFactoring} from "./interfaces/IFactoring.sol";
import {IReceivableVoucher} from "./interfaces/IReceivableVoucher.sol";

/**
 * @title Factoring
 * @notice Offers of vouchers to financiers, delivery versus payment, and recourse.
 * @dev Vouchers are locked, unlocked and delivered through the voucher contract's hooks, which
 * only this contract may call; money moves with SafeERC20 after every state change.
 */
contract Factoring is IFactoring, ReentrancyGuard {
    using SafeERC20 for IERC20;

    bytes32 public constant FINANCIER_ROLE = keccak256("FINANCIER_ROLE");
    uint256 private constant _BPS = 10_000;
    uint256 private constant _DAYS_PER_YEAR = 365;
    /// @notice The seller's window to pay recourse after it is exercised, in seconds not paused.
    uint256 public constant RECOURSE_WINDOW = 30 days;

    IReceivableVoucher public immutable voucher;

    uint256 private _lastOfferId;
    mapping(uint256 offerId => Offer) private _offers;

    constructor(IReceivableVoucher voucher_) {
        voucher = voucher_;
    }

    /// @inheritdoc IFactoring
    function offer(uint256 tokenId, uint256 value, address financier, uint256 rateBps, bool recourse, uint256 deadline)
        external
        returns (uint256 offerId, uint256 lockedTokenId)
    {
        _requireNotPaused();
        if (deadline <= block.timestamp || deadline > type(uint40).max) {
            revert FactoringInvalidDeadline(deadline, block.timestamp);
        }
        if (rateBps > _BPS) revert FactoringInvalidRate(rateBps);
        if (financier == msg.sender) revert FactoringSelfDeal(0, msg.sender);
        if (financier != address(0)) _requireFinancier(financier);
        uint256 receivableId = voucher.slotOf(tokenId);
        IReceivableVoucher.Receivable memory r = voucher.receivableOf(receivableId);
        // Past maturity + grace it is overdue, marked so or not: nothing left to discount.
        if (r.state == IReceivableVoucher.ReceivableState.Active) _requireNotOverdue(receivableId);
        uint256 daysLeft = _daysLeft(r.maturity, block.timestamp);
        if (value > 0 && priceOf(value, rateBps, r.maturity, block.timestamp) == 0) {
            revert FactoringZeroPrice(value, rateBps, daysLeft);
        }
        // Locks the value (checks holder, status, receivable state and balance).
        lockedTokenId = voucher.lockForOffer(msg.sender, tokenId, value);

        offerId = ++_lastOfferId;
        _offers[offerId] = Offer({
            seller: msg.sender,
            tokenId: uint48(lockedTokenId),
            rateBps: uint16(rateBps),
            recourse: recourse,
            state: OfferState.Open,
            financier: financier,
            deadline: uint40(deadline),
            recourseState: RecourseState.None,
            value: uint96(value),
            price: 0,
            paidAtDeal: 0,
            recourseAmount: 0,
            recourseWindowEnd: 0
        });
        emit OfferCreated(offerId, msg.sender, lockedTokenId, financier, value, rateBps, recourse, deadline);
    }

    /// @inheritdoc IFactoring
    function cancel(uint256 offerId) external {
        _requireNotPaused();
        Offer storage o = _existing(offerId);
        if (o.seller != msg.sender) revert FactoringNotSeller(offerId, msg.sender);
        if (o.state != OfferState.Open) revert FactoringOfferNotOpen(offerId, o.state);
        o.state = OfferState.Cancelled;
        emit OfferCancelled(offerId, msg.sender);
        // A voucher fully paid out while offered is Closed already: nothing to unlock.
        if (_statusOf(o.tokenId) == IReceivableVoucher.VoucherStatus.Locked) voucher.unlock(o.tokenId);
    }

    /// @inheritdoc IFactoring
    function accept(uint256 offerId, uint256 maxPrice, uint256 minUnpaidValue)
        external
        nonReentrant
        returns (uint256 price)
    {
        _requireNotPaused();
        Offer storage o = _existing(offerId);
        if (o.state != OfferState.Open) revert FactoringOfferNotOpen(offerId, o.state);
        if (block.timestamp > o.deadline) revert FactoringOfferExpired(offerId, o.deadline, block.timestamp);
        _requireFinancier(msg.sender);
        if (o.seller == msg.sender) revert FactoringSelfDeal(offerId, msg.sender);
        if (o.financier != address(0) && o.financier != msg.sender) {
            revert FactoringNotOfferee(offerId, o.financier, msg.sender);
        }
        uint256 tokenId = o.tokenId;
        IReceivableVoucher.Voucher memory v = voucher.voucherOf(tokenId);
        uint256 receivableId = v.receivableId;
        IReceivableVoucher.Receivable memory r = voucher.receivableOf(receivableId);
        if (r.state != IReceivableVoucher.ReceivableState.Active) {
            revert FactoringReceivableNotActive(receivableId, uint8(r.state));
        }
        _requireNotOverdue(receivableId);
        // The seller may claim on the locked voucher: what was repaid before the sale is its own.
        // The financier pays only for what is still to be paid out on the voucher.
        uint256 unpaid = v.value - v.paid;
        if (unpaid < minUnpaidValue) revert FactoringUnpaidValueBelowLimit(offerId, unpaid, minUnpaidValue);
        price = priceOf(unpaid, o.rateBps, r.maturity, block.timestamp);
        if (price > maxPrice) revert FactoringPriceAboveLimit(offerId, price, maxPrice);
        address seller = o.seller;

        o.state = OfferState.Accepted;
        o.financier = msg.sender;
        o.price = uint96(price);
        o.paidAtDeal = v.paid;
        emit Factored(offerId, seller, msg.sender, tokenId, o.value, price, o.rateBps, o.recourse);

        // Both legs or neither: the delivery and the payment revert together.
        voucher.deliver(tokenId, msg.sender, true);
        _pay(IERC20(r.currency), msg.sender, seller, price);
    }

    /// @inheritdoc IFactoring
    function exerciseRecourse(uint256 offerId) external returns (uint256 amount) {
        _requireNotPaused();
        Offer storage o = _deal(offerId);
        if (o.financier != msg.sender) revert FactoringNotDealFinancier(offerId, msg.sender);
        if (!o.recourse) revert FactoringWithoutRecourse(offerId);
        if (o.recourseState != RecourseState.None) revert FactoringRecourseState(offerId, o.recourseState);
        uint256 tokenId = o.tokenId;
        IReceivableVoucher.Voucher memory v = voucher.voucherOf(tokenId);
        IReceivableVoucher.ReceivableState state = voucher.receivableOf(v.receivableId).state;
        if (state != IReceivableVoucher.ReceivableState.Overdue && state != IReceivableVoucher.ReceivableState.Defaulted) {
            revert FactoringReceivableNotOverdue(v.receivableId, uint8(state));
        }
        if (v.holder != msg.sender) revert FactoringVoucherNotHeld(offerId, tokenId, v.holder);
        if (v.value != o.value) revert FactoringVoucherValueChanged(offerId, tokenId, v.value, o.value);

        amount = _owed(o, v.paid);
        o.recourseState = RecourseState.Claimed;
        o.recourseAmount = uint96(amount);
        // On the clock that stops during pauses: a pause never shortens the seller's window.
        o.recourseWindowEnd = uint40(block.timestamp - voucher.pausedTime() + RECOURSE_WINDOW);
        emit RecourseExercised(offerId, msg.sender, o.seller, amount);
        voucher.lock(msg.sender, tokenId);
    }

    /// @inheritdoc IFactoring
    function payRecourse(uint256 offerId) external nonReentrant returns (uint256 amount) {
        _requireNotPaused();
        Offer storage o = _deal(offerId);
        if (o.seller != msg.sender) revert FactoringNotSeller(offerId, msg.sender);
        if (o.recourseState != RecourseState.Claimed) revert FactoringRecourseState(offerId, o.recourseState);
        uint256 tokenId = o.tokenId;
        IReceivableVoucher.Voucher memory v = voucher.voucherOf(tokenId);
        // Repayments the financier claimed while the recourse was open reduce what is owed.
        amount = _owed(o, v.paid);
        address financier = o.financier;
        o.recourseState = RecourseState.Paid;
        o.recourseAmount = uint96(amount);
        emit RecoursePaid(offerId, msg.sender, financier, amount);

        // Neither side's membership matters: the currency leg needs none, and the seller paid for
        // the voucher under the deal's terms (an expelled seller holds it frozen).
        if (v.status == IReceivableVoucher.VoucherStatus.Locked) voucher.deliver(tokenId, msg.sender, false);
        if (amount != 0) {
            IERC20 currency = IERC20(voucher.receivableOf(v.receivableId).currency);
            _pay(currency, msg.sender, financier, amount);
        }
    }

    /// @inheritdoc IFactoring
    function endRecourse(uint256 offerId) external returns (uint256 unpaid) {
        _requireNotPaused();
        Offer storage o = _deal(offerId);
        if (o.financier != msg.sender) revert FactoringNotDealFinancier(offerId, msg.sender);
        if (o.recourseState != RecourseState.Claimed) revert FactoringRecourseState(offerId, o.recourseState);
        uint256 endsAt = _recourseEndsAt(o);
        if (block.timestamp <= endsAt) revert FactoringRecourseWindowOpen(offerId, endsAt, block.timestamp);
        uint256 tokenId = o.tokenId;
        IReceivableVoucher.Voucher memory v = voucher.voucherOf(tokenId);
        unpaid = _owed(o, v.paid);
        o.recourseState = RecourseState.Lapsed;
        o.recourseAmount = uint96(unpaid);
        emit RecourseLapsed(offerId, msg.sender, o.seller, unpaid);
        // Fully paid out while claimed, it is Closed already: nothing to unlock.
        if (v.status == IReceivableVoucher.VoucherStatus.Locked) voucher.unlock(tokenId);
    }

    /// @inheritdoc IFactoring
    function recourseEndsAt(uint256 offerId) external view returns (uint256) {
        Offer storage o = _existing(offerId);
        return o.recourseState == RecourseState.Claimed ? _recourseEndsAt(o) : 0;
    }

    /// @inheritdoc IFactoring
    function quote(uint256 offerId) external view returns (uint256) {
        Offer storage o = _existing(offerId);
        IReceivableVoucher.Voucher memory v = voucher.voucherOf(o.tokenId);
        IReceivableVoucher.Receivable memory r = voucher.receivableOf(v.receivableId);
        return priceOf(v.value - v.paid, o.rateBps, r.maturity, block.timestamp);
    }

    /// @inheritdoc IFactoring
    function recourseDue(uint256 offerId) external view returns (uint256) {
        Offer storage o = _existing(offerId);
        if (o.recourseState != RecourseState.Claimed) return 0;
        return _owed(o, voucher.voucherOf(o.tokenId).paid);
    }

    /// @inheritdoc IFactoring
    function offerOf(uint256 offerId) external view returns (Offer memory) {
        return _existing(offerId);
    }

    /// @inheritdoc IFactoring
    function priceOf(uint256 value, uint256 rateBps, uint256 maturity, uint256 timestamp)
        public
        pure
        returns (uint256)
    {
        uint256 discount = (value * rateBps * _daysLeft(maturity, timestamp)) / (_BPS * _DAYS_PER_YEAR);
        return discount >= value ? 0 : value - discount;
    }

    /// @dev The window's end in block time: its end on the pause-stopped clock + time paused.
    function _recourseEndsAt(Offer storage o) private view returns (uint256) {
        return uint256(o.recourseWindowEnd) + voucher.pausedTime();
    }

    function _daysLeft(uint256 maturity, uint256 timestamp) private pure returns (uint256) {
        return maturity > timestamp ? (maturity - timestamp) / 1 days : 0;
    }

    /// @dev The price, less what the voucher was paid out since the deal; never below zero.
    /// `paidNow` can be below `paidAtDeal`: value that moved out of the voucher took its paid
    /// share along, and value that moved back in may carry less. Then nothing was received on it.
    function _owed(Offer storage o, uint96 paidNow) private view returns (uint256) {
        uint256 paidAtDeal = o.paidAtDeal;
        uint256 received = paidNow > paidAtDeal ? paidNow - paidAtDeal : 0;
        return received >= o.price ? 0 : o.price - received;
    }

    /// @dev Move `amount` from `from` to `to`, refusing a currency that delivers less.
    function _pay(IERC20 currency, address from, address to, uint256 amount) private {
        uint256 before = currency.balanceOf(to);
        currency.safeTransferFrom(from, to, amount);
        uint256 received = currency.balanceOf(to) - before;
        if (received != amount) revert FactoringCurrencyShortfall(address(currency), amount, received);
    }

    function _existing(uint256 offerId) private view returns (Offer storage o) {
        o = _offers[offerId];
        if (o.state == OfferState.None) revert FactoringOfferNonexistent(offerId);
    }

    function _deal(uint256 offerId) private view returns (Offer storage o) {
        o = _existing(offerId);
        if (o.state != OfferState.Accepted) revert FactoringNotDeal(offerId, o.state);
    }

    function _statusOf(uint256 tokenId) private view returns (IReceivableVoucher.VoucherStatus) {
        return voucher.voucherOf(tokenId).status;
    }

    /// @dev The voucher contract's pause stops every offer, deal and recourse step (the policy in
    /// IReceivableVoucher), also those that would not reach its hooks (e.g. a closed voucher's).
    function _requireNotPaused() private view {
        if (voucher.paused()) revert Pausable.EnforcedPause();
    }

    /// @dev Past {IReceivableVoucher-overdueAt} (maturity + grace + time paused since issue) a
    /// receivable is overdue whether or not anyone marked it: it cannot be offered nor bought.
    function _requireNotOverdue(uint256 receivableId) private view {
        uint256 overdueAt = voucher.overdueAt(receivableId);
        if (block.timestamp > overdueAt) revert FactoringReceivableOverdue(receivableId, overdueAt, block.timestamp);
    }

    function _requireFinancier(address account) private view {
        if (!IAccessControl(address(voucher)).hasRole(FINANCIER_ROLE, account)) {
            revert IAccessControl.AccessControlUnauthorizedAccount(account, FINANCIER_ROLE);
        }
    }
}
