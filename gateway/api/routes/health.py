"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ...service import block_json
from ..deps import GatewayDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict:
    """The process answers."""
    return {"status": "ok"}


@router.get("/ready", response_model=None, responses={503: {
    "description": "not ready: the chain does not answer, or the mirror halted or lags",
    "content": {"application/json": {"schema": {
        "type": "object", "required": ["status", "reason"],
        "properties": {"status": {"const": "unavailable"}, "reason": {"type": "string"}}}}}}})
def ready(gateway: GatewayDep):
    """Ready: the chain answers and the mirror is running within `ready_max_lag` blocks of its head."""
    try:
        head = gateway.chain.w3.eth.block_number
    except Exception:
        return JSONResponse({"status": "unavailable", "reason": "the chain does not answer"}, status_code=503)
    with gateway.snapshot() as snap:
        block, status, message = snap.block, snap.status, snap.message
    lag = None if block is None else head - block.number
    body = {"head": head, "block": block_json(block), "lag": lag, "mirror": status}
    if status == "halted":
        return JSONResponse({"status": "unavailable", "reason": f"the mirror halted: {message}", **body}, 503)
    if lag is None or lag > gateway.settings.ready_max_lag:
        return JSONResponse({"status": "unavailable", "reason": "the mirror is behind the chain", **body}, 503)
    return {"status": "ready", **body}
