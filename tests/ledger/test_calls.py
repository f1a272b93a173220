"""ledger.calls.FastFunctions: the same call data as web3, without web3's ABI search per call."""

from __future__ import annotations

import os

import pytest

from ledger.calls import FastCall, FastFunctions

pytestmark = pytest.mark.chain


def web3_data(contract, name, *args) -> str:
    return getattr(contract.functions.web3, name)(*args)._encode_transaction_data()


def test_the_ledger_s_contracts_encode_through_it(led):
    assert isinstance(led.voucher.functions, FastFunctions)
    assert isinstance(led.voucher.functions.merge(1, 2), FastCall)


def test_overloads_are_told_apart_by_argument_types_and_encode_as_web3_does(led, p):
    f = led.voucher.functions
    split = f.transferFrom(7, p.tier2.address, 5)  # ERC-3525 value transfer to an address
    whole = f.transferFrom(p.tier1.address, p.tier2.address, 7)  # ERC-721 transfer of the token
    assert split._encode_transaction_data() == web3_data(led.voucher, "transferFrom", 7, p.tier2.address, 5)
    assert whole._encode_transaction_data() == web3_data(led.voucher, "transferFrom", p.tier1.address,
                                                          p.tier2.address, 7)
    assert split._encode_transaction_data()[:10] != whole._encode_transaction_data()[:10]
    # the second time comes from the learnt encoder, still the same bytes
    again = f.transferFrom(8, p.tier3.address, 6)._encode_transaction_data()
    assert again == web3_data(led.voucher, "transferFrom", 8, p.tier3.address, 6)


def test_bytes32_tuples_and_strings_encode_as_web3_does(led, w, p):
    doc = os.urandom(32)
    args = (p.tier1.address, w.line_id, w.cash, 1_000, 2_000_000_000, doc)
    fast = led.voucher.functions.issue(*args)._encode_transaction_data()
    assert fast == web3_data(led.voucher, "issue", *args)


def test_what_eth_abi_refuses_is_left_to_web3(led, p):
    """A bytes32 given as a hex string: web3 converts it, plain eth_abi does not; the call data
    must still be right."""
    doc = "0x" + os.urandom(32).hex()
    got = led.voucher.functions.receivableOfDocument(p.core.address, doc)._encode_transaction_data()
    assert got == web3_data(led.voucher, "receivableOfDocument", p.core.address, doc)


def test_reads_and_transactions_work_through_it(w, p, led):
    issued = w.issue(1_000)
    made = led.split(p.tier1, issued.token_id, p.tier2, 300)
    assert led.voucher.functions.balanceOf(made.token_id).call() == 300
    assert led.voucher_of(issued.token_id).value == 700
