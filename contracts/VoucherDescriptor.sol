// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Base64} from "@openzeppelin/contracts/utils/Base64.sol";

import {IReceivableVoucher} from "./interfaces/IReceivableVoucher.sol";
import {IVoucherDescriptor} from "./interfaces/IVoucherDescriptor.sol";

/**
 * @title VoucherDescriptor
 * @notice Builds the ERC-3525 metadata of receivable vouchers (tokenURI, slotURI, contractURI)
 * from the voucher contract's views, as base64 JSON data: URIs.
 * @dev Stateless apart from the voucher's address; the voucher calls it from views only. Kept
 * apart so the voucher stays under the EIP-170 size limit and no write pays for metadata.
 */
contract VoucherDescriptor is IVoucherDescriptor {
    string private constant _PREFIX = "data:application/json;base64,";

    IReceivableVoucher private immutable _voucher;

    constructor(address voucher_) {
        _voucher = IReceivableVoucher(voucher_);
    }

    /// @inheritdoc IVoucherDescriptor
    function voucher() external view returns (address) {
        return address(_voucher);
    }

    /// @inheritdoc IVoucherDescriptor
    function contractURI() external view returns (string memory) {
        return _uri(
            string.concat(
                '{"name":"', _voucher.name(),
                '","description":"Receivables of core enterprises as ERC-3525 vouchers: a slot is one receivable (an obligor\'s promise to pay its face value at maturity), a voucher holds part of its value and claims that part of every repayment.","valueDecimals":',
                _decimal(uint256(_voucher.valueDecimals())), "}"
            )
        );
    }

    /// @inheritdoc IVoucherDescriptor
    function slotURI(uint256 slot) external view returns (string memory) {
        IReceivableVoucher.Receivable memory r = _voucher.receivableOf(slot);
        string memory id = _decimal(slot);
        return _uri(
            string.concat(
                '{"name":"Receivable #', id,
                '","description":"Receivable ', id, " of obligor ", _checksummed(r.obligor),
                ', payable at maturity.","properties":[',
                _property("obligor", _quoted(_checksummed(r.obligor))), ",",
                _property("currency", _quoted(_checksummed(r.currency))), ",",
                _property("faceValue", _quoted(_decimal(uint256(r.faceValue)))), ",",
                _property("repaid", _quoted(_decimal(uint256(r.repaid)))), ",",
                _slotTail(r), "]}"
            )
        );
    }

    /// @inheritdoc IVoucherDescriptor
    function tokenURI(uint256 tokenId) external view returns (string memory) {
        IReceivableVoucher.Voucher memory v = _voucher.voucherOf(tokenId);
        IReceivableVoucher.Receivable memory r = _voucher.receivableOf(v.receivableId);
        string memory id = _decimal(tokenId);
        string memory slot = _decimal(uint256(v.receivableId));
        return _uri(
            string.concat(
                '{"name":"Receivable Voucher #', id,
                '","description":"Voucher ', id, " of receivable ", slot, ": ", _decimal(uint256(v.value)),
                " of ", _decimal(uint256(r.faceValue)), " units owed by ", _checksummed(r.obligor),
                '.","balance":"', _decimal(uint256(v.value)), '","slot":"', slot, '","properties":{',
                _voucherPart(v, slot), ",", _receivablePart(r), "}}"
            )
        );
    }

    function _voucherPart(IReceivableVoucher.Voucher memory v, string memory slot)
        private
        pure
        returns (string memory)
    {
        return string.concat(
            '"receivable":"', slot, '","holder":"', _checksummed(v.holder),
            '","value":"', _decimal(uint256(v.value)), '","paid":"', _decimal(uint256(v.paid)),
            '","unpaid":"', _decimal(uint256(v.value - v.paid)), '","status":"', _status(v.status),
            '","parent":"', _decimal(uint256(v.parentId)), '"'
        );
    }

    function _receivablePart(IReceivableVoucher.Receivable memory r) private view returns (string memory) {
        return string.concat(
            '"obligor":"', _checksummed(r.obligor), '","currency":"', _checksummed(r.currency),
            '","faceValue":"', _decimal(uint256(r.faceValue)), '","repaid":"', _decimal(uint256(r.repaid)),
            '","maturity":', _decimal(uint256(r.maturity)), ',"receivableState":"', _state(r.state),
            '","valueDecimals":', _decimal(uint256(_voucher.valueDecimals()))
        );
    }

    function _slotTail(IReceivableVoucher.Receivable memory r) private pure returns (string memory) {
        return string.concat(
            _property("claimed", _quoted(_decimal(uint256(r.claimed)))), ",",
            _property("maturity", _decimal(uint256(r.maturity))), ",",
            _property("issuedAt", _decimal(uint256(r.issuedAt))), ",",
            _property("state", _quoted(_state(r.state))), ",",
            _property("lineId", _decimal(uint256(r.lineId))), ",",
            _property("rootTokenId", _decimal(uint256(r.rootTokenId)))
        );
    }

    function _property(string memory name, string memory value) private pure returns (string memory) {
        return string.concat('{"name":"', name, '","value":', value, ',"is_intrinsic":true}');
    }

    function _quoted(string memory value) private pure returns (string memory) {
        return string.concat('"', value, '"');
    }

    function _uri(string memory json) private pure returns (string memory) {
        return string.concat(_PREFIX, Base64.encode(bytes(json)));
    }

    function _status(IReceivableVoucher.VoucherStatus status) private pure returns (string memory) {
        if (status == IReceivableVoucher.VoucherStatus.Pending) return "Pending";
        if (status == IReceivableVoucher.VoucherStatus.Active) return "Active";
        if (status == IReceivableVoucher.VoucherStatus.Locked) return "Locked";
        if (status == IReceivableVoucher.VoucherStatus.Closed) return "Closed";
        return "None";
    }

    function _state(IReceivableVoucher.ReceivableState state) private pure returns (string memory) {
        if (state == IReceivableVoucher.ReceivableState.Pending) return "Pending";
        if (state == IReceivableVoucher.ReceivableState.Active) return "Active";
        if (state == IReceivableVoucher.ReceivableState.Rejected) return "Rejected";
        if (state == IReceivableVoucher.ReceivableState.Revoked) return "Revoked";
        if (state == IReceivableVoucher.ReceivableState.Settled) return "Settled";
        if (state == IReceivableVoucher.ReceivableState.Overdue) return "Overdue";
        if (state == IReceivableVoucher.ReceivableState.Defaulted) return "Defaulted";
        return "None";
    }

    /// @dev Decimal digits of `value` (OpenZeppelin's Strings needs a Cancun EVM; we target Shanghai).
    function _decimal(uint256 value) private pure returns (string memory) {
        if (value == 0) return "0";
        uint256 digits = 0;
        for (uint256 v = value; v != 0; v /= 10) {
            ++digits;
        }
        bytes memory out = new bytes(digits);
        for (; value != 0; value /= 10) {
            out[--digits] = bytes1(uint8(48 + (value % 10)));
        }
        return string(out);
    }

    /// @dev The EIP-55 checksummed hex form of `account`.
    function _checksummed(address account) private pure returns (string memory) {
        bytes memory lower = new bytes(40);
        uint160 a = uint160(account);
        for (uint256 i = 40; i != 0; a >>= 4) {
            uint8 nibble = uint8(a & 0xf);
            lower[--i] = bytes1(nibble < 10 ? 48 + nibble : 87 + nibble);
        }
        bytes32 hash = keccak256(lower);
        bytes memory out = new bytes(42);
        out[0] = "0";
        out[1] = "x";
        for (uint256 i; i < 40; ++i) {
            bytes1 c = lower[i];
            // a letter whose hash nibble is 8 or more is upper case
            if (c > "9" && uint8(hash[i / 2] >> (i % 2 == 0 ? 4 : 0)) & 0xf >= 8) c = bytes1(uint8(c) - 32);
            out[i + 2] = c;
        }
        return string(out);
    }
}
