"""Tampering on purpose: each change is reported, with the right location, and the audit fails."""

from __future__ import annotations

import json
from dataclasses import replace

from audit_world import MASTER_SECRET
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from ledger.audit import Auditor, Rebuild, audit
from ledger.cli import app


def _sql(db: str, statement: str, **params) -> None:
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(text(statement), params)
    engine.dispose()


def _found(result, check: str) -> list[dict]:
    return [d.to_json() for d in result.discrepancies if d.check == check]


def test_an_edited_voucher_value_and_holder_are_reported_at_their_row_and_column(audited, mirror_copy):
    child, grandchild = audited.ids["child"], audited.ids["grandchild"]
    _sql(mirror_copy, "update voucher set value = value + 1 where token_id = :t", t=child)
    _sql(mirror_copy, "update voucher set holder = :h where token_id = :t", h=audited.world.bank.address, t=grandchild)

    result = audit(audited.url, audited.deployment, mirror_db=mirror_copy)

    assert not result.ok
    found = _found(result, "mirror")
    assert [(d["location"]["table"], d["location"]["row"], d["location"]["column"]) for d in found] == [
        ("voucher", {"token_id": child}, "value"), ("voucher", {"token_id": grandchild}, "holder")]
    value, holder = found
    assert value["actual"] == value["expected"] + 1
    assert (holder["expected"], holder["actual"]) == (audited.world.tier3.address, audited.world.bank.address)
    assert result.checks["mirror"]["status"] == "FAIL"
    others = {name: c["status"] for name, c in result.checks.items() if name not in ("mirror", "gateway_documents")}
    assert set(others.values()) == {"PASS"}


def test_an_edited_receivable_and_credit_line_are_reported(audited, mirror_copy):
    rid, line = audited.ids["settled"], audited.world.line_id
    _sql(mirror_copy, "update receivable set repaid = 1 where receivable_id = :r", r=rid)
    _sql(mirror_copy, "update credit_line set used = used + 7 where line_id = :l", l=line)

    found = _found(audit(audited.url, audited.deployment, mirror_db=mirror_copy), "mirror")

    assert {(d["location"]["table"], json.dumps(d["location"]["row"]), d["location"]["column"]) for d in found} == {
        ("receivable", json.dumps({"receivable_id": rid}), "repaid"),
        ("credit_line", json.dumps({"line_id": line}), "used")}


def test_a_dropped_event_row_is_a_gap_at_its_block_transaction_and_log_index(audited, mirror_copy):
    engine = create_engine(f"sqlite:///{mirror_copy}")
    with engine.connect() as conn:
        row = conn.execute(text("select id, block_number, log_index, tx_hash, name from event_log "
                                "where name = 'TransferValue' order by id limit 1 offset 3")).one()
    engine.dispose()
    _sql(mirror_copy, "delete from event_log where id = :i", i=row.id)

    found = _found(audit(audited.url, audited.deployment, mirror_db=mirror_copy), "mirror")

    assert len(found) == 1
    (gap,) = found
    assert "gap" in gap["message"]
    assert {k: gap["location"][k] for k in ("table", "block", "log_index", "tx_hash", "event")} == {
        "table": "event_log", "block": row.block_number, "log_index": row.log_index, "tx_hash": row.tx_hash,
        "event": "TransferValue"}


