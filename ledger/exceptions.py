"""The ledger's exceptions: one tree, one class per Solidity custom error.

::

    LedgerError
    ├── ConfigurationError          bad or missing settings
    ├── CompilationError            the Solidity compiler failed
    ├── NodeError                   a local node could not be started or reached
    └── ChainError                  talking to the chain failed
        ├── DeploymentError         contracts missing or not wired as expected
        └── TransactionReverted     the chain refused a transaction (or call)
            ├── UnknownRevert       ... for a reason this library cannot decode
            └── ContractError       ... with one of our contracts' custom errors
                ├── MembershipError     MembershipNotMember, MembershipUnknownRole,
                │                       AccessControlUnauthorizedAccount, ...
                ├── VoucherError        VoucherNonexistent, VoucherInsufficientValue, ...
                ├── ReceivableError     ReceivableDuplicateDocument, ...
                ├── CreditLineError     CreditLineInsufficient, CreditLineExpired, ...
                ├── FactoringError      FactoringOfferNotOpen, FactoringOfferExpired, ...
                ├── DataAssetError      DataAssetDuplicateContent, DataAssetAlreadyPledged, ...
                ├── PausableError       EnforcedPause, ExpectedPause
                └── CurrencyError       ERC20InsufficientBalance, OwnableUnauthorizedAccount, ...

Every ContractError subclass is named exactly as its Solidity error and carries the error's
arguments as snake_case attributes (``VoucherInsufficientValue(token_id, balance, needed)``),
in order, also in ``.args``. :func:`ledger.errors.translate` raises them from web3's errors.
"""

from __future__ import annotations

import keyword
import re
from typing import Any, ClassVar


class LedgerError(Exception):
    """Base of every error this library raises."""


class ConfigurationError(LedgerError):
    """A setting is missing or invalid."""


class CompilationError(LedgerError):
    """The Solidity compiler reported errors or could not run."""


class NodeError(LedgerError):
    """A local EVM node could not be started, or did not answer."""


class ChainError(LedgerError):
    """Talking to the chain failed."""


class DeploymentError(ChainError):
    """The contracts are not deployed, or not wired to each other as expected."""


class TransactionReverted(ChainError):
    """The chain refused a transaction or call."""

    def __init__(self, message: str, *, tx_hash: str | None = None, data: str | None = None):
        super().__init__(message)
        self.tx_hash = tx_hash
        self.data = data


class UnknownRevert(TransactionReverted):
    """A revert whose reason is not one of our contracts' custom errors."""


def _snake(name: str) -> str:
    """Solidity's camelCase argument name as a Python attribute (`from` becomes `from_`)."""
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name.lstrip("_")).lower()
    return snake + "_" if keyword.iskeyword(snake) else snake


