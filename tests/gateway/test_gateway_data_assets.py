"""Data assets through the API: register, appraise (with the report stored encrypted), list, pledge,
release, foreclose; reads from the registry's views."""

from __future__ import annotations

import hashlib

from gateway_world import DAY


def test_register_appraise_list_pledge_release(gw):
    content = gw.doc()
    r = gw.post(gw.core, "/v1/data-assets", {"content_hash": content, "metadata_hash": gw.doc(), "uri": "ipfs://x"})
    assert r.status_code == 201, r.json()
    asset_id = r.json()["asset_id"]
    assert r.json()["block"]["number"] >= r.json()["mined_in"]
    head = gw.head()
    again = gw.post(gw.core2, "/v1/data-assets", {"content_hash": content})
    assert again.status_code == 409 and again.json()["error"] == "DataAssetDuplicateContent"
    assert again.json()["asset_id"] == str(asset_id) and gw.head() == head

    report = b"Appraisal report: dataset valued at 2,000,000.00 " + gw.doc().encode()
    up = gw.client.post(f"/v1/data-assets/{asset_id}/appraisal-reports",
                        files={"file": ("report.pdf", report, "application/pdf")}, headers=gw.appraiser.auth)
    assert up.status_code == 201, up.json()
    report_hash = up.json()["report_hash"]
    assert report_hash == "0x" + hashlib.sha256(report).hexdigest()
    r = gw.post(gw.appraiser, f"/v1/data-assets/{asset_id}/appraisals",
                {"report_hash": report_hash, "value": "2000000", "valid_until": gw.now() + 200 * DAY})
    assert r.status_code == 201, r.json()
    r = gw.post(gw.core, f"/v1/data-assets/{asset_id}/pledge", {"line_id": gw.line_id})
    assert r.status_code == 409 and r.json()["error"] == "DataAssetNotListed"
    r = gw.post(gw.exchange, f"/v1/data-assets/{asset_id}/listing", {"listing_id": gw.doc()})
    assert r.status_code == 200, r.json()

    line = gw.post(gw.bank, "/v1/credit-lines", {"obligor": gw.core.address, "currency": gw.cash, "limit": "1000",
                                                 "expiry": gw.now() + 300 * DAY}).json()["line_id"]
    assert gw.post(gw.bank, f"/v1/credit-lines/{line}/advance-rate", {"rate_bps": 5000}).status_code == 200
    r = gw.post(gw.core, f"/v1/data-assets/{asset_id}/pledge", {"line_id": line})
    assert r.status_code == 201, r.json()
    pledge_id = r.json()["pledge_id"]
    read = gw.get(gw.auditor, f"/v1/data-assets/{asset_id}").json()
    assert read["source"] == "mirror" and read["block"]["number"] >= r.json()["mined_in"]
    assert read["owner"] == gw.core.address and read["listed"] and read["counted_value"] == "2000000"
    assert read["appraisals"][0]["report_hash"] == report_hash and read["appraisals"][0]["appraiser"] == gw.appraiser.address
    assert read["pledge"] == {**read["pledge"], "pledge_id": pledge_id, "line_id": line, "state": "ACTIVE",
                              "financier": gw.bank.address}
    credit = gw.get(gw.core, f"/v1/credit-lines/{line}").json()
    assert credit["collateral"]["value"] == "2000000" and credit["collateral"]["advance_rate_bps"] == 5000
    assert gw.ledger.effective_limit(line) == 1000 + 1_000_000
    assert credit["effective_limit"] == str(1000 + 1_000_000) and credit["available"] == str(1000 + 1_000_000)

    r = gw.post(gw.core, f"/v1/data-assets/{asset_id}/pledge", {"line_id": line})
    assert r.status_code == 409 and r.json()["error"] == "DataAssetAlreadyPledged"
    r = gw.post(gw.bank2, f"/v1/data-assets/{asset_id}/release")
    assert r.status_code == 403 and r.json()["error"] == "NotOwner" and r.json()["pledgee"] == gw.bank.address
    assert gw.post(gw.bank, f"/v1/data-assets/{asset_id}/release").status_code == 200
    assert gw.get(gw.core, f"/v1/data-assets/{asset_id}").json()["pledge"] is None
    r = gw.post(gw.bank, f"/v1/data-assets/{asset_id}/release")
    assert r.status_code == 409 and r.json()["error"] == "DataAssetNotPledged"


