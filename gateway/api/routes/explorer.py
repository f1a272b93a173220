"""The explorer's reads (the page is gateway/explorer): search, a receivable's voucher graph, a
voucher's timeline and a party's positions, each with the block it reflects, and each limited to
what the caller is entitled to see: the rules of api/visibility.py, the same as the /v1 reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Annotated, Any

from eth_utils import to_checksum_address
from fastapi import APIRouter, Query
from sqlmodel import Session, or_, select

from ledger import VoucherStatus
from ledger.exceptions import VoucherNonexistent
from ledger.mirror import CreditLine, Deal, EventLog, Offer, Receivable, Repayment, Voucher
from ledger.mirror.models import Claim

from ...errors import InvalidInput
from ...models import Party
from ...schemas import Address, Id, amount, offer_json, receivable_json, voucher_json
from ...service import Gateway, block_json
from ..deps import GatewayDep, ReaderDep
from ..visibility import access_to, receivable_and_vouchers, refuse, require_positions, sees_all, voucher_access
from .parties import positions_of
from .vouchers import _history

router = APIRouter(prefix="/explorer", tags=["explorer"])

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_CHUNK = 100  # token ids per query (two LIKEs each): SQLite's expression depth stays well below its limit


def _deal_json(d: Deal) -> dict[str, Any]:
    return {"offer_id": d.offer_id, "token_id": d.token_id, "seller": d.seller, "financier": d.financier,
            "value": amount(d.value), "price": amount(d.price), "discount": amount(d.discount),
            "rate_bps": d.rate_bps, "recourse": d.recourse, "block_number": d.block_number, "tx_hash": d.tx_hash}


def _chunks(items: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i:i + _CHUNK]


def _names(gateway: Gateway, addresses: Iterable[str]) -> dict[str, str]:
    wanted = sorted({a for a in addresses if a})
    if not wanted:
        return {}
    with gateway.session() as s:
        return {p.address: p.name for p in s.exec(select(Party).where(Party.address.in_(wanted))).all()}


def _moves(s: Session, r: Receivable, tokens: list[int]) -> list[dict]:
    """Every TransferValue into the receivable's vouchers, in chain order (splits, moves, merges)."""
    out = []
    for chunk in _chunks(tokens):
        # event_log keeps args as compact JSON: the id is followed by "," or, as the last key, "}".
        patterns = [EventLog.args.like(f'%"_toTokenId":{t}{end}%') for t in chunk for end in ",}"]
        rows = s.exec(select(EventLog).where(EventLog.contract == "ReceivableVoucher",
                                             EventLog.name == "TransferValue",
                                             EventLog.block_number >= r.issued_block, or_(*patterns))).all()
        for e in rows:
            args = json.loads(e.args)
            out.append({"from": args["_fromTokenId"], "to": args["_toTokenId"], "value": args["_value"],
                        "block_number": e.block_number, "log_index": e.log_index, "tx_hash": e.tx_hash})
    wanted = set(tokens)
    return sorted((m for m in out if m["to"] in wanted), key=lambda m: (m["block_number"], m["log_index"]))


def _claimable(r: Receivable, v: Voucher) -> int:
    """What the holder could claim now: ReceivableVoucher.claimable, from the mirror's rows."""
    if v.burned or v.status == int(VoucherStatus.PENDING) or not r.face_value:
        return 0
    due = v.value * r.repaid // r.face_value - v.paid
    return max(0, min(due, r.repaid - r.claimed))


@router.get("/search")
def search(q: Annotated[str, Query(min_length=1, max_length=100, description="a voucher id, a receivable id "
                                                                             "or a party address")],
           caller: ReaderDep, gateway: GatewayDep) -> dict:
    """What `q` names: a receivable and/or a voucher (an id), or a party (an address). `matches` are
    those the caller may open; `withheld` exist but are not the caller's to see."""
    text = q.strip()
    matches: list[dict] = []
    withheld: list[dict] = []
    with gateway.snapshot() as snap:
        s = snap.session
        if _ADDRESS.fullmatch(text):
            address = to_checksum_address(text)  # as the mirror stores addresses
            found = sees_all(caller) or address == caller.address
            (matches if found else withheld).append({"kind": "party", "id": address})
        elif text.isascii() and text.isdigit() and 0 < int(text) < 2**48:
            n = int(text)
            if s.get(Receivable, n) is not None:
                r, vouchers = receivable_and_vouchers(s, n)
                (matches if access_to(s, caller, r, vouchers).any else withheld).append({"kind": "receivable", "id": n})
            v = s.get(Voucher, n)
            if v is not None:
                ok = voucher_access(s, caller, v)[0].sees(n)
                (matches if ok else withheld).append({"kind": "voucher", "id": n})
        else:
            raise InvalidInput("search for a voucher id, a receivable id (a positive integer) or a party address "
                               "(0x and 40 hex digits)", q=text)
        return {"query": text, "matches": matches, "withheld": withheld, "block": block_json(snap.block)}


