"""Every deployable contract fits the EIP-170 code size limit that real networks enforce."""

from ledger.compiler import compile_project

EIP170_LIMIT = 24_576


def test_every_contract_fits_the_code_size_limit():
    sizes = {name: a.deployed_size for name, a in compile_project().items() if a.deployed_size}
    assert sizes["ReceivableVoucher"] > 0
    too_big = {name: size for name, size in sizes.items() if size > EIP170_LIMIT}
    assert not too_big, f"over {EIP170_LIMIT} bytes: {too_big}"
