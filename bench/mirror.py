"""The mirror's speed: full catch-up into SQLite and PostgreSQL, and block-to-SQL latency at the head.

Run as ``python -m bench.mirror [--events N] [--out PATH]``; for the PostgreSQL row, under
``bash tools/postgres.sh run .venv/bin/python -m bench.mirror`` (it reads
$LEDGER_TEST_DATABASE_URL; without it that row is null). It starts its own Anvil (loopback,
stopped at the end), deploys, then:

1. generates at least N events (default 50,000): splits of a few large vouchers, 3 events each
   (Transfer, SlotChanged, TransferValue), as pre-signed transactions sent in JSON-RPC batches;
2. times a full catch-up from the deployment block into a fresh SQLite file, then into a fresh
   PostgreSQL schema (events applied per second, wall clock, RPC included);
3. follows the head in a background thread (SQLite) while single transactions arrive at random
   intervals, and measures from the moment each block exists (Anvil mines as it accepts the
   transaction) to the commit that covers it: p50 and p99.

Writes ``bench/results/mirror.json`` in the shape of every benchmark here; a row's baseline is
its target (5,000 events/s into SQLite; 250 ms and 1,000 ms latency), so ratio ≥ 1 is good for
throughput and ≤ 1 for latency.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import requests
from eth_abi import encode
from eth_utils import keccak

from bench.gas import dev_accounts, machine, write_results
from ledger.chain import Chain
from ledger.client import Ledger
from ledger.deploy import deploy, deploy_settlement_token
from ledger.mirror import Mirror
from ledger.node import LocalNode
from ledger.paths import PROJECT_ROOT
from ledger.types import Role

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "mirror.json"
PG_ENV = "LEDGER_TEST_DATABASE_URL"
DAY = 86_400
EVENTS_PER_SPLIT = 3
BATCH = 500
SPLIT_SELECTOR = keccak(text="transferFrom(uint256,address,uint256)")[:4]
TARGETS = {"catchup_sqlite_events_per_s": 5_000, "head_latency_p50_ms": 250, "head_latency_p99_ms": 1_000}


def _post(url: str, body: list[dict]) -> list[dict]:
    replies = requests.post(url, json=body, timeout=300).json()
    errors = [r["error"] for r in replies if "error" in r]
    if errors:
        raise RuntimeError(f"node refused {len(errors)} transactions, first: {errors[0]}")
    return replies


def generate(node: LocalNode, events: int):
    """Deploy and make at least `events` events; return the Ledger and the count of split txs."""
    chain = Chain(node.url)
    operator, core, bank, holder, a, b = dev_accounts(6)
    deployment = deploy(chain, operator, save=False)
    ledger = Ledger(chain, deployment)
    cash = deploy_settlement_token(chain, operator)
    ledger.admit(operator, core, [Role.CORE_ENTERPRISE])
    ledger.admit(operator, bank, [Role.FINANCIER])
    for supplier in (holder, a, b):
        ledger.admit(operator, supplier, [Role.SUPPLIER])
    now = chain.w3.eth.get_block("latest")["timestamp"]
    line = ledger.grant_credit_line(bank, core, cash, 10**15, now + 365 * DAY)
    roots = []
    for n in range(4):
        issued = ledger.issue(core, holder, line_id=line.line_id, currency=cash, face_value=10**12,
                              maturity=now + 90 * DAY, document_hash=keccak(text=f"bench mirror {n}"))
        ledger.accept(holder, issued.receivable_id)
        roots.append(issued.token_id)

    splits = -(-events // EVENTS_PER_SPLIT)
    # Anvil packs a batch into full blocks; blocks fuller than half the gas limit raise the base
    # fee 12.5% each, and the pre-signed fee cap would soon be under it. Twice the room keeps
    # blocks under the target, so the base fee only falls.
    chain.w3.provider.make_request("evm_setBlockGasLimit", [hex(60_000_000)])
    nonce = chain.w3.eth.get_transaction_count(holder.address)
    base = chain.w3.eth.get_block("latest")["baseFeePerGas"]
    started = time.perf_counter()
    raws = []
    for i in range(splits):
        to = (a, b)[i % 2].address
        data = SPLIT_SELECTOR + encode(["uint256", "address", "uint256"], [roots[i % len(roots)], to, 1])
        tx = {"to": deployment.voucher, "data": data, "nonce": nonce + i, "gas": 300_000, "chainId": chain.chain_id,
              "maxFeePerGas": 2 * base + 50_000_000_000, "maxPriorityFeePerGas": 1_000_000_000}
        raws.append("0x" + holder.sign_transaction(tx).raw_transaction.hex().removeprefix("0x"))
    signed = time.perf_counter()
    for start in range(0, len(raws), BATCH):
        batch = raws[start:start + BATCH]
        _post(node.url, [{"jsonrpc": "2.0", "id": k, "method": "eth_sendRawTransaction", "params": [raw]}
                         for k, raw in enumerate(batch)])
        # Wait for each batch: Anvil's pool stalls when tens of thousands wait in it.
        while chain.w3.eth.get_transaction_count(holder.address) < nonce + start + len(batch):
            time.sleep(0.01)
    sent = time.perf_counter()
    print(f"generated {splits} splits: signed in {signed - started:.1f}s, mined in {sent - signed:.1f}s "
          f"({splits / (sent - signed):.0f} tx/s)")
    return ledger, splits


def catch_up(node: LocalNode, ledger: Ledger, db: str) -> tuple[float, int]:
    """Mirror everything into `db`; return (events per second, events)."""
    with Mirror(node.url, db, ledger.deployment) as mirror:
        started = time.perf_counter()
        mirror.sync()
        elapsed = time.perf_counter() - started
        with mirror.engine.connect() as conn:
            count = conn.exec_driver_sql("select count(*) from event_log").scalar()
    return count / elapsed, count


def head_latency(node: LocalNode, ledger: Ledger, db: str, samples: int) -> tuple[float, float]:
    """Follow the head; return p50 and p99 (ms) of block-exists-to-commit over `samples` blocks."""
    chain = ledger.chain
    _, _, _, holder, a, _ = dev_accounts(6)
    committed: dict[int, float] = {}
    with Mirror(node.url, db, ledger.deployment, poll_interval=0.02) as mirror:
        mirror.sync()
        mirror.on_commit = lambda cursor: committed.setdefault(cursor.number, time.perf_counter())
        mirror.start()
        root = ledger.voucher.functions.voucherOf(1).call()  # the first root, still `holder`'s
        assert root[0] == holder.address
        mined: dict[int, float] = {}
        rng = random.Random(1)
        nonce = chain.w3.eth.get_transaction_count(holder.address)
        base = chain.w3.eth.get_block("latest")["baseFeePerGas"]
        for i in range(samples):
            data = SPLIT_SELECTOR + encode(["uint256", "address", "uint256"], [1, a.address, 1])
            tx = {"to": ledger.deployment.voucher, "data": data, "nonce": nonce + i, "gas": 300_000,
                  "chainId": chain.chain_id, "maxFeePerGas": 2 * base + 2_000_000_000,
                  "maxPriorityFeePerGas": 1_000_000_000}
            raw = holder.sign_transaction(tx).raw_transaction
            chain.w3.eth.send_raw_transaction(raw)  # Anvil has mined the block when this returns
            at = time.perf_counter()
            mined[chain.w3.eth.block_number] = at
            time.sleep(rng.uniform(0.0, 0.1))
        mirror.wait_for_block(max(mined), timeout=30)
        mirror.stop()
    commits = sorted(committed.items())
    latencies = []
    for block, at in mined.items():
        done = next(t for n, t in commits if n >= block)
        latencies.append((done - at) * 1000)
    latencies.sort()
    return latencies[len(latencies) // 2], latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]


def postgres_schema(base: str) -> str:
    """A fresh schema on the server at `base`, as a URL whose search_path is that schema."""
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return f"{base}{'&' if '?' in base else '?'}options={quote(f'-csearch_path={schema}')}"


def _row(metric: str, value: float | None, unit: str) -> dict:
    baseline = TARGETS.get(metric)
    value = None if value is None else round(value, 1)
    ratio = round(value / baseline, 4) if (baseline and value is not None) else None
    return {"metric": metric, "value": value, "unit": unit, "baseline": baseline, "ratio": ratio}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mirror", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000, help="events to generate (default 50,000)")
    parser.add_argument("--samples", type=int, default=200, help="head-latency samples (default 200)")
    parser.add_argument("--out", type=Path, default=RESULTS_PATH,
                        help=f"JSON output (default {RESULTS_PATH.relative_to(PROJECT_ROOT)})")
    args = parser.parse_args(argv)

    with LocalNode(kind="anvil") as node, tempfile.TemporaryDirectory() as tmp:
        ledger, _ = generate(node, args.events)
        sqlite_rate, events = catch_up(node, ledger, os.path.join(tmp, "catchup.db"))
        print(f"SQLite: {events} events at {sqlite_rate:.0f}/s")
        pg_rate = None
        if os.environ.get(PG_ENV):
            pg_rate, pg_events = catch_up(node, ledger, postgres_schema(os.environ[PG_ENV]))
            print(f"PostgreSQL: {pg_events} events at {pg_rate:.0f}/s")
        else:
            print(f"PostgreSQL: skipped (${PG_ENV} unset; run under tools/postgres.sh run)")
        p50, p99 = head_latency(node, ledger, os.path.join(tmp, "head.db"), args.samples)

    rows = [
        _row("catchup_sqlite_events_per_s", sqlite_rate, "events/s"),
        _row("catchup_postgres_events_per_s", pg_rate, "events/s"),
        _row("head_latency_p50_ms", p50, "ms"),
        _row("head_latency_p99_ms", p99, "ms"),
        {"metric": "events_mirrored", "value": events, "unit": "events", "baseline": None, "ratio": None},
    ]
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Mirror: catch-up throughput and head latency (one Anvil, one run)")
    for column in ("metric", "value", "unit", "target", "ratio"):
        table.add_column(column, justify="left" if column in ("metric", "unit") else "right")
    for row in rows:
        table.add_row(row["metric"], "-" if row["value"] is None else f"{row['value']:,}", row["unit"],
                      "-" if row["baseline"] is None else f"{row['baseline']:,}",
                      "-" if row["ratio"] is None else f"{row['ratio']:.2f}")
    Console().print(table)
    print(f"wrote {write_results(rows, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
