// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

/**
 * @title The membership registry kept by the platform operator
 * @dev Roles follow OpenZeppelin's IAccessControl: RoleGranted / RoleRevoked are the only
 * membership events, and a mirror rebuilds every account's roles from them.
 *
 * - MEMBER_ROLE is membership itself (KYC passed). Granting it admits an account; revoking it
 *   expels the account and MUST revoke every party role it held, emitting RoleRevoked for each.
 * - The party roles (CORE_ENTERPRISE, SUPPLIER, FINANCIER, APPRAISER, EXCHANGE, AUDITOR) MUST
 *   only be granted to members; granting one to a non-member MUST revert with
 *   MembershipNotMember. Granting OPERATOR_ROLE (the default admin's to grant) to a non-member
 *   MUST admit it first (RoleGranted for MEMBER_ROLE, then for OPERATOR_ROLE), so the platform
 *   can always recover an operator. Their admin role is OPERATOR_ROLE; OPERATOR_ROLE's admin is
 *   DEFAULT_ADMIN_ROLE.
 * - No role can be removed indirectly by an account that could not remove it directly:
 *   revoking MEMBER_ROLE (expelling) an account that holds a role whose admin role the caller
 *   lacks (e.g. an OPERATOR, whose admin is DEFAULT_ADMIN_ROLE) MUST revert with
 *   MembershipExpelUnauthorized before anything changes. An account MAY always renounce its
 *   own membership (and with it its roles).
 * - Vouchers MUST only be held, sent and received by members.
 */
interface IMembership is IAccessControl {
    /// @dev `account` is not a member (it was never admitted, or it was expelled).
    error MembershipNotMember(address account);

    /// @dev `caller` may not expel `account`: it holds `role`, whose admin role `adminRole`
    /// the caller lacks (expelling would remove `role` indirectly).
    error MembershipExpelUnauthorized(address caller, address account, bytes32 role, bytes32 adminRole);

    /// @dev `role` is not one of the party roles that {admit} grants.
    error MembershipUnknownRole(bytes32 role);

    /**
     * @notice Admit `account` as a member and grant it `roles` (operator only).
     * @dev MUST emit RoleGranted for MEMBER_ROLE (if not yet a member) and for each new role.
     */
    function admit(address account, bytes32[] calldata roles) external;

    /// @notice Whether `account` is a member.
    function isMember(address account) external view returns (bool);

    /// @notice The bit mask of `account`'s roles (bit i set = role i of {roleBit}).
    function rolesOf(address account) external view returns (uint256);
}
