"""Where a running stack stands: the chain's head, the mirror's block and lag, the gateway's /ready.

`ledger status` prints this. Each part is checked on its own, so one that is down is reported
with its reason while the others still answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

#: The mirror counts as behind (not ok) beyond this many blocks, as the gateway's /ready does by default.
MAX_LAG = 5


def _rpc(client: httpx.Client, url: str, method: str, params: list) -> Any:
    r = client.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    r.raise_for_status()
    body = r.json()
    if "error" in body:
        raise RuntimeError(f"{method}: {body['error']}")
    return body["result"]


def stack_status(rpc_url: str, *, mirror_db: str | None = None, gateway_url: str | None = None,
                 max_lag: int = MAX_LAG, timeout: float = 5.0) -> dict[str, Any]:
    """Check the chain at `rpc_url`, and the mirror database and gateway when given.

    Returns:
        {"ok": all fine, "chain": {...}, "mirror": {...} (if mirror_db), "gateway": {...}
        (if gateway_url)}; each part has "ok", "summary" (one readable line) and its figures.
    """
    report: dict[str, Any] = {}
    head: int | None = None
    with httpx.Client(timeout=timeout) as client:
        try:
            chain_id = int(_rpc(client, rpc_url, "eth_chainId", []), 16)
            block = _rpc(client, rpc_url, "eth_getBlockByNumber", ["latest", False])
            head = int(block["number"], 16)
            report["chain"] = {"ok": True, "url": rpc_url, "chain_id": chain_id, "head": head,
                               "head_hash": block["hash"], "timestamp": int(block["timestamp"], 16),
                               "summary": f"{rpc_url}: chain id {chain_id}, head block {head}"}
        except (httpx.HTTPError, RuntimeError, ValueError, KeyError, TypeError) as error:
            report["chain"] = {"ok": False, "url": rpc_url, "error": str(error) or repr(error),
                               "summary": f"{rpc_url} does not answer JSON-RPC: {error!r}"}
        if mirror_db:
            report["mirror"] = _mirror(client, rpc_url, mirror_db, head, max_lag)
        if gateway_url:
            report["gateway"] = _gateway(client, gateway_url.rstrip("/"))
    report["ok"] = all(part["ok"] for part in report.values())
    return report


def _mirror(client: httpx.Client, rpc_url: str, db: str, head: int | None, max_lag: int) -> dict[str, Any]:
    from .mirror import MirrorReader

    if "://" not in db and not Path(db).is_file():
        return {"ok": False, "db": db, "summary": f"no mirror database at {db}"}
    reader = MirrorReader(db)
    try:
        with reader.snapshot() as snap:
            block, status, message = snap.block, snap.status, snap.message
    except Exception as error:  # a database that is not a mirror, or unreachable: say which
        return {"ok": False, "db": db, "summary": f"cannot read the mirror at {db}: {error!r}"}
    finally:
        reader.close()
    entry: dict[str, Any] = {"db": db, "status": status, "message": message,
                             "block": None if block is None else {"number": block.number, "hash": block.hash}}
    if block is None:
        return {**entry, "ok": False, "lag": None, "summary": f"{db}: {status}, no block applied yet"}
    lag = None if head is None else head - block.number
    canonical = None
    if head is not None:
        try:
            at = _rpc(client, rpc_url, "eth_getBlockByNumber", [hex(block.number), False])
            canonical = at is not None and at["hash"] == block.hash
        except (httpx.HTTPError, RuntimeError, KeyError, TypeError):
            canonical = None
    ok = status != "halted" and lag is not None and lag <= max_lag and canonical is not False
    summary = f"{db}: {status} at block {block.number}"
    if lag is not None:
        summary += f", {lag} behind the head"
    if canonical is False:
        summary += "; its block is not on the chain's canonical branch (a reorg it has not followed yet)"
    if status == "halted":
        summary += f"; halted: {message}"
    elif lag is not None and lag > max_lag:
        summary += f" (more than {max_lag})"
    return {**entry, "ok": ok, "lag": lag, "canonical": canonical, "summary": summary}


def _gateway(client: httpx.Client, url: str) -> dict[str, Any]:
    try:
        r = client.get(f"{url}/ready")
    except httpx.HTTPError as error:
        return {"ok": False, "url": url, "summary": f"{url}/ready does not answer: {error!r}"}
    try:
        body = r.json()
    except ValueError:
        body = {"text": r.text[:500]}
    ok = r.status_code == 200
    if ok:
        block = (body.get("block") or {}).get("number")
        summary = f"{url}: ready; its mirror at block {block}, {body.get('lag')} behind the head"
    else:
        summary = f"{url}: not ready ({r.status_code}): {body.get('reason') or body}"
    return {"ok": ok, "url": url, "http_status": r.status_code, "ready": body, "summary": summary}
