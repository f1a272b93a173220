"""Data assets: register, appraise, list, pledge, release, foreclose; appraisal reports.

Reads of data assets come from the DataAssetRegistry's views at one block (the mirror's
data-asset tables are not read yet): the response's `block` is that chain block and
`source` says "chain".
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import Response
from sqlmodel import select

from ledger import Role
from ledger.types import PledgeState
from ledger.exceptions import DataAssetDuplicateContent, DataAssetNotPledged

from ...crypto import fingerprint
from ...errors import ApiError, InvalidInput, NotFound, NotOwner
from ...models import AppraisalReport
from ...schemas import (AppraisalCreate, DataAssetCreate, ForecloseRequest, Hash32, Id, ListingCreate, PledgeCreate,
                        data_asset_json, written)
from ...service import Outcome
from ..deps import Caller, GatewayDep, IdempotencyDep, PartyDep, ReaderDep, WriterDep
from ..visibility import require_data_asset

router = APIRouter(prefix="/data-assets", tags=["data assets"])

MAX_REPORT = 20 * 1024 * 1024


class ReportCorrupted(ApiError):
    status = 502


def _h(value: str) -> bytes:
    return bytes.fromhex(value[2:])


def _pledgee(gateway, asset) -> str | None:
    """The financier of the asset's active pledge, or None."""
    if not asset.pledge_id:
        return None
    return gateway.ledger.pledge_of(asset.pledge_id).financier


def _need_pledgee(gateway, caller: Caller, asset_id: int) -> None:
    asset = gateway.ledger.data_asset(asset_id)
    pledgee = _pledgee(gateway, asset)
    if pledgee is None:
        raise DataAssetNotPledged(asset_id)
    caller.must_be(pledgee, "pledgee of the data asset", asset_id=asset_id, pledgee=pledgee)


