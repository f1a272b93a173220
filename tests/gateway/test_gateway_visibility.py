"""Who may read what through /v1 (gateway/api/visibility.py, the explorer's rules): each rule with
a party it lets in, one it keeps out, and auditors and the operator seeing everything. Lists filter
(their `total` and pages count only what the caller may see); a single thing it may not see is 403
`NotOwner`, one that does not exist 404.

The receivable is the explorer tests' (explorer_world.py): root (tier1) split to a (tier2) and c
(tier2b); a split to b (tier3); b's part f factored to bank2. core owes it, bank finances its line.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from explorer_world import explorer_world
from gateway_world import DAY, OPERATOR_TOKEN

#: The operator's bootstrap credential reads as the operator.
OPERATOR = SimpleNamespace(auth={"Authorization": f"Bearer {OPERATOR_TOKEN}"})


@pytest.fixture(scope="module")
def ew(gw):
    return explorer_world(gw)


def _everyone_who_sees_all(ew):
    gw = ew.gw
    return {"auditor": gw.auditor, "operator": OPERATOR, "core (obligor)": gw.core, "tier1 (supplier)": gw.tier1,
            "bank (line financier)": gw.bank}


def _branches(ew):
    """Each other party of the receivable and the vouchers it may see."""
    gw = ew.gw
    down_to_f = {ew.root, ew.a, ew.b, ew.f}
    return {"tier2": (gw.tier2, down_to_f), "tier3": (ew.tier3, down_to_f), "bank2": (gw.bank2, down_to_f),
            "tier2b": (ew.tier2b, {ew.root, ew.c}), "outsider": (ew.outsider, set())}


def _refused(r, **args):
    assert r.status_code == 403 and r.json()["error"] == "NotOwner", r.json()
    assert "not yours to see" in r.json()["detail"] or "shown only to" in r.json()["detail"], r.json()
    for name, value in args.items():
        assert r.json()[name] == str(value), r.json()


def test_every_read_needs_a_key(ew):
    gw = ew.gw
    for path in (f"/v1/vouchers/{ew.root}", "/v1/vouchers", f"/v1/receivables/{ew.receivable_id}", "/v1/receivables",
                 f"/v1/parties/{gw.tier1.address}/positions", f"/v1/credit-lines/{gw.line_id}", "/v1/offers/1"):
        assert gw.get(None, path).status_code == 401, path


def test_a_voucher_is_read_by_the_receivables_principals_and_its_branch_only(ew):
    gw = ew.gw
    for name, who in _everyone_who_sees_all(ew).items():
        for token in ew.tokens:
            assert gw.get(who, f"/v1/vouchers/{token}").status_code == 200, (name, token)
    for name, (who, seen) in _branches(ew).items():
        for token in ew.tokens:
            r = gw.get(who, f"/v1/vouchers/{token}")
            if token in seen:
                assert r.status_code == 200 and r.json()["token_id"] == token, (name, token, r.json())
            else:
                _refused(r, token_id=token)
    # Nonexistent is 404 for everyone, visible or not.
    assert gw.get(ew.outsider, "/v1/vouchers/999999").status_code == 404
    assert gw.get(gw.auditor, "/v1/vouchers/999999").status_code == 404


def test_a_visible_vouchers_history_leaves_out_splits_into_hidden_branches(ew):
    gw = ew.gw

    def split_targets(who):
        history = gw.get(who, f"/v1/vouchers/{ew.root}").json()["history"]
        return {int(e["args"]["_toTokenId"]) for e in history if e["event"] == "TransferValue"}

    assert {ew.a, ew.c} <= split_targets(gw.auditor) and {ew.a, ew.c} <= split_targets(gw.core)
    assert ew.c in split_targets(ew.tier2b) and ew.a not in split_targets(ew.tier2b)
    assert ew.a in split_targets(ew.tier3) and ew.c not in split_targets(ew.tier3)
    lineage = gw.get(ew.tier3, f"/v1/vouchers/{ew.f}").json()["lineage"]
    assert [v["token_id"] for v in lineage] == [ew.root, ew.a, ew.b], "a visible voucher's lineage is visible"


def test_the_voucher_list_holds_only_what_the_caller_may_see_and_pages_over_that(ew):
    gw = ew.gw
    for name, who in _everyone_who_sees_all(ew).items():
        page = gw.get(who, "/v1/vouchers", receivable_id=ew.receivable_id, limit=500).json()
        assert {v["token_id"] for v in page["items"]} == ew.tokens and page["total"] == len(ew.tokens), name
    for name, (who, seen) in _branches(ew).items():
        page = gw.get(who, "/v1/vouchers", receivable_id=ew.receivable_id, limit=500).json()
        assert {v["token_id"] for v in page["items"]} == seen and page["total"] == len(seen), name
    # tier3 and the outsider take part in nothing else: their whole list is what they see of R.
    assert gw.get(ew.outsider, "/v1/vouchers").json() | {"block": None} == {
        "items": [], "total": 0, "offset": 0, "limit": 50, "block": None}
    pages = [gw.get(ew.tier3, "/v1/vouchers", limit=1, offset=n).json() for n in range(5)]
    assert [p["total"] for p in pages] == [4] * 5
    assert [v["token_id"] for p in pages for v in p["items"]] == sorted(_branches(ew)["tier3"][1])
    assert pages[4]["items"] == []
    # A filter on someone else's holdings finds nothing the caller may not see.
    hidden = gw.get(ew.tier2b, "/v1/vouchers", holder=ew.tier3.address).json()
    assert hidden["items"] == [] and hidden["total"] == 0


def test_a_receivable_is_whole_for_its_principals_cut_to_a_branch_for_its_holders_refused_to_others(ew):
    gw = ew.gw
    path = f"/v1/receivables/{ew.receivable_id}"

    def tokens(tree):
        return {n["token_id"] for root in tree for n in _walk(root)}

    for name, who in _everyone_who_sees_all(ew).items():
        r = gw.get(who, path).json()
        assert r["access"]["scope"] == "all" and r["hidden"] == 0 and tokens(r["tree"]) == ew.tokens, name
    assert gw.get(OPERATOR, path).json()["access"] == {"scope": "all", "as": "operator"}
    for name, (who, seen) in _branches(ew).items():
        r = gw.get(who, path)
        if not seen:
            _refused(r, receivable_id=ew.receivable_id)
            continue
        body = r.json()
        assert body["access"] == {"scope": "branches", "as": "holder"}, name
        assert tokens(body["tree"]) == seen and body["hidden"] == len(ew.tokens - seen), name
        assert [n["token_id"] for n in body["tree"]] == [ew.root], name
    assert gw.get(ew.outsider, "/v1/receivables/999999").status_code == 404


def _walk(node):
    yield node
    for child in node["children"]:
        yield from _walk(child)


def test_the_receivable_list_holds_only_what_the_caller_is_party_to(ew):
    gw = ew.gw
    other = gw.issue()["receivable_id"]  # core to tier1: none of tier3's business
    for who in (*_everyone_who_sees_all(ew).values(), gw.tier2, ew.tier3, gw.bank2, ew.tier2b):
        ids = [r["receivable_id"] for r in gw.get(who, "/v1/receivables", limit=500).json()["items"]]
        assert ew.receivable_id in ids
    empty = gw.get(ew.outsider, "/v1/receivables", obligor=gw.core.address).json()
    assert empty["items"] == [] and empty["total"] == 0
    mine = gw.get(ew.tier3, "/v1/receivables").json()
    assert [r["receivable_id"] for r in mine["items"]] == [ew.receivable_id] and mine["total"] == 1
    every = gw.get(gw.auditor, "/v1/receivables", limit=1).json()
    assert every["total"] > 1 and len(every["items"]) == 1
    assert other in [r["receivable_id"] for r in gw.get(gw.core, "/v1/receivables", limit=500).json()["items"]]


def test_positions_are_the_partys_own_the_auditors_and_the_operators(ew):
    gw = ew.gw
    path = f"/v1/parties/{ew.tier3.address}/positions"
    for who in (ew.tier3, gw.auditor, OPERATOR):
        r = gw.get(who, path)
        assert r.status_code == 200 and r.json()["address"] == ew.tier3.address
    for who in (gw.core, gw.tier2, gw.bank2, ew.outsider):  # even its buyer, its seller and its obligor
        _refused(gw.get(who, path), address=ew.tier3.address)


def test_an_offer_is_read_by_its_parties_and_whoever_sees_its_voucher(ew):
    gw = ew.gw
    graph = gw.get(gw.auditor, f"/v1/explorer/receivables/{ew.receivable_id}").json()
    oid = next(n["factored"]["offer_id"] for n in graph["nodes"] if n["token_id"] == ew.f)
    for who in (ew.tier3, gw.bank2, gw.tier2, gw.core, gw.bank, gw.auditor, OPERATOR):
        assert gw.get(who, f"/v1/offers/{oid}").json()["offer_id"] == oid
    for who in (ew.tier2b, ew.outsider):
        _refused(gw.get(who, f"/v1/offers/{oid}"), offer_id=oid)
    assert gw.get(ew.outsider, "/v1/offers/777777").status_code == 404


def test_an_open_offer_to_anyone_is_read_by_every_financier_one_to_a_financier_by_that_one(gw):
    issued = gw.issue()
    deadline = gw.now() + 5 * DAY
    anyone = gw.post(gw.tier1, "/v1/offers", {"token_id": issued["token_id"], "value": "1000", "rate_bps": 500,
                                              "deadline": deadline}).json()["offer_id"]
    named = gw.post(gw.tier1, "/v1/offers", {"token_id": issued["token_id"], "value": "1000", "rate_bps": 500,
                                             "deadline": deadline, "financier": gw.bank2.address}).json()["offer_id"]
    assert gw.get(gw.bank2, f"/v1/offers/{anyone}").status_code == 200
    _refused(gw.get(gw.tier2, f"/v1/offers/{anyone}"), offer_id=anyone)
    named_offer = gw.get(gw.bank2, f"/v1/offers/{named}").json()
    assert named_offer["financier"] == gw.bank2.address
    # Made to bank2, the offered voucher is bank2's to see before it buys; not the other financiers'
    # (bank finances this receivable's line, so it sees everything of it anyway).
    assert gw.get(gw.bank2, f"/v1/vouchers/{named_offer['token_id']}").status_code == 200
    assert gw.get(gw.bank2, f"/v1/vouchers/{issued['token_id']}").status_code == 200, "its lineage"
    other = gw.register("Third Bank", ["FINANCIER_ROLE"])
    assert gw.get(other, f"/v1/offers/{anyone}").status_code == 200
    _refused(gw.get(other, f"/v1/offers/{named}"), offer_id=named)
    _refused(gw.get(other, f"/v1/vouchers/{named_offer['token_id']}"), token_id=named_offer["token_id"])
    assert gw.post(gw.tier1, f"/v1/offers/{anyone}/cancel").status_code == 200
    _refused(gw.get(other, f"/v1/offers/{anyone}"), offer_id=anyone)  # no longer an invitation


def test_a_credit_line_is_read_by_its_obligor_and_financier(gw):
    for who in (gw.core, gw.bank, gw.auditor, OPERATOR):
        assert gw.get(who, f"/v1/credit-lines/{gw.line_id}").json()["line_id"] == gw.line_id
    for who in (gw.core2, gw.bank2, gw.tier1):
        _refused(gw.get(who, f"/v1/credit-lines/{gw.line_id}"), line_id=gw.line_id)
    assert gw.get(gw.tier1, "/v1/credit-lines/424242").status_code == 404


def test_a_data_asset_is_read_by_its_owner_pledgee_appraisers_exchange(gw):
    asset_id = gw.data_asset(pledge_to=gw.line_id)
    for who in (gw.core, gw.bank, gw.appraiser, gw.exchange, gw.auditor, OPERATOR):
        assert gw.get(who, f"/v1/data-assets/{asset_id}").json()["asset_id"] == asset_id
    for who in (gw.bank2, gw.tier1, gw.core2):
        _refused(gw.get(who, f"/v1/data-assets/{asset_id}"), asset_id=asset_id)
    bare = gw.data_asset(owner=gw.core2, appraise=False, list_=False)
    assert gw.get(gw.core2, f"/v1/data-assets/{bare}").status_code == 200
    for who in (gw.appraiser, gw.exchange, gw.core):  # not yet its appraiser or exchange
        _refused(gw.get(who, f"/v1/data-assets/{bare}"), asset_id=bare)
    assert gw.get(gw.tier1, "/v1/data-assets/987654").status_code == 404


def test_a_party_that_held_a_voucher_still_sees_it_after_passing_it_on(gw):
    issued = gw.issue()
    root = issued["token_id"]
    former = gw.register("Former Holder", ["SUPPLIER_ROLE"])
    x = gw.post(gw.tier1, f"/v1/vouchers/{root}/split", {"to": former.address, "value": "1000"}).json()["token_id"]
    y = gw.post(gw.tier1, f"/v1/vouchers/{root}/split", {"to": gw.tier2.address, "value": "2000"}).json()["token_id"]
    assert gw.post(former, f"/v1/vouchers/{x}/transfer", {"to": gw.tier2.address}).status_code == 200
    assert gw.get(former, f"/v1/vouchers/{x}").json()["holder"] == gw.tier2.address
    _refused(gw.get(former, f"/v1/vouchers/{y}"), token_id=y)
    page = gw.get(former, "/v1/vouchers").json()
    assert [v["token_id"] for v in page["items"]] == [root, x] and page["total"] == 2
    tree = gw.get(former, f"/v1/receivables/{issued['receivable_id']}").json()
    assert tree["access"] == {"scope": "branches", "as": "holder"} and tree["hidden"] == 1


def test_the_explorer_and_the_v1_reads_show_the_same(ew):
    """One definition: each party's explorer graph holds exactly the vouchers of its /v1 tree."""
    gw = ew.gw

    for who in (*_everyone_who_sees_all(ew).values(), *(p for p, _ in _branches(ew).values())):
        graph = gw.get(who, f"/v1/explorer/receivables/{ew.receivable_id}")
        tree = gw.get(who, f"/v1/receivables/{ew.receivable_id}")
        assert graph.status_code == tree.status_code
        if tree.status_code == 200:
            assert {n["token_id"] for n in graph.json()["nodes"]} == {
                n["token_id"] for root in tree.json()["tree"] for n in _walk(root)}
            assert graph.json()["access"] == tree.json()["access"]
            assert graph.json()["hidden"] == tree.json()["hidden"]
