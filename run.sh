#!/usr/bin/env bash
# The one entry point for a fresh machine. Every command first runs the set-up, which
# installs only what changed since the last run (stamps in .setup-stamps/).
#
#   bash run.sh demo     set up, then run the demo on a local Anvil (the README's first command)
#   bash run.sh test     set up, then run the whole test suite (the README's second command)
#   bash run.sh setup    only set up
#   bash run.sh gas      set up, then print the gas benchmark (bench/results/gas.json)
#   bash run.sh slither  set up, then run slither on contracts/ (tools/slither.sh)
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
source tools/setup.sh

command="${1:-demo}"
shift || true
setup
case "$command" in
    setup) ;;
    demo) exec .venv/bin/ledger demo "$@" ;;
    test) exec bash tools/test.sh "$@" ;;
    gas) exec .venv/bin/python -m bench.gas "$@" ;;
    slither) exec bash tools/slither.sh "$@" ;;
    *) echo "usage: bash run.sh [demo|test|setup|gas|slither]" >&2; exit 2 ;;
esac
