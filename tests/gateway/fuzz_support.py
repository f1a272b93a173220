"""What the gateway fuzz tests share: the fuzzer's world (seeded with deep states), the ledger
effects a refusal must not have, and the choices that make a generated request reach a handler's
happy path (the party entitled to act, addresses of members, amounts that fit, times ahead).

The fuzzer's world gets its own chain and gateway (on SQLite or on PostgreSQL): it changes
credit-line terms, expels addresses and pauses the platform, which must not leak into the other
gateway tests. It is seeded so that every kind of state exists: accepted and pending
receivables, a split voucher, partly repaid receivables with something to claim, open and bought
offers (with recourse) on an Overdue receivable, a Defaulted receivable on a line with a pledged
data asset, stored documents and appraisal reports.
"""

from __future__ import annotations

import random
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from sqlmodel import select

from gateway.models import Document
from gateway_world import DAY, GRACE, GW, OPERATOR_TOKEN, dev_account, open_world, postgres_world

from ledger.mirror import CreditLine, DataAsset, Offer, Pledge, Receivable, Voucher
from ledger.types import OfferState, ReceivableState, RecourseState, VoucherStatus

# The endpoints guarded by the operator's bootstrap credential (gateway/api/deps.py OperatorDep).
OPERATOR_ONLY = {
    ("POST", "/v1/parties"), ("POST", "/v1/parties/{address}/roles"), ("DELETE", "/v1/parties/{address}/roles/{role}"),
    ("POST", "/v1/parties/{address}/expel"), ("POST", "/v1/parties/{address}/admit"),
    ("POST", "/v1/platform/pause"), ("POST", "/v1/platform/unpause"), ("POST", "/v1/data-assets/{asset_id}/appraisals/strike"),
}

# -- the world --------------------------------------------------------------------------------------


@contextmanager
def fuzz_world(tmp: Path, database: str):
    """The fuzzer's own world on `database` ("sqlite" or "postgresql"), seeded (see the module)."""
    opened = postgres_world(tmp) if database == "postgresql" else open_world(tmp)
    with opened as world:
        seed_world(world)
        yield world


def _ok(r, status: int = 200) -> dict:
    assert r.status_code == status, (r.status_code, r.json())
    return r.json()


def seed_world(w: GW) -> None:
    """Deep states for the fuzzer to start from (small ids exist and point at each)."""
    # Receivable 1 (token 1) split into token 2; an open offer to bank; partly repaid (claims).
    issued = w.issue(500_000, maturity_days=60)
    _ok(w.post(w.tier1, f"/v1/vouchers/{issued['token_id']}/split", {"to": w.tier2.address, "value": "100000"}), 201)
    _ok(w.post(w.tier1, "/v1/offers", {"token_id": issued["token_id"], "value": "50000", "rate_bps": 800,
                                       "deadline": w.now() + 5 * DAY, "financier": w.bank.address,
                                       "recourse": True}), 201)
    _ok(w.post(w.core, f"/v1/receivables/{issued['receivable_id']}/repayments", {"amount": "100000"}))
    # A second line (bank2 to core2) and a pending receivable on it.
    line2 = _ok(w.post(w.bank2, "/v1/credit-lines", {
        "obligor": w.core2.address, "currency": w.cash, "limit": "1000000000", "expiry": w.now() + 3650 * DAY,
        "grace_period": GRACE}), 201)["line_id"]
    r = w.post(w.core2, "/v1/receivables", {"supplier": w.tier2.address, "line_id": line2, "face_value": "200000",
                                           "maturity": w.now() + 120 * DAY, "document_hash": w.doc()})
    _ok(r, 201)
    # A data asset listed and appraised, one pledged to the first line, with reports and a document.
    w.data_asset()
    w.data_asset(pledge_to=w.line_id)
    asset = w.data_asset(appraise=False, list_=False)
    _ok(w.client.post(f"/v1/data-assets/{asset}/appraisal-reports",
                      files={"file": ("report.pdf", b"APPRAISAL seed", "application/pdf")}, headers=w.appraiser.auth), 201)
    _ok(w.client.post("/v1/documents", files={"file": ("invoice.pdf", b"INVOICE seed", "application/pdf")},
                      headers=w.core.auth), 201)
    # Two receivables that will be Overdue: one with bought offers (with recourse), one Defaulted.
    soon = [w.issue(90_000, maturity_days=1), w.issue(80_000, maturity_days=1)]
    for issued in soon:
        offer = _ok(w.post(w.tier1, "/v1/offers", {"token_id": issued["token_id"], "value": "20000", "rate_bps": 500,
                                                  "deadline": w.now() + DAY // 2, "financier": w.bank.address,
                                                  "recourse": True}), 201)
        _ok(w.post(w.bank, f"/v1/offers/{offer['offer_id']}/accept"))
    w.advance(DAY + GRACE + 60)
    for issued in soon:
        _ok(w.post(w.tier1, f"/v1/receivables/{issued['receivable_id']}/mark-overdue"))
    _ok(w.post(w.bank, f"/v1/receivables/{soon[1]['receivable_id']}/declare-default"))
    # After the jump: fresh, live state again (an accepted receivable with an open offer to anyone).
    issued = w.issue(300_000, maturity_days=90)
    _ok(w.post(w.tier1, "/v1/offers", {"token_id": issued["token_id"], "value": "60000", "rate_bps": 700,
                                       "deadline": w.now() + 20 * DAY, "recourse": False}), 201)
    w.issue(150_000, supplier=w.tier2, accept=False)
    # A party that keeps its own key (a funded dev account) and submits self-signed transactions.
    w.self_signer = dev_account(7)
    w.self_signed = w.register("self-signer", ["SUPPLIER_ROLE"], address=w.self_signer.address)


