"""Who may read what: one definition for every read of the gateway (the /v1 reads and the explorer).

In supply-chain finance who sells to whom, for how much and who financed it is each party's
business secret, so a party reads only what it is party to:

* an AUDITOR, and the operator (the OPERATOR role, or the operator's bootstrap credential on a
  read), see everything;
* a receivable's obligor (the core enterprise), its supplier (the first holder: every voucher
  descends from its root) and the financier of its credit line see the receivable and its whole
  voucher tree;
* any other party sees the branches it took part in: each voucher it holds or held (minted or
  transferred whole to it, or from it), offered (as seller, or as the financier an offer is made
  to) or bought or sold in a deal; with the lineage above it and everything split off below it.
  It sees the receivable those branches belong to, its tree cut to them (`hidden` counts the
  rest), and of a visible voucher's history only the events whose vouchers it may see;
* a party's positions: the party itself, auditors and the operator;
* a factoring offer: whoever sees its voucher, its seller and the financier it is made to; an open
  offer made to no one in particular is an invitation to every financier, so any FINANCIER too;
* a credit line: its obligor and its financier;
* a data asset: its owner, the financier it is pledged to, the appraisers that appraised it and
  the exchange that listed it. An appraiser or exchange is told the asset's id by the owner that
  engages it, and can appraise or list it without reading it first.

Lists leave out what the caller may not see, in SQL, so `total`, `offset` and `limit` count only
what it may see. A single thing that exists but is not the caller's to see answers 403 `NotOwner`
with a detail that says so (and what does not exist 404, as for everyone): the explorer always did,
ids are sequential (existence is no secret worth a misleading 404), and a client that is refused
should learn why. Documents and appraisal reports keep their own, similar rules (routes/documents.py,
routes/data_assets.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, false, or_, select, true

from ledger import Role
from ledger.exceptions import ReceivableNonexistent
from ledger.mirror import CreditLine, DataAsset, Deal, EventLog, Offer, Receivable, Voucher
from ledger.types import OfferState

from ..errors import NotOwner
from .deps import Caller

RULE = ("only auditors, the operator, the receivable's obligor, supplier and line financier, and the parties "
        "that held, offered or bought part of it can")


def sees_all(caller: Caller) -> bool:
    """Auditors and the operator read everything."""
    return bool({Role.AUDITOR, Role.OPERATOR} & caller.roles)


class Access:
    """What one caller may see of one receivable: everything, some vouchers, or nothing."""

    def __init__(self, everything: bool, tokens: set[int], reason: str):
        self.everything, self.tokens, self.reason = everything, tokens, reason

    def sees(self, token_id: int) -> bool:
        return self.everything or token_id in self.tokens

    @property
    def any(self) -> bool:
        return self.everything or bool(self.tokens)

    def json(self) -> dict:
        return {"scope": "all" if self.everything else "branches", "as": self.reason}


def refuse(caller: Caller, what: str, **args) -> NotOwner:
    return NotOwner(f"{what} is not yours to see: {RULE}", account=caller.address, **args)


# -- receivables and vouchers --------------------------------------------------------------------


def _principal(s: Session, caller: Caller, r: Receivable) -> str | None:
    """Why the caller sees the whole of receivable `r`, or None."""
    me = caller.address
    if Role.AUDITOR in caller.roles:
        return "auditor"
    if Role.OPERATOR in caller.roles:
        return "operator"
    if me == r.obligor:
        return "obligor"
    if me == r.supplier:
        return "supplier"
    line = s.get(CreditLine, r.line_id)
    if line is not None and line.financier == me:
        return "financier of the credit line"
    return None


def _transfers_with(s: Session, me: str, since_block: int = 0) -> set[int]:
    """Vouchers minted or transferred whole to `me`, or from it (ERC-721 Transfer, event_log).

    event_log keeps arguments as compact JSON: a LIKE on the quoted address narrows the rows and
    the JSON decides."""
    rows = s.exec(select(EventLog.args).where(EventLog.contract == "ReceivableVoucher", EventLog.name == "Transfer",
                                              EventLog.block_number >= since_block,
                                              EventLog.args.like(f'%"{me}"%'))).all()
    out = set()
    for text in rows:
        args = json.loads(text)
        if me in (args.get("from"), args.get("to")) and isinstance(args.get("tokenId"), int):
            out.add(args["tokenId"])
    return out


def _touched(s: Session, me: str, receivable_id: int | None = None, since_block: int = 0) -> set[int]:
    """The vouchers `me` held, holds, offered, was offered, bought or sold (of one receivable, or all)."""

    def of(query, column):
        return query.where(column == receivable_id) if receivable_id is not None else query

    out = set(s.exec(of(select(Voucher.token_id).where(Voucher.holder == me), Voucher.receivable_id)).all())
    out |= set(s.exec(of(select(Offer.token_id).where(or_(Offer.seller == me, Offer.financier == me)),
                         Offer.receivable_id)).all())
    out |= set(s.exec(of(select(Deal.token_id).where(or_(Deal.seller == me, Deal.financier == me)),
                         Deal.receivable_id)).all())
    return out | _transfers_with(s, me, since_block)


def _branches(vouchers: list[Voucher], touched: set[int]) -> set[int]:
    """The touched vouchers of one receivable with the lineage above each and all split off below."""
    ids = {v.token_id for v in vouchers}
    parent = {v.token_id: v.parent_id for v in vouchers}
    children: dict[int, list[int]] = {}
    for v in vouchers:
        if v.parent_id:
            children.setdefault(v.parent_id, []).append(v.token_id)
    seen: set[int] = set()
    for t in touched & ids:
        up = parent.get(t)
        while up and up not in seen:  # the lineage above
            seen.add(up)
            up = parent.get(up)
        stack = [t]
        while stack:  # the branch below
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(children.get(node, []))
    return seen & ids


def access_to(s: Session, caller: Caller, r: Receivable, vouchers: list[Voucher]) -> Access:
    """The caller's view of receivable `r` (whose vouchers, burned ones included, are `vouchers`)."""
    reason = _principal(s, caller, r)
    if reason is not None:
        return Access(True, set(), reason)
    touched = _touched(s, caller.address, r.receivable_id, r.issued_block or 0)
    seen = _branches(vouchers, touched)
    return Access(False, seen, "holder") if seen else Access(False, set(), "none")


