#!/usr/bin/env bash
# Slither on the contracts, the whole suite on Anvil, then the contract tests again on Ganache
# (the alternative node).
# pytest's exit code 5 means no test ran: that is a failure here, never a pass.
set -uo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

run_pytest() {
    local label="$1"; shift
    echo "=== $label: pytest $* ===" >&2
    .venv/bin/python -m pytest "$@"
    local code=$?
    if [[ $code -eq 5 ]]; then
        echo "=== $label: pytest collected no tests; failing ===" >&2
        return 1
    fi
    return $code
}

status=0
if [[ $# -gt 0 ]]; then
    run_pytest "selected tests" "$@" || status=1
    exit $status
fi
# Static analysis first (about 10 s): any untriaged high/medium slither finding fails the run.
bash tools/slither.sh || status=1
# A throwaway PostgreSQL for the mirror tests' PostgreSQL cases (tools/postgres.sh); they fail
# in CI if it could not start, and skip elsewhere.
source tools/postgres.sh
trap pg_stop EXIT
pg_start || echo "=== PostgreSQL did not start: the mirror's PostgreSQL cases will not pass ===" >&2
# Debian's chromium for the explorer's browser tests (tools/chromium.sh; they fail in CI without it).
source tools/chromium.sh
chromium_install || echo "=== chromium could not be installed: the explorer's browser tests will not pass ===" >&2
LEDGER_NODE=anvil run_pytest "Anvil, whole suite" || status=1
LEDGER_NODE=ganache run_pytest "Ganache, contract tests" tests/contracts || status=1
exit $status
