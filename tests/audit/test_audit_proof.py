"""A voucher's lineage proof: every step checkable against any node; an altered one fails."""

from __future__ import annotations

import copy
import json

from typer.testing import CliRunner

from ledger.audit import Auditor, verify_proof
from ledger.audit.proof import digest
from ledger.cli import app


def _proof(audited, token_id: int) -> dict:
    with Auditor(audited.url, audited.deployment) as auditor:
        return auditor.proof(token_id)


def test_a_proof_traces_a_voucher_to_its_root_step_by_step(audited):
    ids = audited.ids
    proof = _proof(audited, ids["grandchild"])

    assert proof["lineage"] == [ids["grandchild"], ids["child"], ids["settled_root"]]
    assert proof["receivable_id"] == ids["settled"] and proof["document_hash"] == ids["document"]
    kinds = [(s["token_id"], s["kind"]) for s in proof["steps"] if s["token_id"] == ids["grandchild"]]
    assert kinds[:3] == [(ids["grandchild"], "mint"), (ids["grandchild"], "slot"), (ids["grandchild"], "value_in")]
    assert (ids["grandchild"], "claim") in kinds
    assert [s["kind"] for s in proof["steps"]].count("issue") == 1
    order = [(s["block_number"], s["log_index"]) for s in proof["steps"]]
    assert order == sorted(order)  # chain order (a step of two lineage vouchers is listed under each)
    for step in proof["steps"]:
        assert {"block_number", "block_hash", "tx_hash", "log_index", "topics", "data"} <= set(step)
    assert proof["state"]["value"] == 15_000 and proof["state"]["paid"] == 15_000
    assert json.loads(json.dumps(proof)) == proof

    result = verify_proof(proof, audited.url)
    assert result.ok, result.problems
    assert result.checked_logs == len(proof["steps"])


def test_a_proof_whose_log_was_altered_fails_at_that_step(audited):
    proof = _proof(audited, audited.ids["grandchild"])
    forged = copy.deepcopy(proof)
    step = next(s for s in forged["steps"] if s["kind"] == "value_in")
    step["data"] = "0x" + f"{10**6:064x}"  # claim the split moved 1,000,000
    step["args"]["_value"] = 10**6
    forged["state"]["value"] = 10**6 - 0  # and make the story consistent
    forged["digest"] = digest(forged)

    result = verify_proof(forged, audited.url)

    assert not result.ok
    problem = next(p for p in result.problems if "topics or data" in p["problem"])
    assert (problem["tx_hash"], problem["log_index"]) == (step["tx_hash"], step["log_index"])


def test_a_proof_with_a_false_parent_or_block_fails(audited):
    ids = audited.ids
    proof = _proof(audited, ids["grandchild"])
    false_parent = copy.deepcopy(proof)
    false_parent["lineage"] = [ids["grandchild"], ids["settled_root"]]
    false_parent["digest"] = digest(false_parent)
    assert any("parent" in p["problem"] for p in verify_proof(false_parent, audited.url).problems)

    moved = copy.deepcopy(proof)
    moved["steps"][1]["block_hash"] = "0x" + "ab" * 32
    moved["digest"] = digest(moved)
    assert any("canonical" in p["problem"] or "another block" in p["problem"]
               for p in verify_proof(moved, audited.url).problems)

    stale = copy.deepcopy(proof)
    stale["state"]["holder"] = audited.world.bank.address  # edited without re-digesting
    result = verify_proof(stale, audited.url)
    assert {p["problem"] for p in result.problems} >= {"the proof's digest does not match its content"}


