"""The chain node stops and starts again (its state kept, ``anvil --state``) while the gateway
serves writes: every request completes or fails cleanly with a 5xx naming the cause, a retry
with the same Idempotency-Key completes it with exactly one effect, nothing is half-applied
(chain, mirror and the gateway's records agree), and the mirror catches up."""

from __future__ import annotations

import json
import time

from faults_world import MASTER_SECRET, Writers
from sqlmodel import Session, create_engine, select

from gateway.models import IdempotencyRecord
from ledger.audit import audit
from ledger.mirror.db import database_url

CLEAN_5XX = {"ChainUnavailable", "MirrorUnavailable", "DatabaseUnavailable"}


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def assert_clean(outcomes) -> None:
    """2xx, or a 5xx whose body names the cause; never a 500, a bare text page or a dropped connection."""
    for o in outcomes:
        assert o.status in (200, 201, 202, 502, 503), o
        if o.status >= 500:
            assert isinstance(o.body, dict) and o.body.get("error") in CLEAN_5XX and o.body.get("detail"), o
            assert "Traceback" not in str(o.body), o


def test_chain_node_stopped_and_restarted_while_writes_arrive(fw):
    roots = [fw.issue(1_000_000)["token_id"] for _ in range(2)]
    jobs = [(fw.tier1, f"/v1/vouchers/{root}/split", {"to": fw.tier2.address, "value": "1"}) for root in roots]
    ok = lambda o: o.status in (200, 201, 202)  # noqa: E731
    with Writers(fw, jobs) as writers:
        wait_for(lambda: writers.count(ok) >= 6, 60, "writes before the outage")
        fw.node.restart(down_for=3)
        before = writers.count(ok)
        wait_for(lambda: writers.count(ok) >= before + 6, 90, "writes after the restart")
    outcomes = list(writers.outcomes)
    failed = [o for o in outcomes if not ok(o)]
    assert failed, "no write met the outage: the test proved nothing"
    assert_clean(outcomes)

    # Every key that failed completes on a retry, once.
    for o in failed:
        who, path, body = writers.requests[o.key]
        retried = fw.post(who, path, body, key=o.key)
        assert retried.status == 201, (o, retried)
        again = fw.post(who, path, body, key=o.key)
        assert (again.status, again.body) == (201, retried.body)
    keys = {o.key for o in outcomes}

    # Each key made exactly one voucher of value 1 for tier2, split from one of the roots.
    spent = sum(1_000_000 - fw.ledger.voucher_of(root).value for root in roots)
    assert spent == len(keys), f"{len(keys)} writes took {spent} units: some applied twice or not at all"
    assert fw.ledger.voucher_count(fw.tier2.address) == len(keys)

    # The gateway's records: every key done, its answer naming a voucher the chain and mirror hold.
    engine = create_engine(database_url(fw.gateway_db))
    with Session(engine) as s:
        records = {r.key: r for r in s.exec(select(IdempotencyRecord)).all() if r.key in keys}
    engine.dispose()
    assert set(records) == keys and all(r.state == "done" for r in records.values())
    made = {int(json.loads(r.response)["token_id"]) for r in records.values()}
    assert len(made) == len(keys)
    for token_id in made:
        v = fw.ledger.voucher_of(token_id)
        assert (v.holder, v.value) == (fw.tier2.address, 1)
        r = fw.get(fw.tier2, f"/v1/vouchers/{token_id}")
        assert r.status_code == 200 and r.json()["value"] == "1", r.text

    # The mirror caught up, and chain, views, mirror and stored documents agree.
    head = fw.ledger.chain.w3.eth.block_number
    wait_for(lambda: fw.get(fw.tier2, "/ready").status_code == 200, 30, "the gateway to be ready")
    result = audit(fw.node.url, fw.ledger.deployment, mirror_db=fw.mirror_db, gateway_db=fw.gateway_db,
                   master_secret=MASTER_SECRET)
    assert result.ok, [d.to_json() for d in result.discrepancies[:5]]
    assert result.block >= head
