"""The authorisation matrix: every write endpoint × every party (role × owner/non-owner).

Only the rightful party succeeds; every other gets 403 and nothing is sent (the chain's head
does not move). The auditor can only read.
"""

from __future__ import annotations

import pytest

from gateway_world import DAY, ROLES


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


def test_reads_need_an_api_key_but_no_role(gw):
    issued = gw.issue()
    assert gw.get(None, f"/v1/vouchers/{issued['token_id']}").status_code == 401
    for name in ROLES:
        assert gw.get(gw.parties[name], f"/v1/vouchers/{issued['token_id']}").status_code == 200
