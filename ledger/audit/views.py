"""Compare the rebuilt state with the contracts' view functions pinned to the audited block.

Every view is one eth_call; they go to the node in JSON-RPC batches (AuditRpc.eth_calls), so
10,000 vouchers cost a handful of HTTP round trips instead of 10,000.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from ..logs import raw_hex, text
from ..types import PledgeState
from .model import Discrepancy
from .rebuild import DEAD, Rebuild
from .rpc import AuditRpc

VOUCHER_FIELDS = {"holder": "holder", "receivable_id": "receivableId", "status": "status", "value": "value",
                  "paid": "paid", "parent_id": "parentId"}
RECEIVABLE_FIELDS = {"obligor": "obligor", "issued_at": "issuedAt", "maturity": "maturity", "state": "state",
                     "currency": "currency", "line_id": "lineId", "root_token_id": "rootTokenId",
                     "face_value": "faceValue", "repaid": "repaid", "claimed": "claimed"}
LINE_FIELDS = {"obligor": "obligor", "used": "used", "currency": "currency", "limit": "limit",
               "financier": "financier", "expiry": "expiry", "grace_period": "gracePeriod"}
COLLATERAL_FIELDS = {"collateral_value": "value", "collateral_valid_until": "validUntil",
                     "advance_rate_bps": "advanceRateBps"}
OFFER_FIELDS = {"seller": "seller", "token_id": "tokenId", "rate_bps": "rateBps", "recourse": "recourse",
                "state": "state", "financier": "financier", "deadline": "deadline", "recourse_state": "recourseState",
                "value": "value", "price": "price", "paid_at_deal": "paidAtDeal", "recourse_amount": "recourseAmount"}
ASSET_FIELDS = {"owner": "owner", "registered_at": "registeredAt", "pledge_id": "pledgeId", "exchange": "exchange",
                "content_hash": "contentHash", "metadata_hash": "metadataHash", "listing_id": "listingId", "uri": "uri",
                "uri_hex": "uri_hex"}
APPRAISAL_FIELDS = {"appraiser": "appraiser", "appraised_at": "appraisedAt", "valid_until": "validUntil",
                    "value": "value", "report_hash": "reportHash"}
PLEDGE_FIELDS = {"asset_id": "assetId", "line_id": "lineId", "state": "state", "owner": "owner",
                 "financier": "financier", "pledged_at": "pledgedAt", "ended_at": "endedAt",
                 "receivable_id": "receivableId", "recovered": "recovered", "token_id": "tokenId"}


def _same_value(found: list, expected: Any, chain: Any, location: dict, what: str) -> None:
    if expected != chain:
        found.append(Discrepancy("chain_views", f"{what}: events say {expected}, the view {chain}", location,
                                 expected, chain))


def _type(item: dict[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        return "(" + ",".join(_type(c) for c in item["components"]) + ")" + item["type"][5:]
    return item["type"]


class View:
    """One view function of one deployed contract: encodes its call, decodes its answer by name."""

    def __init__(self, address: str, abi: list[dict[str, Any]], name: str):
        item = next(i for i in abi if i.get("type") == "function" and i["name"] == name)
        self.address = address
        self.name = name
        self.inputs = [_type(i) for i in item["inputs"]]
        self.selector = keccak(text=f"{name}({','.join(self.inputs)})")[:4]
        self.outputs = item["outputs"]
        # Strings are read as their bytes (eth_abi would refuse invalid UTF-8), then as
        # ledger.logs reads an event's: readable text plus the exact bytes (see _named).
        self.output_types = [re.sub(r"\bstring\b", "bytes", _type(o)) for o in self.outputs]

    def call(self, *args: Any) -> tuple[str, bytes]:
        return self.address, self.selector + abi_encode(self.inputs, list(args))

    def decode(self, data: bytes) -> Any:
        """A struct as a dict by field name, an array of structs as a list of dicts, else the value."""
        (value,) = abi_decode(self.output_types, data)
        out = self.outputs[0]
        if out["type"] == "tuple":
            return _named(out["components"], value)
        if out["type"] == "tuple[]":
            return [_named(out["components"], v) for v in value]
        if out["type"] == "string":
            return text(value)
        return value


def _named(components: list[dict[str, Any]], value: tuple) -> dict[str, Any]:
    out = {}
    for c, v in zip(components, value, strict=True):
        if c["type"] == "address":
            v = to_checksum_address(v)
        elif c["type"] == "string":  # the text, and its bytes as <name>_hex (compared byte for byte)
            out[c["name"] + "_hex"] = raw_hex(text(v))
            v = text(v)
        elif isinstance(v, bytes):
            v = "0x" + v.hex()
        out[c["name"]] = v
    return out


def _diff(found: list[Discrepancy], row: dict[str, Any], chain: dict[str, Any], fields: dict[str, str],
          location: dict[str, Any], what: str) -> None:
    for column, name in fields.items():
        if column not in row or name not in chain:
            continue
        expected, actual = row[column], chain[name]
        if isinstance(expected, str) and isinstance(actual, str) and expected.startswith("0x"):
            same = expected.lower() == actual.lower()
        else:
            same = expected == actual
        if not same:
            found.append(Discrepancy("chain_views", f"{what}: {column} rebuilt from events is {expected!r}, "
                                     f"the view returns {actual!r}", {**location, "column": column}, expected, actual))


def compare_views(state: Rebuild, rpc: AuditRpc, contracts: dict[str, tuple[str, list]], block: int) -> tuple[
        list[Discrepancy], int]:
    """Compare `state` with the views at `block`; return the discrepancies and the number of calls.

    Args:
        contracts: contract name -> (address, abi) of the deployment.
    """
    found: list[Discrepancy] = []
    calls: list[tuple[str, bytes]] = []
    checks: list[Callable[[Any], None]] = []

    def ask(view: View, args: tuple, on_value: Callable[[Any], None] | None, *, reverts: str | None = None,
            location: dict[str, Any]) -> None:
        """Queue view(*args); on_value gets the decoded answer, or a revert is expected (`reverts`)."""
        calls.append(view.call(*args))

        def check(result) -> None:
            if reverts is not None:
                if result.ok:
                    found.append(Discrepancy("chain_views", f"{view.name}{args} answers at block {block}: {reverts}",
                                             location, "revert", "0x" + result.data.hex()))
                return
            if not result.ok:
                found.append(Discrepancy("chain_views", f"{view.name}{args} reverted at block {block} "
                                         f"({result.error}), but events show it exists", location, "a value", "revert"))
                return
            on_value(view.decode(result.data))
        checks.append(check)

    def views(contract: str, *names: str) -> list[View]:
        address, abi = contracts[contract]
        return [View(address, abi, n) for n in names]

    voucher_of, receivable_of, receivable_of_document = views("ReceivableVoucher", "voucherOf", "receivableOf",
                                                              "receivableOfDocument")
    for t, v in state.vouchers.items():
        loc = {"token_id": t, "receivable_id": v["receivable_id"], "view": "voucherOf"}
        if v["burned"]:
            ask(voucher_of, (t,), None, reverts="events burned this voucher", location=loc)
        else:
            ask(voucher_of, (t,), lambda c, v=v, loc=loc: _diff(found, v, c, VOUCHER_FIELDS, loc,
                                                                 f"voucher {v['token_id']}"), location=loc)
    top = max(state.vouchers, default=0) + 1
    ask(voucher_of, (top,), None, reverts="a voucher no event minted", location={"token_id": top, "view": "voucherOf"})

    for rid, r in state.receivables.items():
        loc = {"receivable_id": rid, "view": "receivableOf"}
        ask(receivable_of, (rid,), lambda c, r=r, loc=loc: _diff(found, r, c, RECEIVABLE_FIELDS, loc,
                                                                  f"receivable {r['receivable_id']}"), location=loc)
    top = max(state.receivables, default=0) + 1
    ask(receivable_of, (top,), None, reverts="a receivable no event issued",
        location={"receivable_id": top, "view": "receivableOf"})
    documents: dict[tuple[str, str], int] = {}  # (obligor, fingerprint) -> its live receivable or 0
    for r in state.receivables.values():
        key = (r["obligor"], r["document_hash"])
        documents.setdefault(key, 0)
        if r["state"] not in DEAD:
            documents[key] = r["receivable_id"]
    for (obligor, doc), rid in documents.items():
        loc = {"document_hash": doc, "receivable_id": rid, "view": "receivableOfDocument"}

        def same_backing(c, obligor=obligor, doc=doc, rid=rid, loc=loc):
            if c != rid:
                found.append(Discrepancy("chain_views", f"document {doc} of {obligor} backs receivable {c} on "
                                         f"chain, {rid} by events", loc, rid, c))
        ask(receivable_of_document, (obligor, bytes.fromhex(doc[2:])), same_backing, location=loc)

    # The pause clock: pausedTime() and each receivable's overdueAt() (IReceivableVoucher), from
    # the Paused / Unpaused events' timestamps and the audited block's.
    if state.now is not None:
        paused_time, overdue_at = views("ReceivableVoucher", "pausedTime", "overdueAt")
        ask(paused_time, (), lambda c, want=state.paused_time(state.now): _same_value(
            found, want, c, {"view": "pausedTime"}, "time paused"), location={"view": "pausedTime"})
        for rid in state.receivables:
            loc = {"receivable_id": rid, "view": "overdueAt"}
            ask(overdue_at, (rid,), lambda c, want=state.overdue_at(rid, state.now), loc=loc, rid=rid: _same_value(
                found, want, c, loc, f"receivable {rid}'s overdue moment"), location=loc)

    line_of, collateral_of = views("CreditLines", "lineOf", "collateralOf")
    for line_id, line in state.credit_lines.items():
        loc = {"line_id": line_id, "view": "lineOf"}
        ask(line_of, (line_id,), lambda c, line=line, loc=loc: _diff(found, line, c, LINE_FIELDS, loc,
                                                                      f"credit line {line['line_id']}"), location=loc)
        loc = {"line_id": line_id, "view": "collateralOf"}
        ask(collateral_of, (line_id,), lambda c, line=line, loc=loc: _diff(
            found, line, c, COLLATERAL_FIELDS, loc, f"collateral of line {line['line_id']}"), location=loc)
    top = max(state.credit_lines, default=0) + 1
    ask(line_of, (top,), None, reverts="a line no event granted", location={"line_id": top, "view": "lineOf"})

    (offer_of,) = views("Factoring", "offerOf")
    for offer_id, o in state.offers.items():
        loc = {"offer_id": offer_id, "token_id": o["token_id"], "receivable_id": o["receivable_id"], "view": "offerOf"}
        ask(offer_of, (offer_id,), lambda c, o=o, loc=loc: _diff(found, o, c, OFFER_FIELDS, loc,
                                                                  f"offer {o['offer_id']}"), location=loc)
    top = max(state.offers, default=0) + 1
    ask(offer_of, (top,), None, reverts="an offer no event created", location={"offer_id": top, "view": "offerOf"})

    if "DataAssetRegistry" in contracts:
        asset_of, appraisals_of, pledge_of, pledged_to, recovered_of, held_under = views(
            "DataAssetRegistry", "assetOf", "appraisalsOf", "pledgeOf", "pledgedTo", "recoveredOf", "heldUnder")
        held = {p["asset_id"]: pledge_id for pledge_id, p in state.pledges.items()
                if p["state"] == PledgeState.FORECLOSED}
        slots: dict[int, dict[int, dict]] = defaultdict(dict)
        for (asset_id, slot), a in state.appraisals.items():
            slots[asset_id][slot] = a
        for asset_id, a in state.data_assets.items():
            loc = {"asset_id": asset_id, "view": "assetOf"}
            ask(asset_of, (asset_id,), lambda c, a=a, loc=loc: _diff(found, a, c, ASSET_FIELDS, loc,
                                                                      f"data asset {a['asset_id']}"), location=loc)
            loc = {"asset_id": asset_id, "view": "appraisalsOf"}

            def same_slots(chain, asset_id=asset_id, loc=loc):
                mine = slots.get(asset_id, {})
                for slot, c in enumerate(chain):
                    if slot in mine:
                        _diff(found, mine[slot], c, APPRAISAL_FIELDS, {**loc, "slot": slot},
                              f"appraisal {asset_id}/{slot}")
                    elif c["validUntil"] != 0:
                        found.append(Discrepancy("chain_views", f"asset {asset_id} slot {slot} holds an appraisal "
                                                 "no event made", {**loc, "slot": slot}, None, c))
                for slot in set(mine) - set(range(len(chain))):
                    found.append(Discrepancy("chain_views", f"asset {asset_id} slot {slot}: events appraised it, "
                                             "the view has no such slot", {**loc, "slot": slot}, mine[slot], None))
            ask(appraisals_of, (asset_id,), same_slots, location=loc)
            loc = {"asset_id": asset_id, "view": "heldUnder"}
            ask(held_under, (asset_id,), lambda c, want=held.get(asset_id, 0), loc=loc: _same_value(
                found, want, c, loc, f"asset {loc['asset_id']} held in foreclosure"), location=loc)
        for receivable_id in state.receivables:
            loc = {"receivable_id": receivable_id, "view": "recoveredOf"}
            ask(recovered_of, (receivable_id,), lambda c, want=state.recovered_of(receivable_id), loc=loc: _same_value(
                found, want, c, loc, f"recovery against receivable {loc['receivable_id']}"), location=loc)
        top = max(state.data_assets, default=0) + 1
        ask(asset_of, (top,), None, reverts="an asset no event registered",
            location={"asset_id": top, "view": "assetOf"})
        for pledge_id, p in state.pledges.items():
            loc = {"pledge_id": pledge_id, "asset_id": p["asset_id"], "view": "pledgeOf"}
            ask(pledge_of, (pledge_id,), lambda c, p=p, loc=loc: _diff(found, p, c, PLEDGE_FIELDS, loc,
                                                                        f"pledge {p['pledge_id']}"), location=loc)
        top = max(state.pledges, default=0) + 1

        def no_pledge(c, top=top):
            if c["state"] != PledgeState.NONE:
                found.append(Discrepancy("chain_views", f"pledge {top} exists on chain, but no event made it",
                                         {"pledge_id": top, "view": "pledgeOf"}, int(PledgeState.NONE), c["state"]))
        ask(pledge_of, (top,), no_pledge, location={"pledge_id": top, "view": "pledgeOf"})
        for line_id in state.credit_lines:
            expected = sorted(p["asset_id"] for p in state.pledges.values()
                              if p["line_id"] == line_id and p["state"] == PledgeState.ACTIVE)
            loc = {"line_id": line_id, "view": "pledgedTo"}

            def same_pledged(c, expected=expected, loc=loc, line_id=line_id):
                if sorted(c) != expected:
                    found.append(Discrepancy("chain_views", f"line {line_id}'s pledged assets differ", loc,
                                             expected, sorted(c)))
            ask(pledged_to, (line_id,), same_pledged, location=loc)

    for check, result in zip(checks, rpc.eth_calls(calls, block), strict=True):
        check(result)
    return found, len(calls)
