"""Idempotency, concurrency, secrets at rest and self-signed transactions."""

from __future__ import annotations

import logging
import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gateway_world import DAY, dev_account, write_secrets


def test_an_idempotent_retry_returns_the_first_result_and_sends_once(gw):
    issued = gw.issue()
    key = str(uuid.uuid4())
    body = {"to": gw.tier2.address, "value": "1000"}
    first = gw.post(gw.tier1, f"/v1/vouchers/{issued['token_id']}/split", body, key=key)
    head = gw.head()
    again = gw.post(gw.tier1, f"/v1/vouchers/{issued['token_id']}/split", body, key=key)
    assert again.status_code == first.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert gw.head() == head
    assert gw.get(gw.tier1, f"/v1/vouchers/{issued['token_id']}").json()["value"] == "99000"
    other = gw.post(gw.tier1, f"/v1/vouchers/{issued['token_id']}/split", {**body, "value": "2"}, key=key)
    assert other.status_code == 422 and other.json()["error"] == "IdempotencyKeyReused"
    # The same key is another party's own.
    mine = gw.post(gw.tier2, f"/v1/vouchers/{first.json()['token_id']}/split", body, key=key)
    assert mine.status_code == 201


def test_concurrent_duplicates_of_one_key_send_once(gw):
    issued = gw.issue()
    key = str(uuid.uuid4())
    head = gw.head()
    with ThreadPoolExecutor(10) as pool:
        replies = list(pool.map(lambda _: gw.post(gw.tier1, f"/v1/vouchers/{issued['token_id']}/split",
                                                  {"to": gw.tier2.address, "value": "7"}, key=key), range(10)))
    assert {r.status_code for r in replies} == {201}
    assert len({r.json()["token_id"] for r in replies}) == 1
    assert gw.head() == head + 1
    assert gw.get(gw.tier1, f"/v1/vouchers/{issued['token_id']}").json()["value"] == str(100_000 - 7)


def test_a_refusal_is_remembered_too(gw):
    issued = gw.issue(face_value=10)
    key = str(uuid.uuid4())
    body = {"to": gw.tier2.address, "value": "11"}
    first = gw.post(gw.tier1, f"/v1/vouchers/{issued['token_id']}/split", body, key=key)
    again = gw.post(gw.tier1, f"/v1/vouchers/{issued['token_id']}/split", body, key=key)
    assert first.status_code == again.status_code == 409 and first.json() == again.json()


def test_fifty_concurrent_splits_move_exactly_the_available_value(gw):
    issued = gw.issue(face_value=100_000)
    root = issued["token_id"]

    def split(_):
        return gw.post(gw.tier1, f"/v1/vouchers/{root}/split", {"to": gw.tier2.address, "value": "3000"})

    head = gw.head()
    with ThreadPoolExecutor(50) as pool:
        replies = list(pool.map(split, range(50)))
    ok = [r for r in replies if r.status_code == 201]
    refused = [r for r in replies if r.status_code != 201]
    assert len(ok) == 33, [r.json() for r in refused][:3]
    for r in refused:
        # The gateway's per-voucher lock runs them one after another: each refusal comes from the
        # gas estimate, before anything is sent (no reverted transaction on-chain).
        assert r.status_code == 409, r.json()
        assert r.json()["error"] == "VoucherInsufficientValue" and "tx_hash" not in r.json(), r.json()
    assert gw.head() == head + 33
    gw.gateway.wait_for_block(gw.head())
    tree = gw.get(gw.auditor, "/v1/vouchers", receivable_id=issued["receivable_id"], limit=500).json()
    values = {v["token_id"]: int(v["value"]) for v in tree["items"]}
    assert values[root] == 1_000 and sum(values.values()) == 100_000 and len(values) == 34
    assert gw.ledger.voucher_of(root).value == 1_000
    assert sorted(r.json()["token_id"] for r in ok) == sorted(t for t in values if t != root)


def test_keys_are_never_stored_in_plaintext(gw):
    gateway = gw.gateway
    from sqlmodel import select

    from gateway.models import Party
    with gateway.session() as s:
        parties = s.exec(select(Party)).all()
    secrets_ = [k.encode() for k in gw.api_keys]
    for party in parties:
        if party.sealed_key is None:
            continue
        key = bytes(gateway.account_of(party).key)
        secrets_ += [key, key.hex().encode(), key.hex().upper().encode()]
        assert key not in party.sealed_key
    secrets_.append(gw.settings.master_secret.get_secret_value().encode())
    with sqlite3.connect(gw.settings.db) as conn:
        conn.execute("PRAGMA wal_checkpoint(FULL)")
    blobs = [Path(p).read_bytes() for p in Path(gw.settings.db).parent.glob("gateway.db*")]
    assert blobs
    for blob in blobs:
        for secret in secrets_:
            assert secret not in blob
    assert MASTER not in repr(gw.settings) and MASTER not in repr(gateway)


