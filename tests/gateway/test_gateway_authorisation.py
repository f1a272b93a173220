"""The authorisation matrix: every write endpoint × every party (role × owner/non-owner).

Only the rightful party succeeds; every other gets 403 and nothing is sent (the chain's head
does not move). The auditor can only read.
"""

from __future__ import annotations

import pytest

from gateway_world import DAY, GRACE, OPERATOR_TOKEN, ROLES


def _pending(gw):
    return gw.issue(accept=False)


def _active(gw):
    return gw.issue()


def _two_of_tier1(gw):
    issued = gw.issue()
    other = gw.post(gw.tier1, f"/v1/vouchers/{issued['token_id']}/split", {"to": gw.tier1.address, "value": "10"})
    return issued["token_id"], other.json()["token_id"]


def _repaid(gw):
    issued = gw.issue()
    gw.post(gw.core, f"/v1/receivables/{issued['receivable_id']}/repayments", {"amount": "100"})
    return issued


def _offer(gw, financier=None):
    issued = gw.issue()
    body = {"token_id": issued["token_id"], "value": "1000", "rate_bps": 500, "deadline": gw.now() + 5 * DAY}
    if financier:
        body["financier"] = financier.address
    return gw.post(gw.tier1, "/v1/offers", body).json()["offer_id"]


def _sold_with_recourse(gw, *, exercise: bool):
    """An offer bought with recourse by bank, its receivable Overdue (recourse exercised if asked)."""
    issued = gw.issue(maturity_days=1)
    oid = gw.post(gw.tier1, "/v1/offers", {"token_id": issued["token_id"], "value": "1000", "rate_bps": 500,
                                           "deadline": gw.now() + DAY // 2, "financier": gw.bank.address,
                                           "recourse": True}).json()["offer_id"]
    assert gw.post(gw.bank, f"/v1/offers/{oid}/accept").status_code == 200
    gw.advance(DAY + GRACE + 60)
    assert gw.post(gw.tier2, f"/v1/receivables/{issued['receivable_id']}/mark-overdue").status_code == 200
    if exercise:
        assert gw.post(gw.bank, f"/v1/offers/{oid}/exercise-recourse").status_code == 200
    return oid


def _line_of_bank(gw):
    r = gw.post(gw.bank, "/v1/credit-lines", {"obligor": gw.core2.address, "currency": gw.cash, "limit": "100",
                                               "expiry": gw.now() + 30 * DAY})
    return r.json()["line_id"]


def _defaulted_with_pledge(gw):
    """A pledged asset and the bank's voucher of a Defaulted receivable of the line (its exposure)."""
    issued = gw.overdue()
    assert gw.post(gw.tier1, f"/v1/vouchers/{issued['token_id']}/transfer", {"to": gw.bank.address}).status_code == 200
    assert gw.post(gw.bank, f"/v1/receivables/{issued['receivable_id']}/declare-default").status_code == 200
    return gw.data_asset(pledge_to=gw.line_id), issued["token_id"]


WRITERS = set(ROLES) - {"auditor"}


