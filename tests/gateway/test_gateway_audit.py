"""The audit and lineage proofs through the gateway, for AUDITORs only."""

from __future__ import annotations

from ledger.audit import verify_proof


def test_an_auditor_audits_the_whole_history_and_it_passes(gw):
    issued = gw.issue(50_000)
    r = gw.post(gw.tier1, f"/v1/vouchers/{issued['token_id']}/split", {"to": gw.tier2.address, "value": "20000"})
    assert r.status_code == 201, r.json()
    report = gw.get(gw.auditor, "/v1/audit", mirror="true")
    assert report.status_code == 200, report.json()
    body = report.json()
    assert body["result"] == "PASS", body["discrepancies"]
    assert body["checks"]["mirror"]["status"] == "PASS"
    assert body["checks"]["gateway_documents"]["status"] in ("PASS", "SKIPPED")
    assert body["counts"]["vouchers"] >= 2 and body["block"]["hash"].startswith("0x")


def test_only_auditors_audit(gw):
    for who in (gw.tier1, gw.core, gw.bank):
        r = gw.get(who, "/v1/audit")
        assert r.status_code == 403 and r.json()["error"] == "RoleRequired"


def test_a_lineage_proof_from_the_gateway_verifies_against_the_node(gw):
    issued = gw.issue(40_000)
    child = gw.post(gw.tier1, f"/v1/vouchers/{issued['token_id']}/split", {"to": gw.tier2.address, "value": "15000"})
    token = child.json()["token_id"]
    r = gw.get(gw.auditor, f"/v1/vouchers/{token}/proof")
    assert r.status_code == 200, r.json()
    proof = r.json()
    assert verify_proof(proof, gw.settings.rpc_url).ok
    assert gw.get(gw.tier2, f"/v1/vouchers/{token}/proof").status_code == 403
    missing = gw.get(gw.auditor, "/v1/vouchers/999999/proof")
    assert missing.status_code == 404 and missing.json()["error"] == "NotFound"


def test_uris_with_nul_or_invalid_utf8_from_another_client_do_not_fail_the_audit(gw):
    """A data-asset URI with NUL was stored on chain, after which GET /v1/audit failed for everyone
    (the mirror kept U+FFFD, the view returned the NUL). The gateway refuses such URIs now, but
    another client may send any bytes: the mirror keeps them exactly (uri_hex) and the audit
    compares them byte for byte."""
    import os

    from eth_abi import encode
    from eth_utils import keccak
    from sqlmodel import select

    from gateway.models import Party as PartyRow
    from ledger.mirror import DataAsset

    other = gw.register("other client", ["SUPPLIER_ROLE"])
    with gw.gateway.session() as s:
        row = s.exec(select(PartyRow).where(PartyRow.address == other.address)).one()
    account = gw.gateway.account_of(row)
    w3 = gw.gateway.chain.w3
    registry = gw.ledger.deployment.data_assets
    selector = keccak(text="register(bytes32,bytes32,string)")[:4]
    raws = [b"ipfs://a\x00b", b"ipfs://\xff\xfe\xc3", "ipfs://\ufffd".encode(), b"ipfs://a\xef\xbf\xbdb"]
    receipts = []
    for raw in raws:
        data = selector + encode(["bytes32", "bytes32", "bytes"], [os.urandom(32), bytes(32), raw])
        tx = {"to": registry, "data": "0x" + data.hex(), "value": 0, "gas": 500_000, "chainId": w3.eth.chain_id,
              "nonce": w3.eth.get_transaction_count(account.address, "pending"),
              "maxFeePerGas": 2 * w3.eth.get_block("latest")["baseFeePerGas"] + 10**9, "maxPriorityFeePerGas": 10**9}
        tx_hash = w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
        assert receipt["status"] == 1
        receipts.append(receipt)
    gw.gateway.wait_for_block(receipts[-1]["blockNumber"])
    with gw.gateway.snapshot() as snap:
        rows = snap.session.exec(select(DataAsset).where(DataAsset.owner == other.address)
                                 .order_by(DataAsset.asset_id)).all()
        stored = [(a.asset_id, a.uri, a.uri_hex) for a in rows]
    assert [h for _, _, h in stored] == ["0x" + raw.hex() for raw in raws]
    # Two different byte strings that read the same are still told apart.
    assert stored[3][1] == stored[0][1] == "ipfs://a\ufffdb" and stored[3][2] != stored[0][2]
    body = gw.get(other, f"/v1/data-assets/{stored[0][0]}").json()
    assert body["uri"] == "ipfs://a\ufffdb" and body["uri_hex"] == "0x" + raws[0].hex(), body
    report = gw.get(gw.auditor, "/v1/audit", mirror="true")
    assert report.status_code == 200, report.json()
    assert report.json()["result"] == "PASS", report.json()["discrepancies"]
