"""Moved to ledger.logs (the chain connection uses it too); kept so old imports work."""

from ..logs import LogDecoder, checksum, signature, text  # noqa: F401
