"""Handlers of the foundation contracts: membership, pausing, credit lines, receivables, vouchers."""

from __future__ import annotations

from ...types import Event, ReceivableState, Role, VoucherStatus
from ..store import Store
from . import on

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
DEFAULT_ADMIN_ROLE = "0x" + "00" * 32
#: ReceivableVoucher stores value allowances in 128 bits: a larger approval is an unlimited one
#: (ApprovalValue carries the stored value; the cap below only guards logs of older deployments).
MAX_ALLOWANCE = 2**128 - 1

VOUCHER = "ReceivableVoucher"
LINES = "CreditLines"


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def role_name(role_id: bytes) -> str:
    role = Role.from_id(role_id)
    if role is not None:
        return role.value
    return "DEFAULT_ADMIN_ROLE" if _hex(role_id) == DEFAULT_ADMIN_ROLE else _hex(role_id)


# -- membership (OpenZeppelin AccessControl events) and pausing --------------------------------


@on(VOUCHER, "RoleGranted", "RoleRevoked")
def role_changed(store: Store, e: Event) -> None:
    """Keep role_assignment (every role) and member (party-role mask, as rolesOf) in step."""
    role_id, account, sender = e.args["role"], e.args["account"], e.args["sender"]
    granted = e.name == "RoleGranted"
    if granted:
        store.put("role_assignment", {
            "role": _hex(role_id), "account": account, "role_name": role_name(role_id),
            "granted_by": sender, "granted_block": e.block_number,
        })
    else:
        store.delete("role_assignment", _hex(role_id), account)
    role = Role.from_id(role_id)
    if role is None:
        return
    member = store.get("member", account) or {"address": account, "is_member": False, "roles": 0}
    roles = member["roles"] | role.bit if granted else member["roles"] & ~role.bit
    # Expulsion revokes each party role first, membership last: the mask empties in order.
    member.update(roles=roles, is_member=bool(roles & Role.MEMBER.bit), updated_block=e.block_number)
    store.put("member", member)


@on(VOUCHER, "RoleAdminChanged")
def role_admin_changed(store: Store, e: Event) -> None:
    store.put("role_admin", {"role": _hex(e.args["role"]), "admin_role": _hex(e.args["newAdminRole"])})


@on(VOUCHER, "Paused", "Unpaused")
def pause_changed(store: Store, e: Event) -> None:
    store.put("pause_state", {"contract": e.address, "paused": e.name == "Paused", "updated_block": e.block_number})


# -- credit lines --------------------------------------------------------------------------------


@on(LINES, "CreditLineGranted")
def line_granted(store: Store, e: Event) -> None:
    a = e.args
    store.put("credit_line", {
        "line_id": a["lineId"], "financier": a["financier"], "obligor": a["obligor"], "currency": a["currency"],
        "limit": a["limit"], "used": 0, "expiry": a["expiry"], "grace_period": a["gracePeriod"],
        "collateral_value": 0, "collateral_valid_until": 0, "advance_rate_bps": 0,  # handlers/data_assets.py
    })


@on(LINES, "CreditLineTermsChanged")
def line_terms_changed(store: Store, e: Event) -> None:
    line = store.get("credit_line", e.args["lineId"])
    line.update(limit=e.args["limit"], expiry=e.args["expiry"])
    store.put("credit_line", line)


@on(LINES, "CreditLineDrawn", "CreditLineRestored")
def line_used_changed(store: Store, e: Event) -> None:
    line = store.get("credit_line", e.args["lineId"])
    line["used"] = e.args["used"]  # the event carries the new total: no arithmetic to drift
    store.put("credit_line", line)


# -- receivables ---------------------------------------------------------------------------------


@on(VOUCHER, "ReceivableIssued")
def receivable_issued(store: Store, e: Event) -> None:
    a = e.args
    store.put("receivable", {
        "receivable_id": a["receivableId"], "obligor": a["obligor"], "supplier": a["supplier"],
        "line_id": a["lineId"], "currency": a["currency"], "face_value": a["faceValue"], "repaid": 0, "claimed": 0,
        "maturity": a["maturity"], "document_hash": _hex(a["documentHash"]), "root_token_id": a["tokenId"],
        "state": int(ReceivableState.PENDING), "issued_block": e.block_number, "tx_hash": e.tx_hash,
    })


