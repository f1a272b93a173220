"""The `ledger` command line."""

from __future__ import annotations

import os
import signal
import time

import typer
from rich.console import Console

app = typer.Typer(help="Receivables and e-voucher ledger: demo, local stack, status, deploy, mirror, gateway, audit.",
                  no_args_is_help=True)
console = Console()


@app.command()
def demo(node: str = typer.Option(None, help="anvil (default) or ganache; also $LEDGER_NODE")) -> None:
    """Start a local stack (node, contracts, gateway) and walk the whole lifecycle through the gateway's HTTP API."""
    from .demo import DemoError, run

    # Wide enough for the tables when the output is not a terminal (CI logs, pipes).
    try:
        run(Console(width=max(console.width, 110)), node)
    except DemoError as error:
        from rich.markup import escape

        console.print(f"[red]The demo stopped:[/red] {escape(str(error))}", highlight=False)
        raise typer.Exit(1) from None


@app.command()
def stack(
    node: str = typer.Option(None, help="anvil (default) or ganache; also $LEDGER_NODE"),
    port: int = typer.Option(None, help="the gateway's port (default: a free one)"),
    directory: str = typer.Option(None, "--dir", help="keep deployment.json, mirror.db and gateway.db here "
                                                       "(default: a temporary directory, removed at the end)"),
) -> None:
    """Run a local stack until Ctrl-C: a node, the contracts, the gateway with its mirror on 127.0.0.1.

    The operator's bootstrap credential is $GATEWAY_OPERATOR_TOKEN if set, else a fresh random one
    (printed). Ctrl-C or SIGTERM stops everything it started.
    """
    import sys
    from pathlib import Path

    from .exceptions import LedgerError
    from .stack import LocalStack

    def _interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    # SIGTERM stops it like Ctrl-C; SIGINT is handled even when the shell started us with it
    # ignored (a background job of a script), so `kill -INT` works too.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    local = LocalStack(node_kind=node, port=port, directory=Path(directory) if directory else None,
                       operator_token=os.environ.get("GATEWAY_OPERATOR_TOKEN"))
    try:
        local.start()
        d = local.deployment
        # Plain print: one line per item, never wrapped (scripts and tests read these lines).
        lines = [
            f"chain       {local.rpc_url}  ({local.node.kind}, chain id {d.chain_id})",
            f"gateway     {local.url}  (OpenAPI: {local.url}/docs)",
            f"explorer    {local.url}/explorer  (in a browser; sign in with a party's API key)",
            f"operator    Authorization: Bearer {local.operator_token}",
            f"contracts   ReceivableVoucher {d.voucher}, CreditLines {d.credit_lines}, Factoring {d.factoring}, "
            f"DataAssetRegistry {d.data_assets}",
            f"cash        {local.cash}  (DCNY; minted by its owner {local.cash_issuer.address}, "
            "the node's dev account 1)",
            f"files       {local.directory}  (deployment.json, mirror.db, gateway.db)",
            f"status      LEDGER_RPC_URL={local.rpc_url} LEDGER_MIRROR_DB={local.mirror_db} "
            f"LEDGER_GATEWAY_URL={local.url} ledger status",
            "ready (Ctrl-C stops everything)",
        ]
        print("\n".join(lines), flush=True)
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    except LedgerError as error:
        print(f"the stack did not start: {error}", file=sys.stderr, flush=True)
        raise typer.Exit(1) from None
    finally:
        # A second Ctrl-C must not cut the clean-up short and leave the node running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("stopping the gateway and the node", file=sys.stderr, flush=True)
        local.stop()


