// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IMembership} from "./interfaces/IMembership.sol";

/**
 * @title Membership: OpenZeppelin AccessControl with the party roles packed per account
 * @dev The party roles live in one storage word per account, next to the account's ERC-721
 * voucher count. A voucher transfer must check that sender and recipient are members and must
 * update both counts: packing the two makes the membership check free (the word is read for
 * the count anyway) and makes the recipient's count update a non-zero to non-zero write,
 * which costs 2,900 gas instead of the 20,000 a fresh ERC-721 balance costs.
 *
 * DEFAULT_ADMIN_ROLE (and any role other than the party roles) keeps AccessControl's own
 * storage. RoleGranted / RoleRevoked are emitted exactly as AccessControl does.
 */
abstract contract Membership is AccessControl, IMembership {
    bytes32 public constant MEMBER_ROLE = keccak256("MEMBER_ROLE");
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    bytes32 public constant CORE_ENTERPRISE_ROLE = keccak256("CORE_ENTERPRISE_ROLE");
    bytes32 public constant SUPPLIER_ROLE = keccak256("SUPPLIER_ROLE");
    bytes32 public constant FINANCIER_ROLE = keccak256("FINANCIER_ROLE");
    bytes32 public constant APPRAISER_ROLE = keccak256("APPRAISER_ROLE");
    bytes32 public constant EXCHANGE_ROLE = keccak256("EXCHANGE_ROLE");
    bytes32 public constant AUDITOR_ROLE = keccak256("AUDITOR_ROLE");

    uint32 internal constant _MEMBER = 1 << 0;
    uint32 internal constant _OPERATOR = 1 << 1;
    uint32 internal constant _CORE_ENTERPRISE = 1 << 2;
    uint32 internal constant _SUPPLIER = 1 << 3;
    uint32 internal constant _FINANCIER = 1 << 4;
    uint32 internal constant _APPRAISER = 1 << 5;
    uint32 internal constant _EXCHANGE = 1 << 6;
    uint32 internal constant _AUDITOR = 1 << 7;
    uint256 private constant _ROLE_COUNT = 8;

    /// @dev One word per account: its roles and the number of vouchers it holds.
    struct Account {
        uint32 roles;
        uint64 vouchers;
    }

    mapping(address account => Account) internal _accounts;

    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MEMBER_ROLE, admin);
        _grantRole(OPERATOR_ROLE, admin);
        for (uint256 i = 0; i < _ROLE_COUNT; ++i) {
            bytes32 role = _roleAt(i);
            if (role != OPERATOR_ROLE) _setRoleAdmin(role, OPERATOR_ROLE);
        }
    }

    /// @inheritdoc IMembership
    function admit(address account, bytes32[] calldata roles) external onlyRole(OPERATOR_ROLE) {
        _grantRole(MEMBER_ROLE, account);
        for (uint256 i = 0; i < roles.length; ++i) {
            if (_roleBit(roles[i]) == 0) revert MembershipUnknownRole(roles[i]);
            _checkRole(getRoleAdmin(roles[i]));
            _grantRole(roles[i], account);
        }
    }

    /// @inheritdoc IAccessControl
    /// @dev Expelling (revoking MEMBER_ROLE) also removes every role the account holds, so the
    /// caller must be able to revoke each of them directly: an operator cannot strip an operator.
    function revokeRole(bytes32 role, address account)
        public
        virtual
        override(AccessControl, IAccessControl)
        onlyRole(getRoleAdmin(role))
    {
        if (role == MEMBER_ROLE) {
            uint32 roles = _accounts[account].roles;
            for (uint256 i = 1; i < _ROLE_COUNT; ++i) {
                if (roles & uint32(1 << i) == 0) continue;
                bytes32 held = _roleAt(i);
                bytes32 admin = getRoleAdmin(held);
                if (!hasRole(admin, _msgSender())) revert MembershipExpelUnauthorized(_msgSender(), account, held, admin);
            }
        }
        _revokeRole(role, account);
    }

    /// @inheritdoc IMembership
    function isMember(address account) public view returns (bool) {
        return _accounts[account].roles & _MEMBER != 0;
    }

    /// @inheritdoc IMembership
    function rolesOf(address account) external view returns (uint256) {
        return _accounts[account].roles;
    }

    /// @inheritdoc AccessControl
    function hasRole(bytes32 role, address account) public view virtual override(AccessControl, IAccessControl) returns (bool) {
        uint32 bit = _roleBit(role);
        if (bit == 0) return super.hasRole(role, account);
        return _accounts[account].roles & bit != 0;
    }

    function _grantRole(bytes32 role, address account) internal virtual override returns (bool) {
        uint32 bit = _roleBit(role);
        if (bit == 0) return super._grantRole(role, account);
        uint32 roles = _accounts[account].roles;
        if (roles & bit != 0) return false;
        if (bit != _MEMBER && roles & _MEMBER == 0) {
            // Only the default admin grants OPERATOR_ROLE, and it vouches for the account: it is
            // admitted with it. Otherwise expelling every operator would leave no one able to
            // admit anybody (MEMBER_ROLE's admin is OPERATOR_ROLE), the default admin included.
            if (bit != _OPERATOR) revert MembershipNotMember(account);
            roles |= _MEMBER;
            emit RoleGranted(MEMBER_ROLE, account, _msgSender());
        }
        _accounts[account].roles = roles | bit;
        emit RoleGranted(role, account, _msgSender());
        return true;
    }

    /// @dev Revoking MEMBER_ROLE expels: every party role goes with it, each with its event.
    function _revokeRole(bytes32 role, address account) internal virtual override returns (bool) {
        uint32 bit = _roleBit(role);
        if (bit == 0) return super._revokeRole(role, account);
        uint32 roles = _accounts[account].roles;
        if (roles & bit == 0) return false;
        uint32 removed = bit == _MEMBER ? roles : bit;
        _accounts[account].roles = roles & ~removed;
        // Party roles first, membership last, so a mirror never sees a role without a member.
        for (uint256 i = _ROLE_COUNT; i > 0; --i) {
            if (removed & uint32(1 << (i - 1)) != 0) emit RoleRevoked(_roleAt(i - 1), account, _msgSender());
        }
        return true;
    }

    /// @dev Revert with MembershipNotMember unless `roles` (an account's word) has membership.
    function _requireMember(uint32 roles, address account) internal pure {
        if (roles & _MEMBER == 0) revert MembershipNotMember(account);
    }

    /// @dev Revert with AccessControlUnauthorizedAccount unless `account` holds `bit`.
    function _requirePartyRole(address account, uint32 bit, bytes32 role) internal view {
        if (_accounts[account].roles & bit == 0) revert AccessControlUnauthorizedAccount(account, role);
    }

    function _roleBit(bytes32 role) internal pure returns (uint32) {
        if (role == MEMBER_ROLE) return _MEMBER;
        if (role == OPERATOR_ROLE) return _OPERATOR;
        if (role == CORE_ENTERPRISE_ROLE) return _CORE_ENTERPRISE;
        if (role == SUPPLIER_ROLE) return _SUPPLIER;
        if (role == FINANCIER_ROLE) return _FINANCIER;
        if (role == APPRAISER_ROLE) return _APPRAISER;
        if (role == EXCHANGE_ROLE) return _EXCHANGE;
        if (role == AUDITOR_ROLE) return _AUDITOR;
        return 0;
    }

    function _roleAt(uint256 i) internal pure returns (bytes32) {
        if (i == 0) return MEMBER_ROLE;
        if (i == 1) return OPERATOR_ROLE;
        if (i == 2) return CORE_ENTERPRISE_ROLE;
        if (i == 3) return SUPPLIER_ROLE;
        if (i == 4) return FINANCIER_ROLE;
        if (i == 5) return APPRAISER_ROLE;
        if (i == 6) return EXCHANGE_ROLE;
        return AUDITOR_ROLE;
    }
}
