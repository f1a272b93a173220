"""Gas per operation: our contracts beside the ERC-3525 reference and OpenZeppelin's ERC721.

Run as ``python -m bench.gas [--check] [--out PATH]``. It starts its own Anvil (loopback, stopped
at the end), deploys our contracts and the references in the same run, performs each operation
under the same conditions on both sides, prints a table and writes ``bench/results/gas.json``::

    {"machine": "...", "rows": [{"metric", "value", "unit", "baseline", "ratio"}, ...]}

The conditions, mirrored on both sides with the same accounts in the same roles:

* every measured operation is sent by the token's holder (no allowance path), and each
  transaction starts with cold storage, as on a real chain;
* ``issue`` vs the reference's ``mint``: the contract has already issued/minted once (a
  warm-up, which for us also makes the first draw on the credit line), and the recipient never
  held a token. Ours also records the receivable, its document fingerprint and the credit draw;
* ``split_to_new_address``: the first split out of a token to an address that never held one
  (for us an admitted member: vouchers only go to members);
* ``value_to_existing_token``: value between two existing tokens of one slot, held by
  different accounts, both with a non-zero balance before and after (ours: the receiving holder
  made the sender its operator first, the consent a push into its voucher needs);
* ``whole_transfer_to_new_address`` vs OpenZeppelin ERC721 ``transferFrom``: the sender holds
  two tokens (so keeps one) and the recipient never held one (for us an admitted member).

Our extra rows (accept, the second split out of the same token, a whole transfer to an address
that already holds vouchers, approve_value, merge, the financing steps, and the data-asset steps:
register (the registry's second asset, with a metadata URI), appraise, list, pledge to a line
with an advance rate set, release) have no baseline.

Compile settings: every contract is compiled by the same solc (0.8.37) with the project's
settings (ledger.compiler: optimizer on, 200 runs, via-IR, evmVersion shanghai), except the OpenZeppelin 5.x ERC721
baseline: OZ 5.7's ERC721 imports Strings -> Bytes, which uses MCOPY, so it only compiles for
cancun. It is compiled for cancun and still runs on the shanghai Anvil (its constructor takes
no string arguments, whose decoding would execute MCOPY): a Cancun-only opcode on an executed
path makes the transaction fail, so every figure here is shanghai execution and gas schedule.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from ledger.chain import Chain
from ledger.client import Ledger
from ledger.compiler import Artifact, CompileJob, compile_job
from ledger.deploy import deploy, deploy_artifact, deploy_settlement_token
from ledger.node import DEV_MNEMONIC, LocalNode
from ledger.paths import NODE_MODULES, PROJECT_ROOT
from ledger.types import Receipt, Role

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_PATH = BENCH_DIR / "results" / "gas.json"
UNIT = "gas"

#: metric -> (ceiling of value / baseline, what the baseline is)
TARGETS: dict[str, tuple[float, str]] = {
    "issue": (1.0, "ERC-3525 ref mint"),
    "split_to_new_address": (0.5, "ERC-3525 ref split"),
    "value_to_existing_token": (1.0, "ERC-3525 ref value transfer"),
    "whole_transfer_to_new_address": (1.15, "OZ ERC721 transferFrom"),
}

#: Extra rows (ours only), with what each measures.
EXTRAS: dict[str, str] = {
    "accept": "supplier accepts its receivable",
    "second_split_same_token": "2nd split of a token, to a holder",
    "whole_transfer_to_holder": "whole voucher to a holder",
    "approve_value": "first allowance to an operator",
    "merge": "join two vouchers, burn one",
    "offer": "offer part of a voucher (split + lock)",
    "accept_offer": "financier buys it: DvP in one tx",
    "repay": "obligor repays an instalment",
    "claim": "holder claims its pro-rata share",
    "mark_overdue": "anyone marks a receivable overdue",
    "register_data_asset": "owner registers a data asset (2nd)",
    "appraise": "appraiser attests its value",
    "list_data_asset": "exchange lists it",
    "pledge": "owner pledges it to a line",
    "release": "financier releases the pledge",
}

FACE_VALUE = 100_000
SPLIT_VALUE = 30_000
SECOND_SPLIT_VALUE = 10_000
MOVED_VALUE = 5_000
DAY = 86_400


# -- compile jobs ------------------------------------------------------------------------------


def reference_erc3525_job() -> CompileJob:
    """The ERC-3525 reference, resolving ``@openzeppelin/...`` to the 4.x copy npm nests in it."""
    nested = NODE_MODULES / "@solvprotocol" / "erc-3525" / "node_modules"
    return CompileJob("bench-ref-erc3525", (BENCH_DIR / "contracts" / "RefERC3525.sol",), (nested, NODE_MODULES))


def oz721_job() -> CompileJob:
    """OpenZeppelin 5.x ERC721 (top-level node_modules). Cancun: see the module docstring."""
    return CompileJob("bench-oz721", (BENCH_DIR / "contracts" / "OZ721.sol",), settings={"evmVersion": "cancun"})


def compile_references() -> dict[str, Artifact]:
    return {
        "RefERC3525": compile_job(reference_erc3525_job())["RefERC3525"],
        "OZ721": compile_job(oz721_job())["OZ721"],
    }


# -- environment -------------------------------------------------------------------------------


def machine() -> str:
    """Platform, CPU model and core count of this machine."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.release()} {platform.machine()}, {cpu or 'unknown CPU'}, {os.cpu_count()} cores"


