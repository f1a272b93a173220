// SPDX-License-Identifier: MIT
pragma solidity ^0.8.0;

// The ERC-3525 reference implementation (npm @solvprotocol/erc-3525 1.5.0), unchanged, made
// concrete with a public mint like the package's ERC3525Mintable / ERC3525BaseMock. It imports
// OpenZeppelin 4.x: compile it with the nested copy in the package's own node_modules first.
import {ERC3525} from "@solvprotocol/erc-3525/ERC3525.sol";

contract RefERC3525 is ERC3525 {
    constructor(string memory name_, string memory symbol_, uint8 decimals_) ERC3525(name_, symbol_, decimals_) {}

    /// @dev A new token (id from the reference's own generator) with `value` in `slot`.
    function mint(address to, uint256 slot, uint256 value) external returns (uint256 tokenId) {
        tokenId = _mint(to, slot, value);
    }
}
