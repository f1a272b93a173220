"""The audit: trust nothing but the chain.

Fetch every log of the deployment's contracts up to a block, rebuild every receivable's voucher
tree, credit line, offer and data asset from those events alone, and check the invariants step
by step (value conservation, claims within repayments, credit-line use, one active pledge per
asset, one live receivable per document); then compare the rebuilt state with the contracts'
views pinned to that block, with the SQL mirror, and with the gateway's stored documents.

    result = audit(rpc_url, deployment, mirror_db="mirror.db")
    write_report(result, Path("audit-out"))          # audit.json + audit.html
    proof = Auditor(rpc_url, deployment).proof(42)   # a voucher's lineage, checkable anywhere
    assert verify_proof(proof, other_node_url).ok
"""

from .core import AuditResult, Auditor, ChainHistory, audit, fetch_history
from .model import CHECKS, Discrepancy
from .proof import Verification, lineage_proof, verify_proof
from .rebuild import Rebuild
from .report import render_html, write_report

__all__ = [
    "AuditResult",
    "Auditor",
    "CHECKS",
    "ChainHistory",
    "Discrepancy",
    "Rebuild",
    "Verification",
    "audit",
    "fetch_history",
    "lineage_proof",
    "render_html",
    "verify_proof",
    "write_report",
]
