"""Run the mirror as a process: ``python -m ledger.mirror --rpc-url URL --db DB --deployment FILE``.

It follows the head until SIGTERM or Ctrl-C (or, with --exit-at-head, until it has caught up),
and exits with status 3 if it halts on a reorg deeper than its window.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path

from ..deploy import Deployment
from .follower import Mirror, MirrorHalted

HALTED_EXIT = 3


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ledger.mirror", description=__doc__.splitlines()[0])
    p.add_argument("--rpc-url", required=True, help="the node's JSON-RPC endpoint")
    p.add_argument("--db", default="mirror.db", help="SQLAlchemy URL or SQLite file (default: mirror.db)")
    p.add_argument("--deployment", required=True, type=Path, help="deployment JSON (deployments/<chain id>.json)")
    p.add_argument("--window", type=int, default=64, help="reorg window in blocks (default 64)")
    p.add_argument("--max-page", type=int, default=2000, help="most blocks per eth_getLogs (default 2000)")
    p.add_argument("--poll", type=float, default=0.05, help="seconds between head polls (default 0.05)")
    p.add_argument("--exit-at-head", action="store_true", help="catch up to the head, then exit")
    p.add_argument("--rebuild", action="store_true", help="empty the mirror's tables first (after a halt)")
    return p


def run(rpc_url: str, db: str, deployment_file: Path, *, window: int = 64, max_page: int = 2000,
        poll: float = 0.05, exit_at_head: bool = False, rebuild: bool = False) -> int:
    """Run one mirror writer; return the process exit status."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    deployment = Deployment(**json.loads(deployment_file.read_text()))
    with Mirror(rpc_url, db, deployment, window=window, max_page=max_page, poll_interval=poll) as mirror:
        if rebuild:
            mirror.rebuild()
        signal.signal(signal.SIGTERM, lambda *_: mirror.stop())
        try:
            if exit_at_head:
                cursor = mirror.sync()
                logging.getLogger("ledger.mirror").info("caught up to block %s", cursor)
            else:
                mirror.run()
        except MirrorHalted as halted:
            print(f"mirror halted: {halted}", file=sys.stderr)
            return HALTED_EXIT
        except KeyboardInterrupt:
            pass
    return 0


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    return run(a.rpc_url, a.db, a.deployment, window=a.window, max_page=a.max_page, poll=a.poll,
               exit_at_head=a.exit_at_head, rebuild=a.rebuild)


if __name__ == "__main__":
    sys.exit(main())
