"""Fixtures of the mirror tests: a fresh Anvil and deployment per test (reorgs rewrite the
chain, so no test may share one), and a database per test on SQLite and on PostgreSQL.

PostgreSQL runs when LEDGER_TEST_DATABASE_URL names a server (tools/postgres.sh starts one):
each test gets its own schema there. Without it the PostgreSQL cases skip locally, and fail in
CI (CI=true), where the database must be there.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import create_engine, text

from ledger import Chain, Ledger, LocalNode, Role, deploy, deploy_settlement_token
from ledger.deploy import Deployment
from ledger.mirror import Mirror
from ledger.node import DEV_MNEMONIC

Account.enable_unaudited_hdwallet_features()

DAY = 86_400
LINE_LIMIT = 10_000_000
CASH = 10**12  # each party's starting cash, in the currency's smallest unit
GRACE = 7 * DAY
PG_ENV = "LEDGER_TEST_DATABASE_URL"


def dev_account(index: int) -> LocalAccount:
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


@dataclass
class MirrorWorld:
    """A deployed ledger on its own Anvil, with parties, a currency and one credit line."""

    node: LocalNode
    ledger: Ledger
    cash: str
    line_id: int
    operator: LocalAccount
    core: LocalAccount
    tier1: LocalAccount
    tier2: LocalAccount
    tier3: LocalAccount
    bank: LocalAccount
    spare: LocalAccount
    docs: int = 0

    @property
    def chain(self) -> Chain:
        return self.ledger.chain

    @property
    def deployment(self) -> Deployment:
        return self.ledger.deployment

    def rpc(self, method: str, *params):
        reply = self.chain.w3.provider.make_request(method, list(params))
        assert "error" not in reply, reply
        return reply["result"]

    def head(self) -> int:
        return self.chain.w3.eth.block_number

    def now(self) -> int:
        return self.chain.w3.eth.get_block("latest")["timestamp"]

    def advance(self, seconds: int) -> None:
        """Move the chain's clock forward and mine a block."""
        self.rpc("evm_increaseTime", seconds)
        self.rpc("evm_mine")

    def issue(self, face_value: int = 100_000, *, accept: bool = True):
        self.docs += 1
        issued = self.ledger.issue(
            self.core, self.tier1, line_id=self.line_id, currency=self.cash, face_value=face_value,
            maturity=self.now() + 90 * DAY, document_hash=os.urandom(32),
        )
        if accept:
            self.ledger.accept(self.tier1, issued.receivable_id)
        return issued

    def traffic(self, rounds: int) -> None:
        """Some of everything the vouchers do: issue, accept, split, value transfer, merge, transfer."""
        for _ in range(rounds):
            root = self.issue().token_id
            child = self.ledger.split(self.tier1, root, self.tier2, 30_000).token_id
            grandchild = self.ledger.split(self.tier2, child, self.tier3, 10_000).token_id
            self.ledger.approve(self.tier3, self.tier2, grandchild)  # consent to value pushed into it
            self.ledger.transfer_value(self.tier2, child, grandchild, 5_000)
            other = self.ledger.split(self.tier1, root, self.tier1, 1_000).token_id
            self.ledger.merge(self.tier1, other, root)
            self.ledger.transfer(self.tier3, grandchild, self.tier2, holder=self.tier3.address)

    def financing(self, rounds: int) -> None:
        """Some of everything financing does before maturity: an offer withdrawn, a deal with
        recourse, a part repayment, claims, and paid moving with value (split, value transfer,
        merge)."""
        led = self.ledger
        for _ in range(rounds):
            issued = self.issue()
            root = issued.token_id
            deadline = self.now() + 30 * DAY
            withdrawn = led.offer(self.tier1, root, 20_000, rate_bps=800, deadline=deadline)
            led.cancel_offer(self.tier1, withdrawn.offer_id)
            sold = led.offer(self.tier1, root, 30_000, rate_bps=500, deadline=deadline, financier=self.bank,
                             recourse=True)
            led.accept_offer(self.bank, sold.offer_id)
            led.repay(self.core, issued.receivable_id, 40_000)
            led.claim(self.tier1, root)
            led.claim(self.bank, sold.token_id)
            led.claim(self.tier1, withdrawn.token_id)
            child = led.split(self.tier1, root, self.tier2, 10_000).token_id
            led.approve(self.tier2, self.tier1, child)  # consent to value pushed into it
            led.transfer_value(self.tier1, root, child, 5_000)
            led.merge(self.tier1, withdrawn.token_id, root)

    def mirror(self, db: str, **options) -> Mirror:
        return Mirror(self.node.url, db, self.deployment, **options)


def build_world(node: LocalNode) -> MirrorWorld:
    chain = Chain(node.url)
    operator, core, tier1, tier2, tier3, bank, spare = (dev_account(i) for i in range(7))
    deployment = deploy(chain, operator, save=False)
    ledger = Ledger(chain, deployment)
    cash = deploy_settlement_token(chain, operator)
    for account, roles in [(core, [Role.CORE_ENTERPRISE]), (tier1, [Role.SUPPLIER]), (tier2, [Role.SUPPLIER]),
                           (tier3, [Role.SUPPLIER]), (bank, [Role.FINANCIER])]:
        ledger.admit(operator, account, roles)
    now = chain.w3.eth.get_block("latest")["timestamp"]
    line = ledger.grant_credit_line(bank, core, cash, LINE_LIMIT, now + 365 * DAY, GRACE)
    ledger.currency(cash)
    for account in (core, tier1, tier2, tier3, bank):
        ledger.mint_cash(operator, cash, account, CASH)
    return MirrorWorld(node, ledger, cash, line.line_id, operator, core, tier1, tier2, tier3, bank, spare)


@pytest.fixture
def anvil():
    with LocalNode(kind="anvil") as node:  # anvil_reorg and anvil_rollback are Anvil's own
        yield node


@pytest.fixture
def mw(anvil) -> MirrorWorld:
    return build_world(anvil)


def _postgres_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"${PG_ENV} is not set: CI must run the mirror tests on PostgreSQL (tools/postgres.sh)")
        pytest.skip(f"PostgreSQL: set ${PG_ENV} (bash tools/postgres.sh run ...)")
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, tmp_path: Path):
    """A fresh, empty database: a SQLite file, or a new schema on the PostgreSQL server."""
    if request.param == "sqlite":
        yield str(tmp_path / "mirror.db")
        return
    base = _postgres_url()
    schema = f"mirror_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
