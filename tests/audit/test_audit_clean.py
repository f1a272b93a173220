"""A whole lifecycle, audited from the chain alone, has no discrepancy; the report says so."""

from __future__ import annotations

import json

from audit_world import MASTER_SECRET
from typer.testing import CliRunner

from ledger.audit import CHECKS, audit, write_report
from ledger.cli import app


def test_a_clean_lifecycle_audits_with_zero_discrepancies(audited, tmp_path):
    result = audit(audited.url, audited.deployment, mirror_db=audited.mirror_db, gateway_db=audited.gateway_db,
                   master_secret=MASTER_SECRET)

    assert [d.to_json() for d in result.discrepancies] == []
    assert result.ok
    assert {name: c["status"] for name, c in result.checks.items()} == {name: "PASS" for name in CHECKS}
    counts = result.counts
    assert counts["receivables"] == 7 and counts["live_vouchers"] >= 10 and counts["offers"] == 2
    assert counts["deals"] == 1 and counts["claims"] >= 7 and counts["pledges"] == 2
    assert counts["events"] == counts["mirror_rows"]["event_log"]
    # members (one expelled), roles, the lifted pause and the approvals were asked of the views
    rows = counts["mirror_rows"]
    assert rows["member"] == 9 and rows["role_assignment"] >= 8 and rows["role_admin"] >= 7
    # token approvals: the world's 2, and the 2 consents of the traffic to value pushed into a voucher
    assert rows["pause_state"] == 1 and rows["token_approval"] == 4 and rows["value_allowance"] == 2
    assert rows["operator_approval"] == 1 and rows["view_calls"] >= 40
    assert counts["gateway_documents"] == {"stored": 3, "anchored": 3, "not_anchored": 0}
    assert result.block == audited.world.head()  # the mirror's block, which is the head

    json_path, html_path = write_report(result, tmp_path / "report")
    data = json.loads(json_path.read_text())
    assert data["result"] == "PASS" and data["block"]["number"] == result.block and data["discrepancies"] == []
    html = html_path.read_text()
    assert html.index("PASS") < html.index("Checks") and "<script" not in html and "http" not in html.split(
        "<body>")[1].split("via")[0]


def test_the_cli_writes_the_report_and_exits_zero_when_all_is_well(audited, tmp_path, monkeypatch):
    deployment = tmp_path / "deployment.json"
    deployment.write_text(json.dumps(audited.deployment.__dict__))
    monkeypatch.setenv("GATEWAY_MASTER_SECRET", MASTER_SECRET)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["audit", "--rpc-url", audited.url, "--deployment", str(deployment),
                                      "--mirror-db", audited.mirror_db, "--gateway-db", audited.gateway_db,
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output
    assert (out / "audit.json").is_file() and (out / "audit.html").is_file()


def test_the_audit_package_exports_a_sorted_public_surface():
    import ledger.audit

    assert ledger.audit.__all__ == sorted(ledger.audit.__all__)
    for name in ledger.audit.__all__:
        assert getattr(ledger.audit, name) is not None


def test_the_fast_decoder_reads_every_log_as_chain_decode_logs_does(audited):
    """The audit decodes raw JSON logs with the mirror's LogDecoder (ten times faster than web3's
    process_log at 30,000 logs); on the lifecycle's logs it agrees with Chain.decode_logs exactly."""
    from ledger.audit import Auditor
    from ledger.logs import ChainText

    w = audited.world
    with Auditor(audited.url, audited.deployment) as auditor:
        auditor.rebuild()
        fast = auditor.history.events
    addresses = [w.deployment.voucher, w.deployment.credit_lines, w.deployment.factoring, w.deployment.data_assets]
    logs = w.chain.w3.eth.get_logs({"address": addresses, "fromBlock": w.deployment.start_block,
                                    "toBlock": auditor.history.block})
    slow = w.chain.decode_logs(logs)  # the contracts are registered by the world's Ledger

    def plain(v):
        # Strings as their bytes: the fast decoder reads NUL as U+FFFD (PostgreSQL has no NUL) and
        # keeps the bytes in ChainText.raw; web3 keeps the NUL.
        if isinstance(v, ChainText):
            return v.raw
        if isinstance(v, str):
            return v.encode()
        return bytes(v) if isinstance(v, bytes) else v

    def key(e):
        return (e.name, e.contract, e.block_number, e.block_hash.lower(), e.tx_hash.lower(), e.log_index,
                {k: plain(v) for k, v in e.args.items()})
    assert [key(e) for e in fast] == [key(e) for e in slow]
    assert len(fast) == len(logs) > 100
