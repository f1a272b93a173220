"""The `ledger` command line."""

from __future__ import annotations

import os
import signal
import time

import typer
from rich.console import Console

app = typer.Typer(help="Receivables and e-voucher ledger: local node, compile, deploy, demo.", no_args_is_help=True)
console = Console()


@app.command()
def demo(node: str = typer.Option(None, help="anvil (default) or ganache; also $LEDGER_NODE")) -> None:
    """Start a local node, deploy, and walk a receivable up a three-tier supply chain."""
    from .demo import run

    # Wide enough for the tables when the output is not a terminal (CI logs, pipes).
    run(Console(width=max(console.width, 110)), node)


@app.command("compile")
def compile_() -> None:
    """Compile contracts/ (cached by source hash) and list contract sizes."""
    from .compiler import compile_project

    for name, artifact in sorted(compile_project().items()):
        if artifact.deployed_size:
            console.print(f"{name:<24} {artifact.deployed_size:>6} bytes")


@app.command()
def node(kind: str = typer.Option(None, help="anvil (default) or ganache; also $LEDGER_NODE")) -> None:
    """Run a local node on a free loopback port until interrupted."""
    from .node import LocalNode

    with LocalNode(**({"kind": kind} if kind else {})) as n:
        console.print(f"{n.kind} listening on {n.url} (Ctrl-C stops it)")
        stop = False

        def _stop(*_: object) -> None:
            nonlocal stop
            stop = True

        signal.signal(signal.SIGTERM, _stop)
        try:
            while not stop:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass


@app.command()
def deploy(
    rpc_url: str = typer.Option(..., envvar="LEDGER_RPC_URL", help="JSON-RPC endpoint of the chain"),
    key_env: str = typer.Option("LEDGER_DEPLOYER_KEY", help="environment variable holding the deployer's key"),
) -> None:
    """Deploy the contracts to RPC_URL and record them in deployments/<chain id>.json."""
    from eth_account import Account

    from .chain import Chain
    from .deploy import deploy as do_deploy

    key = os.environ.get(key_env)
    if not key:
        raise typer.BadParameter(f"set ${key_env} to the deployer's private key", param_hint="--key-env")
    chain = Chain(rpc_url)
    deployment = do_deploy(chain, Account.from_key(key))
    console.print(f"chain {deployment.chain_id} (from block {deployment.start_block}): "
                  f"ReceivableVoucher {deployment.voucher}, CreditLines {deployment.credit_lines}, "
                  f"Factoring {deployment.factoring}, DataAssetRegistry {deployment.data_assets}")


@app.command()
def mirror(
    rpc_url: str = typer.Option(..., envvar="LEDGER_RPC_URL", help="JSON-RPC endpoint of the chain"),
    db: str = typer.Option("mirror.db", envvar="LEDGER_MIRROR_DB", help="SQLAlchemy URL or SQLite file"),
    deployment: str = typer.Option(..., help="deployment JSON (deployments/<chain id>.json)"),
    window: int = typer.Option(64, help="reorg window in blocks"),
    max_page: int = typer.Option(2000, help="most blocks per eth_getLogs"),
    poll: float = typer.Option(0.05, help="seconds between head polls"),
    exit_at_head: bool = typer.Option(False, help="catch up to the head, then exit"),
    rebuild: bool = typer.Option(False, help="empty the mirror's tables first (after a halt)"),
) -> None:
    """Mirror the contracts' events into SQL and follow the head (python -m ledger.mirror)."""
    from pathlib import Path

    from .mirror.__main__ import run

    raise typer.Exit(run(rpc_url, db, Path(deployment), window=window, max_page=max_page, poll=poll,
                         exit_at_head=exit_at_head, rebuild=rebuild))


@app.command()
def gateway(
    host: str = typer.Option("127.0.0.1", help="address to bind"),
    port: int = typer.Option(8000, help="port to listen on"),
) -> None:
    """Serve the gateway (FastAPI) with uvicorn; settings from GATEWAY_* variables (README, Gateway)."""
    import uvicorn

    uvicorn.run("gateway.main:app", host=host, port=port)


if __name__ == "__main__":
    app()
