"""The gateway process is killed (SIGKILL) while writes are in flight, then started again:
retries with the same Idempotency-Key give exactly one effect on chain each, and the gateway's
records, the mirror and the chain agree."""

from __future__ import annotations

import json
import random
import re
import time

from faults_world import MASTER_SECRET, Writers
from sqlmodel import Session, create_engine, select
from test_chain_restart import assert_clean, wait_for

from gateway.idempotency import INSTANCE_TTL
from gateway.models import IdempotencyRecord
from ledger.audit import audit
from ledger.mirror.db import database_url

KILLS = 3


def kill_mid_write(fw, writers: Writers, timeout: float = 30) -> None:
    """SIGKILL the gateway while a write is in flight and claimed: a request sent, not answered,
    whose idempotency record is pending. (A kill at a random moment mostly falls between writes
    once they take only milliseconds, and then the test would prove nothing.)"""
    engine = create_engine(database_url(fw.gateway_db))
    deadline = time.monotonic() + timeout
    try:
        while True:
            with writers._lock:
                in_flight = set(writers.requests) - {o.key for o in writers.outcomes}
            if in_flight:
                with Session(engine) as s:
                    claimed = s.exec(select(IdempotencyRecord.key).where(
                        IdempotencyRecord.state == "pending", IdempotencyRecord.key.in_(in_flight))).first()
                if claimed is not None:
                    fw.gateway.kill9()
                    return
            assert time.monotonic() < deadline, "no write was in flight to kill the gateway under"
            time.sleep(0.001)
    finally:
        engine.dispose()


def test_gateway_killed_mid_write_then_retries_give_one_effect(fw):
    rng = random.Random(9)
    roots = [fw.issue(1_000_000)["token_id"] for _ in range(2)]
    jobs = [(fw.tier1, f"/v1/vouchers/{root}/split", {"to": fw.tier2.address, "value": "1"}) for root in roots]
    ok = lambda o: o.status in (200, 201, 202)  # noqa: E731
    cut = lambda o: o.status == 0  # noqa: E731  (the connection dropped: the outcome is unknown)
    with Writers(fw, jobs) as writers:
        for _ in range(KILLS):
            before = writers.count(ok)
            wait_for(lambda: writers.count(ok) >= before + 4, 60, "writes before the kill")
            time.sleep(rng.uniform(0, 0.05))
            kill_mid_write(fw, writers)
            time.sleep(0.5)
            fw.gateway.start()
    outcomes = list(writers.outcomes)
    assert any(cut(o) for o in outcomes), "no write was cut off by a kill: the test proved nothing"
    assert_clean([o for o in outcomes if not cut(o)])

    # Every key that did not answer 2xx is retried with its key after the restart; a write its
    # dead process owned is taken over once that process's heartbeat is stale.
    answers = {}
    for o in outcomes:
        if ok(o):
            answers[o.key] = o.body
            continue
        who, path, body = writers.requests[o.key]
        retried = fw.post(who, path, body, key=o.key, timeout=INSTANCE_TTL + 60)
        assert retried.status == 201, (o, retried)
        answers[o.key] = retried.body
    # Writes a killed process had claimed were taken over from it (its heartbeat gone stale).
    taken = re.findall(r"taking over idempotent write \d+ \(key '(\w+)'\) from ([0-9a-f]{32})", fw.gateway.log(tail=None))
    assert taken, "no retry took a write over from a killed process: no kill landed mid-write"
    # A second retry of every key replays the same answer.
    for key, body in answers.items():
        who, path, request = writers.requests[key]
        again = fw.post(who, path, request, key=key)
        assert again.status == 201 and again.body == body, (key, body, again)

    keys = set(answers)
    spent = sum(1_000_000 - fw.ledger.voucher_of(root).value for root in roots)
    assert spent == len(keys), f"{len(keys)} writes took {spent} units: some applied twice or not at all"
    assert fw.ledger.voucher_count(fw.tier2.address) == len(keys)
    made = {body["token_id"] for body in answers.values()}
    assert len(made) == len(keys)
    for token_id in made:
        v = fw.ledger.voucher_of(token_id)
        assert (v.holder, v.value) == (fw.tier2.address, 1)

    engine = create_engine(database_url(fw.gateway_db))
    with Session(engine) as s:
        records = [r for r in s.exec(select(IdempotencyRecord)).all() if r.key in keys]
    engine.dispose()
    assert len(records) == len(keys) and all(r.state == "done" for r in records)
    assert {json.loads(r.response)["token_id"] for r in records} == made

    wait_for(lambda: fw.get(fw.tier2, "/ready").status_code == 200, 30, "the gateway to be ready")
    result = audit(fw.node.url, fw.ledger.deployment, mirror_db=fw.mirror_db, gateway_db=fw.gateway_db,
                   master_secret=MASTER_SECRET)
    assert result.ok, [d.to_json() for d in result.discrepancies[:5]]
