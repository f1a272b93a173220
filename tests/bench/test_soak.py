"""A small soak (bench/soak.py) in every test run: 300 mixed operations with reorgs and mirror
kills every 60-120 operations; afterwards the audit of chain, views and mirror finds nothing.
The full run is ``python -m bench.soak`` (10,000 operations, bench/results/soak.json)."""

from __future__ import annotations

import json

import pytest

from bench.gas import write_results
from bench.soak import rows_of, run_soak

pytestmark = pytest.mark.chain

OPERATIONS = 300


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    return run_soak(OPERATIONS, seed=3, workdir=tmp_path_factory.mktemp("soak"), every=(60, 120))


def test_the_audit_finds_nothing_after_reorgs_and_mirror_kills(figures):
    counters, result = figures["counters"], figures["audit"]
    assert counters.operations >= OPERATIONS
    assert counters.reorgs >= 2 and counters.kills >= 2, counters
    assert result.ok, [d.to_json() for d in result.discrepancies[:10]]
    assert figures["mirror_block"] == figures["head"] == result.block
    assert len(counters.by_operation) >= 10, counters.by_operation  # a mix, not one kind


def test_results_have_the_benchmark_shape(figures, tmp_path):
    path = write_results(rows_of(figures), tmp_path / "soak.json", "test machine")
    written = json.loads(path.read_text())
    rows = {row["metric"]: row for row in written["rows"]}
    assert written["machine"] == "test machine"
    for metric in ("operations", "reorgs", "kills", "discrepancies"):
        assert set(rows[metric]) == {"metric", "value", "unit", "baseline", "ratio"}
    assert rows["discrepancies"]["value"] == 0
    assert rows["operations"]["value"] == figures["counters"].operations
    assert rows["operations"]["ratio"] == pytest.approx(rows["operations"]["value"] / 10_000, abs=1e-4)