def test_an_extra_and_an_altered_event_row_are_reported(audited, mirror_copy):
    engine = create_engine(f"sqlite:///{mirror_copy}")
    with engine.connect() as conn:
        row = conn.execute(text("select * from event_log where name = 'ReceivableRepaid' order by id limit 1")).one()
    engine.dispose()
    args = json.loads(row.args)
    args["amount"] += 1
    _sql(mirror_copy, "update event_log set args = :a where id = :i", a=json.dumps(args), i=row.id)
    _sql(mirror_copy, "insert into event_log (chain_id, block_number, block_hash, log_index, tx_hash, contract, "
         "address, name, args) values (:c, :b, :h, 0, :t, 'ReceivableVoucher', :a, 'ReceivableSettled', '{}')",
         c=row.chain_id, b=row.block_number, h="0x" + "ee" * 32, t="0x" + "dd" * 32, a=row.address)

    found = _found(audit(audited.url, audited.deployment, mirror_db=mirror_copy), "mirror")

    altered = [d for d in found if d["location"].get("column") == "args"]
    extra = [d for d in found if "does not have" in d["message"]]
    assert len(found) == 2 and len(altered) == 1 and len(extra) == 1
    assert (altered[0]["location"]["row"], altered[0]["location"]["log_index"]) == ({"id": row.id}, row.log_index)
    assert extra[0]["location"]["tx_hash"] == "0x" + "dd" * 32


def test_an_altered_gateway_document_is_reported_at_its_receivable(audited, gateway_copy):
    doc = audited.ids["document"]
    engine = create_engine(f"sqlite:///{gateway_copy}")
    with engine.connect() as conn:
        sealed = bytearray(conn.execute(text("select sealed from gateway_document where document_hash = :d"),
                                        {"d": doc}).scalar())
    engine.dispose()
    sealed[20] ^= 1  # one bit of the ciphertext
    _sql(gateway_copy, "update gateway_document set sealed = :s where document_hash = :d", s=bytes(sealed), d=doc)

    result = audit(audited.url, audited.deployment, gateway_db=gateway_copy, master_secret=MASTER_SECRET)

    (found,) = _found(result, "gateway_documents")
    assert found["location"]["document_hash"] == doc
    assert found["location"]["receivable_id"] == audited.ids["settled"]
    assert found["location"]["table"] == "gateway_document" and found["actual"] == "InvalidTag"
    assert result.checks["gateway_documents"]["status"] == "FAIL" and result.checks["mirror"]["status"] == "SKIPPED"


def test_a_document_resealed_with_other_content_fails_its_fingerprint(audited, gateway_copy):
    """Whoever holds the master secret could re-seal other bytes under the same row: the hash catches it."""
    from pydantic import SecretStr

    from gateway.crypto import APPRAISAL_REPORTS, KeyBox

    doc, asset = audited.ids["report"], audited.ids["asset"]
    forged = KeyBox(SecretStr(MASTER_SECRET), APPRAISAL_REPORTS).seal(b"appraisal report: worth 9,000,000",
                                                                       f"{asset}:{doc}".encode())
    _sql(gateway_copy, "update gateway_appraisal_report set sealed = :s where report_hash = :d", s=forged, d=doc)

    found = _found(audit(audited.url, audited.deployment, gateway_db=gateway_copy, master_secret=MASTER_SECRET),
                   "gateway_documents")
    assert {d["location"].get("column") for d in found} == {None, "size"}  # other bytes, other length
    found = next(d for d in found if "SHA-256" in d["message"])
    assert found["location"]["table"] == "gateway_appraisal_report"
    assert found["location"]["asset_id"] == asset and found["expected"] == doc
    assert found["location"]["anchors"][0]["anchor"] == "DataAssetAppraised.reportHash"


