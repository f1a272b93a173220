"""The audit, for AUDITORs: the chain's history rebuilt and checked, and lineage proofs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Query

from ledger import Role
from ledger.audit import Auditor, audit
from ledger.exceptions import DeploymentError

from ...errors import InvalidInput, NotFound
from ...schemas import Id
from ...validation import Block
from ..deps import GatewayDep, PartyDep

router = APIRouter(tags=["audit"])


@router.get("/audit")
def run_audit(
    gateway: GatewayDep,
    caller: PartyDep,
    block: Annotated[Block | None, Query(description="block to audit (default: the chain's head)")] = None,
    mirror: bool = Query(False, description="also compare the SQL mirror (it must have reached `block`)"),
) -> dict:
    """Audit the whole history (AUDITOR): events rebuilt from the chain and checked, the state
    compared with the contracts' views at the block, every stored document and appraisal report
    re-hashed against its on-chain fingerprint, and with `mirror=true` the SQL mirror compared
    row by row. The mirror keeps moving while the gateway serves writes, so it is compared only
    on request, at its own block. `result` is PASS or FAIL; every discrepancy is listed."""
    caller.need(Role.AUDITOR)
    settings = gateway.settings
    with _at_block(gateway, block):
        result = audit(
            settings.rpc_url,
            gateway.deployment,
            block,
            mirror_db=settings.mirror_db if mirror else None,
            gateway_db=settings.db,
            master_secret=settings.master_secret.get_secret_value(),
        )
    return result.to_json()


@router.get("/vouchers/{token_id}/proof")
def lineage_proof(
    gateway: GatewayDep,
    caller: PartyDep,
    token_id: Id,
    block: Annotated[Block | None, Query(description="as of this block (default: the head)")] = None,
) -> dict:
    """A voucher's lineage proof (AUDITOR): every step from its root, with block number and hash,
    transaction hash, log index and the raw log, so anyone can check it against any node
    (`ledger proof --verify proof.json --rpc-url URL`)."""
    caller.need(Role.AUDITOR)
    with _at_block(gateway, block), Auditor(gateway.settings.rpc_url, gateway.deployment) as auditor:
        try:
            return auditor.proof(token_id, block)
        except KeyError:
            raise NotFound(f"no event minted voucher {token_id}", token_id=token_id) from None


@contextmanager
def _at_block(gateway, block: int | None) -> Iterator[None]:
    """A block the chain has not reached, or one before the contracts were deployed, is the
    caller's mistake (422), not the chain failing (502)."""
    if block is not None:
        head = gateway.chain.w3.eth.block_number
        if block > head:
            raise InvalidInput(f"block {block} is beyond the chain's head {head}", block=block, head=head)
    try:
        yield
    except DeploymentError as error:
        if block is None:
            raise
        raise InvalidInput(f"block {block} precedes the deployment ({error})", block=block) from None
