"""The gateway's throughput and latency against the raw chain limit, in one run.

Run as ``python -m bench.gateway [--clients N] [--seconds S] [--raw N] [--out PATH]``. It starts
its own Anvil (loopback, stopped at the end) and deploys, then:

1. the raw chain limit: N pre-signed splits (one holder, as bench/mirror.py does) sent in
   JSON-RPC batches of 500; transactions mined per second;
2. starts the gateway under uvicorn in a subprocess on 127.0.0.1 (its own process and GIL; the
   mirror runs in it as a thread; SQLite), registers parties through the API and gives each
   client a large voucher;
3. N client threads (httpx, keep-alive) each run a mix for S seconds: 20 % issue (the core
   enterprise issues to the client's supplier), 50 % split (alternately to the next client and
   to itself), 30 % transfer (a voucher it split to itself, whole, to the next client). Every
   write returns only once the mirror has applied its block (read-your-writes). Ops/s counts
   successful writes; latency is per request, wall clock, as the client sees it.

Writes ``bench/results/gateway.json``: `ops_per_s` with the raw limit as its baseline (ratio =
the fraction of it), `latency_p50_ms`, `latency_p99_ms`, and the raw limit and error count.
Targets: ≥ 500 ops/s and ≥ 0.2 × the raw limit.

It also accounts for the CPU: the CPU time the node, the gateway process and the clients (this
process) each spent during the client phase, per successful operation, and the ceiling that
puts on ops/s when all three share this machine's cores (cores × 1000 / the sum, in ms): where
that ceiling is below the target, the machine, not a wait, is what limits the run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from eth_abi import encode
from eth_utils import keccak

from bench.gas import dev_accounts, write_results
from bench.mirror import BATCH, SPLIT_SELECTOR, _post
from ledger.chain import Chain
from ledger.client import Ledger
from ledger.deploy import deploy, deploy_settlement_token
from ledger.node import LocalNode
from ledger.paths import PROJECT_ROOT
from ledger.types import Role

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "gateway.json"
DAY = 86_400
OPERATOR_TOKEN = "bench-operator-token-0123456789"
TARGET_OPS = 500
TARGET_FRACTION = 0.2
MIX = (("issue", 0.2), ("split", 0.5), ("transfer", 0.3))


def raw_limit(chain: Chain, ledger: Ledger, cash: str, count: int) -> float:
    """Pre-signed splits sent in JSON-RPC batches: transactions mined per second."""
    operator, core, bank, holder, a = dev_accounts(5)
    ledger.admit(operator, core, [Role.CORE_ENTERPRISE])
    ledger.admit(operator, bank, [Role.FINANCIER])
    for supplier in (holder, a):
        ledger.admit(operator, supplier, [Role.SUPPLIER])
    now = chain.w3.eth.get_block("latest")["timestamp"]
    line = ledger.grant_credit_line(bank, core, cash, 10**15, now + 365 * DAY)
    issued = ledger.issue(core, holder, line_id=line.line_id, currency=cash, face_value=10**12,
                          maturity=now + 90 * DAY, document_hash=keccak(text="bench gateway raw"))
    ledger.accept(holder, issued.receivable_id)
    nonce = chain.w3.eth.get_transaction_count(holder.address)
    base = chain.w3.eth.get_block("latest")["baseFeePerGas"]
    raws = []
    for i in range(count):
        data = SPLIT_SELECTOR + encode(["uint256", "address", "uint256"], [issued.token_id, a.address, 1])
        tx = {"to": ledger.voucher.address, "data": data, "nonce": nonce + i, "gas": 300_000,
              "chainId": chain.chain_id, "maxFeePerGas": 2 * base + 50_000_000_000,
              "maxPriorityFeePerGas": 1_000_000_000}
        raws.append("0x" + holder.sign_transaction(tx).raw_transaction.hex().removeprefix("0x"))
    started = time.perf_counter()
    for start in range(0, len(raws), BATCH):
        batch = raws[start:start + BATCH]
        _post(chain.url, [{"jsonrpc": "2.0", "id": k, "method": "eth_sendRawTransaction", "params": [raw]}
                          for k, raw in enumerate(batch)])
        while chain.w3.eth.get_transaction_count(holder.address) < nonce + start + len(batch):
            time.sleep(0.005)
    return count / (time.perf_counter() - started)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gateway(node_url: str, deployment_path: Path, tmp: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    operator = dev_accounts(1)[0]
    env = {**os.environ, "GATEWAY_RPC_URL": node_url, "GATEWAY_DEPLOYMENT": str(deployment_path),
           "GATEWAY_MIRROR_DB": os.path.join(tmp, "mirror.db"), "GATEWAY_DB": os.path.join(tmp, "gateway.db"),
           "GATEWAY_MASTER_SECRET": "bench-master-secret-0123456789", "GATEWAY_OPERATOR_TOKEN": OPERATOR_TOKEN,
           "GATEWAY_OPERATOR_KEY": "0x" + bytes(operator.key).hex(), "GATEWAY_WRITE_TIMEOUT": "60"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "gateway.main:app", "--host", "127.0.0.1",
                             "--port", str(port), "--log-level", "warning", "--no-access-log"],
                            env=env, cwd=PROJECT_ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/ready", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError("the gateway exited during start-up")
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("the gateway did not become ready within 120 s")


class Client(threading.Thread):
    def __init__(self, url: str, index: int, supplier: dict, neighbour: dict, core: dict, line_id: int,
                 root: int, until: float, maturity: int):
        super().__init__(daemon=True)
        self.http = httpx.Client(base_url=url, timeout=120)
        self.index, self.supplier, self.neighbour, self.core = index, supplier, neighbour, core
        self.line_id, self.root, self.until, self.maturity = line_id, root, until, maturity
        self.latencies: list[float] = []
        self.timing: dict[str, list[float]] = {}
        self.ops = {name: 0 for name, _ in MIX}
        self.errors: list[str] = []
        self.mine: list[int] = []
        self.rng = random.Random(index)

    def _post(self, who: dict, path: str, body: dict) -> httpx.Response:
        started = time.perf_counter()
        r = self.http.post(path, json=body, headers={"Authorization": f"Bearer {who['api_key']}"})
        elapsed = time.perf_counter() - started
        if r.status_code in (200, 201):
            self.latencies.append(elapsed)
            for part in r.headers.get("Server-Timing", "").split(","):
                if ";dur=" in part:
                    name, dur = part.strip().split(";dur=")
                    self.timing.setdefault(name, []).append(float(dur))
        else:
            self.errors.append(f"{r.status_code} {r.text[:120]}")
        return r

    def run(self) -> None:
        n = 0
        while time.perf_counter() < self.until:
            op = self.rng.choices([m for m, _ in MIX], [w for _, w in MIX])[0]
            if op == "transfer" and not self.mine:
                op = "split"
            if op == "issue":
                r = self._post(self.core, "/v1/receivables", {
                    "supplier": self.supplier["address"], "line_id": self.line_id, "face_value": "1000",
                    "maturity": self.maturity, "document_hash": "0x" + os.urandom(32).hex()})
            elif op == "split":
                n += 1
                to = self.supplier if n % 2 else self.neighbour
                r = self._post(self.supplier, f"/v1/vouchers/{self.root}/split", {"to": to["address"], "value": "1"})
                if r.status_code == 201 and to is self.supplier:
                    self.mine.append(r.json()["token_id"])
            else:
                token = self.mine.pop()
                r = self._post(self.supplier, f"/v1/vouchers/{token}/transfer", {"to": self.neighbour["address"]})
            if r.status_code in (200, 201):
                self.ops[op] += 1


def run_clients(url: str, cash: str, clients: int, seconds: float,
                on_start=lambda: None) -> tuple[list[Client], float]:
    op = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    http = httpx.Client(base_url=url, timeout=120)

    def register(name: str, role: str) -> dict:
        r = http.post("/v1/parties", json={"name": name, "roles": [role]}, headers=op)
        r.raise_for_status()
        return r.json()

    def post(who: dict, path: str, body: dict) -> dict:
        r = http.post(path, json=body, headers={"Authorization": f"Bearer {who['api_key']}"})
        if r.status_code not in (200, 201):
            raise RuntimeError(f"{path}: {r.status_code} {r.text}")
        return r.json()

    core, bank = register("core", "CORE_ENTERPRISE_ROLE"), register("bank", "FINANCIER_ROLE")
    suppliers = [register(f"supplier {i}", "SUPPLIER_ROLE") for i in range(clients)]
    now = int(time.time())
    line = post(bank, "/v1/credit-lines", {"obligor": core["address"], "currency": cash, "limit": str(10**27),
                                           "expiry": now + 3650 * DAY})["line_id"]
    maturity = now + 180 * DAY
    roots = []
    for s in suppliers:
        issued = post(core, "/v1/receivables", {"supplier": s["address"], "line_id": line, "face_value": str(10**18),
                                                "maturity": maturity, "document_hash": "0x" + os.urandom(32).hex()})
        post(s, f"/v1/receivables/{issued['receivable_id']}/accept", {})
        roots.append(issued["token_id"])
    until = time.perf_counter() + seconds
    threads = [Client(url, i, suppliers[i], suppliers[(i + 1) % clients], core, line, roots[i], until, maturity)
               for i in range(clients)]
    on_start()
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return threads, time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (Linux /proc), its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the clients run (default 20)")
    parser.add_argument("--raw", type=int, default=5_000, help="pre-signed transactions for the raw limit")
    parser.add_argument("--out", type=Path, default=RESULTS_PATH,
                        help=f"JSON output (default {RESULTS_PATH.relative_to(PROJECT_ROOT)})")
    args = parser.parse_args(argv)

    with LocalNode(kind="anvil") as node, tempfile.TemporaryDirectory() as tmp:
        chain = Chain(node.url)
        operator = dev_accounts(1)[0]
        chain.w3.provider.make_request("evm_setBlockGasLimit", [hex(60_000_000)])
        deployment = deploy(chain, operator, save=False)
        ledger = Ledger(chain, deployment)
        cash = deploy_settlement_token(chain, operator)
        raw = raw_limit(chain, ledger, cash, args.raw)
        print(f"raw chain limit: {raw:,.0f} tx/s ({args.raw} pre-signed splits in batches of {BATCH})")
        path = Path(tmp) / "deployment.json"
        path.write_text(json.dumps(dataclasses.asdict(deployment)))
        proc, url = start_gateway(node.url, path, tmp)
        pids = {"node": node.process.pid, "gateway": proc.pid, "clients": os.getpid()}
        try:
            cpu: dict[str, float] = {}
            clients, elapsed = run_clients(url, cash, args.clients, args.seconds,
                                           on_start=lambda: cpu.update({k: cpu_seconds(p) for k, p in pids.items()}))
            cpu = {k: cpu_seconds(p) - cpu[k] for k, p in pids.items()}
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()

    latencies = [x for c in clients for x in c.latencies]
    errors = [e for c in clients for e in c.errors]
    ops = {name: sum(c.ops[name] for c in clients) for name, _ in MIX}
    ops_per_s = sum(ops.values()) / elapsed
    p50, p99 = _pct(latencies, 0.5) * 1000, _pct(latencies, 0.99) * 1000
    print(f"{args.clients} clients for {elapsed:.1f}s: {ops} ok, {len(errors)} errors"
          + (f" (first: {errors[0]})" if errors else ""))
    for part in ("chain", "mirror"):
        values = [x for c in clients for x in c.timing.get(part, [])]
        if values:
            print(f"  server side, {part}: p50 {_pct(values, 0.5):.1f} ms, p99 {_pct(values, 0.99):.1f} ms")
    done = max(1, sum(ops.values()))
    cpu_ms = {k: 1000 * v / done for k, v in cpu.items()}
    cores = os.cpu_count() or 1
    ceiling = cores * 1000 / sum(cpu_ms.values())
    print("  CPU per operation: " + ", ".join(f"{k} {v:.2f} ms" for k, v in cpu_ms.items())
          + f"; on {cores} cores that caps ops/s at {ceiling:,.0f}")
    rows = [
        {"metric": "ops_per_s", "value": round(ops_per_s, 1), "unit": "ops/s", "baseline": round(raw, 1),
         "ratio": round(ops_per_s / raw, 4)},
        {"metric": "latency_p50_ms", "value": round(p50, 1), "unit": "ms", "baseline": None, "ratio": None},
        {"metric": "latency_p99_ms", "value": round(p99, 1), "unit": "ms", "baseline": None, "ratio": None},
        {"metric": "raw_chain_tx_per_s", "value": round(raw, 1), "unit": "tx/s", "baseline": None, "ratio": None},
        {"metric": "clients", "value": args.clients, "unit": "threads", "baseline": None, "ratio": None},
        {"metric": "errors", "value": len(errors), "unit": "requests", "baseline": None, "ratio": None},
        *({"metric": f"cpu_ms_per_op_{k}", "value": round(v, 3), "unit": "ms", "baseline": None, "ratio": None}
          for k, v in cpu_ms.items()),
        {"metric": "cpu_bound_ceiling_ops_per_s", "value": round(ceiling, 1), "unit": "ops/s", "baseline": None,
         "ratio": None},
    ]
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Gateway: issue/split/transfer over HTTP, read-your-writes (target ≥ {TARGET_OPS} ops/s "
                        f"and ≥ {TARGET_FRACTION}× raw)")
    for column in ("metric", "value", "unit", "baseline", "ratio"):
        table.add_column(column, justify="left" if column in ("metric", "unit") else "right")
    for row in rows:
        table.add_row(row["metric"], f"{row['value']:,}", row["unit"],
                      "-" if row["baseline"] is None else f"{row['baseline']:,}",
                      "-" if row["ratio"] is None else f"{row['ratio']:.3f}")
    Console().print(table)
    print(f"wrote {write_results(rows, args.out)}")
    met = ops_per_s >= TARGET_OPS and ops_per_s >= TARGET_FRACTION * raw
    print("target met" if met else "target missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
