"""Credit lines: a financier grants an obligor a limit."""

from __future__ import annotations

from fastapi import APIRouter

from ledger import Role
from ledger.exceptions import CreditLineNonexistent
from ledger.mirror import CreditLine

from ...errors import NotOwner
from ...schemas import AdvanceRate, CreditLineCreate, CreditLinePublic, CreditTerms, Id, credit_line_json, written
from ...service import Outcome, block_json
from ..deps import GatewayDep, IdempotencyDep, ReaderDep, WriterDep
from ..visibility import require_credit_line

router = APIRouter(prefix="/credit-lines", tags=["credit lines"])


@router.post("", status_code=201, response_model=None, responses=written(201))
def grant(body: CreditLineCreate, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Grant `obligor` a credit line (FINANCIER)."""

    def act() -> Outcome:
        caller.need(Role.FINANCIER)
        granted = gateway.ledger.grant_credit_line(caller.account, body.obligor, body.currency, body.limit,
                                                   body.expiry, body.grace_period)
        return Outcome({"line_id": granted.line_id}, granted.receipt, 201)

    return gateway.write(caller.party, idem, act)


def _financed_by(gateway, caller, line_id: int) -> CreditLine:
    line = gateway.fetch(CreditLine, line_id)
    if line is None:
        raise CreditLineNonexistent(line_id)
    if line.financier != caller.address:
        raise NotOwner("only the financier of the credit line can do this", account=caller.address, line_id=line_id)
    return line


@router.post("/{line_id}/terms", response_model=None, responses=written())
def set_terms(line_id: Id, body: CreditTerms, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Change the line's base limit and expiry (its financier). Existing vouchers stay valid."""

    def act() -> Outcome:
        _financed_by(gateway, caller, line_id)
        receipt = gateway.ledger.set_credit_terms(caller.account, line_id, body.limit, body.expiry)
        return Outcome({"line_id": line_id, "limit": str(body.limit), "expiry": body.expiry}, receipt)

    return gateway.write(caller.party, idem, act)


@router.post("/{line_id}/advance-rate", response_model=None, responses=written())
def set_advance_rate(line_id: Id, body: AdvanceRate, caller: WriterDep, gateway: GatewayDep,
                     idem: IdempotencyDep):
    """Set the share of the pledged data assets' counted value the line lends (its financier)."""

    def act() -> Outcome:
        _financed_by(gateway, caller, line_id)
        receipt = gateway.ledger.set_advance_rate(caller.account, line_id, body.rate_bps)
        return Outcome({"line_id": line_id, "rate_bps": body.rate_bps}, receipt)

    return gateway.write(caller.party, idem, act)


@router.post("/{line_id}/sync-collateral", response_model=None, responses=written())
def sync_collateral(line_id: Id, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Recount the line's pledged data assets after a counted appraisal expired (any member)."""

    def act() -> Outcome:
        if gateway.fetch(CreditLine, line_id) is None:
            raise CreditLineNonexistent(line_id)
        return Outcome({"line_id": line_id}, gateway.ledger.sync_collateral(caller.account, line_id))

    return gateway.write(caller.party, idem, act)


@router.get("/{line_id}", responses={200: {"model": CreditLinePublic}})
def get(line_id: Id, caller: ReaderDep, gateway: GatewayDep) -> dict:
    """The line as the mirror has it, with its data-asset collateral (as CreditLines last recorded
    it), and its effective limit (base limit plus counted collateral × advance rate) and what it can
    still lend, from CreditLines' views at the mirror's block. Only for its obligor, its financier,
    auditors and the operator; anyone else gets 403 `NotOwner` (api/visibility.py); a line that does
    not exist is 404 for everyone."""
    with gateway.snapshot() as snap:
        line = snap.session.get(CreditLine, line_id)
        if line is None:
            raise CreditLineNonexistent(line_id)
        require_credit_line(caller, line)
        body = {**credit_line_json(line), "block": block_json(snap.block)}
        collateral = {"value": str(line.collateral_value), "valid_until": line.collateral_valid_until or None,
                      "advance_rate_bps": line.advance_rate_bps, "source": "mirror"}
    if gateway.ledger.data_assets is not None and snap.block is not None:
        body["collateral"] = collateral
        # What the line can lend with that collateral depends on the block's time (expiry, the
        # earliest counted appraisal): CreditLines' own arithmetic at the mirror's block.
        body["effective_limit"] = str(gateway.ledger.effective_limit(line_id, block=snap.block.number))
        body["available"] = str(gateway.ledger.credit_available(line_id, block=snap.block.number))
    return body
