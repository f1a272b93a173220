// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC721Receiver} from "@openzeppelin/contracts/token/ERC721/IERC721Receiver.sol";
import {IERC3525Receiver} from "../interfaces/IERC3525.sol";

/// @dev A contract holder (e.g. a multisig) that accepts or refuses vouchers, for tests.
contract VoucherReceiverMock is IERC165, IERC3525Receiver, IERC721Receiver {
    event Received(address operator, uint256 fromTokenId, uint256 toTokenId, uint256 value);

    bool public accepting;

    constructor(bool accepting_) {
        accepting = accepting_;
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC165).interfaceId || interfaceId == type(IERC3525Receiver).interfaceId
            || interfaceId == type(IERC721Receiver).interfaceId;
    }

    function onERC3525Received(address operator, uint256 fromTokenId, uint256 toTokenId, uint256 value, bytes calldata)
        external
        returns (bytes4)
    {
        if (!accepting) return bytes4(0xdeadbeef);
        emit Received(operator, fromTokenId, toTokenId, value);
        return IERC3525Receiver.onERC3525Received.selector;
    }

    function onERC721Received(address, address, uint256, bytes calldata) external view returns (bytes4) {
        return accepting ? IERC721Receiver.onERC721Received.selector : bytes4(0xdeadbeef);
    }
}