MASTER = "master-secret-for-tests-0123456789"


def test_a_party_with_its_own_key_submits_self_signed_transactions(gw):
    own = dev_account(7)
    party = gw.register("Own-key supplier", ["SUPPLIER_ROLE"], address=own.address)
    issued = gw.issue(supplier=party, accept=False)
    r = gw.post(party, f"/v1/receivables/{issued['receivable_id']}/accept")
    assert r.status_code == 409 and "sign the transaction yourself" in r.json()["detail"]
    w3 = gw.gateway.chain.w3

    def signed(fn, account):
        tx = fn.build_transaction({"from": account.address, "nonce": w3.eth.get_transaction_count(account.address),
                                   "chainId": w3.eth.chain_id, "gas": 500_000,
                                   "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9})
        return "0x" + bytes(account.sign_transaction(tx).raw_transaction).hex()

    voucher = gw.ledger.voucher.functions
    r = gw.post(party, "/v1/transactions", {"raw_transaction": signed(voucher.accept(issued["receivable_id"]),
                                                                      dev_account(8))})
    assert r.status_code == 422 and r.json()["error"] == "InvalidInput"
    head = gw.head()
    r = gw.post(party, "/v1/transactions", {"raw_transaction": signed(voucher.revoke(issued["receivable_id"]), own)})
    assert r.status_code == 403 and r.json()["error"] == "ReceivableNotObligor" and gw.head() == head
    r = gw.post(party, "/v1/transactions", {"raw_transaction": signed(voucher.accept(issued["receivable_id"]), own)})
    assert r.status_code == 200, r.json()
    assert "ReceivableAccepted" in r.json()["events"]
    assert gw.get(party, f"/v1/receivables/{issued['receivable_id']}").json()["state"] == "ACTIVE"


def test_no_key_secret_or_document_appears_in_plaintext_on_disk_or_in_logs(gw, caplog):
    """A run of writes with every logger at DEBUG: afterwards no private key, API key, master
    secret, operator credential or document content is found in any file under the gateway's
    data directory (both databases with their WAL files, before and after a checkpoint) nor in
    any log record (messages and tracebacks)."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")  # SQL with its parameters, too
    run = write_secrets(gw, "2026-117, 40 pallets,")
    newcomer, document, document_hash, secrets_ = run.newcomer, run.document, run.document_hash, run.secrets
    asset_id = run.asset_id
    r = gw.post(gw.appraiser, f"/v1/data-assets/{asset_id}/appraisals", {
        "report_hash": run.report_hash, "value": "1000000", "valid_until": gw.now() + 30 * DAY})
    assert r.status_code == 201, r.json()
    # The content is what was stored (sealed), so not finding it below means something.
    r = gw.client.get(f"/v1/documents/{document_hash}", headers=newcomer.auth)
    assert r.status_code == 200 and r.content == document
    assert f"{newcomer.name}'s private key" in secrets_
    settings = gw.settings

    data_dir = Path(settings.db).parent
    assert Path(settings.mirror_db).parent == data_dir

    def leaks_on_disk() -> list[str]:
        files = [p for p in data_dir.rglob("*") if p.is_file()]
        names = {p.name for p in files}
        assert {"gateway.db", "mirror.db"} <= names, names
        found = []
        for path in files:
            blob = path.read_bytes()
            found += [f"{name} in {path.name}" for name, secret in secrets_.items() if secret in blob]
        return found

    # First as the files are (recent writes still in the -wal files), then checkpointed.
    assert any(p.name == "gateway.db-wal" and p.stat().st_size for p in data_dir.iterdir())
    assert leaks_on_disk() == []
    for db in (settings.db, settings.mirror_db):
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA wal_checkpoint(FULL)")
    assert leaks_on_disk() == []

    records = caplog.records
    assert any(r.levelno == logging.DEBUG for r in records), "no DEBUG record was captured"
    assert any(r.name.startswith("sqlalchemy.engine") for r in records), "SQL was not logged"
    text = caplog.text.encode()
    # Controls: the scans see this run (the public fingerprint is in the database and the log).
    assert document_hash.encode() in text
    assert any(document_hash.encode() in (data_dir / name).read_bytes() for name in ("gateway.db", "mirror.db"))
    logged = [name for name, secret in secrets_.items() if secret in text]
    assert logged == [], f"in the logs: {logged}"
