#!/usr/bin/env bash
# Slither on contracts/ (the top-level contracts and everything they import; mocks are test
# doubles and stay out). There is no native solc here, so crytic-compile builds one
# standard-JSON job (--solc-standard-json) and hands it to tools/solc, the solcjs wrapper.
# Fails on any high or medium finding in contracts/ that slither.triage.json does not triage
# (tools/slither_gate.py). About 10 s. Extra arguments go to slither (e.g. --print human-summary).
set -uo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

slither=.venv-slither/bin/slither
if [[ ! -x "$slither" ]]; then
    echo "tools/slither.sh: $slither is missing; run 'bash run.sh setup' first" >&2
    exit 127
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

echo "=== slither: contracts/ through tools/solc ===" >&2
# slither exits non-zero whenever it reports anything (all impacts); the gate decides.
"$slither" contracts --solc-standard-json --solc tools/solc-slither --json "$out/slither.json" "$@" \
    > "$out/slither.log" 2>&1
code=$?
if [[ ! -s "$out/slither.json" ]]; then
    cat "$out/slither.log" >&2
    echo "=== slither failed (exit $code) before writing its report ===" >&2
    exit 2
fi
.venv-slither/bin/python tools/slither_gate.py "$out/slither.json" slither.triage.json
status=$?
exit $status
