"""Checks that migrations share: a schema that starts applying events the database had only
logged must not leave the mirror silently wrong."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from alembic import op


def halt_if_logged(contract: str, events: Iterable[str], message: str) -> None:
    """Mark the mirror halted (with `message`) if its event_log holds any of `contract`'s
    `events`: they were logged by an older schema that did not apply them."""
    names = ", ".join(f"'{name}'" for name in events)
    op.execute(sa.text(
        "UPDATE mirror_cursor SET status = 'halted', message = :message "
        f"WHERE EXISTS (SELECT 1 FROM event_log WHERE contract = '{contract}' AND name IN ({names}))"
    ).bindparams(message=message))