@app.command()
def status(
    rpc_url: str = typer.Option("http://127.0.0.1:8545", envvar="LEDGER_RPC_URL",
                                help="JSON-RPC endpoint of the chain"),
    mirror_db: str = typer.Option(None, envvar="LEDGER_MIRROR_DB", help="the mirror's database (SQLite file or URL)"),
    gateway_url: str = typer.Option(None, envvar="LEDGER_GATEWAY_URL", help="the gateway's base URL"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object instead of lines"),
) -> None:
    """Show the chain's head, the mirror's block and lag, and the gateway's /ready; exit 1 if any is not fine."""
    import json

    from rich.markup import escape

    from .status import stack_status

    report = stack_status(rpc_url, mirror_db=mirror_db, gateway_url=gateway_url)
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        for part in ("chain", "mirror", "gateway"):
            entry = report.get(part)
            if entry is None:
                continue
            mark = "[green]ok[/green]  " if entry["ok"] else "[red]FAIL[/red]"
            console.print(f"{mark} {part:<8} {escape(entry['summary'])}", highlight=False, soft_wrap=True)
    raise typer.Exit(0 if report["ok"] else 1)


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
    """Serve the gateway (FastAPI) with uvicorn; settings from GATEWAY_* variables (docs/gateway.md)."""
    import uvicorn

    uvicorn.run("gateway.main:app", host=host, port=port)


def _deployment_file(path: str):
    import json
    from pathlib import Path

    from .deploy import Deployment

    file = Path(path)
    if not file.is_file():
        raise typer.BadParameter(f"no deployment file at {file}", param_hint="--deployment")
    return Deployment(**json.loads(file.read_text()))


@app.command()
def audit(
    rpc_url: str = typer.Option(..., envvar="LEDGER_RPC_URL", help="JSON-RPC endpoint of the chain (the only truth)"),
    deployment: str = typer.Option(..., help="deployment JSON (deployments/<chain id>.json)"),
    out: str = typer.Option(..., help="directory for audit.json and audit.html"),
    block: int = typer.Option(None, help="block to audit (default: the mirror's block if --mirror-db, else the head)"),
    mirror_db: str = typer.Option(None, help="the SQL mirror to compare (SQLAlchemy URL or SQLite file)"),
    gateway_db: str = typer.Option(None, help="the gateway's database: check its documents (needs "
                                              "$GATEWAY_MASTER_SECRET)"),
) -> None:
    """Rebuild everything from the chain's events, check it, compare views, mirror and documents; exit 1 if wrong."""
    from pathlib import Path

    from .audit import audit as run_audit
    from .audit import write_report

    secret = os.environ.get("GATEWAY_MASTER_SECRET")
    if gateway_db and not secret:
        raise typer.BadParameter("set $GATEWAY_MASTER_SECRET to check the gateway's documents",
                                 param_hint="--gateway-db")
    result = run_audit(rpc_url, _deployment_file(deployment), block, mirror_db=mirror_db, gateway_db=gateway_db,
                       master_secret=secret)
    json_path, html_path = write_report(result, Path(out))
    verdict = "[green]PASS[/green]" if result.ok else "[red]FAIL[/red]"
    console.print(f"{verdict}: chain {result.chain_id} block {result.block}: {result.counts['vouchers']} vouchers, "
                  f"{result.counts['receivables']} receivables, {result.counts['events']} events; "
                  f"{len(result.discrepancies)} discrepancies ({result.timings['total']:.1f}s)")
    for name, check in result.checks.items():
        console.print(f"  {check['status']:<7} {name} ({check['discrepancies']})")
    for d in result.discrepancies[:20]:
        console.print(f"  - [{d.check}] {d.message} @ {d.location}", markup=False)
    if len(result.discrepancies) > 20:
        console.print(f"  ... and {len(result.discrepancies) - 20} more in the report")
    console.print(f"report: {json_path} {html_path}")
    raise typer.Exit(0 if result.ok else 1)


@app.command()
def proof(
    token_id: int = typer.Argument(None, help="the voucher whose lineage to export"),
    rpc_url: str = typer.Option(..., envvar="LEDGER_RPC_URL", help="JSON-RPC endpoint of the chain"),
    deployment: str = typer.Option(None, help="deployment JSON (needed to export)"),
    block: int = typer.Option(None, help="as of this block (default: the head)"),
    out: str = typer.Option(None, help="write the proof here (default: stdout)"),
    verify: str = typer.Option(None, help="instead: verify this proof file against RPC_URL; exit 1 if it fails"),
) -> None:
    """Export a voucher's lineage proof (every step with block, block hash, tx hash, log index), or --verify one."""
    import json
    import sys
    from pathlib import Path

    from .audit import Auditor, verify_proof

    if verify:
        result = verify_proof(json.loads(Path(verify).read_text()), rpc_url)
        console.print(f"{'[green]valid[/green]' if result.ok else '[red]INVALID[/red]'}: "
                      f"{result.checked_logs} logs checked against {rpc_url}")
        for problem in result.problems:
            console.print(f"  - {problem}", markup=False)
        raise typer.Exit(0 if result.ok else 1)
    if token_id is None or deployment is None:
        raise typer.BadParameter("give TOKEN_ID and --deployment (or --verify FILE)")
    with Auditor(rpc_url, _deployment_file(deployment)) as auditor:
        try:
            exported = auditor.proof(token_id, block)
        except KeyError:
            console.print(f"[red]no event minted voucher {token_id}[/red]")
            raise typer.Exit(1) from None
    text = json.dumps(exported, indent=2) + "\n"
    if out:
        Path(out).write_text(text)
        console.print(f"proof of voucher {token_id}: {len(exported['steps'])} steps, lineage {exported['lineage']} "
                      f"-> {out}")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    app()
