"""`ledger stack` and `ledger status`: a stack started from the command line answers, reports
itself, and stops everything it started on Ctrl-C."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ledger.cli import app
from ledger.exceptions import ConfigurationError
from ledger.node import free_port
from ledger.stack import LocalStack

runner = CliRunner()


def _children(pid: int) -> list[int]:
    """PIDs whose parent is `pid` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Stack:
    """`ledger stack` in a subprocess; its stdout read line by line in a thread."""

    def __init__(self, *args: str):
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("GATEWAY_OPERATOR_TOKEN", None)
        self.process = subprocess.Popen([sys.executable, "-m", "ledger.cli", "stack", *args], env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_ready(self, timeout: float = 120) -> dict[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"ledger stack exited ({self.process.wait()}) before it was ready: "
                                     f"{self.seen} {self.process.stderr.read()}")
            self.seen.append(line)
            if line.startswith("ready"):
                return {line.split()[0]: line.split(None, 1)[1] for line in self.seen if " " in line}
        raise AssertionError(f"ledger stack was not ready within {timeout}s: {self.seen}")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def test_stack_serves_the_gateway_status_reports_it_and_ctrl_c_stops_everything():
    port = free_port()
    stack = Stack("--port", str(port))
    try:
        info = stack.wait_ready()
        gateway = f"http://127.0.0.1:{port}"
        assert info["gateway"].startswith(gateway)
        explorer = info["explorer"].split()[0]
        assert explorer == f"{gateway}/explorer"
        page = httpx.get(explorer, timeout=30)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        rpc_url = info["chain"].split()[0]
        token = info["operator"].removeprefix("Authorization: Bearer ")
        files = Path(info["files"].split()[0])
        assert (files / "deployment.json").is_file() and (files / "mirror.db").is_file()
        env = dict(part.split("=", 1) for part in info["status"].split() if "=" in part)
        assert env == {"LEDGER_RPC_URL": rpc_url, "LEDGER_MIRROR_DB": str(files / "mirror.db"),
                       "LEDGER_GATEWAY_URL": gateway}

        # The printed credential is the operator's: it registers a party, admitted on chain.
        r = httpx.post(f"{gateway}/v1/parties", json={"name": "Tier-1", "roles": ["SUPPLIER_ROLE"]},
                       headers={"Authorization": f"Bearer {token}"}, timeout=60)
        assert r.status_code == 201, r.text
        me = httpx.get(f"{gateway}/v1/parties/me", headers={"Authorization": f"Bearer {r.json()['api_key']}"})
        assert me.json()["is_member"] and me.json()["roles"] == ["SUPPLIER_ROLE"]

        result = runner.invoke(app, ["status", "--json"], env=env)
        assert result.exit_code == 0, result.output
        report = json.loads(result.output)
        head = report["chain"]["head"]
        assert report["ok"] and report["chain"]["chain_id"] == 31337 and head >= r.json()["block"]["number"]
        assert report["mirror"]["status"] == "running" and report["mirror"]["canonical"] is True
        assert 0 <= report["mirror"]["lag"] <= 5 and report["mirror"]["block"]["number"] >= r.json()["block"]["number"]
        assert report["gateway"]["http_status"] == 200 and report["gateway"]["ready"]["status"] == "ready"
        text = runner.invoke(app, ["status"], env=env)
        assert text.exit_code == 0 and "ok   chain" in text.output and "ready" in text.output, text.output

        children = _children(stack.process.pid)
        assert children, "the stack should have started a node"
        stack.process.send_signal(signal.SIGINT)  # Ctrl-C
        assert stack.process.wait(timeout=60) == 0, stack.process.stderr.read()
    finally:
        stack.kill()
    assert not [pid for pid in children if _alive(pid)], "the node outlived `ledger stack`"
    assert not files.exists(), "the temporary directory should be removed"
    for url in (gateway, rpc_url):
        with pytest.raises(httpx.ConnectError):
            httpx.get(url, timeout=2)

    after = runner.invoke(app, ["status"], env=env)
    assert after.exit_code == 1
    assert "does not answer JSON-RPC" in after.output and "no mirror database at" in after.output
    assert "/ready does not answer" in after.output


def test_status_says_what_is_wrong_and_exits_1(tmp_path):
    nowhere = f"http://127.0.0.1:{free_port()}"
    not_a_mirror = tmp_path / "empty.db"
    not_a_mirror.write_bytes(b"")
    result = runner.invoke(app, ["status", "--rpc-url", nowhere, "--mirror-db", str(not_a_mirror),
                                 "--gateway-url", nowhere, "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert not report["ok"] and not report["chain"]["ok"] and nowhere in report["chain"]["summary"]
    assert not report["mirror"]["ok"] and "cannot read the mirror" in report["mirror"]["summary"]
    assert not report["gateway"]["ok"] and "/ready does not answer" in report["gateway"]["summary"]


def test_a_stack_refuses_a_directory_with_an_earlier_stacks_databases(tmp_path):
    (tmp_path / "mirror.db").write_bytes(b"")
    stack = LocalStack(directory=tmp_path)
    with pytest.raises(ConfigurationError, match="already holds mirror.db of an earlier stack"):
        stack.start()
    assert stack.node is None and stack._thread is None  # refused before starting anything


def test_a_failed_demo_says_why_and_exits_1(monkeypatch):
    import ledger.demo as demo

    def refused(*_args, **_kwargs):
        raise demo.DemoError('POST /v1/offers as Bank A answered 409: {"error": "[FactoringOfferNotOpen]"}')

    monkeypatch.setattr(demo, "run", refused)
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 1
    assert "The demo stopped: POST /v1/offers as Bank A answered 409" in result.output
    assert "[FactoringOfferNotOpen]" in result.output  # shown as text, not taken for rich markup
