"""Fixtures of the fault tests (defined in faults_world.py, a module name no other test dir uses)."""

from faults_world import fw  # noqa: F401  (a fresh chain, deployment and gateway process per test)
