"""``python -m sandbox``: run the sandbox until stopped."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading

from sandbox.core import SeedError
from sandbox.seeds import SEED_NAMES, load_seed
from sandbox.server import Sandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument(
        "--seed",
        default="demo",
        help=f"{', '.join(SEED_NAMES)}, or a path to a seed JSON document",
    )
    parser.add_argument("--smtp-port", type=int, default=None)
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")

    sandbox = Sandbox(args.host, args.port, time_scale=args.time_scale, smtp_port=args.smtp_port)
    try:
        sandbox.seed(load_seed(args.seed))
    except (SeedError, ValueError) as exc:
        print(f"sandbox: seed {args.seed!r} refused: {exc}", file=sys.stderr)
        return 2
    sandbox.start()
    print(f"sandbox listening on {sandbox.base_url}", flush=True)
    if sandbox.mail:
        print(f"sandbox SMTP on {sandbox.host}:{sandbox.mail.port}", flush=True)
    for conn_id, conn in sandbox.connections().items():
        print(f"AIRFLOW_CONN_{conn_id.upper()}='{json.dumps(conn)}'", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