@router.get("/receivables/{receivable_id}")
def receivable_graph(receivable_id: Id, caller: ReaderDep, gateway: GatewayDep) -> dict:
    """The receivable's voucher tree as a graph: `nodes` (vouchers, with what factoring and claims did
    to each) and `edges` (value that moved between them: `split` created the child, `moved` went into
    an existing voucher, e.g. a merge), limited to what the caller may see (`access`, `hidden`)."""
    with gateway.snapshot() as snap:
        s = snap.session
        r, vouchers = receivable_and_vouchers(s, receivable_id)
        access = access_to(s, caller, r, vouchers)
        if not access.any:
            raise refuse(caller, "this receivable", receivable_id=receivable_id)
        shown = [v for v in vouchers if access.sees(v.token_id)]
        shown_ids = {v.token_id for v in shown}
        deals = {d.token_id: d for d in s.exec(select(Deal).where(Deal.receivable_id == receivable_id)
                                                 .order_by(Deal.offer_id)).all() if d.token_id in shown_ids}
        offers: dict[int, list[dict]] = {}
        for o in s.exec(select(Offer).where(Offer.receivable_id == receivable_id).order_by(Offer.offer_id)).all():
            if o.token_id in shown_ids:
                offers.setdefault(o.token_id, []).append(offer_json(o))
        claimed: dict[int, int] = {}
        for c in s.exec(select(Claim).where(Claim.receivable_id == receivable_id)).all():
            claimed[c.token_id] = claimed.get(c.token_id, 0) + c.amount
        moves = _moves(s, r, [v.token_id for v in vouchers])
        created: dict[int, int] = {}  # the value a voucher was created with (its first TransferValue)
        edges: dict[tuple[int, int, str], dict] = {}
        for m in moves:
            first = m["to"] not in created
            if first:
                created[m["to"]] = m["value"]
            if not m["from"] or not (m["from"] in shown_ids and m["to"] in shown_ids):
                continue
            kind = "split" if first else "moved"
            edge = edges.setdefault((m["from"], m["to"], kind), {
                "from": m["from"], "to": m["to"], "value": 0, "kind": kind,
                "block_number": m["block_number"], "tx_hash": m["tx_hash"]})
            edge["value"] += m["value"]
        nodes = []
        for v in shown:
            d = deals.get(v.token_id)
            nodes.append({**voucher_json(v), "created_value": amount(created.get(v.token_id, 0)),
                          "claimed": amount(claimed.get(v.token_id, 0)), "claimable": amount(_claimable(r, v)),
                          "factored": _deal_json(d) if d is not None else None,
                          "offers": offers.get(v.token_id, [])})
        line = s.get(CreditLine, r.line_id)
        repayments = s.exec(select(Repayment).where(Repayment.receivable_id == receivable_id)
                            .order_by(Repayment.block_number, Repayment.log_index)).all()
        body = {
            "receivable": {**receivable_json(r), "financier": line.financier if line else None},
            "access": access.json(),
            "nodes": nodes,
            "edges": [{**e, "value": amount(e["value"])} for e in edges.values()],
            "hidden": len(vouchers) - len(shown),
            "repayments": [{"amount": amount(p.amount), "repaid": amount(p.repaid), "block_number": p.block_number,
                            "tx_hash": p.tx_hash} for p in repayments],
            "block": block_json(snap.block),
        }
        addresses = [r.obligor, r.supplier, body["receivable"]["financier"], *(v.holder for v in shown),
                     *(d.financier for d in deals.values()), *(d.seller for d in deals.values())]
    body["names"] = _names(gateway, addresses)
    return body


@router.get("/vouchers/{token_id}")
def voucher_timeline(token_id: Id, caller: ReaderDep, gateway: GatewayDep) -> dict:
    """A voucher, its lineage from the root and its timeline: every event naming it, with block,
    transaction and log index, oldest first; plus the offers and deals made on it."""
    with gateway.snapshot() as snap:
        s = snap.session
        v = s.get(Voucher, token_id)
        if v is None:
            raise VoucherNonexistent(token_id)
        access, vouchers = voucher_access(s, caller, v)
        if not access.sees(token_id):
            raise refuse(caller, "this voucher", token_id=token_id)
        by_id = {x.token_id: x for x in vouchers}
        lineage, up = [], v.parent_id
        while up and up in by_id and len(lineage) < len(by_id):
            lineage.append(voucher_json(by_id[up]))
            up = by_id[up].parent_id
        lineage.reverse()
        children = [voucher_json(x) for x in by_id.values() if x.parent_id == token_id and access.sees(x.token_id)]
        offers = s.exec(select(Offer).where(Offer.token_id == token_id).order_by(Offer.offer_id)).all()
        deals = s.exec(select(Deal).where(Deal.token_id == token_id).order_by(Deal.offer_id)).all()
        body = {"voucher": voucher_json(v), "lineage": lineage, "children": children,
                "timeline": _history(s, v, access), "offers": [offer_json(o) for o in offers],
                "deals": [_deal_json(d) for d in deals], "block": block_json(snap.block)}
    shown = body["voucher"], *lineage, *children
    body["names"] = _names(gateway, [*(x["holder"] for x in shown), *(d["financier"] for d in body["deals"]),
                                     *(d["seller"] for d in body["deals"])])
    return body


@router.get("/parties/{address}")
def party(address: Address, caller: ReaderDep, gateway: GatewayDep) -> dict:
    """A party's positions (vouchers, holdings per receivable, obligations, open offers, credit lines)
    and its factoring deals, as seller and as financier: the party itself, auditors and the operator
    only (403 NotOwner for anyone else)."""
    require_positions(caller, address)
    with gateway.snapshot() as snap:
        s = snap.session
        body = positions_of(s, address)
        sold = s.exec(select(Deal).where(Deal.seller == address).order_by(Deal.offer_id)).all()
        bought = s.exec(select(Deal).where(Deal.financier == address).order_by(Deal.offer_id)).all()
        body.update(deals_sold=[_deal_json(d) for d in sold], deals_bought=[_deal_json(d) for d in bought],
                    block=block_json(snap.block))
    body["names"] = _names(gateway, [address])
    return body
