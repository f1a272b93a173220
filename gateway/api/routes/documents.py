"""Trade documents: uploaded, fingerprinted (SHA-256), stored encrypted; read back only by the
parties of a receivable they back, their uploader and auditors, checked against the fingerprint.

The chain's duplicate guard is per obligor, so any core enterprise may cite a fingerprint it saw
(e.g. in the mempool). Citing it gives no access: a receivable opens the document only to its
parties when its obligor or supplier is the one who uploaded it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import Response
from sqlmodel import select

from ledger import Role
from ledger.mirror import CreditLine, Deal, Receivable, Voucher

from ...crypto import fingerprint
from ...errors import ApiError, NotFound, NotOwner
from ...models import Document
from ...schemas import Hash32
from ...validation import MAX_FILE, content_disposition, read_upload
from ..deps import GatewayDep, PartyDep, WriterDep

router = APIRouter(prefix="/documents", tags=["documents"])

MAX_DOCUMENT = MAX_FILE


class DocumentCorrupted(ApiError):
    status = 502


@router.post("", status_code=201)
def upload(file: Annotated[UploadFile, File(description="the trade documents (one file)")],
           caller: WriterDep, gateway: GatewayDep) -> dict:
    """Store a document encrypted; its fingerprint is what a receivable's `document_hash` names."""
    content, filename, content_type = read_upload(file, "document", "document")
    digest = "0x" + fingerprint(content).hex()
    with gateway.session() as s:
        if s.get(Document, digest) is None:
            s.add(Document(document_hash=digest, filename=filename,
                           content_type=content_type, size=len(content),
                           uploaded_by=caller.address, sealed=gateway.documents.seal(content, digest.encode())))
            s.commit()
    # The guard is per obligor: the live receivable of the caller (as obligor) these documents back.
    backing = gateway.ledger.receivable_of_document(caller.address, bytes.fromhex(digest[2:]))
    return {"document_hash": digest, "size": len(content), "receivable_id": backing or None}


@router.get("/{document_hash}", response_class=Response)
def download(document_hash: Hash32, caller: PartyDep, gateway: GatewayDep) -> Response:
    with gateway.session() as s:
        doc = s.get(Document, document_hash)
    if doc is None:
        raise NotFound("no document with this fingerprint is stored", document_hash=document_hash)
    if not _may_read(caller, gateway, doc):
        raise NotOwner("only the parties of the receivable it backs and auditors can read this document",
                       account=caller.address, document_hash=document_hash)
    content = gateway.documents.open(doc.sealed, document_hash.encode())
    if "0x" + fingerprint(content).hex() != document_hash:
        raise DocumentCorrupted("the stored document does not match its fingerprint", document_hash=document_hash)
    return Response(content, media_type=doc.content_type,
                    headers={"Content-Disposition": content_disposition(doc.filename, "document"),
                             "X-Document-Hash": document_hash})


def _may_read(caller, gateway, doc: Document) -> bool:
    if Role.AUDITOR in caller.roles or doc.uploaded_by == caller.address:
        return True
    me = caller.address
    with gateway.snapshot() as snap:
        s = snap.session
        for r in s.exec(select(Receivable).where(Receivable.document_hash == doc.document_hash)).all():
            if doc.uploaded_by not in (r.obligor, r.supplier):
                continue  # a receivable whose parties did not provide the documents: e.g. a squatter's
            if me in (r.obligor, r.supplier):
                return True
            line = s.get(CreditLine, r.line_id)
            if line is not None and line.financier == me:
                return True
            if s.exec(select(Voucher).where(Voucher.receivable_id == r.receivable_id,
                                            Voucher.holder == me)).first() is not None:
                return True
            if s.exec(select(Deal).where(Deal.receivable_id == r.receivable_id,
                                         Deal.financier == me)).first() is not None:
                return True
    return False
