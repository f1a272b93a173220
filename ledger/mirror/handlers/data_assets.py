"""Handlers of the data-asset events: registration, appraisal (and its withdrawal or strike),
listing, pledge, release, foreclosure and the return of a foreclosed asset (DataAssetRegistry), and what the pledged assets count on each credit line
(CreditLines: the advance rate, and the collateral the registry pushes).

A line's collateral is never recounted here: the registry emits CreditLineCollateralChanged
(through CreditLines) with the new sum and earliest expiry after every pledge, release,
foreclosure, appraisal of a pledged asset and sync, so applying that event keeps it exact.
Times (registered, appraised, pledged, ended) are block timestamps, as the contract records them.
"""

from __future__ import annotations

from ...logs import raw_hex
from ...types import Event, PledgeState
from ..store import Store
from . import on
from .core import LINES, ZERO_ADDRESS, _hex

REGISTRY = "DataAssetRegistry"
ZERO_HASH = "0x" + "00" * 32


def _asset(store: Store, e: Event) -> dict:
    asset = store.get("data_asset", e.args["assetId"])
    asset["updated_block"] = e.block_number
    return asset


# -- data assets (DataAssetRegistry) -------------------------------------------------------------


@on(REGISTRY, "DataAssetRegistered", timed=True)
def asset_registered(store: Store, e: Event) -> None:
    a = e.args
    store.put("data_asset", {
        "asset_id": a["assetId"], "owner": a["owner"], "content_hash": _hex(a["contentHash"]),
        "metadata_hash": _hex(a["metadataHash"]), "uri": a["uri"], "uri_hex": raw_hex(a["uri"]),
        "exchange": ZERO_ADDRESS, "listing_id": ZERO_HASH, "registered_at": store.timestamp, "pledge_id": 0, "registered_block": e.block_number, "tx_hash": e.tx_hash,
        "updated_block": e.block_number,
    })


@on(REGISTRY, "DataAssetAppraised", timed=True)
def asset_appraised(store: Store, e: Event) -> None:
    """A slot (a new one, or one whose appraisal expired) takes the appraisal; if the asset is
    pledged, CreditLineCollateralChanged follows with its line's recount."""
    a = e.args
    store.put("appraisal", {
        "asset_id": a["assetId"], "slot": a["slot"], "appraiser": a["appraiser"], "appraised_at": store.timestamp,
        "valid_until": a["validUntil"], "value": a["value"], "report_hash": _hex(a["reportHash"]),
        "block_number": e.block_number, "tx_hash": e.tx_hash,
    })


@on(REGISTRY, "DataAssetAppraisalWithdrawn", "DataAssetAppraisalStruck")
def appraisal_removed(store: Store, e: Event) -> None:
    """A withdrawn or struck appraisal counts nothing (the registry sets its validUntil to 0):
    its slot's row goes, as for a slot never used; a pledged asset's line recount follows."""
    store.delete("appraisal", e.args["assetId"], e.args["slot"])


@on(REGISTRY, "DataAssetListed")
def asset_listed(store: Store, e: Event) -> None:
    asset = _asset(store, e)
    asset.update(exchange=e.args["exchange"], listing_id=_hex(e.args["listingId"]))
    store.put("data_asset", asset)


@on(REGISTRY, "DataAssetPledged", timed=True)
def asset_pledged(store: Store, e: Event) -> None:
    a = e.args
    store.put("pledge", {
        "pledge_id": a["pledgeId"], "asset_id": a["assetId"], "line_id": a["lineId"],
        "state": int(PledgeState.ACTIVE), "owner": a["owner"], "financier": a["financier"],
        "counted_value": a["countedValue"], "pledged_at": store.timestamp, "ended_at": 0, "receivable_id": 0,
        "token_id": 0, "foreclosed_value": 0, "recovered": 0,
        "pledged_block": e.block_number, "ended_block": None, "tx_hash": e.tx_hash,
    })
    asset = _asset(store, e)
    asset["pledge_id"] = a["pledgeId"]
    store.put("data_asset", asset)


@on(REGISTRY, "DataAssetReleased", "DataAssetForeclosed", timed=True)
def pledge_ended(store: Store, e: Event) -> None:
    """The pledge ends; a foreclosure also hands the asset to the pledgee and records what it was
    credited against the defaulted receivable (the voucher cited, the asset's counted value)."""
    a = e.args
    foreclosed = e.name == "DataAssetForeclosed"
    pledge = store.get("pledge", a["pledgeId"])
    pledge.update(state=int(PledgeState.FORECLOSED if foreclosed else PledgeState.RELEASED),
                  ended_at=store.timestamp, ended_block=e.block_number)
    if foreclosed:
        pledge.update(receivable_id=a["receivableId"], token_id=a["tokenId"], foreclosed_value=a["value"],
                      recovered=a["recovered"])
    store.put("pledge", pledge)
    asset = _asset(store, e)
    asset["pledge_id"] = 0
    if foreclosed:
        asset["owner"] = a["financier"]
    store.put("data_asset", asset)


@on(REGISTRY, "DataAssetReturned")
def asset_returned(store: Store, e: Event) -> None:
    """The receivable was repaid in full: the foreclosed asset is back with its owner."""
    a = e.args
    pledge = store.get("pledge", a["pledgeId"])
    pledge["state"] = int(PledgeState.RETURNED)
    store.put("pledge", pledge)
    asset = _asset(store, e)
    asset["owner"] = a["owner"]
    store.put("data_asset", asset)


# -- what the pledged assets count on a credit line (CreditLines) --------------------------------


@on(LINES, "CreditLineAdvanceRateSet")
def advance_rate_set(store: Store, e: Event) -> None:
    line = store.get("credit_line", e.args["lineId"])
    line["advance_rate_bps"] = e.args["advanceRateBps"]
    store.put("credit_line", line)


@on(LINES, "CreditLineCollateralChanged")
def collateral_changed(store: Store, e: Event) -> None:
    line = store.get("credit_line", e.args["lineId"])
    line.update(collateral_value=e.args["value"], collateral_valid_until=e.args["validUntil"])
    store.put("credit_line", line)
