"""The audit tests' world (fixtures in conftest.py): one Anvil per module running a whole lifecycle (splits, merges,
factoring, repayment, claims, a rejected receivable, a data-asset pledge), its mirror run to the
head, and the gateway's document store holding the trade documents and the appraisal report.

The world and the mirror come from tests/mirror's helpers (build_world, MirrorWorld.traffic,
MirrorWorld.financing), loaded by path under their own module name so that its conftest and
this one never shadow each other. Each tampering test works on a copy of the databases.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlmodel import Session, SQLModel

from gateway.crypto import APPRAISAL_REPORTS, DOCUMENTS, KeyBox
from gateway.models import AppraisalReport, Document
from gateway.service import GATEWAY_TABLES
from ledger import LocalNode, Role
from ledger.mirror.db import make_engine


def _load(name: str, path: Path):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


mirror_world = _load("audit_mirror_world", Path(__file__).resolve().parents[1] / "mirror" / "conftest.py")
DAY = mirror_world.DAY
MASTER_SECRET = "audit-tests-master-secret-0123456789"


@dataclass
class Audited:
    """A lifecycle on a chain, its mirror at the head and the gateway's documents, and what it made."""

    world: object  # tests/mirror's MirrorWorld
    mirror_db: str
    gateway_db: str
    ids: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.world.node.url

    @property
    def deployment(self):
        return self.world.deployment


def store_document(gateway_db: str, content: bytes, uploaded_by: str, filename: str) -> str:
    """Store `content` as the gateway's upload route does (sealed, bound to its fingerprint)."""
    digest = "0x" + hashlib.sha256(content).hexdigest()
    engine = make_engine(gateway_db)
    SQLModel.metadata.create_all(engine, tables=GATEWAY_TABLES)
    box = KeyBox(SecretStr(MASTER_SECRET), DOCUMENTS)
    with Session(engine) as s:
        s.add(Document(document_hash=digest, filename=filename, content_type="application/pdf", size=len(content),
                       uploaded_by=uploaded_by, sealed=box.seal(content, digest.encode())))
        s.commit()
    engine.dispose()
    return digest


def store_report(gateway_db: str, asset_id: int, content: bytes, uploaded_by: str) -> str:
    """Store an appraisal report as the gateway's upload route does (bound to its asset and fingerprint)."""
    digest = "0x" + hashlib.sha256(content).hexdigest()
    engine = make_engine(gateway_db)
    SQLModel.metadata.create_all(engine, tables=GATEWAY_TABLES)
    box = KeyBox(SecretStr(MASTER_SECRET), APPRAISAL_REPORTS)
    with Session(engine) as s:
        s.add(AppraisalReport(asset_id=asset_id, report_hash=digest, filename="appraisal.pdf",
                              content_type="application/pdf", size=len(content), uploaded_by=uploaded_by,
                              sealed=box.seal(content, f"{asset_id}:{digest}".encode())))
        s.commit()
    engine.dispose()
    return digest


def lifecycle(w, gateway_db: str) -> dict:
    """Everything the contracts do, on `w`; the ids a test needs."""
    led = w.ledger
    ids: dict = {}
    w.traffic(1)                 # issue, splits to tier2 and tier3, value transfer, merge, whole transfer
    w.financing(1)               # offer withdrawn, deal with recourse, part repayment, claims, paid moving

    # A receivable backed by a stored document, split, fully repaid and claimed by every holder.
    invoice = b"%PDF-1.7 invoice 2026-0042: 100,000.00 for 500 units"
    doc = store_document(gateway_db, invoice, w.core.address, "invoice-0042.pdf")
    issued = led.issue(w.core, w.tier1, line_id=w.line_id, currency=w.cash, face_value=100_000,
                       maturity=w.now() + 90 * DAY, document_hash=bytes.fromhex(doc[2:]))
    led.accept(w.tier1, issued.receivable_id)
    child = led.split(w.tier1, issued.token_id, w.tier2, 40_000).token_id
    grandchild = led.split(w.tier2, child, w.tier3, 15_000).token_id
    led.repay(w.core, issued.receivable_id, 60_000)
    led.claim(w.tier3, grandchild)
    led.repay(w.core, issued.receivable_id, 40_000)
    for holder, token in ((w.tier1, issued.token_id), (w.tier2, child), (w.tier3, grandchild)):
        led.claim(holder, token)
    ids.update(settled=issued.receivable_id, settled_root=issued.token_id, child=child, grandchild=grandchild,
               document=doc)

    # Rejected documents may back a corrected issue.
    rejected_doc = store_document(gateway_db, b"delivery note 77, first draft", w.core.address, "note-77.pdf")
    first = led.issue(w.core, w.tier1, line_id=w.line_id, currency=w.cash, face_value=5_000,
                      maturity=w.now() + 60 * DAY, document_hash=bytes.fromhex(rejected_doc[2:]))
    led.reject(w.tier1, first.receivable_id)
    again = led.issue(w.core, w.tier1, line_id=w.line_id, currency=w.cash, face_value=5_000,
                      maturity=w.now() + 60 * DAY, document_hash=bytes.fromhex(rejected_doc[2:]))
    led.accept(w.tier1, again.receivable_id)
    ids.update(rejected=first.receivable_id, reissued=again.receivable_id, reissued_doc=rejected_doc)

    # A data asset appraised (report stored), listed, pledged, released and pledged again.
    appraiser, exchange = w.spare, mirror_world.dev_account(7)
    led.admit(w.operator, appraiser, [Role.APPRAISER])
    led.admit(w.operator, exchange, [Role.EXCHANGE])
    asset = led.register_data_asset(w.core, hashlib.sha256(b"sales data 2025").digest(), uri="ipfs://sales").asset_id
    report = store_report(gateway_db, asset, b"appraisal report: sales data 2025 worth 2,000,000", appraiser.address)
    led.appraise(appraiser, asset, report_hash=bytes.fromhex(report[2:]), value=2_000_000,
                 valid_until=w.now() + 180 * DAY)
    led.list_data_asset(exchange, asset, b"SZDE-0001".ljust(32, b"\0"))
    led.set_advance_rate(w.bank, w.line_id, 5_000)
    led.pledge(w.core, asset, w.line_id)
    led.release(w.bank, asset)
    ids["pledge"] = led.pledge(w.core, asset, w.line_id).pledge_id
    # A URI with NUL (another client may send any bytes): the view returns them as they are, the
    # events are read leniently; the audit compares the bytes (it failed here before uri_hex).
    odd = led.register_data_asset(w.core, hashlib.sha256(b"odd uri").digest(), uri="ipfs://odd\x00uri/\u6570").asset_id
    ids.update(asset=asset, report=report, odd_asset=odd)
    ids.update(merged_history(w))
    ids.update(permissions(w))
    return ids


