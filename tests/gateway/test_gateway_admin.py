"""Membership administration (operator), approvals, credit terms, a voucher's history and the
maturity filter."""

from __future__ import annotations

from gateway_world import DAY, OPERATOR_TOKEN

OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


def test_the_operator_grants_revokes_expels_and_readmits(gw):
    party = gw.register("Tier-3 Parts", ["SUPPLIER_ROLE"])
    r = gw.client.post(f"/v1/parties/{party.address}/roles", json={"role": "FINANCIER_ROLE"}, headers=OPERATOR)
    assert r.status_code == 200, r.json()
    assert gw.get(party, "/v1/parties/me").json()["roles"] == ["FINANCIER_ROLE", "SUPPLIER_ROLE"]
    r = gw.client.delete(f"/v1/parties/{party.address}/roles/FINANCIER_ROLE", headers=OPERATOR)
    assert r.status_code == 200 and r.json()["block"]["number"] >= r.json()["mined_in"]
    assert gw.get(party, "/v1/parties/me").json()["roles"] == ["SUPPLIER_ROLE"]
    r = gw.client.post(f"/v1/parties/{party.address}/roles", json={"role": "OPERATOR_ROLE"}, headers=OPERATOR)
    assert r.status_code == 422 and r.json()["error"] == "InvalidInput"

    issued = gw.issue(supplier=party)
    r = gw.client.post(f"/v1/parties/{party.address}/expel", headers=OPERATOR)
    assert r.status_code == 200, r.json()
    me = gw.get(party, "/v1/parties/me").json()
    assert me["is_member"] is False and not gw.ledger.is_member(party.address)
    r = gw.post(party, f"/v1/vouchers/{issued['token_id']}/split", {"to": gw.tier2.address, "value": "1"})
    assert r.status_code == 403 and r.json()["error"] == "RoleRequired"
    r = gw.client.post(f"/v1/parties/{party.address}/admit", json=[{"role": "SUPPLIER_ROLE"}], headers=OPERATOR)
    assert r.status_code == 200, r.json()
    r = gw.post(party, f"/v1/vouchers/{issued['token_id']}/split", {"to": gw.tier2.address, "value": "1"})
    assert r.status_code == 201, r.json()


def test_pause_stops_every_change_until_unpaused(gw):
    issued = gw.issue()
    r = gw.client.post("/v1/platform/pause", headers=OPERATOR)
    try:
        assert r.status_code == 200, r.json()
        assert gw.get(gw.auditor, "/v1/platform").json()["paused"] is True
        head = gw.head()
        r = gw.post(gw.tier1, f"/v1/vouchers/{issued['token_id']}/split", {"to": gw.tier2.address, "value": "1"})
        assert r.status_code == 409 and "Pause" in r.json()["error"], r.json()
        assert gw.head() == head
        # The pause policy (docs/contracts.md): paying a debt down goes on; a claim waits.
        rid = issued["receivable_id"]
        r = gw.post(gw.core, f"/v1/receivables/{rid}/repayments", {"amount": "100"})
        assert r.status_code == 200, r.json()
        assert gw.get(gw.core, f"/v1/receivables/{rid}").json()["repaid"] == "100"
        head = gw.head()
        r = gw.post(gw.tier1, f"/v1/vouchers/{issued['token_id']}/claim")
        assert r.status_code == 409 and r.json()["error"] == "EnforcedPause", r.json()
        assert gw.head() == head
    finally:
        assert gw.client.post("/v1/platform/unpause", headers=OPERATOR).status_code == 200
    assert gw.get(gw.auditor, "/v1/platform").json()["paused"] is False
    r = gw.post(gw.tier1, f"/v1/vouchers/{issued['token_id']}/split", {"to": gw.tier2.address, "value": "1"})
    assert r.status_code == 201, r.json()


