"""The gateway tests' world (fixtures in conftest.py): one Anvil, deployment, mirror (SQLite, in-process thread) and
gateway app for the package, with parties registered through the API itself.

Nothing here reverts the chain (the mirror follows it): each test makes its own receivables.

On PostgreSQL: `postgres_world` opens a world whose gateway database and mirror database are two
fresh PostgreSQL databases, created on the server $LEDGER_TEST_DATABASE_URL names
(tools/postgres.sh starts one) and dropped afterwards; a module overrides `gw` with it (one world,
so fresh databases, per module: test_gateway_postgres.py). Without the variable it skips, and
fails in CI (CI=true), as the mirror's PostgreSQL cases do.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gateway.config import Settings
from gateway.main import create_app
from gateway.service import Gateway
from ledger import Chain, LocalNode, deploy, deploy_settlement_token
from ledger.node import DEV_MNEMONIC

Account.enable_unaudited_hdwallet_features()

DAY = 86_400
OPERATOR_TOKEN = "operator-bootstrap-token-for-tests"
MASTER_SECRET = "master-secret-for-tests-0123456789"
CASH = 10**12
GRACE = 7 * DAY
PG_ENV = "LEDGER_TEST_DATABASE_URL"


def dev_account(index: int):
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


@dataclass
class Party:
    name: str
    address: str
    api_key: str
    roles: list[str]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


@dataclass
class GW:
    client: TestClient
    gateway: Gateway
    cash: str
    line_id: int
    parties: dict[str, Party]
    settings: Settings
    api_keys: list[str] = field(default_factory=list)

    def __getattr__(self, name: str) -> Party:
        parties = self.__dict__.get("parties", {})
        if name in parties:
            return parties[name]
        raise AttributeError(name)

    # -- HTTP ------------------------------------------------------------------------------------

    def post(self, who: Party | None, path: str, body: dict | None = None, *, key: str | None = None):
        headers = dict(who.auth) if who else {}
        if key:
            headers["Idempotency-Key"] = key
        return self.client.post(path, json=body if body is not None else {}, headers=headers)

    def get(self, who: Party | None, path: str, **params):
        return self.client.get(path, params=params, headers=who.auth if who else {})

    # -- chain -----------------------------------------------------------------------------------

    @property
    def ledger(self):
        return self.gateway.ledger

    def head(self) -> int:
        return self.gateway.chain.w3.eth.block_number

    def now(self) -> int:
        return self.gateway.chain.w3.eth.get_block("latest")["timestamp"]

    def advance(self, seconds: int) -> None:
        provider = self.gateway.chain.w3.provider
        provider.make_request("evm_increaseTime", [seconds])
        provider.make_request("evm_mine", [])
        self.gateway.wait_for_block(self.head())

    def doc(self) -> str:
        return "0x" + os.urandom(32).hex()

    def issue(self, face_value: int = 100_000, *, supplier: Party | None = None, accept: bool = True,
              maturity_days: int = 90, doc: str | None = None) -> dict:
        """Issue through the API (core to tier1 by default) and accept; returns the issue response."""
        supplier = supplier or self.tier1
        r = self.post(self.core, "/v1/receivables", {
            "supplier": supplier.address, "line_id": self.line_id, "face_value": str(face_value),
            "maturity": self.now() + maturity_days * DAY, "document_hash": doc or self.doc()})
        assert r.status_code == 201, r.json()
        issued = r.json()
        if accept:
            a = self.post(supplier, f"/v1/receivables/{issued['receivable_id']}/accept")
            assert a.status_code == 200, a.json()
        return issued

    def overdue(self, *, mark: bool = True) -> dict:
        """An accepted receivable past maturity and grace (marked Overdue unless `mark` is False)."""
        issued = self.issue(maturity_days=1)
        self.advance(DAY + GRACE + 60)
        if mark:
            r = self.post(self.tier1, f"/v1/receivables/{issued['receivable_id']}/mark-overdue")
            assert r.status_code == 200, r.json()
        return issued

    def data_asset(self, *, owner: Party | None = None, appraise: bool = True, list_: bool = True,
                   pledge_to: int | None = None, value: int = 1_000_000) -> int:
        """Register (core by default), appraise, list and optionally pledge a data asset; its id."""
        owner = owner or self.core
        r = self.post(owner, "/v1/data-assets", {"content_hash": self.doc(), "uri": "ipfs://asset"})
        assert r.status_code == 201, r.json()
        asset_id = r.json()["asset_id"]
        if appraise:
            r = self.post(self.appraiser, f"/v1/data-assets/{asset_id}/appraisals", {
                "report_hash": self.doc(), "value": str(value), "valid_until": self.now() + 365 * DAY})
            assert r.status_code == 201, r.json()
        if list_:
            r = self.post(self.exchange, f"/v1/data-assets/{asset_id}/listing", {"listing_id": self.doc()})
            assert r.status_code == 200, r.json()
        if pledge_to is not None:
            r = self.post(owner, f"/v1/data-assets/{asset_id}/pledge", {"line_id": pledge_to})
            assert r.status_code == 201, r.json()
        return asset_id

    def register(self, name: str, roles: list[str], address: str | None = None) -> Party:
        body = {"name": name, "roles": roles, **({"address": address} if address else {})}
        r = self.client.post("/v1/parties", json=body, headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})
        assert r.status_code == 201, r.json()
        data = r.json()
        party = Party(name, data["address"], data["api_key"], roles)
        self.api_keys.append(data["api_key"])
        return party


ROLES = {
    "core": ["CORE_ENTERPRISE_ROLE"],
    "core2": ["CORE_ENTERPRISE_ROLE"],
    "tier1": ["SUPPLIER_ROLE"],
    "tier2": ["SUPPLIER_ROLE"],
    "bank": ["FINANCIER_ROLE"],
    "bank2": ["FINANCIER_ROLE"],
    "auditor": ["AUDITOR_ROLE"],
    "appraiser": ["APPRAISER_ROLE"],
    "exchange": ["EXCHANGE_ROLE"],
}


@pytest.fixture(scope="package")
def gw(tmp_path_factory) -> GW:
    with open_world(tmp_path_factory.mktemp("gateway")) as world:
        yield world


def postgres_server() -> str:
    """The PostgreSQL server's URL ($LEDGER_TEST_DATABASE_URL); skips without it (fails in CI)."""
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"${PG_ENV} is not set: CI must run the gateway's PostgreSQL tests (tools/postgres.sh)")
        pytest.skip(f"PostgreSQL: set ${PG_ENV} (bash tools/postgres.sh run ...)")
    return url


