"""Contract calls without web3.py's per-call ABI search.

``contract.functions.transferFrom(a, b, c)`` makes web3 search the ABI for the overload the
arguments fit and then encode them: a gateway write spent a tenth of its CPU there.
`FastFunctions` stands in for ``contract.functions``: per (function, Python types of the
arguments) it lets web3 do that once, checks that plain eth_abi encoding gives the same bytes,
and from then on encodes with eth_abi directly. Anything it is not sure of (an overload the
types do not single out, an encoding that differs, an argument eth_abi refuses) goes through
web3 as before. Reads (``.call()``) and everything else are web3's own.
"""

from __future__ import annotations

import threading
from typing import Any

from eth_abi import encode
from web3.contract.contract import ContractFunction

_SLOW = object()  # the cache's mark for "always let web3 do it"


def _canonical(item: dict[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        return "(" + ",".join(_canonical(c) for c in item["components"]) + ")" + item["type"][5:]
    return item["type"]


def _fits(abi_type: str, value: Any) -> bool:
    """Whether a Python value of this kind could be meant for `abi_type` (to single out overloads)."""
    if abi_type.endswith("]") or abi_type.startswith("("):
        return isinstance(value, (list, tuple))
    if abi_type == "bool":
        return isinstance(value, bool)
    if abi_type.startswith(("uint", "int")):
        return isinstance(value, int) and not isinstance(value, bool)
    if abi_type in ("address", "string"):
        return isinstance(value, str)
    if abi_type.startswith("bytes"):
        return isinstance(value, (bytes, bytearray, str))
    return True


class FastCall:
    """One call: what Chain.transact needs (`address`, `_encode_transaction_data()`), made fast;
    anything else (``.call()``, ``.estimate_gas()``, ...) is the web3 ContractFunction's."""

    def __init__(self, functions: FastFunctions, name: str, args: tuple, data: str | None):
        self._functions, self._name, self._args, self._data = functions, name, args, data
        self.address = functions.address
        self._fn: ContractFunction | None = None

    @property
    def web3_function(self) -> ContractFunction:
        if self._fn is None:
            self._fn = getattr(self._functions.web3, self._name)(*self._args)
        return self._fn

    def _encode_transaction_data(self) -> str:
        if self._data is None:
            self._data = self.web3_function._encode_transaction_data()
        return self._data

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.web3_function, attribute)


class FastFunctions:
    """Stands in for ``contract.functions`` (see the module's docstring)."""

    def __init__(self, contract: Any):
        self.web3 = contract.functions
        self.address = contract.address
        self._abi = [item for item in contract.abi if item.get("type") == "function"]
        self._encoders: dict[tuple, Any] = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str):
        if name.startswith("_") or not any(item["name"] == name for item in self._abi):
            return getattr(self.web3, name)

        def bind(*args: Any) -> FastCall:
            return FastCall(self, name, args, self._encode(name, args))

        return bind

    def _encode(self, name: str, args: tuple) -> str | None:
        key = (name, tuple(type(a) for a in args))
        encoder = self._encoders.get(key)
        if encoder is None:
            encoder = self._learn(name, args)
            with self._lock:
                self._encoders[key] = encoder
        if encoder is _SLOW:
            return None
        selector, types = encoder
        try:
            return selector + encode(types, args).hex()
        except Exception:  # eth_abi refuses what web3 would normalise: let web3 do it
            return None

    def _learn(self, name: str, args: tuple) -> Any:
        candidates = [item for item in self._abi if item["name"] == name and len(item["inputs"]) == len(args)
                      and all(_fits(_canonical(i), a) for i, a in zip(item["inputs"], args, strict=True))]
        if len(candidates) != 1:
            return _SLOW
        types = [_canonical(i) for i in candidates[0]["inputs"]]
        try:
            expected = getattr(self.web3, name)(*args)._encode_transaction_data()
            selector = expected[:10]
            if selector + encode(types, args).hex() != expected:
                return _SLOW
        except Exception:
            return _SLOW
        return selector, types
