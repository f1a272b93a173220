"""The demo: the whole lifecycle through the gateway's HTTP API, as the parties' own clients would.

A local stack starts (ledger.stack: Anvil, the contracts, the gateway with its mirror on SQLite,
served by uvicorn on 127.0.0.1). Then every step is an HTTP call with httpx, each party with its
own API key: the operator registers the parties; the core enterprise's data asset is registered,
appraised (the report uploaded), listed and pledged, raising its credit line; the core
enterprise uploads its trade documents and issues receivable 1 (more than the base limit) to
tier 1, who accepts, splits and pays tier 2, who splits and pays tier 3; tier 3 merges two
vouchers; tier 2 factors part with recourse to bank A, tier 3 its voucher without recourse to
bank B; the core enterprise repays in two instalments and holders claim. Receivable 2 goes
overdue and bank A exercises its recourse against tier 1, who pays and takes the voucher back.
The auditor runs the gateway's audit (chain, views, mirror, stored documents) and fetches a
lineage proof. The tables at the end are read from the gateway's mirror-backed endpoints.

What the API cannot do is done on the chain directly and labelled [environment]: minting the
settlement currency (the cash issuer is not a party of the gateway) and moving the local
chain's clock forward. The cash table reads the currency's balances on chain for the same reason.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from dataclasses import dataclass, field

import httpx
from rich.console import Console
from rich.table import Table

from .client import Ledger
from .stack import LocalStack

DAY = 86_400


class DemoError(RuntimeError):
    """A call of the demo was refused or answered something unexpected."""


@dataclass
class Party:
    """A registered party: its name, address and API key (shown once by the gateway)."""

    name: str
    address: str
    api_key: str
    roles: list[str] = field(default_factory=list)


def _money(units: int | str) -> str:
    return f"{int(units) / 100:,.2f}"


def _sha(data: bytes) -> str:
    return "0x" + hashlib.sha256(data).hexdigest()


class Api:
    """The parties' HTTP client: one httpx client, a bearer key per call, an Idempotency-Key per write."""

    def __init__(self, base_url: str, operator_token: str, console: Console):
        self.http = httpx.Client(base_url=base_url, timeout=120)
        self.operator_token = operator_token
        self.console = console
        self.calls = 0
        self._step = 0
        self._requests: dict[int, str] = {}  # id of an answer -> the request that got it

    def close(self) -> None:
        self.http.close()

    def request(self, who: Party | None, method: str, path: str, *, json_body: dict | list | None = None,
                files: dict | None = None, params: dict | None = None, expect: tuple[int, ...] = (200, 201)) -> dict:
        """Send one request as `who` (None: the operator's bootstrap credential); its JSON answer.

        Raises:
            DemoError: the answer's status is not in `expect` (with the gateway's error body).
        """
        token = self.operator_token if who is None else who.api_key
        headers = {"Authorization": f"Bearer {token}"}
        if method == "POST":
            # As a real client would: a retry after a lost answer must not pay twice.
            headers["Idempotency-Key"] = str(uuid.uuid4())
        self.calls += 1
        try:
            r = self.http.request(method, path, json=json_body, files=files, params=params, headers=headers)
        except httpx.HTTPError as error:
            raise DemoError(f"{method} {path} as {who.name if who else 'operator'} failed: {error!r}") from error
        if r.status_code not in expect:
            raise DemoError(f"{method} {path} as {who.name if who else 'operator'} answered {r.status_code}: "
                            f"{r.text[:2000]}")
        answer = r.json()
        short = re.sub(r"0x([0-9a-f]{8})[0-9a-f]{56}", r"0x\1…", path)  # a 32-byte fingerprint in the path
        self._requests[id(answer)] = f"{method} {short} → {r.status_code}"
        return answer

    def download(self, who: Party, path: str) -> bytes:
        """GET a stored file as `who`; its bytes.

        Raises:
            DemoError: the answer is not 200.
        """
        self.calls += 1
        r = self.http.get(path, headers={"Authorization": f"Bearer {who.api_key}"})
        if r.status_code != 200:
            raise DemoError(f"GET {path} as {who.name} answered {r.status_code}: {r.text[:2000]}")
        return r.content

    def post(self, who: Party | None, path: str, body: dict | list | None = None, **kw) -> dict:
        return self.request(who, "POST", path, json_body=body if body is not None else {}, **kw)

    def get(self, who: Party, path: str, **params) -> dict:
        return self.request(who, "GET", path, params=params or None, expect=(200,))

    def step(self, text: str, answer: dict | None = None) -> None:
        """Print one numbered step with the last call and the block its answer reflects."""
        self._step += 1
        suffix = ""
        if answer is not None:
            block = (answer.get("block") or {}).get("number")
            request = self._requests.get(id(answer), "")
            suffix = f" [dim]({request}" + (f", block {block}" if block is not None else "") + ")[/]"
        self.console.print(f"[bold green]{self._step:>2}.[/] {text}{suffix}")

    def environment(self, text: str) -> None:
        self.console.print(f"    [yellow]\\[environment][/] {text}")


