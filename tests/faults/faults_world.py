"""The fault tests' world (fixtures in conftest.py): an Anvil that can be stopped and restarted
with its state (``--state``), a deployment, and the gateway as a real uvicorn process (its
mirror a thread inside it) that can be killed with SIGKILL and started again.

Every process here binds to 127.0.0.1 and is stopped by its PID when the test ends.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import pytest
from eth_account import Account

from ledger import Chain, Ledger, LocalNode, deploy, deploy_settlement_token
from ledger.node import DEV_MNEMONIC, free_port
from ledger.paths import PROJECT_ROOT

Account.enable_unaudited_hdwallet_features()

DAY = 86_400
OPERATOR_TOKEN = "operator-bootstrap-token-for-fault-tests"
MASTER_SECRET = "master-secret-for-fault-tests-0123456789"
CASH = 10**12


def dev_account(index: int):
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


@dataclass
class StatefulAnvil(LocalNode):
    """Anvil that dumps its chain (blocks, receipts, state) to `state` on SIGTERM and loads it on start."""

    state: Path | None = None

    def command(self) -> list[str]:
        return [*super().command(), "--state", str(self.state)]

    def restart(self, down_for: float) -> None:
        """Stop (dumping the state), stay down `down_for` seconds, start again on the same port."""
        self.stop()
        time.sleep(down_for)
        self.start()


class GatewayProcess:
    """``uvicorn gateway.main:app`` as a subprocess, configured by GATEWAY_* variables."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = env
        self.port = free_port()
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> GatewayProcess:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "gateway.main:app", "--host", "127.0.0.1", "--port", str(self.port),
                 "--log-level", "warning"],
                env={**os.environ, **self.env}, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the gateway exited with code {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"the gateway did not answer within {timeout:.0f}s:\n{self.log()}")

    def log(self, tail: int | None = 5000) -> str:
        """The gateway's output (all its runs), the last `tail` characters (None: all of it)."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text if tail is None else text[-tail:]

    def kill9(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


@dataclass
class Party:
    name: str
    address: str
    api_key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


@dataclass
class Outcome:
    """One HTTP attempt of a write: its key, status and body (status 0: no HTTP answer at all)."""

    key: str
    status: int
    body: dict | str


@dataclass
class FaultWorld:
    node: StatefulAnvil
    gateway: GatewayProcess
    ledger: Ledger
    cash: str
    tmp: Path
    parties: dict[str, Party] = field(default_factory=dict)
    line_id: int = 0

    def __getattr__(self, name: str) -> Party:
        parties = self.__dict__.get("parties", {})
        if name in parties:
            return parties[name]
        raise AttributeError(name)

    @property
    def mirror_db(self) -> str:
        return self.gateway.env["GATEWAY_MIRROR_DB"]

    @property
    def gateway_db(self) -> str:
        return self.gateway.env["GATEWAY_DB"]

    def post(self, who: Party | None, path: str, body: dict | None = None, *, key: str | None = None,
             timeout: float = 120) -> Outcome:
        """POST to the gateway; a connection failure is status 0, never an exception."""
        headers = dict(who.auth) if who else {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
        if key:
            headers["Idempotency-Key"] = key
        try:
            r = httpx.post(f"{self.gateway.url}{path}", json=body or {}, headers=headers, timeout=timeout)
        except httpx.HTTPError as error:
            return Outcome(key or "", 0, f"{type(error).__name__}: {error}")
        try:
            payload = r.json()
        except ValueError:
            payload = r.text
        return Outcome(key or "", r.status_code, payload)

    def get(self, who: Party, path: str) -> httpx.Response:
        return httpx.get(f"{self.gateway.url}{path}", headers=who.auth, timeout=60)

    def register(self, name: str, roles: list[str]) -> Party:
        r = self.post(None, "/v1/parties", {"name": name, "roles": roles})
        assert r.status == 201, r.body
        party = Party(name, r.body["address"], r.body["api_key"])
        self.parties[name] = party
        return party

    def now(self) -> int:
        return self.ledger.chain.w3.eth.get_block("latest")["timestamp"]

    def issue(self, face_value: int) -> dict:
        """A receivable from core to tier1, accepted; the issue response."""
        r = self.post(self.core, "/v1/receivables", {
            "supplier": self.tier1.address, "line_id": self.line_id, "face_value": str(face_value),
            "maturity": self.now() + 90 * DAY, "document_hash": "0x" + os.urandom(32).hex()})
        assert r.status == 201, r.body
        a = self.post(self.tier1, f"/v1/receivables/{r.body['receivable_id']}/accept")
        assert a.status == 200, a.body
        return r.body


def build(tmp: Path, *, mirror_db: str | None = None, gateway_db: str | None = None) -> FaultWorld:
    """Start Anvil (with a state file), deploy, start the gateway, register the parties, grant a line."""
    node = StatefulAnvil(kind="anvil", state=tmp / "anvil-state.json", log_path=tmp / "anvil.log").start()
    try:
        operator = dev_account(0)
        chain = Chain(node.url)
        deployment = deploy(chain, operator, save=False)
        ledger = Ledger(chain, deployment)
        cash = deploy_settlement_token(chain, operator)
        deployment_file = tmp / "deployment.json"
        deployment_file.write_text(json.dumps(asdict(deployment)))
        env = {
            "GATEWAY_RPC_URL": node.url, "GATEWAY_DEPLOYMENT": str(deployment_file),
            "GATEWAY_MIRROR_DB": mirror_db or str(tmp / "mirror.db"), "GATEWAY_DB": gateway_db or str(tmp / "gateway.db"),
            "GATEWAY_MASTER_SECRET": MASTER_SECRET, "GATEWAY_OPERATOR_TOKEN": OPERATOR_TOKEN,
            "GATEWAY_OPERATOR_KEY": "0x" + bytes(operator.key).hex(), "GATEWAY_WRITE_TIMEOUT": "20",
        }
        gateway = GatewayProcess(env, tmp / "gateway.log").start()
    except BaseException:
        node.stop()
        raise
    world = FaultWorld(node, gateway, ledger, cash, tmp)
    try:
        world.register("core", ["CORE_ENTERPRISE_ROLE"])
        world.register("tier1", ["SUPPLIER_ROLE"])
        world.register("tier2", ["SUPPLIER_ROLE"])
        world.register("bank", ["FINANCIER_ROLE"])
        ledger.chain.forget_local_state()  # the gateway signed with the operator's key meanwhile
        for name in ("core", "tier1", "tier2", "bank"):
            ledger.mint_cash(operator, cash, world.parties[name].address, CASH)
        r = world.post(world.bank, "/v1/credit-lines", {
            "obligor": world.core.address, "currency": cash, "limit": "1000000000000",
            "expiry": world.now() + 3650 * DAY, "grace_period": 7 * DAY})
        assert r.status == 201, r.body
        world.line_id = r.body["line_id"]
    except BaseException:
        gateway.stop()
        node.stop()
        raise
    return world


@pytest.fixture
def fw(tmp_path) -> FaultWorld:
    world = build(tmp_path)
    try:
        yield world
    finally:
        world.gateway.stop()
        world.node.stop()


class Writers:
    """Threads that keep sending one kind of write, each with a fresh Idempotency-Key, and keep
    every attempt's outcome."""

    def __init__(self, world: FaultWorld, jobs: list[tuple[Party, str, dict]]):
        self.world = world
        self.jobs = jobs
        self.outcomes: list[Outcome] = []
        self.requests: dict[str, tuple[Party, str, dict]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(job,), daemon=True) for job in jobs]

    def _run(self, job: tuple[Party, str, dict]) -> None:
        who, path, body = job
        while not self._stop.is_set():
            key = uuid.uuid4().hex
            with self._lock:
                self.requests[key] = job
            outcome = self.world.post(who, path, body, key=key, timeout=60)
            with self._lock:
                self.outcomes.append(outcome)
            if outcome.status == 0 or outcome.status >= 500:
                time.sleep(0.2)  # a client backs off while the service is away

    def __enter__(self) -> Writers:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(120)

    def count(self, predicate) -> int:
        with self._lock:
            return sum(1 for o in self.outcomes if predicate(o))