def test_appraisal_reports_are_read_only_by_owner_pledgee_and_auditors(gw):
    asset_id = gw.data_asset()
    report = b"report " + gw.doc().encode()
    r = gw.client.post(f"/v1/data-assets/{asset_id}/appraisal-reports", files={"file": ("r.txt", report)},
                       headers=gw.core.auth)
    assert r.status_code == 403 and r.json()["error"] == "RoleRequired"
    digest = gw.client.post(f"/v1/data-assets/{asset_id}/appraisal-reports", files={"file": ("r.txt", report)},
                            headers=gw.appraiser.auth).json()["report_hash"]
    path = f"/v1/data-assets/{asset_id}/appraisal-reports/{digest}"
    for reader in (gw.core, gw.auditor):
        got = gw.client.get(path, headers=reader.auth)
        assert got.status_code == 200 and got.content == report
        assert got.headers["X-Report-Hash"] == digest and got.headers["X-Attested"] == "false"
    for other in (gw.bank, gw.tier1, gw.appraiser, gw.exchange):
        r = gw.client.get(path, headers=other.auth)
        assert r.status_code == 403 and r.json()["error"] == "NotOwner", other.name
    assert gw.post(gw.core, f"/v1/data-assets/{asset_id}/pledge", {"line_id": gw.line_id}).status_code == 201
    assert gw.client.get(path, headers=gw.bank.auth).content == report
    r = gw.post(gw.appraiser, f"/v1/data-assets/{asset_id}/appraisals",
                {"report_hash": digest, "value": "500", "valid_until": gw.now() + 100 * DAY})
    assert r.status_code == 201, r.json()
    assert gw.client.get(path, headers=gw.auditor.auth).headers["X-Attested"] == "true"
    # Bound to its asset: the same fingerprint under another asset is not there.
    other = gw.data_asset(appraise=False, list_=False)
    assert gw.client.get(f"/v1/data-assets/{other}/appraisal-reports/{digest}",
                         headers=gw.auditor.auth).status_code == 404
    assert gw.post(gw.bank, f"/v1/data-assets/{asset_id}/release").status_code == 200
    assert gw.client.get(path, headers=gw.bank.auth).status_code == 403


def test_a_tampered_report_is_refused_on_download(gw):
    from sqlmodel import select

    from gateway.models import AppraisalReport
    asset_id = gw.data_asset()
    digest = gw.client.post(f"/v1/data-assets/{asset_id}/appraisal-reports", files={"file": ("r", b"original")},
                            headers=gw.appraiser.auth).json()["report_hash"]
    with gw.gateway.session() as s:
        row = s.exec(select(AppraisalReport).where(AppraisalReport.report_hash == digest)).one()
        # Sealed under the same key but with other content: decrypts, fingerprint differs.
        row.sealed = gw.gateway.reports.seal(b"forged", f"{asset_id}:{digest}".encode())
        s.add(row)
        s.commit()
    r = gw.client.get(f"/v1/data-assets/{asset_id}/appraisal-reports/{digest}", headers=gw.auditor.auth)
    assert r.status_code == 502 and r.json()["error"] == "ReportCorrupted"


