"""The gas targets of the benchmark (bench/gas.py). Gas is deterministic: not a timing test.

Each target is measured side by side, in one run on one Anvil, against the ERC-3525 reference
implementation (split, value transfer, issue vs mint) or OpenZeppelin's ERC721 (whole transfer).
"""

from __future__ import annotations

import pytest

from bench.gas import TARGETS, UNIT, measure

pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def rows() -> dict[str, dict]:
    return {row["metric"]: row for row in measure()}


def test_rows_have_the_results_shape(rows):
    for metric in TARGETS:
        assert metric in rows
    for row in rows.values():
        assert set(row) == {"metric", "value", "unit", "baseline", "ratio"}
        assert row["unit"] == UNIT and isinstance(row["value"], int) and row["value"] > 21_000
        if row["baseline"] is None:
            assert row["ratio"] is None
        else:
            assert row["ratio"] == pytest.approx(row["value"] / row["baseline"], abs=1e-4)


@pytest.mark.parametrize("metric", list(TARGETS))
def test_gas_target(rows, metric):
    target, baseline = TARGETS[metric]
    row = rows[metric]
    assert row["ratio"] <= target, (
        f"{metric}: {row['value']:,} gas is {row['ratio']:.3f}× the {baseline} "
        f"({row['baseline']:,} gas); the target is ≤ {target}×"
    )
