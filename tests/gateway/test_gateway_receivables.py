"""Receivables and credit lines through the API: success and refusals, read-your-writes."""

from __future__ import annotations

from gateway_world import DAY, GRACE


def test_issue_then_read_your_write(gw):
    doc = gw.doc()
    issued = gw.issue(accept=False, doc=doc)
    assert issued["block"]["number"] >= issued["mined_in"]
    r = gw.get(gw.auditor, f"/v1/receivables/{issued['receivable_id']}").json()
    assert r["state"] == "PENDING" and r["document_hash"] == doc and r["face_value"] == "100000"
    assert r["tree"][0]["token_id"] == issued["token_id"] and r["block"]["number"] >= issued["mined_in"]
    accepted = gw.post(gw.tier1, f"/v1/receivables/{issued['receivable_id']}/accept").json()
    assert gw.get(gw.tier1, f"/v1/receivables/{issued['receivable_id']}").json()["state"] == "ACTIVE"
    assert accepted["block"]["number"] >= accepted["mined_in"]


def test_a_duplicate_fingerprint_is_409_before_anything_is_sent(gw):
    doc = gw.doc()
    first = gw.issue(doc=doc)
    head = gw.head()
    r = gw.post(gw.core, "/v1/receivables", {"supplier": gw.tier2.address, "line_id": gw.line_id,
                                             "face_value": 5, "maturity": gw.now() + DAY, "document_hash": doc})
    assert r.status_code == 409
    assert r.json()["error"] == "ReceivableDuplicateDocument"
    assert r.json()["document_hash"] == doc and r.json()["receivable_id"] == str(first["receivable_id"])
    assert gw.head() == head


def test_invalid_input_is_422_before_anything_is_signed(gw):
    head = gw.head()
    base = {"supplier": gw.tier1.address, "line_id": gw.line_id, "face_value": "100",
            "maturity": gw.now() + DAY, "document_hash": gw.doc()}
    for bad in ({"face_value": "-1"}, {"face_value": "abc"}, {"supplier": "0x1234"}, {"document_hash": "0x00"},
                {"document_hash": "0x" + "00" * 32}, {"line_id": 0}, {"face_value": str(2**256)}, {"extra": 1}):
        r = gw.post(gw.core, "/v1/receivables", {**base, **bad})
        assert r.status_code == 422, (bad, r.json())
        assert r.json()["error"] == "RequestValidationError"
    assert gw.post(gw.core, "/v1/receivables/1/repayments", {"amount": 0}).status_code == 422
    assert gw.head() == head


def test_a_contract_refusal_carries_its_arguments_as_strings(gw):
    r = gw.post(gw.core, "/v1/receivables", {"supplier": gw.tier1.address, "line_id": gw.line_id,
                                             "face_value": "100", "maturity": 5, "document_hash": gw.doc()})
    assert r.status_code == 422 and r.json()["error"] == "ReceivableInvalidMaturity"
    assert r.json()["maturity"] == "5" and r.json()["timestamp"].isdigit()


def test_reject_and_revoke(gw):
    a = gw.issue(accept=False)
    assert gw.post(gw.tier1, f"/v1/receivables/{a['receivable_id']}/reject").status_code == 200
    assert gw.get(gw.tier1, f"/v1/receivables/{a['receivable_id']}").json()["state"] == "REJECTED"
    b = gw.issue(accept=False)
    assert gw.post(gw.core, f"/v1/receivables/{b['receivable_id']}/revoke").status_code == 200
    assert gw.get(gw.core, f"/v1/receivables/{b['receivable_id']}").json()["state"] == "REVOKED"
    r = gw.post(gw.core, f"/v1/receivables/{b['receivable_id']}/revoke")
    assert r.status_code == 409 and r.json()["error"] == "ReceivableNotPending"
    assert r.json() | {"detail": ""} == {"error": "ReceivableNotPending", "detail": "",
                                         "receivable_id": str(b["receivable_id"]), "state": "4"}


def test_nonexistent_receivable_is_404(gw):
    r = gw.post(gw.tier1, "/v1/receivables/999999/accept")
    assert r.status_code == 404 and r.json() == {**r.json(), "error": "ReceivableNonexistent",
                                                 "receivable_id": "999999"}
    assert gw.get(gw.tier1, "/v1/receivables/999999").status_code == 404