def _cases():
    """endpoint -> (setup returning (path, body), the parties who may do it)."""
    return {
        "grant credit line": (lambda gw: ("/v1/credit-lines", {
            "obligor": gw.core2.address, "currency": gw.cash, "limit": "100", "expiry": gw.now() + DAY}),
            {"bank", "bank2"}),
        "issue": (lambda gw: ("/v1/receivables", {
            "supplier": gw.tier1.address, "line_id": gw.line_id, "face_value": "100",
            "maturity": gw.now() + 30 * DAY, "document_hash": gw.doc()}), {"core"}),
        "accept": (lambda gw: (f"/v1/receivables/{_pending(gw)['receivable_id']}/accept", {}), {"tier1"}),
        "reject": (lambda gw: (f"/v1/receivables/{_pending(gw)['receivable_id']}/reject", {}), {"tier1"}),
        "revoke": (lambda gw: (f"/v1/receivables/{_pending(gw)['receivable_id']}/revoke", {}), {"core"}),
        "repay": (lambda gw: (f"/v1/receivables/{_active(gw)['receivable_id']}/repayments", {"amount": "10"}),
                  {"core"}),
        "split": (lambda gw: (f"/v1/vouchers/{_active(gw)['token_id']}/split",
                              {"to": gw.tier2.address, "value": "10"}), {"tier1"}),
        "transfer-value": (lambda gw: (lambda a, b: (f"/v1/vouchers/{a}/transfer-value",
                                                     {"to_token_id": b, "value": "5"}))(*_two_of_tier1(gw)),
                           {"tier1"}),
        "merge": (lambda gw: (lambda a, b: (f"/v1/vouchers/{b}/merge", {"into_token_id": a}))(*_two_of_tier1(gw)),
                  {"tier1"}),
        "transfer": (lambda gw: (f"/v1/vouchers/{_active(gw)['token_id']}/transfer", {"to": gw.tier2.address}),
                     {"tier1"}),
        "claim": (lambda gw: (f"/v1/vouchers/{_repaid(gw)['token_id']}/claim", {}), {"tier1"}),
        "offer": (lambda gw: ("/v1/offers", {"token_id": _active(gw)["token_id"], "value": "10", "rate_bps": 500,
                                             "deadline": gw.now() + DAY}), {"tier1"}),
        "cancel offer": (lambda gw: (f"/v1/offers/{_offer(gw)}/cancel", {}), {"tier1"}),
        "accept offer": (lambda gw: (f"/v1/offers/{_offer(gw, gw.bank)}/accept", {}), {"bank"}),
        "mark overdue": (lambda gw: (f"/v1/receivables/{gw.overdue(mark=False)['receivable_id']}/mark-overdue", {}),
                         WRITERS),
        "declare default": (lambda gw: (f"/v1/receivables/{gw.overdue()['receivable_id']}/declare-default", {}),
                            {"bank"}),
        "exercise recourse": (lambda gw: (f"/v1/offers/{_sold_with_recourse(gw, exercise=False)}/exercise-recourse",
                                          {}), {"bank"}),
        "pay recourse": (lambda gw: (f"/v1/offers/{_sold_with_recourse(gw, exercise=True)}/pay-recourse", {}),
                         {"tier1"}),
        "approve value": (lambda gw: (f"/v1/vouchers/{_active(gw)['token_id']}/approve-value",
                                      {"operator": gw.bank.address, "value": "10"}), {"tier1"}),
        "approve": (lambda gw: (f"/v1/vouchers/{_active(gw)['token_id']}/approve", {"operator": gw.bank.address}),
                    {"tier1"}),
        "approval for all": (lambda gw: ("/v1/parties/me/operators", {"operator": gw.bank2.address,
                                                                      "approved": False}), WRITERS),
        "credit terms": (lambda gw: (f"/v1/credit-lines/{_line_of_bank(gw)}/terms",
                                     {"limit": "200", "expiry": gw.now() + 60 * DAY}), {"bank"}),
        "advance rate": (lambda gw: (f"/v1/credit-lines/{_line_of_bank(gw)}/advance-rate", {"rate_bps": 4000}),
                         {"bank"}),
        "sync collateral": (lambda gw: (f"/v1/credit-lines/{gw.line_id}/sync-collateral", {}), WRITERS),
        "register data asset": (lambda gw: ("/v1/data-assets", {"content_hash": gw.doc()}), WRITERS),
        "appraise": (lambda gw: (f"/v1/data-assets/{gw.data_asset(appraise=False, list_=False)}/appraisals", {
            "report_hash": gw.doc(), "value": "1000", "valid_until": gw.now() + 30 * DAY}), {"appraiser"}),
        "list data asset": (lambda gw: (f"/v1/data-assets/{gw.data_asset(list_=False)}/listing",
                                        {"listing_id": gw.doc()}), {"exchange"}),
        "pledge": (lambda gw: (f"/v1/data-assets/{gw.data_asset()}/pledge", {"line_id": gw.line_id}), {"core"}),
        "release": (lambda gw: (f"/v1/data-assets/{gw.data_asset(pledge_to=gw.line_id)}/release", {}), {"bank"}),
        "foreclose": (lambda gw: (lambda a, t: (f"/v1/data-assets/{a}/foreclose", {"token_id": t}))(
            *_defaulted_with_pledge(gw)), {"bank"}),
    }


@pytest.mark.parametrize("endpoint", list(_cases()))
def test_only_the_rightful_party_succeeds(gw, endpoint):
    setup, rightful = _cases()[endpoint]
    path, body = setup(gw)
    head = gw.head()
    for name in ROLES:
        if name in rightful:
            continue
        r = gw.post(gw.parties[name], path, body)
        assert r.status_code == 403, (endpoint, name, r.json())
        expected = {"ReadOnlyParty"} if name == "auditor" else {"RoleRequired", "NotOwner"}
        assert r.json()["error"] in expected, (endpoint, name, r.json())
    assert gw.head() == head, f"{endpoint}: a refused request sent a transaction"
    for name in sorted(rightful)[:1]:
        r = gw.post(gw.parties[name], path, body)
        assert r.status_code in (200, 201), (endpoint, name, r.json())


OPERATOR_ENDPOINTS = {
    "grant role": lambda gw: ("post", f"/v1/parties/{gw.tier2.address}/roles", {"role": "FINANCIER_ROLE"}),
    "revoke role": lambda gw: ("delete", f"/v1/parties/{gw.tier2.address}/roles/FINANCIER_ROLE", None),
    "expel": lambda gw: ("post", f"/v1/parties/{gw.tier2.address}/expel", {}),
    "admit": lambda gw: ("post", f"/v1/parties/{gw.tier2.address}/admit", [{"role": "SUPPLIER_ROLE"}]),
    "pause": lambda gw: ("post", "/v1/platform/pause", {}),
    "unpause": lambda gw: ("post", "/v1/platform/unpause", {}),
    "strike appraisals": lambda gw: ("post", f"/v1/data-assets/{gw.data_asset(list_=False)}/appraisals/strike",
                                     {"appraiser": gw.appraiser.address}),
}


@pytest.mark.parametrize("endpoint", list(OPERATOR_ENDPOINTS))
def test_membership_administration_needs_the_operator_credential(gw, endpoint):
    method, path, body = OPERATOR_ENDPOINTS[endpoint](gw)
    head = gw.head()
    for name in ROLES:
        kwargs = {"headers": gw.parties[name].auth}
        if body is not None:
            kwargs["json"] = body
        r = getattr(gw.client, method)(path, **kwargs) if method == "delete" else gw.client.post(path, **kwargs)
        assert r.status_code == 401 and r.json()["error"] == "Unauthenticated", (endpoint, name, r.json())
    assert gw.head() == head