def set_receivable_state(store: Store, receivable_id: int, state: ReceivableState) -> dict:
    """Write a receivable's new state (through the store, so a reorg undoes it); return the row."""
    receivable = store.get("receivable", receivable_id)
    receivable["state"] = int(state)
    store.put("receivable", receivable)
    return receivable


@on(VOUCHER, "ReceivableAccepted", "ReceivableRejected", "ReceivableRevoked")
def receivable_decided(store: Store, e: Event) -> None:
    """Accept activates the receivable and its root voucher; reject/revoke burn the root (by events)."""
    state = {
        "ReceivableAccepted": ReceivableState.ACTIVE,
        "ReceivableRejected": ReceivableState.REJECTED,
        "ReceivableRevoked": ReceivableState.REVOKED,
    }[e.name]
    receivable = set_receivable_state(store, e.args["receivableId"], state)
    if state is ReceivableState.ACTIVE:
        root = store.get("voucher", receivable["root_token_id"])
        root["status"] = int(VoucherStatus.ACTIVE)
        store.put("voucher", root)


# -- vouchers (ERC-721 and ERC-3525 events) ------------------------------------------------------


@on(VOUCHER, "Transfer")
def voucher_transferred(store: Store, e: Event) -> None:
    """Mint (from 0), burn (to 0) or a whole-voucher transfer, which lapses its approvals."""
    sender, to, token_id = e.args["from"], e.args["to"], e.args["tokenId"]
    if sender == ZERO_ADDRESS:
        # Value, slot, parent and status follow in SlotChanged and TransferValue.
        store.put("voucher", {
            "token_id": token_id, "holder": to, "receivable_id": 0, "value": 0, "parent_id": None,
            "status": int(VoucherStatus.ACTIVE), "epoch": 0, "burned": False, "minted_block": e.block_number,
            "burned_block": None, "paid": 0,  # a split's share of paid follows in VoucherPaidMoved
        })
        return
    voucher = store.get("voucher", token_id)
    # A burn moves the epoch on like a whole transfer: every approval on the voucher lapses.
    voucher["epoch"] += 1
    if to == ZERO_ADDRESS:
        voucher.update(burned=True, burned_block=e.block_number, status=int(VoucherStatus.NONE))
    else:
        voucher["holder"] = to
    store.put("voucher", voucher)


@on(VOUCHER, "SlotChanged")
def voucher_slot_changed(store: Store, e: Event) -> None:
    if e.args["_oldSlot"] == 0:
        voucher = store.get("voucher", e.args["_tokenId"])
        voucher["receivable_id"] = e.args["_newSlot"]
        store.put("voucher", voucher)


@on(VOUCHER, "TransferValue")
def value_transferred(store: Store, e: Event) -> None:
    """Move value; the first TransferValue into a voucher names its parent (0: an issued root)."""
    source, target, value = e.args["_fromTokenId"], e.args["_toTokenId"], e.args["_value"]
    if source:
        voucher = store.get("voucher", source)
        voucher["value"] -= value
        store.put("voucher", voucher)
    if target:
        voucher = store.get("voucher", target)
        voucher["value"] += value
        if voucher["parent_id"] is None:
            voucher["parent_id"] = source
            voucher["status"] = int(VoucherStatus.ACTIVE if source else VoucherStatus.PENDING)
        store.put("voucher", voucher)


@on(VOUCHER, "ApprovalValue")
def value_approved(store: Store, e: Event) -> None:
    token_id = e.args["_tokenId"]
    voucher = store.get("voucher", token_id)
    store.put("value_allowance", {
        "token_id": token_id, "operator": e.args["_operator"], "value": min(e.args["_value"], MAX_ALLOWANCE),
        "epoch": voucher["epoch"],
    })


@on(VOUCHER, "Approval")
def voucher_approved(store: Store, e: Event) -> None:
    token_id = e.args["tokenId"]
    voucher = store.get("voucher", token_id)
    store.put("token_approval", {"token_id": token_id, "operator": e.args["approved"], "epoch": voucher["epoch"]})


@on(VOUCHER, "ApprovalForAll")
def operator_approved(store: Store, e: Event) -> None:
    holder, operator = e.args["owner"], e.args["operator"]
    if e.args["approved"]:
        store.put("operator_approval", {"holder": holder, "operator": operator})
    else:
        store.delete("operator_approval", holder, operator)
