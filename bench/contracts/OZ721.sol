// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// The whole-token transfer baseline: OpenZeppelin Contracts 5.x ERC721, unchanged, with a
// public mint like OpenZeppelin's own test mocks. Name and symbol are constants rather than
// constructor arguments: OZ 5.7 only compiles for cancun (Strings -> Bytes uses MCOPY), and
// decoding string arguments would execute MCOPY, which the shanghai node refuses.
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

contract OZ721 is ERC721 {
    constructor() ERC721("OZ ERC721", "OZ") {}

    function mint(address to, uint256 tokenId) external {
        _mint(to, tokenId);
    }
}
