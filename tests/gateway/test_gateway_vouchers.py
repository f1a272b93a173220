"""Vouchers, offers and documents through the API."""

from __future__ import annotations

import hashlib

from gateway_world import DAY


def test_split_transfer_value_merge_transfer_and_lineage(gw):
    issued = gw.issue()
    root = issued["token_id"]
    child = gw.post(gw.tier1, f"/v1/vouchers/{root}/split", {"to": gw.tier2.address, "value": "30000"})
    assert child.status_code == 201, child.json()
    child_id = child.json()["token_id"]
    grandchild = gw.post(gw.tier2, f"/v1/vouchers/{child_id}/split", {"to": gw.tier2.address, "value": 10_000})
    gid = grandchild.json()["token_id"]
    detail = gw.get(gw.auditor, f"/v1/vouchers/{gid}").json()
    assert [v["token_id"] for v in detail["lineage"]] == [root, child_id]
    assert detail["value"] == "10000" and detail["block"]["number"] >= grandchild.json()["mined_in"]
    r = gw.post(gw.tier2, f"/v1/vouchers/{child_id}/transfer-value", {"to_token_id": gid, "value": "5000"})
    assert r.status_code == 200, r.json()
    assert gw.get(gw.tier2, f"/v1/vouchers/{gid}").json()["value"] == "15000"
    r = gw.post(gw.tier2, f"/v1/vouchers/{gid}/merge", {"into_token_id": child_id})
    assert r.status_code == 200, r.json()
    assert gw.get(gw.tier2, f"/v1/vouchers/{gid}").json()["status"] == "BURNED"
    assert gw.get(gw.tier2, f"/v1/vouchers/{child_id}").json()["value"] == "30000"
    r = gw.post(gw.tier2, f"/v1/vouchers/{child_id}/transfer", {"to": gw.bank.address})
    assert r.status_code == 200, r.json()
    assert gw.get(gw.bank, f"/v1/vouchers/{child_id}").json()["holder"] == gw.bank.address
    tree = gw.get(gw.core, f"/v1/receivables/{issued['receivable_id']}").json()
    assert tree["tree"][0]["token_id"] == root and tree["tree"][0]["children"][0]["token_id"] == child_id
    assert tree["outstanding_value"] == "100000"
    positions = gw.get(gw.auditor, f"/v1/parties/{gw.bank.address}/positions").json()
    assert child_id in [v["token_id"] for v in positions["vouchers"]] and positions["block"]["number"] > 0


def test_voucher_refusals(gw):
    issued = gw.issue(face_value=1_000)
    root = issued["token_id"]
    r = gw.post(gw.tier1, f"/v1/vouchers/{root}/split", {"to": gw.tier2.address, "value": "1001"})
    assert r.status_code == 409
    assert r.json() | {"detail": ""} == {"error": "VoucherInsufficientValue", "detail": "", "token_id": str(root),
                                         "balance": "1000", "needed": "1001"}
    r = gw.post(gw.tier2, f"/v1/vouchers/{root}/split", {"to": gw.tier2.address, "value": "1"})
    assert r.status_code == 403 and r.json()["error"] == "NotOwner" and r.json()["holder"] == gw.tier1.address
    r = gw.post(gw.tier1, "/v1/vouchers/888888/split", {"to": gw.tier2.address, "value": "1"})
    assert r.status_code == 404 and r.json()["error"] == "VoucherNonexistent"
    r = gw.post(gw.tier1, f"/v1/vouchers/{root}/merge", {"into_token_id": root})
    assert r.status_code == 422 and r.json()["error"] == "VoucherSameToken"
    pending = gw.issue(accept=False)
    r = gw.post(gw.tier1, f"/v1/vouchers/{pending['token_id']}/split", {"to": gw.tier2.address, "value": "1"})
    assert r.status_code == 409 and r.json()["error"] == "VoucherNotActive"
    r = gw.post(gw.tier1, f"/v1/vouchers/{root}/transfer", {"to": "0x" + "12" * 20})
    assert r.status_code in (403, 422) and r.json()["error"] in ("MembershipNotMember", "VoucherInvalidReceiver")