# -- ledger effects ---------------------------------------------------------------------------------

_ALLOWANCE = "0xdd62ed3e"  # allowance(address,address)
_BALANCE = "0x70a08231"  # balanceOf(address)


def _word(address: str) -> str:
    return address.lower().removeprefix("0x").rjust(64, "0")


@dataclass(frozen=True)
class Effects:
    """What a refusal must leave as it was: the chain's head, and every ERC-20 allowance (each
    party and the operator to each contract) and balance (parties and contracts) of the currency."""

    block: int
    allowances: dict[tuple[str, str], int]
    balances: dict[str, int]

    def changes(self, after: Effects) -> list[str]:
        out = []
        if after.block != self.block:
            out.append(f"{after.block - self.block} block(s) mined ({self.block} -> {after.block})")
        out += [f"allowance {o} -> {s}: {v} -> {after.allowances[o, s]}" for (o, s), v in self.allowances.items()
                if after.allowances[o, s] != v]
        out += [f"balance of {a}: {v} -> {after.balances[a]}" for a, v in self.balances.items() if after.balances[a] != v]
        return out


class Ledger:
    """Reads Effects in one JSON-RPC batch (cheap enough for every request the fuzzer sends)."""

    def __init__(self, world: GW):
        self.world = world
        self.url = world.settings.rpc_url
        d = world.gateway.deployment
        self.spenders = [a for a in (d.voucher, d.factoring, d.credit_lines, d.data_assets) if a]
        self.owners = [p.address for p in world.parties.values()] + [world.gateway.operator.address]
        if getattr(world, "self_signed", None) is not None:
            self.owners.append(world.self_signed.address)
        self.cash = world.cash
        self.session = requests.Session()

    def _calls(self) -> list[tuple[Any, str]]:
        calls = [((o, s), _ALLOWANCE + _word(o) + _word(s)) for o in self.owners for s in self.spenders]
        calls += [(a, _BALANCE + _word(a)) for a in self.owners + self.spenders]
        return calls

    def effects(self) -> Effects:
        calls = self._calls()
        batch = [{"jsonrpc": "2.0", "id": 0, "method": "eth_blockNumber", "params": []}]
        batch += [{"jsonrpc": "2.0", "id": i + 1, "method": "eth_call",
                   "params": [{"to": self.cash, "data": data}, "latest"]} for i, (_, data) in enumerate(calls)]
        answers = {a["id"]: a["result"] for a in self.session.post(self.url, json=batch, timeout=30).json()}
        allowances, balances = {}, {}
        for i, (key, _) in enumerate(calls):
            (allowances if isinstance(key, tuple) else balances)[key] = int(answers[i + 1], 16)
        return Effects(int(answers[0], 16), allowances, balances)


