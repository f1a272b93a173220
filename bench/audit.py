"""The audit's speed on a chain holding at least 10,000 vouchers.

Run as ``python -m bench.audit [--vouchers N] [--out PATH]``. It starts its own Anvil (loopback,
stopped at the end), deploys, and makes N splits of four large vouchers (one new voucher each)
as pre-signed transactions sent in JSON-RPC batches (bench.mirror.generate). Then it times:

1. ``audit_seconds``: the whole audit from the chain alone (eth_getLogs paged, decode, rebuild
   with every step checked, then every voucher, receivable, line and offer compared with the
   contracts' views at the audited block, the eth_calls sent in JSON-RPC batches of 1,000);
2. ``audit_with_mirror_seconds``: the same plus the comparison of a SQLite mirror (caught up
   beforehand, not timed) row by row and its event_log log by log;
3. ``view_calls_per_s``: the batched eth_call rate of step 1's view comparison, and
   ``view_calls_per_s_unbatched``: the same calls one HTTP request each (a 1,000-call sample).

Writes ``bench/results/audit.json`` in the shape of every benchmark here; the baseline of
``audit_seconds`` is the 30 s target (ratio ≤ 1 is good).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.gas import machine, write_results
from bench.mirror import EVENTS_PER_SPLIT, generate
from ledger.audit import audit
from ledger.audit.rpc import AuditRpc
from ledger.audit.views import View
from ledger.mirror import Mirror
from ledger.node import LocalNode
from ledger.paths import PROJECT_ROOT

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "audit.json"
TARGETS = {"audit_seconds": 30.0}
UNBATCHED_SAMPLE = 1_000


def _row(metric: str, value: float | int | None, unit: str) -> dict:
    baseline = TARGETS.get(metric)
    if isinstance(value, float):
        value = round(value, 3)
    ratio = round(value / baseline, 4) if (baseline and value is not None) else None
    return {"metric": metric, "value": value, "unit": unit, "baseline": baseline, "ratio": ratio}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.audit", description=__doc__.splitlines()[0])
    parser.add_argument("--vouchers", type=int, default=10_000, help="vouchers to make by splitting (default 10,000)")
    parser.add_argument("--out", type=Path, default=RESULTS_PATH,
                        help=f"JSON output (default {RESULTS_PATH.relative_to(PROJECT_ROOT)})")
    args = parser.parse_args(argv)

    with LocalNode(kind="anvil") as node, tempfile.TemporaryDirectory() as tmp:
        ledger, _ = generate(node, args.vouchers * EVENTS_PER_SPLIT)
        result = audit(node.url, ledger.deployment)
        assert result.ok, [d.to_json() for d in result.discrepancies[:5]]
        vouchers = result.counts["vouchers"]
        seconds = result.timings["total"]
        views = result.timings["chain_views"]
        print(f"audit (chain only): {vouchers} vouchers, {result.counts['events']} events, "
              f"{result.counts['view_calls']} view calls: {seconds:.2f}s (fetch and rebuild "
              f"{result.timings['fetch_and_rebuild']:.2f}s, views {views:.2f}s)")

        # What batching buys: the same voucherOf calls one HTTP request each, on a sample.
        view = View(ledger.deployment.voucher, ledger.voucher.abi, "voucherOf")
        sample = [view.call(t) for t in range(1, UNBATCHED_SAMPLE + 1)]
        rpc = AuditRpc(node.url)
        started = time.perf_counter()
        rpc.eth_calls(sample, result.block, size=1)
        unbatched = UNBATCHED_SAMPLE / (time.perf_counter() - started)
        rpc.close()
        print(f"unbatched eth_call: {unbatched:.0f} calls/s "
              f"(the view comparison would take {result.counts['view_calls'] / unbatched:.1f}s unbatched)")

        db = os.path.join(tmp, "mirror.db")
        with Mirror(node.url, db, ledger.deployment) as mirror:
            mirror.sync()
        with_mirror = audit(node.url, ledger.deployment, mirror_db=db)
        assert with_mirror.ok, [d.to_json() for d in with_mirror.discrepancies[:5]]
        print(f"audit with the mirror: {with_mirror.timings['total']:.2f}s "
              f"(mirror comparison {with_mirror.timings['mirror']:.2f}s)")

    rows = [
        _row("vouchers", vouchers, "vouchers"),
        _row("events", result.counts["events"], "events"),
        _row("audit_seconds", seconds, "s"),
        _row("audit_fetch_and_rebuild_seconds", result.timings["fetch_and_rebuild"], "s"),
        _row("audit_view_comparison_seconds", views, "s"),
        _row("view_calls_per_s", result.counts["view_calls"] / views, "calls/s"),
        _row("view_calls_per_s_unbatched", unbatched, "calls/s"),
        _row("audit_with_mirror_seconds", with_mirror.timings["total"], "s"),
    ]
    path = write_results(rows, args.out, machine())
    for row in rows:
        print(f"{row['metric']:<34} {row['value']:>12} {row['unit']:<8} "
              f"baseline {row['baseline']} ratio {row['ratio']}")
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