def receivable_and_vouchers(s: Session, receivable_id: int) -> tuple[Receivable, list[Voucher]]:
    """The receivable and all its vouchers (burned ones included) by token id; 404 if none."""
    r = s.get(Receivable, receivable_id)
    if r is None:
        raise ReceivableNonexistent(receivable_id)
    vouchers = s.exec(select(Voucher).where(Voucher.receivable_id == receivable_id)
                      .order_by(Voucher.token_id)).all()
    return r, list(vouchers)


def voucher_access(s: Session, caller: Caller, v: Voucher) -> tuple[Access, list[Voucher]]:
    """The caller's view of voucher `v`'s receivable, and that receivable's vouchers."""
    if not v.receivable_id or s.get(Receivable, v.receivable_id) is None:
        return Access(sees_all(caller), set(), "auditor" if sees_all(caller) else "none"), []
    r, vouchers = receivable_and_vouchers(s, v.receivable_id)
    return access_to(s, caller, r, vouchers), vouchers


def may_see_event(access: Access, args: dict, token_args: Iterable[str]) -> bool:
    """An event of a visible voucher's history: shown if every voucher it names is visible too
    (a split off an ancestor into another party's branch is not)."""
    return access.everything or all(
        not isinstance(args.get(k), int) or args[k] == 0 or access.sees(args[k]) for k in token_args)


