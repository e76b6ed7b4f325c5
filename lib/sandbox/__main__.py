"""Command line: python -m lib.sandbox [--port N] [--host H] [--large] [...].

Prints "Sandbox listening on URL" once the server serves, then runs until SIGINT
or SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from lib.sandbox.config import DEFAULT_REDIRECT_URI, SandboxConfig
from lib.sandbox.server import SandboxServer


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m lib.sandbox",
        description="Run a local stand-in for Atlassian's OAuth server and REST API.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port to listen on; 0 picks a free one"
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0,
        help="delay added to the token endpoint and every API route, in milliseconds",
    )
    parser.add_argument(
        "--token-lifetime",
        type=float,
        default=3600,
        help="access token lifetime in seconds (default 3600)",
    )
    parser.add_argument(
        "--large",
        action="store_true",
        help="serve a large main site: 10,000 projects, 2,000 spaces, 50,000 "
        "issues and 600 handbook pages",
    )
    parser.add_argument(
        "--redirect-uri",
        default=DEFAULT_REDIRECT_URI,
        help=f"callback URL of the practice client (default {DEFAULT_REDIRECT_URI})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    make_config = SandboxConfig.large if args.large else SandboxConfig
    config = make_config(
        token_lifetime=args.token_lifetime,
        latency_ms=args.latency_ms,
        practice_redirect_uri=args.redirect_uri,
    )
    server = SandboxServer(config, host=args.host, port=args.port)

    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())

    url = server.start()
    print(f"Sandbox listening on {url}", flush=True)
    while not stopping.wait(0.5):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
