"""Benchmarks: gas per operation against reference implementations (python -m bench.gas)."""