def merged_history(w) -> dict:
    """A voucher that receives value from a sibling (merge) and from a cousin (value transfer):
    root R (tier1) splits A and B to tier2, B splits D to tier2; D gives 2,000 to A, then B
    (15,000 left) is merged into A. A holds 30,000 + 2,000 + 15,000."""
    led = w.ledger
    issued = w.issue()
    root = issued.token_id
    a = led.split(w.tier1, root, w.tier2, 30_000).token_id
    b = led.split(w.tier1, root, w.tier2, 20_000).token_id
    d = led.split(w.tier2, b, w.tier2, 5_000).token_id
    led.transfer_value(w.tier2, d, a, 2_000)
    led.merge(w.tier2, b, a)
    return {"merged_receivable": issued.receivable_id, "merged_root": root, "merged_into": a, "merged_sibling": b,
            "merged_cousin": d}


def permissions(w) -> dict:
    """What the mirror holds besides vouchers: roles (one revoked, one account expelled), a pause
    lifted, ERC-721 approvals and ERC-3525 allowances (one of each lapsed by a whole transfer),
    operator approvals (one withdrawn)."""
    led = w.ledger
    ids: dict = {}
    leaver = mirror_world.dev_account(8)
    led.admit(w.operator, leaver, [Role.SUPPLIER, Role.AUDITOR])
    led.expel(w.operator, leaver)
    led.grant_role(w.operator, Role.AUDITOR, w.bank)
    led.revoke_role(w.operator, Role.AUDITOR, w.bank)
    led.pause(w.operator)
    led.unpause(w.operator)
    root = w.issue().token_id
    kept = led.split(w.tier1, root, w.tier1, 10_000).token_id
    moved = led.split(w.tier1, root, w.tier1, 10_000).token_id
    led.approve(w.tier1, w.bank, kept)                       # in force
    led.approve_value(w.tier1, kept, w.tier2.address, 4_000)  # in force
    led.approve(w.tier1, w.bank, moved)                      # both lapse with the whole transfer below
    led.approve_value(w.tier1, moved, w.tier3.address, 3_000)
    led.transfer(w.tier1, moved, w.tier2)
    led.set_approval_for_all(w.tier2, w.bank, True)          # in force
    led.set_approval_for_all(w.tier3, w.bank, True)          # withdrawn
    led.set_approval_for_all(w.tier3, w.bank, False)
    ids.update(leaver=leaver.address, approved=kept, lapsed=moved)
    return ids


@pytest.fixture(scope="module")
def audited(tmp_path_factory) -> Audited:
    directory = tmp_path_factory.mktemp("audit")
    with LocalNode(kind="anvil") as node:
        w = mirror_world.build_world(node)
        gateway_db = str(directory / "gateway.db")
        ids = lifecycle(w, gateway_db)
        mirror_db = str(directory / "mirror.db")
        with w.mirror(mirror_db) as mirror:
            mirror.sync()
        yield Audited(w, mirror_db, gateway_db, ids)


def copy_db(source: str, target: Path) -> str:
    """A consistent copy of a SQLite database (WAL included)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return str(target)


@pytest.fixture
def mirror_copy(audited, tmp_path) -> str:
    return copy_db(audited.mirror_db, tmp_path / "mirror.db")


@pytest.fixture
def gateway_copy(audited, tmp_path) -> str:
    return copy_db(audited.gateway_db, tmp_path / "gateway.db")
