"""The explorer's JSON (/v1/explorer): the voucher graph, timelines, positions, search, and who may
see what. The page itself is tested in a real browser in test_explorer_browser.py."""

from __future__ import annotations

import pytest
from explorer_world import explorer_world


@pytest.fixture(scope="module")
def ew(gw):
    return explorer_world(gw)


def _graph(ew, who):
    return ew.gw.get(who, f"/v1/explorer/receivables/{ew.receivable_id}")


def test_the_graph_shows_who_split_what_to_whom_and_what_was_factored(ew):
    gw = ew.gw
    g = _graph(ew, gw.auditor).json()
    assert g["access"] == {"scope": "all", "as": "auditor"} and g["hidden"] == 0
    nodes = {n["token_id"]: n for n in g["nodes"]}
    assert set(nodes) == ew.tokens
    assert {t: nodes[t]["holder"] for t in nodes} == {
        ew.root: gw.tier1.address, ew.a: gw.tier2.address, ew.b: ew.tier3.address, ew.f: gw.bank2.address,
        ew.c: ew.tier2b.address}
    assert {t: nodes[t]["value"] for t in nodes} == {
        ew.root: "400000", ew.a: "250000", ew.b: "100000", ew.f: "50000", ew.c: "200000"}
    assert {(e["from"], e["to"], e["value"], e["kind"]) for e in g["edges"]} == {
        (ew.root, ew.a, "400000", "split"), (ew.root, ew.c, "200000", "split"), (ew.a, ew.b, "150000", "split"),
        (ew.b, ew.f, "50000", "split")}
    deal = nodes[ew.f]["factored"]
    assert deal["seller"] == ew.tier3.address and deal["financier"] == gw.bank2.address and deal["recourse"] is True
    assert 0 < int(deal["price"]) < 50_000 and int(deal["discount"]) == 50_000 - int(deal["price"])
    assert all(nodes[t]["factored"] is None for t in ew.tokens - {ew.f})
    assert nodes[ew.a]["claimed"] == nodes[ew.a]["paid"] == "75000"
    # 30 % repaid: each voucher's pro-rata share less what it was paid, as the contract's view says.
    assert {t: nodes[t]["claimable"] for t in nodes} == {
        ew.root: "120000", ew.a: "0", ew.b: "30000", ew.f: "15000", ew.c: "60000"}
    assert all(int(nodes[t]["claimable"]) == gw.ledger.claimable(t) for t in nodes)
    assert [p["amount"] for p in g["repayments"]] == ["300000"] and g["receivable"]["repaid"] == "300000"
    assert g["names"][ew.tier3.address] == "Tier-3 Castings"
    assert g["block"]["number"] >= 1 and g["block"]["hash"].startswith("0x")


@pytest.mark.parametrize("who, scope", [("core", "obligor"), ("tier1", "supplier"),
                                        ("bank", "financier of the credit line")])
def test_the_receivables_principals_see_the_whole_tree(ew, who, scope):
    g = _graph(ew, ew.gw.parties[who]).json()
    assert g["access"] == {"scope": "all", "as": scope}
    assert {n["token_id"] for n in g["nodes"]} == ew.tokens and g["hidden"] == 0


def test_a_holder_sees_its_branch_and_its_lineage_but_not_the_other_branches(ew):
    gw = ew.gw
    cases = {  # who: what it sees (its lineage from the root, its piece and what was split off below it)
        "tier3": (ew.tier3, {ew.root, ew.a, ew.b, ew.f}),
        "bank2": (gw.bank2, {ew.root, ew.a, ew.b, ew.f}),
        "tier2": (gw.tier2, {ew.root, ew.a, ew.b, ew.f}),
        "tier2b": (ew.tier2b, {ew.root, ew.c}),
    }
    for name, (party, seen) in cases.items():
        g = _graph(ew, party).json()
        assert g["access"] == {"scope": "branches", "as": "holder"}, name
        assert {n["token_id"] for n in g["nodes"]} == seen, name
        assert g["hidden"] == len(ew.tokens - seen), name
        assert all(e["from"] in seen and e["to"] in seen for e in g["edges"]), name
        hidden_holders = {n["holder"] for n in _graph(ew, gw.auditor).json()["nodes"]
                          if n["token_id"] not in seen}
        assert not hidden_holders & (set(g["names"]) - {n["holder"] for n in g["nodes"]}), name


def test_an_outsider_is_refused_the_receivable_its_vouchers_and_other_parties(ew):
    gw = ew.gw
    r = _graph(ew, ew.outsider)
    assert r.status_code == 403 and r.json()["error"] == "NotOwner"
    assert r.json()["receivable_id"] == str(ew.receivable_id) and "not yours to see" in r.json()["detail"]
    for token in ew.tokens:
        r = gw.get(ew.outsider, f"/v1/explorer/vouchers/{token}")
        assert r.status_code == 403 and r.json()["token_id"] == str(token), r.json()
    r = gw.get(ew.tier2b, f"/v1/explorer/vouchers/{ew.b}")
    assert r.status_code == 403, "tier2b holds no part of tier3's branch"
    r = gw.get(ew.outsider, f"/v1/explorer/parties/{gw.tier1.address}")
    assert r.status_code == 403 and r.json()["address"] == gw.tier1.address
    assert gw.get(None, f"/v1/explorer/receivables/{ew.receivable_id}").status_code == 401