def run(console: Console | None = None, node_kind: str | None = None) -> dict:
    """Start a local stack, walk the lifecycle through the gateway's HTTP API, print the tables.

    Returns:
        What the tables show: `positions` (receivable 1's vouchers), `parties`, `deals`,
        `cash`, `credit_line`, `audit` (the gateway's audit report) and `calls` (HTTP requests made).

    Raises:
        DemoError: a call was refused or an outcome is not what the story says.
    """
    console = console or Console()
    started = time.monotonic()
    with console.status("Starting Anvil, deploying the contracts and the gateway…"):
        stack = LocalStack(node_kind=node_kind, cash_name="Digital Yuan (demo)").start()
    try:
        console.print(f"[bold]Local {stack.node.kind}[/] on {stack.rpc_url}; contracts deployed "
                      f"(ReceivableVoucher {stack.deployment.voucher}); settlement token DCNY {stack.cash}")
        console.print(f"[bold]Gateway[/] on {stack.url} (mirror: SQLite in {stack.directory}); every step "
                      "below is an HTTP call with the acting party's API key")
        api = Api(stack.url, stack.operator_token, console)
        try:
            result = _story(api, stack, console)
        finally:
            api.close()
        result["calls"] = api.calls
        console.print(f"[dim]{api.calls} HTTP requests in {time.monotonic() - started:.1f}s; stopping the "
                      "gateway and the node[/]")
        return result
    finally:
        stack.stop()


