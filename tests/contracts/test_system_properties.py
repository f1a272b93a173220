"""Property: one state machine over every contract operation, checked against a model.

Operations: membership (grant and revoke roles, expel and readmit, pause), credit lines (grant,
terms, advance rate), data assets (register, appraise, list, pledge, release, foreclose, sync),
receivables (issue, accept, reject, revoke), vouchers (split, value transfer, merge, whole
transfer, value and token approvals, operators), factoring (offer, accept, cancel, expiry),
settlement (repay, claim, time passing, overdue, default) and recourse (exercise, pay). Each
operation is attempted with arguments and callers drawn at random; the model says whether it
must succeed or be refused, and with which custom error. A refused call sends nothing.

After every step the chain must equal the model (every voucher's holder, value, paid and
status; every receivable, line use, offer, pledge, role and cash balance), and:
- each receivable's live vouchers sum to its face value;
- claims never exceed repayments; the voucher contract holds exactly Σ(repaid − claimed);
- the settlement currency is conserved across the parties and the contracts;
- a line's use is what was issued on it and not repaid (rejected and revoked ones restored);
- a data asset has at most one active pledge, and a line's recorded limit never exceeds its
  effective limit computed from the appraisals, nor does any issue take a line past it;
- an open offer's voucher is locked with the offered value, held by the seller, in one offer
  (no voucher is financed twice);
- a Closed voucher is fully paid out;
- each fingerprint backs at most one live receivable of each obligor (receivableOfDocument), and
  a receivable's overdue moment is maturity + grace + the time paused since its issue (overdueAt).

Adversary moves: a holder cuts a voucher in two and bounces value between the parts, claiming
after every move, to harvest rounding (it never gains more than its exact share, and no voucher's
units are ever paid more than value × repaid / face); a line's financier forecloses
opportunistically on a default of its line (with none of it, then with a small piece; it may
take only what covers the piece, and passing the piece on gives the assets back); a core
enterprise front-runs another obligor's fingerprint (or cites one of its
live receivables) with a 1-unit receivable its colluding supplier leaves pending, which must
block nobody; during a pause parties try to claim, transfer, mark overdue, issue, offer, accept,
cancel, exercise or pay recourse, pledge, release and foreclose (all refused), while repayments
go on and time passes (which must not shorten any grace period).

Default: 20 examples of up to 100 steps on Anvil (80–85 s on a shared 2-core machine), 3 on
Ganache (about 85 s: it mines one block per transaction); LEDGER_PROPERTY_EXAMPLES sets the count
for either, and the test's timeout grows with it. `pytest -s` prints how many
examples reached each flow (settled, overdue, factored, recourse paid, pledged, foreclosed, ...).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from types import SimpleNamespace

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from ledger import PledgeState, ReceivableState, Role, VoucherStatus
from ledger.exceptions import (
    AccessControlUnauthorizedAccount,
    ContractError,
    CreditLineCollateralShortfall,
    CreditLineExpired,
    CreditLineInsufficient,
    CreditLineInvalidExpiry,
    CreditLineInvalidLimit,
    CreditLineNotFinancier,
    CreditLineObligorMismatch,
    DataAssetAlreadyListed,
    DataAssetAlreadyPledged,
    DataAssetDuplicateContent,
    DataAssetExposureCovered,
    DataAssetOtherVoucherCited,
    DataAssetHeldInForeclosure,
    DataAssetLineFull,
    DataAssetNotAppraised,
    DataAssetNotForeclosed,
    DataAssetNotListed,
    DataAssetNotOwner,
    DataAssetNotPledgee,
    DataAssetNotPledged,
    DataAssetReceivableLineMismatch,
    DataAssetNotVoucherHolder,
    DataAssetReceivableNotDefaulted,
    DataAssetStillSecuring,
    DataAssetSelfAppraisal,
    DataAssetTooManyAppraisals,
    EnforcedPause,
    ExpectedPause,
    FactoringNotDeal,
    FactoringNotDealFinancier,
    FactoringNotOfferee,
    FactoringNotSeller,
    FactoringOfferExpired,
    FactoringOfferNotOpen,
    FactoringPriceAboveLimit,
    FactoringReceivableOverdue,
    FactoringReceivableNotActive,
    FactoringReceivableNotOverdue,
    FactoringRecourseState,
    FactoringRecourseWindowOpen,
    FactoringSelfDeal,
    FactoringUnpaidValueBelowLimit,
    FactoringVoucherNotHeld,
    FactoringVoucherValueChanged,
    FactoringWithoutRecourse,
    MembershipNotMember,
    ReceivableDuplicateDocument,
    ReceivableNoRemainder,
    ReceivableNotActive,
    ReceivableNotFinancier,
    ReceivableNotObligor,
    ReceivableNotOverdue,
    ReceivableNotPending,
    ReceivableNotRepayable,
    ReceivableNotSettled,
    ReceivableNotSupplier,
    ReceivableNotYetOverdue,
    ReceivableOverpayment,
    VoucherHolderMismatch,
    VoucherInsufficientAllowance,
    VoucherInsufficientValue,
    VoucherInvalidOperator,
    VoucherNotActive,
    VoucherNothingToClaim,
    VoucherSameToken,
    VoucherSlotMismatch,
    VoucherUnauthorized,
    VoucherUnsolicitedValue,
)
from ledger.types import OfferState, RecourseState
from tests.conftest import DAY, LINE_LIMIT
from tests.contracts.chain_machines import (
    APPRAISER,
    APPRAISER2,
    BPS,
    EXCHANGE,
    PROVIDER,
    UINT96_MAX,
    ChainMachine,
    admit_data_parties,
    named,
    assert_cash_conserved,
    true_effective_limit,
    views,
)

STEPS = 100
NODE = os.environ.get("LEDGER_NODE", "anvil")
EXAMPLES = int(os.environ.get("LEDGER_PROPERTY_EXAMPLES") or (3 if NODE == "ganache" else 20))
UINT128_MAX = 2**128 - 1
RECOURSE_WINDOW = 30 * DAY  # Factoring.RECOURSE_WINDOW
#: Seconds around a time boundary (maturity + grace, an appraisal's expiry) within which the
#: next block's timestamp is not known well enough to predict the outcome: either is accepted.
MARGIN = 120
LIVE_APPRAISALS = 4
PLEDGES_PER_LINE = 16
DEAD = (ReceivableState.REJECTED, ReceivableState.REVOKED)
#: Whether the party entitled to act does (3 times in 4); otherwise the rule's random actor tries.
ZERO = "0x" + "00" * 20
LIKELY = st.integers(0, 3).map(bool)


@pytest.fixture(scope="module")
def world(world):
    return admit_data_parties(world)


# -- the model -----------------------------------------------------------------------------------

@dataclass
class Tok:
    holder: str
    rid: int
    status: VoucherStatus
    value: int
    paid: int = 0
    epoch: int = 0


@dataclass
class Rec:
    obligor: str
    supplier: str
    line: int
    face: int
    maturity: int
    doc: bytes
    root: int
    state: ReceivableState = ReceivableState.PENDING
    repaid: int = 0
    claimed: int = 0
    remainder: int = 0  # rounding units no voucher can claim, not yet released to the obligor
    paused_at_issue: int = 0  # the pause clock at issue: grace runs only while unpaused


@dataclass
class Line:
    financier: str
    obligor: str
    limit: int
    expiry: int
    grace: int


@dataclass
class Off:
    seller: str
    token: int
    value: int
    rate: int
    recourse: bool
    offeree: str
    deadline: int
    state: OfferState = OfferState.OPEN
    price: int = 0
    paid_at_deal: int = 0
    recourse_state: RecourseState = RecourseState.NONE
    recourse_amount: int = 0
    recourse_window_end: int = 0  # on the clock that stops during pauses


@dataclass
class Asset:
    owner: str
    content: bytes
    listed: bool = False
    pledge: int = 0
    appraisals: list[tuple[str, int, int]] = field(default_factory=list)  # (appraiser, value, valid until)
    held: int = 0  # the foreclosed pledge it is held under until its receivable is Settled


@dataclass
class Plg:
    asset: int
    line: int
    financier: str
    state: PledgeState = PledgeState.ACTIVE
    owner: str = ""  # who pledged it: a foreclosed asset returns to it
    rid: int = 0  # the defaulted receivable a foreclosure cited
    token: int = 0  # the pledgee's voucher it cited
    recovered: int = 0  # what it credited against it
    value: int = 0  # the asset's counted value when pledged: what a foreclosure credits


@dataclass
class Books:
    """One party's account in the model, kept by the terms of what it did, not by what the chain
    paid: `cash` is the currency it should have received less what it should have paid (claims,
    deal prices, recourse, repayments), `units` the unpaid value it should hold (Σ value − paid of
    its vouchers, less face − repaid of what it owes as obligor). Value given or received for
    nothing (a split, a value move, a whole transfer, an issue) moves `units` as the model moves
    it; value exchanged for currency moves both at the model's terms.

    The invariant `no_party_gains_what_it_was_not_owed` compares each party's chain position
    (its cash balance change + the unpaid value it holds) with these books: no party may ever
    end with more than it paid for or was owed, nor lose what it is owed. A new flow that moves
    currency or unpaid value between parties books it with `_book` (for units moved with a
    voucher, `_hand_over` and `_new_token` do it)."""

    cash: int = 0
    units: int = 0


def price_of(value: int, rate_bps: int, maturity: int, timestamp: int) -> int:
    """Factoring's price: value less floor(value × rate × whole days left / (10,000 × 365))."""
    days = (maturity - timestamp) // DAY if maturity > timestamp else 0
    discount = value * rate_bps * days // (BPS * 365)
    return 0 if discount >= value else value - discount