@router.post("", status_code=201, response_model=None, responses=written(201))
def register(body: DataAssetCreate, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Register a data asset owned by the caller (any member but an auditor) by its content
    fingerprint. Content already registered is refused (409) before anything is sent."""

    def act() -> Outcome:
        content = _h(body.content_hash)
        with gateway.locked(("data-content", int.from_bytes(content[:8], "big"))):
            existing = gateway.ledger.asset_of_content(content)
            if existing:
                raise DataAssetDuplicateContent(content, existing)
            made = gateway.ledger.register_data_asset(
                caller.account, content, metadata_hash=_h(body.metadata_hash) if body.metadata_hash else bytes(32),
                uri=body.uri)
        return Outcome({"asset_id": made.asset_id}, made.receipt, 201)

    return gateway.write(caller.party, idem, act)


@router.post("/{asset_id}/appraisals", status_code=201, response_model=None, responses=written(201))
def appraise(asset_id: Id, body: AppraisalCreate, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Attest the asset's value until `valid_until` (APPRAISER, not its owner); the lowest
    unexpired appraisal is the value that counts."""

    def act() -> Outcome:
        caller.need(Role.APPRAISER)
        gateway.ledger.data_asset(asset_id)  # DataAssetNonexistent: 404
        made = gateway.ledger.appraise(caller.account, asset_id, report_hash=_h(body.report_hash),
                                       value=body.value, valid_until=body.valid_until)
        return Outcome({"asset_id": asset_id, "slot": made.slot}, made.receipt, 201)

    return gateway.write(caller.party, idem, act)


@router.post("/{asset_id}/listing", response_model=None, responses=written())
def list_asset(asset_id: Id, body: ListingCreate, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Certify and list the asset as a product of the caller (EXCHANGE)."""

    def act() -> Outcome:
        caller.need(Role.EXCHANGE)
        gateway.ledger.data_asset(asset_id)
        receipt = gateway.ledger.list_data_asset(caller.account, asset_id, _h(body.listing_id))
        return Outcome({"asset_id": asset_id, "listing_id": body.listing_id}, receipt)

    return gateway.write(caller.party, idem, act)


@router.post("/{asset_id}/pledge", status_code=201, response_model=None, responses=written(201))
def pledge(asset_id: Id, body: PledgeCreate, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Pledge a listed, appraised asset to a credit line's financier (its owner); the line's
    limit rises by the counted value × the line's advance rate."""

    def act() -> Outcome:
        with gateway.locked(("data-asset", asset_id)):
            asset = gateway.ledger.data_asset(asset_id)
            caller.must_be(asset.owner, "owner of the data asset", asset_id=asset_id, owner=asset.owner)
            made = gateway.ledger.pledge(caller.account, asset_id, body.line_id)
        return Outcome({"asset_id": asset_id, "pledge_id": made.pledge_id, "line_id": body.line_id},
                       made.receipt, 201)

    return gateway.write(caller.party, idem, act)


@router.post("/{asset_id}/release", response_model=None, responses=written())
def release(asset_id: Id, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """End the asset's pledge (its pledgee); refused if the line would then use more than its limit."""

    def act() -> Outcome:
        with gateway.locked(("data-asset", asset_id)):
            _need_pledgee(gateway, caller, asset_id)
            receipt = gateway.ledger.release(caller.account, asset_id)
        return Outcome({"asset_id": asset_id}, receipt)

    return gateway.write(caller.party, idem, act)


@router.post("/{asset_id}/foreclose", response_model=None, responses=written())
def foreclose(asset_id: Id, body: ForecloseRequest, caller: WriterDep, gateway: GatewayDep,
              idem: IdempotencyDep):
    """Take the pledged asset (its pledgee) on default of a receivable of the pledge's line."""

    def act() -> Outcome:
        with gateway.locked(("data-asset", asset_id)):
            _need_pledgee(gateway, caller, asset_id)
            receipt = gateway.ledger.foreclose(caller.account, asset_id, body.receivable_id)
        return Outcome({"asset_id": asset_id, "receivable_id": body.receivable_id, "owner": caller.address},
                       receipt)

    return gateway.write(caller.party, idem, act)


@router.get("/{asset_id}")
def get(asset_id: Id, caller: ReaderDep, gateway: GatewayDep) -> dict:
    """The asset, its appraisals, counted value and active pledge, read from the registry's views at
    one block (`source: "chain"`; the mirror's data-asset tables are not read yet).

    Only for its owner, the financier it is pledged to, the appraisers that appraised it, the
    exchange that listed it, auditors and the operator; anyone else gets 403 `NotOwner`
    (api/visibility.py); an asset that does not exist is 404 for everyone."""
    chain = gateway.chain
    head = chain.w3.eth.get_block("latest")
    n = head["number"]
    ledger = gateway.ledger
    asset = ledger.data_asset(asset_id, block=n)
    pledge = ledger.pledge_of(asset.pledge_id, block=n) if asset.pledge_id else None
    appraisals = ledger.appraisals(asset_id, block=n)
    require_data_asset(caller, asset, pledge.financier if pledge is not None and pledge.state == PledgeState.ACTIVE
                       else None, (a.appraiser for a in appraisals))
    # The value that counts: the lowest unexpired appraisal at that block (as countedValue does).
    live = [a for a in appraisals if a.valid_until > head["timestamp"]]
    lowest = min(live, key=lambda a: (a.value, a.valid_until), default=None)
    counted = (lowest.value, lowest.valid_until) if lowest else (0, 0)
    return {**data_asset_json(asset, appraisals, pledge, counted),
            "source": "chain", "block": {"number": n, "hash": "0x" + bytes(head["hash"]).hex()}}


# -- appraisal reports ---------------------------------------------------------------------------


@router.post("/{asset_id}/appraisal-reports", status_code=201)
def upload_report(asset_id: Id, file: Annotated[UploadFile, File(description="the appraisal report (one file)")],
                  caller: WriterDep, gateway: GatewayDep) -> dict:
    """Store an appraisal report of the asset encrypted (APPRAISER); its fingerprint (SHA-256) is
    the `report_hash` to appraise with."""
    caller.need(Role.APPRAISER)
    gateway.ledger.data_asset(asset_id)
    content = file.file.read(MAX_REPORT + 1)
    if len(content) > MAX_REPORT:
        raise InvalidInput("the report is larger than 20 MiB", limit=MAX_REPORT)
    if not content:
        raise InvalidInput("the report is empty")
    digest = "0x" + fingerprint(content).hex()
    with gateway.session() as s:
        found = s.exec(select(AppraisalReport).where(AppraisalReport.asset_id == asset_id,
                                                     AppraisalReport.report_hash == digest)).first()
        if found is None:
            s.add(AppraisalReport(asset_id=asset_id, report_hash=digest, filename=(file.filename or "report")[:255],
                                  content_type=(file.content_type or "application/octet-stream")[:255],
                                  size=len(content), uploaded_by=caller.address,
                                  sealed=gateway.reports.seal(content, f"{asset_id}:{digest}".encode())))
            s.commit()
    return {"asset_id": asset_id, "report_hash": digest, "size": len(content)}


@router.get("/{asset_id}/appraisal-reports/{report_hash}", response_class=Response)
def download_report(asset_id: Id, report_hash: Hash32, caller: PartyDep, gateway: GatewayDep) -> Response:
    """Read an appraisal report back: the asset's owner, its pledgee and auditors only; checked
    against its fingerprint. `X-Attested` says whether an on-chain appraisal names it."""
    with gateway.session() as s:
        report = s.exec(select(AppraisalReport).where(AppraisalReport.asset_id == asset_id,
                                                      AppraisalReport.report_hash == report_hash)).first()
    if report is None:
        raise NotFound("no appraisal report with this fingerprint is stored for this asset",
                       asset_id=asset_id, report_hash=report_hash)
    asset = gateway.ledger.data_asset(asset_id)
    if Role.AUDITOR not in caller.roles and caller.address not in (asset.owner, _pledgee(gateway, asset)):
        raise NotOwner("only the data asset's owner, its pledgee and auditors can read its appraisal reports",
                       account=caller.address, asset_id=asset_id)
    content = gateway.reports.open(report.sealed, f"{asset_id}:{report_hash}".encode())
    if "0x" + fingerprint(content).hex() != report_hash:
        raise ReportCorrupted("the stored report does not match its fingerprint", report_hash=report_hash)
    attested = any("0x" + bytes(a.report_hash).hex() == report_hash for a in gateway.ledger.appraisals(asset_id))
    return Response(content, media_type=report.content_type,
                    headers={"Content-Disposition": f'attachment; filename="{report.filename}"',
                             "X-Report-Hash": report_hash, "X-Attested": "true" if attested else "false"})
