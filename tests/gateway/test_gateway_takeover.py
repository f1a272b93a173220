"""Idempotent writes cut off by a crash: a retry takes the pending write over from its dead
owner, finds on chain what it already sent and never sends that again (gateway.idempotency).

A crash is staged by rewriting a finished record as the dead process would have left it:
pending, owned by an instance with no heartbeat, its steps recorded but without their hashes.
"""

from __future__ import annotations

import json
import uuid

from gateway_world import dev_account
from sqlalchemy import update

from gateway.models import IdempotencyRecord

TABLE = IdempotencyRecord.__table__


def record_of(gw, key: str):
    with gw.gateway.engine.connect() as conn:
        return conn.execute(TABLE.select().where(TABLE.c.key == key)).one()


def crash(gw, key: str, *, sent: bool = True) -> None:
    """Make `key`'s record look like its process died mid-write: after sending (sent) or right
    after recording the step but before sending it (not sent: the step is moved past the head)."""
    steps = json.loads(record_of(gw, key).steps)
    for step in steps:
        step.pop("tx_hash", None)
        if not sent:
            step["after"] = gw.head()
    with gw.gateway.engine.begin() as conn:
        conn.execute(update(TABLE).where(TABLE.c.key == key).values(
            state="pending", status_code=None, response=None, owner="a-dead-instance", steps=json.dumps(steps)))


def test_a_write_cut_off_after_it_was_mined_is_answered_from_the_chain(gw):
    root = gw.issue()["token_id"]
    key = str(uuid.uuid4())
    body = {"to": gw.tier2.address, "value": "1000"}
    first = gw.post(gw.tier1, f"/v1/vouchers/{root}/split", body, key=key)
    assert first.status_code == 201
    crash(gw, key)
    head = gw.head()
    retried = gw.post(gw.tier1, f"/v1/vouchers/{root}/split", body, key=key)
    assert retried.status_code == 201, retried.json()
    assert retried.json()["token_id"] == first.json()["token_id"]
    assert retried.json()["tx_hash"] == first.json()["tx_hash"]
    assert gw.head() == head  # nothing sent again
    assert gw.ledger.voucher_of(root).value == 99_000
    record = record_of(gw, key)
    assert record.state == "done" and json.loads(record.steps)[0]["tx_hash"] == first.json()["tx_hash"]


def test_a_retry_whose_checks_now_fail_answers_what_the_first_attempt_did(gw):
    root = gw.issue()["token_id"]
    key = str(uuid.uuid4())
    first = gw.post(gw.tier1, f"/v1/vouchers/{root}/transfer", {"to": gw.tier2.address}, key=key)
    assert first.status_code == 200
    crash(gw, key)
    head = gw.head()
    # tier1 no longer holds the voucher, so the re-run's own check refuses: the answer is the
    # transaction the first attempt got mined, with its events.
    retried = gw.post(gw.tier1, f"/v1/vouchers/{root}/transfer", {"to": gw.tier2.address}, key=key)
    assert retried.status_code == 200, retried.json()
    answer = retried.json()
    assert answer["recovered"] is True and answer["tx_hash"] == first.json()["tx_hash"]
    transfers = [e for e in answer["transactions"][0]["events"] if e["name"] == "Transfer"]
    assert transfers and transfers[0]["to"] == gw.tier2.address and transfers[0]["tokenId"] == str(root), answer
    assert answer["block"]["number"] >= answer["mined_in"]
    assert gw.head() == head
    assert gw.ledger.voucher_of(root).holder == gw.tier2.address


def test_a_write_cut_off_before_it_sent_anything_is_sent_once_on_retry(gw):
    root = gw.issue()["token_id"]
    body = {"to": gw.tier2.address, "value": "500"}
    # Another key made the very same call before: its transaction must not be taken for ours.
    done = gw.post(gw.tier1, f"/v1/vouchers/{root}/split", body, key=str(uuid.uuid4()))
    assert done.status_code == 201
    key = str(uuid.uuid4())
    first = gw.post(gw.tier1, f"/v1/vouchers/{root}/split", body, key=key)
    assert first.status_code == 201
    # Undo nothing on chain, but stage the record as if its step had been recorded and the process
    # died before sending: the step is looked for only after the block it was recorded at.
    crash(gw, key, sent=False)
    head = gw.head()
    retried = gw.post(gw.tier1, f"/v1/vouchers/{root}/split", body, key=key)
    assert retried.status_code == 201, retried.json()
    assert retried.json()["tx_hash"] not in (first.json()["tx_hash"], done.json()["tx_hash"])
    assert gw.head() == head + 1  # sent once on the retry
    assert gw.ledger.voucher_of(root).value == 100_000 - 3 * 500


def test_a_write_whose_owner_is_alive_is_not_taken_over(gw):
    root = gw.issue()["token_id"]
    key = str(uuid.uuid4())
    body = {"to": gw.tier2.address, "value": "1"}
    assert gw.post(gw.tier1, f"/v1/vouchers/{root}/split", body, key=key).status_code == 201
    crash(gw, key)
    idempotent = gw.gateway.idempotent
    record = record_of(gw, key)
    assert idempotent._abandoned(record)  # its owner left no heartbeat
    with gw.gateway.engine.begin() as conn:  # now owned by this live process, which runs it
        conn.execute(update(TABLE).where(TABLE.c.key == key).values(owner=idempotent.instance))
    with idempotent._lock:
        idempotent._running.add(record.id)
    try:
        assert not idempotent._abandoned(record_of(gw, key))
    finally:
        with idempotent._lock:
            idempotent._running.discard(record.id)
    assert idempotent._abandoned(record_of(gw, key))  # ours, but no longer running: a failed release
    retried = gw.post(gw.tier1, f"/v1/vouchers/{root}/split", body, key=key)
    assert retried.status_code == 201 and gw.ledger.voucher_of(root).value == 99_999


def test_a_self_signed_transaction_mined_before_the_crash_is_answered_with_its_receipt(gw):
    own = dev_account(9)
    party = gw.register("Own-key supplier after a crash", ["SUPPLIER_ROLE"], address=own.address)
    issued = gw.issue(supplier=party, accept=False)
    w3 = gw.gateway.chain.w3
    tx = gw.ledger.voucher.functions.accept(issued["receivable_id"]).build_transaction({
        "from": own.address, "nonce": w3.eth.get_transaction_count(own.address), "chainId": w3.eth.chain_id,
        "gas": 500_000, "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9})
    raw = "0x" + bytes(own.sign_transaction(tx).raw_transaction).hex()
    key = str(uuid.uuid4())
    first = gw.post(party, "/v1/transactions", {"raw_transaction": raw}, key=key)
    assert first.status_code == 200, first.json()
    crash(gw, key)
    # Simulating it again would refuse (ReceivableNotPending): the retry answers its receipt.
    retried = gw.post(party, "/v1/transactions", {"raw_transaction": raw}, key=key)
    assert retried.status_code == 200, retried.json()
    assert retried.json()["tx_hash"] == first.json()["tx_hash"]
    assert "ReceivableAccepted" in retried.json()["events"]
