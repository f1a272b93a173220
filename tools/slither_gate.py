"""Fail on any high or medium slither finding in contracts/ that slither.triage.json does not triage.

Run by tools/slither.sh with the slither venv's Python (standard library only):

    python tools/slither_gate.py SLITHER_JSON TRIAGE_JSON

A finding is keyed by its detector, the element it is about (``Contract.member``) and, for
findings about one statement, that statement's source text: no line numbers, so editing a
contract elsewhere does not invalidate the triage, while a change to the flagged code does.
A triage entry that matches no finding any more is an error too, so the file stays true.
Exit 0: every high/medium finding triaged; 1: untriaged findings or stale entries; 2: bad input.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

GATED = ("High", "Medium")
OURS = "contracts/"
VERDICTS = ("false positive", "accepted")


def key_of(finding: dict) -> tuple[str, str, str]:
    """(check, element, node) for a finding: see the module docstring."""
    first = finding["elements"][0]
    parent = first.get("type_specific_fields", {}).get("parent", {})
    if parent.get("type") == "function":  # a local variable: Contract.function.variable
        contract = parent.get("type_specific_fields", {}).get("parent", {}).get("name", "?")
        element = f"{contract}.{parent['name']}.{first['name']}"
    elif parent:
        element = f"{parent['name']}.{first['name']}"
    else:
        element = first["name"]
    node = next((e["name"] for e in finding["elements"] if e["type"] == "node"), "")
    return finding["check"], element, node


def is_ours(finding: dict) -> bool:
    elements = finding.get("elements") or []
    return bool(elements) and elements[0]["source_mapping"]["filename_relative"].startswith(OURS)


def load_triage(path: Path) -> dict[tuple[str, str, str], dict]:
    entries = json.loads(path.read_text())
    triage: dict[tuple[str, str, str], dict] = {}
    for i, entry in enumerate(entries["findings"]):
        missing = [f for f in ("check", "element", "verdict", "reason") if not entry.get(f)]
        if missing:
            raise ValueError(f"{path}: entry {i} lacks {', '.join(missing)}")
        if entry["verdict"] not in VERDICTS:
            raise ValueError(f"{path}: entry {i} has verdict {entry['verdict']!r}, not one of {VERDICTS}")
        triage[(entry["check"], entry["element"], entry.get("node", ""))] = entry
    return triage


def main(slither_json: str, triage_json: str) -> int:
    try:
        report = json.loads(Path(slither_json).read_text())
    except (OSError, ValueError) as exc:
        print(f"slither gate: no slither report to read ({exc}); slither itself failed", file=sys.stderr)
        return 2
    if not report.get("success"):
        print(f"slither gate: slither did not analyse the contracts: {report.get('error')}", file=sys.stderr)
        return 2
    try:
        triage = load_triage(Path(triage_json))
    except (OSError, ValueError, KeyError) as exc:
        print(f"slither gate: cannot read the triage file: {exc}", file=sys.stderr)
        return 2

    findings = [f for f in report["results"].get("detectors", []) if is_ours(f)]
    counts = Counter(f["impact"] for f in findings)
    gated = [f for f in findings if f["impact"] in GATED]
    untriaged = [f for f in gated if key_of(f) not in triage]
    matched = {key_of(f) for f in gated}
    stale = [entry for key, entry in triage.items() if key not in matched]

    print(
        "slither: findings in contracts/ by impact: "
        + ", ".join(f"{impact} {counts.get(impact, 0)}" for impact in ("High", "Medium", "Low", "Informational", "Optimization"))
    )
    for f in gated:
        if key_of(f) in triage:
            entry = triage[key_of(f)]
            print(f"  triaged ({entry['verdict']}): {f['impact']} {f['check']} {key_of(f)[1]}")
    for f in untriaged:
        check, element, node = key_of(f)
        print(f"UNTRIAGED {f['impact']} finding: {check} in {element}", file=sys.stderr)
        print("  " + f["description"].strip().replace("\n", "\n  "), file=sys.stderr)
        print(
            f'  fix it, or triage it in {triage_json}: {{"check": "{check}", "element": "{element}", '
            f'"node": {json.dumps(node)}, "verdict": "false positive", "reason": "..."}}',
            file=sys.stderr,
        )
    for entry in stale:
        print(
            f"STALE triage entry in {triage_json}: {entry['check']} {entry['element']} {entry.get('node', '')!r} "
            "matches no finding any more; remove it",
            file=sys.stderr,
        )
    if untriaged or stale:
        print(f"slither gate: {len(untriaged)} untriaged high/medium finding(s), {len(stale)} stale entries", file=sys.stderr)
        return 1
    print(f"slither gate: passed ({len(gated)} high/medium finding(s), all triaged in {triage_json})")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
