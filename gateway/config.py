"""The gateway's settings, read from the environment (``GATEWAY_*``).

Secrets (the master secret, the operator's bootstrap token and on-chain key) are held as
pydantic ``SecretStr``: they never appear in a repr, a log line or an error message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from ledger.exceptions import ConfigurationError

#: A master secret shorter than this (in bytes) is refused: it is the root of every key at rest.
MIN_SECRET_BYTES = 16


@dataclass(frozen=True)
class Settings:
    """Everything the gateway needs to run.

    Attributes:
        rpc_url: the chain's JSON-RPC endpoint.
        deployment: the deployment file (deployments/<chain id>.json); None: the chain's default.
        mirror_db: the mirror's database (SQLAlchemy URL or SQLite path).
        db: the gateway's own database (parties, idempotency records, documents).
        master_secret: keys at rest (party keys, documents) are derived from it (HKDF).
        operator_token: the bootstrap credential that registers parties.
        operator_key: the OPERATOR's private key: admits parties on-chain, funds their gas.
        run_mirror: run the mirror writer in-process (a thread); False if it runs elsewhere.
        ready_max_lag: /ready fails when the mirror is more than this many blocks behind the head.
        fund_wei: native currency sent to each new managed key for gas (0 on a gas-free chain).
        write_timeout: seconds a write waits for the mirror to apply its block.
    """

    rpc_url: str
    master_secret: SecretStr
    operator_token: SecretStr
    operator_key: SecretStr
    deployment: Path | None = None
    mirror_db: str = "mirror.db"
    db: str = "gateway.db"
    run_mirror: bool = True
    ready_max_lag: int = 5
    fund_wei: int = 10**18
    write_timeout: float = 30.0
    extra: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if len(self.master_secret.get_secret_value().encode()) < MIN_SECRET_BYTES:
            raise ConfigurationError(f"GATEWAY_MASTER_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        if len(self.operator_token.get_secret_value()) < MIN_SECRET_BYTES:
            raise ConfigurationError(f"GATEWAY_OPERATOR_TOKEN must be at least {MIN_SECRET_BYTES} characters")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read the settings from `env` (os.environ by default).

        Raises:
            ConfigurationError: a required variable is missing or invalid.
        """
        env = dict(os.environ if env is None else env)

        def need(name: str) -> str:
            value = env.get(name)
            if not value:
                raise ConfigurationError(f"set ${name} (see docs/gateway.md)")
            return value

        deployment = env.get("GATEWAY_DEPLOYMENT")
        return cls(
            rpc_url=env.get("GATEWAY_RPC_URL") or env.get("LEDGER_RPC_URL") or "http://127.0.0.1:8545",
            master_secret=SecretStr(need("GATEWAY_MASTER_SECRET")),
            operator_token=SecretStr(need("GATEWAY_OPERATOR_TOKEN")),
            operator_key=SecretStr(need("GATEWAY_OPERATOR_KEY")),
            deployment=Path(deployment) if deployment else None,
            mirror_db=env.get("GATEWAY_MIRROR_DB") or env.get("LEDGER_MIRROR_DB") or "mirror.db",
            db=env.get("GATEWAY_DB", "gateway.db"),
            run_mirror=env.get("GATEWAY_RUN_MIRROR", "1").lower() not in ("0", "false", "no"),
            ready_max_lag=int(env.get("GATEWAY_READY_MAX_LAG", "5")),
            fund_wei=int(env.get("GATEWAY_FUND_WEI", str(10**18))),
            write_timeout=float(env.get("GATEWAY_WRITE_TIMEOUT", "30")),
        )
