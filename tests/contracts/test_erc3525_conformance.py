"""ERC-3525 conformance: interface ids and the events the standard requires."""

from ledger.types import Role

ERC165 = bytes.fromhex("01ffc9a7")
ERC721 = bytes.fromhex("80ac58cd")
ERC3525 = bytes.fromhex("d5358140")
ACCESS_CONTROL = bytes.fromhex("7965db0b")


def test_supports_interface_answers_erc165_erc721_and_erc3525(led):
    supports = led.voucher.functions.supportsInterface
    for interface in (ERC165, ERC721, ERC3525, ACCESS_CONTROL):
        assert supports(interface).call(), interface.hex()
    assert not supports(bytes.fromhex("ffffffff")).call()
    assert not supports(bytes.fromhex("780e9d63")).call()  # no ERC721Enumerable is claimed


def test_metadata_and_value_decimals(led):
    assert led.voucher.functions.valueDecimals().call() == 2
    assert led.voucher.functions.name().call() == "Receivable Voucher"
    assert led.voucher.functions.symbol().call() == "RCV"


def test_minting_emits_transfer_slot_changed_and_transfer_value(w, p, led):
    issued = w.issue(5_000, accept=False)
    events = [(e.name, e.args) for e in issued.receipt.events if e.contract == "ReceivableVoucher"]
    assert events[:3] == [
        ("Transfer", {"from": "0x" + "00" * 20, "to": p.tier1.address, "tokenId": issued.token_id}),
        ("SlotChanged", {"_tokenId": issued.token_id, "_oldSlot": 0, "_newSlot": issued.receivable_id}),
        ("TransferValue", {"_fromTokenId": 0, "_toTokenId": issued.token_id, "_value": 5_000}),
    ]


def test_a_split_emits_transfer_slot_changed_then_transfer_value(w, p, led):
    issued = w.issue()
    split = led.split(p.tier1, issued.token_id, p.tier2, 7)
    assert [(e.name, e.args) for e in split.receipt.events] == [
        ("Transfer", {"from": "0x" + "00" * 20, "to": p.tier2.address, "tokenId": split.token_id}),
        ("SlotChanged", {"_tokenId": split.token_id, "_oldSlot": 0, "_newSlot": issued.receivable_id}),
        ("TransferValue", {"_fromTokenId": issued.token_id, "_toTokenId": split.token_id, "_value": 7}),
    ]


def test_erc3525_views(w, p, led):
    issued = w.issue(900)
    f = led.voucher.functions
    assert f.slotOf(issued.token_id).call() == issued.receivable_id
    assert f.ownerOf(issued.token_id).call() == p.tier1.address
    assert f.balanceOf(issued.token_id).call() == 900
    assert f.balanceOf(p.tier1.address).call() == 1
    assert f.parentOf(issued.token_id).call() == 0


def test_a_whole_transfer_emits_only_transfer(w, p, led):
    issued = w.issue()
    receipt = led.transfer(p.tier1, issued.token_id, p.tier2)
    assert [(e.name, e.args) for e in receipt.events] == [
        ("Transfer", {"from": p.tier1.address, "to": p.tier2.address, "tokenId": issued.token_id})]


def test_roles_are_readable_through_access_control(led, p):
    assert led.voucher.functions.hasRole(Role.SUPPLIER.id, p.tier1.address).call()
    assert led.voucher.functions.getRoleAdmin(Role.SUPPLIER.id).call() == Role.OPERATOR.id