def dev_accounts(count: int) -> list[LocalAccount]:
    Account.enable_unaudited_hdwallet_features()
    return [Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}") for i in range(count)]


def _minted(receipt: Receipt) -> int:
    """The id of the token a reference transaction minted (its Transfer from address 0)."""
    for event in receipt.named("Transfer"):
        if int(event.args["_from"], 16) == 0:
            return event.args["_tokenId"]
    raise RuntimeError(f"transaction {receipt.tx_hash} minted no token")


# -- measurement -------------------------------------------------------------------------------


def measure(url: str | None = None) -> list[dict]:
    """Deploy ours and the references on the node at `url` (a fresh Anvil if None); measure.

    Returns the rows of gas.json: the four targeted metrics first, then our extra rows.
    """
    if url is None:
        with LocalNode(kind="anvil") as node:
            return measure(node.url)

    chain = Chain(url)
    operator, core, bank, warm, s1, s2, s3, s4, appraiser, exchange = dev_accounts(10)
    ours: dict[str, int] = {}
    ref: dict[str, int] = {}

    # ---- ours: ReceivableVoucher + CreditLines ----
    deployment = deploy(chain, operator, save=False)
    ledger = Ledger(chain, deployment)
    cash = deploy_settlement_token(chain, operator)
    ledger.admit(operator, core, [Role.CORE_ENTERPRISE])
    ledger.admit(operator, bank, [Role.FINANCIER])
    for supplier in (warm, s1, s2, s3):
        ledger.admit(operator, supplier, [Role.SUPPLIER])
    now = chain.w3.eth.get_block("latest")["timestamp"]
    line = ledger.grant_credit_line(bank, core, cash, 100 * FACE_VALUE, now + 365 * DAY)

    def issue(to: LocalAccount, n: int):
        return ledger.issue(
            core, to, line_id=line.line_id, currency=cash, face_value=FACE_VALUE,
            maturity=now + 90 * DAY, document_hash=keccak(text=f"bench invoice {n}"),
        )

    issue(warm, 0)  # warm-up: the contract's first issue and the line's first draw
    issued = issue(s1, 1)  # s1 never held a voucher
    ours["issue"] = issued.receipt.gas_used
    ours["accept"] = ledger.accept(s1, issued.receivable_id).gas_used
    t1 = issued.token_id
    split = ledger.split(s1, t1, s2, SPLIT_VALUE)  # s2: a member that never held a voucher
    ours["split_to_new_address"] = split.receipt.gas_used
    t2 = split.token_id
    split = ledger.split(s1, t1, s2, SECOND_SPLIT_VALUE)  # s2 holds t2 now
    ours["second_split_same_token"] = split.receipt.gas_used
    t3 = split.token_id
    ledger.set_approval_for_all(s2, s1, True)  # s2 consents to value pushed into its vouchers
    ours["value_to_existing_token"] = ledger.transfer_value(s1, t1, t2, MOVED_VALUE).gas_used
    # s2 holds t2 and t3; s3 is a member that never held a voucher.
    ours["whole_transfer_to_new_address"] = ledger.transfer(s2, t3, s3, holder=s2.address).gas_used
    ours["whole_transfer_to_holder"] = ledger.transfer(s2, t2, s1, holder=s2.address).gas_used  # s1 holds t1
    ours["approve_value"] = ledger.approve_value(s1, t1, s4.address, 1_000).gas_used
    ours["merge"] = ledger.merge(s1, t2, t1).gas_used

    # ---- financing: offer, DvP acceptance, an instalment, a claim, overdue ----
    for party in (core, bank):
        ledger.mint_cash(operator, cash, party, 10 * FACE_VALUE)
    offered = ledger.offer(s1, t1, SPLIT_VALUE, rate_bps=1_200, deadline=now + 10 * DAY, recourse=True)
    ours["offer"] = offered.receipt.gas_used
    ours["accept_offer"] = ledger.accept_offer(bank, offered.offer_id).receipt.gas_used
    ours["repay"] = ledger.repay(core, issued.receivable_id, FACE_VALUE // 2).gas_used
    ours["claim"] = ledger.claim(s1, t1).receipt.gas_used
    late = issue(s1, 2)
    ledger.accept(s1, late.receivable_id)
    chain.w3.provider.make_request("evm_increaseTime", [91 * DAY])
    chain.w3.provider.make_request("evm_mine", [])
    ours["mark_overdue"] = ledger.mark_overdue(s4, late.receivable_id).gas_used

    # ---- data assets: register (after a warm-up one), appraise, list, pledge, release ----
    ledger.admit(operator, appraiser, [Role.APPRAISER])
    ledger.admit(operator, exchange, [Role.EXCHANGE])
    ledger.set_advance_rate(bank, line.line_id, 5_000)
    ledger.register_data_asset(s1, keccak(text="bench data 0"))  # warm-up: the registry's first asset
    registered = ledger.register_data_asset(
        s1, keccak(text="bench data 1"), metadata_hash=keccak(text="bench metadata 1"), uri="ipfs://bench-metadata-1")
    asset_id = registered.asset_id
    ours["register_data_asset"] = registered.receipt.gas_used
    valid_until = chain.w3.eth.get_block("latest")["timestamp"] + 180 * DAY
    ours["appraise"] = ledger.appraise(
        appraiser, asset_id, report_hash=keccak(text="bench report"), value=10 * FACE_VALUE, valid_until=valid_until,
    ).receipt.gas_used
    ours["list_data_asset"] = ledger.list_data_asset(exchange, asset_id, keccak(text="bench listing")).gas_used
    pledged = ledger.pledge(s1, asset_id, line.line_id)
    ours["pledge"] = pledged.receipt.gas_used
    _expect(ledger.collateral(line.line_id).value == 10 * FACE_VALUE, "ours: collateral counted")
    ours["release"] = ledger.release(bank, asset_id).gas_used
    _expect(ledger.collateral(line.line_id).value == 0, "ours: collateral released")

    # ---- the ERC-3525 reference: the same steps, the same accounts in the same roles ----
    artifacts = compile_references()
    address, _ = deploy_artifact(chain, operator, artifacts["RefERC3525"], "Reference ERC-3525", "REF", 2)
    erc3525 = chain.w3.eth.contract(address=address, abi=artifacts["RefERC3525"].abi)
    chain.register("RefERC3525", erc3525)
    fn = erc3525.functions
    chain.transact(core, fn.mint(warm.address, 1, FACE_VALUE))  # warm-up
    receipt = chain.transact(core, fn.mint(s1.address, 2, FACE_VALUE))
    ref["issue"] = receipt.gas_used
    r1 = _minted(receipt)
    receipt = chain.transact(s1, fn.transferFrom(r1, s2.address, SPLIT_VALUE))
    ref["split_to_new_address"] = receipt.gas_used
    r2 = _minted(receipt)
    chain.transact(s1, fn.transferFrom(r1, s2.address, SECOND_SPLIT_VALUE))
    ref["value_to_existing_token"] = chain.transact(s1, fn.transferFrom(r1, r2, MOVED_VALUE)).gas_used

    # ---- OpenZeppelin 5.x ERC721: the whole-token transfer baseline ----
    address, _ = deploy_artifact(chain, operator, artifacts["OZ721"])
    erc721 = chain.w3.eth.contract(address=address, abi=artifacts["OZ721"].abi)
    fn = erc721.functions
    chain.transact(core, fn.mint(warm.address, 1))  # warm-up
    chain.transact(core, fn.mint(s2.address, 2))
    chain.transact(core, fn.mint(s2.address, 3))  # s2 holds two, as with ours
    ref["whole_transfer_to_new_address"] = chain.transact(s2, fn.transferFrom(s2.address, s3.address, 3)).gas_used

    # t1 got t2 back by the merge; t3 (the second split, now s3's) and the offered part left it.
    _expect(ledger.voucher_of(t1).value == FACE_VALUE - SECOND_SPLIT_VALUE - SPLIT_VALUE, "ours: value after offer")
    _expect(ledger.voucher_of(offered.token_id).holder == bank.address, "ours: factored voucher delivered")
    _expect(ledger.voucher_count(s3) == 1 and ledger.voucher_count(s2) == 0, "ours: voucher counts")
    _expect(erc3525.functions.balanceOf(r1).call() == FACE_VALUE - SPLIT_VALUE - SECOND_SPLIT_VALUE - MOVED_VALUE
            and erc3525.functions.balanceOf(r2).call() == SPLIT_VALUE + MOVED_VALUE, "reference: values")
    _expect(erc721.functions.ownerOf(3).call() == s3.address, "OZ721: owner")

    rows = [_row(metric, ours[metric], ref[metric]) for metric in TARGETS]
    rows += [_row(metric, ours[metric], None) for metric in EXTRAS]
    return rows


def _expect(condition: bool, what: str) -> None:
    """Guard against measuring something other than intended: every step must have happened."""
    if not condition:
        raise RuntimeError(f"benchmark state check failed: {what}")


def _row(metric: str, value: int, baseline: int | None) -> dict:
    ratio = round(value / baseline, 4) if baseline else None
    return {"metric": metric, "value": value, "unit": UNIT, "baseline": baseline, "ratio": ratio}


def missed(rows: list[dict]) -> list[str]:
    """The targeted metrics whose ratio exceeds their target (or that are missing)."""
    by_metric = {row["metric"]: row for row in rows}
    out = []
    for metric, (target, _) in TARGETS.items():
        row = by_metric.get(metric)
        if row is None or row["ratio"] is None or row["ratio"] > target:
            out.append(metric)
    return out


# -- output ------------------------------------------------------------------------------------


def write_results(rows: list[dict], path: Path = RESULTS_PATH, machine_name: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"machine": machine_name or machine(), "rows": rows}, indent=2) + "\n")
    tmp.replace(path)
    return path


