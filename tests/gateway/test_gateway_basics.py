"""Health, readiness, parties and authentication."""

from __future__ import annotations

from gateway_world import OPERATOR_TOKEN


def test_health_and_ready(gw):
    assert gw.client.get("/health").json() == {"status": "ok"}
    r = gw.client.get("/ready")
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["status"] == "ready" and body["lag"] <= 5 and body["block"]["hash"].startswith("0x")


def test_registration_needs_the_operator_credential(gw):
    body = {"name": "x", "roles": ["SUPPLIER_ROLE"]}
    assert gw.client.post("/v1/parties", json=body).status_code == 401
    r = gw.client.post("/v1/parties", json=body, headers=gw.tier1.auth)
    assert r.status_code == 401 and r.json()["error"] == "Unauthenticated"


def test_registration_refuses_the_operator_role_and_unknown_roles(gw):
    auth = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    r = gw.client.post("/v1/parties", json={"name": "x", "roles": ["OPERATOR_ROLE"]}, headers=auth)
    assert r.status_code == 422 and r.json()["error"] == "InvalidInput"
    r = gw.client.post("/v1/parties", json={"name": "x", "roles": ["KING"]}, headers=auth)
    assert r.status_code == 422 and r.json()["error"] == "RequestValidationError"


def test_a_name_with_control_characters_is_refused_before_anything_is_sent(gw):
    """PostgreSQL cannot store NUL: refused at the door, not after the party was funded and
    admitted on chain (which then answered 503 and stranded the new key)."""
    auth = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    head = gw.head()
    for name in ("Tier-9\u0000Ltd", "Tier-9\nLtd", "\u0007"):
        r = gw.client.post("/v1/parties", json={"name": name, "roles": ["SUPPLIER_ROLE"]}, headers=auth)
        assert r.status_code == 422 and r.json()["error"] == "RequestValidationError", (name, r.json())
    assert gw.head() == head
    r = gw.client.post("/v1/parties", json={"name": "Tier-9 Lüdenscheid GmbH & Co. 株式会社", "roles": ["SUPPLIER_ROLE"]},
                       headers=auth)
    assert r.status_code == 201, r.json()


def test_a_registered_party_is_a_member_with_its_roles(gw):
    me = gw.get(gw.tier1, "/v1/parties/me").json()
    assert me["address"] == gw.tier1.address and me["roles"] == ["SUPPLIER_ROLE"] and me["is_member"]
    assert gw.ledger.is_member(gw.tier1.address)


def test_a_party_registers_once(gw):
    r = gw.client.post("/v1/parties", json={"name": "again", "roles": ["SUPPLIER_ROLE"], "address": gw.tier1.address},
                       headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})
    assert r.status_code == 409 and r.json()["error"] == "PartyExists"


def test_unknown_or_missing_api_keys_are_refused(gw):
    assert gw.client.get("/v1/parties/me").status_code == 401
    r = gw.client.get("/v1/parties/me", headers={"Authorization": "Bearer rlk_nope"})
    assert r.status_code == 401 and r.json() == {"error": "Unauthenticated", "detail": "unknown API key"}


def test_openapi_has_examples(gw):
    spec = gw.client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for name in ("ReceivableCreate", "SplitRequest", "OfferCreate", "CreditLineCreate", "PartyCreate"):
        assert schemas[name].get("examples"), name
