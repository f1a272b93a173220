"""Compare a mirror's tables with the chain, read through the contracts' views at the mirror's block."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from web3.exceptions import ContractLogicError

from ledger.mirror import (
    Appraisal,
    Claim,
    CreditLine,
    DataAsset,
    Deal,
    EventLog,
    Member,
    MirrorCursor,
    MirrorReader,
    Offer,
    OperatorApproval,
    PauseState,
    Pledge,
    Receivable,
    Repayment,
    RoleAssignment,
    Voucher,
)
from ledger.mirror.models import STATE_MODELS
from ledger.mirror.reader import allowance, approved
from ledger.types import OfferState, PledgeState, Role

ZERO = "0x0000000000000000000000000000000000000000"


def _struct(fn, block: int) -> dict[str, Any]:
    """A view's struct result as a dict by the ABI's field names."""
    names = [c["name"] for c in fn.abi["outputs"][0]["components"]]
    return dict(zip(names, fn.call(block_identifier=block), strict=True))


#: mirror column -> view struct field. A field the view does not (or no longer) return is skipped:
#: the contracts are growing, and the mirror's handlers follow them one issue at a time.
VOUCHER_FIELDS = {"holder": "holder", "receivable_id": "receivableId", "status": "status", "value": "value",
                  "parent_id": "parentId", "paid": "paid"}
RECEIVABLE_FIELDS = {"obligor": "obligor", "maturity": "maturity", "state": "state", "currency": "currency",
                     "line_id": "lineId", "root_token_id": "rootTokenId", "face_value": "faceValue",
                     "repaid": "repaid", "claimed": "claimed", "document_hash": "documentHash"}
OFFER_FIELDS = {"seller": "seller", "token_id": "tokenId", "rate_bps": "rateBps", "recourse": "recourse",
                "state": "state", "financier": "financier", "deadline": "deadline", "recourse_state": "recourseState",
                "value": "value", "price": "price", "paid_at_deal": "paidAtDeal", "recourse_amount": "recourseAmount"}
#: A deal row against the offer it closed (offerOf, once Accepted).
DEAL_FIELDS = {"seller": "seller", "token_id": "tokenId", "rate_bps": "rateBps", "recourse": "recourse",
               "financier": "financier", "value": "value", "price": "price", "paid_at_deal": "paidAtDeal"}
LINE_FIELDS = {"obligor": "obligor", "used": "used", "currency": "currency", "limit": "limit",
               "financier": "financier", "expiry": "expiry", "grace_period": "gracePeriod"}
#: A credit line's collateral columns against CreditLines.collateralOf.
COLLATERAL_FIELDS = {"collateral_value": "value", "collateral_valid_until": "validUntil",
                     "advance_rate_bps": "advanceRateBps"}
ASSET_FIELDS = {"owner": "owner", "registered_at": "registeredAt", "pledge_id": "pledgeId", "exchange": "exchange",
                "content_hash": "contentHash", "metadata_hash": "metadataHash", "listing_id": "listingId",
                "uri": "uri"}
APPRAISAL_FIELDS = {"appraiser": "appraiser", "appraised_at": "appraisedAt", "valid_until": "validUntil",
                    "value": "value", "report_hash": "reportHash"}
PLEDGE_FIELDS = {"asset_id": "assetId", "line_id": "lineId", "state": "state", "owner": "owner",
                 "financier": "financier", "pledged_at": "pledgedAt", "ended_at": "endedAt",
                 "receivable_id": "receivableId", "recovered": "recovered", "token_id": "tokenId"}
BPS = 10_000
UINT96_MAX = 2**96 - 1


def _same(row, chain: dict[str, Any], fields: dict[str, str], what: str) -> None:
    for column, name in fields.items():
        if name in chain:
            expected = chain[name]
            if isinstance(expected, bytes):
                expected = "0x" + expected.hex()
            assert getattr(row, column) == expected, f"{what}: {column} is {getattr(row, column)!r}, chain {expected!r}"


def _reverts(fn, block: int) -> bool:
    try:
        fn.call(block_identifier=block)
    except ContractLogicError:
        return True
    return False


def chain_logs(w, last: int) -> list[tuple[int, str, int]]:
    """(block, block hash, log index) of every log of our contracts up to block `last`."""
    addresses = [w.deployment.voucher, w.deployment.credit_lines, w.deployment.factoring]
    if w.deployment.data_assets:
        addresses.append(w.deployment.data_assets)
    raw = w.chain.w3.eth.get_logs({
        "address": addresses,
        "fromBlock": w.deployment.start_block, "toBlock": last,
    })
    return [(r["blockNumber"], "0x" + bytes(r["blockHash"]).hex(), r["logIndex"]) for r in raw]


def _events(event, w, last: int) -> list:
    """The decoded logs of one event of ours up to block `last`, in chain order."""
    return sorted(event.get_logs(from_block=w.deployment.start_block, to_block=last),
                  key=lambda e: (e["blockNumber"], e["logIndex"]))


def _tx(log) -> str:
    return "0x" + bytes(log["transactionHash"]).hex()


def assert_financing_matches_chain(w, s, block: int, receivables, vouchers) -> None:
    """Repayments, claims, offers and deals equal the chain's events and views at `block`."""
    v, f = w.ledger.voucher, w.ledger.factoring

    # One repayment row and one claim row per event, nothing else; they add up to the views.
    repayments = [(r.block_number, r.log_index, r.receivable_id, r.payer, r.amount, r.repaid, r.tx_hash)
                  for r in s.exec(select(Repayment).order_by(Repayment.block_number, Repayment.log_index)).scalars()]
    assert repayments == [
        (e["blockNumber"], e["logIndex"], e.args.receivableId, e.args.payer, e.args.amount, e.args.repaid, _tx(e))
        for e in _events(v.events.ReceivableRepaid, w, block)
    ]
    claims = [(c.block_number, c.log_index, c.token_id, c.receivable_id, c.holder, c.amount, c.paid, c.closed,
               c.tx_hash) for c in s.exec(select(Claim).order_by(Claim.block_number, Claim.log_index)).scalars()]
    assert claims == [
        (e["blockNumber"], e["logIndex"], e.args.tokenId, e.args.receivableId, e.args.holder, e.args.amount,
         e.args.paid, e.args.closed, _tx(e))
        for e in _events(v.events.VoucherClaimed, w, block)
    ]
    released = [(e.args.receivableId, e.args.amount) for e in _events(v.events.ReceivableRemainderReleased, w, block)]
    for r in receivables:
        assert sum(x[4] for x in repayments if x[2] == r.receivable_id) == r.repaid, r.receivable_id
        # claimed: what vouchers claimed plus the rounding remainder released to the obligor
        assert sum(x[5] for x in claims if x[3] == r.receivable_id) + sum(
            amount for rid, amount in released if rid == r.receivable_id) == r.claimed, r.receivable_id

    # Offers as offerOf returns them; none on chain that the mirror lacks.
    by_token = {t.token_id: t for t in vouchers}
    offers = s.exec(select(Offer)).scalars().all()
    on_chain: dict[int, dict[str, Any]] = {}
    for o in offers:
        on_chain[o.offer_id] = _struct(f.functions.offerOf(o.offer_id), block)
        _same(o, on_chain[o.offer_id], OFFER_FIELDS, f"offer {o.offer_id}")
        assert o.receivable_id == by_token[o.token_id].receivable_id, o.offer_id
    assert sorted(on_chain) == list(range(1, len(offers) + 1))
    assert _reverts(f.functions.offerOf(len(offers) + 1), block), "the chain has an offer the mirror lacks"

    # A deal for each accepted offer, at the price, rate and paid of the Factored event and view.
    factored = {e.args.offerId: e for e in _events(f.events.Factored, w, block)}
    deals = {d.offer_id: d for d in s.exec(select(Deal)).scalars()}
    assert set(deals) == set(factored) == {i for i, o in on_chain.items() if o["state"] == OfferState.ACCEPTED}
    for offer_id, d in deals.items():
        _same(d, on_chain[offer_id], DEAL_FIELDS, f"deal {offer_id}")
        e = factored[offer_id]
        # The price is on the unpaid value sold: the discount is what the seller gave up on it.
        unpaid = e.args.value - on_chain[offer_id]["paidAtDeal"]
        assert (d.price, d.value, d.discount) == (e.args.price, e.args.value, unpaid - e.args.price)
        assert (d.block_number, d.tx_hash) == (e["blockNumber"], _tx(e))
        assert d.receivable_id == by_token[d.token_id].receivable_id
        assert d.currency == s.get(Receivable, d.receivable_id).currency