def _story(api: Api, stack: LocalStack, console: Console) -> dict:
    env = Ledger(stack.chain, stack.deployment)  # the environment's own view of the chain

    # -- parties ---------------------------------------------------------------------------------
    cast = [("core", "Core Enterprise", "CORE_ENTERPRISE_ROLE"), ("tier1", "Tier-1 Supplier", "SUPPLIER_ROLE"),
            ("tier2", "Tier-2 Supplier", "SUPPLIER_ROLE"), ("tier3", "Tier-3 Supplier", "SUPPLIER_ROLE"),
            ("bank", "Bank A", "FINANCIER_ROLE"), ("bank_b", "Bank B", "FINANCIER_ROLE"),
            ("appraiser", "CPA firm", "APPRAISER_ROLE"), ("exchange", "Data exchange", "EXCHANGE_ROLE"),
            ("auditor", "Auditor", "AUDITOR_ROLE")]
    p: dict[str, Party] = {}
    for key, name, role in cast:
        made = api.post(None, "/v1/parties", {"name": name, "roles": [role]})
        p[key] = Party(name, made["address"], made["api_key"], made["roles"])
    names = {party.address: party.name for party in p.values()}
    api.step("Operator registers the core enterprise, three tiers of suppliers, two banks, a CPA firm, a data "
             "exchange and an auditor: the gateway makes each a key (kept encrypted), admits it on chain and "
             "returns its API key", made)
    for key in ("core", "tier1", "bank", "bank_b"):
        env.mint_cash(stack.cash_issuer, stack.cash, p[key].address, 10_000_000_00)
    api.environment("the cash issuer mints 10,000,000.00 DCNY each to the core enterprise, Tier-1 and both banks")
    core, tier1, tier2, tier3 = p["core"], p["tier1"], p["tier2"], p["tier3"]
    bank, bank_b, appraiser, exchange, auditor = p["bank"], p["bank_b"], p["appraiser"], p["exchange"], p["auditor"]

    # -- credit line and data-asset collateral ---------------------------------------------------
    now = int(time.time())
    line = api.post(bank, "/v1/credit-lines", {"obligor": core.address, "currency": stack.cash,
                                               "limit": str(800_000_00), "expiry": now + 365 * DAY,
                                               "grace_period": 30 * DAY})
    line_id = line["line_id"]
    api.step(f"Bank A grants the core enterprise credit line #{line_id}: limit {_money(800_000_00)}", line)
    asset = api.post(core, "/v1/data-assets", {
        "content_hash": _sha(b"core enterprise: 2024-2026 logistics telemetry, 41M rows"),
        "metadata_hash": _sha(b"schema v3"), "uri": "https://data.example/catalogue/logistics-telemetry"})
    asset_id = asset["asset_id"]
    api.step(f"Core enterprise registers its logistics data as data asset #{asset_id}", asset)
    cpa_report = b"CPA report 2026-88: logistics telemetry data asset, fair value 2,000,000.00 DCNY"
    uploaded = api.request(appraiser, "POST", f"/v1/data-assets/{asset_id}/appraisal-reports",
                           files={"file": ("cpa-report-2026-88.txt", cpa_report, "text/plain")})
    appraised = api.post(appraiser, f"/v1/data-assets/{asset_id}/appraisals", {
        "report_hash": uploaded["report_hash"], "value": str(2_000_000_00), "valid_until": now + 300 * DAY})  # < MAX_APPRAISAL_TERM
    api.step("The CPA firm uploads its report (stored encrypted) and appraises the asset at 2,000,000.00, "
             "valid one year", appraised)
    listed = api.post(exchange, f"/v1/data-assets/{asset_id}/listing", {"listing_id": _sha(b"DEX-LIST-000417")})
    api.step("The data exchange certifies and lists it", listed)
    api.post(bank, f"/v1/credit-lines/{line_id}/advance-rate", {"rate_bps": 5_000})
    pledged = api.post(core, f"/v1/data-assets/{asset_id}/pledge", {"line_id": line_id})
    credit = api.get(core, f"/v1/credit-lines/{line_id}")
    if int(credit["effective_limit"]) != 1_800_000_00:
        raise DemoError(f"the pledge should raise the line to 1,800,000.00, not {_money(credit['effective_limit'])}")
    api.step(f"Bank A sets a 50 % advance rate and the core enterprise pledges the asset: the line's limit rises "
             f"to {_money(credit['effective_limit'])}", pledged)

    # -- receivable 1 up the supply chain --------------------------------------------------------
    documents = json.dumps({"order": "PO-2026-0117", "delivery": "DN-88213", "invoice": "INV-5531"},
                           sort_keys=True).encode()
    doc = api.request(core, "POST", "/v1/documents",
                      files={"file": ("PO-2026-0117.json", documents, "application/json")})
    issued = api.post(core, "/v1/receivables", {
        "supplier": tier1.address, "line_id": line_id, "face_value": str(1_000_000_00),
        "maturity": now + 90 * DAY, "document_hash": doc["document_hash"]})
    receivable_id, root = issued["receivable_id"], issued["token_id"]
    api.step(f"Core enterprise uploads its trade documents (fingerprint {doc['document_hash'][:18]}…) and issues "
             f"receivable #{receivable_id} (voucher #{root}) of {_money(1_000_000_00)} to Tier-1, maturing in 90 "
             "days", issued)
    api.step("Tier-1 accepts the receivable", api.post(tier1, f"/v1/receivables/{receivable_id}/accept"))
    to_tier2 = api.post(tier1, f"/v1/vouchers/{root}/split", {"to": tier2.address, "value": str(400_000_00)})
    api.step(f"Tier-1 pays Tier-2 {_money(400_000_00)}: split → voucher #{to_tier2['token_id']}", to_tier2)
    to_tier3 = api.post(tier2, f"/v1/vouchers/{to_tier2['token_id']}/split",
                        {"to": tier3.address, "value": str(150_000_00)})
    api.step(f"Tier-2 pays Tier-3 {_money(150_000_00)}: split → voucher #{to_tier3['token_id']}", to_tier3)
    second = api.post(tier1, f"/v1/vouchers/{root}/split", {"to": tier3.address, "value": str(50_000_00)})
    api.step(f"Tier-1 also pays Tier-3 {_money(50_000_00)}: voucher #{second['token_id']}", second)
    api.step(f"Tier-3 merges voucher #{second['token_id']} into #{to_tier3['token_id']}",
             api.post(tier3, f"/v1/vouchers/{second['token_id']}/merge", {"into_token_id": to_tier3["token_id"]}))

    # -- factoring -------------------------------------------------------------------------------
    deadline = now + 5 * DAY
    with_recourse = api.post(tier2, "/v1/offers", {
        "token_id": to_tier2["token_id"], "value": str(100_000_00), "rate_bps": 1_000, "deadline": deadline,
        "financier": bank.address, "recourse": True})
    api.step(f"Tier-2 offers {_money(100_000_00)} of voucher #{to_tier2['token_id']} to Bank A at 10 %/year with "
             f"recourse: locked in voucher #{with_recourse['token_id']}", with_recourse)
    # Bank A's limit: the whole 100,000.00 still unpaid (were Tier-2 to claim on the locked voucher
    # first, the contract would refuse); the price defaults to the quote read just before sending.
    deal_a = api.post(bank, f"/v1/offers/{with_recourse['offer_id']}/accept", {"min_unpaid_value": str(100_000_00)})
    api.step(f"Bank A buys it: pays {_money(deal_a['price'])} for {_money(100_000_00)} still unpaid and receives "
             "the voucher, in one transaction", deal_a)
    without = api.post(tier3, "/v1/offers", {"token_id": to_tier3["token_id"], "value": str(200_000_00),
                                             "rate_bps": 1_500, "deadline": deadline})
    deal_b = api.post(bank_b, f"/v1/offers/{without['offer_id']}/accept")
    api.step(f"Tier-3 sells its whole voucher #{to_tier3['token_id']} without recourse; Bank B pays "
             f"{_money(deal_b['price'])}", deal_b)

    # Documents stay off chain: a buyer of the voucher reads them back, checked against the fingerprint.
    document_path = f"/v1/documents/{doc['document_hash']}"
    if api.download(bank_b, document_path) != documents:
        raise DemoError("the trade documents Bank B read back differ from those the core enterprise uploaded")
    refused = api.request(exchange, "GET", document_path, expect=(403,))
    api.step(f"Bank B, now a holder, downloads the trade documents behind receivable #{receivable_id} "
             f"(they match the fingerprint on chain); the data exchange is refused ({refused['error']})", refused)

    # -- repayment and claims --------------------------------------------------------------------
    holders = {party.address: party for party in (tier1, tier2, tier3, bank, bank_b)}
    api.step("Core enterprise repays the first instalment of 400,000.00",
             api.post(core, f"/v1/receivables/{receivable_id}/repayments", {"amount": str(400_000_00)}))
    first = api.post(bank_b, f"/v1/vouchers/{to_tier3['token_id']}/claim")
    api.step(f"Bank B claims {_money(first['amount'])} on voucher #{to_tier3['token_id']}: 40 % of its "
             f"{_money(200_000_00)}", first)
    api.step("Core enterprise repays the remaining 600,000.00: the receivable is settled",
             api.post(core, f"/v1/receivables/{receivable_id}/repayments", {"amount": str(600_000_00)}))
    settled = api.get(auditor, f"/v1/receivables/{receivable_id}")
    if settled["state"] != "SETTLED":
        raise DemoError(f"receivable #{receivable_id} should be SETTLED after full repayment, not {settled['state']}")
    for v in api.get(auditor, "/v1/vouchers", receivable_id=receivable_id)["items"]:
        if int(v["value"]) > int(v["paid"]):
            claimed = api.post(holders[v["holder"]], f"/v1/vouchers/{v['token_id']}/claim")
            api.step(f"{names[v['holder']]} claims {_money(claimed['amount'])} on voucher #{v['token_id']}", claimed)

    # -- receivable 2: overdue, recourse ---------------------------------------------------------
    documents2 = json.dumps({"order": "PO-2026-0203", "delivery": "DN-88990", "invoice": "INV-5602"},
                            sort_keys=True).encode()
    doc2 = api.request(core, "POST", "/v1/documents",
                       files={"file": ("PO-2026-0203.json", documents2, "application/json")})
    late = api.post(core, "/v1/receivables", {
        "supplier": tier1.address, "line_id": line_id, "face_value": str(300_000_00),
        "maturity": now + 30 * DAY, "document_hash": doc2["document_hash"]})
    api.post(tier1, f"/v1/receivables/{late['receivable_id']}/accept")
    api.step(f"Core enterprise issues receivable #{late['receivable_id']} of 300,000.00 (30 days) to Tier-1, "
             "who accepts", late)
    sold = api.post(tier1, "/v1/offers", {"token_id": late["token_id"], "value": str(300_000_00), "rate_bps": 1_200,
                                          "deadline": deadline, "recourse": True})
    late_deal = api.post(bank, f"/v1/offers/{sold['offer_id']}/accept")
    api.step(f"Tier-1 factors it with recourse to Bank A for {_money(late_deal['price'])}", late_deal)
    provider = stack.chain.w3.provider
    provider.make_request("evm_increaseTime", [61 * DAY])
    provider.make_request("evm_mine", [])
    api.environment("the local chain's clock moves 61 days forward (evm_increaseTime): maturity and the 30-day "
                    "grace period pass unpaid")
    api.step(f"Tier-3 marks receivable #{late['receivable_id']} overdue",
             api.post(tier3, f"/v1/receivables/{late['receivable_id']}/mark-overdue"))
    api.step("Bank A exercises recourse against Tier-1",
             api.post(bank, f"/v1/offers/{sold['offer_id']}/exercise-recourse"))
    api.step(f"Tier-1 pays Bank A back {_money(late_deal['price'])} and takes voucher #{late['token_id']} back",
             api.post(tier1, f"/v1/offers/{sold['offer_id']}/pay-recourse"))

    # -- the audit -------------------------------------------------------------------------------
    report = api.get(auditor, "/v1/audit", mirror="true")
    api.step(f"The auditor runs the audit: {report['result']}", report)
    proof = api.get(auditor, f"/v1/vouchers/{to_tier3['token_id']}/proof")
    path = " → ".join(f"#{t}" for t in proof["lineage"])
    api.step(f"The auditor exports voucher #{to_tier3['token_id']}'s lineage proof ({path}, the root): "
             f"{len(proof['steps'])} steps, each with its block, transaction and log", proof)

    # -- the tables (read through the gateway) ---------------------------------------------------
    vouchers = api.get(auditor, "/v1/vouchers", receivable_id=receivable_id)
    positions = [{"token_id": v["token_id"], "holder": names.get(v["holder"], v["holder"]), "value": int(v["value"]),
                  "paid": int(v["paid"]), "status": v["status"].lower(), "parent_id": v["parent_id"]}
                 for v in vouchers["items"]]
    _positions_table(console, receivable_id, positions, vouchers["block"]["number"])
    parties = _parties_table(api, console, [core, tier1, tier2, tier3, bank, bank_b], names)
    deals = _deals_table(api, console, auditor, [with_recourse["offer_id"], without["offer_id"], sold["offer_id"]],
                         names)
    cash = {party.name: env.cash_balance(stack.cash, party.address)
            for party in (core, tier1, tier2, tier3, bank, bank_b)}
    cash_table = Table(title="Cash (DCNY) held at the end [environment: the token's balances on chain]")
    cash_table.add_column("party")
    cash_table.add_column("balance", justify="right")
    for name, balance in cash.items():
        cash_table.add_row(name, _money(balance))
    console.print(cash_table)
    credit = api.get(core, f"/v1/credit-lines/{line_id}")
    console.print(f"Credit line #{line_id}: {_money(credit['used'])} used of an effective limit of "
                  f"{_money(credit['effective_limit'])} (base {_money(credit['limit'])} + pledged data asset), "
                  f"{_money(credit['available'])} available")
    _audit_table(console, report)
    total = sum(r["value"] for r in positions)
    paid = sum(r["paid"] for r in positions)
    if total != 1_000_000_00 or paid != 1_000_000_00:
        raise DemoError(f"receivable #{receivable_id}'s vouchers hold {total} and were paid {paid}, not its face value")
    return {"positions": positions, "parties": parties, "deals": deals, "cash": cash,
            "credit_line": credit, "credit_used": int(credit["used"]), "audit": report,
            "discrepancies": len(report["discrepancies"])}


