"""A voucher's lineage as a proof a third party can check against any node.

The proof lists, for the voucher and each of its ancestors up to the root, every log that
concerns it (mint, slot, splits in and out, value moves, paid moves, whole transfers, claims,
locks, offers, merges, burn) plus the receivable's issue, each with its block number and hash,
transaction hash and log index, and the log itself (address, topics, data).

Value also arrives from vouchers that are not ancestors: a sibling merged in, or an ERC-3525
value transfer between two existing vouchers. The proof follows every such source too, and its
sources, transitively (`provenance`): each voucher whose value reached the proved one, with the
last step through which it did (`until`); its steps up to that one are listed like the
ancestors'. So the proof accounts for where all of the voucher's value came from.

verify_proof re-fetches each transaction's receipt and each block header from a node of the
verifier's choosing and checks that every log is there, unchanged, in a canonical block; that
every value moved into a voucher of the provenance comes from a voucher the proof follows, which
the steps show holding it; and (eth_getLogs) that the node knows of no value moved into one of
them, up to its `until`, that the proof leaves out. Then it replays the voucher's own steps to
the value and holder the proof states.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from eth_utils import keccak

from ..types import Event
from .model import plain
from .rebuild import ZERO_ADDRESS, Rebuild
from .rpc import AuditRpc

PROOF_VERSION = 2
#: topic0 of ERC-3525 TransferValue(uint256,uint256,uint256).
TRANSFER_VALUE_TOPIC = "0x" + keccak(text="TransferValue(uint256,uint256,uint256)").hex()

#: What a step means for the voucher it is listed under.
KINDS = {
    "ReceivableIssued": "issue", "SlotChanged": "slot", "VoucherPaidMoved": "paid_moved",
    "VoucherPaidRounded": "paid_rounded", "VoucherClaimed": "claim",
    "VoucherLocked": "lock", "VoucherUnlocked": "unlock", "OfferCreated": "offer", "OfferCancelled": "offer_cancelled",
    "Factored": "factored", "RecourseExercised": "recourse_exercised", "RecoursePaid": "recourse_paid",
    "RecourseLapsed": "recourse_lapsed",
    "ReceivableAccepted": "accept", "ReceivableRejected": "reject", "ReceivableRevoked": "revoke",
}


def _kind(e: Event, token_id: int) -> str:
    if e.name == "Transfer":
        if e.args["from"] == ZERO_ADDRESS:
            return "mint"
        return "burn" if e.args["to"] == ZERO_ADDRESS else "transfer"
    if e.name == "TransferValue":
        source, target = e.args["_fromTokenId"], e.args["_toTokenId"]
        if source == 0:
            return "mint_value"
        if target == 0:
            return "burn_value"
        return "value_in" if target == token_id else "value_out"
    return KINDS.get(e.name, e.name)


def lineage_proof(state: Rebuild, raw_logs: dict[tuple[str, int], dict[str, Any]], token_id: int, *,
                  chain_id: int, block: int, block_hash: str, contracts: dict[str, str]) -> dict[str, Any]:
    """The lineage proof of `token_id` at `block` (JSON-ready).

    Args:
        state: the state rebuilt from the chain's events up to `block`.
        raw_logs: (block hash, log index) -> the raw JSON-RPC log, for the topics and data.
        contracts: contract name -> address of the deployment.

    Raises:
        KeyError: no event ever minted `token_id`.
    """
    voucher = state.vouchers[token_id]
    path = [token_id]
    while (parent := state.vouchers[path[-1]]["parent_id"]) not in (0, None):
        path.append(parent)
    rid = voucher["receivable_id"]
    steps = []
    issue_index = state.issued_at.get(rid)
    until = provenance(state, token_id)
    wanted: list[tuple[int, int]] = []
    for t in path:
        wanted += [(i, t) for i in state.touches.get(t, [])]
    for t, last in until.items():
        if t not in path:
            wanted += [(i, t) for i in state.touches.get(t, []) if i <= last]
    if issue_index is not None and all(i != issue_index for i, _ in wanted):
        wanted.append((issue_index, 0))
    seen = set()
    for index, t in sorted(wanted, key=lambda x: (x[0], x[1])):
        if (index, t) in seen:
            continue
        seen.add((index, t))
        e = state.events[index]
        raw = raw_logs[(e.block_hash.lower(), e.log_index)]
        steps.append({
            "token_id": t, "kind": _kind(e, t) if t else "issue", "event": e.name, "contract": e.contract,
            "args": plain(e.args), "block_number": e.block_number, "block_hash": e.block_hash,
            "tx_hash": e.tx_hash, "log_index": e.log_index, "address": raw["address"], "topics": raw["topics"],
            "data": raw["data"],
        })
    receivable = state.receivables.get(rid, {})
    sources = []
    for t in sorted(until):
        last = None
        if t != token_id:
            e = state.events[until[t]]
            last = {"block_number": e.block_number, "log_index": e.log_index, "tx_hash": e.tx_hash}
        sources.append({"token_id": t, "parent_id": state.vouchers[t]["parent_id"], "until": last})
    proof = {
        "version": PROOF_VERSION,
        "chain_id": chain_id,
        "contracts": contracts,
        "token_id": token_id,
        "receivable_id": rid,
        "document_hash": receivable.get("document_hash"),
        "lineage": path,  # the voucher, its parent, ..., the root
        # every voucher whose value reached this one (ancestors, merged siblings, value transfers),
        # and the last step through which it did (None: the voucher itself, all its steps)
        "provenance": sources,
        "as_of": {"block_number": block, "block_hash": block_hash},
        "state": plain({"holder": voucher["holder"], "value": voucher["value"], "paid": voucher["paid"],
                        "burned": voucher["burned"], "parent_id": voucher["parent_id"]}),
        "steps": steps,
    }
    proof["digest"] = digest(proof)
    return proof


def provenance(state: Rebuild, token_id: int) -> dict[int, int]:
    """Every voucher whose value reached `token_id`, with the index (into state.events) of the
    last TransferValue through which it did; `token_id` itself maps to the end of the events.

    Value moved into a voucher matters only if it came before what that voucher passed on, so
    each source is followed up to its own last such step (splits, merges and value transfers
    alike; a cycle, e.g. a split merged back into its parent, ends when nothing grows).
    """
    until = {token_id: len(state.events)}
    todo = [token_id]
    while todo:
        t = todo.pop()
        limit = until[t]
        for i in state.touches.get(t, []):
            if i >= limit:
                continue
            e = state.events[i]
            if e.name != "TransferValue" or e.args["_toTokenId"] != t or not e.args["_fromTokenId"]:
                continue
            source = e.args["_fromTokenId"]
            if until.get(source, -1) < i:
                until[source] = i
                todo.append(source)
    return until


def digest(proof: dict[str, Any]) -> str:
    """SHA-256 of the proof's canonical JSON without its digest: names one exact proof."""
    body = {k: v for k, v in proof.items() if k != "digest"}
    return "0x" + hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass
class Verification:
    """What verify_proof found: ok, or every problem with the step it concerns."""

    ok: bool
    checked_logs: int
    problems: list[dict[str, Any]] = field(default_factory=list)


def replay(proof: dict[str, Any]) -> dict[str, Any]:
    """The voucher's holder, value and paid from its own steps alone (paid via claims and moves)."""
    t = proof["token_id"]
    holder, value, paid, burned = None, 0, 0, False
    for s in proof["steps"]:
        if s["token_id"] != t:
            continue
        a = s["args"]
        if s["event"] == "Transfer":
            if s["kind"] == "burn":
                burned = True
            else:
                holder = a["to"]
        elif s["event"] == "TransferValue":
            amount = int(a["_value"])
            value += amount if int(a["_toTokenId"]) == t else -amount
        elif s["event"] == "VoucherPaidMoved":
            amount = int(a["paid"])
            paid += amount if int(a["toTokenId"]) == t else -amount
        elif s["event"] == "VoucherPaidRounded":
            paid += 1  # the source of a move whose two shares both rounded up
        elif s["event"] == "VoucherClaimed":
            paid = int(a["paid"])
    return {"holder": holder, "value": value, "paid": paid, "burned": burned}


def verify_proof(proof: dict[str, Any], rpc_url: str) -> Verification:
    """Check a lineage proof against the node at `rpc_url`, trusting nothing else.

    Each step's log must be in its transaction's receipt at the same log index, from the same
    address, with the same topics and data; the receipt must be successful and in the stated
    block, and the stated block hash must be the canonical block at that number. The stated
    lineage must follow from the steps (each parent is the source of the first value moved in),
    and the voucher's own steps must add up to the stated value, paid and holder.
    """
    problems: list[dict[str, Any]] = []
    rpc = AuditRpc(rpc_url)
    try:
        if proof.get("digest") != digest(proof):
            problems.append({"problem": "the proof's digest does not match its content"})
        chain_id = int(rpc.call("eth_chainId"), 16)
        if chain_id != proof["chain_id"]:
            problems.append({"problem": f"the node is chain {chain_id}, the proof is for chain {proof['chain_id']}"})
        steps = proof["steps"]
        hashes = sorted({s["tx_hash"] for s in steps})
        blocks = sorted({s["block_number"] for s in steps} | {proof["as_of"]["block_number"]})
        receipts = dict(zip(hashes, rpc.batch_results([("eth_getTransactionReceipt", [h]) for h in hashes]), strict=True))
        headers = dict(zip(blocks, rpc.batch_results([("eth_getBlockByNumber", [hex(n), False]) for n in blocks]),
                           strict=True))
        ok_as_of, header = headers[proof["as_of"]["block_number"]]
        if not ok_as_of or not header or header["hash"].lower() != proof["as_of"]["block_hash"].lower():
            problems.append({"problem": "the block the proof is as of is not canonical on this node",
                             "block_number": proof["as_of"]["block_number"]})
        for s in steps:
            where = {"token_id": s["token_id"], "event": s["event"], "block_number": s["block_number"],
                     "tx_hash": s["tx_hash"], "log_index": s["log_index"]}
            ok, receipt = receipts[s["tx_hash"]]
            if not ok or not receipt:
                problems.append({**where, "problem": "no such transaction on this node"})
                continue
            if int(receipt["status"], 16) != 1:
                problems.append({**where, "problem": "the transaction failed"})
            if int(receipt["blockNumber"], 16) != s["block_number"] or \
                    receipt["blockHash"].lower() != s["block_hash"].lower():
                problems.append({**where, "problem": "the transaction is in another block"})
            ok_h, h = headers[s["block_number"]]
            if not ok_h or not h or h["hash"].lower() != s["block_hash"].lower():
                problems.append({**where, "problem": "the stated block hash is not canonical at that number"})
            log = next((lg for lg in receipt["logs"] if int(lg["logIndex"], 16) == s["log_index"]), None)
            if log is None:
                problems.append({**where, "problem": "the receipt has no log at that index"})
                continue
            if log["address"].lower() != s["address"].lower():
                problems.append({**where, "problem": "the log was emitted by another contract"})
            if [t.lower() for t in log["topics"]] != [t.lower() for t in s["topics"]] \
                    or log["data"].lower() != s["data"].lower():
                problems.append({**where, "problem": "the log's topics or data differ from the proof's"})
            if s["address"].lower() not in {a.lower() for a in proof["contracts"].values()}:
                problems.append({**where, "problem": "the log is not from the deployment's contracts"})
        problems += _check_lineage(proof)
        if "provenance" in proof:  # version 2
            problems += _check_provenance(proof)
            problems += _check_nothing_left_out(proof, rpc)
        return Verification(not problems, len(steps), problems)
    finally:
        rpc.close()