@contextmanager
def postgres_databases(*purposes: str) -> Iterator[list[str]]:
    """Fresh, empty PostgreSQL databases (their URLs), one per purpose, dropped on exit."""
    base = postgres_server()
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    names = [f"gw_{purpose}_{uuid.uuid4().hex[:10]}" for purpose in purposes]
    created: list[str] = []
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
                created.append(name)
        yield [make_url(base).set(database=name).render_as_string(hide_password=False) for name in names]
    finally:
        with admin.connect() as conn:
            for name in created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def postgres_world(tmp: Path) -> Iterator[GW]:
    """open_world with the gateway's database and the mirror's on PostgreSQL (fresh databases)."""
    with postgres_databases("gateway", "mirror") as (gateway_db, mirror_db):
        with open_world(tmp, gateway_db=gateway_db, mirror_db=mirror_db) as world:
            yield world


@contextmanager
def open_world(tmp: Path, *, gateway_db: str | None = None, mirror_db: str | None = None) -> Iterator[GW]:
    """A fresh Anvil, deployment, gateway (databases under `tmp`, or the URLs given) and the
    parties of ROLES, a line from bank to core; all stopped on exit. The `gw` fixture is one per
    package; a test that must not disturb it (e.g. the fuzzer) opens its own."""
    with LocalNode() as node:
        operator = dev_account(0)
        chain = Chain(node.url)
        deployment = deploy(chain, operator, save=False)
        cash = deploy_settlement_token(chain, operator)
        path = Path(tmp / "deployment.json")
        path.write_text(json.dumps(asdict(deployment)))
        settings = Settings(
            rpc_url=node.url, master_secret=SecretStr(MASTER_SECRET), operator_token=SecretStr(OPERATOR_TOKEN),
            operator_key=SecretStr("0x" + bytes(operator.key).hex()), deployment=path,
            mirror_db=mirror_db or str(tmp / "mirror.db"), db=gateway_db or str(tmp / "gateway.db"),
        )
        app = create_app(settings)
        with TestClient(app) as client:
            gateway: Gateway = app.state.gateway
            world = GW(client, gateway, cash, 0, {}, settings)
            for name, roles in ROLES.items():
                world.parties[name] = world.register(name, roles)
            for name in ("core", "core2", "tier1", "tier2", "bank", "bank2"):
                gateway.ledger.mint_cash(gateway.operator, cash, world.parties[name].address, CASH)
            r = world.post(world.bank, "/v1/credit-lines", {
                "obligor": world.core.address, "currency": cash, "limit": "1000000000",
                "expiry": world.now() + 3650 * DAY, "grace_period": GRACE})
            assert r.status_code == 201, r.json()
            world.line_id = r.json()["line_id"]
            yield world


