// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @title Factoring: holders sell vouchers to financiers at a discount, delivery versus payment
 * @dev
 * - Pause (the ledger's one policy, stated in IReceivableVoucher): while the voucher contract
 *   is paused, {offer}, {cancel}, {accept}, {exerciseRecourse} and {payRecourse} MUST revert
 *   with EnforcedPause before anything changes. An offer's deadline stays a calendar date (the
 *   seller may cancel at any time, so no one holds a right to its window); any period that
 *   protects a party (e.g. a recourse window) MUST not run while paused (pausedTime()).
 * - {offer}: a voucher's holder offers it, or part of its value, to one named FINANCIER or to
 *   every financier (`financier` = 0), at an annual discount rate in basis points, with or
 *   without recourse, until a deadline. The offered value MUST be locked in the voucher
 *   contract (a part is split off into a new voucher of the seller first): it cannot be
 *   transferred, split, merged or offered again while the offer stands. A voucher of an
 *   Overdue, Defaulted or Settled receivable MUST NOT be offered.
 * - Being overdue is a matter of time, not only of the stored state: once block time is past
 *   the receivable's overdueAt (maturity + the line's grace period + time paused since issue),
 *   {offer} and {accept} MUST revert with FactoringReceivableOverdue(receivableId, overdueAt,
 *   timestamp) even if no one called markOverdue (nothing is left to discount: it would be sold
 *   at par while it is late). Every later way to sell value (pools, programmes) MUST check the
 *   same. (Recourse needs the state Overdue or Defaulted: anyone may mark it once due.)
 * - {cancel}: the seller withdraws an open offer (also after its deadline) and the voucher is
 *   unlocked.
 * - {accept}: a FINANCIER (the named one, if any) takes an open, unexpired offer of an Active
 *   receivable. In one transaction the voucher moves to the financier and the price moves
 *   from the financier to the seller in the receivable's currency (the financier approves
 *   this contract first); if either leg fails, nothing moves. The first acceptance wins;
 *   later ones revert with FactoringOfferNotOpen. A seller cannot buy its own offer, nor name
 *   itself as the offeree (FactoringSelfDeal).
 * - A financier pays only for unpaid value: the price MUST be computed at acceptance on the
 *   voucher's unpaid value, value − paid (what the seller claimed on its units before the
 *   sale, also while the voucher was locked by the offer, is the seller's and is not paid for
 *   twice). The locked voucher still claims, so the unpaid value can fall between a quote and
 *   the acceptance: {accept} carries the financier's own limits and MUST revert with
 *   FactoringUnpaidValueBelowLimit(offerId, unpaid, minUnpaidValue) when the unpaid value is
 *   below `minUnpaidValue`, and with FactoringPriceAboveLimit(offerId, price, maxPrice) when
 *   the price is above `maxPrice`, before anything moves. Every later way to sell value
 *   (pools, programmes) MUST follow the same rule.
 * - Price: unpaid − discount, discount = floor(unpaid × rateBps × daysLeft / (10,000 × 365)),
 *   daysLeft = whole days from now to maturity (a part day is dropped; 0 after maturity).
 *   Day count Actual/365 Fixed. Both roundings (the part day and the discount) favour the
 *   seller, never the financier who triggers the computation. The price only rises as
 *   maturity nears, so a `maxPrice` taken from {quote} can be passed by a day boundary.
 * - Recourse: once the receivable is Overdue (or Defaulted), the financier of a deal made with
 *   recourse MAY {exerciseRecourse} while it still holds the deal's voucher with its value
 *   unchanged; the voucher is locked. The seller owes the price it was paid, less what the
 *   voucher has been paid out since the deal (the financier is never paid twice), and nothing
 *   else. {payRecourse}: the seller pays that amount to the financier and takes the voucher
 *   back, in one transaction.
 * - No value is trapped by a party's silence or expulsion. The seller has RECOURSE_WINDOW
 *   (30 days, on the clock that stops during pauses) from the exercise to pay; it MAY pay later
 *   as long as the financier has not ended the recourse. Once the window is over the financier
 *   MAY {endRecourse}: the voucher MUST be unlocked and stay with the financier, the recourse
 *   becomes Lapsed, and what the seller left unpaid MUST be recorded (RecourseLapsed and the
 *   offer's recourseAmount); before, it MUST revert with FactoringRecourseWindowOpen(offerId,
 *   endsAt, timestamp). {payRecourse} MUST work whatever the membership of the seller or the
 *   financier (the currency leg needs none): the voucher goes back to the seller, who, if
 *   expelled, holds it frozen like the vouchers it held when expelled (it still claims; it
 *   moves once readmitted). {exerciseRecourse} and {endRecourse} need no membership either.
 */
interface IFactoring {
    enum OfferState {
        None,
        Open,
        Accepted,
        Cancelled
    }

    enum RecourseState {
        None,
        Claimed,
        Paid,
        Lapsed
    }

    struct Offer {
        address seller;
        uint48 tokenId;
        uint16 rateBps;
        bool recourse;
        OfferState state;
        address financier;
        uint40 deadline;
        RecourseState recourseState;
        uint96 value;
        uint96 price;
        uint96 paidAtDeal;
        uint96 recourseAmount;
        /// @dev When the seller's window to pay recourse ends, on the clock that stops during
        /// pauses (block time − pausedTime()); {recourseEndsAt} gives it in block time.
        uint40 recourseWindowEnd;
    }

