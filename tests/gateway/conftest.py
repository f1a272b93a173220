"""Fixtures of the gateway tests (defined in gateway_world.py, a module name no other test dir uses)."""

from gateway_world import gw  # noqa: F401  (the package-scoped fixture)