def _positions_table(console: Console, receivable_id: int, positions: list[dict], block: int) -> None:
    table = Table(title=f"Receivable #{receivable_id}: vouchers after settlement (GET /v1/vouchers, block {block})")
    for column in ("voucher", "holder", "value", "paid out", "status", "parent"):
        table.add_column(column, justify="right" if column in ("value", "paid out") else "left")
    for row in positions:
        table.add_row(f"#{row['token_id']}", row["holder"], _money(row["value"]), _money(row["paid"]), row["status"],
                      f"#{row['parent_id']}" if row["parent_id"] else "root")
    table.add_row("", "[bold]total[/]", f"[bold]{_money(sum(r['value'] for r in positions))}[/]",
                  f"[bold]{_money(sum(r['paid'] for r in positions))}[/]", "", "")
    console.print(table)


def _parties_table(api: Api, console: Console, parties: list[Party], names: dict[str, str]) -> dict:
    """Each party's positions (GET /v1/parties/{address}/positions, asked by the party itself)."""
    table = Table(title="Positions by party (GET /v1/parties/{address}/positions)")
    for column in ("party", "vouchers open / held", "paid out to it", "still due to it", "owes", "open offers"):
        table.add_column(column, justify="left" if column == "party" else "right")
    out = {}
    for party in parties:
        pos = api.get(party, f"/v1/parties/{party.address}/positions")
        held = pos["vouchers"]
        open_ = [v for v in held if v["status"] != "CLOSED"]
        paid = sum(int(v["paid"]) for v in held)
        due = sum(int(v["value"]) - int(v["paid"]) for v in held)
        owes = sum(int(r["face_value"]) - int(r["repaid"]) for r in pos["obligations"]
                   if r["state"] not in ("SETTLED", "REVOKED", "REJECTED"))
        out[party.name] = {"open": len(open_), "held": len(held), "paid": paid, "due": due, "owes": owes,
                           "open_offers": len(pos["open_offers"])}
        table.add_row(party.name, f"{len(open_)} / {len(held)}", _money(paid), _money(due), _money(owes),
                      str(len(pos["open_offers"])))
    console.print(table)
    return out