class ContractError(TransactionReverted):
    """A custom error of one of the project's contracts, with its arguments as attributes."""

    #: Solidity argument names, in order; set on each subclass.
    fields: ClassVar[tuple[str, ...]] = ()
    registry: ClassVar[dict[str, type[ContractError]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__name__.endswith("Error"):  # the family bases end in Error
            ContractError.registry[cls.__name__] = cls

    def __init__(self, *values: Any, tx_hash: str | None = None, data: str | None = None):
        if len(values) != len(self.fields):
            raise TypeError(f"{type(self).__name__} takes {len(self.fields)} values, got {len(values)}")
        self.values = values
        for name, value in zip(self.fields, values):
            setattr(self, _snake(name), value)
        shown = ", ".join(f"{_snake(n)}={_show(v)}" for n, v in zip(self.fields, values))
        doc = (self.__doc__ or "").strip().splitlines()[0] if self.__doc__ else ""
        self.message = f"{type(self).__name__}({shown}): {doc}"
        super().__init__(self.message, tx_hash=tx_hash, data=data)

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, Any]:
        """The error's arguments by snake_case name, for logs and HTTP responses."""
        return {_snake(n): v for n, v in zip(self.fields, self.values)}


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


class MembershipError(ContractError):
    """Base of membership and role errors."""


class VoucherError(ContractError):
    """Base of voucher errors."""


class ReceivableError(ContractError):
    """Base of receivable lifecycle errors."""


class CreditLineError(ContractError):
    """Base of credit line errors."""


class FactoringError(ContractError):
    """Base of factoring (offer, deal, recourse) errors."""


class DataAssetError(ContractError):
    """Base of data-asset registry errors (registration, appraisal, listing, pledge)."""


class PausableError(ContractError):
    """Base of pause errors."""


# --- membership ------------------------------------------------------------------------------
class MembershipNotMember(MembershipError):
    """The account is not a member: admit it first (or it was expelled)."""

    fields = ("account",)


class MembershipUnknownRole(MembershipError):
    """The role is not a party role."""

    fields = ("role",)


class MembershipExpelUnauthorized(MembershipError):
    """Expelling the account would remove a role (e.g. OPERATOR) the caller could not revoke directly."""

    fields = ("caller", "account", "role", "adminRole")


class AccessControlUnauthorizedAccount(MembershipError):
    """The account lacks the role this action needs."""

    fields = ("account", "neededRole")


class AccessControlBadConfirmation(MembershipError):
    """renounceRole must be called by the account itself."""

    fields = ()


# --- vouchers --------------------------------------------------------------------------------
class VoucherNonexistent(VoucherError):
    """No voucher has this id (never minted, or burned)."""

    fields = ("tokenId",)


class VoucherInsufficientValue(VoucherError):
    """The voucher holds less value than the operation needs."""

    fields = ("tokenId", "balance", "needed")


class VoucherInsufficientAllowance(VoucherError):
    """The operator's value allowance on the voucher is too small."""

    fields = ("tokenId", "operator", "allowance", "needed")


class VoucherUnauthorized(VoucherError):
    """The caller is neither the holder, nor approved for the voucher, nor an operator of the holder."""

    fields = ("operator", "tokenId")


class VoucherIncorrectHolder(VoucherError):
    """The `from` address does not hold the voucher."""

    fields = ("from", "tokenId", "holder")


class VoucherNotActive(VoucherError):
    """The voucher cannot move in its current status (e.g. its receivable is still pending)."""

    fields = ("tokenId", "status")


class VoucherZeroValue(VoucherError):
    """A value of zero cannot be transferred."""

    fields = ("tokenId",)


class VoucherSameToken(VoucherError):
    """Source and destination voucher are the same."""

    fields = ("tokenId",)


class VoucherSlotMismatch(VoucherError):
    """The two vouchers belong to different receivables."""

    fields = ("fromTokenId", "fromSlot", "toTokenId", "toSlot")


class VoucherHolderMismatch(VoucherError):
    """Only vouchers of the same holder can be merged."""

    fields = ("fromTokenId", "fromHolder", "toTokenId", "toHolder")


class VoucherInvalidReceiver(VoucherError):
    """The recipient is the zero address, or a contract that refused the voucher."""

    fields = ("receiver",)


class VoucherInvalidOperator(VoucherError):
    """The operator cannot be approved (zero address, or the holder itself)."""

    fields = ("operator",)


class ERC721InvalidReceiver(VoucherError):
    """The recipient contract does not accept ERC-721 tokens."""

    fields = ("receiver",)


# --- receivables -----------------------------------------------------------------------------
class ReceivableNonexistent(ReceivableError):
    """No receivable has this id."""

    fields = ("receivableId",)


class ReceivableNotPending(ReceivableError):
    """Only a pending receivable can be accepted, rejected or revoked."""

    fields = ("receivableId", "state")


class ReceivableNotSupplier(ReceivableError):
    """Only the supplier the receivable was issued to can do this."""

    fields = ("receivableId", "account")


class ReceivableNotObligor(ReceivableError):
    """Only the receivable's obligor can do this."""

    fields = ("receivableId", "account")


class ReceivableDuplicateDocument(ReceivableError):
    """These trade documents already back a receivable (duplicate financing refused)."""

    fields = ("documentHash", "receivableId")


class ReceivableInvalidDocument(ReceivableError):
    """A receivable needs the fingerprint of its trade documents (non-zero)."""

    fields = ()


class ReceivableInvalidFaceValue(ReceivableError):
    """The face value must be positive and fit in 96 bits."""

    fields = ("faceValue",)


class ReceivableInvalidMaturity(ReceivableError):
    """The maturity must lie in the future."""

    fields = ("maturity", "timestamp")


class VoucherNothingToClaim(VoucherError):
    """The voucher has nothing to claim now (nothing repaid beyond what it was paid)."""

    fields = ("tokenId",)


class VoucherNotLocked(VoucherError):
    """The voucher is not locked by an offer or a recourse claim."""

    fields = ("tokenId", "status")


class VoucherUnsolicitedValue(VoucherError):
    """Value into a voucher needs its consent: the caller must be its holder, its approved address
    or an operator of its holder."""

    fields = ("operator", "toTokenId", "holder")


class VoucherUnauthorizedCaller(VoucherError):
    """Only the Factoring contract may lock, unlock and deliver vouchers."""

    fields = ("caller",)


class ReceivableNotRepayable(ReceivableError):
    """Only an Active, Overdue or Defaulted receivable can be repaid."""

    fields = ("receivableId", "state")


class ReceivableOverpayment(ReceivableError):
    """The repayment exceeds what is outstanding."""

    fields = ("receivableId", "outstanding", "amount")


class ReceivableZeroRepayment(ReceivableError):
    """A repayment must be positive."""

    fields = ("receivableId",)


class ReceivableNotYetOverdue(ReceivableError):
    """Maturity plus the grace period (plus the time paused since issue) has not passed yet."""

    fields = ("receivableId", "overdueAt", "timestamp")


class ReceivableNotActive(ReceivableError):
    """The receivable is not Active (pending, settled, overdue, defaulted or cancelled)."""

    fields = ("receivableId", "state")


class ReceivableNotOverdue(ReceivableError):
    """Only an Overdue receivable can be declared Defaulted."""

    fields = ("receivableId", "state")


class ReceivableNotFinancier(ReceivableError):
    """Only the financier of the receivable's credit line can do this."""

    fields = ("receivableId", "account")


class ReceivableCurrencyShortfall(ReceivableError):
    """The currency delivered less than the amount sent (fee-on-transfer tokens are refused)."""

    fields = ("currency", "expected", "received")


class ReceivableNotSettled(ReceivableError):
    """Only a Settled (fully repaid) receivable releases its rounding remainder."""

    fields = ("receivableId", "state")


class ReceivableNoRemainder(ReceivableError):
    """The receivable has no rounding remainder left to release."""

    fields = ("receivableId",)


# --- factoring -------------------------------------------------------------------------------
class FactoringOfferNonexistent(FactoringError):
    """No offer has this id."""

    fields = ("offerId",)


class FactoringOfferNotOpen(FactoringError):
    """The offer is no longer open (accepted by someone else, or cancelled)."""

    fields = ("offerId", "state")


class FactoringOfferExpired(FactoringError):
    """The offer's deadline has passed."""

    fields = ("offerId", "deadline", "timestamp")


class FactoringNotSeller(FactoringError):
    """Only the seller can do this."""

    fields = ("offerId", "account")


class FactoringNotOfferee(FactoringError):
    """The offer is made to another financier."""

    fields = ("offerId", "offeree", "account")


class FactoringInvalidDeadline(FactoringError):
    """An offer's deadline must lie in the future."""

    fields = ("deadline", "timestamp")


class FactoringInvalidRate(FactoringError):
    """A discount rate is at most 10,000 basis points (100 % a year)."""

    fields = ("rateBps",)


class FactoringZeroPrice(FactoringError):
    """At this rate the discount would swallow the whole value."""

    fields = ("value", "rateBps", "daysLeft")


class FactoringReceivableNotActive(FactoringError):
    """Only vouchers of an Active receivable can be factored."""

    fields = ("receivableId", "state")


class FactoringReceivableNotOverdue(FactoringError):
    """Recourse needs the receivable to be Overdue or Defaulted."""

    fields = ("receivableId", "state")


class FactoringWithoutRecourse(FactoringError):
    """The deal was made without recourse."""

    fields = ("offerId",)


class FactoringNotDeal(FactoringError):
    """The offer was never accepted, so there is no deal."""

    fields = ("offerId", "state")


class FactoringNotDealFinancier(FactoringError):
    """Only the deal's financier can do this."""

    fields = ("offerId", "account")


class FactoringRecourseState(FactoringError):
    """Recourse is not in the state this step needs (not exercised, or already exercised/paid)."""

    fields = ("offerId", "state")


class FactoringVoucherNotHeld(FactoringError):
    """The financier no longer holds the deal's voucher."""

    fields = ("offerId", "tokenId", "holder")


class FactoringVoucherValueChanged(FactoringError):
    """The deal's voucher no longer has the value that was bought."""

    fields = ("offerId", "tokenId", "value", "expected")


class FactoringCurrencyShortfall(FactoringError):
    """The currency delivered less than the amount sent (fee-on-transfer tokens are refused)."""

    fields = ("currency", "expected", "received")


class ReentrancyGuardReentrantCall(ContractError):
    """A reentrant call was refused."""

    fields = ()


# --- credit lines ----------------------------------------------------------------------------
class CreditLineNonexistent(CreditLineError):
    """No credit line has this id."""

    fields = ("lineId",)


class CreditLineNotFinancier(CreditLineError):
    """Only the line's financier can change it."""

    fields = ("lineId", "account")


class CreditLineObligorMismatch(CreditLineError):
    """The credit line belongs to another obligor."""

    fields = ("lineId", "obligor", "account")


class CreditLineCurrencyMismatch(CreditLineError):
    """The credit line is in another currency."""

    fields = ("lineId", "lineCurrency", "currency")


class CreditLineExpired(CreditLineError):
    """The credit line has expired."""

    fields = ("lineId", "expiry", "timestamp")


class CreditLineInsufficient(CreditLineError):
    """The credit line has less available than needed."""

    fields = ("lineId", "available", "needed")


class CreditLineInvalidLimit(CreditLineError):
    """A limit must be positive and fit in 96 bits."""

    fields = ("limit",)


class CreditLineInvalidExpiry(CreditLineError):
    """An expiry (or grace period) is out of range: expiries must lie in the future."""

    fields = ("expiry", "timestamp")


class CreditLineInvalidCurrency(CreditLineError):
    """The currency is not an ERC-20 contract with decimals()."""

    fields = ("currency",)


class CreditLineCurrencyDecimals(CreditLineError):
    """The currency's decimals differ from the voucher contract's valueDecimals."""

    fields = ("currency", "expected", "actual")


class CreditLineUnauthorizedCaller(CreditLineError):
    """Only the voucher contract draws on and restores credit lines."""

    fields = ("caller",)


class CreditLineInvalidAdvanceRate(CreditLineError):
    """An advance rate is at most 10,000 basis points."""

    fields = ("advanceRateBps",)


class CreditLineCollateralShortfall(CreditLineError):
    """Releasing the collateral would leave the line using more than its effective limit."""

    fields = ("lineId", "limit", "used")


# --- data assets -----------------------------------------------------------------------------
class DataAssetNonexistent(DataAssetError):
    """No data asset has this id."""

    fields = ("assetId",)


class DataAssetInvalidContent(DataAssetError):
    """A data asset needs a non-zero content fingerprint."""

    fields = ()


class DataAssetDuplicateContent(DataAssetError):
    """This content is already registered as another asset."""

    fields = ("contentHash", "assetId")


class DataAssetNotOwner(DataAssetError):
    """Only the asset's owner can do this."""

    fields = ("assetId", "account")


class DataAssetSelfAppraisal(DataAssetError):
    """An asset's owner cannot appraise it."""

    fields = ("assetId", "appraiser")


class DataAssetInvalidAppraisal(DataAssetError):
    """An appraisal needs a positive 96-bit value and a future expiry."""

    fields = ("value", "validUntil", "timestamp")


class DataAssetTooManyAppraisals(DataAssetError):
    """The asset already has the most unexpired appraisals it can keep."""

    fields = ("assetId", "max")


class DataAssetInvalidListing(DataAssetError):
    """A listing needs a non-zero listing id."""

    fields = ("assetId",)


class DataAssetAlreadyListed(DataAssetError):
    """The asset is already listed."""

    fields = ("assetId", "exchange", "listingId")


class DataAssetNotListed(DataAssetError):
    """Only an exchange-listed asset can be pledged."""

    fields = ("assetId",)


class DataAssetNotAppraised(DataAssetError):
    """Only an asset with an unexpired appraisal can be pledged."""

    fields = ("assetId", "timestamp")


class DataAssetAlreadyPledged(DataAssetError):
    """The asset is already pledged: one active pledge at a time."""

    fields = ("assetId", "pledgeId", "financier")


class DataAssetLineFull(DataAssetError):
    """The credit line carries the most pledged assets it can."""

    fields = ("lineId", "max")


class DataAssetNotPledged(DataAssetError):
    """The asset has no active pledge."""

    fields = ("assetId",)


class DataAssetNotPledgee(DataAssetError):
    """Only the pledge's financier can release or foreclose it."""

    fields = ("assetId", "financier", "account")


class DataAssetReceivableLineMismatch(DataAssetError):
    """The receivable was not drawn on the pledge's credit line."""

    fields = ("receivableId", "receivableLineId", "pledgeLineId")


class DataAssetReceivableNotDefaulted(DataAssetError):
    """Foreclosure needs a Defaulted receivable of the pledge's line."""

    fields = ("receivableId", "state")


class DataAssetStillSecuring(DataAssetError):
    """The foreclosed asset is still needed: the pledgee's exposure on the voucher it cited is more
    than the other assets held against the receivable were credited (it returns on full repayment)."""

    fields = ("assetId", "tokenId", "exposure", "coveredWithout")


class DataAssetNotVoucherHolder(DataAssetError):
    """Foreclosure cites a voucher the pledgee holds: its unpaid value is the exposure."""

    fields = ("tokenId", "holder", "account")


class DataAssetExposureCovered(DataAssetError):
    """What the assets already foreclosed were credited covers the pledgee's defaulted exposure."""

    fields = ("receivableId", "tokenId", "exposure", "recovered")


class DataAssetOtherVoucherCited(DataAssetError):
    """Assets are already held against the receivable for another voucher: a foreclosure cites
    that one (merge the pledgee's vouchers of the receivable into it first)."""

    fields = ("receivableId", "tokenId", "citedTokenId")


class DataAssetHeldInForeclosure(DataAssetError):
    """The asset is held in foreclosure until its receivable is repaid; it cannot be pledged."""

    fields = ("assetId", "pledgeId", "receivableId")


class DataAssetNotForeclosed(DataAssetError):
    """The asset is not held in foreclosure, so there is nothing to return."""

    fields = ("assetId",)


class DataAssetAppraisalTooLong(DataAssetError):
    """An appraisal may stand at most MAX_APPRAISAL_TERM (a year) from now."""

    fields = ("validUntil", "maxValidUntil")


class DataAssetNoLiveAppraisal(DataAssetError):
    """The appraiser has no appraisal of the asset to withdraw or strike."""

    fields = ("assetId", "appraiser")


class DataAssetAppraiserNotExpelled(DataAssetError):
    """Only the appraisals of an account that no longer holds APPRAISER can be struck."""

    fields = ("appraiser",)


# --- pause -----------------------------------------------------------------------------------
class EnforcedPause(PausableError):
    """The operator has paused the contract."""

    fields = ()


class ExpectedPause(PausableError):
    """The contract is not paused."""

    fields = ()


# --- settlement currency (OpenZeppelin ERC-20 and Ownable) ------------------------------------
class CurrencyError(ContractError):
    """Base of settlement-currency errors."""


class ERC20InsufficientBalance(CurrencyError):
    """The sender has too little of the currency."""

    fields = ("sender", "balance", "needed")


class ERC20InsufficientAllowance(CurrencyError):
    """The spender's currency allowance is too small."""

    fields = ("spender", "allowance", "needed")


class ERC20InvalidReceiver(CurrencyError):
    """The currency cannot be sent to this address."""

    fields = ("receiver",)


class ERC20InvalidSender(CurrencyError):
    """The currency cannot be sent from this address."""

    fields = ("sender",)


class OwnableUnauthorizedAccount(CurrencyError):
    """Only the currency's owner (its issuer) can do this."""

    fields = ("account",)


class ERC20InvalidApprover(CurrencyError):
    """The currency approval cannot come from this address."""

    fields = ("approver",)


class ERC20InvalidSpender(CurrencyError):
    """The currency cannot be approved to this address."""

    fields = ("spender",)


class OwnableInvalidOwner(CurrencyError):
    """The currency cannot be owned by this address."""

    fields = ("owner",)


class FactoringSelfDeal(FactoringError):
    """A seller cannot buy its own offer (or name itself as the buyer)."""

    fields = ("offerId", "account")


class FactoringReceivableOverdue(FactoringError):
    """Past maturity + grace (+ time paused) the receivable is overdue, marked or not: it cannot
    be offered nor bought."""

    fields = ("receivableId", "overdueAt", "timestamp")


class FactoringRecourseWindowOpen(FactoringError):
    """The seller's window to pay recourse is still open: the financier cannot end it yet."""

    fields = ("offerId", "endsAt", "timestamp")


class FactoringPriceAboveLimit(FactoringError):
    """At acceptance the price is above the financier's limit (maxPrice)."""

    fields = ("offerId", "price", "maxPrice")


class FactoringUnpaidValueBelowLimit(FactoringError):
    """At acceptance the voucher's unpaid value is below the financier's limit (minUnpaidValue)."""

    fields = ("offerId", "unpaidValue", "minUnpaidValue")


class SafeERC20FailedOperation(CurrencyError):
    """The currency refused the transfer."""

    fields = ("token",)
