"""Data assets: register, appraise (withdraw, strike), list, pledge, release, foreclose, return;
appraisal reports.

Reads of data assets come from the mirror (data_asset, appraisal, pledge) like every other read,
with the block they reflect; the counted value, which depends on that block's time, is the
registry's own countedValue view pinned to that block.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import Response
from sqlmodel import select

from ledger import Role
from ledger.exceptions import DataAssetDuplicateContent, DataAssetNonexistent, DataAssetNotPledged
from ledger.mirror import Appraisal, DataAsset, Pledge
from ledger.types import PledgeState

from ...crypto import fingerprint
from ...errors import ApiError, NotFound, NotOwner
from ...models import AppraisalReport
from ...schemas import (AppraisalCreate, DataAssetCreate, DataAssetPublic, ForecloseRequest, Hash32, Id, ListingCreate,
                        PledgeCreate, StrikeRequest, data_asset_json, written)
from ...validation import MAX_FILE, content_disposition, read_upload
from ...service import Outcome, block_json
from ..deps import Caller, GatewayDep, IdempotencyDep, OperatorDep, PartyDep, ReaderDep, WriterDep
from ..visibility import require_data_asset

router = APIRouter(prefix="/data-assets", tags=["data assets"])

MAX_REPORT = MAX_FILE


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


@router.post("/{asset_id}/appraisals/withdraw", response_model=None, responses=written())
def withdraw_appraisal(asset_id: Id, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Withdraw the caller's live appraisal of the asset (its appraiser, in good standing or not);
    it counts nothing from then on and a pledged asset's line is recounted at once."""

    def act() -> Outcome:
        gateway.ledger.data_asset(asset_id)
        made = gateway.ledger.withdraw_appraisal(caller.account, asset_id)
        return Outcome({"asset_id": asset_id, "slot": made.slot}, made.receipt)

    return gateway.write(caller.party, idem, act)


@router.post("/{asset_id}/appraisals/strike", response_model=None, responses=written())
def strike_appraisals(asset_id: Id, body: StrikeRequest, gateway: GatewayDep, _: OperatorDep, idem: IdempotencyDep):
    """Strike the asset's appraisals by an appraiser that no longer holds APPRAISER (operator):
    409 `DataAssetAppraiserNotExpelled` while it still does."""

    def act() -> Outcome:
        gateway.ledger.data_asset(asset_id)
        struck = gateway.ledger.strike_appraisals(gateway.operator, asset_id, body.appraiser)
        return Outcome({"asset_id": asset_id, "appraiser": body.appraiser, "slots": list(struck.slots)},
                       struck.receipt)

    return gateway.write(gateway.operator_party, idem, act)


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
    """Take the pledged asset (its pledgee) against the unpaid value of `token_id`, a voucher the
    pledgee holds of a Defaulted receivable of the pledge's line. The asset is credited its
    counted value, at most the exposure not yet covered by earlier foreclosures against that
    receivable (409 `DataAssetExposureCovered` once it is; 409 `DataAssetOtherVoucherCited` citing
    another voucher than the assets already held for it); it comes back to its owner when the
    receivable is repaid in full (`POST /data-assets/{asset_id}/return`)."""

    def act() -> Outcome:
        with gateway.locked(("data-asset", asset_id)):
            _need_pledgee(gateway, caller, asset_id)
            made = gateway.ledger.foreclose(caller.account, asset_id, body.token_id)
        return Outcome({"asset_id": asset_id, "pledge_id": made.pledge_id, "receivable_id": made.receivable_id,
                        "token_id": body.token_id, "value": str(made.value), "recovered": str(made.recovered),
                        "owner": caller.address}, made.receipt)

    return gateway.write(caller.party, idem, act)


@router.post("/{asset_id}/return", response_model=None, responses=written())
def return_asset(asset_id: Id, caller: WriterDep, gateway: GatewayDep, idem: IdempotencyDep):
    """Give a foreclosed asset back to the owner that pledged it once the pledgee's exposure no
    longer needs it, e.g. after full repayment (any member; 409 `DataAssetStillSecuring` before)."""

    def act() -> Outcome:
        with gateway.locked(("data-asset", asset_id)):
            gateway.ledger.data_asset(asset_id)
            receipt = gateway.ledger.redeem_data_asset(caller.account, asset_id)
        (event,) = receipt.named("DataAssetReturned")
        return Outcome({"asset_id": asset_id, "owner": event.args["owner"],
                        "receivable_id": event.args["receivableId"]}, receipt)

    return gateway.write(caller.party, idem, act)