    event OfferCreated(
        uint256 indexed offerId,
        address indexed seller,
        uint256 indexed tokenId,
        address financier,
        uint256 value,
        uint256 rateBps,
        bool recourse,
        uint256 deadline
    );
    event OfferCancelled(uint256 indexed offerId, address indexed seller);
    /// @dev The deal: who financed what, at what price and rate, with or without recourse.
    event Factored(
        uint256 indexed offerId,
        address indexed seller,
        address indexed financier,
        uint256 tokenId,
        uint256 value,
        uint256 price,
        uint256 rateBps,
        bool recourse
    );
    event RecourseExercised(uint256 indexed offerId, address indexed financier, address indexed seller, uint256 amount);
    event RecoursePaid(uint256 indexed offerId, address indexed seller, address indexed financier, uint256 amount);
    /// @dev The seller did not pay within the window: the financier keeps the voucher, unlocked;
    /// `amount` is the recourse the seller left unpaid (its debt, recorded here and in the offer).
    event RecourseLapsed(uint256 indexed offerId, address indexed financier, address indexed seller, uint256 amount);

    error FactoringOfferNonexistent(uint256 offerId);
    error FactoringOfferNotOpen(uint256 offerId, OfferState state);
    error FactoringOfferExpired(uint256 offerId, uint256 deadline, uint256 timestamp);
    error FactoringNotSeller(uint256 offerId, address account);
    error FactoringNotOfferee(uint256 offerId, address offeree, address account);
    error FactoringInvalidDeadline(uint256 deadline, uint256 timestamp);
    error FactoringInvalidRate(uint256 rateBps);
    error FactoringZeroPrice(uint256 value, uint256 rateBps, uint256 daysLeft);
    error FactoringReceivableNotActive(uint256 receivableId, uint8 state);
    error FactoringReceivableNotOverdue(uint256 receivableId, uint8 state);
    error FactoringWithoutRecourse(uint256 offerId);
    error FactoringNotDeal(uint256 offerId, OfferState state);
    error FactoringNotDealFinancier(uint256 offerId, address account);
    error FactoringRecourseState(uint256 offerId, RecourseState state);
    error FactoringVoucherNotHeld(uint256 offerId, uint256 tokenId, address holder);
    error FactoringVoucherValueChanged(uint256 offerId, uint256 tokenId, uint256 value, uint256 expected);
    error FactoringCurrencyShortfall(address currency, uint256 expected, uint256 received);
    error FactoringSelfDeal(uint256 offerId, address account);
    /// @dev Past maturity + grace (+ time paused) the receivable is overdue, marked so or not.
    error FactoringReceivableOverdue(uint256 receivableId, uint256 overdueAt, uint256 timestamp);
    /// @dev The seller's window to pay recourse is still open until `endsAt`.
    error FactoringRecourseWindowOpen(uint256 offerId, uint256 endsAt, uint256 timestamp);
    /// @dev At acceptance the price exceeds the financier's limit.
    error FactoringPriceAboveLimit(uint256 offerId, uint256 price, uint256 maxPrice);
    /// @dev At acceptance the voucher's unpaid value (value − paid) is below the financier's limit.
    error FactoringUnpaidValueBelowLimit(uint256 offerId, uint256 unpaidValue, uint256 minUnpaidValue);

    function offer(uint256 tokenId, uint256 value, address financier, uint256 rateBps, bool recourse, uint256 deadline)
        external
        returns (uint256 offerId, uint256 lockedTokenId);

    function cancel(uint256 offerId) external;

    /// @notice Buy the offer at the price of its voucher's unpaid value now, within the caller's
    /// limits: at most `maxPrice`, for at least `minUnpaidValue` of unpaid value.
    function accept(uint256 offerId, uint256 maxPrice, uint256 minUnpaidValue) external returns (uint256 price);

    function exerciseRecourse(uint256 offerId) external returns (uint256 amount);

    function payRecourse(uint256 offerId) external returns (uint256 amount);

    /// @notice The seller left recourse unpaid past the window: the financier takes its voucher
    /// back unlocked; returns the recourse left unpaid (recorded as the seller's debt).
    function endRecourse(uint256 offerId) external returns (uint256 unpaid);

    /// @notice When the seller's window to pay a claimed recourse ends, in block time (0 unless
    /// claimed); a later pause moves it on by the time paused.
    function recourseEndsAt(uint256 offerId) external view returns (uint256);

    /// @notice The price {accept} would pay now: on the voucher's unpaid value (value − paid).
    function quote(uint256 offerId) external view returns (uint256 price);

    /// @notice What the seller owes under recourse now (0 when not exercised or paid).
    function recourseDue(uint256 offerId) external view returns (uint256);

    function offerOf(uint256 offerId) external view returns (Offer memory);

    /// @notice The price formula: value less the discount for whole days left to maturity.
    function priceOf(uint256 value, uint256 rateBps, uint256 maturity, uint256 timestamp)
        external
        pure
        returns (uint256 price);
}
