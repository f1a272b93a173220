// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC721Metadata} from "@openzeppelin/contracts/token/ERC721/extensions/IERC721Metadata.sol";

/**
 * @title ERC-3525 Semi-Fungible Token Standard
 * @dev See https://eips.ethereum.org/EIPS/eip-3525. The ERC-165 identifier is 0xd5358140.
 * Every ERC-3525 token is also an ERC-721 token (identifier 0x80ac58cd).
 *
 * A token has an id, a slot and a value. Tokens of the same slot are fungible by value.
 *
 * The standard declares approve and both value transferFrom functions `payable`. Vouchers are
 * never paid for in ether, so here they are nonpayable: a call with ether reverts. Mutability is
 * not part of a selector, so the ERC-165 identifier is unchanged.
 */
interface IERC3525 is IERC721 {
    /**
     * @dev MUST emit when value of a token is transferred to another token with the same slot,
     * including zero value transfers (_value == 0) as well as transfers when tokens are created
     * (`_fromTokenId` == 0) or destroyed (`_toTokenId` == 0).
     */
    event TransferValue(uint256 indexed _fromTokenId, uint256 indexed _toTokenId, uint256 _value);

    /**
     * @dev MUST emit when the approval value of a token is set or changed.
     */
    event ApprovalValue(uint256 indexed _tokenId, address indexed _operator, uint256 _value);

    /**
     * @dev MUST emit when the slot of a token is set or changed, including when a token is
     * created (`_oldSlot` == 0) or destroyed (`_newSlot` == 0).
     */
    event SlotChanged(uint256 indexed _tokenId, uint256 indexed _oldSlot, uint256 indexed _newSlot);

    /// @notice Get the number of decimals the token uses for value.
    function valueDecimals() external view returns (uint8);

    /// @notice Get the value of a token. MUST revert for a nonexistent token.
    function balanceOf(uint256 _tokenId) external view returns (uint256);

    /// @notice Get the slot of a token. MUST revert for a nonexistent token.
    function slotOf(uint256 _tokenId) external view returns (uint256);

    /**
     * @notice Allow an operator to manage the value of a token, up to the `_value` amount.
     * @dev MUST revert unless caller is the current owner, an authorized operator, or the
     * approved address for `_tokenId`. MUST emit ApprovalValue.
     */
    function approve(uint256 _tokenId, address _operator, uint256 _value) external;

    /// @notice Get the maximum value of a token that an operator is allowed to manage.
    function allowance(uint256 _tokenId, address _operator) external view returns (uint256);

    /**
     * @notice Transfer value from a specified token to another specified token with the same slot.
     * @dev Caller MUST be the current owner, an authorized operator or an operator who has been
     * approved the whole `_fromTokenId` or part of it. MUST revert if `_fromTokenId` or
     * `_toTokenId` is zero or does not exist, if the slots mismatch, or if `_value` exceeds the
     * balance of `_fromTokenId` or its allowance to the operator. MUST emit TransferValue.
     */
    function transferFrom(uint256 _fromTokenId, uint256 _toTokenId, uint256 _value) external;

    /**
     * @notice Transfer value from a specified token to an address. The caller should confirm
     * that `_to` is capable of receiving ERC-3525 tokens.
     * @dev This function MUST create a new ERC-3525 token with the same slot for `_to` to
     * receive the transferred value. MUST revert if `_fromTokenId` is zero or does not exist,
     * if `_to` is the zero address, or if `_value` exceeds the balance of `_fromTokenId` or its
     * allowance to the operator. MUST emit Transfer and TransferValue events.
     * @return ID of the new token created for `_to` which receives the transferred value.
     */
    function transferFrom(uint256 _fromTokenId, address _to, uint256 _value) external returns (uint256);
}

/**
 * @title ERC-3525 Semi-Fungible Token Standard, optional extension for metadata
 * @dev Interface for the contract-level, slot-level and token-level metadata (URIs of JSON, here
 * data: URIs). The ERC-165 identifier is 0xe1600902; its ERC-721 part (name, symbol, tokenURI)
 * is IERC721Metadata, 0x5b5e139f.
 */
interface IERC3525Metadata is IERC3525, IERC721Metadata {
    /// @notice The contract's metadata: a JSON document (name, description, valueDecimals).
    function contractURI() external view returns (string memory);

    /// @notice A slot's metadata: a JSON document (name, description, properties).
    function slotURI(uint256 _slot) external view returns (string memory);
}

/**
 * @title ERC-3525 token receiver interface
 * @dev Interface for a smart contract that wants to be informed by ERC-3525 contracts when
 * receiving values from any addresses or ERC-3525 tokens. The ERC-165 identifier is 0x009ce20b.
 */
interface IERC3525Receiver {
    /**
     * @dev MUST return `IERC3525Receiver.onERC3525Received.selector` (0x009ce20b) to accept
     * the transfer; any other return value, or a revert, refuses it.
     */
    function onERC3525Received(
        address _operator,
        uint256 _fromTokenId,
        uint256 _toTokenId,
        uint256 _value,
        bytes calldata _data
    ) external returns (bytes4);
}
