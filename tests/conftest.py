"""Shared fixtures: one local node per session, a fresh deployment per module, and a chain
snapshot around every test so each starts from the same state.

The node is Anvil unless LEDGER_NODE=ganache.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import pytest
from eth_account import Account
from hypothesis import HealthCheck, Phase, settings
from eth_account.signers.local import LocalAccount

from ledger import Chain, Ledger, LocalNode, Role, deploy, deploy_settlement_token
from ledger.node import DEV_MNEMONIC

Account.enable_unaudited_hdwallet_features()

DAY = 86_400
LINE_LIMIT = 10_000_000
CASH = 10**12  # each party's starting cash, in the currency's smallest unit
GRACE = 7 * DAY


def chain_property_settings(steps: int, examples: int | None = None) -> settings:
    """Hypothesis settings for a state machine that drives the real contracts.

    LEDGER_PROPERTY_EXAMPLES sets the number of examples (`examples`, else 20, by default: CI's
    budget; raise it for a longer run). Shrinking replays hundreds of chain transactions per
    attempt, so it is opt-in (LEDGER_PROPERTY_SHRINK=1): a failure reports its sequence at once,
    not minutes later.
    """
    shrink = bool(os.environ.get("LEDGER_PROPERTY_SHRINK"))
    return settings(
        max_examples=int(os.environ.get("LEDGER_PROPERTY_EXAMPLES", examples or 20)),
        stateful_step_count=steps,
        deadline=None,
        database=None,
        phases=tuple(Phase) if shrink else (Phase.explicit, Phase.reuse, Phase.generate),
        suppress_health_check=list(HealthCheck),
    )


def dev_account(index: int) -> LocalAccount:
    return Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


@dataclass
class Parties:
    operator: LocalAccount
    core: LocalAccount
    core2: LocalAccount
    tier1: LocalAccount
    tier2: LocalAccount
    tier3: LocalAccount
    bank: LocalAccount
    bank2: LocalAccount
    auditor: LocalAccount
    outsider: LocalAccount


@dataclass
class World:
    """A deployed ledger with admitted parties, a currency and a credit line for `core`."""

    ledger: Ledger
    parties: Parties
    cash: str
    line_id: int
    node: LocalNode

    @property
    def chain(self) -> Chain:
        return self.ledger.chain

    def now(self) -> int:
        return self.chain.w3.eth.get_block("latest")["timestamp"]

    def balance(self, who) -> int:
        return self.ledger.cash_balance(self.cash, who)

    def advance(self, seconds: int) -> None:
        """Move the chain's clock forward and mine a block."""
        self.chain.w3.provider.make_request("evm_increaseTime", [seconds])
        self.chain.w3.provider.make_request("evm_mine", [])

    def issue(self, face_value: int = 100_000, *, supplier: LocalAccount | None = None, doc: bytes | None = None,
              accept: bool = True, maturity_days: int = 90):
        """Issue (and by default accept) a receivable from core to tier1."""
        p = self.parties
        supplier = supplier or p.tier1
        doc = doc or os.urandom(32)
        issued = self.ledger.issue(
            p.core, supplier, line_id=self.line_id, currency=self.cash, face_value=face_value,
            maturity=self.now() + maturity_days * DAY, document_hash=doc,
        )
        if accept:
            self.ledger.accept(supplier, issued.receivable_id)
        return issued


@pytest.fixture(scope="session")
def node():
    with LocalNode() as n:
        yield n


@pytest.fixture(scope="module")
def world(node) -> World:
    chain = Chain(node.url)
    p = Parties(*(dev_account(i) for i in range(10)))
    deployment = deploy(chain, p.operator, save=False)
    ledger = Ledger(chain, deployment)
    cash = deploy_settlement_token(chain, p.operator)
    ledger.currency(cash)
    for account, roles in [
        (p.core, [Role.CORE_ENTERPRISE]),
        (p.core2, [Role.CORE_ENTERPRISE]),
        (p.tier1, [Role.SUPPLIER]),
        (p.tier2, [Role.SUPPLIER]),
        (p.tier3, [Role.SUPPLIER]),
        (p.bank, [Role.FINANCIER]),
        (p.bank2, [Role.FINANCIER]),
        (p.auditor, [Role.AUDITOR]),
    ]:
        ledger.admit(p.operator, account, roles)
    now = chain.w3.eth.get_block("latest")["timestamp"]
    line = ledger.grant_credit_line(p.bank, p.core, cash, LINE_LIMIT, now + 365 * DAY, GRACE)
    for account in (p.core, p.core2, p.tier1, p.tier2, p.tier3, p.bank, p.bank2):
        ledger.mint_cash(p.operator, cash, account, CASH)
    return World(ledger, p, cash, line.line_id, node)


@pytest.fixture
def w(world: World):
    """The module's world, reverted to its initial state after the test."""
    provider = world.chain.w3.provider
    snapshot = provider.make_request("evm_snapshot", [])["result"]
    try:
        yield world
    finally:
        provider.make_request("evm_revert", [snapshot])
        world.chain.forget_local_state()


@pytest.fixture
def p(w: World) -> Parties:
    return w.parties


@pytest.fixture
def led(w: World) -> Ledger:
    return w.ledger
