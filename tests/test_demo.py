"""The README's first command: the demo walks the whole lifecycle through the gateway's HTTP API,
conserves value and money, passes the audit, and leaves nothing running."""

import io
import re

import httpx
import pytest
from rich.console import Console

from ledger.demo import run
from ledger.node import node_kind

CASH_MINTED = 4 * 10_000_000_00  # the environment mints 10,000,000.00 to four parties


def test_the_demo_walks_the_lifecycle_through_the_gateway_and_every_unit_is_paid_out():
    out = io.StringIO()
    result = run(Console(file=out, width=140), node_kind())
    text = out.getvalue()
    flat = " ".join(text.split())  # rich wraps long lines at spaces

    positions = result["positions"]
    assert sum(p["value"] for p in positions) == 1_000_000_00
    assert all(p["status"] == "closed" and p["paid"] == p["value"] for p in positions), positions
    assert {p["holder"] for p in positions} == {"Tier-1 Supplier", "Tier-2 Supplier", "Bank A", "Bank B"}
    assert result["credit_used"] == 300_000_00  # receivable 2, unpaid, still draws on the line
    assert result["credit_line"]["effective_limit"] == str(1_800_000_00)
    assert result["credit_line"]["available"] == str(1_500_000_00)

    deals = result["deals"]
    assert [d["recourse_state"] for d in deals] == ["NONE", "NONE", "PAID"] and [d["recourse"] for d in deals] == [
        True, False, True]
    assert all(0 < int(d["price"]) < int(d["value"]) for d in deals)
    assert sum(result["cash"].values()) == CASH_MINTED, result["cash"]  # money moved, none made or lost
    parties = result["parties"]
    assert parties["Core Enterprise"]["owes"] == 300_000_00
    assert parties["Tier-1 Supplier"] == {**parties["Tier-1 Supplier"], "open": 1, "due": 300_000_00, "owes": 0}

    audit = result["audit"]
    assert audit["result"] == "PASS" and result["discrepancies"] == 0
    assert audit["checks"]["mirror"]["status"] == "PASS"  # the gateway's mirror was compared row by row
    assert audit["checks"]["gateway_documents"]["status"] == "PASS"  # the uploaded documents and report
    assert audit["counts"]["receivables"] == 2 and audit["counts"]["deals"] == 3
    assert result["calls"] >= 50

    for phrase in ("POST /v1/parties → 201", "the line's limit rises to 1,800,000.00",
                   "Tier-1 accepts the receivable",
                   "POST /v1/offers/1/accept → 200", "Bank A buys it", "the receivable is settled",
                   "[environment] the cash issuer mints", "[environment] the local chain's clock moves",
                   "downloads the trade documents", "the data exchange is refused (NotOwner)",
                   "exercises recourse", "takes voucher", "GET /v1/audit → 200", "0 discrepancies: PASS"):
        assert phrase in flat, phrase

    # Nothing left running: the node and the gateway it printed no longer answer.
    urls = re.findall(r"on (http://127\.0\.0\.1:\d+)", flat)
    assert len(urls) == 2, text[:500]
    for url in urls:
        with pytest.raises(httpx.ConnectError):
            httpx.get(url, timeout=2)


def test_a_refused_call_stops_the_demo_with_the_gateways_answer_and_stops_the_stack(monkeypatch):
    import ledger.demo as demo

    seen = {}

    def refused_story(api, stack, console):
        seen.update(gateway=stack.url, node=stack.rpc_url)
        api.post(None, "/v1/parties", {"name": "nobody", "roles": ["OPERATOR_ROLE"]})

    monkeypatch.setattr(demo, "_story", refused_story)
    with pytest.raises(demo.DemoError, match=r"POST /v1/parties as operator answered 422: .*InvalidInput"):
        run(Console(file=io.StringIO()), node_kind())
    for url in seen.values():
        with pytest.raises(httpx.ConnectError):
            httpx.get(url, timeout=2)
