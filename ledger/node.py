"""Start and stop a local EVM node (Anvil by default, Ganache as the alternative).

The node binds to 127.0.0.1 on a free port, is started from the npm packages in
node_modules, and is stopped by its PID: only the process this module started is ever killed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .exceptions import ConfigurationError, NodeError
from .paths import NODE_BIN, NODE_MODULES

NODE_KINDS = ("anvil", "ganache")
#: The mnemonic both nodes derive their funded dev accounts from (Anvil's default).
DEV_MNEMONIC = "test test test test test test test test test test test junk"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_kind(kind: str | None = None) -> str:
    """The node to use: `kind`, else $LEDGER_NODE, else anvil."""
    kind = (kind or os.environ.get("LEDGER_NODE") or "anvil").lower()
    if kind not in NODE_KINDS:
        raise ConfigurationError(f"LEDGER_NODE must be one of {', '.join(NODE_KINDS)}, not {kind!r}")
    return kind


def _native_anvil() -> Path | None:
    """Anvil's own binary from its platform package: started directly, no Node.js wrapper
    process sits between us and the node (so stopping or losing us stops the node itself)."""
    found = sorted((NODE_MODULES / "@foundry-rs").glob("anvil-*/bin/anvil"))
    return found[0] if found else None


def _die_with_parent() -> None:
    """In the child, before exec: have Linux send SIGTERM when the starting thread dies.

    A test run killed by a signal (timeout, kill) runs no fixture teardown; without this its
    node would live on as an orphan. Start nodes from a thread that outlives them (the main
    thread, normally). Elsewhere than Linux this does nothing.
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


@dataclass
class LocalNode:
    """A node process on loopback. Use as a context manager, or call start() and stop()."""

    kind: str = field(default_factory=node_kind)
    port: int = field(default_factory=free_port)
    accounts: int = 20
    log_path: Path | None = None
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        binary = _native_anvil() if self.kind == "anvil" else None
        binary = binary or NODE_BIN / self.kind
        if not binary.exists():
            raise NodeError(f"{binary} is missing: run 'bash setup.sh' to install the npm packages")
        if self.kind == "anvil":
            return [
                str(binary), "--host", "127.0.0.1", "--port", str(self.port),
                "--accounts", str(self.accounts), "--mnemonic", DEV_MNEMONIC,
                "--hardfork", "shanghai", "--silent",
            ]
        return [
            str(binary), "--server.host", "127.0.0.1", "--server.port", str(self.port),
            "--wallet.totalAccounts", str(self.accounts), "--wallet.mnemonic", DEV_MNEMONIC,
            "--chain.hardfork", "shanghai", "--logging.quiet", "--miner.instamine", "eager",
        ]

    def start(self, timeout: float = 30.0) -> LocalNode:
        """Start the node and wait until it answers JSON-RPC.

        Raises:
            NodeError: the binary is missing, exited, or did not answer within `timeout`.
        """
        if self.process is not None:
            return self
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, preexec_fn=_die_with_parent,
            )
        finally:
            if self.log_path:
                log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise NodeError(f"{self.kind} exited with code {code} before answering on {self.url}")
            if self._answers():
                return self
            time.sleep(0.05)
        self.stop()
        raise NodeError(f"{self.kind} did not answer on {self.url} within {timeout:.0f}s")

    def stop(self) -> None:
        """Stop the node this object started (by PID), waiting for it to exit."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def _answers(self) -> bool:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
        request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=1) as response:
                return "result" in json.loads(response.read())
        except (OSError, urllib.error.URLError, ValueError):
            return False

    def __enter__(self) -> LocalNode:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