def test_repay_claim_and_overpayment(gw):
    issued = gw.issue()
    rid, token = issued["receivable_id"], issued["token_id"]
    r = gw.post(gw.core, f"/v1/receivables/{rid}/repayments", {"amount": "40000"})
    assert r.status_code == 200, r.json()
    assert gw.get(gw.tier1, f"/v1/receivables/{rid}").json()["repaid"] == "40000"
    claimed = gw.post(gw.tier1, f"/v1/vouchers/{token}/claim")
    assert claimed.status_code == 200 and claimed.json()["amount"] == "40000"
    r = gw.post(gw.tier1, f"/v1/vouchers/{token}/claim")
    assert r.status_code == 409 and r.json()["error"] == "VoucherNothingToClaim"
    r = gw.post(gw.core, f"/v1/receivables/{rid}/repayments", {"amount": "60001"})
    assert r.status_code == 409 and r.json()["error"] == "ReceivableOverpayment"
    assert r.json()["outstanding"] == "60000"


def test_list_receivables_filters(gw):
    issued = gw.issue(accept=False)
    page = gw.get(gw.auditor, "/v1/receivables", obligor=gw.core.address, state="PENDING", limit=500).json()
    assert issued["receivable_id"] in [r["receivable_id"] for r in page["items"]]
    assert all(r["state"] == "PENDING" for r in page["items"]) and page["block"]["number"] > 0


def test_credit_line_grant_and_read(gw):
    r = gw.post(gw.bank2, "/v1/credit-lines", {"obligor": gw.core2.address, "currency": gw.cash, "limit": "500",
                                               "expiry": gw.now() + 30 * DAY})
    assert r.status_code == 201, r.json()
    line = gw.get(gw.core2, f"/v1/credit-lines/{r.json()['line_id']}").json()
    assert line["financier"] == gw.bank2.address and line["limit"] == "500" and line["block"]["number"] >= r.json()["mined_in"]
    assert gw.get(gw.core2, "/v1/credit-lines/424242").status_code == 404
    r = gw.post(gw.bank2, "/v1/credit-lines", {"obligor": gw.core2.address, "currency": gw.cash, "limit": "500",
                                               "expiry": 10})
    assert r.status_code == 422 and r.json()["error"] == "CreditLineInvalidExpiry"


def test_overdue_default_and_recourse(gw):
    issued = gw.issue(maturity_days=10)
    rid, token = issued["receivable_id"], issued["token_id"]
    offer = gw.post(gw.tier1, "/v1/offers", {"token_id": token, "value": "50000", "rate_bps": 1000,
                                             "deadline": gw.now() + 5 * DAY, "financier": gw.bank.address,
                                             "recourse": True})
    assert offer.status_code == 201, offer.json()
    oid = offer.json()["offer_id"]
    deal = gw.post(gw.bank, f"/v1/offers/{oid}/accept")
    assert deal.status_code == 200, deal.json()
    r = gw.post(gw.tier2, f"/v1/receivables/{rid}/mark-overdue")
    assert r.status_code == 409 and r.json()["error"] == "ReceivableNotYetOverdue"
    r = gw.post(gw.bank, f"/v1/offers/{oid}/exercise-recourse")
    assert r.status_code == 409 and r.json()["error"] == "FactoringReceivableNotOverdue"
    gw.advance(10 * DAY + GRACE + 60)
    assert gw.post(gw.tier2, f"/v1/receivables/{rid}/mark-overdue").status_code == 200
    assert gw.get(gw.bank, f"/v1/receivables/{rid}").json()["state"] == "OVERDUE"
    assert gw.post(gw.bank, f"/v1/offers/{oid}/exercise-recourse").status_code == 200
    paid = gw.post(gw.tier1, f"/v1/offers/{oid}/pay-recourse")
    assert paid.status_code == 200, paid.json()
    sold = gw.get(gw.bank, f"/v1/offers/{oid}").json()
    assert sold["recourse_state"] == "PAID"
    assert gw.get(gw.tier1, f"/v1/vouchers/{sold['token_id']}").json()["holder"] == gw.tier1.address
    r = gw.post(gw.bank2, f"/v1/receivables/{rid}/declare-default")
    assert r.status_code == 403 and r.json()["error"] == "NotOwner"
    assert gw.post(gw.bank, f"/v1/receivables/{rid}/declare-default").status_code == 200
    assert gw.get(gw.bank, f"/v1/receivables/{rid}").json()["state"] == "DEFAULTED"
