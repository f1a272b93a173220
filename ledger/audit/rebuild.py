"""Rebuild every receivable, voucher tree, credit line, offer and data asset from events alone,
checking the invariants step by step as the events are replayed.

Rows are dicts keyed by the SQL mirror's column names (so the mirror comparison is a column by
column diff), built only from the logs the node returned. The parent of a voucher is the
`_fromTokenId` of the first TransferValue into it (0 for an issued root), as the interface says.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from ..logs import raw_hex
from ..types import Event, OfferState, PledgeState, ReceivableState, RecourseState, VoucherStatus
from .model import Discrepancy

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO_HASH = "0x" + "00" * 32
#: Receivable states in which the receivable backs its documents and its vouchers hold value.
DEAD = (ReceivableState.REJECTED, ReceivableState.REVOKED)
REPAYABLE = (ReceivableState.ACTIVE, ReceivableState.OVERDUE, ReceivableState.DEFAULTED)


def _hex(value: bytes | str) -> str:
    return value if isinstance(value, str) else "0x" + bytes(value).hex()


def where(e: Event, **extra: Any) -> dict[str, Any]:
    """The location of an event: block, transaction, log index, plus what `extra` names."""
    return {**extra, "event": e.name, "block": e.block_number, "tx_hash": e.tx_hash, "log_index": e.log_index}


class Rebuild:
    """Replay `events` (our contracts', in chain order) into state, collecting discrepancies.

    Attributes:
        vouchers, receivables, credit_lines, offers, deals, data_assets, appraisals, pledges,
        repayments, claims: rows by primary key, in the mirror's column names.
        touches: token id -> indexes into `events` of every event that concerns the voucher.
        timed: row kinds whose times are block timestamps, filled in by `set_times`.
    """

    def __init__(self, events: list[Event]):
        self.events = events
        self.found: list[Discrepancy] = []
        self.vouchers: dict[int, dict[str, Any]] = {}
        self.receivables: dict[int, dict[str, Any]] = {}
        self.credit_lines: dict[int, dict[str, Any]] = {}
        self.offers: dict[int, dict[str, Any]] = {}
        self.deals: dict[int, dict[str, Any]] = {}
        self.data_assets: dict[int, dict[str, Any]] = {}
        self.appraisals: dict[tuple[int, int], dict[str, Any]] = {}
        self.pledges: dict[int, dict[str, Any]] = {}
        self.repayments: dict[tuple[int, int], dict[str, Any]] = {}
        self.claims: dict[tuple[int, int], dict[str, Any]] = {}
        self.touches: dict[int, list[int]] = defaultdict(list)
        self.issued_at: dict[int, int] = {}  # receivable -> index of its ReceivableIssued
        #: Per receivable: drawn from and restored to its line (CreditLineDrawn/Restored).
        self.drawn: dict[int, int] = defaultdict(int)
        self.restored: dict[int, int] = defaultdict(int)
        #: (obligor, document fingerprint) -> the live receivables of that obligor it backs: the
        #: guard is per obligor, so another obligor's receivable on the same fingerprint is no clash.
        self.backing: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.counts: dict[str, int] = defaultdict(int)
        self._tx: str | None = None
        self._minted: dict[int, int] = defaultdict(int)
        self._burned: dict[int, int] = defaultdict(int)
        self._issued: set[int] = set()
        self._cancelled: set[int] = set()
        #: Per voucher: what was paid out on its units, exactly (moves carry it pro rata, unrounded).
        #: The contract's rounded `paid` must never fall below it: no unit is paid twice.
        self.consumed: dict[int, Fraction] = defaultdict(Fraction)
        #: Per receivable: its rounding remainder not yet released (VoucherPaidRounded).
        self.remainders: dict[int, int] = defaultdict(int)
        #: The paid move the last TransferValue calls for: (source, target, paid moved, rounded).
        self._paid_move: tuple[int, int, int, bool] | None = None
        #: The voucher contract's pauses in order: [Paused block, Unpaused block or None]; after
        #: `set_times`, [since, until or None] in seconds. `now`: the audited block's timestamp.
        self.pauses: list[list[int | None]] = []
        self.pauses_at_issue: dict[int, int] = {}  # receivable -> pauses begun before its issue
        self.overdue_marked: dict[int, tuple[int, dict[str, Any]]] = {}  # receivable -> (block, location)
        self.now: int | None = None
        self._handlers = {name[3:]: getattr(self, name) for name in dir(self) if name.startswith("on_")}

    # -- driver ----------------------------------------------------------------------------------

    def run(self) -> Rebuild:
        for index, e in enumerate(self.events):
            if e.tx_hash != self._tx:
                self._end_tx()
                self._tx = e.tx_hash
            self.counts[e.name] += 1
            handler = self._handlers.get(e.name)
            if handler is None:
                continue
            try:
                handler(index, e)
            except KeyError as missing:
                self.flag("event_decoding", f"{e.name} refers to {missing} that no earlier event created", where(e))
        self._end_tx()
        self._final_checks()
        return self

    def flag(self, check: str, message: str, location: dict[str, Any], expected: Any = None, actual: Any = None):
        self.found.append(Discrepancy(check, message, location, expected, actual))

    def _end_tx(self) -> None:
        """Per transaction: value is created only by an issue and destroyed only by a cancel."""
        if self._tx is None:
            return
        self._expect_no_paid_move()
        for rid in set(self._minted) | set(self._burned) | self._issued | self._cancelled:
            r = self.receivables.get(rid)
            face = r["face_value"] if r else 0
            expected = (face if rid in self._issued else 0) - (face if rid in self._cancelled else 0)
            net = self._minted[rid] - self._burned[rid]
            if net != expected:
                self.flag("value_conservation",
                          f"transaction changed the total value of receivable {rid} by {net}, expected {expected}",
                          {"receivable_id": rid, "tx_hash": self._tx}, expected, net)
        self._minted.clear()
        self._burned.clear()
        self._issued.clear()
        self._cancelled.clear()

    def _voucher(self, token_id: int, e: Event, index: int) -> dict[str, Any]:
        v = self.vouchers[token_id]
        self.touches[token_id].append(index)
        return v

    # -- vouchers --------------------------------------------------------------------------------

    def on_Transfer(self, i: int, e: Event) -> None:
        sender, to, token_id = e.args["from"], e.args["to"], e.args["tokenId"]
        if sender == ZERO_ADDRESS:
            if token_id in self.vouchers:
                self.flag("event_decoding", f"voucher {token_id} minted twice", where(e, token_id=token_id))
            self.vouchers[token_id] = {
                "token_id": token_id, "holder": to, "receivable_id": 0, "value": 0, "parent_id": None,
                "status": int(VoucherStatus.ACTIVE), "paid": 0, "burned": False, "minted_block": e.block_number,
            }
            self.touches[token_id].append(i)
            return
        v = self._voucher(token_id, e, i)
        if v["burned"]:
            self.flag("event_decoding", f"voucher {token_id} moved after it was burned", where(e, token_id=token_id))
        if sender != v["holder"]:
            self.flag("event_decoding", f"voucher {token_id} transferred from {sender}, but {v['holder']} held it",
                      where(e, token_id=token_id, receivable_id=v["receivable_id"]), v["holder"], sender)
        if to == ZERO_ADDRESS:
            if v["value"] != 0:
                self.flag("value_conservation", f"voucher {token_id} burned while holding {v['value']}",
                          where(e, token_id=token_id, receivable_id=v["receivable_id"]), 0, v["value"])
            v.update(burned=True, status=int(VoucherStatus.NONE))
        else:
            v["holder"] = to

    def on_SlotChanged(self, i: int, e: Event) -> None:
        v = self._voucher(e.args["_tokenId"], e, i)
        if e.args["_oldSlot"] == 0:
            v["receivable_id"] = e.args["_newSlot"]
        elif e.args["_oldSlot"] != v["receivable_id"]:
            self.flag("event_decoding", f"voucher {v['token_id']} left slot {e.args['_oldSlot']}, "
                      f"but it was of receivable {v['receivable_id']}", where(e, token_id=v["token_id"]))

    def on_TransferValue(self, i: int, e: Event) -> None:
        source, target, value = e.args["_fromTokenId"], e.args["_toTokenId"], e.args["_value"]
        src = self._voucher(source, e, i) if source else None
        dst = self._voucher(target, e, i) if target else None
        self._expect_no_paid_move()
        if src is not None and dst is not None and src["value"] > 0:
            # The rule (IReceivableVoucher, Rounding): each side is charged its share rounded up.
            balance, paid = src["value"], src["paid"]
            moved, kept = -(-paid * value // balance), -(-paid * (balance - value) // balance)
            if paid > 0:
                self._paid_move = (source, target, moved, moved + kept != paid)
            share = self.consumed[source] * value / balance
            self.consumed[source] -= share
            self.consumed[target] += share
        if src is not None:
            rid = src["receivable_id"]
            if src["burned"]:
                self.flag("value_conservation", f"value moved out of burned voucher {source}",
                          where(e, token_id=source, receivable_id=rid))
            if src["value"] < value:
                self.flag("value_conservation", f"voucher {source} gave {value} but held {src['value']}",
                          where(e, token_id=source, receivable_id=rid), f">= {value}", src["value"])
            src["value"] -= value
            if dst is None:
                self._burned[rid] += value
        if dst is not None:
            rid = dst["receivable_id"]
            if dst["burned"]:
                self.flag("value_conservation", f"value moved into burned voucher {target}",
                          where(e, token_id=target, receivable_id=rid))
            if src is not None and src["receivable_id"] != rid:
                self.flag("value_conservation", f"value moved from voucher {source} of receivable "
                          f"{src['receivable_id']} to voucher {target} of receivable {rid}",
                          where(e, token_id=target, receivable_id=rid), src["receivable_id"], rid)
            dst["value"] += value
            if dst["parent_id"] is None:
                dst["parent_id"] = source
                dst["status"] = int(VoucherStatus.ACTIVE if source else VoucherStatus.PENDING)
            if src is None:
                self._minted[rid] += value

    def on_VoucherPaidMoved(self, i: int, e: Event) -> None:
        source, target, paid = e.args["fromTokenId"], e.args["toTokenId"], e.args["paid"]
        src, dst = self._voucher(source, e, i), self._voucher(target, e, i)
        loc = where(e, token_id=source, receivable_id=src["receivable_id"])
        if src["paid"] < paid:
            self.flag("claims", f"voucher {source} moved {paid} of paid but had paid {src['paid']}",
                      loc, f">= {paid}", src["paid"])
        expected = self._paid_move
        if expected is None or expected[:2] != (source, target):
            self.flag("claims", f"paid moved from voucher {source} to {target} without value moving between them", loc)
        elif expected[2] != paid:
            self.flag("claims", f"voucher {source} moved {paid} of paid to {target}; its share rounded up is "
                      f"{expected[2]}", loc, expected[2], paid)
        self._paid_move = (source, target, 0, expected[3]) if expected and expected[3] else None
        src["paid"] -= paid
        dst["paid"] += paid
        self._close_if_paid_out(dst)

    def on_VoucherPaidRounded(self, i: int, e: Event) -> None:
        a = e.args
        v = self._voucher(a["tokenId"], e, i)
        rid = a["receivableId"]
        loc = where(e, token_id=a["tokenId"], receivable_id=rid)
        expected = self._paid_move
        if expected is None or expected[0] != a["tokenId"] or expected[2] != 0 or not expected[3]:
            self.flag("claims", f"voucher {a['tokenId']} was charged a rounding unit its move does not call for", loc)
        self._paid_move = None
        v["paid"] += 1
        self.remainders[rid] += 1
        if self.remainders[rid] != a["remainder"]:
            self.flag("claims", f"receivable {rid} reports a rounding remainder of {a['remainder']}", loc,
                      self.remainders[rid], a["remainder"])
        self._close_if_paid_out(v)

    def on_ReceivableRemainderReleased(self, i: int, e: Event) -> None:
        a = e.args
        rid = a["receivableId"]
        r = self.receivables[rid]
        loc = where(e, receivable_id=rid)
        if r["state"] != ReceivableState.SETTLED:
            self.flag("claims", f"receivable {rid} released its remainder before it was settled", loc,
                      ReceivableState.SETTLED.name, ReceivableState(r["state"]).name)
        if a["obligor"] != r["obligor"]:
            self.flag("claims", f"receivable {rid}'s remainder went to someone other than its obligor", loc,
                      r["obligor"], a["obligor"])
        if a["amount"] != self.remainders[rid]:
            self.flag("claims", f"receivable {rid} released {a['amount']} as remainder", loc, self.remainders[rid],
                      a["amount"])
        self.remainders[rid] = 0
        r["claimed"] += a["amount"]
        if r["claimed"] > r["repaid"]:
            self.flag("claims", f"receivable {rid} paid out {r['claimed']} but was repaid only {r['repaid']}", loc,
                      f"<= {r['repaid']}", r["claimed"])

    def _expect_no_paid_move(self) -> None:
        """The events a value move calls for (VoucherPaidMoved, VoucherPaidRounded) came."""
        if self._paid_move is not None:
            source, target, moved, rounded = self._paid_move
            what = f"{moved} of paid" if moved else "a rounding unit"
            self.flag("claims", f"value moved from voucher {source} to {target} without its {what}",
                      {"token_id": source, "tx_hash": self._tx}, moved or 1, 0)
            self._paid_move = None

    @staticmethod
    def _close_if_paid_out(v: dict[str, Any]) -> None:
        """A voucher left fully paid out by a move is Closed (the contract closes it there)."""
        if v["value"] > 0 and v["paid"] == v["value"]:
            v["status"] = int(VoucherStatus.CLOSED)

    def on_VoucherClaimed(self, i: int, e: Event) -> None:
        a = e.args
        v = self._voucher(a["tokenId"], e, i)
        r = self.receivables[a["receivableId"]]
        loc = where(e, token_id=a["tokenId"], receivable_id=a["receivableId"])
        if v["receivable_id"] != a["receivableId"]:
            self.flag("claims", "claim names another receivable than the voucher's", loc, v["receivable_id"],
                      a["receivableId"])
        if v["holder"] != a["holder"]:
            self.flag("claims", "claim paid someone other than the holder", loc, v["holder"], a["holder"])
        if v["paid"] + a["amount"] != a["paid"]:
            self.flag("claims", "voucher's paid after the claim is not its paid before plus the amount", loc,
                      v["paid"] + a["amount"], a["paid"])
        entitled = v["value"] * r["repaid"] // r["face_value"] if r["face_value"] else 0
        if a["paid"] > entitled:
            self.flag("claims", f"voucher {a['tokenId']} was paid {a['paid']}, more than its pro-rata entitlement "
                      f"{entitled} (value {v['value']} of {r['face_value']}, repaid {r['repaid']})", loc,
                      f"<= {entitled}", a["paid"])
        # Over the history of its units: what they were paid, carried exactly through every move,
        # never exceeds their exact share (so no holder gains by cutting or bouncing value).
        consumed = self.consumed[a["tokenId"]] + a["amount"]
        self.consumed[a["tokenId"]] = consumed
        exact = Fraction(v["value"] * r["repaid"], r["face_value"]) if r["face_value"] else Fraction(0)
        if consumed > exact:
            self.flag("claims", f"the units of voucher {a['tokenId']} were paid {float(consumed):.6f} in all, more "
                      f"than their exact share {float(exact):.6f}", loc, f"<= {exact}", consumed)
        if a["closed"] != (a["paid"] == v["value"]):
            self.flag("claims", "closed flag disagrees with paid == value", loc, a["paid"] == v["value"], a["closed"])
        r["claimed"] += a["amount"]
        if r["claimed"] > r["repaid"]:
            self.flag("claims", f"receivable {a['receivableId']} paid out {r['claimed']} in claims but was repaid "
                      f"only {r['repaid']}", loc, f"<= {r['repaid']}", r["claimed"])
        v["paid"] = a["paid"]
        if a["closed"]:
            v["status"] = int(VoucherStatus.CLOSED)
        self.claims[(e.block_number, e.log_index)] = {
            "block_number": e.block_number, "log_index": e.log_index, "token_id": a["tokenId"],
            "receivable_id": a["receivableId"], "holder": a["holder"], "amount": a["amount"], "paid": a["paid"],
            "closed": a["closed"], "tx_hash": e.tx_hash,
        }

    def on_VoucherLocked(self, i: int, e: Event) -> None:
        self._voucher(e.args["tokenId"], e, i)["status"] = int(VoucherStatus.LOCKED)

    def on_VoucherUnlocked(self, i: int, e: Event) -> None:
        self._voucher(e.args["tokenId"], e, i)["status"] = int(VoucherStatus.ACTIVE)

    # -- receivables -----------------------------------------------------------------------------

    def on_ReceivableIssued(self, i: int, e: Event) -> None:
        a = e.args
        rid, doc = a["receivableId"], _hex(a["documentHash"])
        loc = where(e, receivable_id=rid, token_id=a["tokenId"])
        if rid in self.receivables:
            self.flag("event_decoding", f"receivable {rid} issued twice", loc)
        self.receivables[rid] = {
            "receivable_id": rid, "obligor": a["obligor"], "supplier": a["supplier"], "line_id": a["lineId"],
            "currency": a["currency"], "face_value": a["faceValue"], "repaid": 0, "claimed": 0,
            "maturity": a["maturity"], "document_hash": doc, "root_token_id": a["tokenId"],
            "state": int(ReceivableState.PENDING), "issued_block": e.block_number, "tx_hash": e.tx_hash,
            "issued_at": None,
        }
        self.pauses_at_issue[rid] = len(self.pauses)
        self.issued_at[rid] = i
        self._issued.add(rid)
        root = self.vouchers.get(a["tokenId"])
        if root is None or root["receivable_id"] != rid or root["value"] != a["faceValue"] \
                or root["holder"] != a["supplier"] or root["parent_id"] != 0:
            self.flag("value_conservation", f"receivable {rid} was issued without a root voucher {a['tokenId']} of "
                      f"its face value held by its supplier", loc,
                      {"value": a["faceValue"], "holder": a["supplier"], "receivable_id": rid},
                      root and {k: root[k] for k in ("value", "holder", "receivable_id")})
        else:
            self.touches[a["tokenId"]].append(i)
        backing = self.backing[(a["obligor"], doc)]
        live = [other for other in backing if other != rid]
        if live:
            self.flag("documents", f"document {doc} backs receivable {rid} of {a['obligor']} while it still backs "
                      f"live receivable(s) {live} of that obligor", {**loc, "document_hash": doc}, [], live)
        backing.append(rid)

    def _state(self, e: Event, state: ReceivableState) -> dict[str, Any]:
        r = self.receivables[e.args["receivableId"]]
        r["state"] = int(state)
        return r

    def on_ReceivableAccepted(self, i: int, e: Event) -> None:
        r = self._state(e, ReceivableState.ACTIVE)
        self._voucher(r["root_token_id"], e, i)["status"] = int(VoucherStatus.ACTIVE)

    def _cancel(self, i: int, e: Event, state: ReceivableState) -> None:
        r = self._state(e, state)
        self._cancelled.add(r["receivable_id"])
        self.touches[r["root_token_id"]].append(i)
        backing = self.backing[(r["obligor"], r["document_hash"])]
        if r["receivable_id"] in backing:
            backing.remove(r["receivable_id"])

    def on_ReceivableRejected(self, i: int, e: Event) -> None:
        self._cancel(i, e, ReceivableState.REJECTED)

    def on_ReceivableRevoked(self, i: int, e: Event) -> None:
        self._cancel(i, e, ReceivableState.REVOKED)

    def on_ReceivableRepaid(self, i: int, e: Event) -> None:
        a = e.args
        r = self.receivables[a["receivableId"]]
        loc = where(e, receivable_id=a["receivableId"])
        if r["state"] not in REPAYABLE:
            self.flag("claims", f"repayment into receivable {a['receivableId']} in state "
                      f"{ReceivableState(r['state']).name}", loc)
        if r["repaid"] + a["amount"] != a["repaid"]:
            self.flag("claims", "repaid total is not the previous total plus the amount", loc,
                      r["repaid"] + a["amount"], a["repaid"])
        if a["repaid"] > r["face_value"]:
            self.flag("claims", f"receivable {a['receivableId']} repaid beyond its face value", loc,
                      f"<= {r['face_value']}", a["repaid"])
        r["repaid"] = a["repaid"]
        self.repayments[(e.block_number, e.log_index)] = {
            "block_number": e.block_number, "log_index": e.log_index, "receivable_id": a["receivableId"],
            "payer": a["payer"], "amount": a["amount"], "repaid": a["repaid"], "tx_hash": e.tx_hash,
        }

    def on_ReceivableSettled(self, i: int, e: Event) -> None:
        r = self._state(e, ReceivableState.SETTLED)
        if r["repaid"] != r["face_value"]:
            self.flag("claims", f"receivable {r['receivable_id']} settled with {r['repaid']} of {r['face_value']} "
                      "repaid", where(e, receivable_id=r["receivable_id"]), r["face_value"], r["repaid"])

    def on_ReceivableOverdue(self, i: int, e: Event) -> None:
        r = self._state(e, ReceivableState.OVERDUE)
        self.overdue_marked[r["receivable_id"]] = (e.block_number, where(e, receivable_id=r["receivable_id"]))

    # -- the pause clock (IReceivableVoucher: no right lost to time paused) -----------------------

    def on_Paused(self, i: int, e: Event) -> None:
        if self.pauses and self.pauses[-1][1] is None:
            self.flag("pause_clock", "Paused while already paused", where(e), "unpaused", "paused")
            return
        self.pauses.append([e.block_number, None])

    def on_Unpaused(self, i: int, e: Event) -> None:
        if not self.pauses or self.pauses[-1][1] is not None:
            self.flag("pause_clock", "Unpaused while not paused", where(e), "paused", "unpaused")
            return
        self.pauses[-1][1] = e.block_number

    def paused_time(self, at: int, pauses: int | None = None) -> int:
        """The time paused up to timestamp `at` (pausedTime), counting only the first `pauses`
        pauses when given (the clock as a receivable's issue found it)."""
        total = 0
        for since, until in self.pauses[:pauses]:
            total += (at if until is None else until) - since
        return total

    def overdue_at(self, receivable_id: int, at: int) -> int:
        """When the receivable can be marked Overdue, as seen at timestamp `at` (overdueAt)."""
        r = self.receivables[receivable_id]
        grace = self.credit_lines[r["line_id"]]["grace_period"]
        return r["maturity"] + grace + self.paused_time(at) - self.paused_time(at, self.pauses_at_issue[receivable_id])

    def _check_overdue_marks(self, timestamps: dict[int, int]) -> None:
        for rid, (block, loc) in self.overdue_marked.items():
            at = timestamps[block]
            due = self.overdue_at(rid, at)
            if at <= due:
                self.flag("pause_clock", f"receivable {rid} was marked Overdue at {at}, not after {due} "
                          "(maturity + grace + time paused since issue)", loc, f"> {due}", at)

    def on_ReceivableDefaulted(self, i: int, e: Event) -> None:
        self._state(e, ReceivableState.DEFAULTED)

    # -- credit lines ----------------------------------------------------------------------------

    def on_CreditLineGranted(self, i: int, e: Event) -> None:
        a = e.args
        self.credit_lines[a["lineId"]] = {
            "line_id": a["lineId"], "financier": a["financier"], "obligor": a["obligor"], "currency": a["currency"],
            "limit": a["limit"], "used": 0, "expiry": a["expiry"], "grace_period": a["gracePeriod"],
            "collateral_value": 0, "collateral_valid_until": 0, "advance_rate_bps": 0,
        }

    def on_CreditLineTermsChanged(self, i: int, e: Event) -> None:
        self.credit_lines[e.args["lineId"]].update(limit=e.args["limit"], expiry=e.args["expiry"])

    def _line_moved(self, e: Event, sign: int) -> None:
        a = e.args
        line = self.credit_lines[a["lineId"]]
        expected = line["used"] + sign * a["amount"]
        if expected != a["used"]:
            self.flag("credit_lines", f"line {a['lineId']} reports use {a['used']} after moving {a['amount']} "
                      f"from {line['used']}", where(e, line_id=a["lineId"], receivable_id=a["receivableId"]),
                      expected, a["used"])
        line["used"] = a["used"]
        (self.drawn if sign > 0 else self.restored)[a["receivableId"]] += a["amount"]

    def on_CreditLineDrawn(self, i: int, e: Event) -> None:
        self._line_moved(e, 1)

    def on_CreditLineRestored(self, i: int, e: Event) -> None:
        self._line_moved(e, -1)

    def on_CreditLineAdvanceRateSet(self, i: int, e: Event) -> None:
        self.credit_lines[e.args["lineId"]]["advance_rate_bps"] = e.args["advanceRateBps"]

    def on_CreditLineCollateralChanged(self, i: int, e: Event) -> None:
        self.credit_lines[e.args["lineId"]].update(collateral_value=e.args["value"],
                                                   collateral_valid_until=e.args["validUntil"])

    # -- factoring -------------------------------------------------------------------------------

    def on_OfferCreated(self, i: int, e: Event) -> None:
        a = e.args
        v = self._voucher(a["tokenId"], e, i)
        loc = where(e, offer_id=a["offerId"], token_id=a["tokenId"], receivable_id=v["receivable_id"])
        if v["status"] != VoucherStatus.LOCKED or v["holder"] != a["seller"] or v["value"] != a["value"]:
            self.flag("value_conservation", f"offer {a['offerId']} is not backed by a locked voucher of its value "
                      "held by its seller", loc, {"status": int(VoucherStatus.LOCKED), "holder": a["seller"],
                                                   "value": a["value"]},
                      {"status": v["status"], "holder": v["holder"], "value": v["value"]})
        self.offers[a["offerId"]] = {
            "offer_id": a["offerId"], "seller": a["seller"], "token_id": a["tokenId"],
            "receivable_id": v["receivable_id"], "rate_bps": a["rateBps"], "recourse": a["recourse"],
            "state": int(OfferState.OPEN), "financier": a["financier"], "deadline": a["deadline"],
            "recourse_state": int(RecourseState.NONE), "value": a["value"], "price": 0, "paid_at_deal": 0,
            "recourse_amount": 0, "created_block": e.block_number, "tx_hash": e.tx_hash,
        }

    def on_OfferCancelled(self, i: int, e: Event) -> None:
        offer = self.offers[e.args["offerId"]]
        offer["state"] = int(OfferState.CANCELLED)
        self.touches[offer["token_id"]].append(i)

    def on_Factored(self, i: int, e: Event) -> None:
        a = e.args
        offer = self.offers[a["offerId"]]
        v = self._voucher(a["tokenId"], e, i)
        r = self.receivables[v["receivable_id"]]
        offer.update(state=int(OfferState.ACCEPTED), financier=a["financier"], price=a["price"],
                     paid_at_deal=v["paid"])
        self.deals[a["offerId"]] = {
            "offer_id": a["offerId"], "receivable_id": v["receivable_id"], "token_id": a["tokenId"],
            "seller": a["seller"], "financier": a["financier"], "currency": r["currency"], "value": a["value"],
            "price": a["price"], "discount": a["value"] - v["paid"] - a["price"], "rate_bps": a["rateBps"],
            "recourse": a["recourse"], "paid_at_deal": v["paid"], "block_number": e.block_number,
            "tx_hash": e.tx_hash,
        }

    def _recourse(self, i: int, e: Event, state: RecourseState) -> None:
        offer = self.offers[e.args["offerId"]]
        offer.update(recourse_state=int(state), recourse_amount=e.args["amount"])
        self.touches[offer["token_id"]].append(i)

    def on_RecourseExercised(self, i: int, e: Event) -> None:
        self._recourse(i, e, RecourseState.CLAIMED)

    def on_RecoursePaid(self, i: int, e: Event) -> None:
        self._recourse(i, e, RecourseState.PAID)

    def on_RecourseLapsed(self, i: int, e: Event) -> None:
        self._recourse(i, e, RecourseState.LAPSED)  # recourse_amount: what the seller left unpaid

    # -- data assets -----------------------------------------------------------------------------

    def on_DataAssetRegistered(self, i: int, e: Event) -> None:
        a = e.args
        self.data_assets[a["assetId"]] = {
            "asset_id": a["assetId"], "owner": a["owner"], "content_hash": _hex(a["contentHash"]),
            "metadata_hash": _hex(a["metadataHash"]), "uri": a["uri"], "uri_hex": raw_hex(a["uri"]),
            "exchange": ZERO_ADDRESS,
            "listing_id": ZERO_HASH, "registered_at": e.block_number, "pledge_id": 0,
            "registered_block": e.block_number, "tx_hash": e.tx_hash,
        }

    def on_DataAssetAppraised(self, i: int, e: Event) -> None:
        a = e.args
        self.data_assets[a["assetId"]]  # noqa: B018  (an appraisal of an unknown asset is a KeyError)
        self.appraisals[(a["assetId"], a["slot"])] = {
            "asset_id": a["assetId"], "slot": a["slot"], "appraiser": a["appraiser"], "appraised_at": e.block_number,
            "valid_until": a["validUntil"], "value": a["value"], "report_hash": _hex(a["reportHash"]),
            "block_number": e.block_number, "tx_hash": e.tx_hash,
        }

    def _appraisal_removed(self, e: Event) -> None:
        """A withdrawn or struck appraisal counts nothing: its slot goes (validUntil 0 on chain)."""
        a = e.args
        if self.appraisals.pop((a["assetId"], a["slot"]), None) is None:
            self.flag("pledges", f"appraisal {a['assetId']}/{a['slot']} removed ({e.name}) but no event made it",
                      where(e, asset_id=a["assetId"]))

    def on_DataAssetAppraisalWithdrawn(self, i: int, e: Event) -> None:
        self._appraisal_removed(e)

    def on_DataAssetAppraisalStruck(self, i: int, e: Event) -> None:
        self._appraisal_removed(e)

    def on_DataAssetListed(self, i: int, e: Event) -> None:
        self.data_assets[e.args["assetId"]].update(exchange=e.args["exchange"], listing_id=_hex(e.args["listingId"]))

    def on_DataAssetPledged(self, i: int, e: Event) -> None:
        a = e.args
        asset = self.data_assets[a["assetId"]]
        active = [p["pledge_id"] for p in self.pledges.values()
                  if p["asset_id"] == a["assetId"] and p["state"] == PledgeState.ACTIVE]
        if active:
            self.flag("pledges", f"data asset {a['assetId']} pledged again (pledge {a['pledgeId']}) while pledge(s) "
                      f"{active} are active", where(e, asset_id=a["assetId"], pledge_id=a["pledgeId"]), [], active)
        self.pledges[a["pledgeId"]] = {
            "pledge_id": a["pledgeId"], "asset_id": a["assetId"], "line_id": a["lineId"],
            "state": int(PledgeState.ACTIVE), "owner": a["owner"], "financier": a["financier"],
            "counted_value": a["countedValue"], "pledged_at": e.block_number, "ended_at": 0, "receivable_id": 0,
            "token_id": 0, "foreclosed_value": 0, "recovered": 0,
            "pledged_block": e.block_number, "ended_block": None, "tx_hash": e.tx_hash,
        }
        asset["pledge_id"] = a["pledgeId"]

    def _pledge_ended(self, e: Event, state: PledgeState) -> None:
        a = e.args
        pledge = self.pledges[a["pledgeId"]]
        if pledge["state"] != PledgeState.ACTIVE or pledge["asset_id"] != a["assetId"]:
            self.flag("pledges", f"pledge {a['pledgeId']} ended but it was not the asset's active pledge",
                      where(e, asset_id=a["assetId"], pledge_id=a["pledgeId"]))
        pledge.update(state=int(state), ended_at=e.block_number, ended_block=e.block_number)
        asset = self.data_assets[a["assetId"]]
        asset["pledge_id"] = 0
        if state is PledgeState.FORECLOSED:
            pledge.update(receivable_id=a["receivableId"], token_id=a["tokenId"], foreclosed_value=a["value"],
                          recovered=a["recovered"])
            asset["owner"] = a["financier"]
            if a["value"] != pledge["counted_value"]:
                self.flag("pledges", f"foreclosure valued asset {a['assetId']} at {a['value']}, not at "
                          f"{pledge['counted_value']}, its counted value when pledged",
                          where(e, asset_id=a["assetId"], pledge_id=a["pledgeId"]), pledge["counted_value"],
                          a["value"])
            self._check_recovery(e, a["receivableId"], a["value"], a["recovered"])

    def recovered_of(self, receivable_id: int) -> int:
        """What the assets held in foreclosure against the receivable were credited (recoveredOf)."""
        return sum(p["recovered"] for p in self.pledges.values()
                   if p["state"] == PledgeState.FORECLOSED and p["receivable_id"] == receivable_id)

    def _check_recovery(self, e: Event, receivable_id: int, value: int, recovered: int) -> None:
        """A foreclosure credits at most the asset's value, only on a Defaulted receivable, and all
        foreclosures held against a receivable never more than what is still unpaid of it."""
        loc = where(e, receivable_id=receivable_id, asset_id=e.args["assetId"], pledge_id=e.args["pledgeId"])
        r = self.receivables.get(receivable_id)
        if r is None or r["state"] != ReceivableState.DEFAULTED:
            self.flag("pledges", f"foreclosure against receivable {receivable_id}, which is not Defaulted", loc,
                      int(ReceivableState.DEFAULTED), None if r is None else r["state"])
            return
        if recovered > value:
            self.flag("pledges", f"foreclosure credited {recovered}, more than the asset's value {value}", loc,
                      value, recovered)
        total, unpaid = self.recovered_of(receivable_id), r["face_value"] - r["repaid"]
        if total > unpaid:
            self.flag("pledges", f"foreclosures hold {total} against receivable {receivable_id}, of which only "
                      f"{unpaid} is unpaid", loc, unpaid, total)
        # The exposure is one voucher the pledgee holds (IDataAssetRegistry): every asset held
        # against the receivable cites it, and together they are credited at most its unpaid value.
        token_id = e.args["tokenId"]
        v = self.vouchers.get(token_id)
        if v is None or v["burned"] or v["holder"] != e.args["financier"] or v["receivable_id"] != receivable_id:
            self.flag("pledges", f"foreclosure cites voucher {token_id}, not one of receivable {receivable_id} held "
                      f"by the pledgee {e.args['financier']}", {**loc, "token_id": token_id}, e.args["financier"],
                      v and v["holder"])
            return
        cited = {p["token_id"] for p in self.pledges.values()
                 if p["state"] == PledgeState.FORECLOSED and p["receivable_id"] == receivable_id}
        if cited != {token_id}:
            self.flag("pledges", f"assets held against receivable {receivable_id} cite vouchers {sorted(cited)}, "
                      "not one", {**loc, "token_id": token_id}, [token_id], sorted(cited))
        if total > v["value"] - v["paid"]:
            self.flag("pledges", f"foreclosures hold {total} against voucher {token_id}, whose unpaid value is "
                      f"{v['value'] - v['paid']}", {**loc, "token_id": token_id}, v["value"] - v["paid"], total)

    def on_DataAssetReturned(self, i: int, e: Event) -> None:
        a = e.args
        pledge = self.pledges[a["pledgeId"]]
        loc = where(e, asset_id=a["assetId"], pledge_id=a["pledgeId"], receivable_id=a["receivableId"])
        if pledge["state"] != PledgeState.FORECLOSED:
            self.flag("pledges", f"pledge {a['pledgeId']} returned but it was not foreclosed", loc,
                      int(PledgeState.FORECLOSED), pledge["state"])
        pledge["state"] = int(PledgeState.RETURNED)
        self.data_assets[a["assetId"]]["owner"] = a["owner"]

    def on_DataAssetReleased(self, i: int, e: Event) -> None:
        self._pledge_ended(e, PledgeState.RELEASED)

    def on_DataAssetForeclosed(self, i: int, e: Event) -> None:
        self._pledge_ended(e, PledgeState.FORECLOSED)

    # -- times -----------------------------------------------------------------------------------

    def timed_blocks(self) -> set[int]:
        """Blocks whose timestamps the contracts record (issue, registration, appraisal, pledges)."""
        blocks = {r["issued_block"] for r in self.receivables.values()}
        blocks |= {a["registered_at"] for a in self.data_assets.values()}
        blocks |= {a["appraised_at"] for a in self.appraisals.values()}
        blocks |= {p["pledged_at"] for p in self.pledges.values()}
        blocks |= {p["ended_at"] for p in self.pledges.values() if p["ended_at"]}
        blocks |= {b for pause in self.pauses for b in pause if b is not None}
        blocks |= {block for block, _ in self.overdue_marked.values()}
        return blocks

    def set_times(self, timestamps: dict[int, int]) -> None:
        """Turn the block numbers kept in time fields into those blocks' timestamps."""
        for r in self.receivables.values():
            r["issued_at"] = timestamps[r["issued_block"]]
        for a in self.data_assets.values():
            a["registered_at"] = timestamps[a["registered_at"]]
        for a in self.appraisals.values():
            a["appraised_at"] = timestamps[a["appraised_at"]]
        for p in self.pledges.values():
            p["pledged_at"] = timestamps[p["pledged_at"]]
            if p["ended_at"]:
                p["ended_at"] = timestamps[p["ended_at"]]
        self.pauses = [[timestamps[since], None if until is None else timestamps[until]] for since, until in self.pauses]
        self._check_overdue_marks(timestamps)

    # -- checks on the final state ---------------------------------------------------------------

    def live_vouchers(self) -> Iterable[dict[str, Any]]:
        return (v for v in self.vouchers.values() if not v["burned"])

    def _final_checks(self) -> None:
        totals: dict[int, int] = defaultdict(int)
        for v in self.vouchers.values():
            loc = {"token_id": v["token_id"], "receivable_id": v["receivable_id"]}
            if v["burned"]:
                continue
            totals[v["receivable_id"]] += v["value"]
            if v["value"] < 0:
                self.flag("value_conservation", f"voucher {v['token_id']} has a negative value", loc, ">= 0",
                          v["value"])
            if v["paid"] < 0 or v["paid"] > max(v["value"], 0):
                self.flag("claims", f"voucher {v['token_id']} paid {v['paid']} on a value of {v['value']}", loc,
                          f"0..{v['value']}", v["paid"])
        for rid, r in self.receivables.items():
            expected = 0 if r["state"] in DEAD else r["face_value"]
            if totals.get(rid, 0) != expected:
                self.flag("value_conservation", f"the live vouchers of receivable {rid} sum to {totals.get(rid, 0)}, "
                          f"not {expected}", {"receivable_id": rid}, expected, totals.get(rid, 0))
            if r["claimed"] > r["repaid"]:
                self.flag("claims", f"receivable {rid} paid out more than was repaid", {"receivable_id": rid},
                          f"<= {r['repaid']}", r["claimed"])
            outstanding = 0 if r["state"] in DEAD else r["face_value"] - r["repaid"]
            if self.drawn[rid] - self.restored[rid] != outstanding:
                self.flag("credit_lines", f"receivable {rid} holds {self.drawn[rid] - self.restored[rid]} of line "
                          f"{r['line_id']} but {outstanding} is issued and not repaid",
                          {"receivable_id": rid, "line_id": r["line_id"]}, outstanding,
                          self.drawn[rid] - self.restored[rid])
        per_line: dict[int, int] = defaultdict(int)
        for r in self.receivables.values():
            if r["state"] not in DEAD:
                per_line[r["line_id"]] += r["face_value"] - r["repaid"]
        for line_id, line in self.credit_lines.items():
            if line["used"] != per_line.get(line_id, 0):
                self.flag("credit_lines", f"line {line_id} reports use {line['used']}, but its receivables have "
                          f"{per_line.get(line_id, 0)} issued and not repaid", {"line_id": line_id},
                          per_line.get(line_id, 0), line["used"])
        for (obligor, doc), rids in self.backing.items():
            if len(rids) > 1:
                self.flag("documents", f"document {doc} backs {len(rids)} live receivables of {obligor}",
                          {"document_hash": doc}, 1, rids)
        active: dict[int, list[int]] = defaultdict(list)
        for p in self.pledges.values():
            if p["state"] == PledgeState.ACTIVE:
                active[p["asset_id"]].append(p["pledge_id"])
        for asset_id, ids in active.items():
            if len(ids) > 1:
                self.flag("pledges", f"data asset {asset_id} has {len(ids)} active pledges", {"asset_id": asset_id},
                          1, ids)
            asset = self.data_assets.get(asset_id)
            if asset is not None and asset["pledge_id"] not in ids:
                self.flag("pledges", f"data asset {asset_id} names pledge {asset['pledge_id']}, not its active one",
                          {"asset_id": asset_id}, ids, asset["pledge_id"])