def move_paid(src: Tok, dst: Tok, value: int, r: Rec, consumed: dict, source: int, dest: int) -> None:
    """Move `value` of `src` into `dst` with its paid, by the rounding rule: each side is charged
    its share rounded up, an excess unit goes to the receivable's remainder, a side left fully
    paid out is Closed. `consumed` carries what the units were paid, exactly (Fractions)."""
    balance, paid = src.value, src.paid
    moved, kept = -(-paid * value // balance), -(-paid * (balance - value) // balance)
    share = consumed.get(source, Fraction(0)) * value / balance
    consumed[source] = consumed.get(source, Fraction(0)) - share
    consumed[dest] = consumed.get(dest, Fraction(0)) + share
    src.value, src.paid = balance - value, kept
    dst.value, dst.paid = dst.value + value, dst.paid + moved
    if paid and moved + kept != paid:
        r.remainder += 1
    for t in (src, dst):
        if t.value > 0 and t.paid == t.value:
            t.status = VoucherStatus.CLOSED


@pytest.mark.chain
@pytest.mark.timeout(120 + (120 if NODE == "ganache" else 30) * EXAMPLES)  # a longer run gets longer
def test_every_operation_keeps_the_ledger_consistent(world):
    w = world
    p = w.parties
    led = w.ledger
    cash = led.currency(w.cash)
    parties = [named(a, n) for a, n in (
        (p.operator, "operator"), (p.core, "core"), (p.core2, "core2"), (p.tier1, "tier1"), (p.tier2, "tier2"),
        (p.tier3, "tier3"), (p.bank, "bank"), (p.bank2, "bank2"), (p.auditor, "auditor"), (p.outsider, "outsider"),
        (APPRAISER, "appraiser"), (APPRAISER2, "appraiser2"), (EXCHANGE, "exchange"), (PROVIDER, "provider"))]
    p = SimpleNamespace(**{repr(a): a for a in parties})
    appraiser, appraiser2, exchange, provider = p.appraiser, p.appraiser2, p.exchange, p.provider
    by_address = {a.address: a for a in parties}
    holders = [p.tier1, p.tier2, p.tier3, p.bank, p.bank2, provider]
    actors = holders + [p.core, p.outsider]
    suppliers = [p.tier1, p.tier2, p.tier3, provider]
    financiers = [p.bank, p.bank2]
    # Who may lose and regain roles or membership: enough is left for every flow to go on.
    mutable = {p.tier3.address: [Role.SUPPLIER], p.bank2.address: [Role.FINANCIER],
               p.core2.address: [Role.CORE_ENTERPRISE], provider.address: [Role.SUPPLIER]}
    contracts = [led.voucher.address, led.factoring.address, led.credit_lines.address, led.data_assets.address]

    class System(ChainMachine):
        # -- set-up --------------------------------------------------------------------------
        @initialize(data=st.data(), faces=st.lists(st.integers(1, 3_000_000), min_size=1, max_size=3))
        def start(self, data, faces):
            self.begin()
            second = led.grant_credit_line(p.bank2, p.core2, w.cash, LINE_LIMIT // 2, w.now() + 2 * 365 * DAY, 3 * DAY)
            self.lines: dict[int, Line] = {}
            for line_id in (w.line_id, second.line_id):
                c = led.credit_line(line_id)
                self.lines[line_id] = Line(c.financier, c.obligor, c.limit, c.expiry, c.grace_period)
            self.supply = cash.functions.totalSupply().call()
            self.cash = dict(zip(self._cash_holders(), views(led, [cash.functions.balanceOf(a)
                                                                   for a in self._cash_holders()])))
            self.roles = {a.address: led.roles(a) for a in parties}
            self.tokens: dict[int, Tok] = {}
            #: Per voucher: what its units were paid, exactly (moves carry it pro rata, unrounded).
            self.consumed: dict[int, Fraction] = {}
            self.receivables: dict[int, Rec] = {}
            self.offers: dict[int, Off] = {}
            self.assets: dict[int, Asset] = {}
            self.pledges: dict[int, Plg] = {}
            self.recovered: dict[int, int] = {}  # receivable -> what assets held in foreclosure were credited
            self.rates: dict[int, int] = {line_id: 0 for line_id in self.lines}
            self.token_approvals: dict[int, tuple[str, int]] = {}  # token -> (operator, epoch)
            self.allowances: dict[tuple[int, str], tuple[int, int]] = {}  # (token, operator) -> (value, epoch)
            self.operators: set[tuple[str, str]] = set()  # (holder, operator)
            self.paused_time = led.paused_time()  # the pause clock, read at each unpause
            self.books = {a.address: Books() for a in parties}
            self.cash_at_start = dict(self.cash)
            for face in faces:  # a few accepted receivables to start from
                line_id = self._pick(data, self.lines, "line")
                self._issue(line_id, face, 20, by_address[self.lines[line_id].obligor], p.tier1, True)

        # -- helpers -------------------------------------------------------------------------
        @staticmethod
        def _cash_holders() -> list[str]:
            return [a.address for a in parties] + contracts

        def _has(self, who: str, role: Role) -> bool:
            return role in self.roles[who]

        def _member(self, who: str) -> bool:
            return self._has(who, Role.MEMBER)

        def _refused(self, error: type[ContractError], call, *args, **kwargs) -> ContractError:
            """Attempt a call the model says must be refused with `error`: nothing may be mined."""
            before = w.chain.w3.eth.block_number
            with pytest.raises(ContractError) as info:
                call(*args, **kwargs)
            assert type(info.value) is error, f"expected {error.__name__}, the contract raised {info.value!r}"
            assert w.chain.w3.eth.block_number == before, f"{error.__name__}: a refused call mined a block"
            return info.value

        def _pick(self, data, items, label):
            items = sorted(items)
            return data.draw(st.sampled_from(items), label=label) if items else None

        def _authorized(self, actor: str, token: int) -> bool:
            t = self.tokens[token]
            if actor == t.holder or (t.holder, actor) in self.operators:
                return True
            approved = self.token_approvals.get(token)
            return approved is not None and approved == (actor, t.epoch)

        def _allowance(self, token: int, actor: str) -> int:
            value, epoch = self.allowances.get((token, actor), (0, -1))
            return value if epoch == self.tokens[token].epoch else 0

        def _spend(self, actor: str, token: int, value: int) -> type[ContractError] | None:
            """The model of _spendAllowance: None if `actor` may move `value` (spent here)."""
            if self._authorized(actor, token):
                return None
            current = self._allowance(token, actor)
            if current < value:
                return VoucherInsufficientAllowance
            if current != UINT128_MAX:
                self.allowances[(token, actor)] = (current - value, self.tokens[token].epoch)
            return None

        def _new_token(self, receipt, from_token: int, to: str, value: int, status: VoucherStatus) -> int:
            """Record a split of `value` out of `from_token` into the voucher the receipt minted."""
            minted = [e.args["_toTokenId"] for e in receipt.named("TransferValue")
                      if e.args["_fromTokenId"] == from_token and e.args["_toTokenId"] != 0]
            assert len(minted) == 1, f"a split of {from_token} minted {minted}"
            new = minted[0]
            assert new not in self.tokens and new > max(self.tokens), f"split minted a known id {new}"
            src = self.tokens[from_token]
            self.tokens[new] = Tok(to, src.rid, status, 0)
            self._moving(src, self.tokens[new], lambda: move_paid(
                src, self.tokens[new], value, self.receivables[src.rid], self.consumed, from_token, new))
            return new

        def _hand_over(self, token: int, to: str) -> None:
            t = self.tokens[token]
            self._book(t.holder, units=-(t.value - t.paid))
            self._book(to, units=t.value - t.paid)
            t.holder = to
            t.epoch += 1

        def _moving(self, src: Tok, dst: Tok, move) -> None:
            """Run `move` (value from `src` to `dst`, by the rounding rule) and book the unpaid
            value it moved: from src's holder to dst's, and a rounding unit charged to neither
            to the obligor, whose remainder it is (released to it once Settled)."""
            r = self.receivables[src.rid]
            before = (src.value - src.paid, dst.value - dst.paid, r.remainder)
            move()
            self._book(src.holder, units=(src.value - src.paid) - before[0])
            self._book(dst.holder, units=(dst.value - dst.paid) - before[1])
            self._book(r.obligor, units=r.remainder - before[2])

        def _book(self, who: str, *, cash: int = 0, units: int = 0) -> None:
            """Book currency (+ received, − paid) and unpaid value (+ gained, − given) to `who`
            by the model's terms (see Books)."""
            b = self.books[who]
            b.cash += cash
            b.units += units

        def _position(self, who: str) -> int:
            """What `who` has on the chain (as the model, equal to it, says): its cash balance's
            change since the start, plus the unpaid value it holds, less what it owes as obligor."""
            held = sum(t.value - t.paid for t in self.tokens.values() if t.holder == who)
            owed = sum(r.face - r.repaid - r.remainder for r in self.receivables.values()
                       if r.obligor == who and r.state not in DEAD)  # its remainder comes back to it
            return self.cash[who] - self.cash_at_start[who] + held - owed

        def _now(self) -> int:
            return w.now()

        def _near(self, moment: int) -> bool:
            return abs(self._now() - moment) < MARGIN

        def _overdue_at(self, r: Rec) -> int:
            """Maturity + grace + the time paused since issue (a pause never shortens the grace)."""
            return r.maturity + self.lines[r.line].grace + self.paused_time - r.paused_at_issue

        def _counted(self, asset_id: int, now: int) -> tuple[int, int]:
            live = [(v, u) for _, v, u in self.assets[asset_id].appraisals if u > now]
            if not live:
                return 0, 0
            value = min(v for v, _ in live)
            return value, max(u for v, u in live if v == value)

        def _pledged_to(self, line_id: int) -> list[int]:
            return [g.asset for g in self.pledges.values() if g.state == PledgeState.ACTIVE and g.line == line_id]

        def _used(self, line_id: int) -> int:
            return sum(r.face - r.repaid for r in self.receivables.values()
                       if r.line == line_id and r.state not in DEAD)

        def _live_tokens(self, rid: int) -> list[int]:
            return [t for t, v in self.tokens.items() if v.rid == rid]

        # -- membership ----------------------------------------------------------------------
        @precondition(lambda self: self.started)
        @rule(data=st.data())
        def toggle_role(self, data):
            who = data.draw(st.sampled_from([a for a in parties if a.address in mutable]), label="account").address
            outsider = data.draw(st.sampled_from(actors), label="not an operator")
            self._refused(AccessControlUnauthorizedAccount, led.grant_role, outsider, mutable[who][0], who)
            self._refused(MembershipNotMember, led.grant_role, p.operator, Role.SUPPLIER, p.outsider)
            role = mutable[who][0]
            if not self._member(who):
                self._refused(MembershipNotMember, led.grant_role, p.operator, role, who)
            elif self._has(who, role):
                led.revoke_role(p.operator, role, who)
                self.roles[who].remove(role)
            else:
                led.grant_role(p.operator, role, who)
                self.roles[who].append(role)

        @precondition(lambda self: self.started)
        @rule(data=st.data())
        def expel_or_readmit(self, data):
            who = data.draw(st.sampled_from([a for a in parties if a.address in mutable]), label="account").address
            if self._member(who):
                led.expel(p.operator, who)
                self.roles[who] = []
            else:
                led.admit(p.operator, who, mutable[who])
                self.roles[who] = [Role.MEMBER, *mutable[who]]

        @precondition(lambda self: self.started)
        @rule(data=st.data())
        def pause_stops_every_change(self, data):
            self._refused(AccessControlUnauthorizedAccount, led.pause, data.draw(st.sampled_from(actors), label="actor"))
            self._refused(ExpectedPause, led.unpause, p.operator)
            led.pause(p.operator)
            try:
                self._refused(EnforcedPause, led.pause, p.operator)
                token = self._pick(data, self.tokens, "token")
                if token is not None:
                    t = self.tokens[token]
                    self._refused(EnforcedPause, led.split, by_address[t.holder], token, p.tier2, 1)
                    self._refused(EnforcedPause, led.transfer, by_address[t.holder], token, p.tier2)
                    self._refused(EnforcedPause, led.claim, by_address[t.holder], token)
                    self._refused(EnforcedPause, led.mark_overdue, p.outsider, t.rid)
                    self._refused(EnforcedPause, led.release_remainder, p.outsider, t.rid)
                    # Paying a debt down goes on (the pause policy: an obligor can always cure).
                    self.repay(data, data.draw(st.floats(0.0, 1.1), label="share"), p.core, True, rid=t.rid)
                self._refused(EnforcedPause, led.issue, p.core, p.tier1, line_id=w.line_id, currency=w.cash,
                              face_value=1, maturity=self._now() + 30 * DAY, document_hash=os.urandom(32))
                # One pause for every contract: Factoring and the registry stop too, first thing.
                offer_id = self._pick(data, self.offers, "offer")
                if offer_id is not None:
                    o = self.offers[offer_id]
                    self._refused(EnforcedPause, led.cancel_offer, by_address[o.seller], offer_id)
                    self._refused(EnforcedPause, led.accept_offer, p.bank, offer_id, approve=False)
                    self._refused(EnforcedPause, led.exercise_recourse, p.bank, offer_id)
                    self._refused(EnforcedPause, led.pay_recourse, by_address[o.seller], offer_id, approve=False)
                asset_id = self._pick(data, self.assets, "asset")
                if asset_id is not None:
                    self._refused(EnforcedPause, led.pledge, by_address[self.assets[asset_id].owner], asset_id,
                                  w.line_id)
                    self._refused(EnforcedPause, led.release, p.bank, asset_id)
                    self._refused(EnforcedPause, led.foreclose, p.bank, asset_id, 1)
                    self._refused(EnforcedPause, led.redeem_data_asset, p.outsider, asset_id)
                if data.draw(st.booleans(), label="time passes while paused"):
                    w.advance(data.draw(st.integers(1, 3 * DAY), label="paused for"))
            finally:
                led.unpause(p.operator)
                self.paused_time = led.paused_time()

        # -- credit lines --------------------------------------------------------------------
        @precondition(lambda self: self.started and len(self.lines) < 4)
        @rule(financier=st.sampled_from(financiers + [p.tier1]), obligor=st.sampled_from([p.core, p.core2, p.tier2]),
              limit=st.integers(0, 2 * LINE_LIMIT), days=st.integers(-1, 400), grace=st.integers(0, 10))
        def grant_line(self, financier, obligor, limit, days, grace):
            expiry = self._now() + days * DAY
            grant = lambda: led.grant_credit_line(financier, obligor, w.cash, limit, expiry, grace * DAY)  # noqa: E731
            if not self._has(financier.address, Role.FINANCIER) or not self._has(obligor.address, Role.CORE_ENTERPRISE):
                self._refused(AccessControlUnauthorizedAccount, grant)
            elif limit == 0:
                self._refused(CreditLineInvalidLimit, grant)
            elif days <= 0:
                self._refused(CreditLineInvalidExpiry, grant)
            else:
                line_id = grant().line_id
                assert line_id not in self.lines
                self.lines[line_id] = Line(financier.address, obligor.address, limit, expiry, grace * DAY)
                self.rates[line_id] = 0

        @precondition(lambda self: self.started)
        @rule(data=st.data(), limit=st.integers(1, 2 * LINE_LIMIT), days=st.integers(30, 900),
              actor=st.sampled_from(financiers + [p.core]), right=LIKELY)
        def set_terms(self, data, limit, days, actor, right):
            line_id = self._pick(data, self.lines, "line")
            line = self.lines[line_id]
            actor = by_address[line.financier] if right else actor
            expiry = self._now() + days * DAY
            if actor.address != line.financier:
                self._refused(CreditLineNotFinancier, led.set_credit_terms, actor, line_id, limit, expiry)
                return
            receipt = led.set_credit_terms(actor, line_id, limit, expiry)
            line.limit, line.expiry = limit, expiry
            assert receipt.named("CreditLineTermsChanged")

        @precondition(lambda self: self.started)
        @rule(data=st.data(), rate=st.integers(0, BPS), actor=st.sampled_from(financiers), right=LIKELY)
        def set_advance_rate(self, data, rate, actor, right):
            line_id = self._pick(data, self.lines, "line")
            actor = by_address[self.lines[line_id].financier] if right else actor
            if actor.address != self.lines[line_id].financier:
                self._refused(CreditLineNotFinancier, led.set_advance_rate, actor, line_id, rate)
                return
            led.set_advance_rate(actor, line_id, rate)
            self.rates[line_id] = rate

        # -- data assets ---------------------------------------------------------------------
        @precondition(lambda self: self.started)
        @rule(owner=st.sampled_from([provider, p.tier1, appraiser2]), value=st.integers(1, 8_000_000),
              days=st.integers(1, 60), listed=st.booleans(), data=st.data())
        def register_asset(self, owner, value, days, listed, data):
            if self.assets and data.draw(st.booleans(), label="the same content again"):
                known = self.assets[self._pick(data, self.assets, "asset")].content
                error = DataAssetDuplicateContent if self._member(owner.address) else MembershipNotMember
                self._refused(error, led.register_data_asset, owner, known)
            content = os.urandom(32)
            if not self._member(owner.address):
                self._refused(MembershipNotMember, led.register_data_asset, owner, content)
                return
            asset_id = led.register_data_asset(owner, content).asset_id
            assert asset_id not in self.assets
            self.assets[asset_id] = Asset(owner.address, content)
            self.appraise_asset(asset_id, appraiser, value, days)
            if listed:
                self.list_asset(asset_id, exchange)
                if data.draw(st.booleans(), label="pledge it now"):
                    self.pledge(data, p.outsider, True, asset_id=asset_id)

        def appraise_asset(self, asset_id, appraiser, value, days):
            a = self.assets[asset_id]
            until = self._now() + days * DAY
            now = self._now()
            if a.owner == appraiser.address:
                self._refused(DataAssetSelfAppraisal, led.appraise, appraiser, asset_id, report_hash=os.urandom(32),
                              value=value, valid_until=until)
                return
            live = [u for _, _, u in a.appraisals if u > now]
            own = any(who == appraiser.address for who, _, u in a.appraisals if u > now or self._near(u))
            # An appraiser's new appraisal replaces its own live one; others need a free slot.
            if len(live) == LIVE_APPRAISALS and not own and not any(self._near(u) for u in live):
                self._refused(DataAssetTooManyAppraisals, led.appraise, appraiser, asset_id,
                              report_hash=os.urandom(32), value=value, valid_until=until)
                return
            try:
                receipt = led.appraise(appraiser, asset_id, report_hash=os.urandom(32), value=value,
                                       valid_until=until).receipt
            except DataAssetTooManyAppraisals:
                assert len(live) == LIVE_APPRAISALS and not own, "refused an appraisal with a free slot"
                return
            ts = w.chain.w3.eth.get_block(receipt.block_number)["timestamp"]
            a.appraisals = [x for x in a.appraisals if x[2] > ts and x[0] != appraiser.address] + [
                (appraiser.address, value, until)]

        @precondition(lambda self: getattr(self, "assets", None))
        @rule(data=st.data(), value=st.integers(1, 8_000_000), days=st.integers(1, 60),
              appraiser=st.sampled_from([appraiser, appraiser2, p.tier1]))
        def appraise(self, data, value, days, appraiser):
            asset_id = self._pick(data, self.assets, "asset")
            if not self._has(appraiser.address, Role.APPRAISER):
                self._refused(AccessControlUnauthorizedAccount, led.appraise, appraiser, asset_id,
                              report_hash=os.urandom(32), value=value, valid_until=self._now() + DAY)
                return
            self.appraise_asset(asset_id, appraiser, value, days)

        def list_asset(self, asset_id, exchange):
            a = self.assets[asset_id]
            if a.listed:
                self._refused(DataAssetAlreadyListed, led.list_data_asset, exchange, asset_id, b"L".ljust(32, b"\0"))
                return
            led.list_data_asset(exchange, asset_id, b"L".ljust(32, b"\0"))
            a.listed = True

        @precondition(lambda self: getattr(self, "assets", None))
        @rule(data=st.data())
        def list_(self, data):
            self.list_asset(self._pick(data, self.assets, "asset"), exchange)

        @precondition(lambda self: getattr(self, "assets", None))
        @rule(data=st.data(), actor=st.sampled_from([provider, p.tier1, p.bank]), right=LIKELY)
        def pledge(self, data, actor, right, asset_id=None, line_id=None):
            asset_id = asset_id or self._pick(data, self.assets, "asset")
            line_id = line_id or self._pick(data, self.lines, "line")
            a = self.assets[asset_id]
            actor = by_address[a.owner] if right else actor
            value, _ = self._counted(asset_id, self._now())
            pledge = lambda: led.pledge(actor, asset_id, line_id)  # noqa: E731
            if a.owner != actor.address:
                self._refused(DataAssetNotOwner, pledge)
            elif not self._member(actor.address):
                self._refused(MembershipNotMember, pledge)
            elif not a.listed:
                self._refused(DataAssetNotListed, pledge)
            elif any(self._near(u) for _, _, u in a.appraisals):
                return  # an appraisal expires about now: whether it counts depends on the next block
            elif value == 0:
                self._refused(DataAssetNotAppraised, pledge)
            elif a.pledge:
                self._refused(DataAssetAlreadyPledged, pledge)
            elif a.held:
                self._refused(DataAssetHeldInForeclosure, pledge)
            elif not self._has(self.lines[line_id].financier, Role.FINANCIER):
                self._refused(AccessControlUnauthorizedAccount, pledge)
            elif len(self._pledged_to(line_id)) >= PLEDGES_PER_LINE:
                self._refused(DataAssetLineFull, pledge)
            else:
                pledge_id = pledge().pledge_id
                assert pledge_id not in self.pledges
                self.pledges[pledge_id] = Plg(asset_id, line_id, self.lines[line_id].financier, owner=actor.address,
                                              value=value)
                a.pledge = pledge_id

        @precondition(lambda self: getattr(self, "assets", None))
        @rule(data=st.data(), actor=st.sampled_from(financiers), right=LIKELY)
        def release(self, data, actor, right):
            asset_id = self._pick(data, self.assets, "asset")
            a = self.assets[asset_id]
            if not a.pledge:
                self._refused(DataAssetNotPledged, led.release, actor, asset_id)
                return
            g = self.pledges[a.pledge]
            actor = by_address[g.financier] if right else actor
            if g.financier != actor.address:
                self._refused(DataAssetNotPledgee, led.release, actor, asset_id)
                return
            try:
                receipt = led.release(actor, asset_id)
            except CreditLineCollateralShortfall as error:
                # Refused only if the line would use more than its limit without the asset.
                assert error.used > error.limit and error.used == self._used(g.line)
                return
            line = led.credit_line(g.line, block=receipt.block_number)
            assert line.used <= true_effective_limit(led, g.line, receipt.block_number)
            g.state = PledgeState.RELEASED
            a.pledge = 0

        @precondition(lambda self: getattr(self, "assets", None))
        @rule(data=st.data(), actor=st.sampled_from(financiers), right=LIKELY)
        def foreclose(self, data, actor, right, asset_id=None):
            """Foreclosure against the pledgee's own exposure on one voucher it holds: value −
            paid − claimable, less what earlier foreclosures against the receivable recovered."""
            asset_id = asset_id or self._pick(data, self.assets, "asset")
            a = self.assets[asset_id]
            if not a.pledge or not self.receivables:
                return
            g = self.pledges[a.pledge]
            actor = by_address[g.financier] if right else actor
            # Mostly a voucher the pledgee holds of a defaulted receivable of the pledge's line.
            live = {t: k for t, k in self.tokens.items() if k.status != VoucherStatus.PENDING}
            own = [t for t, k in live.items() if k.holder == actor.address and self.receivables[k.rid].line == g.line]
            good = [t for t in own if self.receivables[live[t].rid].state == ReceivableState.DEFAULTED]
            token = self._pick(data, (good or own) if own and right else live, "voucher")
            if token is None:
                return
            t = live[token]
            rid, r = t.rid, self.receivables[t.rid]
            call = lambda: led.foreclose(actor, asset_id, token)  # noqa: E731
            if g.financier != actor.address:
                self._refused(DataAssetNotPledgee, call)
                return
            if t.holder != actor.address:
                self._refused(DataAssetNotVoucherHolder, call)
                return
            if r.line != g.line:
                self._refused(DataAssetReceivableLineMismatch, call)
                return
            if r.state != ReceivableState.DEFAULTED:
                self._refused(DataAssetReceivableNotDefaulted, call)
                return
            due = min(max(0, t.value * r.repaid // r.face - t.paid), r.repaid - r.claimed)
            exposure, already = t.value - t.paid - due, self.recovered.get(rid, 0)
            if exposure <= already:
                self._refused(DataAssetExposureCovered, call)
                return
            cited = {g2.token for g2 in self.pledges.values()
                     if g2.state == PledgeState.FORECLOSED and g2.rid == rid}  # assets held against rid
            if already and token not in cited:
                self._refused(DataAssetOtherVoucherCited, call)
                return
            made = call()  # valued as pledged: no appraisal since (or its lapse) can refuse or move it
            assert made.value == g.value > 0, (made.value, g.value)
            assert made.recovered == min(made.value, exposure - already), (made, exposure, already)
            assert made.recovered <= exposure - already  # never more than the defaulted value left
            g.state, g.rid, g.token, g.recovered = PledgeState.FORECLOSED, rid, token, made.recovered
            self.recovered[rid] = already + made.recovered
            a.pledge, a.owner, a.held = 0, actor.address, made.pledge_id

        @precondition(lambda self: getattr(self, "assets", None))
        @rule(data=st.data(), actor=st.sampled_from([p.outsider, provider, p.bank]))
        def redeem(self, data, actor, asset_id=None):
            """A foreclosed asset returns to its pledgor once no longer needed (anyone)."""
            held = [x for x, a in self.assets.items() if a.held]
            asset_id = asset_id or self._pick(data, held or self.assets, "asset")
            a = self.assets[asset_id]
            call = lambda: led.redeem_data_asset(actor, asset_id)  # noqa: E731
            if not a.held:
                self._refused(DataAssetNotForeclosed, call)
                return
            g = self.pledges[a.held]
            t, r = self.tokens.get(g.token), self.receivables[g.rid]
            exposure = 0
            if t is not None and t.holder == g.financier and t.status != VoucherStatus.NONE:
                due = min(max(0, t.value * r.repaid // r.face - t.paid), r.repaid - r.claimed)
                exposure = t.value - t.paid - due
            if exposure > self.recovered[g.rid] - g.recovered:
                self._refused(DataAssetStillSecuring, call)
                return
            call()
            g.state = PledgeState.RETURNED
            self.recovered[g.rid] -= g.recovered
            a.owner, a.held = g.owner, 0

        # -- receivables ---------------------------------------------------------------------
        @precondition(lambda self: self.started)
        @rule(data=st.data(), extra=st.integers(-3_000_000, 500_000), days=st.integers(5, 90),
              other_obligor=st.integers(0, 5), supplier=st.sampled_from(suppliers * 3 + [p.bank]),
              accept=st.integers(0, 3))
        def issue(self, data, extra, days, other_obligor, supplier, accept):
            line_id = self._pick(data, self.lines, "line")
            line = self.lines[line_id]
            # Mostly the line's own obligor (else CreditLineObligorMismatch), mostly accepted.
            obligor = by_address[line.obligor] if other_obligor else (p.core2 if line.obligor == p.core.address else p.core)
            if self.receivables and data.draw(st.integers(0, 3), label="documents of another") == 0:
                self.issue_with_used_documents(data, supplier)
            self._issue(line_id, max(1, led.credit_available(line_id) + extra), days, obligor, supplier, accept)

        def _issue(self, line_id, face, days, obligor, supplier, accept, doc=None):
            line = self.lines[line_id]
            available = led.credit_available(line_id)
            now = self._now()
            doc = doc or os.urandom(32)
            issue = lambda: led.issue(obligor, supplier, line_id=line_id, currency=w.cash,  # noqa: E731
                                      face_value=face, maturity=now + days * DAY, document_hash=doc)
            collateral = led.collateral(line_id)
            if not self._has(obligor.address, Role.CORE_ENTERPRISE):
                self._refused(AccessControlUnauthorizedAccount, issue)
                return
            if not self._has(supplier.address, Role.SUPPLIER):
                self._refused(AccessControlUnauthorizedAccount, issue)
                return
            live = self._backing(obligor.address, doc)
            if live:  # the duplicate-financing guard, per obligor (checked before the line is drawn)
                error = self._refused(ReceivableDuplicateDocument, issue)
                assert error.receivable_id == live
                return
            if line.obligor != obligor.address:
                self._refused(CreditLineObligorMismatch, issue)
                return
            if now + MARGIN < line.expiry and face > available and not self._near(collateral.valid_until):
                self._refused(CreditLineInsufficient, issue)
                return
            if now >= line.expiry:
                self._refused(CreditLineExpired, issue)
                return
            try:
                issued = issue()
            except (CreditLineInsufficient, CreditLineExpired) as error:
                assert self._near(collateral.valid_until) or self._near(line.expiry), repr(error)
                return
            (drawn,) = issued.receipt.named("CreditLineDrawn")
            # The effective limit, from the appraisals themselves, is never exceeded by an issue.
            assert drawn.args["used"] <= true_effective_limit(led, line_id, issued.receipt.block_number)
            rid, token = issued.receivable_id, issued.token_id
            assert rid not in self.receivables and token not in self.tokens
            self.receivables[rid] = Rec(obligor.address, supplier.address, line_id, face, now + days * DAY, doc, token,
                                        paused_at_issue=self.paused_time)
            self.tokens[token] = Tok(supplier.address, rid, VoucherStatus.PENDING, face)
            self._book(supplier.address, units=face)  # owed for the goods it delivered
            self._book(obligor.address, units=-face)
            if accept:
                self.accept_receivable(rid, supplier)

        def _backing(self, obligor: str, doc: bytes) -> int:
            """The live receivable of `obligor` that `doc` backs, or 0 (the guard is per obligor)."""
            return next((rid for rid, r in self.receivables.items()
                         if r.obligor == obligor and r.doc == doc and r.state not in DEAD), 0)

        @precondition(lambda self: self.started)
        @rule(data=st.data(), supplier=st.sampled_from(suppliers), face=st.integers(1, 200_000),
              leave_pending=LIKELY)
        def adversary_squats_a_fingerprint(self, data, supplier, face, leave_pending):
            """An adversary core enterprise front-runs an obligor's fingerprint (seen in the mempool)
            with a 1-unit receivable its colluding supplier leaves pending, or cites the fingerprint
            of another obligor's live receivable: neither blocks the obligor's own issue, and the
            obligor still cannot issue twice on it."""
            victim_line = self._pick(data, self.lines, "victim's line")
            victim = by_address[self.lines[victim_line].obligor]
            others = [x for x, line in self.lines.items() if line.obligor != victim.address]
            if not others:
                return
            squat_line = self._pick(data, others, "squatter's line")
            squatter = by_address[self.lines[squat_line].obligor]
            used = [r.doc for r in self.receivables.values() if r.obligor == victim.address]
            doc = os.urandom(32)
            if used and data.draw(st.booleans(), label="a fingerprint already on chain"):
                doc = data.draw(st.sampled_from(used), label="doc")
            self._issue(squat_line, 1, 5, squatter, p.tier3, not leave_pending, doc=doc)
            self._issue(victim_line, face, 30, victim, supplier, True, doc=doc)
            self._issue(victim_line, face, 30, victim, supplier, True, doc=doc)  # the guard holds

        def issue_with_used_documents(self, data, supplier):
            rid = self._pick(data, self.receivables, "receivable")
            r = self.receivables[rid]
            obligor = by_address[r.obligor]
            issue = lambda: led.issue(obligor, supplier, line_id=r.line, currency=w.cash, face_value=1,  # noqa: E731
                                      maturity=self._now() + 30 * DAY, document_hash=r.doc)
            if r.state in DEAD or not self._has(r.obligor, Role.CORE_ENTERPRISE) \
                    or not self._has(supplier.address, Role.SUPPLIER):
                return  # a cancelled receivable frees its documents: that is the issue rule's business
            error = self._refused(ReceivableDuplicateDocument, issue)
            assert error.receivable_id == rid

        def accept_receivable(self, rid, actor):
            r = self.receivables[rid]
            if r.state != ReceivableState.PENDING:
                self._refused(ReceivableNotPending, led.accept, actor, rid)
            elif actor.address != r.supplier:
                self._refused(ReceivableNotSupplier, led.accept, actor, rid)
            else:
                led.accept(actor, rid)
                r.state = ReceivableState.ACTIVE
                self.tokens[r.root].status = VoucherStatus.ACTIVE

        @precondition(lambda self: getattr(self, "receivables", None))
        @rule(data=st.data(), actor=st.sampled_from(suppliers + [p.core, p.core2]),
              what=st.sampled_from(["accept", "reject", "revoke"]), right=LIKELY)
        def answer_receivable(self, data, actor, what, right):
            rid = self._pick(data, self.receivables, "receivable")
            r = self.receivables[rid]
            if right:
                actor = by_address[r.obligor if what == "revoke" else r.supplier]
            if what == "accept":
                self.accept_receivable(rid, actor)
                return
            call = led.reject if what == "reject" else led.revoke
            party = r.supplier if what == "reject" else r.obligor
            if r.state != ReceivableState.PENDING:
                self._refused(ReceivableNotPending, call, actor, rid)
            elif actor.address != party:
                self._refused(ReceivableNotSupplier if what == "reject" else ReceivableNotObligor, call, actor, rid)
            else:
                call(actor, rid)
                r.state = ReceivableState.REJECTED if what == "reject" else ReceivableState.REVOKED
                del self.tokens[r.root]
                self._book(r.supplier, units=-r.face)
                self._book(r.obligor, units=r.face)
                self.token_approvals.pop(r.root, None)

        # -- vouchers ------------------------------------------------------------------------
        def _movable(self, token: int) -> type[ContractError] | None:
            status = self.tokens[token].status
            return None if status == VoucherStatus.ACTIVE else VoucherNotActive

        @precondition(lambda self: getattr(self, "tokens", None))
        @rule(data=st.data(), share=st.floats(0.0, 1.2), to=st.sampled_from(holders + [p.outsider]),
              by_holder=LIKELY, actor=st.sampled_from(actors))
        def split(self, data, share, to, by_holder, actor):
            token = self._pick(data, self.tokens, "token")
            t = self.tokens[token]
            actor = by_address[t.holder] if by_holder else actor
            value = max(1, int(t.value * share))
            split = lambda: led.split(actor, token, to, value)  # noqa: E731
            if self._movable(token):
                self._refused(VoucherNotActive, split)
                return
            saved = dict(self.allowances)
            error = self._spend(actor.address, token, value)
            if error is None and value > t.value:
                error = VoucherInsufficientValue
            elif error is None and not self._member(t.holder):
                error = MembershipNotMember
            elif error is None and not self._member(to.address):
                error = MembershipNotMember
            if error:
                self.allowances = saved
                self._refused(error, split)
                return
            receipt = split().receipt
            self._new_token(receipt, token, to.address, value, VoucherStatus.ACTIVE)

        @precondition(lambda self: getattr(self, "tokens", None))
        @rule(data=st.data(), share=st.floats(0.0, 1.2), by_holder=LIKELY, actor=st.sampled_from(actors))
        def transfer_value(self, data, share, by_holder, actor, source=None, dest=None, value=None):
            source = source or self._pick(data, self.tokens, "source")
            s = self.tokens[source]
            if dest is None:
                mates = [u for u, v in self.tokens.items() if v.rid == s.rid]
                dest = self._pick(data, mates if data.draw(LIKELY, label="same receivable") else self.tokens, "dest")
            d = self.tokens[dest]
            actor = by_address[s.holder] if by_holder else actor
            value = value or max(1, int(s.value * share))
            move = lambda: led.transfer_value(actor, source, dest, value)  # noqa: E731
            saved = dict(self.allowances)
            error = self._movable(source) or self._movable(dest)
            if error is None and source == dest:
                error = VoucherSameToken
            elif error is None and s.rid != d.rid:
                error = VoucherSlotMismatch
            elif error is None and not self._authorized(actor.address, dest):
                error = VoucherUnsolicitedValue  # value into a voucher needs its consent
            if error is None:
                error = self._spend(actor.address, source, value)
            if error is None and value > s.value:
                error = VoucherInsufficientValue
            elif error is None and not (self._member(s.holder) and self._member(d.holder)):
                error = MembershipNotMember
            if error:
                self.allowances = saved
                refused = self._refused(error, move)
                if error is VoucherUnsolicitedValue:
                    assert (refused.operator, refused.to_token_id, refused.holder) == (actor.address, dest, d.holder)
                return
            move()
            self._moving(s, d, lambda: move_paid(s, d, value, self.receivables[s.rid], self.consumed, source, dest))

        @precondition(lambda self: getattr(self, "tokens", None))
        @rule(data=st.data(), by_holder=LIKELY, actor=st.sampled_from(actors))
        def merge(self, data, by_holder, actor):
            source = self._pick(data, self.tokens, "source")
            s = self.tokens[source]
            mates = [u for u, v in self.tokens.items() if v.rid == s.rid and u != source]
            dest = data.draw(st.sampled_from(sorted(mates) or [source]), label="dest")
            d = self.tokens[dest]
            actor = by_address[s.holder] if by_holder else actor
            merge = lambda: led.merge(actor, source, dest)  # noqa: E731
            error = self._movable(source) or self._movable(dest)
            if error is None and source == dest:
                error = VoucherSameToken
            elif error is None and s.holder != d.holder:
                error = VoucherHolderMismatch
            elif error is None and not self._authorized(actor.address, source):
                error = VoucherUnauthorized
            elif error is None and not self._member(s.holder):
                error = MembershipNotMember
            if error:
                self._refused(error, merge)
                return
            merge()
            d.value += s.value
            d.paid += s.paid
            self.consumed[dest] = self.consumed.get(dest, Fraction(0)) + self.consumed.pop(source, Fraction(0))
            del self.tokens[source]
            self.token_approvals.pop(source, None)

        @precondition(lambda self: getattr(self, "tokens", None))
        @rule(data=st.data(), to=st.sampled_from(holders + [p.outsider]), by_holder=LIKELY,
              actor=st.sampled_from(actors))
        def transfer(self, data, to, by_holder, actor):
            token = self._pick(data, self.tokens, "token")
            t = self.tokens[token]
            actor = by_address[t.holder] if by_holder else actor
            transfer = lambda: led.transfer(actor, token, to, holder=t.holder)  # noqa: E731
            error = self._movable(token)
            if error is None and not self._authorized(actor.address, token):
                error = VoucherUnauthorized
            elif error is None and not (self._member(t.holder) and self._member(to.address)):
                error = MembershipNotMember
            if error:
                self._refused(error, transfer)
                return
            transfer()
            self._hand_over(token, to.address)

        @precondition(lambda self: getattr(self, "tokens", None))
        @rule(data=st.data(), operator=st.sampled_from(actors), value=st.sampled_from([1, 1_000, 10**9, 2**200]),
              by_holder=LIKELY, actor=st.sampled_from(actors), whole=st.booleans())
        def approve(self, data, operator, value, by_holder, actor, whole):
            token = self._pick(data, self.tokens, "token")
            t = self.tokens[token]
            actor = by_address[t.holder] if by_holder else actor
            if whole:  # ERC-721: the holder or its operator only
                call = lambda: led.approve(actor, operator, token)  # noqa: E731
                allowed = actor.address == t.holder or (t.holder, actor.address) in self.operators
                error = None if allowed else VoucherUnauthorized
            else:
                call = lambda: led.approve_value(actor, token, operator.address, value)  # noqa: E731
                error = None if self._authorized(actor.address, token) else VoucherUnauthorized
            if error is None and operator.address == t.holder:
                error = VoucherInvalidOperator
            if error:
                self._refused(error, call)
                return
            call()
            if whole:
                self.token_approvals[token] = (operator.address, t.epoch)
            else:
                self.allowances[(token, operator.address)] = (min(value, UINT128_MAX), t.epoch)

        @precondition(lambda self: self.started)
        @rule(holder=st.sampled_from(holders), operator=st.sampled_from(actors), approved=st.booleans())
        def set_operator(self, holder, operator, approved):
            if holder.address == operator.address:
                self._refused(VoucherInvalidOperator, led.set_approval_for_all, holder, operator, approved)
                return
            led.set_approval_for_all(holder, operator, approved)
            (self.operators.add if approved else self.operators.discard)((holder.address, operator.address))

        # -- factoring -----------------------------------------------------------------------
        @precondition(lambda self: getattr(self, "tokens", None))
        @rule(data=st.data(), share=st.floats(0.01, 1.0), rate=st.integers(0, 3_000), recourse=st.booleans(),
              offeree=st.sampled_from([None, *financiers]), days=st.integers(1, 10), sell_now=st.booleans())
        def offer(self, data, share, rate, recourse, offeree, days, sell_now, token=None):
            token = token or self._pick(data, self.tokens, "token")
            t = self.tokens[token]
            seller = by_address[t.holder]
            value = max(1, int(t.value * share))
            r = self.receivables[t.rid]
            offer = lambda: led.offer(seller, token, value, rate_bps=rate, deadline=self._now() + days * DAY,  # noqa: E731
                                      financier=offeree, recourse=recourse)
            if offeree is not None and offeree.address == seller.address:
                self._refused(FactoringSelfDeal, offer)
            elif offeree is not None and not self._has(offeree.address, Role.FINANCIER):
                self._refused(AccessControlUnauthorizedAccount, offer)
            elif r.state == ReceivableState.ACTIVE and self._near(self._overdue_at(r)):
                return  # whether it is overdue depends on the next block's timestamp
            elif r.state == ReceivableState.ACTIVE and self._now() > self._overdue_at(r):
                # Past maturity + grace it is overdue, marked so or not.
                error = self._refused(FactoringReceivableOverdue, offer)
                assert (error.receivable_id, error.overdue_at) == (t.rid, self._overdue_at(r))
            elif self._movable(token):
                self._refused(VoucherNotActive, offer)
            elif r.state != ReceivableState.ACTIVE:
                self._refused(ReceivableNotActive, offer)
            elif t.paid >= t.value:  # fully paid out: nothing to finance
                self._refused(VoucherNothingToClaim, offer)
            elif value > t.value:
                self._refused(VoucherInsufficientValue, offer)
            elif not self._member(seller.address):
                self._refused(MembershipNotMember, offer)
            elif value < t.value and -(-t.paid * value // t.value) == value:  # the part would be paid out
                self._refused(VoucherNothingToClaim, offer)
            else:
                made = offer()
                if value == t.value:
                    assert made.token_id == token
                    t.status = VoucherStatus.LOCKED
                else:
                    new = self._new_token(made.receipt, token, seller.address, value, VoucherStatus.LOCKED)
                    assert made.token_id == new
                assert made.offer_id not in self.offers
                (created,) = made.receipt.named("OfferCreated")
                self.offers[made.offer_id] = Off(seller.address, made.token_id, value, rate, recourse,
                                                 offeree.address if offeree else ZERO,
                                                 created.args["deadline"])
                if sell_now:  # a financier takes it at once
                    self.accept_offer(data, p.tier2, True, offer_id=made.offer_id)

        @precondition(lambda self: getattr(self, "offers", None))
        @rule(data=st.data(), actor=st.sampled_from(holders), right=LIKELY)
        def cancel_offer(self, data, actor, right):
            offer_id = self._pick(data, self.offers, "offer")
            o = self.offers[offer_id]
            actor = by_address[o.seller] if right else actor
            if o.seller != actor.address:
                self._refused(FactoringNotSeller, led.cancel_offer, actor, offer_id)
            elif o.state != OfferState.OPEN:
                self._refused(FactoringOfferNotOpen, led.cancel_offer, actor, offer_id)
            else:
                led.cancel_offer(actor, offer_id)
                o.state = OfferState.CANCELLED
                if self.tokens[o.token].status == VoucherStatus.LOCKED:
                    self.tokens[o.token].status = VoucherStatus.ACTIVE

        @precondition(lambda self: getattr(self, "offers", None))
        @rule(data=st.data(), buyer=st.sampled_from(financiers + [p.tier2]), right=LIKELY,
              limits=st.sampled_from(["fair"] * 4 + ["price", "unpaid"]))
        def accept_offer(self, data, buyer, right, limits="fair", offer_id=None, min_unpaid=None):
            """A financier buys at the price of the voucher's unpaid value, within its limits:
            `fair` ones (the unpaid value now, the price MARGIN seconds from now), or one limit
            that must refuse (a price below the one now; more unpaid value than there is), or
            `min_unpaid` read earlier (the adversary claimed in between)."""
            offer_id = offer_id or self._pick(data, self.offers, "offer")
            o = self.offers[offer_id]
            if right and o.offeree != ZERO:
                buyer = by_address[o.offeree]
            elif right:
                buyer = data.draw(st.sampled_from([f for f in financiers if f.address != o.seller]), label="buyer")
            now = self._now()
            t = self.tokens.get(o.token)
            unpaid = t.value - t.paid if t else 0
            maturity = self.receivables[t.rid].maturity if t else 0
            # The price only rises with time: at mining it is between the price now and MARGIN later.
            low, high = price_of(unpaid, o.rate, maturity, now), price_of(unpaid, o.rate, maturity, now + MARGIN)
            max_price = low - 1 if limits == "price" and low > 0 else high
            if min_unpaid is None:
                min_unpaid = unpaid + 1 if limits == "unpaid" else unpaid
            accept = lambda: led.accept_offer(buyer, offer_id, max_price=max_price,  # noqa: E731
                                              min_unpaid_value=min_unpaid, approve=False)
            if o.state != OfferState.OPEN:
                self._refused(FactoringOfferNotOpen, accept)
                return
            if self._near(o.deadline):
                return  # whether it has expired depends on the next block's timestamp
            if now >= o.deadline:
                self._refused(FactoringOfferExpired, accept)
                return
            r = self.receivables[self.tokens[o.token].rid]
            error = None
            if not self._has(buyer.address, Role.FINANCIER):
                error = AccessControlUnauthorizedAccount
            elif o.seller == buyer.address:
                error = FactoringSelfDeal
            elif o.offeree != ZERO and o.offeree != buyer.address:
                error = FactoringNotOfferee
            elif r.state != ReceivableState.ACTIVE:
                error = FactoringReceivableNotActive
            elif self._near(self._overdue_at(r)):
                return  # whether it is overdue depends on the next block's timestamp
            elif now > self._overdue_at(r):
                error = FactoringReceivableOverdue  # marked so or not
            elif unpaid < min_unpaid:
                error = FactoringUnpaidValueBelowLimit
            elif max_price < low:
                error = FactoringPriceAboveLimit
            elif not (self._member(o.seller) and self._member(buyer.address)):
                error = MembershipNotMember
            if error:
                refused = self._refused(error, accept)
                if error is FactoringUnpaidValueBelowLimit:
                    assert (refused.unpaid_value, refused.min_unpaid_value) == (unpaid, min_unpaid)
                elif error is FactoringPriceAboveLimit:
                    assert refused.price >= low and refused.max_price == max_price
                return
            led.approve_cash(buyer, w.cash, led.factoring.address, max_price)
            deal = accept()
            ts = w.chain.w3.eth.get_block(deal.receipt.block_number)["timestamp"]
            # A financier pays for the unpaid value only: never for what was paid out already.
            price = price_of(unpaid, o.rate, r.maturity, ts)
            assert deal.price == price, f"the deal's price {deal.price} is not the formula's {price} on {unpaid} unpaid"
            o.state, o.offeree, o.price = OfferState.ACCEPTED, buyer.address, deal.price
            o.paid_at_deal = t.paid
            t.status = VoucherStatus.ACTIVE
            self._hand_over(o.token, buyer.address)  # books the unpaid value from seller to buyer
            self._book(buyer.address, cash=-price)  # at the model's price, not the chain's
            self._book(o.seller, cash=price)
            self.cash[buyer.address] -= deal.price
            self.cash[o.seller] += deal.price
            # What is left of the approval (max_price − price) stays with the currency: not ours.

        @precondition(lambda self: getattr(self, "offers", None))
        @rule(data=st.data(), actor=st.sampled_from(financiers), right=LIKELY)
        def exercise_recourse(self, data, actor, right, offer_id=None):
            offer_id = offer_id or self._pick(data, self.offers, "offer")
            o = self.offers[offer_id]
            actor = by_address[o.offeree] if right and o.offeree != ZERO else actor
            call = lambda: led.exercise_recourse(actor, offer_id)  # noqa: E731
            t = self.tokens.get(o.token)
            error = None
            if o.state != OfferState.ACCEPTED:
                error = FactoringNotDeal
            elif o.offeree != actor.address:
                error = FactoringNotDealFinancier
            elif not o.recourse:
                error = FactoringWithoutRecourse
            elif o.recourse_state != RecourseState.NONE:
                error = FactoringRecourseState
            elif t is None:
                return  # merged away: VoucherNonexistent, the merge's business
            elif self.receivables[t.rid].state not in (ReceivableState.OVERDUE, ReceivableState.DEFAULTED):
                error = FactoringReceivableNotOverdue
            elif t.holder != actor.address:
                error = FactoringVoucherNotHeld
            elif t.value != o.value:
                error = FactoringVoucherValueChanged
            elif t.status != VoucherStatus.ACTIVE:
                error = VoucherNotActive
            if error:
                self._refused(error, call)
                return
            receipt = call()
            ts = w.chain.w3.eth.get_block(receipt.block_number)["timestamp"]
            o.recourse_amount = max(0, o.price - max(0, t.paid - o.paid_at_deal))
            o.recourse_state = RecourseState.CLAIMED
            o.recourse_window_end = ts - self.paused_time + RECOURSE_WINDOW
            t.status = VoucherStatus.LOCKED

        @precondition(lambda self: getattr(self, "offers", None))
        @rule(data=st.data(), actor=st.sampled_from(holders), right=LIKELY)
        def pay_recourse(self, data, actor, right, offer_id=None):
            offer_id = offer_id or self._pick(data, self.offers, "offer")
            o = self.offers[offer_id]
            actor = by_address[o.seller] if right else actor
            call = lambda: led.pay_recourse(actor, offer_id, approve=False)  # noqa: E731
            if o.state != OfferState.ACCEPTED:
                self._refused(FactoringNotDeal, call)
                return
            if o.seller != actor.address:
                self._refused(FactoringNotSeller, call)
                return
            if o.recourse_state != RecourseState.CLAIMED:
                self._refused(FactoringRecourseState, call)
                return
            t = self.tokens[o.token]
            amount = max(0, o.price - max(0, t.paid - o.paid_at_deal))
            # Neither side's membership matters (an expelled seller gets the voucher back frozen).
            assert led.recourse_due(offer_id) == amount
            led.approve_cash(actor, w.cash, led.factoring.address, amount)
            call()
            o.recourse_state, o.recourse_amount = RecourseState.PAID, amount
            if t.status == VoucherStatus.LOCKED:
                t.status = VoucherStatus.ACTIVE
                self._hand_over(o.token, o.seller)
            self._book(o.seller, cash=-amount)
            self._book(o.offeree, cash=amount)
            self.cash[o.seller] -= amount
            self.cash[o.offeree] += amount

        # -- settlement ----------------------------------------------------------------------
        @precondition(lambda self: getattr(self, "receivables", None))
        @rule(data=st.data(), share=st.floats(0.0, 1.1), actor=st.sampled_from([p.core, p.core2]), right=LIKELY)
        def repay(self, data, share, actor, right, rid=None):
            rid = rid or self._pick(data, self.receivables, "receivable")
            r = self.receivables[rid]
            actor = by_address[r.obligor] if right else actor
            outstanding = r.face - r.repaid
            amount = max(1, int(outstanding * share))
            repay = lambda: led.repay(actor, rid, amount, approve=False)  # noqa: E731
            if r.state not in (ReceivableState.ACTIVE, ReceivableState.OVERDUE, ReceivableState.DEFAULTED):
                self._refused(ReceivableNotRepayable, repay)
            elif actor.address != r.obligor:
                self._refused(ReceivableNotObligor, repay)
            elif amount > outstanding:
                error = self._refused(ReceivableOverpayment, repay)
                assert (error.outstanding, error.amount) == (outstanding, amount)
            else:
                led.approve_cash(actor, w.cash, led.voucher.address, amount)
                repay()
                r.repaid += amount
                self._book(actor.address, cash=-amount, units=amount)
                if r.repaid == r.face:
                    r.state = ReceivableState.SETTLED
                self.cash[actor.address] -= amount
                self.cash[led.voucher.address] += amount

        @precondition(lambda self: getattr(self, "tokens", None))
        @rule(data=st.data(), by_holder=LIKELY, actor=st.sampled_from(actors))
        def claim(self, data, by_holder, actor, token=None):
            token = token or self._pick(data, self.tokens, "token")
            t = self.tokens[token]
            r = self.receivables[t.rid]
            actor = by_address[t.holder] if by_holder else actor
            due = min(max(0, t.value * r.repaid // r.face - t.paid), r.repaid - r.claimed)
            claim = lambda: led.claim(actor, token)  # noqa: E731
            if t.status == VoucherStatus.PENDING:
                self._refused(VoucherNotActive, claim)
            elif not self._authorized(actor.address, token):
                self._refused(VoucherUnauthorized, claim)
            elif due == 0:
                self._refused(VoucherNothingToClaim, claim)
            else:
                assert led.claimable(token) == due
                claimed = claim()
                assert claimed.amount == due
                t.paid += due
                self._book(t.holder, cash=due, units=-due)
                r.claimed += due
                self.consumed[token] = self.consumed.get(token, Fraction(0)) + due
                assert claimed.closed == (t.paid == t.value)
                if t.paid == t.value:
                    t.status = VoucherStatus.CLOSED
                self.cash[led.voucher.address] -= due
                self.cash[t.holder] += due

        @precondition(lambda self: self.started)
        @rule(data=st.data(), days=st.integers(0, 30), seconds=st.integers(0, DAY - 1), sync=st.booleans())
        def time_passes(self, data, days, seconds, sync):
            w.advance(days * DAY + seconds)
            if sync:  # anyone recounts a line's collateral once an appraisal expired
                led.sync_collateral(p.outsider, self._pick(data, self.lines, "line"))

        @precondition(lambda self: getattr(self, "receivables", None))
        @rule(data=st.data(), actor=st.sampled_from([p.outsider, p.tier1, p.bank]))
        def mark_overdue(self, data, actor, rid=None):
            rid = rid or self._pick(data, self.receivables, "receivable")
            r = self.receivables[rid]
            due_at = self._overdue_at(r)
            if r.state in (ReceivableState.OVERDUE, ReceivableState.DEFAULTED):
                led.mark_overdue(actor, rid)  # idempotent: nothing changes
            elif r.state != ReceivableState.ACTIVE:
                self._refused(ReceivableNotActive, led.mark_overdue, actor, rid)
            elif self._near(due_at):
                try:
                    led.mark_overdue(actor, rid)
                    r.state = ReceivableState.OVERDUE
                except ReceivableNotYetOverdue:
                    pass
            elif self._now() < due_at:
                error = self._refused(ReceivableNotYetOverdue, led.mark_overdue, actor, rid)
                assert error.overdue_at == due_at == led.overdue_at(rid)
            else:
                led.mark_overdue(actor, rid)
                r.state = ReceivableState.OVERDUE

        @precondition(lambda self: getattr(self, "receivables", None))
        @rule(data=st.data(), actor=st.sampled_from(financiers + [p.core]), right=LIKELY)
        def declare_default(self, data, actor, right, rid=None):
            rid = rid or self._pick(data, self.receivables, "receivable")
            r = self.receivables[rid]
            actor = by_address[self.lines[r.line].financier] if right else actor
            if r.state != ReceivableState.OVERDUE:
                self._refused(ReceivableNotOverdue, led.declare_default, actor, rid)
            elif actor.address != self.lines[r.line].financier:
                self._refused(ReceivableNotFinancier, led.declare_default, actor, rid)
            else:
                led.declare_default(actor, rid)
                r.state = ReceivableState.DEFAULTED

        def teardown(self):
            """Count the flows the example reached (printed at the end: pytest -s shows it)."""
            if self.started:
                states = {r.state for r in self.receivables.values()}
                for flow, reached in (
                    ("settled", ReceivableState.SETTLED in states),
                    ("overdue or defaulted", bool(states & {ReceivableState.OVERDUE, ReceivableState.DEFAULTED})),
                    ("factored", any(o.state == OfferState.ACCEPTED for o in self.offers.values())),
                    ("recourse paid", any(o.recourse_state == RecourseState.PAID for o in self.offers.values())),
                    ("recourse lapsed", any(o.recourse_state == RecourseState.LAPSED for o in self.offers.values())),
                    ("claimed", any(r.claimed for r in self.receivables.values())),
                    ("pledged", bool(self.pledges)),
                    ("foreclosed", any(g.state == PledgeState.FORECLOSED for g in self.pledges.values())),
                ):
                    reached_flows[flow] += bool(reached)
                reached_flows["examples"] += 1
            super().teardown()

        # -- the adversary -------------------------------------------------------------------
        # Parties that try to gain what they were not owed, with the moves an auditor found
        # (issue 13). The model says which custom error refuses each move (nothing is mined for a
        # refusal: _refused checks it); what goes through is booked, and the invariant
        # no_party_gains_what_it_was_not_owed checks that nobody ends with more than its books.
        # Other flows' adversaries (foreclosure, pauses, fingerprints, rounding) add their moves
        # here, booking what they move with _book.
        def _open_offers(self) -> list[int]:
            return [i for i, o in getattr(self, "offers", {}).items() if o.state == OfferState.OPEN]

        @precondition(lambda self: self._open_offers())
        @rule(data=st.data(), share=st.one_of(st.just(0.0), st.floats(0.0, 1.0)),
              buyer=st.sampled_from(financiers), right=LIKELY)
        def adversary_claims_before_the_acceptance(self, data, share, buyer, right):
            """The seller of an open offer sees a financier's acceptance coming, with limits read
            now (the voucher's unpaid value). The obligor repays (or not), and the seller claims on
            its locked voucher first: the acceptance is refused (FactoringUnpaidValueBelowLimit)
            if the claim took value, and in every case the seller is never paid twice."""
            offer_id = self._pick(data, self._open_offers(), "offer")
            o = self.offers[offer_id]
            t = self.tokens[o.token]
            seen = t.value - t.paid  # what the financier read before sending
            if share and self.receivables[t.rid].state == ReceivableState.ACTIVE:
                self.repay(data, share, p.outsider, True, rid=t.rid)
            self.claim(data, True, p.outsider, token=o.token)  # allowed: repaid before the sale is the seller's
            self.accept_offer(data, buyer, right, offer_id=offer_id, min_unpaid=seen)
            if t.value - t.paid < seen:
                reached_flows["a claim front-ran an acceptance"] += 1

        @precondition(lambda self: any(a.pledge for a in getattr(self, "assets", {}).values()))
        @rule(data=st.data(), share=st.floats(0.01, 1.0), sell_after=st.booleans())
        def adversary_forecloses_opportunistically(self, data, share, sell_after):
            """A line's financier (the pledgee) waits for any receivable of the line to default and
            tries to take every asset pledged to the line: holding none of it (refused:
            DataAssetNotVoucherHolder), then with a small piece it was handed (only assets that
            cover that piece: DataAssetExposureCovered for the rest); then it passes the piece on
            and keeps what it took, and anyone gets the assets back to their owners (no exposure
            left, so DataAssetStillSecuring does not hold them)."""
            pledged = [x for x, a in self.assets.items() if a.pledge]
            g = self.pledges[self.assets[self._pick(data, pledged, "asset")].pledge]
            bank = by_address[g.financier]
            rids = [x for x, r in self.receivables.items() if r.line == g.line and r.state in (
                ReceivableState.ACTIVE, ReceivableState.OVERDUE, ReceivableState.DEFAULTED)]
            rid = self._pick(data, rids, "receivable")
            if rid is None or not self._has(bank.address, Role.FINANCIER):
                return
            r = self.receivables[rid]
            if r.state != ReceivableState.DEFAULTED:
                due_at = self._overdue_at(r)
                if self._now() < due_at + MARGIN:
                    w.advance(due_at + MARGIN - self._now())
                self.mark_overdue(data, p.outsider, rid=rid)
                self.declare_default(data, p.outsider, True, rid=rid)
            if r.state != ReceivableState.DEFAULTED:
                return
            on_line = [x for x, a in self.assets.items() if a.pledge and self.pledges[a.pledge].line == g.line]
            theirs = [t for t in self._live_tokens(rid) if self.tokens[t].holder != bank.address
                      and self.tokens[t].status != VoucherStatus.PENDING]
            if not theirs:
                return
            for asset_id in on_line:  # holding none of the defaulted value: nothing to take
                self._refused(DataAssetNotVoucherHolder, led.foreclose, bank, asset_id, theirs[0])
            source = next((t for t in theirs if self._movable(t) is None and self._member(self.tokens[t].holder)
                           and self.tokens[t].value > self.tokens[t].paid), None)
            if source is None:
                return
            s = self.tokens[source]
            value = max(1, int(s.value * share))
            receipt = led.split(by_address[s.holder], source, bank, value).receipt
            piece = self._new_token(receipt, source, bank.address, value, VoucherStatus.ACTIVE)
            taken = []
            for asset_id in on_line:  # the model refuses what the piece's exposure does not need
                self.foreclose(data, bank, True, asset_id=asset_id)
                if self.assets[asset_id].held and self.pledges[self.assets[asset_id].held].token == piece:
                    taken.append(asset_id)
            credited = sum(self.pledges[self.assets[x].held].recovered for x in taken)
            assert credited <= self.recovered.get(rid, 0)
            t = self.tokens[piece]
            due = min(max(0, t.value * r.repaid // r.face - t.paid), r.repaid - r.claimed)
            assert credited <= t.value - t.paid - due, "took more than the defaulted value it bears"
            if taken:
                reached_flows["an opportunistic foreclosure was held to its exposure"] += 1
            if sell_after and taken and self._member(p.tier2.address) and self._movable(piece) is None:
                led.transfer(bank, piece, p.tier2)
                self._hand_over(piece, p.tier2.address)
                for asset_id in taken:
                    self.redeem(data, p.outsider, asset_id=asset_id)
                    assert not self.assets[asset_id].held, "an asset kept after its exposure was passed on"

        @precondition(lambda self: getattr(self, "tokens", None))
        @rule(data=st.data(), consented=st.integers(0, 4))
        def adversary_pushes_dust(self, data, consented):
            """A holder pushes 1 unit into another party's voucher of the same receivable, mostly a
            deal's voucher (to block its recourse, which needs the deal's value): refused with
            VoucherUnsolicitedValue unless the victim made it its operator or approved the voucher
            to it (then it is a gift, booked as one)."""
            deals = [o.token for o in self.offers.values() if o.state == OfferState.ACCEPTED and o.token in self.tokens]
            dest = self._pick(data, deals if deals and data.draw(LIKELY, label="a deal's voucher") else self.tokens,
                              "victim's voucher")
            d = self.tokens[dest]
            sources = [u for u, v in self.tokens.items() if v.rid == d.rid and v.holder != d.holder
                       and v.status == VoucherStatus.ACTIVE and v.value > 1]
            if not sources:
                return
            source = self._pick(data, sources, "adversary's voucher")
            adversary = by_address[self.tokens[source].holder]
            if consented == 0 and d.holder != adversary.address:  # now and then the victim consents
                led.set_approval_for_all(by_address[d.holder], adversary, True)
                self.operators.add((d.holder, adversary.address))
            self.transfer_value(data, 0.0, True, adversary, source=source, dest=dest, value=1)

        @precondition(lambda self: getattr(self, "offers", None))
        @rule(data=st.data(), actor=st.sampled_from(financiers + [p.tier1]), right=LIKELY)
        def end_recourse(self, data, actor, right, offer_id=None):
            """The seller stays silent: past the window the financier ends the recourse and keeps
            its voucher, unlocked, the unpaid recourse recorded; before, FactoringRecourseWindowOpen."""
            offer_id = offer_id or self._pick(data, self.offers, "offer")
            o = self.offers[offer_id]
            actor = by_address[o.offeree] if right and o.offeree != ZERO else actor
            call = lambda: led.end_recourse(actor, offer_id)  # noqa: E731
            ends_at = o.recourse_window_end + self.paused_time
            if o.state != OfferState.ACCEPTED:
                self._refused(FactoringNotDeal, call)
            elif o.offeree != actor.address:
                self._refused(FactoringNotDealFinancier, call)
            elif o.recourse_state != RecourseState.CLAIMED:
                self._refused(FactoringRecourseState, call)
            elif self._near(ends_at):
                return  # whether the window is over depends on the next block's timestamp
            elif self._now() <= ends_at:
                error = self._refused(FactoringRecourseWindowOpen, call)
                assert (error.offer_id, error.ends_at) == (offer_id, ends_at) and led.recourse_ends_at(offer_id) == ends_at
            else:
                t = self.tokens[o.token]
                unpaid = max(0, o.price - max(0, t.paid - o.paid_at_deal))
                lapsed = call().named("RecourseLapsed")[0].args
                assert (lapsed["amount"], lapsed["seller"], lapsed["financier"]) == (unpaid, o.seller, o.offeree)
                o.recourse_state, o.recourse_amount = RecourseState.LAPSED, unpaid
                if t.status == VoucherStatus.LOCKED:
                    t.status = VoucherStatus.ACTIVE  # it stays with the financier: nothing is booked

        @precondition(lambda self: getattr(self, "receivables", None))
        @rule(data=st.data(), late=st.integers(1, 3 * DAY), buyer=st.sampled_from(financiers))
        def adversary_sells_past_due(self, data, late, buyer):
            """A holder offers value of a receivable past maturity + grace that no one marked
            Overdue (to sell it at par: no discount left), and a financier tries to buy an offer
            of it made earlier: both refused with FactoringReceivableOverdue."""
            active = [rid for rid, r in self.receivables.items() if r.state == ReceivableState.ACTIVE]
            rid = self._pick(data, active, "receivable")
            if rid is None:
                return
            r = self.receivables[rid]
            due_at = self._overdue_at(r)
            if self._now() < due_at + MARGIN:
                w.advance(due_at + MARGIN - self._now() + late)
            for token in [u for u, v in self.tokens.items() if v.rid == rid and v.status == VoucherStatus.ACTIVE][:2]:
                self.offer(data, 0.5, 1_000, False, None, 5, False, token=token)
            for offer_id in [i for i, o in self.offers.items()
                             if o.state == OfferState.OPEN and self.tokens[o.token].rid == rid][:2]:
                self.accept_offer(data, buyer, True, offer_id=offer_id)

        # -- whole flows -----------------------------------------------------------------------
        # A receivable's end needs many steps in a row; these rules take one there through the
        # same checked operations as above, so that most examples reach it.
        @precondition(lambda self: getattr(self, "receivables", None))
        @rule(data=st.data(), share=st.one_of(st.just(1.0), st.floats(0.0, 1.0)))
        def repay_and_claim_all(self, data, share):
            rid = self._pick(data, self.receivables, "receivable")
            self.repay(data, share, p.outsider, True, rid=rid)
            for token in self._live_tokens(rid):
                if self.tokens[token].status != VoucherStatus.PENDING:
                    self.claim(data, True, p.outsider, token=token)

        @precondition(lambda self: getattr(self, "receivables", None))
        @rule(data=st.data(), late=st.integers(1, 20 * DAY), default=LIKELY)
        def default_and_recover(self, data, late, default):
            sold = {self.tokens[o.token].rid for o in self.offers.values()
                    if o.state == OfferState.ACCEPTED and o.recourse and o.token in self.tokens}
            rid = self._pick(data, sold if sold and data.draw(LIKELY, label="one factored with recourse") else
                             self.receivables, "receivable")
            r = self.receivables[rid]
            if r.state not in (ReceivableState.ACTIVE, ReceivableState.OVERDUE, ReceivableState.DEFAULTED):
                return
            active = [t for t in self._live_tokens(rid) if self.tokens[t].status == VoucherStatus.ACTIVE]
            if rid not in sold and active and r.state == ReceivableState.ACTIVE \
                    and data.draw(st.booleans(), label="factor a piece with recourse first"):
                self.offer(data, 0.5, 1_000, True, None, 5, True, token=self._pick(data, active, "token"))
            free = [a for a, asset in self.assets.items() if asset.listed and not asset.pledge]
            if free and data.draw(st.booleans(), label="pledge an asset to its line first"):
                self.pledge(data, p.outsider, True, asset_id=self._pick(data, free, "asset"), line_id=r.line)
            due_at = self._overdue_at(r)
            if self._now() < due_at + MARGIN:
                w.advance(due_at + MARGIN - self._now() + late)
            self.mark_overdue(data, p.outsider, rid=rid)
            if default:
                self.declare_default(data, p.outsider, True, rid=rid)
            for offer_id, o in sorted(self.offers.items()):
                if o.state == OfferState.ACCEPTED and o.recourse and self.tokens.get(o.token, Tok("", 0, 0, 0)).rid == rid:
                    self.exercise_recourse(data, p.outsider, True, offer_id=offer_id)
                    if data.draw(LIKELY, label="the seller pays"):
                        self.pay_recourse(data, p.outsider, True, offer_id=offer_id)
                    elif self.offers[offer_id].recourse_state == RecourseState.CLAIMED:  # silence
                        w.advance(self.offers[offer_id].recourse_window_end + self.paused_time + MARGIN - self._now())
                        self.end_recourse(data, p.outsider, True, offer_id=offer_id)
            for asset_id, a in sorted(self.assets.items()):
                if a.pledge and self.pledges[a.pledge].line == r.line:
                    self.foreclose(data, p.outsider, True, asset_id=asset_id)

        # The money flows need several steps in a row (issue, offer, accept, time, overdue,
        # recourse; repay, claim): their rules are drawn twice as often as the others.
        repay_ = repay
        claim_ = claim
        time_passes_ = time_passes
        offer_ = offer
        accept_offer_ = accept_offer

        # -- invariants ----------------------------------------------------------------------
        @invariant()
        def chain_equals_model(self):
            if not self.started:
                return
            tokens, rids, offers = sorted(self.tokens), sorted(self.receivables), sorted(self.offers)
            lines, assets, pledges = sorted(self.lines), sorted(self.assets), sorted(self.pledges)
            holders_ = self._cash_holders()
            f, lf, af = led.voucher.functions, led.credit_lines.functions, led.data_assets.functions
            block = w.chain.w3.eth.get_block("latest")
            calls = ([f.voucherOf(t) for t in tokens] + [f.receivableOf(r) for r in rids]
                     + [led.factoring.functions.offerOf(o) for o in offers]
                     + [led.credit_lines.functions.lineOf(x) for x in lines]
                     + [led.data_assets.functions.assetOf(a) for a in assets]
                     + [led.data_assets.functions.pledgeOf(g) for g in pledges]
                     + [led.data_assets.functions.pledgedTo(x) for x in lines]
                     + [cash.functions.balanceOf(a) for a in holders_]
                     + [f.rolesOf(a.address) for a in parties]
                     + [f.allowance(t, op) for (t, op) in sorted(self.allowances) if t in self.tokens]
                     + [f.paused()]
                     + [lf.effectiveLimit(x) for x in lines] + [lf.collateralOf(x) for x in lines]
                     + [af.appraisalsOf(a) for a in assets]
                     + [f.receivableOfDocument(self.receivables[r].obligor, self.receivables[r].doc) for r in rids]
                     + [f.overdueAt(r) for r in rids] + [f.pausedTime()])
            results = iter(views(led, calls, block["number"]))
            for token in tokens:
                holder, rid, status, value, paid, _ = next(results)
                m = self.tokens[token]
                assert (holder, rid, VoucherStatus(status), value, paid) == (m.holder, m.rid, m.status, m.value, m.paid), \
                    f"voucher {token}: chain {(holder, rid, VoucherStatus(status), value, paid)}, model {m}"
            for rid in rids:
                c = next(results)
                m = self.receivables[rid]
                got = (c[0], ReceivableState(c[3]), c[5], c[6], c[7], c[8], c[9], c[2])
                want = (m.obligor, m.state, m.line, m.root, m.face, m.repaid, m.claimed, m.maturity)
                assert got == want, f"receivable {rid}: chain {got}, model {want}"
            for offer_id in offers:
                c = next(results)
                m = self.offers[offer_id]
                got = (c[0], c[1], OfferState(c[4]), c[5], RecourseState(c[7]), c[8], c[9], c[10], c[11], c[12])
                want = (m.seller, m.token, m.state, m.offeree, m.recourse_state, m.value, m.price, m.paid_at_deal,
                        m.recourse_amount, m.recourse_window_end)
                assert got == want, f"offer {offer_id}: chain {got}, model {want}"
            for line_id in lines:
                c = next(results)
                m = self.lines[line_id]
                # Use is what was issued on the line and not repaid; cancelled issues restored.
                assert (c[0], c[1], c[3], c[4], c[5]) == (m.obligor, self._used(line_id), m.limit, m.financier,
                                                          m.expiry), f"line {line_id}: chain {c}, model {m}"
            for asset_id in assets:
                c = next(results)
                m = self.assets[asset_id]
                got = (c[0], c[2], c[3] != ZERO)
                assert got == (m.owner, m.pledge, m.listed), f"asset {asset_id}: chain {got}, model {m}"
            for pledge_id in pledges:
                c = next(results)
                m = self.pledges[pledge_id]
                assert (c[0], c[1], PledgeState(c[2]), c[4], c[5], c[7], c[8]) == (
                    m.asset, m.line, m.state, m.rid, m.recovered, m.token, m.financier), \
                    f"pledge {pledge_id}: chain {c}, model {m}"
            for line_id in lines:
                # At most one active pledge per asset, and the line lists exactly its pledged assets.
                on_line = next(results)
                assert sorted(on_line) == sorted(self._pledged_to(line_id)), f"line {line_id} lists {on_line}"
            active = [g.asset for g in self.pledges.values() if g.state == PledgeState.ACTIVE]
            assert len(active) == len(set(active)), f"an asset has two active pledges: {active}"
            for address in holders_:
                balance = next(results)
                assert balance == self.cash[address], f"cash of {address}: chain {balance}, model {self.cash[address]}"
            for account in parties:
                mask = next(results)
                assert Role.from_mask(mask) == sorted(self.roles[account.address], key=list(Role).index), \
                    f"roles of {account.address}: chain {Role.from_mask(mask)}, model {self.roles[account.address]}"
            for (token, operator) in sorted(self.allowances):
                if token in self.tokens:
                    got = next(results)
                    assert got == self._allowance(token, operator), f"allowance of {operator} on {token}: {got}"
            assert next(results) is False, "the platform was left paused"
            recorded = {x: next(results) for x in lines}
            rates = {x: next(results)[2] for x in lines}
            counted = {}
            for asset_id in assets:  # the lowest unexpired appraisal counts
                live = [a[3] for a in next(results) if a[2] > block["timestamp"]]
                counted[asset_id] = min(live, default=0)
            for x in lines:
                # What CreditLines counts never exceeds the spec's effective limit, computed here
                # from the appraisals of the assets pledged now.
                spec = min(self.lines[x].limit + sum(counted[a] for a in self._pledged_to(x)) * rates[x] // BPS,
                           UINT96_MAX)
                assert recorded[x] <= spec, f"line {x} counts {recorded[x]}, more than its effective limit {spec}"
                assert rates[x] == self.rates[x]
            for rid in rids:  # each fingerprint backs at most one live receivable of each obligor
                r = self.receivables[rid]
                got, want = next(results), self._backing(r.obligor, r.doc)
                assert got == want, f"receivable {rid}: its documents back {got} of {r.obligor} on chain, model {want}"
            for rid in rids:  # a pause never shortens a grace period
                got, want = next(results), self._overdue_at(self.receivables[rid])
                assert got == want, f"receivable {rid}: overdue at {got} on chain, model {want}"
            assert next(results) == self.paused_time

        @precondition(lambda self: getattr(self, "receivables", None))
        @rule(data=st.data(), actor=st.sampled_from(actors))
        def release_remainder(self, data, actor):
            """Anyone releases a Settled receivable's rounding remainder, to its obligor only."""
            rid = self._pick(data, self.receivables, "receivable")
            r = self.receivables[rid]
            release = lambda: led.release_remainder(actor, rid)  # noqa: E731
            if r.state != ReceivableState.SETTLED:
                self._refused(ReceivableNotSettled, release)
            elif r.remainder == 0:
                self._refused(ReceivableNoRemainder, release)
            else:
                receipt = release()
                assert receipt.named("ReceivableRemainderReleased")[0].args == {
                    "receivableId": rid, "obligor": r.obligor, "amount": r.remainder}
                r.claimed += r.remainder
                self._book(r.obligor, cash=r.remainder, units=-r.remainder)
                self.cash[led.voucher.address] -= r.remainder
                self.cash[r.obligor] += r.remainder
                r.remainder = 0

        @precondition(lambda self: getattr(self, "tokens", None))
        @rule(data=st.data(), cut=st.floats(0.01, 0.99),
              bounces=st.lists(st.tuples(st.booleans(), st.floats(0.01, 1.0)), min_size=1, max_size=6))
        def adversary_bounces_value_to_harvest_rounding(self, data, cut, bounces):
            """An adversary holder cuts a voucher in two and bounces value between the parts,
            claiming after every move, to harvest rounding (the old rule paid about one unit more
            per voucher so made): what it claims never exceeds its units' exact share rounded down."""
            token = self._pick(data, self.tokens, "token")
            t = self.tokens[token]
            holder = by_address[t.holder]
            if self._movable(token) or t.value < 2 or not self._member(t.holder):
                return
            r = self.receivables[t.rid]
            before = self.cash[holder.address]
            owed = Fraction(t.value * r.repaid, r.face) - self.consumed.get(token, Fraction(0))
            cut_value = max(1, min(t.value - 1, int(t.value * cut)))
            part = self._new_token(led.split(holder, token, holder, cut_value).receipt, token, holder.address,
                                   cut_value, VoucherStatus.ACTIVE)

            def claim_what_is_due():
                for x in (token, part):
                    v = self.tokens[x]
                    if v.status != VoucherStatus.PENDING and min(
                            max(0, v.value * r.repaid // r.face - v.paid), r.repaid - r.claimed):
                        self.claim(data, True, holder, token=x)

            for forward, share in bounces:
                claim_what_is_due()
                source, dest = (token, part) if forward else (part, token)
                s, d = self.tokens[source], self.tokens[dest]
                value = max(1, int(s.value * share))
                move = lambda: led.transfer_value(holder, source, dest, value)  # noqa: E731
                if self._movable(source) or self._movable(dest):  # a side left fully paid out: Closed
                    self._refused(VoucherNotActive, move)
                elif value > s.value:
                    self._refused(VoucherInsufficientValue, move)
                else:
                    move()
                    self._moving(s, d, lambda s=s, d=d, v=value, a=source, b=dest: move_paid(
                        s, d, v, r, self.consumed, a, b))
            claim_what_is_due()
            gained = self.cash[holder.address] - before
            assert led.cash_balance(w.cash, holder) - before == gained
            # Its units were owed exactly `owed` (nothing was repaid in between): never more.
            assert gained <= owed, f"the adversary claimed {gained} of an exact {owed}"

        @invariant()
        def nobody_is_paid_more_than_its_exact_share(self):
            """What a voucher's units were paid (carried exactly through every move) never exceeds
            their exact pro-rata share: cutting or bouncing value never harvests rounding."""
            if not self.started:
                return
            for token, t in self.tokens.items():
                r = self.receivables[t.rid]
                consumed = self.consumed.get(token, Fraction(0))
                assert consumed <= Fraction(t.value * r.repaid, r.face), \
                    f"voucher {token}'s units were paid {consumed}, more than {t.value} x {r.repaid} / {r.face}"
                assert consumed <= t.paid  # its recorded paid never undercounts what was paid on it

        @invariant()
        def value_and_money_are_conserved(self):
            if not self.started:
                return
            values: dict[int, int] = {}
            for t in self.tokens.values():
                values[t.rid] = values.get(t.rid, 0) + t.value
                assert 0 <= t.paid <= t.value
                # Closed exactly when fully paid out, wherever that arose (claims, splits, moves).
                assert (t.status == VoucherStatus.CLOSED) == (t.value > 0 and t.paid == t.value), t
            live = {rid: r.face for rid, r in self.receivables.items() if r.state not in DEAD}
            assert values == live, f"voucher values per receivable {values} != face values {live}"
            assert_cash_conserved(led, w.cash, self.supply, self._cash_holders(), self.receivables)

        @invariant()
        def no_voucher_financed_twice(self):
            if not self.started:
                return
            open_ = [o for o in self.offers.values() if o.state == OfferState.OPEN]
            assert len({o.token for o in open_}) == len(open_), "a voucher is in two open offers"
            for o in open_:
                t = self.tokens[o.token]
                assert t.holder == o.seller and t.value == o.value
                assert t.status in (VoucherStatus.LOCKED, VoucherStatus.CLOSED), f"offered voucher {o.token} moves"

        @invariant()
        def no_party_gains_what_it_was_not_owed(self):
            """Each party's chain position (cash balance change + unpaid value held − unpaid
            value owed as obligor) equals its books: never more (it gained what it was not owed:
            paid twice, paid for nothing), never less (it lost what it was owed)."""
            if not self.started:
                return
            for who, b in self.books.items():
                has, owed = self._position(who), b.cash + b.units
                assert has <= owed, f"{by_address[who]!r} ends with {has - owed} more than it paid for or was owed"
                assert has == owed, f"{by_address[who]!r} lost {owed - has} of what it was owed"
                held = self.cash[who] - self.cash_at_start[who]
                assert held == b.cash, f"{by_address[who]!r} cash: chain moved {held}, its books {b.cash}"

    reached_flows: Counter[str] = Counter()
    try:
        System.run(w, STEPS, examples=EXAMPLES)
    finally:
        print("examples that reached each flow:", dict(reached_flows))
