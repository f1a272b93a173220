"""The demo: deploy to a local Anvil and walk receivables through their whole life.

The core enterprise's data asset is registered, appraised, listed and pledged, raising its
credit line. Receivable 1 (more than the base limit): issue → accept → tier 1 pays tier 2
(split) → tier 2 pays tier 3 (split) → tier 3 merges two vouchers → tier 2 factors part with
recourse to bank A, tier 3 factors its voucher without recourse to bank B (delivery versus
payment) → the core enterprise repays in two instalments → every holder claims. Receivable 2
goes overdue and bank A exercises its recourse against tier 1, which pays and takes the
voucher back. Finally the chain is mirrored into SQLite and audited: chain events, contract
views and the mirror must agree. (It does not go through the gateway's HTTP API yet.)
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
    operator, core, tier1, tier2, tier3, bank, bank_b, appraiser, exchange, auditor = _accounts(10)
    names = {
        operator.address: "Operator", core.address: "Core Enterprise", tier1.address: "Tier-1 Supplier",
        tier2.address: "Tier-2 Supplier", tier3.address: "Tier-3 Supplier", bank.address: "Bank A",
        bank_b.address: "Bank B", appraiser.address: "CPA firm", exchange.address: "Data exchange",
        auditor.address: "Auditor",
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
                           (tier3, [Role.SUPPLIER]), (bank, [Role.FINANCIER]), (bank_b, [Role.FINANCIER]),
                           (appraiser, [Role.APPRAISER]), (exchange, [Role.EXCHANGE]), (auditor, [Role.AUDITOR])]:
            ledger.admit(operator, who, roles)
        for who in (core, tier1, bank, bank_b):
            ledger.mint_cash(operator, cash, who, 10_000_000_00)
        step("Operator admits the core enterprise, three tiers of suppliers, two banks, a CPA firm, a data "
             "exchange and an auditor; the cash issuer funds them", None)

        now = chain.w3.eth.get_block("latest")["timestamp"]
        line = ledger.grant_credit_line(bank, core, cash, 800_000_00, now + 365 * DAY, 30 * DAY)
        step(f"Bank A grants the core enterprise credit line #{line.line_id}: limit {_money(800_000_00)}",
             line.receipt)

        data = hashlib.sha256(b"core enterprise: 2024-2026 logistics telemetry, 41M rows").digest()
        asset = ledger.register_data_asset(core, data, metadata_hash=hashlib.sha256(b"schema v3").digest(),
                                           uri="https://data.example/catalogue/logistics-telemetry")
        step(f"Core enterprise registers its logistics data as data asset #{asset.asset_id}", asset.receipt)
        step("The CPA firm appraises it at 2,000,000.00 (valid one year)",
             ledger.appraise(appraiser, asset.asset_id, report_hash=hashlib.sha256(b"CPA report 2026-88").digest(),
                             value=2_000_000_00, valid_until=now + 365 * DAY).receipt)
        step("The data exchange certifies and lists it",
             ledger.list_data_asset(exchange, asset.asset_id, hashlib.sha256(b"DEX-LIST-000417").digest()))
        ledger.set_advance_rate(bank, line.line_id, 5_000)
        pledged = ledger.pledge(core, asset.asset_id, line.line_id)
        step(f"Core enterprise pledges it to Bank A at a 50 % advance rate: the line's limit rises to "
             f"{_money(ledger.effective_limit(line.line_id))}", pledged.receipt)

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

        deadline = chain.w3.eth.get_block("latest")["timestamp"] + 5 * DAY
        with_recourse = ledger.offer(tier2, to_tier2.token_id, 100_000_00, rate_bps=1_000, deadline=deadline,
                                     financier=bank, recourse=True)
        step(f"Tier-2 offers {_money(100_000_00)} of voucher #{to_tier2.token_id} to Bank A at 10 %/year with "
             f"recourse: locked in voucher #{with_recourse.token_id}", with_recourse.receipt)
        deal_a = ledger.accept_offer(bank, with_recourse.offer_id)
        step(f"Bank A buys it: pays {_money(deal_a.price)} for {_money(100_000_00)} and receives the voucher, "
             "in one transaction", deal_a.receipt)
        without = ledger.offer(tier3, to_tier3.token_id, 200_000_00, rate_bps=1_500, deadline=deadline)
        deal_b = ledger.accept_offer(bank_b, without.offer_id)
        step(f"Tier-3 sells its whole voucher #{to_tier3.token_id} without recourse; Bank B pays "
             f"{_money(deal_b.price)}", deal_b.receipt)

        step("Core enterprise repays the first instalment of 400,000.00",
             ledger.repay(core, issued.receivable_id, 400_000_00))
        step("Core enterprise repays the remaining 600,000.00: the receivable is settled",
             ledger.repay(core, issued.receivable_id, 600_000_00))
        holders = {tier1.address: tier1, tier2.address: tier2, tier3.address: tier3, bank.address: bank,
                   bank_b.address: bank_b}
        tokens = [issued.token_id, to_tier2.token_id, to_tier3.token_id, with_recourse.token_id]
        for token_id in tokens:
            v = ledger.voucher_of(token_id)
            if ledger.claimable(token_id):
                claimed = ledger.claim(holders[v.holder], token_id)
                step(f"{names[v.holder]} claims {_money(claimed.amount)} on voucher #{token_id}", claimed.receipt)

        late = ledger.issue(core, tier1, line_id=line.line_id, currency=cash, face_value=300_000_00,
                            maturity=chain.w3.eth.get_block("latest")["timestamp"] + 30 * DAY,
                            document_hash=hashlib.sha256(b"PO-2026-0203/DN-88990/INV-5602").digest())
        ledger.accept(tier1, late.receivable_id)
        step(f"Core enterprise issues receivable #{late.receivable_id} of 300,000.00 (30 days) to Tier-1, "
             "who accepts", late.receipt)
        sold = ledger.offer(tier1, late.token_id, 300_000_00, rate_bps=1_200, deadline=deadline, recourse=True)
        late_deal = ledger.accept_offer(bank, sold.offer_id)
        step(f"Tier-1 factors it with recourse to Bank A for {_money(late_deal.price)}", late_deal.receipt)
        chain.w3.provider.make_request("evm_increaseTime", [61 * DAY])
        chain.w3.provider.make_request("evm_mine", [])
        step(f"61 days pass unpaid; Tier-3 marks receivable #{late.receivable_id} overdue",
             ledger.mark_overdue(tier3, late.receivable_id))
        step("Bank A exercises recourse against Tier-1", ledger.exercise_recourse(bank, sold.offer_id))
        step(f"Tier-1 pays Bank A back {_money(late_deal.price)} and takes voucher #{late.token_id} back",
             ledger.pay_recourse(tier1, sold.offer_id))

        positions = _positions(ledger, tokens, names)
        table = Table(title=f"Receivable #{issued.receivable_id}: vouchers after settlement")
        for column in ("voucher", "holder", "value", "paid out", "status", "parent"):
            table.add_column(column, justify="right" if column in ("value", "paid out") else "left")
        for row in positions:
            table.add_row(f"#{row['token_id']}", row["holder"], _money(row["value"]), _money(row["paid"]),
                          row["status"], f"#{row['parent_id']}" if row["parent_id"] else "root")
        total = sum(r["value"] for r in positions)
        paid = sum(r["paid"] for r in positions)
        table.add_row("", "[bold]total[/]", f"[bold]{_money(total)}[/]", f"[bold]{_money(paid)}[/]", "", "")
        console.print(table)

        costs = Table(title="Financing costs")
        for column in ("deal", "seller", "financier", "value", "price", "cost", "recourse"):
            costs.add_column(column, justify="right" if column in ("value", "price", "cost") else "left")
        for offer_id in (with_recourse.offer_id, without.offer_id, sold.offer_id):
            o = ledger.offer_of(offer_id)
            costs.add_row(f"#{offer_id}", names[o.seller], names[o.financier], _money(o.value), _money(o.price),
                          _money(o.value - o.price), _recourse(o))
        console.print(costs)
        cash_table = Table(title="Cash (DCNY) held at the end")
        cash_table.add_column("party")
        cash_table.add_column("balance", justify="right")
        for who in (core, tier1, tier2, tier3, bank, bank_b):
            cash_table.add_row(names[who.address], _money(ledger.cash_balance(cash, who)))
        console.print(cash_table)
        used = ledger.credit_line(line.line_id).used
        console.print(f"Credit line #{line.line_id}: {_money(used)} used of an effective limit of "
                      f"{_money(ledger.effective_limit(line.line_id))} (base {_money(800_000_00)} + pledged "
                      f"data asset), {_money(ledger.credit_available(line.line_id))} available")
        assert total == 1_000_000_00 and paid == 1_000_000_00, "value was created or lost"
        result = _audit(console, node.url, deployment)
        return {"positions": positions, "credit_used": used, "discrepancies": len(result.discrepancies)}


def _audit(console: Console, url: str, deployment):
    """Mirror the chain into SQLite, then audit chain and mirror; print the summary."""
    import tempfile
    from pathlib import Path

    from .audit import audit
    from .mirror import Mirror

    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "mirror.db")
        mirror = Mirror(url, db, deployment)
        try:
            mirror.sync()
        finally:
            mirror.close()
        result = audit(url, deployment, mirror_db=db)
    table = Table(title=f"Audit at block {result.block} (chain events → rebuilt state; views; SQL mirror)")
    table.add_column("check", no_wrap=True)
    table.add_column("status")
    table.add_column("discrepancies", justify="right")
    for name, check in result.checks.items():
        colour = {"PASS": "green", "FAIL": "red"}.get(check["status"], "dim")
        table.add_row(name, f"[{colour}]{check['status']}[/]", str(check["discrepancies"]))
    console.print(table)
    counts = result.counts
    console.print(f"Audited {counts['events']} events: {counts['receivables']} receivables, {counts['vouchers']} "
                  f"vouchers, {counts['deals']} deals, {counts['claims']} claims, {counts['pledges']} pledges — "
                  f"{len(result.discrepancies)} discrepancies")
    return result


def _recourse(offer) -> str:
    if not offer.recourse:
        return "without"
    return {"NONE": "with (unused)", "CLAIMED": "with (claimed)", "PAID": "with (paid back)"}[offer.recourse_state.name]


def _positions(ledger: Ledger, token_ids: list[int], names: dict[str, str]) -> list[dict]:
    rows = []
    for token_id in token_ids:
        v = ledger.voucher_of(token_id)
        rows.append({"token_id": token_id, "holder": names.get(v.holder, v.holder), "value": v.value,
                     "paid": v.paid, "status": v.status.name.lower(), "parent_id": v.parent_id})
    return rows


def _stepper(console: Console):
    counter = iter(range(1, 1_000))

    def step(text: str, receipt) -> None:
        suffix = f" [dim](block {receipt.block_number}, gas {receipt.gas_used:,})[/]" if receipt else ""
        console.print(f"[bold green]{next(counter):>2}.[/] {text}{suffix}")

    return step
