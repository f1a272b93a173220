"""The README's first command: the demo runs end to end and conserves value and money."""

import io

from rich.console import Console

from ledger.demo import run


def test_the_demo_walks_the_lifecycle_and_every_unit_is_paid_out(node):
    out = io.StringIO()
    result = run(Console(file=out, width=120), node.kind)
    text = out.getvalue()
    assert sum(p["value"] for p in result["positions"]) == 1_000_000_00
    assert all(p["status"] == "closed" and p["paid"] == p["value"] for p in result["positions"])
    assert result["credit_used"] == 300_000_00  # receivable 2, unpaid, still draws on the line
    assert result["discrepancies"] == 0
    for phrase in ("the line's limit rises to 1,800,000.00", "accepts the receivable", "Bank A buys it", "the receivable is settled",
                   "exercises recourse", "takes voucher", "0 discrepancies"):
        assert phrase in text