def test_a_vouchers_timeline_lists_its_events_with_block_and_transaction(ew):
    gw = ew.gw
    v = gw.get(ew.tier3, f"/v1/explorer/vouchers/{ew.f}").json()
    assert v["voucher"]["holder"] == gw.bank2.address
    assert [x["token_id"] for x in v["lineage"]] == [ew.root, ew.a, ew.b]
    events = [e["event"] for e in v["timeline"]]
    assert events[0] == "Transfer" and "TransferValue" in events and "Factored" in events, events
    assert all(e["tx_hash"].startswith("0x") and e["block_number"] >= v["voucher"]["minted_block"]
               for e in v["timeline"])
    blocks = [(e["block_number"], e["log_index"]) for e in v["timeline"]]
    assert blocks == sorted(blocks)
    assert [d["financier"] for d in v["deals"]] == [gw.bank2.address]
    a = gw.get(gw.tier2, f"/v1/explorer/vouchers/{ew.a}").json()
    assert [c["token_id"] for c in a["children"]] == [ew.b] and "VoucherClaimed" in [e["event"] for e in a["timeline"]]


def test_a_partys_positions_are_its_own_and_the_auditors(ew):
    gw = ew.gw
    mine = gw.get(ew.tier3, f"/v1/explorer/parties/{ew.tier3.address}").json()
    assert [h for h in mine["holdings"] if h["receivable_id"] == ew.receivable_id] == [
        {"receivable_id": ew.receivable_id, "value": "100000"}]
    assert [d["token_id"] for d in mine["deals_sold"]] == [ew.f] and mine["block"]["number"] >= 1
    seen = gw.get(gw.auditor, f"/v1/explorer/parties/{gw.bank2.address}").json()
    assert ew.f in [d["token_id"] for d in seen["deals_bought"]]


def test_search_finds_what_the_caller_may_open_and_says_what_it_withholds(ew):
    gw = ew.gw
    s = gw.get(gw.auditor, "/v1/explorer/search", q=str(ew.receivable_id)).json()
    assert {"kind": "receivable", "id": ew.receivable_id} in s["matches"]
    s = gw.get(ew.outsider, "/v1/explorer/search", q=str(ew.receivable_id)).json()
    assert {"kind": "receivable", "id": ew.receivable_id} in s["withheld"]
    assert {"kind": "receivable", "id": ew.receivable_id} not in s["matches"]
    s = gw.get(ew.tier2b, "/v1/explorer/search", q=str(ew.b)).json()
    assert {"kind": "voucher", "id": ew.b} in s["withheld"]
    s = gw.get(ew.tier3, "/v1/explorer/search", q=ew.tier3.address.lower()).json()
    assert s["matches"] == [{"kind": "party", "id": ew.tier3.address}]
    assert gw.get(ew.tier3, "/v1/explorer/search", q=gw.tier1.address).json()["withheld"] == [
        {"kind": "party", "id": gw.tier1.address}]
    for bad in ("not an id", "²", "0", str(2**48), "0x1234"):
        r = gw.get(ew.tier3, "/v1/explorer/search", q=bad)
        assert r.status_code == 422 and r.json()["error"] == "InvalidInput", (bad, r.json())


def test_the_page_is_self_contained(ew):
    gw = ew.gw
    page = gw.client.get("/explorer")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "http://" not in page.text and "https://" not in page.text, "no CDN: everything comes from the gateway"
    for name in ("explorer.js", "explorer.css"):
        r = gw.client.get(f"/explorer/{name}")
        assert r.status_code == 200 and "https://" not in r.text and "//cdn" not in r.text
    assert gw.client.get("/explorer/secrets.py").status_code == 404


def test_value_moved_into_an_existing_voucher_and_a_merge_are_moved_edges(gw):
    issued = gw.issue(10_000)
    rid, root = issued["receivable_id"], issued["token_id"]
    # x is tier1's own: value into another party's voucher needs its consent (issue 13, item 2).
    x = gw.post(gw.tier1, f"/v1/vouchers/{root}/split", {"to": gw.tier1.address, "value": "3000"}).json()["token_id"]
    y = gw.post(gw.tier1, f"/v1/vouchers/{root}/split", {"to": gw.tier1.address, "value": "2000"}).json()["token_id"]
    moved = gw.post(gw.tier1, f"/v1/vouchers/{root}/transfer-value", {"to_token_id": x, "value": "500"})
    assert moved.status_code == 200, moved.json()
    assert gw.post(gw.tier1, f"/v1/vouchers/{y}/merge", {"into_token_id": root}).status_code == 200
    g = gw.get(gw.auditor, f"/v1/explorer/receivables/{rid}").json()
    assert {(e["from"], e["to"], e["kind"], e["value"]) for e in g["edges"]} == {
        (root, x, "split", "3000"), (root, y, "split", "2000"), (root, x, "moved", "500"), (y, root, "moved", "2000")}
    nodes = {n["token_id"]: n for n in g["nodes"]}
    assert nodes[y]["status"] == "BURNED" and nodes[x]["value"] == "3500" and nodes[x]["created_value"] == "3000"
    assert nodes[root]["value"] == "6500"
