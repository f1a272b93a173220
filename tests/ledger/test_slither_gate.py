"""tools/slither_gate.py: which slither reports pass CI (synthetic reports, no slither needed)."""

from __future__ import annotations

import importlib.util
import json

import pytest

from ledger.paths import PROJECT_ROOT

spec = importlib.util.spec_from_file_location("slither_gate", PROJECT_ROOT / "tools" / "slither_gate.py")
gate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gate)


def finding(check="unused-return", impact="Medium", contract="ReceivableVoucher", function="_cancel",
            node="ICreditLines(_creditLines).restore(r.lineId,faceValue,receivableId)", path="contracts/ReceivableVoucher.sol"):
    elements = [{"type": "function", "name": function, "source_mapping": {"filename_relative": path},
                 "type_specific_fields": {"parent": {"type": "contract", "name": contract}}}]
    if node:
        elements.append({"type": "node", "name": node, "source_mapping": {"filename_relative": path}})
    return {"check": check, "impact": impact, "description": f"{contract}.{function} ({path}#1-9) ...",
            "elements": elements}


def entry(check="unused-return", element="ReceivableVoucher._cancel",
          node="ICreditLines(_creditLines).restore(r.lineId,faceValue,receivableId)"):
    return {"check": check, "element": element, "node": node, "verdict": "false positive", "reason": "because"}


def run(tmp_path, findings, entries):
    report, triage = tmp_path / "report.json", tmp_path / "triage.json"
    report.write_text(json.dumps({"success": True, "error": None, "results": {"detectors": findings}}))
    triage.write_text(json.dumps({"findings": entries}))
    return gate.main(str(report), str(triage))


def test_every_high_or_medium_finding_triaged_passes(tmp_path):
    assert run(tmp_path, [finding()], [entry()]) == 0


def test_an_untriaged_medium_finding_fails_and_says_which(tmp_path, capsys):
    assert run(tmp_path, [finding(), finding(check="reentrancy-eth", impact="High", node="")], [entry()]) == 1
    assert "UNTRIAGED High finding: reentrancy-eth in ReceivableVoucher._cancel" in capsys.readouterr().err


def test_the_same_finding_on_another_statement_is_not_covered(tmp_path):
    assert run(tmp_path, [finding(node="ICreditLines(_creditLines).draw(x)")], [entry()]) == 1


def test_a_stale_entry_fails(tmp_path, capsys):
    assert run(tmp_path, [], [entry()]) == 1
    assert "STALE triage entry" in capsys.readouterr().err


@pytest.mark.parametrize("impact,path", [("Low", "contracts/A.sol"), ("Informational", "contracts/A.sol"),
                                         ("High", "node_modules/@openzeppelin/contracts/utils/Pausable.sol")])
def test_low_findings_and_dependencies_are_not_gated(tmp_path, impact, path):
    assert run(tmp_path, [finding(impact=impact, path=path)], []) == 0


def test_an_entry_without_a_reason_is_refused(tmp_path, capsys):
    assert run(tmp_path, [finding()], [{**entry(), "reason": ""}]) == 2
    assert "lacks reason" in capsys.readouterr().err


def test_a_failed_slither_run_is_an_error(tmp_path, capsys):
    report, triage = tmp_path / "report.json", tmp_path / "triage.json"
    report.write_text(json.dumps({"success": False, "error": "InvalidCompilation: ...", "results": {}}))
    triage.write_text(json.dumps({"findings": []}))
    assert gate.main(str(report), str(triage)) == 2
    assert "InvalidCompilation" in capsys.readouterr().err
