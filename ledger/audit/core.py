"""Run an audit: fetch and decode every log of the deployment up to a block, rebuild, check."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ..compiler import compile_project
from ..deploy import Deployment
from ..exceptions import DeploymentError
from ..logs import LogDecoder
from ..types import Event
from .model import CHECKS, Discrepancy
from .proof import lineage_proof
from .rebuild import Rebuild
from .rpc import AuditRpc
from .stores import check_gateway_documents, compare_mirror
from .views import compare_views

#: Deployment field -> contract name.
CONTRACTS = {"voucher": "ReceivableVoucher", "credit_lines": "CreditLines", "factoring": "Factoring",
             "data_assets": "DataAssetRegistry"}


@dataclass
class ChainHistory:
    """Every decoded event of the deployment up to `block`, and the raw logs they came from."""

    chain_id: int
    block: int
    block_hash: str
    timestamp: int
    contracts: dict[str, tuple[str, list]]  # name -> (address, abi)
    events: list[Event]
    raw: dict[tuple[str, int], dict[str, Any]]
    undecoded: list[dict[str, Any]]


def fetch_history(rpc: AuditRpc, deployment: Deployment, block: int | None = None, *, page: int = 5_000
                  ) -> ChainHistory:
    """Fetch (eth_getLogs, paged) and decode every log of the deployment's contracts up to `block`.

    Raises:
        DeploymentError: the node is another chain, or a contract has no code at `block`.
    """
    chain_id = int(rpc.call("eth_chainId"), 16)
    if chain_id != deployment.chain_id:
        raise DeploymentError(f"deployment is for chain {deployment.chain_id}, {rpc.url} is chain {chain_id}")
    header = rpc.block("latest" if block is None else block)
    if header is None:
        raise DeploymentError(f"block {block} does not exist yet on chain {chain_id}")
    number = int(header["number"], 16)
    artifacts = compile_project()
    contracts = {}
    for attribute, name in CONTRACTS.items():
        address = getattr(deployment, attribute, None)
        if not address:
            continue
        if rpc.call("eth_getCode", address, hex(number)) in ("0x", "0x0", None):
            raise DeploymentError(f"no {name} contract at {address} at block {number}")
        contracts[name] = (address, artifacts[name].abi)
    decoder = LogDecoder([(name, address, abi) for name, (address, abi) in contracts.items()])
    raw_logs = rpc.logs([address for address, _ in contracts.values()], deployment.start_block, number, page=page)
    events, raw, undecoded = [], {}, []
    for log in raw_logs:
        if log.get("removed"):
            continue
        event = decoder.decode(log)
        if event is None:
            undecoded.append(log)
            continue
        events.append(event)
        raw[(log["blockHash"].lower(), int(log["logIndex"], 16))] = log
    return ChainHistory(chain_id, number, header["hash"], int(header["timestamp"], 16), contracts, events, raw,
                        undecoded)


@dataclass
class AuditResult:
    """An audit's findings: what was audited, what was counted, and every discrepancy."""

    chain_id: int
    block: int
    block_hash: str
    block_timestamp: int
    rpc_url: str
    deployment: dict[str, Any]
    counts: dict[str, Any]
    checks: dict[str, dict[str, Any]]
    discrepancies: list[Discrepancy]
    timings: dict[str, float]
    sources: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.discrepancies

    def to_json(self) -> dict[str, Any]:
        from .model import plain

        return {
            "audit": "receivables ledger",
            "result": "PASS" if self.ok else "FAIL",
            "chain_id": self.chain_id,
            "block": {"number": self.block, "hash": self.block_hash, "timestamp": self.block_timestamp},
            "rpc_url": self.rpc_url,
            "deployment": self.deployment,
            "sources": plain(self.sources),
            "counts": plain(self.counts),
            "checks": plain(self.checks),
            "discrepancies": [d.to_json() for d in self.discrepancies],
            "timings_seconds": {k: round(v, 3) for k, v in self.timings.items()},
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }


