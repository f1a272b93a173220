"""Credit lines: a financier grants an obligor a limit."""

from __future__ import annotations

from fastapi import APIRouter

from ledger import Role
from ledger.exceptions import CreditLineNonexistent
from ledger.mirror import CreditLine

from ...schemas import CreditLineCreate, Id, credit_line_json
from ...service import Outcome, block_json
from ..deps import GatewayDep, IdempotencyDep, PartyDep, WriterDep

router = APIRouter(prefix="/credit-lines", tags=["credit lines"])


@router.post("", status_code=201, response_model=None)
def grant(body: CreditLineCreate, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Grant `obligor` a credit line (FINANCIER)."""

    def act() -> Outcome:
        caller.need(Role.FINANCIER)
        granted = gateway.ledger.grant_credit_line(caller.account, body.obligor, body.currency, body.limit,
                                                   body.expiry, body.grace_period)
        return Outcome({"line_id": granted.line_id}, granted.receipt, 201)

    return gateway.write(caller.party, idem, act)


@router.get("/{line_id}")
def get(line_id: Id, caller: PartyDep, gateway: GatewayDep) -> dict:
    with gateway.snapshot() as snap:
        line = snap.session.get(CreditLine, line_id)
        if line is None:
            raise CreditLineNonexistent(line_id)
        return {**credit_line_json(line), "block": block_json(snap.block)}
