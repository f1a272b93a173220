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