def _structs(fn, block: int) -> list[dict[str, Any]]:
    """A view's struct-array result as dicts by the ABI's field names."""
    names = [c["name"] for c in fn.abi["outputs"][0]["components"]]
    return [dict(zip(names, item, strict=True)) for item in fn.call(block_identifier=block)]


def assert_data_assets_match_chain(w, s, block: int, credit_lines) -> None:
    """Assets, appraisal slots, pledges and each line's collateral equal the registry's and
    CreditLines' views (and events) at `block`."""
    lines = w.ledger.credit_lines.functions
    timestamp = w.chain.w3.eth.get_block(block)["timestamp"]
    pledges = {p.pledge_id: p for p in s.exec(select(Pledge)).scalars()}
    for c in credit_lines:  # the collateral CreditLines records, and the limit it makes
        _same(c, _struct(lines.collateralOf(c.line_id), block), COLLATERAL_FIELDS, f"collateral of line {c.line_id}")
        credit = c.collateral_value * c.advance_rate_bps // BPS if timestamp < c.collateral_valid_until else 0
        assert min(c.limit + credit, UINT96_MAX) == lines.effectiveLimit(c.line_id).call(block_identifier=block)
    if w.deployment.data_assets is None:
        assert not pledges
        return
    registry = w.ledger.data_assets
    r = registry.functions

    # Assets as assetOf returns them, found by their content; none on chain that the mirror lacks.
    assets = {a.asset_id: a for a in s.exec(select(DataAsset)).scalars()}
    assert sorted(assets) == list(range(1, len(assets) + 1))
    assert _reverts(r.assetOf(len(assets) + 1), block), "the chain has a data asset the mirror lacks"
    appraisals = {(a.asset_id, a.slot): a for a in s.exec(select(Appraisal)).scalars()}
    unmatched = dict(appraisals)
    for asset_id, a in assets.items():
        chain = _struct(r.assetOf(asset_id), block)
        # The URI's exact bytes (uri_hex), and its text as the mirror decodes it (PostgreSQL has no NUL).
        assert a.uri_hex == "0x" + chain["uri"].encode().hex(), f"data asset {asset_id}: uri_hex {a.uri_hex}"
        chain["uri"] = chain["uri"].replace("\x00", "\ufffd")
        _same(a, chain, ASSET_FIELDS, f"data asset {asset_id}")
        assert r.assetOfContent(bytes.fromhex(a.content_hash[2:])).call(block_identifier=block) == asset_id
        # Every slot: the mirrored appraisal, or unused on chain too.
        for slot, chain in enumerate(_structs(r.appraisalsOf(asset_id), block)):
            row = unmatched.pop((asset_id, slot), None)
            if row is None:
                assert chain["validUntil"] == 0, f"asset {asset_id} slot {slot}: the mirror lacks an appraisal"
            else:
                _same(row, chain, APPRAISAL_FIELDS, f"appraisal {asset_id}/{slot}")
    assert not unmatched, f"appraisals of no asset: {sorted(unmatched)}"
    # A slot's row is its last DataAssetAppraised, unless a withdrawal or strike came after it.
    slot_events = sorted(
        [(e["blockNumber"], e["logIndex"], e) for e in _events(registry.events.DataAssetAppraised, w, block)]
        + [(e["blockNumber"], e["logIndex"], e) for kind in (registry.events.DataAssetAppraisalWithdrawn,
                                                             registry.events.DataAssetAppraisalStruck)
           for e in _events(kind, w, block)], key=lambda t: t[:2])
    last: dict = {}
    for _, _, e in slot_events:
        key = (e.args.assetId, e.args.slot)
        if e.event == "DataAssetAppraised":
            last[key] = (e["blockNumber"], _tx(e))
        else:
            last.pop(key, None)
    assert last == {k: (a.block_number, a.tx_hash) for k, a in appraisals.items()}

    # Pledges as pledgeOf returns them, with the counted value, blocks and receivable of their events.
    assert sorted(pledges) == list(range(1, len(pledges) + 1))
    assert _struct(r.pledgeOf(len(pledges) + 1), block)["state"] == PledgeState.NONE, "a pledge the mirror lacks"
    for pledge_id, p in pledges.items():
        _same(p, _struct(r.pledgeOf(pledge_id), block), PLEDGE_FIELDS, f"pledge {pledge_id}")
    made = {e.args.pledgeId: e for e in _events(registry.events.DataAssetPledged, w, block)}
    assert set(made) == set(pledges)
    for pledge_id, e in made.items():
        p = pledges[pledge_id]
        assert (p.counted_value, p.pledged_block, p.tx_hash) == (e.args.countedValue, e["blockNumber"], _tx(e))
    ended = {e.args.pledgeId: (e["blockNumber"], 0) for e in _events(registry.events.DataAssetReleased, w, block)}
    foreclosed = _events(registry.events.DataAssetForeclosed, w, block)
    ended |= {e.args.pledgeId: (e["blockNumber"], e.args.receivableId) for e in foreclosed}
    assert {i: (p.ended_block, p.receivable_id) for i, p in pledges.items() if p.state != PledgeState.ACTIVE} == ended
    # A foreclosure's voucher, the asset's value then and what it was credited; what is held.
    assert {e.args.pledgeId: (e.args.tokenId, e.args.value, e.args.recovered) for e in foreclosed} == {
        i: (p.token_id, p.foreclosed_value, p.recovered) for i, p in pledges.items() if p.receivable_id}
    for asset_id in assets:
        held = [i for i, p in pledges.items() if p.asset_id == asset_id and p.state == PledgeState.FORECLOSED]
        assert r.heldUnder(asset_id).call(block_identifier=block) == (held[0] if held else 0), asset_id
    for receivable_id in {p.receivable_id for p in pledges.values() if p.receivable_id}:
        assert r.recoveredOf(receivable_id).call(block_identifier=block) == sum(
            p.recovered for p in pledges.values()
            if p.receivable_id == receivable_id and p.state == PledgeState.FORECLOSED), receivable_id
    # An asset's pledge_id is its active pledge; a line's pledged assets are its active pledges'.
    active = {p.asset_id: p for p in pledges.values() if p.state == PledgeState.ACTIVE}
    assert {i: a.pledge_id for i, a in assets.items() if a.pledge_id} == {i: p.pledge_id for i, p in active.items()}
    for c in credit_lines:
        pledged = sorted(r.pledgedTo(c.line_id).call(block_identifier=block))
        assert pledged == sorted(i for i, p in active.items() if p.line_id == c.line_id), c.line_id


