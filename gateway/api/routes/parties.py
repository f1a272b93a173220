"""Parties: registration (operator), who am I, and a party's positions."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlmodel import Session, select

from ledger import Role
from ledger.mirror import CreditLine, Offer, Receivable, Voucher
from ledger.types import OfferState

from ...errors import InvalidInput
from ...schemas import (Address, OperatorApproval, PartyCreate, RoleChange, amount, credit_line_json, offer_json,
                        receivable_json, voucher_json, written)
from ...service import GRANTABLE, Outcome, block_json
from ..deps import GatewayDep, IdempotencyDep, OperatorDep, PartyDep, ReaderDep, WriterDep
from ..visibility import require_positions

router = APIRouter(prefix="/parties", tags=["parties"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=None)
def register_party(body: PartyCreate, gateway: GatewayDep, _: OperatorDep, idem: IdempotencyDep):
    """Register a party (operator's bootstrap credential): admit it on-chain with its roles.

    Without `address` the gateway generates the party's key and keeps it encrypted; with one,
    the party keeps its key and submits self-signed transactions to /v1/transactions (not the
    zero address, a contract's or the operator's own: 422). The API key in the response is shown
    to this request only (and to a retry with its Idempotency-Key): only its hash is kept for
    authentication. With an Idempotency-Key a retry after a 5xx finishes the registration with
    the key generated the first time, without admitting anything twice.
    """
    refused = [r.value for r in body.roles if r not in GRANTABLE]
    if refused:
        raise InvalidInput("these roles cannot be granted through the gateway", roles=refused)

    def act() -> Outcome:
        party, api_key, block = gateway.register(body.name, body.roles, body.address)
        return Outcome({"id": party.id, "name": party.name, "address": party.address,
                        "roles": [r.value for r in body.roles], "managed_key": party.sealed_key is not None,
                        # Stored sealed with the idempotent result, never in clear (see reveal).
                        "api_key_sealed": gateway.api_keys.seal(api_key.encode(), party.address.encode()).hex(),
                        "block": block_json(block)}, None, status.HTTP_201_CREATED)

    def reveal(stored: dict) -> dict:
        if "api_key_sealed" not in stored:
            return stored
        body = {k: v for k, v in stored.items() if k != "api_key_sealed"}
        sealed = bytes.fromhex(stored["api_key_sealed"])
        return {**body, "api_key": gateway.api_keys.open(sealed, stored["address"].encode()).decode()}

    return gateway.write(gateway.operator_party, idem, act, reveal=reveal)


@router.get("/me")
def me(caller: PartyDep) -> dict:
    """The authenticated party and its on-chain roles."""
    return {"id": caller.party.id, "name": caller.party.name, "address": caller.address,
            "is_member": caller.is_member, "roles": sorted(r.value for r in caller.roles if r is not Role.MEMBER),
            "managed_key": caller.party.sealed_key is not None}


@router.get("/{address}/positions")
def positions(address: Address, caller: ReaderDep, gateway: GatewayDep) -> dict:
    """What a party holds and owes: vouchers by receivable, receivables it owes or was issued,
    its open offers and credit lines. Only for the party itself, auditors and the operator; anyone
    else gets 403 `NotOwner` (api/visibility.py)."""
    require_positions(caller, address)
    with gateway.snapshot() as snap:
        return {**positions_of(snap.session, address), "block": block_json(snap.block)}


def positions_of(s: Session, address: str) -> dict:
    """A party's positions in one mirror session (also the explorer's party view)."""
    held = s.exec(select(Voucher).where(Voucher.holder == address, Voucher.burned == False)  # noqa: E712
                  .order_by(Voucher.token_id)).all()
    owed = s.exec(select(Receivable).where(Receivable.obligor == address).order_by(Receivable.receivable_id)).all()
    issued = s.exec(select(Receivable).where(Receivable.supplier == address)
                    .order_by(Receivable.receivable_id)).all()
    offers = s.exec(select(Offer).where(Offer.seller == address, Offer.state == int(OfferState.OPEN))
                    .order_by(Offer.offer_id)).all()
    lines = s.exec(select(CreditLine).where((CreditLine.obligor == address) | (CreditLine.financier == address))
                   .order_by(CreditLine.line_id)).all()
    by_receivable: dict[int, int] = {}
    for v in held:
        by_receivable[v.receivable_id] = by_receivable.get(v.receivable_id, 0) + v.value
    return {
        "address": address,
        "vouchers": [voucher_json(v) for v in held],
        "holdings": [{"receivable_id": k, "value": amount(v)} for k, v in sorted(by_receivable.items())],
        "total_held": amount(sum(v.value for v in held)),
        "obligations": [receivable_json(r) for r in owed],
        "receivables_issued_to": [receivable_json(r) for r in issued],
        "open_offers": [offer_json(o) for o in offers],
        "credit_lines": [credit_line_json(c) for c in lines],
    }


# -- membership administration (the operator's bootstrap credential; signed with the operator's key) --


def _grantable(role: Role) -> Role:
    if role not in GRANTABLE:
        raise InvalidInput("this role cannot be granted or revoked through the gateway", role=role.value)
    return role


@router.post("/{address}/roles", response_model=None, responses=written())
def grant_role(address: Address, body: RoleChange, gateway: GatewayDep, _: OperatorDep, idem: IdempotencyDep):
    """Grant a member a party role (operator)."""
    role = _grantable(body.role)

    def act() -> Outcome:
        receipt = gateway.ledger.grant_role(gateway.operator, role, address)
        return Outcome({"address": address, "role": role.value, "granted": True}, receipt)

    return gateway.write(gateway.operator_party, idem, act)


@router.delete("/{address}/roles/{role}", response_model=None, responses=written())
def revoke_role(address: Address, role: Role, gateway: GatewayDep, _: OperatorDep, idem: IdempotencyDep):
    """Revoke a party role (operator); the account stays a member."""
    role = _grantable(role)

    def act() -> Outcome:
        receipt = gateway.ledger.revoke_role(gateway.operator, role, address)
        return Outcome({"address": address, "role": role.value, "granted": False}, receipt)

    return gateway.write(gateway.operator_party, idem, act)


@router.post("/{address}/expel", response_model=None, responses=written())
def expel(address: Address, gateway: GatewayDep, _: OperatorDep, idem: IdempotencyDep):
    """Expel a member (operator): its roles go and its vouchers are frozen until it is admitted again."""

    def act() -> Outcome:
        return Outcome({"address": address, "is_member": False}, gateway.ledger.expel(gateway.operator, address))

    return gateway.write(gateway.operator_party, idem, act)


@router.post("/{address}/admit", response_model=None, responses=written())
def admit(address: Address, body: list[RoleChange], gateway: GatewayDep, _: OperatorDep, idem: IdempotencyDep):
    """Admit (or re-admit after expulsion) an account with party roles (operator)."""
    roles = [_grantable(r.role) for r in body]

    def act() -> Outcome:
        receipt = gateway.ledger.admit(gateway.operator, address, roles)
        return Outcome({"address": address, "is_member": True, "roles": [r.value for r in roles]}, receipt)

    return gateway.write(gateway.operator_party, idem, act)


@router.post("/me/operators", response_model=None, responses=written())
def set_approval_for_all(body: OperatorApproval, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Let `operator` move all of the caller's vouchers, or withdraw that (ERC-721 setApprovalForAll)."""

    def act() -> Outcome:
        receipt = gateway.ledger.set_approval_for_all(caller.account, body.operator, body.approved)
        return Outcome({"owner": caller.address, "operator": body.operator, "approved": body.approved}, receipt)

    return gateway.write(caller.party, idem, act)