def render(rows: list[dict]):
    from rich.table import Table

    table = Table(title="Gas per operation (gasUsed; ours vs reference, same Anvil, same run)")
    table.add_column("metric", no_wrap=True)
    table.add_column("ours", justify="right", no_wrap=True)
    table.add_column("baseline", justify="right", no_wrap=True)
    table.add_column("baseline is / note")
    table.add_column("ratio", justify="right", no_wrap=True)
    table.add_column("target", justify="right", no_wrap=True)
    table.add_column("result", no_wrap=True)
    failing = set(missed(rows))
    for row in rows:
        metric = row["metric"]
        if metric in TARGETS:
            target, source = TARGETS[metric]
            result = "[red]FAIL[/red]" if metric in failing else "[green]pass[/green]"
            target_text = f"≤ {target:.2f}×"
        else:
            source, target_text, result = EXTRAS.get(metric, ""), "", ""
        table.add_row(
            metric,
            f"{row['value']:,}",
            "" if row["baseline"] is None else f"{row['baseline']:,}",
            source,
            "" if row["ratio"] is None else f"{row['ratio']:.3f}",
            target_text,
            result,
        )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gas", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit non-zero if a target is missed")
    parser.add_argument("--out", type=Path, default=RESULTS_PATH, help=f"JSON output (default {RESULTS_PATH.relative_to(PROJECT_ROOT)})")
    args = parser.parse_args(argv)

    from rich.console import Console

    with LocalNode(kind="anvil") as node:
        rows = measure(node.url)
    console = Console(width=max(Console().width, 124))
    console.print(render(rows))
    path = write_results(rows, args.out)
    console.print(f"wrote {path}")
    failing = missed(rows)
    if failing:
        console.print(f"[red]target missed:[/red] {', '.join(failing)}")
        if args.check:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