def test_data_asset_refusals(gw):
    assert gw.get(gw.auditor, "/v1/data-assets/987654").status_code == 404
    r = gw.post(gw.appraiser, "/v1/data-assets/987654/appraisals",
                {"report_hash": gw.doc(), "value": "1", "valid_until": gw.now() + DAY})
    assert r.status_code == 404 and r.json()["error"] == "DataAssetNonexistent"
    mine = gw.post(gw.appraiser, "/v1/data-assets", {"content_hash": gw.doc()}).json()["asset_id"]
    r = gw.post(gw.appraiser, f"/v1/data-assets/{mine}/appraisals",
                {"report_hash": gw.doc(), "value": "1", "valid_until": gw.now() + DAY})
    assert r.status_code == 403 and r.json()["error"] == "DataAssetSelfAppraisal"
    theirs = gw.data_asset(appraise=False, list_=False)
    r = gw.post(gw.appraiser, f"/v1/data-assets/{theirs}/appraisals",
                {"report_hash": gw.doc(), "value": "1", "valid_until": 5})
    assert r.status_code == 422 and r.json()["error"] == "DataAssetInvalidAppraisal"
    asset_id = gw.data_asset(list_=False)
    r = gw.post(gw.exchange, f"/v1/data-assets/{asset_id}/listing", {"listing_id": "0x" + "00" * 32})
    assert r.status_code == 422
    r = gw.post(gw.core, "/v1/data-assets", {"content_hash": "0x1234"})
    assert r.status_code == 422 and r.json()["error"] == "RequestValidationError"


def test_ids_beyond_32_bits_are_404_not_a_database_error(gw):
    """Asset ids are 48-bit: on PostgreSQL the gateway's own table binds them as BIGINT too."""
    big = 4_371_435_125
    assert gw.get(gw.auditor, f"/v1/data-assets/{big}").status_code == 404
    r = gw.client.get(f"/v1/data-assets/{big}/appraisal-reports/0x{'9f' * 32}", headers=gw.auditor.auth)
    assert r.status_code == 404 and r.json()["error"] == "NotFound", r.json()
    r = gw.client.post(f"/v1/data-assets/{big}/appraisal-reports", files={"file": ("r", b"report")},
                       headers=gw.appraiser.auth)
    assert r.status_code == 404 and r.json()["error"] == "DataAssetNonexistent", r.json()


def test_foreclose_against_the_pledgees_exposure_and_return_on_full_repayment(gw):
    asset_id = gw.data_asset(pledge_to=gw.line_id)  # counted 1,000,000
    other = gw.data_asset(pledge_to=gw.line_id)
    issued = gw.overdue()
    rid, root = issued["receivable_id"], issued["token_id"]
    r = gw.post(gw.bank, f"/v1/data-assets/{asset_id}/foreclose", {"token_id": root})
    assert r.status_code == 403 and r.json()["error"] == "DataAssetNotVoucherHolder", r.json()
    assert r.json()["holder"] == gw.tier1.address
    assert gw.post(gw.tier1, f"/v1/vouchers/{root}/transfer", {"to": gw.bank.address}).status_code == 200
    r = gw.post(gw.bank, f"/v1/data-assets/{asset_id}/foreclose", {"token_id": root})
    assert r.status_code == 409 and r.json()["error"] == "DataAssetReceivableNotDefaulted"
    assert gw.post(gw.bank, f"/v1/receivables/{rid}/declare-default").status_code == 200
    r = gw.post(gw.bank, f"/v1/data-assets/{asset_id}/foreclose", {"token_id": root})
    assert r.status_code == 200, r.json()
    assert (r.json()["value"], r.json()["recovered"], r.json()["receivable_id"]) == ("1000000", "100000", rid)
    read = gw.get(gw.bank, f"/v1/data-assets/{asset_id}").json()
    assert read["owner"] == gw.bank.address and read["pledge"] is None
    assert read["foreclosure"] == {**read["foreclosure"], "owner": gw.core.address, "financier": gw.bank.address,
                                   "receivable_id": rid, "token_id": root, "value": "1000000", "recovered": "100000"}
    head = gw.head()
    r = gw.post(gw.bank, f"/v1/data-assets/{other}/foreclose", {"token_id": root})  # the exposure is covered
    assert r.status_code == 409 and r.json()["error"] == "DataAssetExposureCovered"
    assert (r.json()["exposure"], r.json()["recovered"]) == ("100000", "100000") and gw.head() == head
    r = gw.post(gw.core, f"/v1/data-assets/{asset_id}/return")
    assert r.status_code == 409 and r.json()["error"] == "DataAssetStillSecuring"
    assert gw.post(gw.core, f"/v1/receivables/{rid}/repayments", {"amount": "100000"}).status_code == 200
    r = gw.post(gw.tier2, f"/v1/data-assets/{asset_id}/return")
    assert r.status_code == 200, r.json()
    assert r.json()["owner"] == gw.core.address
    read = gw.get(gw.core, f"/v1/data-assets/{asset_id}").json()
    assert read["owner"] == gw.core.address and read["foreclosure"] is None
    r = gw.post(gw.core, f"/v1/data-assets/{asset_id}/return")
    assert r.status_code == 409 and r.json()["error"] == "DataAssetNotForeclosed"