def test_list_vouchers_filters_and_pages(gw):
    issued = gw.issue()
    for _ in range(3):
        gw.post(gw.tier1, f"/v1/vouchers/{issued['token_id']}/split", {"to": gw.tier2.address, "value": "10"})
    rid = issued["receivable_id"]
    page1 = gw.get(gw.auditor, "/v1/vouchers", receivable_id=rid, limit=2).json()
    page2 = gw.get(gw.auditor, "/v1/vouchers", receivable_id=rid, limit=2, offset=2).json()
    assert page1["total"] == 4 and len(page1["items"]) == 2 and len(page2["items"]) == 2
    assert {v["token_id"] for v in page1["items"]} & {v["token_id"] for v in page2["items"]} == set()
    mine = gw.get(gw.auditor, "/v1/vouchers", receivable_id=rid, holder=gw.tier2.address, status="active").json()
    assert mine["total"] == 3 and all(v["holder"] == gw.tier2.address for v in mine["items"])
    assert mine["block"]["hash"].startswith("0x")
    assert gw.get(gw.auditor, "/v1/vouchers", status="nope").status_code == 422


def test_offer_create_cancel_accept(gw):
    issued = gw.issue()
    token = issued["token_id"]
    deadline = gw.now() + 5 * DAY
    made = gw.post(gw.tier1, "/v1/offers", {"token_id": token, "value": "20000", "rate_bps": 800,
                                            "deadline": deadline})
    assert made.status_code == 201, made.json()
    oid = made.json()["offer_id"]
    assert gw.get(gw.bank, f"/v1/offers/{oid}").json()["state"] == "OPEN"
    r = gw.post(gw.tier2, f"/v1/offers/{oid}/cancel")
    assert r.status_code == 403
    assert gw.post(gw.tier1, f"/v1/offers/{oid}/cancel").status_code == 200
    r = gw.post(gw.bank, f"/v1/offers/{oid}/accept")
    assert r.status_code == 409 and r.json()["error"] == "FactoringOfferNotOpen"
    made = gw.post(gw.tier1, "/v1/offers", {"token_id": token, "value": "20000", "rate_bps": 800,
                                            "deadline": deadline, "financier": gw.bank2.address})
    oid = made.json()["offer_id"]
    r = gw.post(gw.bank, f"/v1/offers/{oid}/accept")
    assert r.status_code == 403
    deal = gw.post(gw.bank2, f"/v1/offers/{oid}/accept")
    assert deal.status_code == 200, deal.json()
    assert 0 < int(deal.json()["price"]) < 20_000
    sold = gw.get(gw.bank2, f"/v1/offers/{oid}").json()
    assert sold["state"] == "ACCEPTED" and sold["price"] == deal.json()["price"]
    assert gw.get(gw.bank2, f"/v1/vouchers/{sold['token_id']}").json()["holder"] == gw.bank2.address
    assert gw.get(gw.bank, "/v1/offers/777777").status_code == 404
    r = gw.post(gw.tier1, "/v1/offers", {"token_id": token, "value": "1", "rate_bps": 800, "deadline": 5})
    assert r.status_code == 422 and r.json()["error"] == "FactoringInvalidDeadline"


def test_documents_are_encrypted_fingerprinted_and_read_only_by_their_parties(gw):
    content = b"%PDF-1.4 invoice 42 delivery note 7 " + gw.doc().encode()
    up = gw.client.post("/v1/documents", files={"file": ("invoice.pdf", content, "application/pdf")},
                        headers=gw.core.auth)
    assert up.status_code == 201, up.json()
    digest = up.json()["document_hash"]
    assert digest == "0x" + hashlib.sha256(content).hexdigest()
    issued = gw.issue(doc=digest)
    assert gw.client.get(f"/v1/documents/{digest}", headers=gw.tier1.auth).content == content
    assert gw.client.get(f"/v1/documents/{digest}", headers=gw.auditor.auth).content == content
    r = gw.client.get(f"/v1/documents/{digest}", headers=gw.tier2.auth)
    assert r.status_code == 403
    gw.post(gw.tier1, f"/v1/vouchers/{issued['token_id']}/split", {"to": gw.tier2.address, "value": "5"})
    assert gw.client.get(f"/v1/documents/{digest}", headers=gw.tier2.auth).content == content
    again = gw.post(gw.core, "/v1/receivables", {"supplier": gw.tier1.address, "line_id": gw.line_id,
                                                 "face_value": "5", "maturity": gw.now() + DAY,
                                                 "document_hash": digest})
    assert again.status_code == 409
    assert gw.client.get(f"/v1/documents/0x{'ab' * 32}", headers=gw.auditor.auth).status_code == 404


