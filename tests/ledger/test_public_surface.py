"""The library's public surface and its exception tree."""

import ledger
from ledger import exceptions
from ledger.compiler import compile_project
from ledger.errors import ErrorDecoder
from ledger.exceptions import ContractError


def test_all_is_sorted_and_importable():
    assert ledger.__all__ == sorted(ledger.__all__)
    for name in ledger.__all__:
        assert hasattr(ledger, name), name


def test_every_custom_error_of_our_contracts_has_a_class_with_its_argument_names():
    artifacts = compile_project()
    seen = set()
    for name in ("ReceivableVoucher", "CreditLines", "DataAssetRegistry", "SettlementToken"):
        for item in artifacts[name].abi:
            if item["type"] != "error" or item["name"] in seen:
                continue
            seen.add(item["name"])
            cls = ContractError.registry.get(item["name"])
            assert cls is not None, f"no exception class for {item['name']}"
            assert cls.__module__ == "ledger.exceptions"
            assert cls.fields == tuple(i["name"] for i in item["inputs"]), item["name"]
            assert cls.__doc__, item["name"]
    assert {"VoucherInsufficientValue", "ReceivableDuplicateDocument", "CreditLineExpired",
            "DataAssetAlreadyPledged", "CreditLineCollateralShortfall"} <= seen


def test_a_decoded_error_carries_its_arguments_and_says_what_went_wrong():
    decoder = ErrorDecoder([compile_project()["ReceivableVoucher"].abi])
    from eth_abi import encode
    from eth_utils import keccak

    data = keccak(text="VoucherInsufficientValue(uint256,uint256,uint256)")[:4] + encode(
        ["uint256", "uint256", "uint256"], [7, 100, 150])
    error = decoder.decode("0x" + data.hex())
    assert isinstance(error, exceptions.VoucherInsufficientValue)
    assert isinstance(error, exceptions.VoucherError) and isinstance(error, exceptions.TransactionReverted)
    assert (error.token_id, error.balance, error.needed) == (7, 100, 150)
    assert error.as_dict() == {"token_id": 7, "balance": 100, "needed": 150}
    assert str(error).startswith("VoucherInsufficientValue(token_id=7, balance=100, needed=150): ")


def test_unknown_reverts_are_reported_with_their_data():
    decoder = ErrorDecoder([])
    assert isinstance(decoder.decode("0xdeadbeef"), exceptions.UnknownRevert)
    assert "empty" in str(decoder.decode(None))
