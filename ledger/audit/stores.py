"""Compare what is stored off chain with the chain: the SQL mirror, and the gateway's documents.

Both are read-only here: the audit opens the mirror through MirrorReader (one consistent
snapshot) and the gateway's database through its own tables, and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

from sqlalchemy import select

from ..types import Event
from .model import Discrepancy
from .rebuild import Rebuild

#: Mirror table -> the Rebuild attribute holding the same rows (same primary key and columns).
MIRROR_TABLES = {
    "voucher": "vouchers", "receivable": "receivables", "credit_line": "credit_lines", "offer": "offers",
    "deal": "deals", "data_asset": "data_assets", "appraisal": "appraisals", "pledge": "pledges",
    "repayment": "repayments", "claim": "claims",
}


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    raise TypeError(type(value).__name__)


def event_args(e: Event) -> Any:
    """An event's arguments as the mirror's event_log stores them (JSON: bytes as 0x hex)."""
    return json.loads(json.dumps(e.args, default=_json_default))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str) and a.startswith("0x"):
        return a.lower() == b.lower()
    return a == b


def compare_mirror(state: Rebuild, db: str, block: int, block_hash: str, *, rpc=None,
                   contracts: dict[str, tuple[str, list]] | None = None) -> tuple[list[Discrepancy], dict[str, int]]:
    """Compare the mirror at `db` with the rebuilt state and the chain's logs, both at `block`;
    given `rpc` and `contracts` (name -> (address, abi)), also its membership, pause and
    approval tables with the contracts' views at `block` (mirror_views), in the same snapshot.

    Returns:
        The discrepancies, and the number of rows compared per table (with `rpc`, also
        "view_calls": the eth_calls the view comparison made).
    """
    from ..mirror import MirrorReader
    from ..mirror.models import EventLog, STATE_MODELS

    found: list[Discrepancy] = []
    counts: dict[str, int] = {}
    reader = MirrorReader(db)
    try:
        with reader.snapshot() as snap:
            s = snap.session
            if snap.block is None:
                found.append(Discrepancy("mirror", "the mirror has applied no block", {"table": "mirror_cursor"},
                                         block, None))
                return found, counts
            if snap.block.number != block or snap.block.hash.lower() != block_hash.lower():
                found.append(Discrepancy(
                    "mirror", f"the mirror reflects block {snap.block.number} ({snap.block.hash}), the audit block "
                    f"{block} ({block_hash}): its rows cannot be compared", {"table": "mirror_cursor", "row": 1},
                    {"number": block, "hash": block_hash}, {"number": snap.block.number, "hash": snap.block.hash}))
                return found, counts
            found += _compare_event_log(state.events, s, EventLog, block, counts)
            for table, attribute in MIRROR_TABLES.items():
                model = STATE_MODELS.get(table)
                if model is None:
                    continue
                found += _compare_table(table, model, getattr(state, attribute), s, counts)
            if rpc is not None and contracts is not None:
                from .mirror_views import compare_mirror_views

                view_found, calls = compare_mirror_views(state, s, rpc, contracts, block, counts)
                found += view_found
                counts["view_calls"] = calls
    finally:
        reader.close()
    return found, counts


def _compare_table(table: str, model, expected: dict[Any, dict[str, Any]], s, counts: dict[str, int]):
    found: list[Discrepancy] = []
    columns = [c.name for c in model.__table__.columns]
    keys = [c.name for c in model.__table__.primary_key.columns]
    rows = {}
    for row in s.exec(select(model)).scalars():
        values = {c: getattr(row, c) for c in columns}
        rows[tuple(values[k] for k in keys)] = values
    counts[table] = len(rows)
    for key, want in expected.items():
        key = key if isinstance(key, tuple) else (key,)
        location = {"table": table, "row": dict(zip(keys, key, strict=True))}
        have = rows.pop(key, None)
        if have is None:
            found.append(Discrepancy("mirror", f"{table} row {key} is on chain but missing from the mirror", location,
                                     want, None))
            continue
        for column in columns:
            if column in want and not _same(want[column], have[column]):
                found.append(Discrepancy("mirror", f"{table} {key}: {column} is {have[column]!r} in SQL, "
                                         f"{want[column]!r} on chain", {**location, "column": column},
                                         want[column], have[column]))
    for key, have in rows.items():
        found.append(Discrepancy("mirror", f"{table} row {key} is in the mirror but not on chain",
                                 {"table": table, "row": dict(zip(keys, key, strict=True))}, None, have))
    return found


def _compare_event_log(events: list[Event], s, EventLog, block: int, counts: dict[str, int]) -> list[Discrepancy]:
    """The event_log holds every log of ours up to `block` once, as on chain: no gap, duplicate or extra."""
    found: list[Discrepancy] = []
    rows = s.exec(select(EventLog).order_by(EventLog.block_number, EventLog.log_index, EventLog.id)).scalars().all()
    counts["event_log"] = len(rows)
    seen = Counter((r.block_hash.lower(), r.log_index) for r in rows)
    by_key = {}
    for r in rows:
        key = (r.block_hash.lower(), r.log_index)
        if seen[key] > 1 and key not in by_key:
            found.append(Discrepancy("mirror", f"event_log holds log {r.log_index} of block {r.block_number} "
                                     f"{seen[key]} times", {"table": "event_log", "row": {"id": r.id},
                                                            "block": r.block_number, "log_index": r.log_index,
                                                            "tx_hash": r.tx_hash}, 1, seen[key]))
        by_key.setdefault(key, r)
    for e in events:
        key = (e.block_hash.lower(), e.log_index)
        r = by_key.pop(key, None)
        location = {"table": "event_log", "block": e.block_number, "tx_hash": e.tx_hash, "log_index": e.log_index,
                    "event": e.name}
        if r is None:
            found.append(Discrepancy("mirror", f"event_log lacks {e.name} (block {e.block_number}, log "
                                     f"{e.log_index}): a gap", location, e.name, None))
            continue
        location["row"] = {"id": r.id}
        mine = {"tx_hash": e.tx_hash, "address": e.address, "contract": e.contract, "name": e.name,
                "block_number": e.block_number}
        for column, want in mine.items():
            if not _same(want, getattr(r, column)):
                found.append(Discrepancy("mirror", f"event_log {column} differs from the chain's log",
                                         {**location, "column": column}, want, getattr(r, column)))
        if json.loads(r.args) != event_args(e):
            found.append(Discrepancy("mirror", f"event_log args of {e.name} differ from the chain's log",
                                     {**location, "column": "args"}, event_args(e), json.loads(r.args)))
    for r in by_key.values():
        found.append(Discrepancy("mirror", f"event_log holds {r.name} (block {r.block_number}, log {r.log_index}) "
                                 "that the chain does not have at or before the audited block",
                                 {"table": "event_log", "row": {"id": r.id}, "block": r.block_number,
                                  "log_index": r.log_index, "tx_hash": r.tx_hash}, None, r.name))
    return found


def anchored_fingerprints(state: Rebuild) -> dict[str, list[dict[str, Any]]]:
    """Every fingerprint on chain: receivables' documents and appraisal reports, with where each is."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in state.receivables.values():
        out.setdefault(r["document_hash"].lower(), []).append(
            {"receivable_id": r["receivable_id"], "block": r["issued_block"], "tx_hash": r["tx_hash"],
             "anchor": "ReceivableIssued.documentHash"})
    for a in state.appraisals.values():
        out.setdefault(a["report_hash"].lower(), []).append(
            {"asset_id": a["asset_id"], "slot": a["slot"], "block": a["block_number"], "tx_hash": a["tx_hash"],
             "anchor": "DataAssetAppraised.reportHash"})
    return out