def _multipart(filename: bytes, media_type: bytes, content: bytes) -> dict:
    """A one-file multipart body as sent (httpx would percent-encode the name)."""
    body = (b'--XYZ\r\nContent-Disposition: form-data; name="file"; filename="' + filename + b'"\r\n'
            b"Content-Type: " + media_type + b"\r\n\r\n" + content + b"\r\n--XYZ--\r\n")
    return {"content": body, "headers": {"Content-Type": "multipart/form-data; boundary=XYZ"}}


def test_a_squatted_fingerprint_neither_blocks_the_obligor_nor_opens_its_documents(gw):
    # Regression (issue 13, item 8): another core enterprise, having seen the fingerprint, issues
    # a receivable on it first (left pending by a colluding supplier).
    content = b"%PDF-1.4 invoice 77 " + gw.doc().encode()
    digest = gw.client.post("/v1/documents", files={"file": ("invoice.pdf", content, "application/pdf")},
                            headers=gw.core.auth).json()["document_hash"]
    line = gw.post(gw.bank2, "/v1/credit-lines", {"obligor": gw.core2.address, "currency": gw.cash,
                                                   "limit": "1000", "expiry": gw.now() + 30 * DAY})
    assert line.status_code == 201, line.json()
    squat = gw.post(gw.core2, "/v1/receivables", {"supplier": gw.tier2.address, "line_id": line.json()["line_id"],
                                                  "face_value": "1", "maturity": gw.now() + DAY,
                                                  "document_hash": digest})
    assert squat.status_code == 201, squat.json()
    issued = gw.issue(doc=digest)
    assert issued["receivable_id"] != squat.json()["receivable_id"]
    assert gw.client.get(f"/v1/documents/{digest}", headers=gw.tier1.auth).content == content
    for squatter in (gw.core2, gw.tier2):
        assert gw.client.get(f"/v1/documents/{digest}", headers=squatter.auth).status_code == 403
    again = gw.client.post("/v1/documents", files={"file": ("invoice.pdf", content, "application/pdf")},
                           headers=gw.core.auth)
    assert again.json()["receivable_id"] == issued["receivable_id"]


def test_an_upload_whose_name_or_media_type_has_control_characters_is_refused(gw):
    """A file name or media type with NUL or a line break (which PostgreSQL cannot store, and a
    header cannot carry) is refused (422), as every other stored text is (issue 14): it was
    stored with them silently removed. Nothing is stored."""
    import hashlib

    content = b"invoice with an odd name " + gw.doc().encode()
    for name, media_type, field in ((b"inv\x00oice\x07.pdf", b"application/pdf", "file name"),
                                    (b"invoice.pdf", b"application/p\x00df", "media type")):
        upload = _multipart(name, media_type, content)
        r = gw.client.post("/v1/documents", content=upload["content"], headers={**gw.core.auth, **upload["headers"]})
        assert r.status_code == 422 and r.json()["error"] == "InvalidInput" and r.json()["field"] == field, r.json()
    digest = "0x" + hashlib.sha256(content).hexdigest()
    assert gw.client.get(f"/v1/documents/{digest}", headers=gw.auditor.auth).status_code == 404
    asset_id = gw.data_asset(appraise=False, list_=False)
    upload = _multipart(b"\x00\x01", b"text/plain", b"report " + gw.doc().encode())
    r = gw.client.post(f"/v1/data-assets/{asset_id}/appraisal-reports", content=upload["content"],
                       headers={**gw.appraiser.auth, **upload["headers"]})
    assert r.status_code == 422 and r.json()["field"] == "file name", r.json()