def test_appraisals_are_bounded_withdrawn_and_struck(gw):
    from gateway_world import OPERATOR_TOKEN

    operator = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    asset_id = gw.data_asset(appraise=False, list_=False)
    r = gw.post(gw.appraiser, f"/v1/data-assets/{asset_id}/appraisals",
                {"report_hash": gw.doc(), "value": "900", "valid_until": 2**40 - 1})
    assert r.status_code == 422 and r.json()["error"] == "DataAssetAppraisalTooLong", r.json()
    rogue = gw.register("Rogue Appraiser", ["APPRAISER_ROLE"])
    for who, value in ((gw.appraiser, "900"), (rogue, "5000000")):
        r = gw.post(who, f"/v1/data-assets/{asset_id}/appraisals",
                    {"report_hash": gw.doc(), "value": value, "valid_until": gw.now() + 30 * DAY})
        assert r.status_code == 201, r.json()
    r = gw.post(gw.appraiser, f"/v1/data-assets/{asset_id}/appraisals/withdraw")
    assert r.status_code == 200 and r.json()["slot"] == 0, r.json()
    r = gw.post(gw.appraiser, f"/v1/data-assets/{asset_id}/appraisals/withdraw")
    assert r.status_code == 409 and r.json()["error"] == "DataAssetNoLiveAppraisal"
    assert gw.get(gw.core, f"/v1/data-assets/{asset_id}").json()["counted_value"] == "5000000"
    strike = f"/v1/data-assets/{asset_id}/appraisals/strike"
    r = gw.client.post(strike, json={"appraiser": rogue.address}, headers=operator)
    assert r.status_code == 409 and r.json()["error"] == "DataAssetAppraiserNotExpelled", r.json()
    assert gw.post(gw.bank, strike, {"appraiser": rogue.address}).status_code == 401  # the operator credential only
    assert gw.client.post(f"/v1/parties/{rogue.address}/expel", headers=operator).status_code == 200
    r = gw.client.post(strike, json={"appraiser": rogue.address}, headers=operator)
    assert r.status_code == 200 and r.json()["slots"] == [1], r.json()
    read = gw.get(gw.core, f"/v1/data-assets/{asset_id}").json()
    assert (read["appraisals"], read["counted_value"]) == ([], "0")


