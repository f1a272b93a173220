"""The platform switch: pause and unpause the ledger (operator); what stops and what goes on is the
one pause policy of docs/contracts.md (value stops moving, repayments go on)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import select

from ledger.mirror import PauseState

from ...schemas import written
from ...service import Outcome, block_json
from ..deps import GatewayDep, IdempotencyDep, OperatorDep, ReaderDep

router = APIRouter(prefix="/platform", tags=["platform"])


@router.post("/pause", response_model=None, responses=written())
def pause(gateway: GatewayDep, _: OperatorDep, idem: IdempotencyDep):
    """Pause the ledger (operator): no value moves until unpaused; repayments go on (docs/contracts.md)."""
    return gateway.write(gateway.operator_party, idem,
                         lambda: Outcome({"paused": True}, gateway.ledger.pause(gateway.operator)))


@router.post("/unpause", response_model=None, responses=written())
def unpause(gateway: GatewayDep, _: OperatorDep, idem: IdempotencyDep):
    """Unpause the voucher contract (operator)."""
    return gateway.write(gateway.operator_party, idem,
                         lambda: Outcome({"paused": False}, gateway.ledger.unpause(gateway.operator)))


@router.get("")
def state(caller: ReaderDep, gateway: GatewayDep) -> dict:
    """Whether the voucher contract is paused, as the mirror reflects it (any party, and the operator's
    bootstrap credential)."""
    with gateway.snapshot() as snap:
        row = snap.session.exec(select(PauseState).where(PauseState.contract == gateway.deployment.voucher)).first()
        return {"paused": bool(row and row.paused), "block": block_json(snap.block)}