def check_gateway_documents(state: Rebuild, db: str, master_secret: str) -> tuple[list[Discrepancy], dict[str, int]]:
    """Decrypt every stored trade document and appraisal report; compare its SHA-256 with the
    fingerprint anchored on chain (ReceivableIssued.documentHash; an appraisal's reportHash of
    that same asset).

    The gateway's own tables and key derivation are used as they are (imported here, lazily,
    so the ledger library does not need the gateway to be installed to audit the chain).
    """
    from cryptography.exceptions import InvalidTag
    from pydantic import SecretStr
    from sqlalchemy import inspect
    from sqlmodel import Session

    from gateway import crypto, models

    from ..mirror.db import make_engine

    found: list[Discrepancy] = []
    anchored = anchored_fingerprints(state)
    stats = {"stored": 0, "anchored": 0, "not_anchored": 0}
    #: (model, key box purpose, fingerprint column, associated data of a row, on-chain anchors of a row)
    kinds = [(models.Document, crypto.DOCUMENTS, "document_hash", lambda row: row.document_hash.encode(),
              lambda row: anchored.get(row.document_hash.lower(), []))]
    if hasattr(models, "AppraisalReport") and hasattr(crypto, "APPRAISAL_REPORTS"):
        kinds.append((models.AppraisalReport, crypto.APPRAISAL_REPORTS, "report_hash",
                      lambda row: f"{row.asset_id}:{row.report_hash}".encode(),
                      lambda row: [a for a in anchored.get(row.report_hash.lower(), [])
                                   if a.get("asset_id") == row.asset_id]))
    engine = make_engine(db, reader=True)
    try:
        tables = set(inspect(engine).get_table_names())
        with Session(engine) as s:
            for model, purpose, column, bound_to, anchors_of in kinds:
                if model.__tablename__ not in tables:
                    continue
                box = crypto.KeyBox(SecretStr(master_secret), purpose)
                keys = [c.name for c in model.__table__.primary_key.columns]
                for doc in s.exec(select(model)).scalars():
                    stats["stored"] += 1
                    fingerprint = getattr(doc, column)
                    anchors = anchors_of(doc)
                    location = {"table": model.__tablename__, "row": {k: getattr(doc, k) for k in keys},
                                "document_hash": fingerprint}
                    if getattr(doc, "asset_id", None) is not None:
                        location["asset_id"] = doc.asset_id
                    if anchors:
                        stats["anchored"] += 1
                        location.update({k: v for k, v in anchors[0].items() if k != "anchor"})
                        location["anchors"] = anchors
                    else:
                        stats["not_anchored"] += 1
                    try:
                        content = box.open(doc.sealed, bound_to(doc))
                    except InvalidTag:
                        found.append(Discrepancy(
                            "gateway_documents", f"{model.__tablename__} {fingerprint} does not decrypt: its "
                            "ciphertext was altered, or sealed under another secret or row", location,
                            "an authentic ciphertext", "InvalidTag"))
                        continue
                    digest = "0x" + hashlib.sha256(content).hexdigest()
                    if digest != fingerprint.lower():
                        found.append(Discrepancy("gateway_documents", f"{model.__tablename__} {fingerprint} decrypts "
                                                 f"to content whose SHA-256 is {digest}", location, fingerprint,
                                                 digest))
                    if doc.size != len(content):
                        found.append(Discrepancy("gateway_documents", f"{model.__tablename__} {fingerprint} is "
                                                 f"{len(content)} bytes, its row says {doc.size}",
                                                 {**location, "column": "size"}, len(content), doc.size))
    finally:
        engine.dispose()
    return found, stats