def _deals_table(api: Api, console: Console, reader: Party, offer_ids: list[int], names: dict[str, str]) -> list:
    table = Table(title="Financing costs (GET /v1/offers/{id})")
    for column in ("deal", "seller", "financier", "value", "price", "cost", "rate", "recourse"):
        table.add_column(column, justify="right" if column in ("value", "price", "cost", "rate") else "left")
    out = []
    for offer_id in offer_ids:
        o = api.get(reader, f"/v1/offers/{offer_id}")
        out.append(o)
        recourse = "without" if not o["recourse"] else {
            "NONE": "with (unused)", "CLAIMED": "with (claimed)", "PAID": "with (paid back)",
            "LAPSED": "with (left unpaid)"}[o["recourse_state"]]
        table.add_row(f"#{offer_id}", names[o["seller"]], names.get(o["financier"] or "", "any"), _money(o["value"]),
                      _money(o["price"]), _money(int(o["value"]) - int(o["price"])), f"{o['rate_bps'] / 100:.2f} %",
                      recourse)
    console.print(table)
    return out


def _audit_table(console: Console, report: dict) -> None:
    table = Table(title=f"Audit at block {report['block']['number']} (GET /v1/audit?mirror=true)",
                  caption="events → rebuilt state, against views, mirror and stored documents")
    table.add_column("check", no_wrap=True)
    table.add_column("status")
    table.add_column("discrepancies", justify="right")
    for name, check in report["checks"].items():
        colour = {"PASS": "green", "FAIL": "red"}.get(check["status"], "dim")
        table.add_row(name, f"[{colour}]{check['status']}[/]", str(check["discrepancies"]))
    console.print(table)
    counts = report["counts"]
    console.print(f"Audited {counts['events']} events: {counts['receivables']} receivables, {counts['vouchers']} "
                  f"vouchers, {counts['deals']} deals, {counts['claims']} claims, {counts['pledges']} pledges — "
                  f"{len(report['discrepancies'])} discrepancies: [bold]{report['result']}[/]")
    for d in report["discrepancies"][:10]:
        console.print(f"  - [{d['check']}] {d['message']} @ {d['location']}", markup=False)