class Auditor:
    """Audit one deployment on one node; optionally its SQL mirror and the gateway's documents.

    Args:
        rpc_url: the node to trust (JSON-RPC).
        deployment: where the contracts are, and their start block.
        page: most blocks per eth_getLogs request (halved when the node refuses).
    """

    def __init__(self, rpc_url: str, deployment: Deployment, *, page: int = 5_000):
        self.rpc_url = rpc_url
        self.deployment = deployment
        self.page = page
        self.rpc = AuditRpc(rpc_url)
        self.history: ChainHistory | None = None
        self.state: Rebuild | None = None

    def close(self) -> None:
        self.rpc.close()

    def __enter__(self) -> Auditor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def rebuild(self, block: int | None = None) -> Rebuild:
        """Fetch and replay the chain up to `block` (the head by default)."""
        self.history = fetch_history(self.rpc, self.deployment, block, page=self.page)
        self.state = Rebuild(self.history.events).run()
        blocks = sorted(self.state.timed_blocks())
        headers = self.rpc.batch_results([("eth_getBlockByNumber", [hex(n), False]) for n in blocks])
        self.state.set_times({n: int(h["timestamp"], 16) for n, (_, h) in zip(blocks, headers, strict=True)})
        self.state.now = self.history.timestamp
        return self.state

    def run(self, block: int | None = None, *, mirror_db: str | None = None, gateway_db: str | None = None,
            master_secret: str | None = None) -> AuditResult:
        """Audit at `block`: the mirror's block when a mirror is given and no block is, else the head."""
        timings: dict[str, float] = {}
        started = time.perf_counter()
        if block is None and mirror_db is not None:
            from ..mirror import MirrorReader

            reader = MirrorReader(mirror_db)
            try:
                at = reader.block()
            finally:
                reader.close()
            block = at.number if at is not None else None
        state = self.rebuild(block)
        history = self.history
        timings["fetch_and_rebuild"] = time.perf_counter() - started
        found: list[Discrepancy] = list(state.found)
        for log in history.undecoded:
            found.append(Discrepancy("event_decoding", "a log of our contracts matches no event of their ABI",
                                     {"block": int(log["blockNumber"], 16), "tx_hash": log["transactionHash"],
                                      "log_index": int(log["logIndex"], 16), "address": log["address"]},
                                     None, log["topics"][:1]))
        ran = {name: False for name in CHECKS}
        for name in ("event_decoding", "value_conservation", "claims", "credit_lines", "pledges", "documents",
                     "pause_clock"):
            ran[name] = True

        mark = time.perf_counter()
        view_found, calls = compare_views(state, self.rpc, history.contracts, history.block)
        found += view_found
        ran["chain_views"] = True
        timings["chain_views"] = time.perf_counter() - mark

        sources: dict[str, Any] = {}
        counts_extra: dict[str, Any] = {"view_calls": calls}
        if mirror_db is not None:
            mark = time.perf_counter()
            mirror_found, rows = compare_mirror(state, mirror_db, history.block, history.block_hash, rpc=self.rpc,
                                                contracts=history.contracts)
            found += mirror_found
            ran["mirror"] = True
            sources["mirror_db"] = _redact(mirror_db)
            counts_extra["mirror_rows"] = rows
            timings["mirror"] = time.perf_counter() - mark
        if gateway_db is not None:
            if not master_secret:
                raise ValueError("auditing the gateway's documents needs the master secret (GATEWAY_MASTER_SECRET)")
            mark = time.perf_counter()
            doc_found, stats = check_gateway_documents(state, gateway_db, master_secret)
            found += doc_found
            ran["gateway_documents"] = True
            sources["gateway_db"] = _redact(gateway_db)
            counts_extra["gateway_documents"] = stats
            timings["gateway_documents"] = time.perf_counter() - mark

        # The audited block must still be canonical: otherwise a reorg happened under the audit.
        now = self.rpc.block(history.block)
        if now is None or now["hash"].lower() != history.block_hash.lower():
            found.append(Discrepancy("chain_views", f"block {history.block} was reorganised during the audit",
                                     {"block": history.block}, history.block_hash, now and now["hash"]))
        timings["total"] = time.perf_counter() - started

        checks = {}
        for name, description in CHECKS.items():
            n = sum(1 for d in found if d.check == name)
            checks[name] = {"description": description, "ran": ran[name],
                            "status": ("FAIL" if n else "PASS") if ran[name] else "SKIPPED", "discrepancies": n}
        live = sum(1 for v in state.vouchers.values() if not v["burned"])
        counts = {
            "events": len(history.events), "transactions": len({e.tx_hash for e in history.events}),
            "receivables": len(state.receivables), "vouchers": len(state.vouchers), "live_vouchers": live,
            "credit_lines": len(state.credit_lines), "offers": len(state.offers), "deals": len(state.deals),
            "repayments": len(state.repayments), "claims": len(state.claims), "data_assets": len(state.data_assets),
            "pledges": len(state.pledges), "events_by_name": dict(sorted(state.counts.items())), **counts_extra,
        }
        deployment = {"chain_id": self.deployment.chain_id, "start_block": self.deployment.start_block,
                      **{name: address for name, (address, _) in history.contracts.items()}}
        return AuditResult(history.chain_id, history.block, history.block_hash, history.timestamp,
                           _redact(self.rpc_url), deployment, counts, checks, found, timings, sources)

    def proof(self, token_id: int, block: int | None = None) -> dict[str, Any]:
        """The lineage proof of `token_id` as of `block` (the head by default).

        Raises:
            KeyError: no event minted `token_id` up to that block.
        """
        if self.state is None or (block is not None and self.history.block != block):
            self.rebuild(block)
        history = self.history
        return lineage_proof(self.state, history.raw, token_id, chain_id=history.chain_id, block=history.block,
                             block_hash=history.block_hash,
                             contracts={name: address for name, (address, _) in history.contracts.items()})


def _redact(url: str) -> str:
    """A URL without its password, for the report."""
    if "://" in url and "@" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return url


def audit(rpc_url: str, deployment: Deployment, block: int | None = None, *, mirror_db: str | None = None,
          gateway_db: str | None = None, master_secret: str | None = None) -> AuditResult:
    """Audit `deployment` on the node at `rpc_url` (see Auditor.run)."""
    with Auditor(rpc_url, deployment) as auditor:
        return auditor.run(block, mirror_db=mirror_db, gateway_db=gateway_db, master_secret=master_secret)