def _active_pledge(session, asset: DataAsset) -> Pledge | None:
    """The asset's active pledge as the mirror has it, or None."""
    pledge = session.get(Pledge, asset.pledge_id) if asset.pledge_id else None
    return pledge if pledge is not None and pledge.state == int(PledgeState.ACTIVE) else None


@router.get("/{asset_id}", responses={200: {"model": DataAssetPublic}})
def get(asset_id: Id, caller: ReaderDep, gateway: GatewayDep) -> dict:
    """The asset, its appraisals and active pledge as the mirror has them at `block`, with its
    counted value (the lowest unexpired appraisal) from the registry's view at that same block.

    Only for its owner, the financier it is pledged to, the appraisers that appraised it, the
    exchange that listed it, auditors and the operator; anyone else gets 403 `NotOwner`
    (api/visibility.py); an asset that does not exist is 404 for everyone."""
    with gateway.snapshot() as snap:
        s = snap.session
        asset = s.get(DataAsset, asset_id)
        if asset is None or snap.block is None:
            raise DataAssetNonexistent(asset_id)
        appraisals = list(s.exec(select(Appraisal).where(Appraisal.asset_id == asset_id)
                                 .order_by(Appraisal.slot)).all())
        pledge = _active_pledge(s, asset)
        require_data_asset(caller, asset, pledge.financier if pledge is not None else None,
                           (a.appraiser for a in appraisals))
        foreclosure = s.exec(select(Pledge).where(Pledge.asset_id == asset_id,
                                                  Pledge.state == int(PledgeState.FORECLOSED))).first()
        body = data_asset_json(asset, appraisals, pledge, (0, 0), foreclosure)
        block = snap.block
    # Which appraisal counts depends on the block's time: the registry's own arithmetic at the
    # mirror's block, so the whole answer is that block's.
    counted = gateway.ledger.counted_value(asset_id, block=block.number)
    return {**body, "counted_value": str(counted[0]), "counted_until": counted[1] or None,
            "source": "mirror", "block": block_json(block)}


# -- appraisal reports ---------------------------------------------------------------------------


@router.post("/{asset_id}/appraisal-reports", status_code=201)
def upload_report(asset_id: Id, file: Annotated[UploadFile, File(description="the appraisal report (one file)")],
                  caller: WriterDep, gateway: GatewayDep) -> dict:
    """Store an appraisal report of the asset encrypted (APPRAISER); its fingerprint (SHA-256) is
    the `report_hash` to appraise with."""
    caller.need(Role.APPRAISER)
    gateway.ledger.data_asset(asset_id)
    content, filename, content_type = read_upload(file, "report", "report")
    digest = "0x" + fingerprint(content).hex()
    with gateway.session() as s:
        found = s.exec(select(AppraisalReport).where(AppraisalReport.asset_id == asset_id,
                                                     AppraisalReport.report_hash == digest)).first()
        if found is None:
            s.add(AppraisalReport(asset_id=asset_id, report_hash=digest, filename=filename,
                                  content_type=content_type,
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
    with gateway.snapshot() as snap:  # who may read it, and whether it is attested: the mirror's
        s = snap.session
        asset = s.get(DataAsset, asset_id)
        if asset is None:
            raise DataAssetNonexistent(asset_id)
        pledge = _active_pledge(s, asset)
        readers = (asset.owner, pledge.financier if pledge is not None else None)
        attested = s.exec(select(Appraisal.slot).where(Appraisal.asset_id == asset_id,
                                                       Appraisal.report_hash == report_hash)).first() is not None
    if Role.AUDITOR not in caller.roles and caller.address not in readers:
        raise NotOwner("only the data asset's owner, its pledgee and auditors can read its appraisal reports",
                       account=caller.address, asset_id=asset_id)
    content = gateway.reports.open(report.sealed, f"{asset_id}:{report_hash}".encode())
    if "0x" + fingerprint(content).hex() != report_hash:
        raise ReportCorrupted("the stored report does not match its fingerprint", report_hash=report_hash)
    return Response(content, media_type=report.content_type,
                    headers={"Content-Disposition": content_disposition(report.filename, "report"),
                             "X-Report-Hash": report_hash, "X-Attested": "true" if attested else "false"})