def _registry_at(gw, asset_id: int, n: int) -> dict:
    """The asset as the DataAssetRegistry's views give it at block `n`, in the response's shape."""
    led = gw.ledger
    a = led.data_asset(asset_id, block=n)
    pledge = led.pledge_of(a.pledge_id, block=n) if a.pledge_id else None
    value, until = led.counted_value(asset_id, block=n)
    hx = lambda b: "0x" + bytes(b).hex()  # noqa: E731
    return {
        "asset_id": asset_id, "owner": a.owner, "registered_at": a.registered_at, "content_hash": hx(a.content_hash),
        "metadata_hash": hx(a.metadata_hash), "uri": a.uri, "uri_hex": "0x" + a.uri.encode().hex(), "listed": a.listed,
        "exchange": a.exchange if a.listed else None, "listing_id": hx(a.listing_id) if a.listed else None,
        "appraisals": [{"slot": p.slot, "appraiser": p.appraiser, "appraised_at": p.appraised_at,
                        "valid_until": p.valid_until, "value": str(p.value), "report_hash": hx(p.report_hash)}
                       for p in led.appraisals(asset_id, block=n)],
        "counted_value": str(value), "counted_until": until or None,
        "pledge": None if pledge is None else {
            "pledge_id": pledge.pledge_id, "line_id": pledge.line_id, "state": pledge.state.name,
            "financier": pledge.financier, "pledged_at": pledge.pledged_at, "ended_at": pledge.ended_at or None},
        "foreclosure": None,  # (these assets are never foreclosed)
    }


def test_a_read_is_the_mirrors_block_and_the_registry_agrees_at_that_block(gw):
    """The read comes from the mirror at the block it names; the registry's views at that block
    say the same, the counted value included (the lowest unexpired appraisal; on a tie the later
    expiry, as countedValue does), and it moves with that block's time."""

    def read(who=gw.auditor) -> dict:
        body = gw.get(who, f"/v1/data-assets/{asset_id}").json()
        mirror = gw.gateway.reader.block()
        assert body.pop("source") == "mirror"
        assert body.pop("block") == {"number": mirror.number, "hash": mirror.hash}
        assert body == _registry_at(gw, asset_id, mirror.number)
        return body

    asset_id = gw.data_asset(appraise=False, list_=False)
    assert read()["counted_value"] == "0" and read()["counted_until"] is None and read()["appraisals"] == []
    now = gw.now()
    appraisers = [gw.appraiser] + [gw.register(f"Appraiser {i}", ["APPRAISER_ROLE"]) for i in (2, 3)]
    for appraiser, (value, days) in zip(appraisers, ((800, 30), (500, 10), (500, 20)), strict=True):
        r = gw.post(appraiser, f"/v1/data-assets/{asset_id}/appraisals",
                    {"report_hash": gw.doc(), "value": str(value), "valid_until": now + days * DAY})
        assert r.status_code == 201, r.json()
    got = read(gw.core)
    assert [a["value"] for a in got["appraisals"]] == ["800", "500", "500"]
    assert (got["counted_value"], got["counted_until"]) == ("500", now + 20 * DAY)
    assert gw.post(gw.exchange, f"/v1/data-assets/{asset_id}/listing", {"listing_id": gw.doc()}).status_code == 200
    pledged = gw.post(gw.core, f"/v1/data-assets/{asset_id}/pledge", {"line_id": gw.line_id}).json()
    got = read(gw.bank)
    assert got["listed"] and got["exchange"] == gw.exchange.address
    line = gw.get(gw.bank, f"/v1/credit-lines/{gw.line_id}").json()  # the line's collateral: the mirror's too
    at = gw.ledger.collateral(gw.line_id, block=line["block"]["number"])
    assert line["collateral"] == {"value": str(at.value), "valid_until": at.valid_until or None,
                                  "advance_rate_bps": at.advance_rate_bps, "source": "mirror"}
    assert at.value >= 500 and at.valid_until <= now + 20 * DAY
    assert got["pledge"]["pledge_id"] == pledged["pledge_id"] and got["pledge"]["state"] == "ACTIVE"
    gw.advance(25 * DAY)  # both 500s expire; they stay listed until a new appraisal takes the slot
    got = read(gw.appraiser)
    assert len(got["appraisals"]) == 3 and (got["counted_value"], got["counted_until"]) == ("800", now + 30 * DAY)
    assert gw.post(gw.bank, f"/v1/data-assets/{asset_id}/release").status_code == 200
    assert read(gw.core)["pledge"] is None
    gw.advance(10 * DAY)
    assert read()["counted_value"] == "0"
