"""Moved to ledger.rpc (the chain connection uses it too); kept so old imports work."""

from ..rpc import *  # noqa: F403
from ..rpc import Header, Rpc, RpcError, header  # noqa: F401
