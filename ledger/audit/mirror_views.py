"""Compare the mirror's membership, pause and approval tables with the contracts' views.

These tables hold state the rebuild does not model (roles, pausing, ERC-721 approvals, ERC-3525
value allowances, operator approvals), so the mirror is compared with the chain directly: each
row, and each key the chain's events ever touched, is asked of the view that answers for it,
pinned to the audited block and sent in JSON-RPC batches (AuditRpc.eth_calls). What the mirror
holds is compared as the contract answers it: an approval recorded at an older epoch of its
voucher than the mirror's voucher row has lapsed (the view answers the zero address / 0), and an
absent row means "no role, not paused, not approved".

Each mismatch is a Discrepancy of check "mirror" located at its table, row key and column, with
the view that was asked; expected is the chain's answer, actual the mirror's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_utils import to_checksum_address
from sqlalchemy import select

from ..types import Role
from .model import Discrepancy
from .rebuild import ZERO_ADDRESS, ZERO_HASH, Rebuild
from .rpc import AuditRpc
from .views import View

VOUCHER = "ReceivableVoucher"
#: The mirror tables compared here, in report order.
TABLES = ("member", "role_assignment", "role_admin", "pause_state", "token_approval", "value_allowance",
          "operator_approval")


def _hex(value: Any) -> str:
    return value if isinstance(value, str) else "0x" + bytes(value).hex()


def _address(value: str) -> str:
    return to_checksum_address(value)


def _is_address(value: Any) -> bool:
    try:
        to_checksum_address(value)
        return True
    except (TypeError, ValueError):
        return False


def _is_bytes32(value: Any) -> bool:
    try:
        return isinstance(value, str) and value.startswith("0x") and len(bytes.fromhex(value[2:])) == 32
    except ValueError:
        return False


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    return a == b


def compare_mirror_views(state: Rebuild, session, rpc: AuditRpc, contracts: dict[str, tuple[str, list]],
                         block: int, counts: dict[str, int]) -> tuple[list[Discrepancy], int]:
    """Compare those tables in `session` (a mirror snapshot at `block`) with the views at `block`.

    Args:
        state: the state rebuilt from the chain's events (its events name the keys to ask about,
            its vouchers which tokens still exist).
        contracts: contract name -> (address, abi) of the deployment.
        counts: rows compared per table, filled in.

    Returns:
        The discrepancies, and the number of view calls made.
    """
    from ..mirror.models import (Member, OperatorApproval, PauseState, RoleAdmin, RoleAssignment, TokenApproval,
                                 ValueAllowance, Voucher)

    found: list[Discrepancy] = []
    calls: list[tuple[str, bytes]] = []
    checks: list[Callable[[Any], None]] = []
    address, abi = contracts[VOUCHER]

    def view(name: str) -> View:
        return View(address, abi, name)

    def ask(v: View, args: tuple, on_value: Callable[[Any], None], location: dict[str, Any]) -> None:
        calls.append(v.call(*args))

        def check(result) -> None:
            if not result.ok:
                found.append(Discrepancy("mirror", f"{v.name}{args} reverted at block {block} ({result.error})",
                                         {**location, "view": v.name}, "a value", "revert"))
                return
            on_value(v.decode(result.data))
        checks.append(check)

    def differs(table: str, row: dict[str, Any], column: str, view_name: str, chain: Any, mirror: Any,
                **extra: Any) -> None:
        if not _same(chain, mirror):
            found.append(Discrepancy("mirror", f"{table} {tuple(row.values())}: {column} is {mirror!r} in SQL, "
                                     f"{chain!r} on chain ({view_name})",
                                     {"table": table, "row": row, "column": column, "view": view_name, **extra},
                                     chain, mirror))

    def missing(table: str, row: dict[str, Any], view_name: str, chain: Any) -> None:
        found.append(Discrepancy("mirror", f"{table} row {tuple(row.values())} is on chain ({view_name}) but missing "
                                 "from the mirror", {"table": table, "row": row, "view": view_name}, chain, None))

    def extra(table: str, row: dict[str, Any], view_name: str, mirror: Any, why: str = "") -> None:
        found.append(Discrepancy("mirror", f"{table} row {tuple(row.values())} is in the mirror but not on chain"
                                 f"{why} ({view_name})", {"table": table, "row": row, "view": view_name}, None,
                                 mirror))

    def rows(model) -> dict[tuple, Any]:
        keys = [c.name for c in model.__table__.primary_key.columns]
        out = {}
        for r in session.exec(select(model)).scalars():
            out[tuple(str(getattr(r, k)).lower() if isinstance(getattr(r, k), str) else getattr(r, k)
                      for k in keys)] = r
        counts[model.__tablename__] = len(out)
        return out

    # Keys the chain's events touched (the mirror must hold a row for each that is in force).
    members: dict[str, str] = {}
    assignments: dict[tuple[str, str], tuple[str, str]] = {}
    admins: dict[str, str] = {}
    approved_tokens: set[int] = set()
    allowances: dict[tuple[int, str], tuple[int, str]] = {}
    operators: dict[tuple[str, str], tuple[str, str]] = {}
    for e in state.events:
        if e.contract != VOUCHER:
            continue
        a = e.args
        if e.name in ("RoleGranted", "RoleRevoked"):
            role, account = _hex(a["role"]), a["account"]
            assignments[(role.lower(), account.lower())] = (role, account)
            if Role.from_id(bytes.fromhex(role[2:])) is not None:
                members[account.lower()] = account
        elif e.name == "RoleAdminChanged":
            role = _hex(a["role"])
            admins[role.lower()] = role
        elif e.name == "Approval":
            approved_tokens.add(a["tokenId"])
        elif e.name == "ApprovalValue":
            allowances[(a["_tokenId"], a["_operator"].lower())] = (a["_tokenId"], a["_operator"])
        elif e.name == "ApprovalForAll":
            operators[(a["owner"].lower(), a["operator"].lower())] = (a["owner"], a["operator"])

    # -- member: isMember and rolesOf ------------------------------------------------------------
    is_member, roles_of = view("isMember"), view("rolesOf")
    mirror_members = rows(Member)
    for key in sorted(set(members) | {k[0] for k in mirror_members}):
        r = mirror_members.get((key,))
        account = members.get(key) or r.address
        row = {"address": account}
        if not _is_address(account):
            extra("member", row, "rolesOf", {"is_member": r.is_member, "roles": r.roles}, ": not an address")
            continue
        if r is None:  # every account that ever held a party role has a row, expelled or not
            ask(roles_of, (account,), lambda c, row=row: missing("member", row, "rolesOf", {"roles": c}),
                {"table": "member", "row": row})
            continue
        ask(is_member, (account,), lambda c, r=r, row=row: differs("member", row, "is_member", "isMember", c,
                                                                   bool(r.is_member)),
            {"table": "member", "row": row, "column": "is_member"})
        ask(roles_of, (account,), lambda c, r=r, row=row: differs("member", row, "roles", "rolesOf", c, r.roles),
            {"table": "member", "row": row, "column": "roles"})

    # -- role_assignment: hasRole ------------------------------------------------------------------
    has_role = view("hasRole")
    mirror_assignments = rows(RoleAssignment)
    for key in sorted(set(assignments) | set(mirror_assignments)):
        r = mirror_assignments.get(key)
        role, account = assignments.get(key) or (r.role, r.account)
        row = {"role": role, "account": account}
        if not (_is_bytes32(role) and _is_address(account)):
            extra("role_assignment", row, "hasRole", {"role_name": r.role_name}, ": not a role id and an address")
            continue

        def same_role(c, r=r, row=row):
            if c and r is None:
                missing("role_assignment", row, "hasRole", True)
            elif not c and r is not None:
                extra("role_assignment", row, "hasRole", {"role_name": r.role_name, "granted_by": r.granted_by,
                                                          "granted_block": r.granted_block}, ": the account lacks it")
        ask(has_role, (bytes.fromhex(role[2:]), account), same_role, {"table": "role_assignment", "row": row})

    # -- role_admin: getRoleAdmin (no row: DEFAULT_ADMIN_ROLE) -------------------------------------
    role_admin = view("getRoleAdmin")
    mirror_admins = rows(RoleAdmin)
    for key in sorted(set(admins) | {k[0] for k in mirror_admins}):
        r = mirror_admins.get((key,))
        role = admins.get(key) or r.role
        row = {"role": role}
        if not _is_bytes32(role):
            extra("role_admin", row, "getRoleAdmin", {"admin_role": r.admin_role}, ": not a role id")
            continue

        def same_admin(c, r=r, row=row):
            chain = _hex(c)
            if r is None:
                if chain != ZERO_HASH:
                    missing("role_admin", row, "getRoleAdmin", chain)
            else:
                differs("role_admin", row, "admin_role", "getRoleAdmin", chain, r.admin_role)
        ask(role_admin, (bytes.fromhex(role[2:]),), same_admin, {"table": "role_admin", "row": row})

    # -- pause_state: paused (no row: not paused) --------------------------------------------------
    pausable = {a.lower(): (name, a, abi_) for name, (a, abi_) in contracts.items()
                if any(i.get("type") == "function" and i.get("name") == "paused" for i in abi_)}
    mirror_pauses = rows(PauseState)
    for key in sorted(set(pausable) | {k[0] for k in mirror_pauses}):
        r = mirror_pauses.get((key,))
        if key not in pausable:
            extra("pause_state", {"contract": r.contract}, "paused", {"paused": r.paused},
                  ": no pausable contract of the deployment is at that address")
            continue
        name, contract, contract_abi = pausable[key]
        row = {"contract": contract}

        def same_pause(c, r=r, row=row, name=name):
            if r is None:
                if c:
                    missing("pause_state", row, "paused", {"paused": True})
            else:
                differs("pause_state", row, "paused", "paused", c, bool(r.paused), contract_name=name)
        ask(View(contract, contract_abi, "paused"), (), same_pause, {"table": "pause_state", "row": row})

    # -- approvals: in force while their epoch is the voucher's (the mirror's voucher row) ---------
    mirror_tokens = rows(TokenApproval)
    mirror_allowances = rows(ValueAllowance)
    tokens = approved_tokens | {k[0] for k in mirror_tokens} | {k[0] for k in allowances} \
        | {k[0] for k in mirror_allowances}
    epochs: dict[int, int] = {}
    ordered = sorted(tokens)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start:start + 500]
        for token_id, epoch in session.execute(select(Voucher.token_id, Voucher.epoch)
                                               .where(Voucher.token_id.in_(chunk))):
            epochs[token_id] = epoch

    def live(token_id: int) -> bool:
        """A voucher the chain still has (the views revert for a burned or unknown one)."""
        v = state.vouchers.get(token_id)
        return v is not None and not v["burned"]

    get_approved = view("getApproved")
    for token_id in sorted(approved_tokens | {k[0] for k in mirror_tokens}):
        r = mirror_tokens.get((token_id,))
        row = {"token_id": token_id}
        if not live(token_id):
            if token_id not in state.vouchers:
                extra("token_approval", row, "getApproved", {"operator": r.operator, "epoch": r.epoch},
                      ": no event minted that voucher")
            continue
        epoch = epochs.get(token_id)

        def same_approval(c, r=r, row=row, epoch=epoch):
            chain = _address(c)
            if r is None:
                if chain != ZERO_ADDRESS:
                    missing("token_approval", row, "getApproved", {"operator": chain})
                return
            in_force = r.epoch == epoch
            mirror = r.operator if in_force else ZERO_ADDRESS
            if _same(chain, mirror):
                return
            if not in_force and _same(chain, r.operator):  # the mirror lets it lapse, the chain does not
                differs("token_approval", row, "epoch", "getApproved", epoch, r.epoch, voucher_epoch=epoch)
            else:
                differs("token_approval", row, "operator", "getApproved", chain, mirror, voucher_epoch=epoch)
        ask(get_approved, (token_id,), same_approval, {"table": "token_approval", "row": row})

    allowance = view("allowance")
    for key in sorted(set(allowances) | set(mirror_allowances)):
        r = mirror_allowances.get(key)
        token_id, operator = allowances.get(key) or (r.token_id, r.operator)
        row = {"token_id": token_id, "operator": operator}
        if not _is_address(operator):
            extra("value_allowance", row, "allowance", {"value": r.value, "epoch": r.epoch}, ": not an address")
            continue
        if not live(token_id):
            if token_id not in state.vouchers:
                extra("value_allowance", row, "allowance", {"value": r.value, "epoch": r.epoch},
                      ": no event minted that voucher")
            continue
        epoch = epochs.get(token_id)

        def same_allowance(c, r=r, row=row, epoch=epoch):
            if r is None:
                if c:
                    missing("value_allowance", row, "allowance", {"value": c})
                return
            in_force = r.epoch == epoch
            mirror = r.value if in_force else 0
            if c == mirror:
                return
            if not in_force and c == r.value:
                differs("value_allowance", row, "epoch", "allowance", epoch, r.epoch, voucher_epoch=epoch)
            else:
                differs("value_allowance", row, "value", "allowance", c, mirror, voucher_epoch=epoch)
        ask(allowance, (token_id, operator), same_allowance, {"table": "value_allowance", "row": row})

    # -- operator_approval: isApprovedForAll (only approvals in force have a row) ------------------
    approved_for_all = view("isApprovedForAll")
    mirror_operators = rows(OperatorApproval)
    for key in sorted(set(operators) | set(mirror_operators)):
        r = mirror_operators.get(key)
        holder, operator = operators.get(key) or (r.holder, r.operator)
        row = {"holder": holder, "operator": operator}
        if not (_is_address(holder) and _is_address(operator)):
            extra("operator_approval", row, "isApprovedForAll", {"holder": r.holder, "operator": r.operator},
                  ": not an address")
            continue

        def same_operator(c, r=r, row=row):
            if c and r is None:
                missing("operator_approval", row, "isApprovedForAll", True)
            elif not c and r is not None:
                extra("operator_approval", row, "isApprovedForAll", {"holder": r.holder, "operator": r.operator},
                      ": the approval is not in force")
        ask(approved_for_all, (holder, operator), same_operator, {"table": "operator_approval", "row": row})

    for check, result in zip(checks, rpc.eth_calls(calls, block), strict=True):
        check(result)
    return found, len(calls)