def refusal_effects(before: Effects, after: Effects) -> list[str]:
    """What a 4xx changed that it must not (nothing: issue 14 item 2's stray approve is fixed)."""
    return before.changes(after)


#: Body fields that are 32-byte fingerprints (a generated string rarely is one).
HASH_FIELDS = ("content_hash", "metadata_hash", "report_hash", "listing_id", "document_hash")


# -- happy paths ------------------------------------------------------------------------------------


@dataclass
class Chooser:
    """Turns a generated request into one the entitled party sends with values that fit, most of
    the time (`realism`); the rest of the time it leaves the generated values and picks a random
    party, so refusals keep being exercised."""

    world: GW
    rnd: random.Random
    realism: float = 0.8
    #: Whether path ids may be pointed at existing things (not for a request that follows a link).
    realism_ids: bool = True
    by_address: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        self.by_address = {p.address.lower(): name for name, p in self.world.parties.items()}

    # mirror reads
    def _one(self, model, key):
        """The row whose primary key is `key`, or None (also for a generated key that is no id)."""
        if not isinstance(key, int) or isinstance(key, bool) or not 0 < key < 2**48:
            return None
        return self.world.gateway.fetch(model, key)

    def _rows(self, model, *where) -> list:
        with self.world.gateway.snapshot() as snap:
            rows = snap.session.exec(select(model).where(*where)).all()
            for row in rows:
                snap.session.expunge(row)
            return list(rows)

    def _pick(self, rows: list):
        return self.rnd.choice(rows) if rows else None

    def _key_of(self, address: str | None) -> str | None:
        name = self.by_address.get((address or "").lower())
        return self.world.parties[name].api_key if name else None

    def _any_key(self, *names: str) -> str:
        return self.world.parties[self.rnd.choice(names or list(self.world.parties))].api_key

    def now(self) -> int:
        return self.world.now()

    def real(self) -> bool:
        return self.rnd.random() < self.realism

    # The entry point: set credentials, and adjust path ids and body fields.
    def prepare(self, method: str, path: str, path_parameters: dict, body: Any,
                headers: dict | None = None, query: dict | None = None) -> tuple[str, str | None]:
        """Returns the bearer token to send and the address acting (None: the operator or unknown).
        Mutates path_parameters, body (a dict) and headers in place."""
        if headers and "Idempotency-Key" in headers and self.real():
            # Generated keys repeat ("0", "a"): most of the time a fresh one, as a client would.
            headers["Idempotency-Key"] = self.rnd.randbytes(16).hex()
        if (method, path) in OPERATOR_ONLY:
            if self.real():
                self._ids(path, path_parameters)
            return OPERATOR_TOKEN, None
        if not self.real():
            name = self.rnd.choice(list(self.world.parties))
            return self.world.parties[name].api_key, self.world.parties[name].address
        if self.realism_ids:
            self._ids(path, path_parameters)
        if query is not None and "q" in query:  # the explorer's search: an id or an address
            query["q"] = self.rnd.choice(["1", "2", str(self.rnd.randint(1, 20)), self.world.tier1.address])
        if isinstance(body, dict):
            self._body(path, path_parameters, body)
        if path == "/v1/transactions" and isinstance(body, dict):
            body["raw_transaction"] = self._self_signed()
            return self.world.self_signed.api_key, self.world.self_signed.address
        key = self._actor(method, path, path_parameters, body if isinstance(body, dict) else {})
        if key is None:
            key = self._any_key()
        address = next((p.address for p in self.world.parties.values() if p.api_key == key), None)
        return key, address

    def _self_signed(self) -> str:
        """A transaction the self-signing party signed: an operator approval (ERC-721
        setApprovalForAll) for a random member, on or off."""
        w3 = self.world.gateway.chain.w3
        signer = self.world.self_signer
        voucher = self.world.gateway.ledger.voucher
        operator = self.rnd.choice([p.address for p in self.world.parties.values()])
        tx = voucher.functions.setApprovalForAll(operator, self.rnd.random() < 0.5).build_transaction({
            "from": signer.address, "nonce": w3.eth.get_transaction_count(signer.address), "gas": 200_000,
            "chainId": w3.eth.chain_id})
        return signer.sign_transaction(tx).raw_transaction.to_0x_hex()

    def _ids(self, path: str, params: dict) -> None:
        """Sometimes point a path id at an existing thing (the seeded deep states), not only at
        what this scenario made; most of the time at one in the state the operation needs."""
        if self.rnd.random() > 0.6:
            return
        if "address" in params:
            params["address"] = self.rnd.choice(list(self.world.parties.values())).address
        fitting = self.rnd.random() < 0.8
        for name, model, column in (("receivable_id", Receivable, Receivable.receivable_id),
                                    ("token_id", Voucher, Voucher.token_id), ("offer_id", Offer, Offer.offer_id),
                                    ("line_id", CreditLine, CreditLine.line_id),
                                    ("asset_id", DataAsset, DataAsset.asset_id)):
            if name in params:
                where = [column > 0]
                if fitting:
                    where += [w for suffix, w in self._needs(model) if path.endswith(suffix)]
                row = self._pick(self._rows(model, *where))
                if row is not None:
                    params[name] = getattr(row, name)

    @staticmethod
    def _needs(model) -> list:
        """(path suffix, where clause): the state an operation needs its path's thing in."""
        if model is Receivable:
            pending = Receivable.state == int(ReceivableState.PENDING)
            return [("/accept", pending), ("/reject", pending), ("/revoke", pending),
                    ("/declare-default", Receivable.state == int(ReceivableState.OVERDUE)),
                    ("/repayments", Receivable.state.in_([int(ReceivableState.ACTIVE), int(ReceivableState.OVERDUE)]))]
        if model is Offer:
            is_open = Offer.state == int(OfferState.OPEN)
            bought = Offer.state == int(OfferState.ACCEPTED)
            return [("/cancel", is_open), ("/accept", is_open), ("/exercise-recourse", bought),
                    ("/pay-recourse", Offer.recourse_state == int(RecourseState.CLAIMED))]
        if model is DataAsset:
            return [("/release", DataAsset.pledge_id > 0), ("/foreclose", DataAsset.pledge_id > 0)]
        if model is Voucher:
            live = Voucher.burned == False  # noqa: E712
            return [(suffix, live) for suffix in ("/split", "/transfer-value", "/merge", "/transfer", "/claim",
                                                   "/approve-value", "/approve")]
        return []

    def _body(self, path: str, params: dict, body: dict) -> None:
        w, rnd, now = self.world, self.rnd, self.now()
        members = [p.address for n, p in w.parties.items() if n not in ("auditor",)]
        voucher = None
        if "token_id" in params:
            voucher = self._one(Voucher, params["token_id"])
        for key in list(body):
            if not self.real():
                continue
            if key == "supplier":
                body[key] = rnd.choice([w.tier1.address, w.tier2.address])
            elif key in ("to", "operator"):
                body[key] = rnd.choice(members)
            elif key == "financier":
                body[key] = rnd.choice([w.bank.address, w.bank2.address])
            elif key == "obligor":
                body[key] = rnd.choice([w.core.address, w.core2.address])
            elif key == "currency":
                body[key] = w.cash
            elif key == "line_id":
                line = self._pick(self._rows(CreditLine, CreditLine.line_id > 0))
                body[key] = line.line_id if line else w.line_id
            elif key == "token_id" and path == "/v1/offers":
                held = self._pick(self._rows(Voucher, Voucher.burned == False,  # noqa: E712
                                                 Voucher.status == int(VoucherStatus.ACTIVE)))
                if held is not None:
                    body[key] = held.token_id
            elif key in ("to_token_id", "into_token_id") and voucher is not None:
                # A merge joins two vouchers of one holder; value moves to anyone's.
                same = [Voucher.holder == voucher.holder] if key == "into_token_id" else []
                sibling = self._pick(self._rows(Voucher, Voucher.receivable_id == voucher.receivable_id, *same,
                                                Voucher.token_id != voucher.token_id, Voucher.burned == False))  # noqa: E712
                if sibling is not None:
                    body[key] = sibling.token_id
            elif key == "receivable_id":  # foreclosure: a Defaulted receivable
                row = self._pick(self._rows(Receivable, Receivable.state == int(ReceivableState.DEFAULTED)))
                if row is not None:
                    body[key] = row.receivable_id
            elif key in ("value", "amount"):
                body[key] = str(self._amount(path, params, voucher))
            elif key == "face_value":
                body[key] = str(rnd.randint(1, 1_000_000))
            elif key == "limit":  # a line that still lends after the scenarios' receivables
                body[key] = str(rnd.randint(10**9, 10**12))
            elif key in HASH_FIELDS:
                body[key] = "0x" + rnd.randbytes(32).hex()
            elif key == "maturity":
                body[key] = now + rnd.randint(1, 180) * DAY
            elif key == "deadline":
                body[key] = now + rnd.randint(1, 30) * DAY
            elif key == "expiry":
                body[key] = now + 3650 * DAY
            elif key == "valid_until":
                body[key] = now + rnd.randint(30, 365) * DAY
            elif key == "rate_bps" and path == "/v1/offers":
                body[key] = rnd.randint(1, 3000)
        if path == "/v1/offers" and "token_id" in body and isinstance(body["token_id"], int):
            v = self._one(Voucher, body["token_id"])
            if v is not None and self.real():
                body["value"] = str(rnd.randint(1, max(1, v.value)))

    def _amount(self, path: str, params: dict, voucher) -> int:
        if voucher is not None:
            return self.rnd.randint(1, max(1, voucher.value))
        if "receivable_id" in params:
            r = self._one(Receivable, params["receivable_id"])
            if r is not None:
                return self.rnd.randint(1, max(1, r.face_value - r.repaid))
        return self.rnd.randint(1, 100_000)

    def _actor(self, method: str, path: str, params: dict, body: dict) -> str | None:
        """The API key of the party entitled to this request, when there is one to find."""
        w = self.world
        key = self._key_of
        if path.startswith("/v1/receivables/{receivable_id}"):
            r = self._one(Receivable, params.get("receivable_id"))
            if r is None:
                return None
            if path.endswith(("/accept", "/reject")):
                return key(r.supplier)
            if path.endswith("/declare-default"):
                line = self._one(CreditLine, r.line_id)
                return key(line.financier) if line else None
            if path.endswith("/mark-overdue"):
                return self._any_key("tier1", "tier2", "bank")
            return key(r.obligor)
        if path == "/v1/receivables" and method == "POST":
            line = self._one(CreditLine, body.get("line_id"))
            return key(line.obligor) if line else self._any_key("core", "core2")
        if "/vouchers/{token_id}" in path:
            if path.endswith("/proof"):
                return w.auditor.api_key
            v = self._one(Voucher, params.get("token_id"))
            return key(v.holder) if v else None
        if path == "/v1/offers" and method == "POST":
            v = self._one(Voucher, body.get("token_id"))
            return key(v.holder) if v else None
        if path.startswith("/v1/offers/{offer_id}"):
            o = self._one(Offer, params.get("offer_id"))
            if o is None:
                return None
            if path.endswith(("/accept", "/exercise-recourse")):
                if int(o.financier, 16) == 0 and o.state == int(OfferState.OPEN):
                    return self._any_key("bank", "bank2")
                return key(o.financier)
            return key(o.seller)
        if path == "/v1/credit-lines" and method == "POST":
            return self._any_key("bank", "bank2")
        if path.startswith("/v1/credit-lines/{line_id}"):
            line = self._one(CreditLine, params.get("line_id"))
            return key(line.financier) if line else None
        if path.startswith("/v1/data-assets/{asset_id}"):
            a = self._one(DataAsset, params.get("asset_id"))
            if path.endswith(("/appraisals", "/appraisal-reports")):
                return w.appraiser.api_key
            if path.endswith("/listing"):
                return w.exchange.api_key
            if a is None:
                return None
            if path.endswith(("/release", "/foreclose")) and a.pledge_id:
                p = self._one(Pledge, a.pledge_id)
                return key(p.financier) if p else None
            return key(a.owner)
        if path in ("/v1/audit",):
            return w.auditor.api_key
        if path == "/v1/documents/{document_hash}":
            doc_hash = params.get("document_hash")
            with w.gateway.session() as s:
                doc = s.get(Document, doc_hash) if isinstance(doc_hash, str) else None
            return key(doc.uploaded_by) if doc is not None else None
        return None
