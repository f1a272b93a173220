"""Careless and hostile input (issue 14): amounts, ids, addresses, texts, file names, duplicate
keys, and the small inconsistencies of item 8. Every refusal happens before anything is signed:
the tests check that no block was mined and no balance moved."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from gateway_world import OPERATOR_TOKEN

OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


def _voucher_state(gw, token_id: int) -> tuple[int, int]:
    return gw.head(), gw.ledger.voucher_of(token_id).value


# -- item 5: amounts -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [True, False, 1.0, 1000.0, " 7", "7 ", "1_000", "-1", -1, "+7", "0x10", "1e3",
                                   "07", "", None, [1], {"v": 1}, 0, "0", 2**96, str(2**96), 2**256, "１２"])
def test_an_amount_is_a_json_integer_or_a_decimal_string_and_nothing_else(gw, value):
    """`"value": true` split 1 unit; 1.0, " 7", "1_000" were accepted; all are 422 now, before signing."""
    issued = gw.issue(50_000)
    before = _voucher_state(gw, issued["token_id"])
    r = gw.client.post(f"/v1/vouchers/{issued['token_id']}/split",
                       content=json.dumps({"to": gw.tier2.address, "value": value}),
                       headers={**gw.tier1.auth, "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"] == "RequestValidationError", (value, r.json())
    assert r.json()["errors"][0]["loc"] == ["body", "value"], r.json()
    assert _voucher_state(gw, issued["token_id"]) == before


def test_an_amount_as_integer_or_string_splits_exactly_that(gw):
    issued = gw.issue(50_000)
    for value in (7, "8", "10000"):
        r = gw.post(gw.tier1, f"/v1/vouchers/{issued['token_id']}/split", {"to": gw.tier2.address, "value": value})
        assert r.status_code == 201 and r.json()["value"] == str(value), r.json()
        assert gw.ledger.voucher_of(r.json()["token_id"]).value == int(value)


def test_a_face_value_beyond_uint96_is_refused_before_signing(gw):
    head = gw.head()
    r = gw.post(gw.core, "/v1/receivables", {"supplier": gw.tier1.address, "line_id": gw.line_id,
                                            "face_value": str(2**96), "maturity": gw.now() + 86_400,
                                            "document_hash": gw.doc()})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "face_value"], r.json()
    assert gw.head() == head


def test_a_body_with_a_key_twice_is_refused(gw):
    """`{"value":"1","value":"2"}` split 2 before."""
    issued = gw.issue(50_000)
    before = _voucher_state(gw, issued["token_id"])
    body = '{"to":"%s","value":"1","value":"2"}' % gw.tier2.address
    r = gw.client.post(f"/v1/vouchers/{issued['token_id']}/split", content=body,
                       headers={**gw.tier1.auth, "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json() == {
        "error": "DuplicateKey", "detail": "the key 'value' appears twice in one JSON object", "key": "value"}
    assert _voucher_state(gw, issued["token_id"]) == before
    # Nested objects too (the admit body is a list of objects).
    r = gw.client.post(f"/v1/parties/{gw.tier2.address}/admit", content='[{"role":"SUPPLIER_ROLE","role":"X"}]',
                       headers={**OPERATOR, "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"] == "DuplicateKey", r.json()


# -- item 8: ids, addresses, small inconsistencies -------------------------------------------------


@pytest.mark.parametrize("raw", ["1.0", "%201", "1%20", "01", "+1", "1e0", "0x1", "１", "1_0", "-1", "0"])
def test_an_id_in_a_path_is_canonical_decimal_only(gw, raw):
    """`/v1/vouchers/1.0` and `/v1/vouchers/%201` answered voucher 1."""
    gw.issue(10_000)
    r = gw.client.get(f"/v1/vouchers/{raw}", headers=gw.auditor.auth)
    assert r.status_code == 422 and r.json()["error"] == "RequestValidationError", (raw, r.json())
    assert gw.client.get("/v1/vouchers/1", headers=gw.auditor.auth).status_code == 200
    r = gw.client.get("/v1/vouchers", params={"receivable_id": urllib.parse.unquote(raw)}, headers=gw.auditor.auth)
    assert r.status_code == 422, (raw, r.json())


def test_an_offer_to_the_zero_address_is_refused_not_made_open(gw):
    issued = gw.issue(50_000)
    head = gw.head()
    r = gw.post(gw.tier1, "/v1/offers", {"token_id": issued["token_id"], "value": "1000", "rate_bps": 500,
                                        "deadline": gw.now() + 86_400, "financier": "0x" + "0" * 40})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "financier"], r.json()
    assert "zero address" in r.json()["errors"][0]["msg"]
    assert gw.head() == head


def test_a_mixed_case_address_with_a_wrong_checksum_is_refused(gw):
    issued = gw.issue(50_000)
    good = gw.tier2.address
    flipped = good[:2] + "".join(c.swapcase() if c.isalpha() else c for c in good[2:])
    assert flipped.lower() == good.lower() and flipped != good and flipped[2:] not in (good[2:].lower(), good[2:].upper())
    head = gw.head()
    r = gw.post(gw.tier1, f"/v1/vouchers/{issued['token_id']}/split", {"to": flipped, "value": "1"})
    assert r.status_code == 422 and "checksum" in r.json()["errors"][0]["msg"], r.json()
    r = gw.get(gw.tier2, f"/v1/parties/{flipped}/positions")
    assert r.status_code == 422, r.json()
    assert gw.head() == head
    # All lower and all upper case carry no checksum and are fine; answered checksummed.
    for form in (good.lower(), "0x" + good[2:].upper()):
        r = gw.post(gw.tier1, f"/v1/vouchers/{issued['token_id']}/split", {"to": form, "value": "1"})
        assert r.status_code == 201, r.json()
        assert gw.ledger.voucher_of(r.json()["token_id"]).holder == good


def test_a_split_to_oneself_divides_the_voucher_and_conserves_its_value(gw):
    """Decided: allowed. It is how a holder cuts a voucher into pieces it keeps (to sell or pass
    one on later); nothing is created (ERC-3525 allows transfers to oneself too)."""
    issued = gw.issue(50_000)
    r = gw.post(gw.tier1, f"/v1/vouchers/{issued['token_id']}/split", {"to": gw.tier1.address, "value": "20000"})
    assert r.status_code == 201, r.json()
    assert gw.ledger.voucher_of(issued["token_id"]).value == 30_000
    piece = gw.ledger.voucher_of(r.json()["token_id"])
    assert piece.value == 20_000 and piece.holder == gw.tier1.address


def test_options_and_405_list_every_method_of_the_path(gw):
    r = gw.client.options("/v1/receivables", headers=gw.core.auth)
    assert r.status_code == 204, r.text
    assert set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "POST", "OPTIONS"}
    r = gw.client.put("/v1/receivables", headers=gw.core.auth, json={})
    assert r.status_code == 405 and r.json()["error"] == "MethodNotAllowed", r.text
    assert set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "POST", "OPTIONS"}
    r = gw.client.delete("/v1/vouchers/1", headers=gw.core.auth)
    assert r.status_code == 405 and set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


def test_a_body_too_large_is_in_the_error_shape(gw):
    from gateway.validation import MAX_JSON_BODY

    r = gw.client.post("/v1/receivables", content=b" " * (MAX_JSON_BODY + 1),
                       headers={**gw.core.auth, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "BodyTooLarge", r.text[:200]
    assert r.json()["limit"] == str(MAX_JSON_BODY)


def test_the_operator_bootstrap_credential_reads_the_platform_state(gw):
    r = gw.client.get("/v1/platform", headers=OPERATOR)
    assert r.status_code == 200 and r.json()["paused"] is False, r.json()
    assert gw.client.get("/v1/platform").status_code == 401


def test_a_settled_receivable_owes_nothing(gw):
    issued = gw.issue(60_000)
    rid = issued["receivable_id"]
    assert gw.get(gw.core, f"/v1/receivables/{rid}").json()["outstanding_value"] == "60000"
    r = gw.post(gw.core, f"/v1/receivables/{rid}/repayments", {"amount": "25000"})
    assert r.status_code == 200, r.json()
    assert gw.get(gw.core, f"/v1/receivables/{rid}").json()["outstanding_value"] == "35000"
    r = gw.post(gw.core, f"/v1/receivables/{rid}/repayments", {"amount": "35000"})
    assert r.status_code == 200, r.json()
    body = gw.get(gw.core, f"/v1/receivables/{rid}").json()
    assert body["state"] == "SETTLED" and body["outstanding_value"] == "0", body


def test_an_idempotency_key_hashes_the_body_in_canonical_form(gw):
    issued = gw.issue(50_000)
    path = f"/v1/vouchers/{issued['token_id']}/split"
    headers = {**gw.tier1.auth, "Content-Type": "application/json", "Idempotency-Key": "canon-1"}
    first = gw.client.post(path, content='{"to":"%s","value":"5"}' % gw.tier2.address, headers=headers)
    assert first.status_code == 201, first.json()
    head = gw.head()
    again = gw.client.post(path, content='{ "value": "5",\n "to": "%s" }' % gw.tier2.address, headers=headers)
    assert again.status_code == 201 and again.json() == first.json(), again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = gw.client.post(path, content='{"to":"%s","value":"6"}' % gw.tier2.address, headers=headers)
    assert other.status_code == 422 and other.json()["error"] == "IdempotencyKeyReused", other.json()
    assert gw.head() == head


# -- item 6: texts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("uri", ["ipfs://a\u0000b", "ipfs://a\nb", "ipfs://a\u0085b", "ipfs://a\u2028b",
                                 "ipfs://a\ud800b", "\u007f"])
def test_a_data_asset_uri_with_control_characters_is_refused_before_signing(gw, uri):
    head = gw.head()
    r = gw.client.post("/v1/data-assets", headers={**gw.core.auth, "Content-Type": "application/json"},
                       content=json.dumps({"content_hash": gw.doc(), "uri": uri}))
    assert r.status_code in (400, 422), r.json()
    if r.status_code == 422:
        assert r.json()["errors"][0]["loc"] == ["body", "uri"], r.json()
    else:  # a lone surrogate is refused by the body guard already
        assert r.json()["error"] == "BadRequest", r.json()
    assert gw.head() == head


def test_a_party_name_with_a_line_separator_is_refused(gw):
    head = gw.head()
    r = gw.client.post("/v1/parties", json={"name": "Tier\u2028Nine", "roles": ["SUPPLIER_ROLE"]}, headers=OPERATOR)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "name"], r.json()
    assert gw.head() == head


def _multipart(filename: bytes, media_type: bytes, content: bytes) -> tuple[bytes, str]:
    """A multipart body written by hand: httpx would percent-escape control characters in the name."""
    body = (b"--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename + b"\"\r\n"
            b"Content-Type: " + media_type + b"\r\n\r\n" + content + b"\r\n--b0undary--\r\n")
    return body, "multipart/form-data; boundary=b0undary"


@pytest.mark.parametrize("filename", [b"a\x00b.pdf", b"a\x1bX.pdf", b"a\tb.pdf", "a\u2028b.pdf".encode(),
                                      "a\u0085b.pdf".encode()])
def test_an_upload_whose_file_name_has_control_characters_is_refused(gw, filename):
    body, content_type = _multipart(filename, b"application/pdf", b"%PDF-1.4 " + gw.doc().encode())
    r = gw.client.post("/v1/documents", content=body, headers={**gw.core.auth, "Content-Type": content_type})
    assert r.status_code == 422 and r.json()["error"] == "InvalidInput" and r.json()["field"] == "file name", r.json()


def test_an_upload_with_a_media_type_that_is_not_one_is_refused(gw):
    body, content_type = _multipart(b"a.pdf", b"not a media type", b"%PDF-1.4 " + gw.doc().encode())
    r = gw.client.post("/v1/documents", content=body, headers={**gw.core.auth, "Content-Type": content_type})
    assert r.status_code == 422 and r.json()["field"] == "media type", r.json()


# -- item 4: file names in downloads -----------------------------------------------------------------


@pytest.mark.parametrize("filename, fallback", [("发票-№5.pdf", "__-_5.pdf"), ("отчёт.txt", "_____.txt"),
                                                ("back\\slash;x=1.pdf", "back_slash;x=1.pdf"),
                                                ("plain.pdf", "plain.pdf")])
def test_a_document_with_any_file_name_downloads_with_rfc_6266_disposition(gw, filename, fallback):
    """A name outside Latin-1 was a plain-text 500 (UnicodeEncodeError) and never downloadable."""
    content = f"document named {filename} ".encode() + gw.doc().encode()
    r = gw.client.post("/v1/documents", files={"file": (filename, content, "application/pdf")}, headers=gw.core.auth)
    assert r.status_code == 201, r.json()
    r = gw.client.get(f"/v1/documents/{r.json()['document_hash']}", headers=gw.core.auth)
    assert r.status_code == 200, r.text
    assert r.content == content
    quoted = urllib.parse.quote(filename, safe="")
    assert r.headers["content-disposition"] == f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quoted}"
    assert urllib.parse.unquote(r.headers["content-disposition"].split("UTF-8''")[1]) == filename


def test_an_appraisal_report_with_a_cyrillic_name_downloads(gw):
    asset_id = gw.data_asset(appraise=False, list_=False)
    content = b"report " + gw.doc().encode()
    r = gw.client.post(f"/v1/data-assets/{asset_id}/appraisal-reports",
                       files={"file": ("отчёт.txt", content, "text/plain")}, headers=gw.appraiser.auth)
    assert r.status_code == 201, r.json()
    r = gw.client.get(f"/v1/data-assets/{asset_id}/appraisal-reports/{r.json()['report_hash']}", headers=gw.core.auth)
    assert r.status_code == 200, r.text
    assert r.content == content
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"_____.txt\"; filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.txt")


def test_an_unexpected_failure_is_a_500_in_the_error_shape(gw, monkeypatch):
    from fastapi.testclient import TestClient

    def boom(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(gw.gateway, "snapshot", boom)
    client = TestClient(gw.client.app, raise_server_exceptions=False)
    r = client.get("/v1/vouchers/1", headers=gw.auditor.auth)
    assert r.status_code == 500 and r.json() == {"error": "InternalError", "detail": "the request failed unexpectedly"}


# -- item 7: an address of its own ------------------------------------------------------------------


def test_registering_the_zero_address_a_contract_or_the_operator_is_refused(gw):
    head = gw.head()
    cases = {
        "0x" + "0" * 40: ("RequestValidationError", "zero address"),
        gw.gateway.deployment.voucher: ("InvalidInput", "contract"),
        gw.cash: ("InvalidInput", "contract"),
        gw.gateway.operator.address: ("InvalidInput", "operator's own address"),
        gw.gateway.operator.address.lower(): ("InvalidInput", "operator's own address"),
    }
    for address, (error, words) in cases.items():
        r = gw.client.post("/v1/parties", json={"name": "own", "roles": ["SUPPLIER_ROLE"], "address": address},
                           headers=OPERATOR)
        assert r.status_code == 422 and r.json()["error"] == error, (address, r.json())
        assert words in json.dumps(r.json()), (address, r.json())
    assert gw.head() == head


# -- item 9: registration across an outage -------------------------------------------------------------


def test_a_registration_cut_off_after_the_admission_finishes_on_retry_with_its_key(gw, monkeypatch):
    """The member existed on chain and its key was lost: a retry registered another account. Now
    the key is journaled (sealed) before the admission is sent, and a retry with the same
    Idempotency-Key finishes with it, sending nothing again."""
    import requests

    admitted: list[str] = []
    real_admit = gw.ledger.admit

    def admit_then_outage(operator, account, roles=()):
        receipt = real_admit(operator, account, roles)
        admitted.append(account)
        raise requests.ConnectionError("the node went away after the admission was mined")

    monkeypatch.setattr(gw.ledger, "admit", admit_then_outage)
    headers = {**OPERATOR, "Idempotency-Key": "register-outage-1"}
    body = {"name": "Outage Supplier", "roles": ["SUPPLIER_ROLE"]}
    r = gw.client.post("/v1/parties", json=body, headers=headers)
    assert r.status_code == 503 and r.json()["error"] == "ChainUnavailable", r.json()
    assert len(admitted) == 1 and gw.ledger.is_member(admitted[0])
    monkeypatch.setattr(gw.ledger, "admit", real_admit)
    head = gw.head()

    r = gw.client.post("/v1/parties", json=body, headers=headers)
    assert r.status_code == 201, r.json()
    party = r.json()
    assert party["address"] == admitted[0] and party["managed_key"] is True
    assert gw.head() == head, "the retry sent a transaction again"
    me = gw.client.get("/v1/parties/me", headers={"Authorization": f"Bearer {party['api_key']}"}).json()
    assert me["address"] == admitted[0] and me["roles"] == ["SUPPLIER_ROLE"], me
    # The party's key is the one admitted: it signs (a split after issuing to it).
    issued = gw.issue(10_000, supplier=type(gw.tier1)("Outage Supplier", party["address"], party["api_key"],
                                                      ["SUPPLIER_ROLE"]))
    r = gw.client.post(f"/v1/vouchers/{issued['token_id']}/split", json={"to": gw.tier2.address, "value": "1"},
                       headers={"Authorization": f"Bearer {party['api_key']}"})
    assert r.status_code == 201, r.json()
    # A replay after it finished returns the same answer, API key included (it is stored sealed).
    again = gw.client.post("/v1/parties", json=body, headers=headers)
    assert again.status_code == 201 and again.json() == party and again.headers["Idempotent-Replayed"] == "true"


def test_a_refused_registration_of_an_own_address_leaves_it_free(gw, monkeypatch):
    from eth_account import Account

    from gateway.errors import Conflict

    address = Account.create().address
    real_admit = gw.ledger.admit

    def refuse(operator, account, roles=()):
        raise Conflict("refused for the test")

    monkeypatch.setattr(gw.ledger, "admit", refuse)
    body = {"name": "Own Key Ltd", "roles": ["SUPPLIER_ROLE"], "address": address}
    r = gw.client.post("/v1/parties", json=body, headers=OPERATOR)
    assert r.status_code == 409 and r.json()["error"] == "Conflict", r.json()
    monkeypatch.setattr(gw.ledger, "admit", real_admit)
    r = gw.client.post("/v1/parties", json=body, headers=OPERATOR)
    assert r.status_code == 201 and r.json()["address"] == address and r.json()["managed_key"] is False, r.json()
