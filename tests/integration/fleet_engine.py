"""One headless engine process for the fleet tests (tests/integration/test_fleet_attach.py):
a profile built as an object (no profiles file, secrets handed over), run by the very
daemon `recon-console run --headless` runs (`console.__main__._daemon`: startup
reconciliation, stream, periodic loop, the lease and the operator's commands through the
ledger) until SIGTERM.

    python tests/integration/fleet_engine.py --rest-url URL --ws-url URL --api-key K \
        --api-secret S --db POSTGRES_URL --account NAME --worker W [--ttl 2]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main(argv: list[str]) -> int:
    from console.__main__ import _daemon
    from console.bootstrap import build_session
    from console.credentials import ApiCredentials
    from console.profiles import Network, Profile

    parser = argparse.ArgumentParser(prog="fleet_engine.py")
    for name in ("--rest-url", "--ws-url", "--api-key", "--api-secret", "--db", "--account",
                 "--worker"):
        parser.add_argument(name, required=True)
    parser.add_argument("--ttl", type=float, default=2.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    profile = Profile(name=f"fleet-{args.account}", venue="bybit", network=Network.CUSTOM,
                      rest_url=args.rest_url, ws_url=args.ws_url, account=args.account,
                      reconcile_interval_s=30)
    session = build_session(profile, secrets=ApiCredentials(args.api_key, args.api_secret),
                            db_url=args.db, worker_id=args.worker, lease_ttl_s=args.ttl)
    return int(asyncio.run(_daemon(session)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
