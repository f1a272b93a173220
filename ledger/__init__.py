"""The receivables ledger: compile, deploy and operate the voucher contracts from Python."""

from .chain import Chain
from .client import Ledger
from .compiler import compile_project
from .deploy import Deployment, deploy, deploy_settlement_token
from .exceptions import (
    ChainError,
    CompilationError,
    ConfigurationError,
    ContractError,
    DeploymentError,
    LedgerError,
    NodeError,
    TransactionReverted,
    UnknownRevert,
)
from .node import LocalNode
from .types import (
    Appraisal,
    Collateral,
    CreditLine,
    DataAsset,
    Event,
    Issued,
    LineGranted,
    Pledge,
    PledgeState,
    Receipt,
    Receivable,
    ReceivableState,
    Role,
    Split,
    Voucher,
    VoucherStatus,
)

__all__ = [
    "Appraisal",
    "Chain",
    "ChainError",
    "Collateral",
    "CompilationError",
    "ConfigurationError",
    "ContractError",
    "CreditLine",
    "DataAsset",
    "Deployment",
    "DeploymentError",
    "Event",
    "Issued",
    "Ledger",
    "LedgerError",
    "LineGranted",
    "LocalNode",
    "NodeError",
    "Pledge",
    "PledgeState",
    "Receipt",
    "Receivable",
    "ReceivableState",
    "Role",
    "Split",
    "TransactionReverted",
    "UnknownRevert",
    "Voucher",
    "VoucherStatus",
    "compile_project",
    "deploy",
    "deploy_settlement_token",
]
