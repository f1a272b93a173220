"""The demo: deploy to a local Anvil and walk one receivable up a supply chain.

issue → accept → split (tier 1 pays tier 2) → split again (tier 2 pays tier 3) → whole
transfer → merge, printing each step and the resulting positions. It grows into the full
lifecycle (factoring, repayment, audit) as those parts land.
"""

from __future__ import annotations

import hashlib
import json

from eth_account import Account
from rich.console import Console
from rich.table import Table

from .chain import Chain
from .client import Ledger
from .deploy import deploy, deploy_settlement_token
from .node import DEV_MNEMONIC, LocalNode
from .types import Role

DAY = 86_400


def _accounts(count: int):
    Account.enable_unaudited_hdwallet_features()
    return [Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}") for i in range(count)]


def _money(units: int) -> str:
    return f"{units / 100:,.2f}"


def run(console: Console | None = None, node_kind: str | None = None) -> dict:
    """Run the scenario on a node it starts and stops; return the final positions."""
    console = console or Console()
    operator, core, tier1, tier2, tier3, bank = _accounts(6)
    names = {
        operator.address: "Operator", core.address: "Core Enterprise", tier1.address: "Tier-1 Supplier",
        tier2.address: "Tier-2 Supplier", tier3.address: "Tier-3 Supplier", bank.address: "Bank",
    }
    with LocalNode(**({"kind": node_kind} if node_kind else {})) as node:
        console.print(f"[bold]Local {node.kind}[/] on {node.url}")
        chain = Chain(node.url)
        deployment = deploy(chain, operator, save=False)
        ledger = Ledger(chain, deployment)
        cash = deploy_settlement_token(chain, operator, name="Digital Yuan (demo)", symbol="DCNY")
        console.print(f"Deployed ReceivableVoucher {deployment.voucher}, CreditLines {deployment.credit_lines}")

        step = _stepper(console)
        for who, roles in [(core, [Role.CORE_ENTERPRISE]), (tier1, [Role.SUPPLIER]), (tier2, [Role.SUPPLIER]),
                           (tier3, [Role.SUPPLIER]), (bank, [Role.FINANCIER])]:
            ledger.admit(operator, who, roles)
        step("Operator admits the core enterprise, three tiers of suppliers and a bank", None)

        now = chain.w3.eth.get_block("latest")["timestamp"]
        line = ledger.grant_credit_line(bank, core, cash, 5_000_000_00, now + 365 * DAY, 30 * DAY)
        step(f"Bank grants the core enterprise credit line #{line.line_id}: limit {_money(5_000_000_00)}",
             line.receipt)

        documents = {"order": "PO-2026-0117", "delivery": "DN-88213", "invoice": "INV-5531"}
        fingerprint = hashlib.sha256(json.dumps(documents, sort_keys=True).encode()).digest()
        issued = ledger.issue(core, tier1, line_id=line.line_id, currency=cash, face_value=1_000_000_00,
                              maturity=now + 90 * DAY, document_hash=fingerprint)
        step(f"Core enterprise issues receivable #{issued.receivable_id} (voucher #{issued.token_id}) of "
             f"{_money(1_000_000_00)} to Tier-1, maturing in 90 days; documents 0x{fingerprint.hex()[:16]}…",
             issued.receipt)
        step("Tier-1 accepts the receivable", ledger.accept(tier1, issued.receivable_id))
        to_tier2 = ledger.split(tier1, issued.token_id, tier2, 400_000_00)
        step(f"Tier-1 pays Tier-2 {_money(400_000_00)}: split → voucher #{to_tier2.token_id}", to_tier2.receipt)
        to_tier3 = ledger.split(tier2, to_tier2.token_id, tier3, 150_000_00)
        step(f"Tier-2 pays Tier-3 {_money(150_000_00)}: split → voucher #{to_tier3.token_id}", to_tier3.receipt)
        second = ledger.split(tier1, issued.token_id, tier3, 50_000_00)
        step(f"Tier-1 also pays Tier-3 {_money(50_000_00)}: voucher #{second.token_id}", second.receipt)
        step(f"Tier-3 merges voucher #{second.token_id} into #{to_tier3.token_id}",
             ledger.merge(tier3, second.token_id, to_tier3.token_id))
        step(f"Tier-3 transfers the whole voucher #{to_tier3.token_id} to the bank",
             ledger.transfer(tier3, to_tier3.token_id, bank))

        positions = _positions(ledger, [issued.token_id, to_tier2.token_id, to_tier3.token_id], names)
        table = Table(title=f"Receivable #{issued.receivable_id}: vouchers after the walk-through")
        for column in ("voucher", "holder", "value", "parent"):
            table.add_column(column, justify="right" if column in ("value",) else "left")
        for row in positions:
            table.add_row(f"#{row['token_id']}", row["holder"], _money(row["value"]),
                          f"#{row['parent_id']}" if row["parent_id"] else "root")
        total = sum(r["value"] for r in positions)
        table.add_row("", "[bold]total[/]", f"[bold]{_money(total)}[/]", "")
        console.print(table)
        used = ledger.credit_line(line.line_id).used
        console.print(f"Credit line #{line.line_id}: {_money(used)} used, "
                      f"{_money(ledger.credit_available(line.line_id))} available")
        assert total == 1_000_000_00, "value was created or lost"
        return {"positions": positions, "credit_used": used}


def _positions(ledger: Ledger, token_ids: list[int], names: dict[str, str]) -> list[dict]:
    rows = []
    for token_id in token_ids:
        v = ledger.voucher_of(token_id)
        rows.append({"token_id": token_id, "holder": names.get(v.holder, v.holder), "value": v.value,
                     "parent_id": v.parent_id})
    return rows


def _stepper(console: Console):
    counter = iter(range(1, 1_000))

    def step(text: str, receipt) -> None:
        suffix = f" [dim](block {receipt.block_number}, gas {receipt.gas_used:,})[/]" if receipt else ""
        console.print(f"[bold green]{next(counter):>2}.[/] {text}{suffix}")

    return step
