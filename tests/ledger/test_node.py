"""Local nodes: the setting that selects one, start and stop by PID, clear errors."""

import pytest

from ledger import Chain, LocalNode
from ledger.exceptions import ConfigurationError, NodeError
from ledger.node import free_port, node_kind


def test_the_node_kind_comes_from_the_setting(monkeypatch):
    monkeypatch.delenv("LEDGER_NODE", raising=False)
    assert node_kind() == "anvil"
    monkeypatch.setenv("LEDGER_NODE", "ganache")
    assert node_kind() == "ganache"
    monkeypatch.setenv("LEDGER_NODE", "geth")
    with pytest.raises(ConfigurationError, match="anvil, ganache"):
        node_kind()


def test_a_node_starts_on_loopback_and_stops(node):
    fresh = LocalNode(kind=node.kind).start()
    try:
        assert fresh.url.startswith("http://127.0.0.1:")
        assert Chain(fresh.url).chain_id in (31337, 1337)
        pid = fresh.process.pid
    finally:
        fresh.stop()
    assert fresh.process is None
    import os
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_connecting_to_nothing_says_where():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(NodeError, match=url):
        Chain(url, request_timeout=2)


def test_a_node_does_not_outlive_a_killed_owner(tmp_path):
    """A run killed by a signal runs no teardown; its node must still stop (PDEATHSIG)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "owner.py"
    script.write_text(
        "import time\nfrom ledger.node import LocalNode\n"
        "n = LocalNode().start()\nprint(n.process.pid, flush=True)\ntime.sleep(120)\n"
    )
    owner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        node_pid = int(owner.stdout.readline())
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{node_pid}/stat") as stat:
                if stat.read().split()[2] == "Z":  # exited, waiting to be reaped by init
                    break
        except FileNotFoundError:
            break
        time.sleep(0.05)
    else:
        os.kill(node_pid, signal.SIGKILL)
        raise AssertionError(f"node {node_pid} outlived its killed owner")
