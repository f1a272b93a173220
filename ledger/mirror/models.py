"""The mirror's SQL tables: the read model of the chain, plus the mirror's own bookkeeping.

Domain tables (what readers query) hold the state the contracts' views return, keyed as the
contracts key it. Bookkeeping tables (``mirror_*``) hold the cursor, the recent block hashes
and the undo journal that make exactly-once application and reorg rollback possible.

Amounts are ``Amount`` columns: NUMERIC(78, 0) on PostgreSQL. SQLite would turn an integer
text above 2^63 in a NUMERIC column into a REAL (losing digits), so there the column has BLOB
affinity: integers up to 2^63 - 1 are stored as INTEGER (and compare as numbers), larger ones as
their exact decimal text. Either way Python reads back an int.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, Index, Integer, Numeric, UniqueConstraint, text
from sqlalchemy.types import TypeDecorator, UserDefinedType
from sqlmodel import Field, SQLModel

_INT64_MAX = 2**63 - 1


class _SqliteAmount(UserDefinedType):
    """A column SQLite gives BLOB affinity: it stores what it is given, unconverted."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "BLOB"


class Amount(TypeDecorator):
    """An unsigned 256-bit integer: NUMERIC(78, 0), exact on every backend, never float."""

    impl = Numeric(78, 0)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_SqliteAmount())
        return dialect.type_descriptor(Numeric(78, 0))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = int(value)
        if dialect.name == "sqlite" and value > _INT64_MAX:
            return str(value)
        return value

    def process_result_value(self, value, dialect):
        return None if value is None else int(value)


def amount(**kwargs: Any) -> Any:
    return Field(sa_column=Column(Amount(), nullable=False, **kwargs))


#: `amount` under another name, for models with a column called "amount" (which would shadow it).
exact = amount

#: Columns added to existing tables by a migration: rows from before it hold 0.
ZERO = text("0")


def big(**kwargs: Any) -> Any:
    """A 64-bit integer field (token and line ids are 48-bit, times 40-bit, role masks 32-bit)."""
    if kwargs.get("primary_key"):
        kwargs["sa_column_kwargs"] = {"autoincrement": False}  # a natural key, not a sequence
    return Field(sa_type=BigInteger, **kwargs)


#: An autoincrement key: SQLite only autoincrements a column declared INTEGER.
SERIAL = BigInteger().with_variant(Integer, "sqlite")


# -- bookkeeping ---------------------------------------------------------------------------------


class MirrorCursor(SQLModel, table=True):
    """The last block whose events are all applied (one row), and the mirror's status."""

    __tablename__ = "mirror_cursor"

    id: int = big(default=1, primary_key=True)
    chain_id: int = big()
    voucher: str = Field(max_length=42)
    block_number: int = big()
    block_hash: str = Field(max_length=66)
    status: str = Field(max_length=16)  # running | halted
    message: str = Field(default="")
    #: The contracts (names, comma-separated) followed since the start block: a contract the
    #: mirror follows now but did not then has events this database never fetched.
    contracts: str = Field(default="", sa_column_kwargs={"server_default": ""})


class MirrorBlock(SQLModel, table=True):
    """A recently applied block (the reorg window): its hash and its parent's."""

    __tablename__ = "mirror_block"

    number: int = big(primary_key=True)
    hash: str = Field(max_length=66)
    parent_hash: str = Field(max_length=66)


class MirrorJournal(SQLModel, table=True):
    """The undo journal: a row's image before `block_number` first changed it (None: absent)."""

    __tablename__ = "mirror_journal"

    id: int | None = Field(default=None, primary_key=True, sa_type=SERIAL)
    block_number: int = big(index=True)
    table_name: str = Field(max_length=64)
    row_key: str
    image: str | None = None