def _check_lineage(proof: dict[str, Any]) -> list[dict[str, Any]]:
    """The stated lineage and state follow from the steps (whose logs were checked on chain)."""
    from eth_abi import decode as abi_decode

    problems = []
    first_in: dict[int, int] = {}
    for s in proof["steps"]:
        if s["event"] != "TransferValue":
            continue
        # Read the amounts and ids from the verified topics and data, not from the decoded args.
        source, target = int(s["topics"][1], 16), int(s["topics"][2], 16)
        (value,) = abi_decode(["uint256"], bytes.fromhex(s["data"][2:]))
        if target and target not in first_in:
            first_in[target] = source
        if {"_fromTokenId": source, "_toTokenId": target, "_value": value} != \
                {k: int(v) for k, v in s["args"].items()}:
            problems.append({"token_id": s["token_id"], "tx_hash": s["tx_hash"], "log_index": s["log_index"],
                             "problem": "the step's decoded arguments differ from its log"})
    lineage = proof["lineage"]
    for child, parent in zip(lineage, lineage[1:] + [0], strict=True):
        if first_in.get(child) != parent:
            problems.append({"token_id": child, "problem": f"the proof names {parent} as parent, the first value "
                             f"moved into it came from {first_in.get(child)}"})
    stated = proof["state"]
    got = replay(proof)
    for key in ("holder", "value", "paid", "burned"):
        want = stated[key]
        want = int(want) if key in ("value", "paid") else want
        if got[key] != want:
            problems.append({"token_id": proof["token_id"], "problem": f"the steps give {key} {got[key]!r}, the "
                             f"proof states {want!r}"})
    return problems


