// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @title The metadata of receivable vouchers, as wallets read it
 * @dev ReceivableVoucher forwards tokenURI, slotURI and contractURI here (views only), so the
 * JSON building code neither weighs on the voucher's size nor on the gas of any write. Every
 * function MUST return a `data:application/json;base64,` URI whose JSON is built from the
 * voucher contract's own views at the time of the call, and MUST revert as those views do
 * (VoucherNonexistent, ReceivableNonexistent) for what does not exist.
 *
 * Token JSON (ERC-3525 token metadata): name, description, balance (= value), slot
 * (= receivable id), and properties: receivable, holder, value, paid, unpaid (value − paid:
 * what its units may still receive), status (Pending/Active/Locked/Closed), parent, obligor, currency,
 * faceValue, repaid, maturity (unix seconds), receivableState
 * (Pending/Active/Rejected/Revoked/Settled/Overdue/Defaulted), valueDecimals.
 * Slot JSON: name, description, and properties (an array of {name, value, is_intrinsic}):
 * obligor, currency, faceValue, repaid, claimed, maturity, issuedAt, state, lineId, rootTokenId.
 * Contract JSON: name, description, valueDecimals.
 * Amounts are integers in the currency's smallest unit, written as JSON strings (they can
 * exceed 2^53); addresses are checksummed hex strings.
 */
interface IVoucherDescriptor {
    /// @notice The voucher contract this descriptor describes.
    function voucher() external view returns (address);

    function tokenURI(uint256 tokenId) external view returns (string memory);

    function slotURI(uint256 slot) external view returns (string memory);

    function contractURI() external view returns (string memory);
}