@dataclass
class Scope:
    """What a caller may see across all receivables, for filtering lists in SQL. `everything`:
    no filter; else the receivables it sees whole (a subquery) and the vouchers of its branches."""

    everything: bool
    me: str = ""
    tokens: set[int] = field(default_factory=set)
    receivables: set[int] = field(default_factory=set)

    def _whole(self):
        lines = select(CreditLine.line_id).where(CreditLine.financier == self.me)
        return select(Receivable.receivable_id).where(or_(
            Receivable.obligor == self.me, Receivable.supplier == self.me, Receivable.line_id.in_(lines)))

    def vouchers(self) -> ColumnElement[bool]:
        if self.everything:
            return true()
        branch = Voucher.token_id.in_(sorted(self.tokens)) if self.tokens else false()
        return or_(Voucher.receivable_id.in_(self._whole()), branch)

    def receivables_(self) -> ColumnElement[bool]:
        if self.everything:
            return true()
        branch = Receivable.receivable_id.in_(sorted(self.receivables)) if self.receivables else false()
        return or_(Receivable.receivable_id.in_(self._whole()), branch)


def scope_of(s: Session, caller: Caller) -> Scope:
    """The caller's Scope: the same rules as access_to, for every receivable at once."""
    if sees_all(caller):
        return Scope(True)
    me = caller.address
    touched = _touched(s, me)
    scope = Scope(False, me)
    if not touched:
        return scope
    by_receivable: dict[int, list[Voucher]] = {}
    wanted = sorted(set(s.exec(select(Voucher.receivable_id).where(Voucher.token_id.in_(sorted(touched)))).all()))
    whole = set(s.exec(scope._whole()).all())
    wanted = [rid for rid in wanted if rid and rid not in whole]
    if wanted:
        for v in s.exec(select(Voucher).where(Voucher.receivable_id.in_(wanted))).all():
            by_receivable.setdefault(v.receivable_id, []).append(v)
    for rid, vouchers in by_receivable.items():
        seen = _branches(vouchers, touched)
        if seen:
            scope.tokens |= seen
            scope.receivables.add(rid)
    return scope


# -- everything else ------------------------------------------------------------------------------


def require_positions(caller: Caller, address: str) -> None:
    """A party's positions: itself, auditors and the operator."""
    if not sees_all(caller) and address != caller.address:
        raise NotOwner("a party's positions are shown only to the party itself, auditors and the operator",
                       account=caller.address, address=address)


def may_see_offer(s: Session, caller: Caller, o: Offer) -> bool:
    me = caller.address
    if sees_all(caller) or me in (o.seller, o.financier):
        return True
    if o.state == int(OfferState.OPEN) and int(o.financier, 16) == 0 and Role.FINANCIER in caller.roles:
        return True  # made to any financier
    v = s.get(Voucher, o.token_id)
    return v is not None and voucher_access(s, caller, v)[0].sees(o.token_id)


def require_offer(s: Session, caller: Caller, o: Offer) -> None:
    if not may_see_offer(s, caller, o):
        raise refuse(caller, "this offer", offer_id=o.offer_id)


def require_credit_line(caller: Caller, line: CreditLine) -> None:
    if not (sees_all(caller) or caller.address in (line.obligor, line.financier)):
        raise NotOwner("a credit line is shown only to its obligor, its financier, auditors and the operator",
                       account=caller.address, line_id=line.line_id)


def require_data_asset(caller: Caller, asset: DataAsset, pledgee: str | None, appraisers: Iterable[str]) -> None:
    """`asset` as the mirror has it; `pledgee` is the financier of its active pledge (or None)."""
    me = caller.address
    if sees_all(caller) or me in (asset.owner, pledgee) or me in set(appraisers):
        return
    if int(asset.exchange, 16) != 0 and me == asset.exchange:  # listed, by the caller
        return
    raise NotOwner("a data asset is shown only to its owner, its pledgee, its appraisers, the exchange that "
                   "listed it, auditors and the operator", account=me, asset_id=asset.asset_id)