def _position(step_or_until: dict[str, Any]) -> tuple[int, int]:
    return step_or_until["block_number"], step_or_until["log_index"]


def _value_move(s: dict[str, Any]) -> tuple[int, int, int]:
    """(from, to, value) of a TransferValue step, read from its (verified) topics and data."""
    from eth_abi import decode as abi_decode

    (value,) = abi_decode(["uint256"], bytes.fromhex(s["data"][2:]))
    return int(s["topics"][1], 16), int(s["topics"][2], 16), value


def _check_provenance(proof: dict[str, Any]) -> list[dict[str, Any]]:
    """Every value moved into a voucher of the provenance (up to its `until`) comes from a voucher
    the proof follows at least that far, and each voucher's steps show it holding what it gives."""
    problems: list[dict[str, Any]] = []
    end = (proof["as_of"]["block_number"], 2**63)
    limit = {int(p["token_id"]): (_position(p["until"]) if p["until"] else end) for p in proof["provenance"]}
    if int(proof["token_id"]) not in limit:
        problems.append({"token_id": proof["token_id"], "problem": "the provenance does not list the voucher itself"})
    for t in proof["lineage"][1:]:
        if t not in limit:
            problems.append({"token_id": t, "problem": "an ancestor is missing from the provenance"})
    balance = dict.fromkeys(limit, 0)
    for s in proof["steps"]:
        t = int(s["token_id"])
        if s["event"] != "TransferValue" or t not in limit or _position(s) > limit[t]:
            continue
        source, target, value = _value_move(s)
        where = {"token_id": t, "event": s["event"], "block_number": s["block_number"], "tx_hash": s["tx_hash"],
                 "log_index": s["log_index"]}
        if target == t:
            balance[t] += value
            if source and (source not in limit or limit[source] < _position(s)):
                problems.append({**where, "problem": f"value moved into {t} from {source} is not accounted for: "
                                 f"the proof does not follow {source} up to this step"})
        elif source == t:
            balance[t] -= value
            if balance[t] < 0:
                problems.append({**where, "problem": f"{t} gives {value} here, more than its steps show it holding"})
    for p in proof["provenance"]:
        t, last = int(p["token_id"]), p["until"]
        if last is None:
            continue
        out = [s for s in proof["steps"] if int(s["token_id"]) == t and _position(s) == _position(last)
               and s["event"] == "TransferValue"]
        if not out or _value_move(out[0])[0] != t or _value_move(out[0])[1] not in limit:
            problems.append({"token_id": t, **last, "problem": f"the provenance says value of {t} reached the "
                             "voucher through this step, but no step there moves its value to a followed voucher"})
    return problems


def _check_nothing_left_out(proof: dict[str, Any], rpc: AuditRpc) -> list[dict[str, Any]]:
    """Ask the node (eth_getLogs) for every TransferValue into each voucher of the provenance up
    to its `until`: each must be a step of the proof, listed under that voucher."""
    address = proof["contracts"].get("ReceivableVoucher")
    if not address or not proof["steps"]:
        return [{"problem": "the proof names no ReceivableVoucher contract or has no steps"}]
    first = min(s["block_number"] for s in proof["steps"])
    listed = {(int(s["token_id"]), s["block_hash"].lower(), int(s["log_index"])) for s in proof["steps"]
              if s["event"] == "TransferValue"}
    end = (proof["as_of"]["block_number"], 2**63)
    sources = [(int(p["token_id"]), _position(p["until"]) if p["until"] else end) for p in proof["provenance"]]
    requests = [("eth_getLogs", [{"address": address, "fromBlock": hex(first), "toBlock": hex(last[0]),
                                  "topics": [TRANSFER_VALUE_TOPIC, None, "0x" + f"{t:064x}"]}])
                for t, last in sources]
    problems = []
    for (t, last), (ok, logs) in zip(sources, rpc.batch_results(requests), strict=True):
        if not ok:
            problems.append({"token_id": t, "problem": f"the node refused the logs of value moved into {t}: {logs}"})
            continue
        for log in logs:
            if log.get("removed"):
                continue
            position = (int(log["blockNumber"], 16), int(log["logIndex"], 16))
            if position > last:
                continue
            if (t, log["blockHash"].lower(), position[1]) not in listed:
                problems.append({"token_id": t, "block_number": position[0], "tx_hash": log["transactionHash"],
                                 "log_index": position[1], "problem": f"the node has value moved into {t} here "
                                 "that the proof leaves out"})
    return problems
