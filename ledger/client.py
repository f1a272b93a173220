"""The typed Python API over the deployed contracts: one method per operation."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from .calls import FastFunctions
from .chain import Chain
from .compiler import compile_project
from .deploy import Deployment
from .exceptions import (
    ChainError,
    DeploymentError,
    ERC20InsufficientAllowance,
    ERC20InsufficientBalance,
    SafeERC20FailedOperation,
    UnknownRevert,
)
from .types import (
    Appraisal,
    Appraised,
    AssetRegistered,
    Claimed,
    Collateral,
    Foreclosed,
    Struck,
    DataAsset,
    Pledge,
    PledgeState,
    Pledged,
    Factored,
    Offer,
    OfferState,
    Offered,
    RecourseState,
    CreditLine,
    Issued,
    LineGranted,
    Receipt,
    Receivable,
    ReceivableState,
    Role,
    Split,
    Voucher,
    VoucherStatus,
)

Address = str

log = logging.getLogger("ledger.client")

#: How often a payment approves again when the amount it pulls rose between the approval and the
#: payment's check (a price that rose at a day boundary); nothing is sent for the payment then.
PAYMENT_ATTEMPTS = 3
#: An acceptance approves the price it pays if mined up to this many seconds after the latest
#: block: a price that steps up at a day boundary between the check and the block does not
#: revert the acceptance (a mined failure); what it did not pull is reset to 0.
PRICE_HEADROOM = 300


def _address(party: LocalAccount | Address) -> Address:
    return party if isinstance(party, str) else party.address


class Ledger:
    """Every operation of the voucher, membership, credit-line, factoring and data-asset contracts.

    Writes take the signing party first (an eth-account LocalAccount) and return what they
    created plus the mined Receipt; a refusal raises the contract's custom error as a
    ledger.exceptions.ContractError subclass before anything is sent.

    Args:
        chain: the connection (ledger.chain.Chain).
        deployment: where the contracts are (ledger.deploy.Deployment).
    """

    def __init__(self, chain: Chain, deployment: Deployment):
        if deployment.chain_id != chain.chain_id:
            raise DeploymentError(
                f"deployment is for chain {deployment.chain_id}, but {chain.url} is chain {chain.chain_id}"
            )
        self.chain = chain
        self.deployment = deployment
        artifacts = compile_project()
        self.artifacts = artifacts
        for address, name in ((deployment.voucher, "ReceivableVoucher"), (deployment.credit_lines, "CreditLines"),
                              (deployment.factoring, "Factoring")):
            if not chain.w3.eth.get_code(address):
                raise DeploymentError(f"no {name} contract at {address} on chain {chain.chain_id}")
        self.voucher: Contract = chain.w3.eth.contract(address=deployment.voucher, abi=artifacts["ReceivableVoucher"].abi)
        self.credit_lines: Contract = chain.w3.eth.contract(
            address=deployment.credit_lines, abi=artifacts["CreditLines"].abi
        )
        self.factoring: Contract = chain.w3.eth.contract(address=deployment.factoring, abi=artifacts["Factoring"].abi)
        chain.register("ReceivableVoucher", self.voucher)
        chain.register("CreditLines", self.credit_lines)
        chain.register("Factoring", self.factoring)
        #: The DataAssetRegistry, or None for a deployment made before it existed.
        self.data_assets: Contract | None = None
        if deployment.data_assets:
            if not chain.w3.eth.get_code(deployment.data_assets):
                raise DeploymentError(
                    f"no DataAssetRegistry contract at {deployment.data_assets} on chain {chain.chain_id}")
            self.data_assets = chain.w3.eth.contract(
                address=deployment.data_assets, abi=artifacts["DataAssetRegistry"].abi)
            chain.register("DataAssetRegistry", self.data_assets)
        self._currencies: dict[str, Contract] = {}
        #: One lock per (payer, currency, spender): a payment's approve and pull run alone.
        self._payment_locks: dict[tuple[str, str, str], threading.Lock] = {}
        self._payment_locks_lock = threading.Lock()
        for contract in (self.voucher, self.credit_lines, self.factoring, self.data_assets):
            if contract is not None:
                contract.functions = FastFunctions(contract)

    def _call(self, fn, block: int | str = "latest"):
        """Run a view; its custom errors are raised as ledger exceptions."""
        with self.chain.errors.translating():
            return fn.call(block_identifier=block)

    # -- settlement currency ---------------------------------------------------------------------

    def currency(self, address: Address) -> Contract:
        """The ERC-20 at `address`, its events and errors decoded from now on."""
        if address not in self._currencies:
            contract = self.chain.w3.eth.contract(address=address, abi=self.artifacts["SettlementToken"].abi)
            self.chain.register("SettlementToken", contract)
            contract.functions = FastFunctions(contract)
            self._currencies[address] = contract
        return self._currencies[address]

    def mint_cash(self, issuer: LocalAccount, currency: Address, to: LocalAccount | Address, amount: int) -> Receipt:
        """Mint `amount` of the demo SettlementToken to `to` (its owner only)."""
        return self.chain.transact(issuer, self.currency(currency).functions.mint(_address(to), amount))

    def cash_balance(self, currency: Address, holder: LocalAccount | Address) -> int:
        return self._call(self.currency(currency).functions.balanceOf(_address(holder)))

    def approve_cash(self, owner: LocalAccount, currency: Address, spender: Address, amount: int) -> Receipt:
        """Let `spender` (the voucher contract for repayments, Factoring for purchases) pull cash."""
        return self.chain.transact(owner, self.currency(currency).functions.approve(spender, amount))

    def cash_allowance(self, currency: Address, owner: LocalAccount | Address, spender: Address) -> int:
        """What `spender` may still pull from `owner` (ERC-20 allowance)."""
        return self._call(self.currency(currency).functions.allowance(_address(owner), spender))

    def _payment_lock(self, payer: Address, currency: Address, spender: Address) -> threading.Lock:
        with self._payment_locks_lock:
            return self._payment_locks.setdefault((payer, currency.lower(), spender.lower()), threading.Lock())

    def _pay(self, payer: LocalAccount, currency: Address, spender: Address, fn, needed: Callable[[], int],
             headroom: Callable[[int], int] | None = None) -> Receipt:
        """Send `fn`, a call of `payer` whose contract pulls `currency` from it into `spender`
        last (checks, effects, then the pull), with an allowance of exactly what it pulls.

        1. The call is run first (eth_call) with the allowance as it is. A revert other than the
           currency's allowance error is a refusal: raised, nothing sent, no allowance changed.
           ERC20InsufficientAllowance means every other check passed: its `needed` is what the
           call pulls at the latest block (the price, for an acceptance). A currency that does
           not say so (a string revert, SafeERC20FailedOperation) counts as short of allowance
           only while the allowance is below `needed()`.
        2. A payer with less than that is refused (ERC20InsufficientBalance) before anything is
           sent: the allowance error hides the balance error, as OpenZeppelin checks it first.
        3. approve(spender, exactly that amount, or `headroom(amount)`: what it pulls if mined a
           little later), then the call. Should the amount have risen
           meanwhile (a price at a day boundary), the call's own check before sending fails
           with ERC20InsufficientAllowance: approve the new amount and send again, up to
           PAYMENT_ATTEMPTS times.
        4. Whatever allowance is left (the call refused after the approval, or pulled less) is
           set back to 0: after a payment the allowance is 0.

        The approval is a fixed amount, not "current + needed", so a write the gateway resumes
        after a crash asks for the same transactions again (gateway.idempotency). Approve and
        pay of one (payer, currency, spender) run one at a time in this process, so concurrent
        payments do not overwrite each other's approval. An allowance to the voucher contract
        or to Factoring can only ever be spent by the payer's own calls to them (they pull from
        the caller, never from an argument), so setting it is this method's to do.

        Raises:
            The call's refusal (a ContractError), ERC20InsufficientBalance, or ChainError.
        """
        token = self.currency(currency)
        with self._payment_lock(payer.address, currency, spender):
            amount = None
            try:
                with self.chain.errors.translating():
                    fn.call({"from": payer.address})
            except ERC20InsufficientAllowance as error:
                amount = error.needed
            except (UnknownRevert, SafeERC20FailedOperation):
                amount = needed()
                if self.cash_allowance(currency, payer, spender) >= amount:
                    raise  # not the allowance: a refusal the currency did not explain
            if amount is None:
                amount = needed()  # it passed on an allowance already standing
            if amount == 0:  # nothing to pull (recourse the claims already covered)
                return self.chain.transact(payer, fn)
            balance = self.cash_balance(currency, payer)
            if balance < amount:
                raise ERC20InsufficientBalance(payer.address, balance, amount)
            if headroom is not None:
                amount = headroom(amount)
            try:
                for attempt in range(PAYMENT_ATTEMPTS):
                    self.chain.transact(payer, token.functions.approve(spender, amount))
                    try:
                        return self.chain.transact(payer, fn)
                    except ERC20InsufficientAllowance as error:
                        if error.tx_hash is not None or attempt == PAYMENT_ATTEMPTS - 1 or error.needed <= amount:
                            raise
                        log.info("payment by %s now pulls %d, not %d: approving again", payer.address,
                                 error.needed, amount)
                        amount = error.needed
            finally:
                self._reset_allowance(payer, token, spender)
        raise AssertionError("unreachable")

    def _reset_allowance(self, payer: LocalAccount, token: Contract, spender: Address) -> None:
        """Set what is left of a payment's approval back to 0 (nothing when nothing is left)."""
        try:
            if self._call(token.functions.allowance(payer.address, spender)):
                self.chain.transact(payer, token.functions.approve(spender, 0))
        except ChainError as error:  # the node is away: the caller sees the payment's own outcome
            log.warning("could not set the allowance of %s to %s back to 0: %s", payer.address, spender, error)

    # -- membership ------------------------------------------------------------------------------

    def admit(self, operator: LocalAccount, account: LocalAccount | Address, roles: Iterable[Role] = ()) -> Receipt:
        """Admit `account` as a member with `roles` (OPERATOR only)."""
        ids = [Role(r).id for r in roles if Role(r) is not Role.MEMBER]
        return self.chain.transact(operator, self.voucher.functions.admit(_address(account), ids))

    def grant_role(self, admin: LocalAccount, role: Role, account: LocalAccount | Address) -> Receipt:
        return self.chain.transact(admin, self.voucher.functions.grantRole(Role(role).id, _address(account)))

    def revoke_role(self, admin: LocalAccount, role: Role, account: LocalAccount | Address) -> Receipt:
        """Revoke one role; revoking Role.MEMBER expels the account and drops all its roles."""
        return self.chain.transact(admin, self.voucher.functions.revokeRole(Role(role).id, _address(account)))

    def expel(self, operator: LocalAccount, account: LocalAccount | Address) -> Receipt:
        return self.revoke_role(operator, Role.MEMBER, account)

    def roles(self, account: LocalAccount | Address) -> list[Role]:
        return Role.from_mask(self._call(self.voucher.functions.rolesOf(_address(account))))

    def is_member(self, account: LocalAccount | Address) -> bool:
        return self._call(self.voucher.functions.isMember(_address(account)))

    def pause(self, operator: LocalAccount) -> Receipt:
        return self.chain.transact(operator, self.voucher.functions.pause())

    def unpause(self, operator: LocalAccount) -> Receipt:
        return self.chain.transact(operator, self.voucher.functions.unpause())

    def paused(self) -> bool:
        """Whether the ledger is paused (one pause for every contract: docs/contracts.md)."""
        return self._call(self.voucher.functions.paused())

    def paused_time(self) -> int:
        """The total seconds the ledger has been paused, the current pause included."""
        return self._call(self.voucher.functions.pausedTime())

    # -- credit lines ----------------------------------------------------------------------------

    def grant_credit_line(
        self,
        financier: LocalAccount,
        obligor: LocalAccount | Address,
        currency: Address,
        limit: int,
        expiry: int,
        grace_period: int = 0,
    ) -> LineGranted:
        """Grant `obligor` a line of `limit` until `expiry` (unix seconds). FINANCIER only."""
        receipt = self.chain.transact(
            financier,
            self.credit_lines.functions.grant(_address(obligor), currency, limit, expiry, grace_period),
        )
        return LineGranted(receipt.named("CreditLineGranted")[0].args["lineId"], receipt)

    def set_credit_terms(self, financier: LocalAccount, line_id: int, limit: int, expiry: int) -> Receipt:
        return self.chain.transact(financier, self.credit_lines.functions.setTerms(line_id, limit, expiry))

    def credit_line(self, line_id: int, *, block: int | str = "latest") -> CreditLine:
        raw = self._call(self.credit_lines.functions.lineOf(line_id), block)
        return CreditLine(line_id, *raw)

    def credit_available(self, line_id: int, *, block: int | str = "latest") -> int:
        """What the line can still lend now: effective limit minus use (0 once expired)."""
        return self._call(self.credit_lines.functions.available(line_id), block)

    def set_advance_rate(self, financier: LocalAccount, line_id: int, rate_bps: int) -> Receipt:
        """Lend `rate_bps` / 10,000 of the value of the data assets pledged to the line (its financier)."""
        return self.chain.transact(financier, self.credit_lines.functions.setAdvanceRate(line_id, rate_bps))

    def collateral(self, line_id: int, *, block: int | str = "latest") -> Collateral:
        """What the data assets pledged to the line count, as CreditLines last recorded it."""
        value, valid_until, rate = self._call(self.credit_lines.functions.collateralOf(line_id), block)
        return Collateral(line_id, value, valid_until, rate)

    def effective_limit(self, line_id: int, *, block: int | str = "latest") -> int:
        """The line's base limit plus the collateral credit that counts now (or at `block`)."""
        return self._call(self.credit_lines.functions.effectiveLimit(line_id), block)

    # -- data assets -----------------------------------------------------------------------------

    @property
    def _assets(self) -> Contract:
        if self.data_assets is None:
            raise DeploymentError("this deployment has no DataAssetRegistry: deploy again")
        return self.data_assets

    def register_data_asset(
        self, owner: LocalAccount, content_hash: bytes, *, metadata_hash: bytes = bytes(32), uri: str = "",
    ) -> AssetRegistered:
        """Register a data asset owned by `owner` (a member) by its content fingerprint.

        Args:
            owner: the data provider registering it.
            content_hash: fingerprint of the data itself; the same content registers once only.
            metadata_hash: fingerprint of its description (the metadata document).
            uri: where the metadata can be fetched (not the data).

        Returns:
            The new asset id and the receipt.

        Raises:
            DataAssetDuplicateContent: the content is already registered.
            MembershipNotMember: `owner` is not a member.
        """
        fn = self._assets.functions.register(bytes(content_hash), bytes(metadata_hash), uri)
        receipt = self.chain.transact(owner, fn)
        return AssetRegistered(receipt.named("DataAssetRegistered")[0].args["assetId"], receipt)

    def appraise(
        self, appraiser: LocalAccount, asset_id: int, *, report_hash: bytes, value: int, valid_until: int,
    ) -> Appraised:
        """Attest the asset's value until `valid_until` (APPRAISER); the lowest unexpired value counts.

        An appraiser's new appraisal of an asset replaces its own live one (same slot).

        Raises:
            DataAssetAppraisalTooLong: `valid_until` is more than MAX_APPRAISAL_TERM from now.
            DataAssetTooManyAppraisals: four other appraisers have live appraisals of it.
            DataAssetInvalidAppraisal, DataAssetSelfAppraisal, AccessControlUnauthorizedAccount.
        """
        fn = self._assets.functions.appraise(asset_id, bytes(report_hash), value, valid_until)
        receipt = self.chain.transact(appraiser, fn)
        return Appraised(receipt.named("DataAssetAppraised")[0].args["slot"], receipt)

    def withdraw_appraisal(self, appraiser: LocalAccount, asset_id: int) -> Appraised:
        """Withdraw `appraiser`'s live appraisal of the asset; returns the slot it held.

        Raises:
            DataAssetNoLiveAppraisal: it has no live appraisal of the asset.
        """
        receipt = self.chain.transact(appraiser, self._assets.functions.withdrawAppraisal(asset_id))
        return Appraised(receipt.named("DataAssetAppraisalWithdrawn")[0].args["slot"], receipt)

    def strike_appraisals(self, operator: LocalAccount, asset_id: int, appraiser: LocalAccount | Address) -> Struck:
        """Strike the asset's appraisals by an expelled appraiser (OPERATOR); returns the slots struck.

        Raises:
            DataAssetAppraiserNotExpelled: `appraiser` still holds APPRAISER.
            DataAssetNoLiveAppraisal: it has no appraisal of the asset to strike.
        """
        receipt = self.chain.transact(operator, self._assets.functions.strikeAppraisals(asset_id, _address(appraiser)))
        return Struck(tuple(e.args["slot"] for e in receipt.named("DataAssetAppraisalStruck")), receipt)

    def list_data_asset(self, exchange: LocalAccount, asset_id: int, listing_id: bytes) -> Receipt:
        """Certify and list the asset as a product of `exchange` (EXCHANGE)."""
        return self.chain.transact(exchange, self._assets.functions.list(asset_id, bytes(listing_id)))

    def pledge(self, owner: LocalAccount, asset_id: int, line_id: int) -> Pledged:
        """Pledge a listed, appraised asset to credit line `line_id`'s financier (its owner).

        Raises:
            DataAssetNotListed, DataAssetNotAppraised, DataAssetAlreadyPledged, DataAssetNotOwner.
        """
        receipt = self.chain.transact(owner, self._assets.functions.pledge(asset_id, line_id))
        args = receipt.named("DataAssetPledged")[0].args
        return Pledged(args["pledgeId"], args["countedValue"], receipt)

    def release(self, financier: LocalAccount, asset_id: int) -> Receipt:
        """End the asset's pledge (its pledgee).

        Raises:
            CreditLineCollateralShortfall: the line would use more than its limit without it.
            DataAssetNotPledgee, DataAssetNotPledged.
        """
        return self.chain.transact(financier, self._assets.functions.release(asset_id))

    def foreclose(self, financier: LocalAccount, asset_id: int, token_id: int) -> Foreclosed:
        """Take the pledged asset (its pledgee) against the unpaid value of voucher `token_id`,
        which the pledgee holds, of a Defaulted receivable of the pledge's line.

        The asset is credited its counted value, at most the exposure (value − paid − claimable
        of the voucher) less what earlier foreclosures against the receivable were credited.
        While assets are held against the receivable, the voucher they cite is the one to cite.

        Raises:
            DataAssetNotVoucherHolder, DataAssetReceivableLineMismatch, DataAssetReceivableNotDefaulted,
            DataAssetExposureCovered, DataAssetOtherVoucherCited, DataAssetNotAppraised,
            DataAssetNotPledgee, DataAssetNotPledged.
        """
        receipt = self.chain.transact(financier, self._assets.functions.foreclose(asset_id, token_id))
        a = receipt.named("DataAssetForeclosed")[0].args
        return Foreclosed(a["pledgeId"], a["receivableId"], a["value"], a["recovered"], receipt)

    def redeem_data_asset(self, anyone: LocalAccount, asset_id: int) -> Receipt:
        """Return a foreclosed asset to the owner that pledged it once the pledgee's exposure no
        longer needs it: always after full repayment, or once the pledgee no longer holds the
        voucher it cited, or when the other assets held against the receivable cover it.

        Raises:
            DataAssetNotForeclosed, DataAssetStillSecuring.
        """
        return self.chain.transact(anyone, self._assets.functions.redeem(asset_id))

    def recovered(self, receivable_id: int, *, block: int | str = "latest") -> int:
        """What the assets held in foreclosure against the receivable were credited."""
        return self._call(self._assets.functions.recoveredOf(receivable_id), block)

    def held_under(self, asset_id: int, *, block: int | str = "latest") -> int:
        """The foreclosed pledge under which the asset is held, or 0."""
        return self._call(self._assets.functions.heldUnder(asset_id), block)

    def sync_collateral(self, anyone: LocalAccount, line_id: int) -> Receipt:
        """Recount the line's pledged assets (after a counted appraisal expired)."""
        return self.chain.transact(anyone, self._assets.functions.sync(line_id))

    def data_asset(self, asset_id: int, *, block: int | str = "latest") -> DataAsset:
        raw = self._call(self._assets.functions.assetOf(asset_id), block)
        return DataAsset(asset_id, *raw)

    def appraisals(self, asset_id: int, *, block: int | str = "latest") -> list[Appraisal]:
        """The asset's appraisal slots in use (expired ones included until replaced)."""
        raw = self._call(self._assets.functions.appraisalsOf(asset_id), block)
        return [Appraisal(slot, *a) for slot, a in enumerate(raw) if a[2] != 0]

    def counted_value(self, asset_id: int, *, block: int | str = "latest") -> tuple[int, int]:
        """The lowest unexpired appraised value (0 if none) and when that appraisal expires (at
        `block`'s timestamp)."""
        value, valid_until = self._call(self._assets.functions.countedValue(asset_id), block)
        return value, valid_until

    def pledge_of(self, pledge_id: int, *, block: int | str = "latest") -> Pledge:
        raw = list(self._call(self._assets.functions.pledgeOf(pledge_id), block))
        raw[2] = PledgeState(raw[2])
        return Pledge(pledge_id, *raw)

    def pledged_to(self, line_id: int) -> list[int]:
        """The ids of the assets pledged to the line now."""
        return list(self._call(self._assets.functions.pledgedTo(line_id)))

    def asset_of_content(self, content_hash: bytes) -> int:
        """The asset registered with this content fingerprint, or 0."""
        return self._call(self._assets.functions.assetOfContent(bytes(content_hash)))

    # -- receivables -----------------------------------------------------------------------------

    def issue(
        self,
        obligor: LocalAccount,
        supplier: LocalAccount | Address,
        *,
        line_id: int,
        currency: Address,
        face_value: int,
        maturity: int,
        document_hash: bytes,
    ) -> Issued:
        """Issue a receivable to `supplier`; its root voucher is Pending until accepted."""
        receipt = self.chain.transact(
            obligor,
            self.voucher.functions.issue(
                _address(supplier), line_id, currency, face_value, maturity, bytes(document_hash)
            ),
        )
        args = receipt.named("ReceivableIssued")[0].args
        return Issued(args["receivableId"], args["tokenId"], receipt)

    def accept(self, supplier: LocalAccount, receivable_id: int) -> Receipt:
        return self.chain.transact(supplier, self.voucher.functions.accept(receivable_id))

    def reject(self, supplier: LocalAccount, receivable_id: int) -> Receipt:
        return self.chain.transact(supplier, self.voucher.functions.reject(receivable_id))

    def revoke(self, obligor: LocalAccount, receivable_id: int) -> Receipt:
        return self.chain.transact(obligor, self.voucher.functions.revoke(receivable_id))

    def receivable(self, receivable_id: int, *, block: int | str = "latest") -> Receivable:
        raw = self._call(self.voucher.functions.receivableOf(receivable_id), block)
        r = list(raw)
        r[3] = ReceivableState(r[3])
        return Receivable(receivable_id, *r)

    def receivable_of_document(self, obligor: LocalAccount | Address, document_hash: bytes) -> int:
        """The live receivable of `obligor` these documents back, or 0 (the guard is per obligor)."""
        return self._call(self.voucher.functions.receivableOfDocument(_address(obligor), bytes(document_hash)))

    # -- vouchers --------------------------------------------------------------------------------

    def split(self, operator: LocalAccount, token_id: int, to: LocalAccount | Address, value: int) -> Split:
        """Move `value` of `token_id` into a new voucher for `to` (ERC-3525 transferFrom to an address)."""
        fn = self.voucher.functions.transferFrom(token_id, _address(to), value)
        receipt = self.chain.transact(operator, fn)
        minted = [e for e in receipt.named("TransferValue") if e.args["_fromTokenId"] == token_id]
        return Split(minted[0].args["_toTokenId"], receipt)

    def transfer_value(self, operator: LocalAccount, from_token_id: int, to_token_id: int, value: int) -> Receipt:
        """Move `value` into an existing voucher of the same receivable."""
        fn = self.voucher.functions.transferFrom(from_token_id, to_token_id, value)
        return self.chain.transact(operator, fn)

    def merge(self, operator: LocalAccount, from_token_id: int, to_token_id: int) -> Receipt:
        """Join `from_token_id` into `to_token_id` (same holder and receivable); the first is burned."""
        return self.chain.transact(operator, self.voucher.functions.merge(from_token_id, to_token_id))

    def transfer(
        self, operator: LocalAccount, token_id: int, to: LocalAccount | Address, *, holder: Address | None = None,
        safe: bool = False,
    ) -> Receipt:
        """Transfer the whole voucher to `to` (ERC-721 transferFrom / safeTransferFrom)."""
        source = holder or self._call(self.voucher.functions.ownerOf(token_id))
        functions = self.voucher.functions
        if safe:
            fn = functions.safeTransferFrom(source, _address(to), token_id)
        else:
            fn = functions.transferFrom(source, _address(to), token_id)
        return self.chain.transact(operator, fn)

    def approve_value(self, holder: LocalAccount, token_id: int, operator: Address, value: int) -> Receipt:
        """Let `operator` move up to `value` out of `token_id` (ERC-3525 approve)."""
        return self.chain.transact(holder, self.voucher.functions.approve(token_id, _address(operator), value))

    def approve(self, holder: LocalAccount, operator: LocalAccount | Address, token_id: int) -> Receipt:
        """Let `operator` move the whole voucher (ERC-721 approve)."""
        return self.chain.transact(holder, self.voucher.functions.approve(_address(operator), token_id))

    def set_approval_for_all(self, holder: LocalAccount, operator: LocalAccount | Address, approved: bool) -> Receipt:
        return self.chain.transact(holder, self.voucher.functions.setApprovalForAll(_address(operator), approved))

    def voucher_of(self, token_id: int, *, block: int | str = "latest") -> Voucher:
        holder, receivable_id, status, value, paid, parent = self._call(
            self.voucher.functions.voucherOf(token_id), block)
        return Voucher(token_id, holder, receivable_id, VoucherStatus(status), value, paid, parent)

    def allowance(self, token_id: int, operator: LocalAccount | Address) -> int:
        return self._call(self.voucher.functions.allowance(token_id, _address(operator)))

    def voucher_count(self, holder: LocalAccount | Address) -> int:
        """How many vouchers `holder` holds (ERC-721 balanceOf)."""
        return self._call(self.voucher.functions.balanceOf(_address(holder)))

    # -- settlement ------------------------------------------------------------------------------

    def repay(self, obligor: LocalAccount, receivable_id: int, amount: int, *, approve: bool = True) -> Receipt:
        """Repay `amount` into the receivable (its obligor).

        With `approve` (the default) the repayment is checked first and a refusal sends nothing;
        the voucher contract is approved exactly `amount` just before, and the allowance is 0
        after (see _pay). Without it, the caller's own allowance is used.
        """
        fn = self.voucher.functions.repay(receivable_id, amount)
        if not approve:
            return self.chain.transact(obligor, fn)
        currency = self.receivable(receivable_id).currency
        return self._pay(obligor, currency, self.voucher.address, fn, lambda: amount)

    def claim(self, holder: LocalAccount, token_id: int) -> Claimed:
        """Pay the voucher's holder its share of what has been repaid so far."""
        receipt = self.chain.transact(holder, self.voucher.functions.claim(token_id))
        args = receipt.named("VoucherClaimed")[0].args
        return Claimed(args["amount"], args["closed"], receipt)

    def claimable(self, token_id: int) -> int:
        return self._call(self.voucher.functions.claimable(token_id))

    def overdue_at(self, receivable_id: int) -> int:
        """When the receivable may be marked overdue: maturity + grace + the time paused since issue."""
        return self._call(self.voucher.functions.overdueAt(receivable_id))

    def release_remainder(self, anyone: LocalAccount, receivable_id: int) -> Receipt:
        """Pay a Settled receivable's rounding remainder to its obligor (ReceivableRemainderReleased)."""
        return self.chain.transact(anyone, self.voucher.functions.releaseRemainder(receivable_id))

    def mark_overdue(self, anyone: LocalAccount, receivable_id: int) -> Receipt:
        return self.chain.transact(anyone, self.voucher.functions.markOverdue(receivable_id))

    def declare_default(self, financier: LocalAccount, receivable_id: int) -> Receipt:
        return self.chain.transact(financier, self.voucher.functions.declareDefault(receivable_id))

    # -- factoring -------------------------------------------------------------------------------

    def offer(
        self, seller: LocalAccount, token_id: int, value: int, *, rate_bps: int, deadline: int,
        financier: LocalAccount | Address | None = None, recourse: bool = False,
    ) -> Offered:
        """Offer `value` of `token_id` for factoring; the offered value is locked in a voucher."""
        to = _address(financier) if financier is not None else "0x" + "00" * 20
        fn = self.factoring.functions.offer(token_id, value, to, rate_bps, recourse, deadline)
        receipt = self.chain.transact(seller, fn)
        args = receipt.named("OfferCreated")[0].args
        return Offered(args["offerId"], args["tokenId"], receipt)

    def cancel_offer(self, seller: LocalAccount, offer_id: int) -> Receipt:
        return self.chain.transact(seller, self.factoring.functions.cancel(offer_id))

    def accept_offer(
        self, financier: LocalAccount, offer_id: int, *, max_price: int | None = None,
        min_unpaid_value: int | None = None, approve: bool = True,
    ) -> Factored:
        """Buy the offered voucher: it moves to `financier` and the price to the seller, atomically.

        The price is on the voucher's unpaid value (value − paid) at acceptance. The contract
        refuses the purchase if the price is above `max_price` or the unpaid value below
        `min_unpaid_value`, before anything moves; each defaults to what the chain says just
        before sending: the unpaid value now, and the price on it PRICE_HEADROOM seconds after
        the latest block (the price rises as maturity nears: a quote at the latest block's time
        is one day's discount short when a day boundary passes before the block). So nothing
        can change under the financier in between.

        With `approve` (the default) the acceptance is checked first and a refusal sends nothing;
        Factoring is approved exactly the price at the latest block (again, should it rise at a
        day boundary before the acceptance is sent), and the allowance is 0 after (see _pay).

        Raises:
            FactoringPriceAboveLimit: the price rose above `max_price` (e.g. a day boundary passed).
            FactoringUnpaidValueBelowLimit: the seller claimed on the locked voucher meanwhile.
        """
        if max_price is None or min_unpaid_value is None:
            max_price, min_unpaid_value = self._acceptance_limits(offer_id, max_price, min_unpaid_value)
        fn = self.factoring.functions.accept(offer_id, max_price, min_unpaid_value)
        if approve:
            offer = self.offer_of(offer_id)
            currency = self.receivable(self.voucher_of(offer.token_id).receivable_id).currency
            receipt = self._pay(financier, currency, self.factoring.address, fn, lambda: self.quote(offer_id),
                                lambda price: self._price_soon(offer_id, price))
        else:
            receipt = self.chain.transact(financier, fn)
        return Factored(offer_id, receipt.named("Factored")[0].args["price"], receipt)

    def _acceptance_limits(self, offer_id: int, max_price: int | None, min_unpaid_value: int | None) -> tuple[int, int]:
        """The financier's limits, each given or read now: the price PRICE_HEADROOM seconds after
        the latest block, the voucher's unpaid value. (0, 0) for an offer no longer open: the
        contract says why it refuses."""
        offer = self.offer_of(offer_id)
        if offer.state != OfferState.OPEN:
            return max_price or 0, min_unpaid_value or 0
        v = self.voucher_of(offer.token_id)
        unpaid = v.value - v.paid
        if max_price is None:
            now = self.chain.w3.eth.get_block("latest")["timestamp"]
            maturity = self.receivable(v.receivable_id).maturity
            max_price = self.price_of(unpaid, offer.rate_bps, maturity, now + PRICE_HEADROOM)
        return max_price, unpaid if min_unpaid_value is None else min_unpaid_value

    def _price_soon(self, offer_id: int, price: int) -> int:
        """What accepting the offer pays if mined PRICE_HEADROOM seconds after the latest block,
        given `price`, what it pays at the latest block (the price steps up at day boundaries).

        The price is a discount of a base (the offered value; of what is unpaid of it, where the
        contract prices the unpaid value): the base that gives `price` at the latest block is
        priced later on. Should neither give it, `price` itself.
        """
        offer = self.offer_of(offer_id)
        held = self.voucher_of(offer.token_id)
        maturity = self.receivable(held.receivable_id).maturity
        now = self.chain.w3.eth.get_block("latest")["timestamp"]
        for base in dict.fromkeys((offer.value, held.value - held.paid)):
            if self.price_of(base, offer.rate_bps, maturity, now) == price:
                return max(price, self.price_of(base, offer.rate_bps, maturity, now + PRICE_HEADROOM))
        return price

    def quote(self, offer_id: int) -> int:
        """The price accepting the offer would pay now (on its voucher's unpaid value)."""
        return self._call(self.factoring.functions.quote(offer_id))

    def price_of(self, value: int, rate_bps: int, maturity: int, timestamp: int) -> int:
        return self._call(self.factoring.functions.priceOf(value, rate_bps, maturity, timestamp))

    def offer_of(self, offer_id: int, *, block: int | str = "latest") -> Offer:
        raw = list(self._call(self.factoring.functions.offerOf(offer_id), block))
        raw[4] = OfferState(raw[4])
        raw[7] = RecourseState(raw[7])
        return Offer(offer_id, *raw)

    def exercise_recourse(self, financier: LocalAccount, offer_id: int) -> Receipt:
        return self.chain.transact(financier, self.factoring.functions.exerciseRecourse(offer_id))

    def recourse_due(self, offer_id: int) -> int:
        return self._call(self.factoring.functions.recourseDue(offer_id))

    def end_recourse(self, financier: LocalAccount, offer_id: int) -> Receipt:
        """End a recourse the seller left unpaid past its window: the financier keeps the voucher,
        unlocked; RecourseLapsed records what the seller left unpaid."""
        return self.chain.transact(financier, self.factoring.functions.endRecourse(offer_id))

    def recourse_ends_at(self, offer_id: int) -> int:
        """When the seller's window to pay a claimed recourse ends (block time; 0 unless claimed)."""
        return self._call(self.factoring.functions.recourseEndsAt(offer_id))

    def pay_recourse(self, seller: LocalAccount, offer_id: int, *, approve: bool = True) -> Receipt:
        """Pay what recourse asks and take the voucher back (approving exactly that: see _pay)."""
        fn = self.factoring.functions.payRecourse(offer_id)
        if not approve:
            return self.chain.transact(seller, fn)
        offer = self.offer_of(offer_id)
        currency = self.receivable(self.voucher_of(offer.token_id).receivable_id).currency
        return self._pay(seller, currency, self.factoring.address, fn, lambda: self.recourse_due(offer_id))
