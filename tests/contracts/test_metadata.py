"""ERC-3525 metadata (issue 13, item 12): what a wallet reads from tokenURI, slotURI and
contractURI, decoded as a wallet decodes it, equals the voucher's views."""

import base64
import json

import pytest

from ledger.compiler import compile_project
from ledger.exceptions import ReceivableNonexistent, VoucherNonexistent

PREFIX = "data:application/json;base64,"
ERC721_METADATA = bytes.fromhex("5b5e139f")
ERC3525_METADATA = bytes.fromhex("e1600902")


def wallet_reads(uri: str) -> dict:
    """Decode a data: URI as a wallet does: the media type, base64, then JSON."""
    assert uri.startswith(PREFIX), uri[:40]
    return json.loads(base64.b64decode(uri[len(PREFIX):], validate=True).decode("utf-8"))


def test_the_voucher_claims_the_metadata_interfaces(led):
    supports = led.voucher.functions.supportsInterface
    assert supports(ERC3525_METADATA).call() and supports(ERC721_METADATA).call()


def test_the_descriptor_is_fixed_at_deployment_and_describes_this_voucher(led):
    descriptor = led.voucher.functions.descriptor().call()
    assert descriptor == led.deployment.descriptor
    abi = compile_project()["VoucherDescriptor"].abi
    assert led.chain.w3.eth.contract(address=descriptor, abi=abi).functions.voucher().call() == led.voucher.address


def test_token_uri_shows_the_voucher_and_its_receivable(w, p, led):
    issued = w.issue(100_000)
    child = led.split(p.tier1, issued.token_id, p.tier2, 30_000)
    led.repay(p.core, issued.receivable_id, 50_000)
    led.claim(p.tier2, child.token_id)
    meta = wallet_reads(led.voucher.functions.tokenURI(child.token_id).call())
    v, r = led.voucher_of(child.token_id), led.receivable(issued.receivable_id)
    assert meta["name"] == f"Receivable Voucher #{child.token_id}"
    assert (meta["balance"], meta["slot"]) == (str(v.value), str(issued.receivable_id))
    assert meta["properties"] == {
        "receivable": str(issued.receivable_id), "holder": p.tier2.address, "value": "30000", "paid": "15000",
        "unpaid": "15000", "status": "Active", "parent": str(issued.token_id), "obligor": p.core.address,
        "currency": w.cash, "faceValue": "100000", "repaid": "50000", "maturity": r.maturity,
        "receivableState": "Active", "valueDecimals": led.voucher.functions.valueDecimals().call(),
    }
    assert str(r.face_value) in meta["description"] and p.core.address in meta["description"]


def test_token_uri_follows_the_state(w, p, led):
    issued = w.issue(1_000, accept=False)
    assert wallet_reads(led.voucher.functions.tokenURI(issued.token_id).call())["properties"]["status"] == "Pending"
    led.accept(p.tier1, issued.receivable_id)
    led.repay(p.core, issued.receivable_id, 1_000)
    led.claim(p.tier1, issued.token_id)
    props = wallet_reads(led.voucher.functions.tokenURI(issued.token_id).call())["properties"]
    assert (props["status"], props["paid"], props["unpaid"], props["receivableState"]) == (
        "Closed", "1000", "0", "Settled")


def test_slot_and_contract_uri(w, p, led):
    issued = w.issue(7_000)
    r = led.receivable(issued.receivable_id)
    meta = wallet_reads(led.voucher.functions.slotURI(issued.receivable_id).call())
    assert meta["name"] == f"Receivable #{issued.receivable_id}"
    props = {prop["name"]: prop["value"] for prop in meta["properties"]}
    assert props == {
        "obligor": p.core.address, "currency": w.cash, "faceValue": "7000", "repaid": "0", "claimed": "0",
        "maturity": r.maturity, "issuedAt": r.issued_at, "state": "Active", "lineId": w.line_id,
        "rootTokenId": issued.token_id,
    }
    assert all(prop["is_intrinsic"] is True for prop in meta["properties"])
    contract = wallet_reads(led.voucher.functions.contractURI().call())
    assert contract["name"] == "Receivable Voucher"
    assert contract["valueDecimals"] == led.voucher.functions.valueDecimals().call()


def test_metadata_of_what_does_not_exist_reverts_as_the_views_do(w, p, led):
    issued = w.issue(10)
    a = led.split(p.tier1, issued.token_id, p.tier1, 4)
    led.merge(p.tier1, a.token_id, issued.token_id)  # burned
    for token_id in (a.token_id, 10**9):
        with pytest.raises(VoucherNonexistent) as info:
            led._call(led.voucher.functions.tokenURI(token_id))
        assert info.value.token_id == token_id
    with pytest.raises(ReceivableNonexistent) as info:
        led._call(led.voucher.functions.slotURI(10**9))
    assert info.value.receivable_id == 10**9
