"""kill -9 of the mirror process at random points, then a restart: the tables come out
identical to an uninterrupted run's, and equal to the chain."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import asdict

from mirror_checks import assert_mirror_matches_chain, dump

from ledger.mirror import MirrorReader


def start_mirror(mw, db: str, deployment_file, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ledger.mirror", "--rpc-url", mw.node.url, "--db", db,
         "--deployment", str(deployment_file), "--max-page", "1", "--window", "8", "--poll", "0.01", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )


def wait_for_progress(reader: MirrorReader, past: int, process: subprocess.Popen, timeout: float = 30) -> int:
    """Wait until the mirror's cursor is beyond block `past`; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()
        try:
            block = reader.block()
        except Exception:  # the schema may not exist yet
            block = None
        if block is not None and block.number > past:
            return block.number
        time.sleep(0.005)
    raise AssertionError(f"the mirror made no progress past block {past} in {timeout}s")


def test_kill_9_at_random_points_then_restart(mw, db, tmp_path):
    rng = random.Random(9)
    deployment_file = tmp_path / "deployment.json"
    deployment_file.write_text(json.dumps(asdict(mw.deployment)))
    mw.traffic(2)
    reader = MirrorReader(db)
    seen = -1
    kills = 0
    try:
        for _ in range(5):
            mw.traffic(1)  # a backlog, so that the kill lands while the mirror applies it
            process = start_mirror(mw, db, deployment_file)
            try:
                wait_for_progress(reader, seen, process)
                time.sleep(rng.uniform(0, 0.03))
            finally:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
                process.stderr.close()
                kills += 1
            seen = reader.block().number
        process = start_mirror(mw, db, deployment_file, "--exit-at-head")
        _, err = process.communicate(timeout=60)
        assert process.returncode == 0, err.decode()
    finally:
        reader.close()
    assert kills == 5
    assert_mirror_matches_chain(mw, db)

    reference = str(tmp_path / "uninterrupted.db")
    with mw.mirror(reference, window=8) as mirror:
        mirror.sync()
    assert dump(db) == dump(reference)
