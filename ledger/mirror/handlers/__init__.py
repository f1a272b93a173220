"""Event handlers, one per (contract, event name), registered with ``@on``.

A handler receives the Store (rows as dicts, keyed by table name and primary key) and the
decoded Event, and changes rows; it never commits, never talks to the chain, and must be a
pure function of the rows and the event, so that replaying after a rollback gives the same
state. Every event of our contracts lands in the event log whether or not it has a handler.
A handler registered with ``timed=True`` also reads ``store.timestamp``, its block's timestamp
(the follower fetches the headers of those blocks only), for the times the contracts record.

Adding the events of a new contract means: add its
tables to models.py and a migration, write one module here with a handler per event, import it
at the bottom of this file, and name the contract in ledger.mirror.follower.DEPLOYMENT_CONTRACTS.
"""

from __future__ import annotations

from collections.abc import Callable

from ...types import Event
from ..store import Store

Handler = Callable[[Store, Event], None]

#: (contract name, event name) -> handler.
HANDLERS: dict[tuple[str, str], Handler] = {}
#: The (contract, event name) whose handlers read store.timestamp.
TIMED: set[tuple[str, str]] = set()


def on(contract: str, *events: str, timed: bool = False) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of `contract`'s `events`; with `timed`,
    it is given the block's timestamp (store.timestamp)."""

    def register(handler: Handler) -> Handler:
        for name in events:
            key = (contract, name)
            if key in HANDLERS:
                raise ValueError(f"{contract}.{name} already has a handler: {HANDLERS[key].__name__}")
            HANDLERS[key] = handler
            if timed:
                TIMED.add(key)
        return handler

    return register


from . import core, data_assets, financing  # noqa: E402,F401  (registers the handlers)
