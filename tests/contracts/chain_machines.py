"""Pieces shared by the Hypothesis state machines that drive the real contracts
(tests/contracts/test_*properties.py): a base machine that rewinds the chain after each example,
the data-asset parties, the effective limit computed from the appraisals themselves, the
settlement-currency conservation check, and view calls read in one JSON-RPC batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from eth_utils.abi import collapse_if_tuple
from hypothesis.stateful import RuleBasedStateMachine

from ledger import Ledger, Role
from ledger.rpc import Rpc
from tests.conftest import World, chain_property_settings, dev_account

BPS = 10_000
UINT96_MAX = 2**96 - 1

APPRAISER, APPRAISER2, EXCHANGE, PROVIDER = (dev_account(i) for i in (10, 11, 12, 13))


def admit_data_parties(world: World) -> World:
    """Admit two appraisers, an exchange and a data provider (a supplier) to `world`'s ledger."""
    led, op = world.ledger, world.parties.operator
    for account, role in ((APPRAISER, Role.APPRAISER), (APPRAISER2, Role.APPRAISER), (EXCHANGE, Role.EXCHANGE),
                          (PROVIDER, Role.SUPPLIER)):
        led.admit(op, account, [role])
    return world


class _Named(LocalAccount):
    def __repr__(self) -> str:
        return self._name


def named(account: LocalAccount, name: str) -> LocalAccount:
    """The same account, shown as `name` in Hypothesis's steps (instead of an object address)."""
    copy = _Named(account._key_obj, account._publicapi)
    copy._name = name
    return copy


class ChainMachine(RuleBasedStateMachine):
    """A state machine over the world's chain: `begin()` takes a snapshot, teardown rewinds to it.

    Subclasses start with an @initialize rule that calls `begin()`; `run(world, steps)` runs it.
    """

    world: World

    def begin(self) -> None:
        self.snapshot = self.world.chain.w3.provider.make_request("evm_snapshot", [])["result"]

    @property
    def started(self) -> bool:
        return hasattr(self, "snapshot")

    def teardown(self) -> None:
        if self.started:
            self.world.chain.w3.provider.make_request("evm_revert", [self.snapshot])
            self.world.chain.forget_local_state()

    @classmethod
    def run(cls, world: World, steps: int, *, examples: int | None = None) -> None:
        cls.world = world
        cls.TestCase.settings = chain_property_settings(steps, examples=examples)
        cls.TestCase().runTest()


def true_effective_limit(led: Ledger, line_id: int, block: int | str) -> int:
    """The line's effective limit by the spec at `block`, from the appraisals themselves: base
    limit + floor(Σ lowest unexpired appraisal of each pledged asset × advance rate / 10,000)."""
    now = led.chain.w3.eth.get_block(block)["timestamp"]
    total = 0
    for asset_id in led._call(led.data_assets.functions.pledgedTo(line_id), block):
        live = [a.value for a in led.appraisals(asset_id, block=block) if a.valid_until > now]
        total += min(live, default=0)
    rate = led.collateral(line_id, block=block).advance_rate_bps
    return min(led.credit_line(line_id, block=block).limit + total * rate // BPS, UINT96_MAX)


def views(led: Ledger, fns: Sequence[Any], block: int | str = "latest") -> list[Any]:
    """Run contract view calls in one JSON-RPC batch; each one's decoded result (a struct as a
    tuple, one return value as itself). A reverting view raises the node's error."""
    rpc = _rpcs.get(led.chain.url) or _rpcs.setdefault(led.chain.url, Rpc(led.chain.url))
    tag = block if isinstance(block, str) else hex(block)
    raws = rpc.batch([("eth_call", [{"to": fn.address, "data": fn._encode_transaction_data()}, tag]) for fn in fns])
    out = []
    for fn, raw in zip(fns, raws, strict=True):
        types = [collapse_if_tuple(o) for o in fn.abi["outputs"]]
        decoded = _checksummed(led.chain.w3.codec.decode(types, bytes.fromhex(raw[2:])))
        out.append(decoded[0] if len(decoded) == 1 else decoded)
    return out


def _checksummed(value: Any) -> Any:
    """Addresses as web3's contract calls return them (checksummed), in nested tuples too."""
    if isinstance(value, (tuple, list)):
        return type(value)(_checksummed(v) for v in value)
    if isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
        return to_checksum_address(value)
    return value


_rpcs: dict[str, Rpc] = {}


def assert_cash_conserved(led: Ledger, currency: str, supply: int, known: Iterable[str],
                          receivables: Iterable[int]) -> None:
    """The settlement currency is neither created nor lost: its supply is `supply`, all of it is
    held by `known` addresses (the parties, the voucher and factoring contracts), and the voucher
    contract holds exactly Σ(repaid − claimed) of `receivables`, with claimed ≤ repaid ≤ face."""
    cash = led.currency(currency)
    known = list(dict.fromkeys(known))
    rids = list(receivables)
    results = views(led, [cash.functions.totalSupply(), cash.functions.balanceOf(led.voucher.address)]
                    + [cash.functions.balanceOf(a) for a in known]
                    + [led.voucher.functions.receivableOf(r) for r in rids])
    total, held, balances, recs = results[0], results[1], results[2:2 + len(known)], results[2 + len(known):]
    assert total == supply, f"the currency's supply changed: {supply} -> {total}"
    assert sum(balances) == supply, f"cash went to an unknown address: parties and contracts hold {sum(balances)} of {supply}"
    owed = 0
    for rid, r in zip(rids, recs, strict=True):
        face, repaid, claimed = r[7], r[8], r[9]
        assert claimed <= repaid <= face, f"receivable {rid}: claimed {claimed}, repaid {repaid}, face {face}"
        owed += repaid - claimed
    assert held == owed, f"the voucher contract holds {held}, but Σ(repaid − claimed) is {owed}"
