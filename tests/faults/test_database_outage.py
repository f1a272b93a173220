"""The database (PostgreSQL, holding the gateway's records and the mirror) refuses every
connection for a while, its open sessions cut, while writes arrive: writes are refused cleanly
(503 DatabaseUnavailable, nothing half-done), the mirror resumes once it is back and catches up,
and a retry of each refused key gives exactly one effect.

It needs a PostgreSQL server: $LEDGER_TEST_DATABASE_URL (tools/postgres.sh starts one; bash
run.sh test does). Without it the test skips locally and fails in CI (CI=true)."""

from __future__ import annotations

import os
import time
import uuid

import pytest
from faults_world import MASTER_SECRET, Writers, build
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from test_chain_restart import assert_clean, wait_for

from ledger.audit import audit
from ledger.mirror import MirrorReader

PG_ENV = "LEDGER_TEST_DATABASE_URL"
OUTAGE_SECONDS = 6


@pytest.fixture
def database():
    """A fresh PostgreSQL database (its URL) and an admin engine on the server's own database."""
    base = os.environ.get(PG_ENV)
    if not base:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"${PG_ENV} is not set: CI must run the database fault test on PostgreSQL")
        pytest.skip(f"PostgreSQL: set ${PG_ENV} (bash tools/postgres.sh run ...)")
    name = f"faults_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False), name, admin
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def set_available(admin, name: str, available: bool) -> None:
    """Let connections in again, or refuse new ones and end every open session."""
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"true" if available else "false"}'))
        if not available:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})


def test_database_unavailable_for_a_while(database, tmp_path):
    url, name, admin = database
    fw = build(tmp_path, mirror_db=url, gateway_db=url)
    try:
        roots = [fw.issue(1_000_000)["token_id"] for _ in range(2)]
        jobs = [(fw.tier1, f"/v1/vouchers/{root}/split", {"to": fw.tier2.address, "value": "1"}) for root in roots]
        ok = lambda o: o.status in (200, 201, 202)  # noqa: E731
        with Writers(fw, jobs) as writers:
            wait_for(lambda: writers.count(ok) >= 6, 60, "writes before the outage")
            set_available(admin, name, False)
            down = len(writers.outcomes)
            time.sleep(OUTAGE_SECONDS)
            during = list(writers.outcomes[down:])
            set_available(admin, name, True)
            before = writers.count(ok)
            wait_for(lambda: writers.count(ok) >= before + 6, 90, "writes after the database came back")
        outcomes = list(writers.outcomes)
        assert_clean(outcomes)
        refused = [o for o in during if not ok(o)]
        assert refused, f"no write was refused while the database was away: {during}"
        assert any(isinstance(o.body, dict) and o.body.get("error") == "DatabaseUnavailable" for o in refused), refused

        answers = {o.key: o.body for o in outcomes if ok(o)}
        for o in outcomes:
            if not ok(o):
                who, path, body = writers.requests[o.key]
                retried = fw.post(who, path, body, key=o.key)
                assert retried.status == 201, (o, retried)
                answers[o.key] = retried.body
        spent = sum(1_000_000 - fw.ledger.voucher_of(root).value for root in roots)
        assert spent == len(answers), f"{len(answers)} writes took {spent} units"
        assert fw.ledger.voucher_count(fw.tier2.address) == len(answers)

        # The mirror thread survived the outage and follows the head again.
        head = fw.ledger.chain.w3.eth.block_number
        reader = MirrorReader(url)
        try:
            wait_for(lambda: reader.block() is not None and reader.block().number >= head, 30, "the mirror")
        finally:
            reader.close()
        result = audit(fw.node.url, fw.ledger.deployment, mirror_db=url, gateway_db=url, master_secret=MASTER_SECRET)
        assert result.ok, [d.to_json() for d in result.discrepancies[:5]]
    finally:
        fw.gateway.stop()
        fw.node.stop()