def assert_mirror_matches_chain(w, db: str) -> int:
    """Assert every mirrored row equals the contracts' views at the mirror's block; return that block."""
    reader = MirrorReader(db)
    v, lines = w.ledger.voucher.functions, w.ledger.credit_lines.functions
    try:
        with reader.snapshot() as snap:
            s, block = snap.session, snap.block.number
            assert snap.block.hash == "0x" + bytes(w.chain.w3.eth.get_block(block)["hash"]).hex()

            # The event log: every log of ours up to the block, once, in chain order.
            logged = [(e.block_number, e.block_hash, e.log_index)
                      for e in s.exec(select(EventLog).order_by(EventLog.id)).scalars()]
            assert logged == chain_logs(w, block)

            vouchers = s.exec(select(Voucher)).scalars().all()
            for t in vouchers:
                fn = v.voucherOf(t.token_id)
                if t.burned:
                    assert _reverts(fn, block), f"voucher {t.token_id} burned in SQL, alive on chain"
                    continue
                _same(t, _struct(fn, block), VOUCHER_FIELDS, f"voucher {t.token_id}")
            top = max((t.token_id for t in vouchers), default=0)
            assert _reverts(v.voucherOf(top + 1), block), "the chain has a voucher the mirror lacks"

            receivables = s.exec(select(Receivable)).scalars().all()
            for r in receivables:
                _same(r, _struct(v.receivableOf(r.receivable_id), block), RECEIVABLE_FIELDS, f"receivable {r.receivable_id}")
            assert _reverts(v.receivableOf(len(receivables) + 1), block)

            assert_financing_matches_chain(w, s, block, receivables, vouchers)

            credit_lines = s.exec(select(CreditLine)).scalars().all()
            for c in credit_lines:
                _same(c, _struct(lines.lineOf(c.line_id), block), LINE_FIELDS, f"credit line {c.line_id}")
            assert _reverts(lines.lineOf(len(credit_lines) + 1), block)
            assert_data_assets_match_chain(w, s, block, credit_lines)

            for m in s.exec(select(Member)).scalars():
                assert m.roles == v.rolesOf(m.address).call(block_identifier=block), m.address
                assert m.is_member == v.isMember(m.address).call(block_identifier=block)
            assignments = s.exec(select(RoleAssignment)).scalars().all()
            for a in assignments:
                assert v.hasRole(bytes.fromhex(a.role[2:]), a.account).call(block_identifier=block), a
            admin = bytes(32)
            assert any(a.role == "0x" + admin.hex() for a in assignments)
            for role in Role:
                assert v.getRoleAdmin(role.id).call(block_identifier=block) == (
                    Role.OPERATOR.id if role is not Role.OPERATOR else admin)

            paused = s.get(PauseState, w.deployment.voucher)
            assert (paused.paused if paused else False) == v.paused().call(block_identifier=block)

            accounts = [w.operator, w.core, w.tier1, w.tier2, w.tier3, w.bank, w.spare]
            for t in vouchers:
                if t.burned:
                    continue
                got = approved(s, t.token_id)
                assert (got or ZERO) == v.getApproved(t.token_id).call(block_identifier=block), t.token_id
                for a in accounts:
                    assert allowance(s, t.token_id, a.address) == v.allowance(t.token_id, a.address).call(
                        block_identifier=block), (t.token_id, a.address)
            approvals = {(o.holder, o.operator) for o in s.exec(select(OperatorApproval)).scalars()}
            for h in accounts:
                for o in accounts:
                    if h is not o:
                        assert ((h.address, o.address) in approvals) == v.isApprovedForAll(h.address, o.address).call(
                            block_identifier=block)
            return block
    finally:
        reader.close()


def dump(db: str) -> dict[str, list[tuple]]:
    """Every state table, the event log (without its serial ids) and the cursor, sorted."""
    reader = MirrorReader(db)
    try:
        with reader.engine.connect() as conn:
            tables = {name: model.__table__ for name, model in STATE_MODELS.items()}
            tables["event_log"] = EventLog.__table__
            out = {}
            for name, table in tables.items():
                cols = [c for c in table.columns if c.name != "id"]
                out[name] = sorted(tuple(r) for r in conn.execute(select(*cols)))
            out["cursor"] = [tuple(r) for r in conn.execute(select(MirrorCursor.__table__))]
            return out
    finally:
        reader.close()