def test_approvals_let_another_party_move_the_voucher(gw):
    issued = gw.issue()
    token = issued["token_id"]
    r = gw.post(gw.tier1, f"/v1/vouchers/{token}/approve-value", {"operator": gw.bank.address, "value": "2500"})
    assert r.status_code == 200, r.json()
    assert gw.ledger.allowance(token, gw.bank.address) == 2500
    r = gw.post(gw.tier1, f"/v1/vouchers/{token}/approve", {"operator": gw.bank2.address})
    assert r.status_code == 200, r.json()
    assert gw.ledger.voucher.functions.getApproved(token).call() == gw.bank2.address
    r = gw.post(gw.tier1, "/v1/parties/me/operators", {"operator": gw.bank.address, "approved": True})
    assert r.status_code == 200, r.json()
    assert gw.ledger.voucher.functions.isApprovedForAll(gw.tier1.address, gw.bank.address).call() is True
    assert gw.post(gw.tier1, "/v1/parties/me/operators", {"operator": gw.bank.address,
                                                          "approved": False}).status_code == 200
    r = gw.post(gw.tier1, f"/v1/vouchers/{token}/approve-value", {"operator": gw.bank.address, "value": "-1"})
    assert r.status_code == 422


def test_credit_terms_and_advance_rate(gw):
    line = gw.post(gw.bank2, "/v1/credit-lines", {"obligor": gw.core2.address, "currency": gw.cash, "limit": "500",
                                                  "expiry": gw.now() + 30 * DAY}).json()["line_id"]
    expiry = gw.now() + 90 * DAY
    r = gw.post(gw.bank2, f"/v1/credit-lines/{line}/terms", {"limit": "900", "expiry": expiry})
    assert r.status_code == 200, r.json()
    read = gw.get(gw.core2, f"/v1/credit-lines/{line}").json()
    assert read["limit"] == "900" and read["expiry"] == expiry
    r = gw.post(gw.bank2, f"/v1/credit-lines/{line}/advance-rate", {"rate_bps": 10_001})
    assert r.status_code == 422
    assert gw.post(gw.bank2, f"/v1/credit-lines/{line}/advance-rate", {"rate_bps": 2500}).status_code == 200
    assert gw.get(gw.core2, f"/v1/credit-lines/{line}").json()["collateral"]["advance_rate_bps"] == 2500
    r = gw.post(gw.bank2, "/v1/credit-lines/424242/terms", {"limit": "1", "expiry": expiry})
    assert r.status_code == 404 and r.json()["error"] == "CreditLineNonexistent"


def test_a_voucher_detail_carries_its_history(gw):
    issued = gw.issue()
    root = issued["token_id"]
    child = gw.post(gw.tier1, f"/v1/vouchers/{root}/split", {"to": gw.tier2.address, "value": "400"}).json()
    gw.post(gw.tier2, f"/v1/vouchers/{child['token_id']}/transfer", {"to": gw.bank.address})
    history = gw.get(gw.auditor, f"/v1/vouchers/{root}").json()["history"]
    names = [e["event"] for e in history]
    assert names[0] == "Transfer" and "ReceivableAccepted" not in names  # that one names the receivable
    assert "TransferValue" in names
    moved = [e for e in history if e["event"] == "TransferValue" and e["args"]["_toTokenId"] == str(child["token_id"])]
    assert moved and moved[0]["args"]["_value"] == "400" and moved[0]["block_number"] == child["mined_in"]
    assert [(e["block_number"], e["log_index"]) for e in history] == sorted(
        (e["block_number"], e["log_index"]) for e in history)
    child_history = gw.get(gw.auditor, f"/v1/vouchers/{child['token_id']}").json()["history"]
    transfers = [e for e in child_history if e["event"] == "Transfer"]
    assert transfers[-1]["args"]["to"] == gw.bank.address


def test_list_vouchers_by_maturity(gw):
    soon = gw.issue(maturity_days=20)
    later = gw.issue(maturity_days=400)
    now = gw.now()
    page = gw.get(gw.auditor, "/v1/vouchers", matures_before=now + 30 * DAY, limit=500).json()
    ids = {v["token_id"] for v in page["items"]}
    assert soon["token_id"] in ids and later["token_id"] not in ids
    page = gw.get(gw.auditor, "/v1/vouchers", matures_after=now + 300 * DAY, limit=500).json()
    ids = {v["token_id"] for v in page["items"]}
    assert later["token_id"] in ids and soon["token_id"] not in ids and page["total"] == len(page["items"])
    r = gw.get(gw.auditor, "/v1/vouchers", matures_after=now + 10, matures_before=now)
    assert r.status_code == 422
