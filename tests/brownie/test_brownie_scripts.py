"""The eth-brownie scripts run under brownie itself, as the README documents.

Each test runs `.venv-brownie/bin/brownie run scripts/<name>.py --network anvil` in a subprocess
(this is the main venv's pytest, so brownie's pytest plugin plays no part): brownie compiles
contracts/ (brownie-config.yaml), launches its own Anvil on 127.0.0.1 and stops it at the end.
The run is made hermetic: the compiler is this checkout's tools/solc (a private
SOLCX_BINARY_PATH, not whatever ~/.solcx points at), the native anvil comes first on PATH, and
the port is a free one (LEDGER_BROWNIE_PORT), so that brownie never attaches to another node.

Without .venv-brownie (`bash run.sh setup` creates it) the tests skip, except in CI (CI=true).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess

import pytest
from eth_account import Account

from ledger.deploy import create_address
from ledger.node import DEV_MNEMONIC
from ledger.paths import NODE_BIN, NODE_MODULES, PROJECT_ROOT, SOLC_WRAPPER

BROWNIE = PROJECT_ROOT / ".venv-brownie" / "bin" / "brownie"
TIMEOUT = 300  # a cold run compiles contracts/ through solcjs first (about 20 s here)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """Where brownie runs: this checkout, or a copy of its brownie project when a directory in
    the checkout's path has a dot in its name (`mktemp -d` makes /tmp/tmp.XXXX). Brownie 1.22
    imports a script as a module named after its absolute path's parts, so such a path fails
    ('No module named tmp.tmp'). The copy shares node_modules (a link) and this checkout's
    compiler; scripts import the ledger installed in .venv-brownie."""
    if not any("." in part for part in PROJECT_ROOT.parts[1:]):
        return PROJECT_ROOT
    copy = tmp_path_factory.mktemp("brownie_project")
    if any("." in part for part in copy.parts[1:]):
        pytest.skip(f"no dot-free directory for brownie's script import (tried {copy})")
    shutil.copy(PROJECT_ROOT / "brownie-config.yaml", copy)
    for folder in ("contracts", "scripts"):
        shutil.copytree(PROJECT_ROOT / folder, copy / folder)
    (copy / "tools").mkdir()
    shutil.copy(PROJECT_ROOT / "tools" / "brownie.env", copy / "tools")
    (copy / "node_modules").symlink_to(NODE_MODULES)
    for folder in ("build", "tests"):  # brownie creates build/brownie and tests/brownie, not their parents
        (copy / folder).mkdir()
    return copy


def brownie_run(script: str, tmp_path, project=PROJECT_ROOT, *, console_input: str | None = None) -> str:
    """Run a brownie script (or, with `console_input`, `brownie console` fed those lines) on a
    brownie-launched Anvil; return its output (colours stripped)."""
    if not BROWNIE.exists():
        message = f"{BROWNIE} is missing: run 'bash run.sh setup'"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    solcx = tmp_path / "solcx"
    solcx.mkdir()
    (solcx / "solc-v0.8.37").symlink_to(SOLC_WRAPPER)
    native = sorted(NODE_MODULES.glob("@foundry-rs/anvil-*/bin/anvil"))
    anvil_dir = native[0].parent if native else NODE_BIN
    port = _free_port()
    env = {
        **os.environ,
        "PATH": os.pathsep.join([str(anvil_dir), str(BROWNIE.parent), os.environ.get("PATH", "")]),
        "SOLCX_BINARY_PATH": str(solcx),
        "LEDGER_BROWNIE_PORT": str(port),
    }
    # Its own session, so that a timeout can stop brownie and the Anvil it launched together.
    command = ["console"] if console_input is not None else ["run", script]
    proc = subprocess.Popen(
        [str(BROWNIE), *command, "--network", "anvil"], cwd=project, env=env,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(console_input or "", timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        pytest.fail(f"brownie run {script} took over {TIMEOUT} s:\n{ANSI.sub('', output)}")
    output = ANSI.sub("", output)
    assert proc.returncode == 0, f"brownie run {script} exited {proc.returncode}:\n{output}"
    launched = re.search(r"^Launching '(.*)'", output, re.MULTILINE)  # brownie launched its own Anvil
    assert launched and "--host 127.0.0.1" in launched[1] and f"--port {port}" in launched[1], output
    assert "Terminating local RPC client" in output, output
    assert not _listening(port), f"the Anvil brownie launched on port {port} is still running"
    return output


def _deployer() -> str:
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(DEV_MNEMONIC, account_path="m/44'/60'/0'/0/0").address


def test_deploy_script_deploys_the_contracts_wired_as_ledger_deploy(tmp_path, project):
    output = brownie_run("scripts/deploy.py", tmp_path, project)
    found = dict(re.findall(r"^  (\w+) +(0x[0-9a-fA-F]{40})$", output, re.MULTILINE))
    names = ["ReceivableVoucher", "CreditLines", "Factoring", "DataAssetRegistry", "VoucherDescriptor",
             "SettlementToken"]
    assert list(found) == names, output
    # Deployed in ledger.deploy's order from the first dev account, at the predicted addresses.
    deployer = _deployer()
    assert [found[name] for name in names] == [create_address(deployer, nonce) for nonce in range(6)]


def test_lifecycle_script_walks_a_receivable_through_its_life(tmp_path, project):
    output = brownie_run("scripts/lifecycle.py", tmp_path, project)
    steps = re.findall(r"^STEP +\d+\. (.*)$", output, re.MULTILINE)
    expected = [
        r"Deployed ReceivableVoucher 0x",
        r"Operator admits the core enterprise",
        r"Bank grants the core enterprise credit line #1",
        r"Core enterprise issues receivable #1 \(voucher #1\) of 1,000,000\.00 to Tier-1",
        r"Tier-1 accepts it",
        r"Tier-1 pays Tier-2 400,000\.00: split voucher #1 -> #2",
        r"Tier-2 pays Tier-3 150,000\.00: split voucher #2 -> #3",
        r"Tier-2 offers 100,000\.00 of voucher #2 to the bank .* offer #1, locked in voucher #4",
        r"Bank accepts: pays Tier-2 9\d,\d{3}\.\d\d for 100,000\.00 and receives voucher #4",
        r"Core enterprise repays 400,000\.00",
        r"Core enterprise repays 600,000\.00: settled",
        r"Tier-1 claims 600,000\.00 on voucher #1",
        r"Tier-2 claims 150,000\.00 on voucher #2",
        r"Tier-3 claims 150,000\.00 on voucher #3",
        r"Bank claims 100,000\.00 on voucher #4",
    ]
    assert len(steps) == len(expected), output
    for pattern, step in zip(expected, steps):
        assert re.match(pattern, step), f"step {step!r} does not match {pattern!r}"
    claimed = sum(int(c.replace(",", "").replace(".", "")) for c in re.findall(r" claims ([\d,.]+) on voucher", output))
    assert claimed == 1_000_000_00
    assert ("Value conserved: vouchers 1,000,000.00 = claims 1,000,000.00 = face value 1,000,000.00; "
            "cash supply unchanged at 20,000,000.00") in output


def test_console_session_shows_the_deployed_contracts(tmp_path, project):
    lines = [
        'run("deploy")',
        'print("voucher at", ReceivableVoucher[-1].address)',
        'print("wired:", CreditLines[-1].address == ReceivableVoucher[-1].creditLines(), '
        'Factoring[-1].voucher() == ReceivableVoucher[-1].address)',
        "exit()",
    ]
    output = brownie_run("console", tmp_path, project, console_input="\n".join(lines) + "\n")
    assert f"voucher at {create_address(_deployer(), 0)}" in output, output
    assert "wired: True True" in output, output