def test_the_cli_exports_and_verifies_a_proof(audited, tmp_path):
    deployment = tmp_path / "deployment.json"
    deployment.write_text(json.dumps(audited.deployment.__dict__))
    out = tmp_path / "proof.json"
    runner = CliRunner()
    exported = runner.invoke(app, ["proof", str(audited.ids["child"]), "--rpc-url", audited.url,
                                   "--deployment", str(deployment), "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert json.loads(out.read_text())["lineage"] == [audited.ids["child"], audited.ids["settled_root"]]
    verified = runner.invoke(app, ["proof", "--verify", str(out), "--rpc-url", audited.url])
    assert verified.exit_code == 0 and "valid" in verified.output, verified.output

    data = json.loads(out.read_text())
    data["steps"][-1]["topics"][0] = "0x" + "00" * 32
    data["digest"] = digest(data)
    out.write_text(json.dumps(data))
    refused = runner.invoke(app, ["proof", "--verify", str(out), "--rpc-url", audited.url])
    assert refused.exit_code == 1 and "INVALID" in refused.output


def test_a_proof_follows_value_merged_in_from_a_sibling_and_moved_in_from_a_cousin(audited):
    ids = audited.ids
    a, b, d, root = ids["merged_into"], ids["merged_sibling"], ids["merged_cousin"], ids["merged_root"]
    proof = _proof(audited, a)

    assert proof["lineage"] == [a, root] and proof["state"]["value"] == 30_000 + 2_000 + 15_000
    sources = {p["token_id"]: p for p in proof["provenance"]}
    assert set(sources) == {a, b, d, root} and sources[a]["until"] is None
    assert sources[b]["parent_id"] == root and sources[d]["parent_id"] == b
    incoming = [s for s in proof["steps"] if s["token_id"] == a and s["kind"] == "value_in"]
    assert [int(s["args"]["_fromTokenId"]) for s in incoming] == [root, d, b]  # split, value transfer, merge
    merge_in, transfer_in = incoming[2], incoming[1]
    assert (sources[b]["until"]["tx_hash"], sources[b]["until"]["log_index"]) == (merge_in["tx_hash"],
                                                                                   merge_in["log_index"])
    assert sources[d]["until"]["tx_hash"] == transfer_in["tx_hash"]
    # the sources' own histories are listed up to the step that gave their value: B's mint from the
    # root and its split to D; D's mint from B; each with block, tx hash and log index
    kinds = {(s["token_id"], s["kind"]) for s in proof["steps"]}
    assert {(b, "mint"), (b, "value_in"), (b, "value_out"), (d, "mint"), (d, "value_in"), (d, "value_out")} <= kinds
    for step in proof["steps"]:
        assert {"block_number", "block_hash", "tx_hash", "log_index", "topics", "data"} <= set(step)

    result = verify_proof(proof, audited.url)
    assert result.ok, result.problems
    assert result.checked_logs == len(proof["steps"])


def test_a_proof_with_a_tampered_incoming_step_fails_verify(audited):
    ids = audited.ids
    a, b, d = ids["merged_into"], ids["merged_sibling"], ids["merged_cousin"]
    proof = _proof(audited, a)

    # the merge claims to have brought 25,000, not 15,000 (log data, decoded args and state agree)
    forged = copy.deepcopy(proof)
    for step in forged["steps"]:
        if step["event"] == "TransferValue" and int(step["args"]["_fromTokenId"]) == b \
                and int(step["args"]["_toTokenId"]) == a:
            step["data"] = "0x" + f"{25_000:064x}"
            step["args"]["_value"] = 25_000
            tampered = step
    forged["state"]["value"] = 30_000 + 2_000 + 25_000
    forged["digest"] = digest(forged)
    result = verify_proof(forged, audited.url)
    assert not result.ok
    located = [(p.get("tx_hash"), p.get("log_index")) for p in result.problems if "topics or data" in p["problem"]]
    assert (tampered["tx_hash"], tampered["log_index"]) in located

    # the cousin's history dropped: the value it moved into A comes from nowhere the proof shows
    unfollowed = copy.deepcopy(proof)
    unfollowed["steps"] = [s for s in unfollowed["steps"] if s["token_id"] != d]
    unfollowed["provenance"] = [p for p in unfollowed["provenance"] if p["token_id"] != d]
    unfollowed["digest"] = digest(unfollowed)
    problems = verify_proof(unfollowed, audited.url).problems
    assert any(p.get("token_id") == a and f"from {d} is not accounted for" in p["problem"] for p in problems)

    # the incoming step left out altogether (and the state restated): the node still has it
    omitted = copy.deepcopy(proof)
    dropped = next(s for s in omitted["steps"] if s["token_id"] == a and s["kind"] == "value_in"
                   and int(s["args"]["_fromTokenId"]) == d)
    omitted["steps"] = [s for s in omitted["steps"] if s["token_id"] != d
                        and (s["tx_hash"], s["log_index"]) != (dropped["tx_hash"], dropped["log_index"])]
    omitted["provenance"] = [p for p in omitted["provenance"] if p["token_id"] != d]
    omitted["state"]["value"] = 30_000 + 15_000
    omitted["digest"] = digest(omitted)
    problems = verify_proof(omitted, audited.url).problems
    assert [(p["token_id"], p["tx_hash"], p["log_index"]) for p in problems] == [
        (a, dropped["tx_hash"], dropped["log_index"])]
    assert "leaves out" in problems[0]["problem"]
