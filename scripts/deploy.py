"""Deploy the ledger's contracts with eth-brownie, wired exactly as ledger.deploy.deploy does.

    source .venv-brownie/bin/activate && brownie run scripts/deploy.py --network anvil

The voucher takes the CreditLines, Factoring and VoucherDescriptor addresses in its constructor
and CreditLines takes the DataAssetRegistry's, so those are predicted from the deployer's next
nonces (order: ReceivableVoucher, CreditLines, Factoring, DataAssetRegistry, VoucherDescriptor),
then checked. A SettlementToken (the ERC-20 digital cash of the demo) is deployed last.
"""

from brownie import (
    CreditLines, DataAssetRegistry, Factoring, ReceivableVoucher, SettlementToken, VoucherDescriptor, accounts,
)

from ledger.deploy import DEFAULT_VALUE_DECIMALS, create_address


def deploy(deployer=None, value_decimals=DEFAULT_VALUE_DECIMALS):
    """Deploy the five ledger contracts and a SettlementToken; return them by name."""
    deployer = deployer or accounts[0]
    tx = {"from": deployer}
    nonce = deployer.nonce
    lines_at, factoring_at, assets_at, descriptor_at = (create_address(deployer.address, nonce + i) for i in (1, 2, 3, 4))
    voucher = ReceivableVoucher.deploy(deployer, lines_at, factoring_at, value_decimals, descriptor_at, tx)
    credit_lines = CreditLines.deploy(voucher, assets_at, tx)
    factoring = Factoring.deploy(voucher, tx)
    data_assets = DataAssetRegistry.deploy(voucher, credit_lines, tx)
    descriptor = VoucherDescriptor.deploy(voucher, tx)
    for name, contract, expected in (("CreditLines", credit_lines, lines_at), ("Factoring", factoring, factoring_at),
                                     ("DataAssetRegistry", data_assets, assets_at),
                                     ("VoucherDescriptor", descriptor, descriptor_at)):
        if contract.address != expected:
            raise RuntimeError(f"{name} deployed at {contract.address}, but the voucher expects {expected}: "
                               "another transaction from the deployer interleaved")
    cash = SettlementToken.deploy("Digital Cash", "DCASH", value_decimals, deployer, tx)
    return {"ReceivableVoucher": voucher, "CreditLines": credit_lines, "Factoring": factoring,
            "DataAssetRegistry": data_assets, "VoucherDescriptor": descriptor, "SettlementToken": cash}


def main():
    contracts = deploy()
    print("Deployed:")
    for name, contract in contracts.items():
        print(f"  {name:<18} {contract.address}")
    return contracts