def test_the_cli_exits_non_zero_and_lists_the_discrepancy(audited, mirror_copy, tmp_path):
    _sql(mirror_copy, "update voucher set value = 0 where token_id = :t", t=audited.ids["child"])
    deployment = tmp_path / "deployment.json"
    deployment.write_text(json.dumps(audited.deployment.__dict__))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["audit", "--rpc-url", audited.url, "--deployment", str(deployment),
                                      "--mirror-db", mirror_copy, "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output
    report = json.loads((out / "audit.json").read_text())
    assert report["result"] == "FAIL" and report["discrepancies"][0]["location"]["row"] == {
        "token_id": audited.ids["child"]}
    html = (out / "audit.html").read_text()
    assert html.index("FAIL") < html.index("Discrepancies (1)") and "voucher" in html


def test_a_mirror_at_another_block_is_reported_not_compared(audited):
    result = audit(audited.url, audited.deployment, audited.world.head() - 3, mirror_db=audited.mirror_db)
    (found,) = _found(result, "mirror")
    assert found["location"]["table"] == "mirror_cursor" and found["actual"]["number"] == audited.world.head()


def test_an_event_stream_that_creates_value_or_overpays_claims_is_reported_at_the_log(audited):
    """The chain cannot be edited, so feed the rebuild a history whose logs were: a split moving
    more than the parent holds, and a claim larger than what was repaid."""
    with Auditor(audited.url, audited.deployment) as auditor:
        auditor.rebuild()
        events = list(auditor.history.events)
    split = next(i for i, e in enumerate(events) if e.name == "TransferValue" and e.args["_fromTokenId"]
                 and e.args["_toTokenId"])
    e = events[split]
    events[split] = replace(e, args={**e.args, "_value": 10**9})
    claim = next(i for i, c in enumerate(events) if c.name == "VoucherClaimed")
    c = events[claim]
    events[claim] = replace(c, args={**c.args, "amount": c.args["amount"] + 10**9, "paid": c.args["paid"] + 10**9})

    state = Rebuild(events).run()

    conservation = [d for d in state.found if d.check == "value_conservation"]
    assert conservation[0].location == {"token_id": e.args["_fromTokenId"], "receivable_id": 1,
                                        "event": "TransferValue", "block": e.block_number, "tx_hash": e.tx_hash,
                                        "log_index": e.log_index}
    claims = [d for d in state.found if d.check == "claims" and d.location.get("tx_hash") == c.tx_hash
              and d.location.get("log_index") == c.log_index]
    assert any("more than its pro-rata entitlement" in d.message for d in claims)
    assert any("paid out" in d.message and "repaid only" in d.message for d in claims)
    # and the totals at the end say the same of the receivable
    assert any(d.check == "claims" and d.location == {"receivable_id": c.args["receivableId"]} for d in state.found)


def test_a_fingerprint_backing_two_live_receivables_is_reported_per_obligor(audited):
    """The duplicate-financing rule is per obligor (issue 13, item 8): feed the rebuild a history
    where a second live receivable cites the first one's fingerprint, first of the same obligor
    (a discrepancy), then of another obligor (none: a squat that blocks nobody)."""
    with Auditor(audited.url, audited.deployment) as auditor:
        auditor.rebuild()
        events = list(auditor.history.events)
    issued = [i for i, e in enumerate(events) if e.name == "ReceivableIssued"]
    first, second = events[issued[0]], events[issued[1]]
    assert first.args["obligor"] == second.args["obligor"]
    doc = first.args["documentHash"]

    same = list(events)
    same[issued[1]] = replace(second, args={**second.args, "documentHash": doc})
    found = [d for d in Rebuild(same).run().found if d.check == "documents"]
    assert found and f"of {first.args['obligor']}" in found[0].message
    assert found[0].location["receivable_id"] == second.args["receivableId"]

    other = list(events)
    other[issued[1]] = replace(second, args={**second.args, "documentHash": doc,
                                             "obligor": "0x" + "ab" * 20})
    assert [d for d in Rebuild(other).run().found if d.check == "documents"] == []


def test_an_edited_uri_is_reported_byte_for_byte(audited, mirror_copy):
    """The URI's text cannot tell NUL from U+FFFD on chain; its bytes (uri_hex) can."""
    odd = audited.ids["odd_asset"]
    _sql(mirror_copy, "update data_asset set uri_hex = :h where asset_id = :a",
         h="0x" + "ipfs://odd\ufffduri/\u6570".encode().hex(), a=odd)

    result = audit(audited.url, audited.deployment, mirror_db=mirror_copy)

    found = _found(result, "mirror")
    assert [(d["location"]["table"], d["location"]["row"], d["location"]["column"]) for d in found] == [
        ("data_asset", {"asset_id": odd}, "uri_hex")]
    assert found[0]["expected"] == "0x" + "ipfs://odd\x00uri/\u6570".encode().hex()


def _rebuilt(auditor: Auditor, events) -> Rebuild:
    """Rebuild `events` as Auditor.rebuild does: replay, then the block times and the audited one."""
    state = Rebuild(events).run()
    blocks = sorted(state.timed_blocks())
    headers = auditor.rpc.batch_results([("eth_getBlockByNumber", [hex(n), False]) for n in blocks])
    state.set_times({n: int(h["timestamp"], 16) for n, (_, h) in zip(blocks, headers, strict=True)})
    state.now = auditor.history.timestamp
    return state


def test_the_pause_clock_is_rebuilt_and_compared_with_pausedtime_and_overdueat(audited):
    """The pause clock (issue 13.5) is state the audit did not compare: pausedTime() and each
    receivable's overdueAt() now equal what the Paused/Unpaused events say, and a receivable
    marked Overdue before maturity + grace + time paused since issue is reported."""
    from ledger.audit.views import compare_views

    # A receivable that lives through a 10-day pause, then is marked Overdue: its overdueAt
    # moved by the 10 days; one issued after the pause did not.
    w, led = audited.world, audited.world.ledger
    during = w.issue()
    led.pause(w.operator)
    w.advance(10 * 86_400)
    led.unpause(w.operator)
    after = w.issue()
    w.advance(90 * 86_400 + 7 * 86_400 + 10 * 86_400 + 1)
    led.mark_overdue(w.tier2, during.receivable_id)
    assert led.overdue_at(during.receivable_id) - led.receivable(during.receivable_id).maturity >= 7 * 86_400 + 10 * 86_400
    assert led.overdue_at(after.receivable_id) - led.receivable(after.receivable_id).maturity == 7 * 86_400

    with Auditor(audited.url, audited.deployment) as auditor:
        state = auditor.rebuild()
        history = auditor.history
        events = list(history.events)
        assert state.pauses and state.pauses[-1][1] is not None  # the world pauses and unpauses
        found, _ = compare_views(state, auditor.rpc, history.contracts, history.block)
        assert [d for d in found if d.location.get("view") in ("pausedTime", "overdueAt")] == []
        assert not [d for d in state.found if d.check == "pause_clock"]

        # A history without its Unpaused: the ledger would still be paused, the clock running.
        unpaused = max(i for i, e in enumerate(events) if e.name == "Unpaused")
        running = _rebuilt(auditor, events[:unpaused] + events[unpaused + 1:])
        found, _ = compare_views(running, auditor.rpc, history.contracts, history.block)
        wrong = [d.location for d in found if d.location.get("view") in ("pausedTime", "overdueAt")]
        assert {"view": "pausedTime"} in wrong
        assert {"receivable_id": during.receivable_id, "view": "overdueAt"} in wrong
        # A history without its Paused: an Unpaused that nothing paused.
        paused = next(i for i, e in enumerate(events) if e.name == "Paused")
        lone = Rebuild(events[:paused] + events[paused + 1:]).run()
        (flag,) = [d for d in lone.found if d.check == "pause_clock"]
        assert flag.location["event"] == "Unpaused" and "not paused" in flag.message

        # A receivable marked Overdue although, by its issue's maturity, it was not yet due.
        rid = during.receivable_id
        issued = next(i for i, e in enumerate(events) if e.name == "ReceivableIssued" and e.args["receivableId"] == rid)
        late = list(events)
        late[issued] = replace(events[issued], args={**events[issued].args,
                                                      "maturity": events[issued].args["maturity"] + 400 * 86_400})
        early = [d for d in _rebuilt(auditor, late).found if d.check == "pause_clock"]
        assert [d.location["receivable_id"] for d in early] == [rid]
        assert early[0].location["event"] == "ReceivableOverdue" and "marked Overdue" in early[0].message


def test_foreclosures_citing_another_voucher_than_the_held_assets_are_reported(audited):
    """The rule of 408a8a2 seen from the events: every asset held against a receivable cites one
    voucher, held by the pledgee, and they are credited at most its unpaid value."""
    import os

    import audit_world

    from ledger import Role

    w, led = audited.world, audited.world.ledger
    appraiser, exchange = w.spare, audit_world.mirror_world.dev_account(7)
    if Role.APPRAISER not in led.roles(appraiser):  # the lifecycle admitted both
        led.admit(w.operator, appraiser, [Role.APPRAISER])
        led.admit(w.operator, exchange, [Role.EXCHANGE])
    assets = []
    for _ in range(2):
        asset = led.register_data_asset(w.core, os.urandom(32)).asset_id
        led.appraise(appraiser, asset, report_hash=os.urandom(32), value=20_000, valid_until=w.now() + 180 * 86_400)
        led.list_data_asset(exchange, asset, b"SZDE-0002".ljust(32, b"\0"))
        led.pledge(w.core, asset, w.line_id)
        assets.append(asset)
    issued = w.issue()
    token = led.split(w.tier1, issued.token_id, w.bank, 50_000).token_id
    other = led.split(w.tier1, issued.token_id, w.bank, 10_000).token_id
    w.advance(90 * 86_400 + 7 * 86_400 + 1)
    led.mark_overdue(w.tier2, issued.receivable_id)
    led.declare_default(w.bank, issued.receivable_id)
    for asset in assets:
        led.foreclose(w.bank, asset, token)

    with Auditor(audited.url, audited.deployment) as auditor:
        events = list(auditor.rebuild().events)
        assert not [d for d in auditor.state.found if d.check == "pledges"]
    second = max(i for i, e in enumerate(events) if e.name == "DataAssetForeclosed")
    e = events[second]

    def flags(**args):
        tampered = list(events)
        tampered[second] = replace(e, args={**e.args, **args})
        return [d for d in Rebuild(tampered).run().found if d.check == "pledges"]

    (two,) = [d for d in flags(tokenId=other) if "cite vouchers" in d.message]
    assert two.actual == sorted([token, other])
    assert two.location["receivable_id"] == issued.receivable_id and two.location["log_index"] == e.log_index
    (foreign,) = flags(tokenId=issued.token_id)  # tier1's voucher: not the pledgee's
    assert "held by the pledgee" in foreign.message and foreign.actual == w.tier1.address
    over = flags(recovered=35_000, value=35_000)  # 20,000 + 35,000 held against a 50,000 voucher
    assert any("unpaid value is 50000" in d.message for d in over)


def test_an_audit_during_a_pause_agrees_with_the_running_pause_clock(audited):
    """pausedTime() and overdueAt() move on while paused: the audit of a block inside a pause
    computes them at that block's timestamp, as the node's eth_call at that block does."""
    from ledger.audit.views import compare_views

    w, led = audited.world, audited.world.ledger
    issued = w.issue()
    led.pause(w.operator)
    try:
        w.advance(3 * 86_400)
        with Auditor(audited.url, audited.deployment) as auditor:
            state = auditor.rebuild()
            assert state.pauses[-1][1] is None  # paused at the audited block
            found, _ = compare_views(state, auditor.rpc, auditor.history.contracts, auditor.history.block)
            clock = [d for d in found if d.location.get("view") in ("pausedTime", "overdueAt")]
            assert clock == []
            assert state.overdue_at(issued.receivable_id, state.now) >= led.receivable(issued.receivable_id).maturity \
                + 7 * 86_400 + 3 * 86_400
    finally:
        led.unpause(w.operator)
