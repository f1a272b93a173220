"""A whole local stack in one process: a node, the contracts, and the gateway serving HTTP.

`LocalStack` starts a local node (Anvil by default), deploys the contracts and a settlement
token (the node's first dev account is the operator, the second issues the money), and serves
the gateway (gateway/, with its mirror writer in-process on SQLite) with uvicorn on 127.0.0.1
in a thread. Stopping it stops the server (and the mirror, with the app's lifespan), then the
node; its files live in a temporary directory unless one is given. `ledger demo` and
`ledger stack` use it.

The gateway package is imported only when a stack starts: the library does not need it.
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from .chain import Chain
from .deploy import Deployment, deploy, deploy_settlement_token
from .exceptions import ConfigurationError, NodeError
from .node import DEV_MNEMONIC, LocalNode, free_port


def dev_account(index: int) -> LocalAccount:
    """The local node's funded dev account `index` (from its well-known mnemonic)."""
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


@dataclass
class LocalStack:
    """A local node, a deployment and the gateway on loopback; a context manager.

    Args:
        node_kind: anvil (default) or ganache; also $LEDGER_NODE.
        directory: where deployment.json, mirror.db and gateway.db go; a temporary directory
            (removed on stop) if None.
        port: the gateway's port (a free one if None).
        operator_token: the gateway's operator bootstrap credential (random if None).
        cash_name, cash_symbol: the settlement token deployed for the parties' money.
    """

    node_kind: str | None = None
    directory: Path | None = None
    port: int | None = None
    operator_token: str | None = None
    cash_name: str = "Digital Yuan (local)"
    cash_symbol: str = "DCNY"
    node: LocalNode | None = field(default=None, init=False)
    chain: Chain | None = field(default=None, init=False)
    deployment: Deployment | None = field(default=None, init=False)
    cash: str | None = field(default=None, init=False)
    operator: LocalAccount = field(default_factory=lambda: dev_account(0), init=False)
    #: The settlement token's owner, who mints money: not the operator, whose nonces the gateway
    #: tracks (another sender with the operator's key would make them stale).
    cash_issuer: LocalAccount = field(default_factory=lambda: dev_account(1), init=False)
    settings: object = field(default=None, init=False, repr=False)
    _server: object = field(default=None, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _tmp: Path | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        """The gateway's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def rpc_url(self) -> str:
        return self.node.url

    @property
    def deployment_file(self) -> Path:
        return self.directory / "deployment.json"

    @property
    def mirror_db(self) -> str:
        return str(self.directory / "mirror.db")

    @property
    def gateway_db(self) -> str:
        return str(self.directory / "gateway.db")

    def start(self, timeout: float = 60.0) -> LocalStack:
        """Start the node, deploy, serve the gateway and wait until its /ready answers 200.

        Raises:
            ConfigurationError: the directory holds an earlier stack's databases.
            NodeError: the node did not start, or the gateway was not ready within `timeout`.
        """
        if self.directory is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="ledger-stack-"))
            self.directory = self._tmp
        self.directory.mkdir(parents=True, exist_ok=True)
        stale = [name for name in ("mirror.db", "gateway.db") if (self.directory / name).exists()]
        if stale:
            # They belong to another chain (the node starts empty) and another master secret.
            raise ConfigurationError(f"{self.directory} already holds {', '.join(stale)} of an earlier stack: "
                                     "remove them or choose another directory")
        self.port = self.port or free_port()
        self.operator_token = self.operator_token or secrets.token_urlsafe(24)
        try:
            self.node = LocalNode(**({"kind": self.node_kind} if self.node_kind else {})).start()
            self.chain = Chain(self.node.url)
            self.deployment = deploy(self.chain, self.operator, save=False)
            self.deployment_file.write_text(json.dumps(asdict(self.deployment), indent=2) + "\n")
            self.cash = deploy_settlement_token(self.chain, self.cash_issuer, name=self.cash_name,
                                                symbol=self.cash_symbol)
            self._serve(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _serve(self, timeout: float) -> None:
        import httpx
        import uvicorn
        from pydantic import SecretStr

        from gateway.config import Settings
        from gateway.main import create_app

        settings = Settings(
            rpc_url=self.node.url,
            # The stack's files are throwaway, so is the secret that seals its keys and documents.
            master_secret=SecretStr(secrets.token_urlsafe(32)),
            operator_token=SecretStr(self.operator_token),
            operator_key=SecretStr("0x" + bytes(self.operator.key).hex()),
            deployment=self.deployment_file,
            mirror_db=self.mirror_db,
            db=self.gateway_db,
        )
        self.settings = settings
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on")
        server = uvicorn.Server(config)
        self._server = server
        # uvicorn installs signal handlers only on the main thread: in this one it leaves Ctrl-C
        # to the caller, who stops the stack.
        self._thread = threading.Thread(target=server.run, name="gateway-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if not self._thread.is_alive():
                raise NodeError(f"the gateway server on {self.url} exited while starting (see the log above)")
            try:
                r = httpx.get(f"{self.url}/ready", timeout=2)
                if r.status_code == 200:
                    return
                last = f"{r.status_code} {r.text}"
            except httpx.HTTPError as error:
                last = repr(error)
            time.sleep(0.1)
        raise NodeError(f"the gateway on {self.url} was not ready within {timeout:.0f}s: {last}")

    def stop(self) -> None:
        """Stop the gateway server (its lifespan stops the mirror), then the node; remove a temporary directory."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=30)
            if thread.is_alive():
                server.force_exit = True
                thread.join(timeout=10)
        if self.node is not None:
            self.node.stop()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