@dataclass
class SecretWrites:
    """What write_secrets() stored sealed, and every form of it a leak could take."""

    newcomer: Party
    document: bytes
    document_hash: str
    report: bytes
    report_hash: str
    asset_id: int
    secrets: dict[str, bytes]


def write_secrets(gw: GW, invoice: str) -> SecretWrites:
    """Writes through the API that store secrets sealed: a new party (a key generated, an API key
    issued), a document uploaded, issued against and split, and an appraisal report; then every
    secret the gateway holds (party keys, API keys, master secret, operator credential and key,
    the two contents) in the forms a leak could take."""
    import base64

    from sqlmodel import select

    from gateway.models import Party as PartyRow

    tag = uuid.uuid4().hex
    document = b"TRADE DOCUMENT " + tag.encode() + f" invoice {invoice} ".encode() + os.urandom(24).hex().encode()
    report = b"APPRAISAL REPORT " + tag.encode() + b" value 1,000,000.00"
    newcomer = gw.register(f"secrets-newcomer-{tag[:8]}", ["SUPPLIER_ROLE"])
    r = gw.client.post("/v1/documents", files={"file": ("invoice.pdf", document, "application/pdf")},
                       headers=gw.core.auth)
    assert r.status_code == 201, r.json()
    document_hash = r.json()["document_hash"]
    issued = gw.issue(90_000, supplier=newcomer, doc=document_hash)
    r = gw.post(newcomer, f"/v1/vouchers/{issued['token_id']}/split", {"to": gw.tier2.address, "value": "30000"})
    assert r.status_code == 201, r.json()
    asset_id = gw.data_asset(appraise=False, list_=False)
    r = gw.client.post(f"/v1/data-assets/{asset_id}/appraisal-reports",
                       files={"file": ("report.pdf", report, "application/pdf")}, headers=gw.appraiser.auth)
    assert r.status_code == 201, r.json()
    report_hash = r.json()["report_hash"]

    secrets: dict[str, bytes] = {}
    with gw.gateway.session() as s:
        for party in s.exec(select(PartyRow)).all():
            if party.sealed_key is not None:
                key = bytes(gw.gateway.account_of(party).key)
                secrets[f"{party.name}'s private key"] = key
                secrets[f"{party.name}'s private key (hex)"] = key.hex().encode()
                secrets[f"{party.name}'s private key (HEX)"] = key.hex().upper().encode()
    for i, api_key in enumerate(gw.api_keys):
        secrets[f"API key {i}"] = api_key.encode()
    settings = gw.settings
    secrets["master secret"] = settings.master_secret.get_secret_value().encode()
    secrets["operator token"] = settings.operator_token.get_secret_value().encode()
    operator_key = settings.operator_key.get_secret_value().removeprefix("0x")
    secrets["operator key (hex)"] = operator_key.lower().encode()
    secrets["operator key"] = bytes.fromhex(operator_key)
    for name, content in (("document", document), ("appraisal report", report)):
        secrets[f"{name} content"] = content
        secrets[f"{name} content (marker)"] = content[:40]
        secrets[f"{name} content (hex)"] = content.hex().encode()
        secrets[f"{name} content (base64)"] = base64.b64encode(content)
    return SecretWrites(newcomer, document, document_hash, report, report_hash, asset_id, secrets)
