# Set-up, sourced by run.sh: npm toolchain, Python venvs, the solc wrapper. Idempotent and
# fast the second time: each step is skipped while the inputs it was built from are unchanged.

STAMPS=.setup-stamps
BROWNIE_VERSION=1.22.2
SLITHER_VERSION=0.11.6

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[setup]\033[0m %s\n' "$*" >&2; exit 1; }

digest() { cat "$@" | sha256sum | cut -c1-16; }

fresh() {  # fresh NAME DIGEST: true when step NAME was last done from DIGEST
    [[ -f "$STAMPS/$1" && "$(cat "$STAMPS/$1")" == "$2" ]]
}

stamp() { mkdir -p "$STAMPS"; echo "$2" > "$STAMPS/$1"; }

find_python() {
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return
        fi
    done
    die "Python 3.11 is required (python3.11 or python3 on PATH)"
}

setup_npm() {
    command -v npm >/dev/null || die "Node.js and npm are required (node >= 18)"
    local d
    d="$(digest package.json package-lock.json)"
    if fresh npm "$d" && [[ -x node_modules/.bin/anvil && -x node_modules/.bin/solcjs ]]; then return; fi
    say "installing the npm toolchain (solc, anvil, ganache, OpenZeppelin) from package-lock.json"
    # Not `npm ci`: it insists on lock entries for Anvil's other-platform optional packages,
    # which this registry does not serve (404). `npm install` honours the lock for the rest.
    npm install --no-audit --no-fund --loglevel=error
    stamp npm "$d"
}

setup_venv() {
    local python d
    python="$(find_python)"
    d="$(digest pyproject.toml)"
    if fresh venv "$d" && [[ -x .venv/bin/python ]]; then return; fi
    say "creating .venv and installing the ledger with its test dependencies"
    [[ -x .venv/bin/python ]] || "$python" -m venv .venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
    stamp venv "$d"
}

# eth-brownie pins 83 exact versions (hypothesis 6.27, pytest 9.1, web3 7.16, ...), so it gets
# its own venv; the ledger is installed there without dependencies (web3 7.16 serves both).
setup_brownie() {
    local python d
    python="$(find_python)"
    d="$(echo "$BROWNIE_VERSION" | cat - pyproject.toml | sha256sum | cut -c1-16)"
    if fresh brownie "$d" && [[ -x .venv-brownie/bin/brownie ]]; then return; fi
    say "creating .venv-brownie with eth-brownie $BROWNIE_VERSION"
    [[ -x .venv-brownie/bin/python ]] || "$python" -m venv .venv-brownie
    .venv-brownie/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv-brownie/bin/python -m pip install --quiet --disable-pip-version-check "eth-brownie==$BROWNIE_VERSION"
    .venv-brownie/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
    stamp brownie "$d"
}

# brownie launches the `anvil` it finds on PATH (brownie-config.yaml: `--network anvil`): link
# the native binary into .venv-brownie/bin, on PATH once the venv is activated. Not
# node_modules/.bin/anvil: that is a Node launcher, and its child outlives brownie's kill.
setup_brownie_anvil() {
    local native
    native="$(ls -d "$(pwd)"/node_modules/@foundry-rs/anvil-*/bin/anvil 2>/dev/null | head -n 1)"
    [[ -n "$native" ]] || die "no native anvil under node_modules/@foundry-rs/"
    if [[ "$(readlink .venv-brownie/bin/anvil 2>/dev/null)" == "$native" ]]; then return; fi
    ln -sfn "$native" .venv-brownie/bin/anvil
}

# slither-analyzer (static analysis, tools/slither.sh) pins its own web3 and crytic-compile:
# its own venv, like brownie. It compiles through tools/solc (no solc-select download).
setup_slither() {
    local python d
    python="$(find_python)"
    d="$(echo "$SLITHER_VERSION" | sha256sum | cut -c1-16)"
    if fresh slither "$d" && [[ -x .venv-slither/bin/slither ]]; then return; fi
    say "creating .venv-slither with slither-analyzer $SLITHER_VERSION"
    [[ -x .venv-slither/bin/python ]] || "$python" -m venv .venv-slither
    .venv-slither/bin/python -m pip install --quiet --disable-pip-version-check "slither-analyzer==$SLITHER_VERSION"
    stamp slither "$d"
}

# py-solc-x and brownie look for compilers in $SOLCX_BINARY_PATH (default ~/.solcx) as
# solc-v<version>; the wrapper registered there is found by both, and nothing is downloaded.
setup_solc() {
    local target="${SOLCX_BINARY_PATH:-$HOME/.solcx}/solc-v0.8.37"
    if [[ "$(readlink -f "$target" 2>/dev/null)" == "$(readlink -f tools/solc)" ]]; then return; fi
    say "registering tools/solc as $target"
    mkdir -p "$(dirname "$target")"
    ln -sfn "$(pwd)/tools/solc" "$target"
}

setup() {
    setup_npm
    setup_venv
    setup_brownie
    setup_brownie_anvil
    setup_slither
    setup_solc
}
