"""Fixtures of the audit tests (defined in audit_world.py, a module name no other test dir uses)."""

from audit_world import audited, gateway_copy, mirror_copy  # noqa: F401  (the fixtures)
