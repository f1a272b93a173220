"""Deploy the contracts and record where they are, one deployment file per chain id."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import rlp
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_canonical_address, to_checksum_address

from .chain import Chain
from .compiler import Artifact, compile_project
from .exceptions import DeploymentError
from .paths import DEPLOYMENTS_DIR

#: Decimals of the settlement currency values are counted in (cents: 2).
DEFAULT_VALUE_DECIMALS = 2


@dataclass(frozen=True)
class Deployment:
    """Where the project's contracts live on one chain."""

    chain_id: int
    voucher: str
    credit_lines: str
    factoring: str
    start_block: int
    deployer: str
    value_decimals: int
    #: The DataAssetRegistry; None in deployment files written before it existed.
    data_assets: str | None = None
    #: The VoucherDescriptor (tokenURI, slotURI, contractURI); None in files written before it.
    descriptor: str | None = None

    def save(self, directory: Path = DEPLOYMENTS_DIR) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.chain_id}.json"
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, chain_id: int, directory: Path = DEPLOYMENTS_DIR) -> Deployment:
        path = directory / f"{chain_id}.json"
        if not path.is_file():
            raise DeploymentError(f"no deployment recorded for chain {chain_id} ({path} missing): deploy first")
        return cls(**json.loads(path.read_text()))


def create_address(sender: str, nonce: int) -> str:
    """The address a CREATE from `sender` at `nonce` deploys to."""
    return to_checksum_address(keccak(rlp.encode([to_canonical_address(sender), nonce]))[12:])


def deploy_artifact(chain: Chain, deployer: LocalAccount, artifact: Artifact, *args) -> tuple[str, int]:
    """Deploy one contract; return its address and the block it was mined in."""
    factory = chain.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = chain.transact(deployer, factory.constructor(*args))
    if not receipt.contract_address:
        raise DeploymentError(f"{artifact.name} deployment {receipt.tx_hash} created no contract")
    return receipt.contract_address, receipt.block_number


def deploy(
    chain: Chain,
    deployer: LocalAccount,
    *,
    value_decimals: int = DEFAULT_VALUE_DECIMALS,
    save: bool = True,
) -> Deployment:
    """Deploy ReceivableVoucher, CreditLines, Factoring, DataAssetRegistry and VoucherDescriptor, wired.

    The voucher contract takes the CreditLines, Factoring and VoucherDescriptor addresses in its
    constructor (immutables, so its hot paths read no storage for them) and they take the
    voucher's; CreditLines likewise takes the DataAssetRegistry's (the only writer of its
    collateral), which takes the voucher's and CreditLines'. The addresses deployed later are
    computed from the deployer's next nonces (order: voucher, CreditLines, Factoring,
    DataAssetRegistry, VoucherDescriptor), then checked once all are mined.

    Raises:
        DeploymentError: the contracts did not end up wired to each other.
    """
    artifacts = compile_project()
    nonce = chain.w3.eth.get_transaction_count(deployer.address, "pending")
    predicted_lines = create_address(deployer.address, nonce + 1)
    predicted_factoring = create_address(deployer.address, nonce + 2)
    predicted_assets = create_address(deployer.address, nonce + 3)
    predicted_descriptor = create_address(deployer.address, nonce + 4)
    voucher, start_block = deploy_artifact(
        chain, deployer, artifacts["ReceivableVoucher"], deployer.address, predicted_lines, predicted_factoring,
        value_decimals, predicted_descriptor,
    )
    credit_lines, _ = deploy_artifact(chain, deployer, artifacts["CreditLines"], voucher, predicted_assets)
    factoring, _ = deploy_artifact(chain, deployer, artifacts["Factoring"], voucher)
    data_assets, _ = deploy_artifact(chain, deployer, artifacts["DataAssetRegistry"], voucher, credit_lines)
    descriptor, _ = deploy_artifact(chain, deployer, artifacts["VoucherDescriptor"], voucher)
    for name, actual, expected in (("CreditLines", credit_lines, predicted_lines),
                                   ("Factoring", factoring, predicted_factoring),
                                   ("DataAssetRegistry", data_assets, predicted_assets),
                                   ("VoucherDescriptor", descriptor, predicted_descriptor)):
        if actual != expected:
            raise DeploymentError(
                f"{name} deployed at {actual}, but the contracts deployed before it expect {expected}: "
                "another transaction from the deployer interleaved; deploy again from an idle account"
            )
    deployment = Deployment(
        chain_id=chain.chain_id,
        voucher=voucher,
        credit_lines=credit_lines,
        factoring=factoring,
        data_assets=data_assets,
        descriptor=descriptor,
        start_block=start_block,
        deployer=deployer.address,
        value_decimals=value_decimals,
    )
    if save:
        deployment.save()
    return deployment


def deploy_settlement_token(
    chain: Chain, owner: LocalAccount, *, name: str = "Digital Cash", symbol: str = "DCASH",
    decimals: int = DEFAULT_VALUE_DECIMALS,
) -> str:
    """Deploy an OpenZeppelin ERC-20 that `owner` mints: the demo's and tests' digital cash."""
    artifacts = compile_project()
    address, _ = deploy_artifact(chain, owner, artifacts["SettlementToken"], name, symbol, decimals, owner.address)
    return address
