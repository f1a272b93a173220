"""Plain data the ledger returns: roles, states, receipts, and views of on-chain records."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from eth_utils import keccak


class Role(str, enum.Enum):
    """The party roles of the membership registry (DESIGN.md), plus membership itself."""

    MEMBER = "MEMBER_ROLE"
    OPERATOR = "OPERATOR_ROLE"
    CORE_ENTERPRISE = "CORE_ENTERPRISE_ROLE"
    SUPPLIER = "SUPPLIER_ROLE"
    FINANCIER = "FINANCIER_ROLE"
    APPRAISER = "APPRAISER_ROLE"
    EXCHANGE = "EXCHANGE_ROLE"
    AUDITOR = "AUDITOR_ROLE"

    @property
    def id(self) -> bytes:
        """The role's bytes32 identifier, keccak256 of its name (as in the contract)."""
        return keccak(text=self.value)

    @property
    def bit(self) -> int:
        """The role's bit in ReceivableVoucher.rolesOf."""
        return 1 << list(Role).index(self)

    @classmethod
    def from_id(cls, role_id: bytes) -> Role | None:
        return next((r for r in cls if r.id == bytes(role_id)), None)

    @classmethod
    def from_mask(cls, mask: int) -> list[Role]:
        return [r for r in cls if mask & r.bit]


class ReceivableState(enum.IntEnum):
    NONE = 0
    PENDING = 1
    ACTIVE = 2
    REJECTED = 3
    REVOKED = 4
    SETTLED = 5
    OVERDUE = 6
    DEFAULTED = 7


class VoucherStatus(enum.IntEnum):
    NONE = 0
    PENDING = 1
    ACTIVE = 2
    LOCKED = 3
    CLOSED = 4


class OfferState(enum.IntEnum):
    NONE = 0
    OPEN = 1
    ACCEPTED = 2
    CANCELLED = 3


class RecourseState(enum.IntEnum):
    NONE = 0
    CLAIMED = 1
    PAID = 2
    LAPSED = 3  # the seller did not pay within the window: the financier kept the voucher


class PledgeState(enum.IntEnum):
    NONE = 0
    ACTIVE = 1
    RELEASED = 2
    FORECLOSED = 3
    RETURNED = 4


@dataclass(frozen=True)
class Event:
    """One decoded contract event."""

    name: str
    args: dict[str, Any]
    address: str
    contract: str
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int


@dataclass(frozen=True)
class Receipt:
    """A mined transaction and the events it emitted."""

    tx_hash: str
    block_number: int
    block_hash: str
    gas_used: int
    events: list[Event] = field(default_factory=list)
    contract_address: str | None = None

    def named(self, name: str) -> list[Event]:
        """The events called `name`, in log order."""
        return [e for e in self.events if e.name == name]


@dataclass(frozen=True)
class Issued:
    receivable_id: int
    token_id: int
    receipt: Receipt


@dataclass(frozen=True)
class Split:
    token_id: int
    receipt: Receipt


@dataclass(frozen=True)
class Offered:
    offer_id: int
    token_id: int
    receipt: Receipt


@dataclass(frozen=True)
class Factored:
    offer_id: int
    price: int
    receipt: Receipt


@dataclass(frozen=True)
class Claimed:
    amount: int
    closed: bool
    receipt: Receipt


@dataclass(frozen=True)
class Offer:
    offer_id: int
    seller: str
    token_id: int
    rate_bps: int
    recourse: bool
    state: OfferState
    financier: str
    deadline: int
    recourse_state: RecourseState
    value: int
    price: int
    paid_at_deal: int
    recourse_amount: int
    recourse_window_end: int  # on the clock that stops during pauses; Ledger.recourse_ends_at: block time


@dataclass(frozen=True)
class LineGranted:
    line_id: int
    receipt: Receipt


@dataclass(frozen=True)
class Voucher:
    token_id: int
    holder: str
    receivable_id: int
    status: VoucherStatus
    value: int
    paid: int
    parent_id: int


@dataclass(frozen=True)
class Receivable:
    receivable_id: int
    obligor: str
    issued_at: int
    maturity: int
    state: ReceivableState
    currency: str
    line_id: int
    root_token_id: int
    face_value: int
    repaid: int
    claimed: int

    @property
    def outstanding(self) -> int:
        return self.face_value - self.repaid


@dataclass(frozen=True)
class CreditLine:
    line_id: int
    obligor: str
    used: int
    currency: str
    limit: int
    financier: str
    expiry: int
    grace_period: int

    @property
    def headroom(self) -> int:
        """Limit minus use, ignoring expiry (CreditLines.available also checks expiry)."""
        return max(self.limit - self.used, 0)


@dataclass(frozen=True)
class Collateral:
    """What the data assets pledged to a line count (CreditLines.collateralOf)."""

    line_id: int
    value: int
    valid_until: int
    advance_rate_bps: int

    def credit(self, now: int) -> int:
        """The limit the collateral adds at `now`: value × rate, nothing past valid_until."""
        return self.value * self.advance_rate_bps // 10_000 if now < self.valid_until else 0


@dataclass(frozen=True)
class DataAsset:
    asset_id: int
    owner: str
    registered_at: int
    pledge_id: int
    exchange: str
    content_hash: bytes
    metadata_hash: bytes
    listing_id: bytes
    uri: str

    @property
    def listed(self) -> bool:
        return int(self.exchange, 16) != 0


@dataclass(frozen=True)
class Appraisal:
    slot: int
    appraiser: str
    appraised_at: int
    valid_until: int
    value: int
    report_hash: bytes


@dataclass(frozen=True)
class Pledge:
    pledge_id: int
    asset_id: int
    line_id: int
    state: PledgeState
    index: int
    receivable_id: int  # the defaulted receivable a foreclosure cited (0 otherwise)
    recovered: int  # what the foreclosure credited against it
    owner: str
    token_id: int  # the pledgee's voucher the foreclosure cited (0 otherwise)
    financier: str
    pledged_at: int
    ended_at: int


@dataclass(frozen=True)
class AssetRegistered:
    asset_id: int
    receipt: Receipt


@dataclass(frozen=True)
class Appraised:
    slot: int
    receipt: Receipt


@dataclass(frozen=True)
class Pledged:
    """A pledge, with the asset's counted value then: what a foreclosure would credit."""

    pledge_id: int
    counted_value: int
    receipt: Receipt


@dataclass(frozen=True)
class Struck:
    """The slots of an expelled appraiser's appraisals struck from an asset."""

    slots: tuple[int, ...]
    receipt: Receipt


@dataclass(frozen=True)
class Foreclosed:
    """A foreclosure: the asset's counted value when pledged, and what it was credited against the debt."""

    pledge_id: int
    receivable_id: int
    value: int
    recovered: int
    receipt: Receipt
