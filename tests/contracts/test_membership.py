"""The membership registry: admission, roles, expulsion (OpenZeppelin AccessControl events)."""

import pytest
from eth_account import Account

from ledger.exceptions import (AccessControlUnauthorizedAccount, MembershipExpelUnauthorized, MembershipNotMember,
                               MembershipUnknownRole)
from ledger.types import Role


def test_admit_grants_membership_and_roles_with_access_control_events(w, p, led):
    newcomer = Account.create()
    receipt = led.admit(p.operator, newcomer, [Role.SUPPLIER, Role.FINANCIER])
    granted = [(e.args["role"], e.args["account"], e.args["sender"]) for e in receipt.named("RoleGranted")]
    assert granted == [(r.id, newcomer.address, p.operator.address)
                       for r in (Role.MEMBER, Role.SUPPLIER, Role.FINANCIER)]
    assert led.is_member(newcomer)
    assert led.roles(newcomer) == [Role.MEMBER, Role.SUPPLIER, Role.FINANCIER]
    assert led.voucher.functions.hasRole(Role.FINANCIER.id, newcomer.address).call()


def test_only_the_operator_admits(w, p, led):
    with pytest.raises(AccessControlUnauthorizedAccount) as info:
        led.admit(p.tier1, Account.create(), [Role.SUPPLIER])
    assert (info.value.account, info.value.needed_role) == (p.tier1.address, Role.OPERATOR.id)


def test_a_party_role_needs_membership_first(w, p, led):
    stranger = Account.create()
    with pytest.raises(MembershipNotMember) as info:
        led.grant_role(p.operator, Role.SUPPLIER, stranger)
    assert info.value.account == stranger.address


def test_an_unknown_role_is_refused_by_admit(w, p, led):
    bogus = b"\x01" * 32
    with pytest.raises(MembershipUnknownRole) as info:
        led.chain.transact(p.operator, led.voucher.functions.admit(Account.create().address, [bogus]))
    assert info.value.role == bogus


def test_granting_operator_needs_the_default_admin(w, p, led):
    with pytest.raises(AccessControlUnauthorizedAccount):
        led.grant_role(p.core, Role.OPERATOR, p.tier1)
    led.grant_role(p.operator, Role.OPERATOR, p.tier1)
    assert Role.OPERATOR in led.roles(p.tier1)


def test_expelling_revokes_every_role_then_membership(w, p, led):
    receipt = led.expel(p.operator, p.tier1)
    revoked = [e.args["role"] for e in receipt.named("RoleRevoked")]
    assert revoked == [Role.SUPPLIER.id, Role.MEMBER.id]
    assert not led.is_member(p.tier1) and led.roles(p.tier1) == []


def test_revoking_one_role_keeps_membership(w, p, led):
    led.revoke_role(p.operator, Role.SUPPLIER, p.tier1)
    assert led.roles(p.tier1) == [Role.MEMBER]


def test_the_default_admin_can_always_restore_an_operator(w, p, led):
    # Expel the only operator (the admin itself): no one is left to admit anybody...
    led.expel(p.operator, p.operator)
    with pytest.raises(AccessControlUnauthorizedAccount):
        led.admit(p.operator, Account.create(), [Role.SUPPLIER])
    # ...but the default admin grants OPERATOR_ROLE, which admits the account with it.
    fresh = Account.create()
    receipt = led.grant_role(p.operator, Role.OPERATOR, fresh)
    assert [e.args["role"] for e in receipt.named("RoleGranted")] == [Role.MEMBER.id, Role.OPERATOR.id]
    assert led.roles(fresh) == [Role.MEMBER, Role.OPERATOR]


DEFAULT_ADMIN = b"\x00" * 32


def _refused_expel(w, led, caller, account):
    """Expel `account` as `caller`, expecting MembershipExpelUnauthorized: nothing mined, no role lost."""
    before, roles = w.chain.w3.eth.block_number, led.roles(account)
    with pytest.raises(MembershipExpelUnauthorized) as info:
        led.expel(caller, account)
    assert w.chain.w3.eth.block_number == before, "a refused expulsion mined a block"
    assert led.roles(account) == roles
    return info.value


def test_an_operator_cannot_strip_the_default_admins_operator_role_by_expelling_it(w, p, led):
    # Regression (issue 13, item 7): MEMBER_ROLE's admin is OPERATOR_ROLE, and expelling drops
    # every role, so an operator used to remove OPERATOR_ROLE, whose admin is the default admin.
    led.grant_role(p.operator, Role.OPERATOR, p.tier1)
    error = _refused_expel(w, led, p.tier1, p.operator)
    assert (error.caller, error.account, error.role, error.admin_role) == (
        p.tier1.address, p.operator.address, Role.OPERATOR.id, DEFAULT_ADMIN)
    # Directly it was never possible either.
    with pytest.raises(AccessControlUnauthorizedAccount):
        led.revoke_role(p.tier1, Role.OPERATOR, p.operator)


def test_an_operator_cannot_expel_another_operator(w, p, led):
    led.grant_role(p.operator, Role.OPERATOR, p.tier1)
    led.grant_role(p.operator, Role.OPERATOR, p.tier2)
    error = _refused_expel(w, led, p.tier1, p.tier2)
    assert (error.account, error.role, error.admin_role) == (p.tier2.address, Role.OPERATOR.id, DEFAULT_ADMIN)
    assert led.roles(p.tier2) == [Role.MEMBER, Role.OPERATOR, Role.SUPPLIER]


def test_the_default_admin_expels_an_operator_and_an_operator_expels_a_party(w, p, led):
    led.grant_role(p.operator, Role.OPERATOR, p.tier1)
    receipt = led.expel(p.operator, p.tier1)
    assert [e.args["role"] for e in receipt.named("RoleRevoked")] == [Role.SUPPLIER.id, Role.OPERATOR.id,
                                                                       Role.MEMBER.id]
    led.grant_role(p.operator, Role.OPERATOR, p.tier2)
    led.expel(p.tier2, p.bank)
    assert not led.is_member(p.bank)


def test_an_operator_may_renounce_its_own_membership(w, p, led):
    led.grant_role(p.operator, Role.OPERATOR, p.tier1)
    led.chain.transact(p.tier1, led.voucher.functions.renounceRole(Role.MEMBER.id, p.tier1.address))
    assert led.roles(p.tier1) == []
