"""Soak: thousands of mixed operations with reorgs and mirror kills interleaved, then the audit.

Run as ``python -m bench.soak [--operations N] [--seed S] [--out PATH]`` (default 10,000
operations; ``bench/results/soak.json``). It starts its own Anvil (loopback, stopped at the end),
deploys, admits a core enterprise, four suppliers and two banks, grants a credit line, and then:

* drives random operations through ``ledger.Ledger`` (issue, accept, reject, split, value
  transfer, merge, whole transfer, offer, cancel, accept offer, repay, claim, mark overdue,
  exercise and pay recourse), each against a voucher, receivable or offer its model of the chain
  says fits; the chain's clock moves 15 days every few hundred operations so receivables fall due;
* every 150-400 operations reorganises the chain: ``anvil_reorg`` (the last 1-10 blocks replaced
  by empty ones) or ``anvil_rollback`` (the last 1-10 blocks dropped); the operations in them
  are gone, and the model re-reads what they touched from the contracts' views;
* runs the mirror as its own process (``python -m ledger.mirror``, SQLite) and every 150-400
  operations kills it with SIGKILL, restarting it 0-50 operations later;
* at the end lets the mirror catch up (``--exit-at-head``) and runs the audit (``ledger.audit``)
  on the chain, the contracts' views and the mirror: it must find zero discrepancies.

An operation is counted once its transaction is mined (two-transaction operations such as
repay, which approves the cash first, count once); refusals (the gas estimate reverts because
the model was stale, nothing is sent) are counted apart. Writes ``operations``, ``reorgs``,
``kills`` and ``discrepancies`` (plus a few more rows) in the shape of every benchmark here.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import requests
from eth_abi import decode
from eth_utils import to_checksum_address

from bench.gas import dev_accounts, machine, write_results
from ledger.audit import audit
from ledger.chain import Chain
from ledger.client import Ledger
from ledger.deploy import deploy, deploy_settlement_token
from ledger.exceptions import ContractError
from ledger.mirror import MirrorReader
from ledger.node import LocalNode
from ledger.paths import PROJECT_ROOT
from ledger.types import (Offer, OfferState, Receivable, ReceivableState, RecourseState, Role, Voucher,
                          VoucherStatus)

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "soak.json"
DAY = 86_400
GRACE = 7 * DAY
CASH = 10**15
#: Reorgs stay well inside the mirror's 64-block window: deeper ones halt it by design.
MAX_REORG_DEPTH = 10
MIRROR_WINDOW = 64
#: The views the model is re-read from, as ABI types (each returns one struct).
VIEW_TYPES = {
    "token": "(address,uint48,uint8,uint96,uint96,uint48)",
    "receivable": "(address,uint40,uint40,uint8,address,uint48,uint48,uint96,uint96,uint96)",
    "offer": "(address,uint48,uint16,bool,uint8,address,uint40,uint8,uint96,uint96,uint96,uint96,uint40)",
}


@dataclass
class Counters:
    operations: int = 0
    refused: int = 0
    reorgs: int = 0
    blocks_reorged: int = 0
    kills: int = 0
    clock_moves: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)


class MirrorProcess:
    """``python -m ledger.mirror`` as a subprocess that the soak kills and restarts."""

    def __init__(self, url: str, db: str, deployment_file: Path, log_path: Path):
        self.args = [sys.executable, "-m", "ledger.mirror", "--rpc-url", url, "--db", db,
                     "--deployment", str(deployment_file), "--window", str(MIRROR_WINDOW), "--poll", "0.02"]
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self, *extra: str) -> subprocess.Popen:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.args + list(extra), stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True, cwd=PROJECT_ROOT)
        return self.process

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check(self) -> None:
        """Fail if the mirror exited by itself (a halt exits 3): the soak must never see that."""
        if self.process is not None and self.process.poll() is not None:
            code = self.process.returncode
            self.process = None
            raise RuntimeError(f"the mirror process exited by itself with code {code}; see {self.log_path}:\n"
                               + self.log_path.read_text()[-3000:])

    def kill9(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


class Soak:
    """The chain, the parties and a model of what exists (refreshed from the contracts' views)."""

    def __init__(self, url: str, seed: int):
        self.rng = random.Random(seed)
        self.chain = Chain(url)
        accounts = dev_accounts(8)
        self.operator, self.core = accounts[0], accounts[1]
        self.suppliers = accounts[2:6]
        self.banks = accounts[6:8]
        self.by_address = {a.address: a for a in accounts}
        self.deployment = deploy(self.chain, self.operator, save=False)
        self.led = Ledger(self.chain, self.deployment)
        self.cash = deploy_settlement_token(self.chain, self.operator)
        self.led.admit(self.operator, self.core, [Role.CORE_ENTERPRISE])
        for s in self.suppliers:
            self.led.admit(self.operator, s, [Role.SUPPLIER])
        for b in self.banks:
            self.led.admit(self.operator, b, [Role.FINANCIER])
        line = self.led.grant_credit_line(self.banks[0], self.core, self.cash, 10**14, self.now() + 3650 * DAY, GRACE)
        self.line_id = line.line_id
        for a in [self.core, *self.suppliers, *self.banks]:
            self.led.mint_cash(self.operator, self.cash, a, CASH)
        self.http = requests.Session()
        self.tokens: dict[int, object] = {}
        self.receivables: dict[int, object] = {}
        self.offers: dict[int, object] = {}
        #: (block, kind, id) of everything each mined operation touched: what a reorg re-reads.
        self.touched: list[tuple[int, str, int]] = []
        self.counters = Counters()
        self.docs = 0

    # -- chain helpers ---------------------------------------------------------------------------

    def rpc(self, method: str, *params):
        reply = self.chain.w3.provider.make_request(method, list(params))
        if "error" in reply:
            raise RuntimeError(f"{method} failed: {reply['error']}")
        return reply["result"]

    def now(self) -> int:
        return self.chain.w3.eth.get_block("latest")["timestamp"]

    def head(self) -> int:
        return self.chain.w3.eth.block_number

    # -- the model -------------------------------------------------------------------------------

    def refresh(self, items) -> None:
        """Re-read vouchers, receivables and offers ((kind, id) pairs) from the contracts' views,
        in one JSON-RPC batch of eth_calls (web3's call costs three round trips each); what no
        longer exists is dropped."""
        items = list(dict.fromkeys(items))
        if not items:
            return
        functions = {"token": self.led.voucher.functions.voucherOf, "receivable": self.led.voucher.functions.receivableOf,
                     "offer": self.led.factoring.functions.offerOf}
        calls = []
        for n, (kind, key) in enumerate(items):
            fn = functions[kind](key)
            calls.append({"jsonrpc": "2.0", "id": n, "method": "eth_call",
                          "params": [{"to": fn.address, "data": fn._encode_transaction_data()}, "latest"]})
        replies = {r["id"]: r for r in self.http.post(self.chain.url, json=calls, timeout=120).json()}
        for n, (kind, key) in enumerate(items):
            table = {"token": self.tokens, "receivable": self.receivables, "offer": self.offers}[kind]
            result = replies[n].get("result")
            if not result or result == "0x":  # reverted: it does not exist (any more)
                table.pop(key, None)
                continue
            (raw,) = decode([VIEW_TYPES[kind]], bytes.fromhex(result[2:]))
            raw = [to_checksum_address(v) if isinstance(v, str) else v for v in raw]
            if kind == "token":
                found = Voucher(key, raw[0], raw[1], VoucherStatus(raw[2]), *raw[3:])
                gone = found.status == VoucherStatus.NONE
            elif kind == "receivable":
                raw[3] = ReceivableState(raw[3])
                found = Receivable(key, *raw)
                gone = found.state == ReceivableState.NONE
            else:
                raw[4], raw[7] = OfferState(raw[4]), RecourseState(raw[7])
                found = Offer(key, *raw)
                gone = found.state == OfferState.NONE
            if gone:
                table.pop(key, None)
            else:
                table[key] = found

    def _pick(self, table: dict, fits: Callable[[object], bool], tries: int = 40):
        keys = list(table)
        if not keys:
            return None
        for _ in range(tries):
            item = table[self.rng.choice(keys)]
            if fits(item):
                return item
        return None

    def active_voucher(self, min_value: int = 2):
        return self._pick(self.tokens, lambda v: v.status == VoucherStatus.ACTIVE and v.value >= min_value
                          and self.receivables.get(v.receivable_id) is not None
                          and self.receivables[v.receivable_id].state in (ReceivableState.ACTIVE, ReceivableState.OVERDUE))

    # -- operations: each returns what it touched, or raises ContractError (nothing sent) ------------

    def op_issue(self):
        self.docs += 1
        issued = self.led.issue(self.core, self.rng.choice(self.suppliers), line_id=self.line_id, currency=self.cash,
                                face_value=self.rng.randrange(100_000, 10_000_000),
                                maturity=self.now() + self.rng.randrange(20, 120) * DAY,
                                document_hash=self.docs.to_bytes(32, "big"))
        return issued.receipt, [("receivable", issued.receivable_id), ("token", issued.token_id)]

    def _pending(self):
        return self._pick(self.receivables, lambda r: r.state == ReceivableState.PENDING)

    def op_accept(self):
        r = self._pending()
        if r is None:
            return None
        root = self.tokens.get(r.root_token_id)
        supplier = self.by_address[root.holder] if root else self.rng.choice(self.suppliers)
        receipt = self.led.accept(supplier, r.receivable_id)
        return receipt, [("receivable", r.receivable_id), ("token", r.root_token_id)]

    def op_reject(self):
        r = self._pending()
        if r is None:
            return None
        root = self.tokens.get(r.root_token_id)
        supplier = self.by_address[root.holder] if root else self.rng.choice(self.suppliers)
        receipt = self.led.reject(supplier, r.receivable_id)
        return receipt, [("receivable", r.receivable_id), ("token", r.root_token_id)]

    def op_split(self):
        v = self.active_voucher()
        if v is None:
            return None
        to = self.rng.choice(self.suppliers + self.banks)
        made = self.led.split(self.by_address[v.holder], v.token_id, to, self.rng.randrange(1, v.value))
        return made.receipt, [("token", v.token_id), ("token", made.token_id)]

    def _sibling(self, v, same_holder: bool):
        return self._pick(self.tokens, lambda o: o.token_id != v.token_id and o.receivable_id == v.receivable_id
                          and o.status == VoucherStatus.ACTIVE and (o.holder == v.holder or not same_holder), tries=60)

    def op_transfer_value(self):
        v = self.active_voucher()
        # Into a voucher of its own holder: another's needs that holder's consent (issue 13, item 2).
        other = v and self._sibling(v, same_holder=True)
        if not other:
            return None
        receipt = self.led.transfer_value(self.by_address[v.holder], v.token_id, other.token_id,
                                          self.rng.randrange(1, v.value))
        return receipt, [("token", v.token_id), ("token", other.token_id)]

    def op_merge(self):
        v = self.active_voucher(min_value=1)
        other = v and self._sibling(v, same_holder=True)
        if not other:
            return None
        receipt = self.led.merge(self.by_address[v.holder], v.token_id, other.token_id)
        return receipt, [("token", v.token_id), ("token", other.token_id)]

    def op_transfer(self):
        v = self.active_voucher(min_value=1)
        if v is None:
            return None
        to = self.rng.choice([a for a in self.suppliers + self.banks if a.address != v.holder])
        receipt = self.led.transfer(self.by_address[v.holder], v.token_id, to, holder=v.holder)
        return receipt, [("token", v.token_id)]

    def op_offer(self):
        v = self._pick(self.tokens, lambda v: v.status == VoucherStatus.ACTIVE and v.value >= 2
                       and v.holder not in {b.address for b in self.banks}
                       and getattr(self.receivables.get(v.receivable_id), "state", None) == ReceivableState.ACTIVE)
        if v is None:
            return None
        value = v.value if self.rng.random() < 0.3 else self.rng.randrange(1, v.value)
        bank = self.rng.choice(self.banks + [None])
        offered = self.led.offer(self.by_address[v.holder], v.token_id, value, rate_bps=self.rng.randrange(100, 2_000),
                                 deadline=self.now() + 10 * DAY, financier=bank, recourse=self.rng.random() < 0.5)
        return offered.receipt, [("token", v.token_id), ("token", offered.token_id), ("offer", offered.offer_id)]

    def _open_offer(self):
        return self._pick(self.offers, lambda o: o.state == OfferState.OPEN)

    def op_cancel_offer(self):
        o = self._open_offer()
        if o is None:
            return None
        receipt = self.led.cancel_offer(self.by_address[o.seller], o.offer_id)
        return receipt, [("offer", o.offer_id), ("token", o.token_id)]

    def op_accept_offer(self):
        o = self._open_offer()
        if o is None:
            return None
        bank = self.by_address.get(o.financier) or self.rng.choice(self.banks)
        factored = self.led.accept_offer(bank, o.offer_id)
        return factored.receipt, [("offer", o.offer_id), ("token", o.token_id)]

    def op_repay(self):
        r = self._pick(self.receivables, lambda r: r.state in (ReceivableState.ACTIVE, ReceivableState.OVERDUE,
                                                                ReceivableState.DEFAULTED) and r.repaid < r.face_value)
        if r is None:
            return None
        outstanding = r.face_value - r.repaid
        amount = outstanding if self.rng.random() < 0.3 else self.rng.randrange(1, outstanding + 1)
        receipt = self.led.repay(self.core, r.receivable_id, amount)
        return receipt, [("receivable", r.receivable_id)]

    def op_claim(self):
        v = self._pick(self.tokens, lambda v: v.status in (VoucherStatus.ACTIVE, VoucherStatus.LOCKED)
                       and getattr(self.receivables.get(v.receivable_id), "repaid", 0) > 0, tries=60)
        if v is None:
            return None
        claimed = self.led.claim(self.by_address[v.holder], v.token_id)
        return claimed.receipt, [("token", v.token_id), ("receivable", v.receivable_id)]

    def op_mark_overdue(self):
        now = self.now()
        r = self._pick(self.receivables, lambda r: r.state == ReceivableState.ACTIVE
                       and r.maturity + GRACE < now and r.repaid < r.face_value)
        if r is None:
            return None
        receipt = self.led.mark_overdue(self.rng.choice(self.suppliers), r.receivable_id)
        return receipt, [("receivable", r.receivable_id)]

    def op_exercise_recourse(self):
        o = self._pick(self.offers, lambda o: o.state == OfferState.ACCEPTED and o.recourse
                       and o.recourse_state == RecourseState.NONE
                       and getattr(self.receivables.get(getattr(self.tokens.get(o.token_id), "receivable_id", 0)),
                                   "state", None) == ReceivableState.OVERDUE)
        if o is None:
            return None
        receipt = self.led.exercise_recourse(self.by_address[o.financier], o.offer_id)
        return receipt, [("offer", o.offer_id), ("token", o.token_id)]

    def op_pay_recourse(self):
        o = self._pick(self.offers, lambda o: o.recourse_state == RecourseState.CLAIMED)
        if o is None:
            return None
        receipt = self.led.pay_recourse(self.by_address[o.seller], o.offer_id)
        return receipt, [("offer", o.offer_id), ("token", o.token_id)]

    WEIGHTS = {
        "issue": 8, "accept": 7, "reject": 1, "split": 18, "transfer_value": 8, "merge": 5, "transfer": 8,
        "offer": 8, "cancel_offer": 2, "accept_offer": 6, "repay": 6, "claim": 9, "mark_overdue": 3,
        "exercise_recourse": 3, "pay_recourse": 3,
    }

    def step(self) -> bool:
        """One random operation; whether it was mined."""
        name = self.rng.choices(list(self.WEIGHTS), weights=list(self.WEIGHTS.values()))[0]
        try:
            done = getattr(self, f"op_{name}")()
        except ContractError:
            # The model was stale (or the random amount did not fit): nothing was sent.
            self.counters.refused += 1
            return False
        if done is None:
            return False
        receipt, touched = done
        self.refresh(touched)
        self.touched.extend((receipt.block_number, kind, key) for kind, key in touched)
        if name == "accept_offer":  # the deal's voucher changes hands: its receivable may matter too
            token = self.tokens.get(touched[1][1])
            if token is not None:
                self.refresh([("receivable", token.receivable_id)])
        c = self.counters
        c.operations += 1
        c.by_operation[name] = c.by_operation.get(name, 0) + 1
        return True

    # -- faults ----------------------------------------------------------------------------------

    def reorg(self) -> None:
        """Replace or drop the last 1-10 blocks, then re-read everything they touched."""
        depth = self.rng.randint(1, MAX_REORG_DEPTH)
        head = self.head()
        if self.rng.random() < 0.5:
            self.rpc("anvil_reorg", depth, [])
        else:
            self.rpc("anvil_rollback", depth)
        self.chain.forget_local_state()
        lost = [(kind, key) for block, kind, key in self.touched if block > head - depth]
        self.touched = [t for t in self.touched if t[0] <= head - depth]
        self.refresh(lost)
        self.counters.reorgs += 1
        self.counters.blocks_reorged += depth

    def move_clock(self) -> None:
        self.rpc("evm_increaseTime", 15 * DAY)
        self.rpc("evm_mine")
        self.counters.clock_moves += 1


def run_soak(operations: int, *, seed: int = 9, workdir: Path, every: tuple[int, int] = (150, 400),
             progress: bool = False) -> dict:
    """Run the soak on a fresh Anvil; return the figures (counters, audit result, timings).

    A reorg and a mirror kill each come every `every` operations (a random count in that range);
    the clock moves 15 days about twice as seldom.
    """
    with LocalNode(kind="anvil") as node:
        soak = Soak(node.url, seed)
        deployment_file = workdir / "deployment.json"
        deployment_file.write_text(json.dumps(asdict(soak.deployment)))
        db = str(workdir / "soak-mirror.db")
        mirror = MirrorProcess(node.url, db, deployment_file, workdir / "mirror.log")
        rng = soak.rng
        c = soak.counters
        low, high = every
        next_reorg = rng.randint(low, high)
        next_kill = rng.randint(low, high)
        restart_at: int | None = None
        next_clock = rng.randint(2 * low, 2 * high)
        mirror.start()
        started = time.perf_counter()
        last_report = started
        try:
            while c.operations < operations:
                if soak.step():
                    n = c.operations
                    if n >= next_reorg:
                        soak.reorg()
                        next_reorg = n + rng.randint(low, high)
                    if n >= next_kill and mirror.running:
                        mirror.kill9()
                        c.kills += 1
                        restart_at = n + rng.randint(0, low // 3)
                        next_kill = restart_at + rng.randint(low, high)
                    if restart_at is not None and n >= restart_at:
                        mirror.start()
                        restart_at = None
                    if n >= next_clock:
                        soak.move_clock()
                        next_clock = n + rng.randint(2 * low, 2 * high)
                mirror.check()
                if progress and time.perf_counter() - last_report > 10:
                    last_report = time.perf_counter()
                    print(f"  {c.operations} operations, {c.refused} refused, {c.reorgs} reorgs, {c.kills} kills, "
                          f"block {soak.head()}", flush=True)
            elapsed = time.perf_counter() - started
            if restart_at is not None or not mirror.running:
                mirror.start()
            mirror.check()
            mirror.stop()
            # A last catch-up to the head, then the audit of chain, views and mirror at that block.
            final = mirror.start("--exit-at-head")
            if final.wait(timeout=600) != 0:
                raise RuntimeError(f"the final mirror catch-up failed with code {final.returncode}: "
                                   + (workdir / "mirror.log").read_text()[-3000:])
            mirror.process = None
        finally:
            mirror.kill9()
        reader = MirrorReader(db)
        try:
            mirrored = reader.block()
        finally:
            reader.close()
        head = soak.head()
        result = audit(node.url, soak.deployment, mirror_db=db)
        return {
            "counters": c, "elapsed": elapsed, "head": head, "mirror_block": mirrored.number if mirrored else None,
            "audit": result,
        }


def rows_of(figures: dict) -> list[dict]:
    c: Counters = figures["counters"]
    result = figures["audit"]

    def row(metric: str, value, unit: str, baseline=None) -> dict:
        ratio = round(value / baseline, 4) if baseline else None
        return {"metric": metric, "value": value, "unit": unit, "baseline": baseline, "ratio": ratio}

    return [
        row("operations", c.operations, "operations", 10_000),
        row("reorgs", c.reorgs, "reorgs"),
        row("kills", c.kills, "kills"),
        row("discrepancies", len(result.discrepancies), "discrepancies"),
        row("refused", c.refused, "operations"),
        row("blocks_reorged", c.blocks_reorged, "blocks"),
        row("operations_per_s", round(c.operations / figures["elapsed"], 1), "operations/s"),
        row("audited_events", result.counts["events"], "events"),
        row("audited_vouchers", result.counts["vouchers"], "vouchers"),
        row("audit_seconds", round(result.timings["total"], 3), "s"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=10_000, help="operations to mine (default 10,000)")
    parser.add_argument("--seed", type=int, default=9, help="random seed (default 9)")
    parser.add_argument("--out", type=Path, default=RESULTS_PATH,
                        help=f"JSON output (default {RESULTS_PATH.relative_to(PROJECT_ROOT)})")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        figures = run_soak(args.operations, seed=args.seed, workdir=Path(tmp), progress=True)
    c, result = figures["counters"], figures["audit"]
    print(f"{c.operations} operations in {figures['elapsed']:.0f}s ({c.refused} refused), {c.reorgs} reorgs "
          f"({c.blocks_reorged} blocks), {c.kills} mirror kills, {c.clock_moves} clock moves; head {figures['head']}, "
          f"mirror at {figures['mirror_block']}")
    print("by operation: " + ", ".join(f"{k} {v}" for k, v in sorted(c.by_operation.items())))
    print(f"audit: {'PASS' if result.ok else 'FAIL'}, {len(result.discrepancies)} discrepancies, "
          f"{result.counts['events']} events, {result.counts['vouchers']} vouchers")
    for d in result.discrepancies[:10]:
        print("  ", d.to_json())
    rows = rows_of(figures)
    print(f"wrote {write_results(rows, args.out, machine())}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