class EventLog(SQLModel, table=True):
    """Every event of our contracts on the canonical chain, append-only, in chain order."""

    __tablename__ = "event_log"
    __table_args__ = (
        UniqueConstraint("chain_id", "block_hash", "log_index", name="uq_event_log_key"),
        Index("ix_event_log_order", "block_number", "log_index"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=SERIAL)
    chain_id: int = big()
    block_number: int = big()
    block_hash: str = Field(max_length=66)
    log_index: int = big()
    tx_hash: str = Field(max_length=66)
    contract: str = Field(max_length=64)
    address: str = Field(max_length=42)
    name: str = Field(max_length=64, index=True)
    args: str  # JSON: ints as numbers, bytes as 0x hex, addresses checksummed


# -- membership ----------------------------------------------------------------------------------


class Member(SQLModel, table=True):
    """An account that ever held a role: whether it is a member and its party-role bit mask."""

    __tablename__ = "member"

    address: str = Field(primary_key=True, max_length=42)
    is_member: bool
    roles: int = big()  # bit i = ledger.types.Role i, as ReceivableVoucher.rolesOf
    updated_block: int = big()


class RoleAssignment(SQLModel, table=True):
    """One role held by one account (AccessControl's hasRole), including DEFAULT_ADMIN_ROLE."""

    __tablename__ = "role_assignment"

    role: str = Field(primary_key=True, max_length=66)
    account: str = Field(primary_key=True, max_length=42)
    role_name: str = Field(max_length=64)
    granted_by: str = Field(max_length=42)
    granted_block: int = big()


class RoleAdmin(SQLModel, table=True):
    """A role's admin role where it was changed from DEFAULT_ADMIN_ROLE (RoleAdminChanged)."""

    __tablename__ = "role_admin"

    role: str = Field(primary_key=True, max_length=66)
    admin_role: str = Field(max_length=66)


class PauseState(SQLModel, table=True):
    """Whether a pausable contract is paused."""

    __tablename__ = "pause_state"

    contract: str = Field(primary_key=True, max_length=42)
    paused: bool
    updated_block: int = big()


# -- credit lines and receivables ----------------------------------------------------------------


class CreditLine(SQLModel, table=True):
    __tablename__ = "credit_line"

    line_id: int = big(primary_key=True)
    financier: str = Field(max_length=42, index=True)
    obligor: str = Field(max_length=42, index=True)
    currency: str = Field(max_length=42)
    limit: int = amount()
    used: int = amount()
    expiry: int = big()
    grace_period: int = big()
    #: What the line's pledged data assets count, as CreditLines.collateralOf returns it: the sum
    #: of their counted values, the earliest expiry of the appraisals counted (the collateral
    #: credit counts only before it) and the share of the value lent against.
    collateral_value: int = amount(server_default=ZERO)
    collateral_valid_until: int = big(sa_column_kwargs={"server_default": ZERO})
    advance_rate_bps: int = big(sa_column_kwargs={"server_default": ZERO})


class Receivable(SQLModel, table=True):
    """A receivable (the vouchers' slot). state is ledger.types.ReceivableState."""

    __tablename__ = "receivable"

    receivable_id: int = big(primary_key=True)
    obligor: str = Field(max_length=42, index=True)
    supplier: str = Field(max_length=42, index=True)
    line_id: int = big()
    currency: str = Field(max_length=42)
    face_value: int = amount()
    repaid: int = amount()  # total repaid by the obligor (ReceivableRepaid carries the new total)
    maturity: int = big()
    document_hash: str = Field(max_length=66, index=True)
    root_token_id: int = big()
    state: int = big()
    issued_block: int = big()
    tx_hash: str = Field(max_length=66)
    claimed: int = amount(server_default=ZERO)  # total paid out to voucher holders (VoucherClaimed)


class Voucher(SQLModel, table=True):
    """A voucher (token). status is ledger.types.VoucherStatus; a burned one keeps its last holder."""

    __tablename__ = "voucher"

    token_id: int = big(primary_key=True)
    holder: str = Field(max_length=42, index=True)
    receivable_id: int = big(default=0, index=True)
    value: int = amount()
    parent_id: int | None = big(default=None)  # None until the first TransferValue into it
    status: int = big()
    epoch: int = big(default=0)  # bumped by each whole transfer: older approvals lapse, as on chain
    burned: bool = False
    minted_block: int = big()
    burned_block: int | None = big(default=None)
    #: Paid out on the units it holds: set by VoucherClaimed, moved by VoucherPaidMoved.
    paid: int = amount(server_default=ZERO)


class TokenApproval(SQLModel, table=True):
    """ERC-721 approve: who may move the whole voucher, in force while `epoch` is the voucher's."""

    __tablename__ = "token_approval"

    token_id: int = big(primary_key=True)
    operator: str = Field(max_length=42)
    epoch: int = big()


class ValueAllowance(SQLModel, table=True):
    """ERC-3525 approve: value an operator may move out of a voucher, while `epoch` is the voucher's."""

    __tablename__ = "value_allowance"

    token_id: int = big(primary_key=True)
    operator: str = Field(primary_key=True, max_length=42)
    value: int = amount()
    epoch: int = big()


class OperatorApproval(SQLModel, table=True):
    """ERC-721 setApprovalForAll (only approvals in force are kept)."""

    __tablename__ = "operator_approval"

    holder: str = Field(primary_key=True, max_length=42)
    operator: str = Field(primary_key=True, max_length=42)


# -- settlement ----------------------------------------------------------------------------------


class Repayment(SQLModel, table=True):
    """One repayment by a receivable's obligor (ReceivableRepaid), keyed by its log."""

    __tablename__ = "repayment"

    block_number: int = big(primary_key=True)
    log_index: int = big(primary_key=True)
    receivable_id: int = big(index=True)
    payer: str = Field(max_length=42, index=True)
    amount: int = exact()
    repaid: int = exact()  # the receivable's total repaid after this one
    tx_hash: str = Field(max_length=66)


class Claim(SQLModel, table=True):
    """One payout to a voucher's holder (VoucherClaimed), keyed by its log."""

    __tablename__ = "claim"

    block_number: int = big(primary_key=True)
    log_index: int = big(primary_key=True)
    token_id: int = big(index=True)
    receivable_id: int = big(index=True)
    holder: str = Field(max_length=42, index=True)
    amount: int = exact()
    paid: int = exact()  # the voucher's total paid out after this claim
    closed: bool  # the voucher is fully paid out (Closed)
    tx_hash: str = Field(max_length=66)


# -- factoring -----------------------------------------------------------------------------------


class Offer(SQLModel, table=True):
    """A factoring offer, as IFactoring.offerOf returns it (state: ledger.types.OfferState,
    recourse_state: ledger.types.RecourseState), plus the receivable of its voucher.

    `financier` is the offeree (the zero address: any financier) until the offer is accepted,
    then the financier who bought it; price and paid_at_deal are 0 until then.
    """

    __tablename__ = "offer"

    offer_id: int = big(primary_key=True)
    seller: str = Field(max_length=42, index=True)
    token_id: int = big(index=True)  # the locked voucher (split off when a part was offered)
    receivable_id: int = big(index=True)
    rate_bps: int = big()
    recourse: bool
    state: int = big()
    financier: str = Field(max_length=42, index=True)
    deadline: int = big()
    recourse_state: int = big()
    value: int = amount()
    price: int = amount()
    paid_at_deal: int = amount()  # the voucher's paid when it was sold
    recourse_amount: int = amount()  # what recourse asked (RecourseExercised), then what was paid
    created_block: int = big()
    tx_hash: str = Field(max_length=66)
    updated_block: int = big()


class Deal(SQLModel, table=True):
    """A factoring deal (Factored): who financed which receivable's voucher, at what price."""

    __tablename__ = "deal"

    offer_id: int = big(primary_key=True)
    receivable_id: int = big(index=True)
    token_id: int = big()
    seller: str = Field(max_length=42, index=True)
    financier: str = Field(max_length=42, index=True)
    currency: str = Field(max_length=42)
    value: int = amount()  # face value of the units bought
    price: int = amount()  # what the financier paid the seller
    discount: int = amount()  # value - paid_at_deal - price: the seller's cost, on the unpaid value sold
    rate_bps: int = big()  # annual discount rate, Actual/365 on whole days to maturity
    recourse: bool
    paid_at_deal: int = amount()
    block_number: int = big()
    tx_hash: str = Field(max_length=66)


# -- data assets ---------------------------------------------------------------------------------


class DataAsset(SQLModel, table=True):
    """A data asset, as IDataAssetRegistry.assetOf returns it, and where it was registered.

    `owner` passes to the pledgee on foreclosure; `exchange` and `listing_id` are zero until it
    is listed; `pledge_id` is its active pledge (0: none). Times are block timestamps.
    """

    __tablename__ = "data_asset"

    asset_id: int = big(primary_key=True)
    owner: str = Field(max_length=42, index=True)
    content_hash: str = Field(max_length=66, index=True)  # unique on chain (assetOfContent)
    metadata_hash: str = Field(max_length=66)
    #: For reading: the URI's bytes as UTF-8, invalid sequences and NUL as U+FFFD (ledger.logs).
    uri: str
    #: The URI's exact bytes on chain, 0x-hex: what the audit compares (NULL: a row migrated from
    #: before 0005 whose text had lost them; the migration halts such a mirror for a rebuild).
    uri_hex: str | None = None
    exchange: str = Field(max_length=42, index=True)
    listing_id: str = Field(max_length=66)
    registered_at: int = big()
    pledge_id: int = big()
    registered_block: int = big()
    tx_hash: str = Field(max_length=66)
    updated_block: int = big()


class Appraisal(SQLModel, table=True):
    """One of an asset's appraisal slots (appraisalsOf): a new appraisal takes an expired slot's
    place (or its appraiser's own live one), so a slot holds the latest appraisal written to it.
    Only slots used and neither withdrawn nor struck since have a row."""

    __tablename__ = "appraisal"

    asset_id: int = big(primary_key=True)
    slot: int = big(primary_key=True)
    appraiser: str = Field(max_length=42, index=True)
    appraised_at: int = big()
    valid_until: int = big()
    value: int = amount()
    report_hash: str = Field(max_length=66)
    block_number: int = big()
    tx_hash: str = Field(max_length=66)


class Pledge(SQLModel, table=True):
    """A pledge of a data asset to a credit line's financier (pledgeOf; state is
    ledger.types.PledgeState), with the value the asset counted when pledged and, for a
    foreclosure, the defaulted receivable and the pledgee's voucher it cited, the asset's counted
    value then and what it was credited against the receivable (`recovered`; 0 otherwise; a
    Returned pledge keeps them). ended_at is 0 while active."""

    __tablename__ = "pledge"

    pledge_id: int = big(primary_key=True)
    asset_id: int = big(index=True)
    line_id: int = big(index=True)
    state: int = big()
    owner: str = Field(max_length=42, index=True)  # who pledged it
    financier: str = Field(max_length=42, index=True)  # the pledgee
    counted_value: int = amount()
    pledged_at: int = big()
    ended_at: int = big()
    receivable_id: int = big()
    token_id: int = big(sa_column_kwargs={"server_default": ZERO})
    foreclosed_value: int = amount(server_default=ZERO)
    recovered: int = amount(server_default=ZERO)
    pledged_block: int = big()
    ended_block: int | None = big(default=None)
    tx_hash: str = Field(max_length=66)


#: Tables whose rows handlers change (journaled, rolled back on a reorg), by name.
STATE_MODELS: dict[str, type[SQLModel]] = {
    m.__tablename__: m
    for m in (Member, RoleAssignment, RoleAdmin, PauseState, CreditLine, Receivable, Voucher,
              TokenApproval, ValueAllowance, OperatorApproval, Repayment, Claim, Offer, Deal, DataAsset, Appraisal,
              Pledge)
}
#: Every table of the mirror (what the migrations create).
ALL_MODELS: tuple[type[SQLModel], ...] = (MirrorCursor, MirrorBlock, MirrorJournal, EventLog, *STATE_MODELS.values())
TABLE_NAMES = frozenset(m.__tablename__ for m in ALL_MODELS)
