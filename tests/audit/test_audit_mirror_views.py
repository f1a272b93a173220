"""Tampering with what the mirror holds besides vouchers (members, roles, pause state, approvals):
each edit is reported against the contracts' views at its table, row and column."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from ledger import Role
from ledger.audit import audit


def _sql(db: str, statement: str, **params) -> None:
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(text(statement), params)
    engine.dispose()


def _mirror_found(audited, db: str) -> list[dict]:
    result = audit(audited.url, audited.deployment, mirror_db=db)
    assert result.checks["mirror"]["status"] == "FAIL"
    others = {name: c["status"] for name, c in result.checks.items() if name not in ("mirror", "gateway_documents")}
    assert set(others.values()) == {"PASS"}
    return [d.to_json() for d in result.discrepancies]


def _where(d: dict) -> tuple:
    loc = d["location"]
    return loc["table"], tuple(sorted(loc["row"].items())), loc.get("column"), loc["view"]


def test_edited_members_and_roles_are_reported_at_their_row(audited, mirror_copy):
    w = audited.world
    tier1, leaver, bank = w.tier1.address, audited.ids["leaver"], w.bank.address
    supplier, financier = "0x" + Role.SUPPLIER.id.hex(), "0x" + Role.FINANCIER.id.hex()
    financier_bit = Role.FINANCIER.bit
    _sql(mirror_copy, "update member set roles = roles | :b where address = :a", b=financier_bit, a=tier1)
    _sql(mirror_copy, "update member set is_member = 1 where address = :a", a=leaver)  # expelled on chain
    _sql(mirror_copy, "delete from role_assignment where role = :r and account = :a", r=financier, a=bank)
    _sql(mirror_copy, "insert into role_assignment (role, account, role_name, granted_by, granted_block) "
         "values (:r, :a, 'SUPPLIER_ROLE', :a, 1)", r=supplier, a=bank)
    _sql(mirror_copy, "update role_admin set admin_role = :r where role = :s", r="0x" + "00" * 32, s=supplier)
    _sql(mirror_copy, "insert into member (address, is_member, roles, updated_block) values ('0xnot-an-address', 1, "
         "1, 1)")  # reported, not a crash of the audit

    found = _mirror_found(audited, mirror_copy)

    by_where = {_where(d): d for d in found}
    assert set(by_where) == {
        ("member", (("address", tier1),), "roles", "rolesOf"),
        ("member", (("address", leaver),), "is_member", "isMember"),
        ("role_assignment", (("account", bank), ("role", financier)), None, "hasRole"),
        ("role_assignment", (("account", bank), ("role", supplier)), None, "hasRole"),
        ("role_admin", (("role", supplier),), "admin_role", "getRoleAdmin"),
        ("member", (("address", "0xnot-an-address"),), None, "rolesOf"),
    }
    roles = by_where[("member", (("address", tier1),), "roles", "rolesOf")]
    assert roles["actual"] == roles["expected"] | financier_bit and roles["expected"] & Role.SUPPLIER.bit
    assert (by_where[("member", (("address", leaver),), "is_member", "isMember")]["expected"],
            by_where[("member", (("address", leaver),), "is_member", "isMember")]["actual"]) == (False, True)
    dropped = by_where[("role_assignment", (("account", bank), ("role", financier)), None, "hasRole")]
    assert "missing from the mirror" in dropped["message"] and (dropped["expected"], dropped["actual"]) == (True, None)
    invented = by_where[("role_assignment", (("account", bank), ("role", supplier)), None, "hasRole")]
    assert "not on chain" in invented["message"] and invented["expected"] is None
    admin = by_where[("role_admin", (("role", supplier),), "admin_role", "getRoleAdmin")]
    assert admin["expected"] == "0x" + Role.OPERATOR.id.hex() and admin["actual"] == "0x" + "00" * 32


def test_an_edited_pause_state_is_reported(audited, mirror_copy):
    voucher = audited.deployment.voucher
    _sql(mirror_copy, "update pause_state set paused = 1 where lower(contract) = lower(:c)", c=voucher)

    (found,) = _mirror_found(audited, mirror_copy)

    assert _where(found) == ("pause_state", (("contract", voucher),), "paused", "paused")
    assert (found["expected"], found["actual"]) == (False, True)


def test_edited_approvals_and_allowances_are_reported_at_their_row_and_column(audited, mirror_copy):
    w, ids = audited.world, audited.ids
    approved, lapsed = ids["approved"], ids["lapsed"]
    tier2, tier3, bank = w.tier2.address, w.tier3.address, w.bank.address
    _sql(mirror_copy, "update token_approval set operator = :o where token_id = :t", o=tier3, t=approved)
    _sql(mirror_copy, "update value_allowance set value = 4001 where token_id = :t", t=approved)
    # back to the voucher's current epoch: an approval the whole transfer lapsed would be in force again
    _sql(mirror_copy, "update token_approval set epoch = epoch + 1 where token_id = :t", t=lapsed)
    _sql(mirror_copy, "delete from operator_approval where holder = :h and operator = :o", h=tier2, o=bank)
    _sql(mirror_copy, "insert into operator_approval (holder, operator) values (:h, :o)", h=tier3, o=bank)

    found = _mirror_found(audited, mirror_copy)

    by_where = {_where(d): d for d in found}
    assert set(by_where) == {
        ("token_approval", (("token_id", approved),), "operator", "getApproved"),
        ("value_allowance", (("operator", tier2), ("token_id", approved)), "value", "allowance"),
        ("token_approval", (("token_id", lapsed),), "operator", "getApproved"),
        ("operator_approval", (("holder", tier2), ("operator", bank)), None, "isApprovedForAll"),
        ("operator_approval", (("holder", tier3), ("operator", bank)), None, "isApprovedForAll"),
    }
    operator = by_where[("token_approval", (("token_id", approved),), "operator", "getApproved")]
    assert (operator["expected"], operator["actual"]) == (bank, tier3)
    value = by_where[("value_allowance", (("operator", tier2), ("token_id", approved)), "value", "allowance")]
    assert (value["expected"], value["actual"]) == (4_000, 4_001)
    revived = by_where[("token_approval", (("token_id", lapsed),), "operator", "getApproved")]
    assert (revived["expected"], revived["actual"]) == ("0x" + "00" * 20, bank)
    dropped = by_where[("operator_approval", (("holder", tier2), ("operator", bank)), None, "isApprovedForAll")]
    assert "missing from the mirror" in dropped["message"] and dropped["expected"] is True
    withdrawn = by_where[("operator_approval", (("holder", tier3), ("operator", bank)), None, "isApprovedForAll")]
    assert "not on chain" in withdrawn["message"]


def test_an_approval_lapsed_in_the_mirror_but_in_force_on_chain_is_reported_at_its_epoch(audited, mirror_copy):
    approved, tier2 = audited.ids["approved"], audited.world.tier2.address
    _sql(mirror_copy, "update value_allowance set epoch = epoch + 5 where token_id = :t", t=approved)

    (found,) = _mirror_found(audited, mirror_copy)

    assert _where(found) == ("value_allowance", (("operator", tier2), ("token_id", approved)), "epoch", "allowance")
    assert found["actual"] == found["expected"] + 5 == found["location"]["voucher_epoch"] + 5
