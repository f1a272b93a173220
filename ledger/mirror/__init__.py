"""The SQL mirror: every event of our contracts applied to SQL exactly once, through restarts
and reorgs (see follower.py for how), read from any process with the block it reflects.

    with Mirror(node_url, "mirror.db", deployment) as mirror:   # the one writer
        mirror.start()                                           # follow the head in a thread
        mirror.wait_for_block(receipt.block_number)
    with MirrorReader("mirror.db").snapshot() as snap:          # any reader
        snap.session.get(Voucher, token_id), snap.block

Run it as a process with ``python -m ledger.mirror`` or ``ledger mirror``.
"""

from .db import MirrorLocked, database_url, make_engine, migrate
from .follower import DEPLOYMENT_CONTRACTS, BlockRef, Mirror, MirrorHalted
from .handlers import HANDLERS, on
from .models import (
    Appraisal,
    Claim,
    CreditLine,
    DataAsset,
    Deal,
    EventLog,
    Member,
    MirrorCursor,
    Offer,
    OperatorApproval,
    PauseState,
    Pledge,
    Receivable,
    Repayment,
    RoleAdmin,
    RoleAssignment,
    TokenApproval,
    ValueAllowance,
    Voucher,
)
from .reader import MirrorReader, Snapshot

__all__ = [
    "DEPLOYMENT_CONTRACTS",
    "HANDLERS",
    "Appraisal",
    "BlockRef",
    "Claim",
    "CreditLine",
    "DataAsset",
    "Deal",
    "EventLog",
    "Member",
    "Mirror",
    "MirrorCursor",
    "MirrorHalted",
    "MirrorLocked",
    "MirrorReader",
    "Offer",
    "OperatorApproval",
    "PauseState",
    "Pledge",
    "Receivable",
    "Repayment",
    "RoleAdmin",
    "RoleAssignment",
    "Snapshot",
    "TokenApproval",
    "ValueAllowance",
    "Voucher",
    "database_url",
    "make_engine",
    "migrate",
    "on",
]
