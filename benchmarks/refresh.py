"""Benchmark: twenty sessions whose access token expires at the same moment.

Twenty threads stand for twenty browser tabs of one dashboard process on one
connection. The consent is made while the sandbox issues tokens that live 30
seconds, less than the dashboard's refresh leeway (connect.REFRESH_LEEWAY, 60
seconds), so the stored token counts as expiring. Then the sandbox goes back to
one-hour tokens and the twenty threads call `connect.authorized_session` at
once, each with its own store connection as each script run has. The sandbox's
GET /_sandbox/stats counts the refresh requests that arrived.

The slowest session's added wait is its time in `authorized_session` minus the
slowest time of twenty sessions that start together with a fresh token.

Run: .venv/bin/python -m benchmarks.refresh [--tiny]
"""

from __future__ import annotations

import argparse
import threading

from benchmarks.common import (
    LATENCY_MS,
    TINY_LATENCY_MS,
    Result,
    SandboxProcess,
    connected_data_folder,
    print_results,
    quiet_logging,
    timed,
)

COMMAND = ".venv/bin/python -m benchmarks.refresh"
SESSIONS = 20
EXPIRING_LIFETIME = 30
FRESH_LIFETIME = 3600


def open_sessions_at_once(count: int) -> list[float]:
    """Call authorized_session from `count` threads released together and
    return each call's seconds."""
    from lib import connect
    from lib.http import create_session
    from lib.store import Store

    barrier = threading.Barrier(count)
    seconds: list[float] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def session() -> None:
        try:
            with Store.open() as store:
                connection = store.active_connection()
                barrier.wait()
                _, elapsed = timed(
                    lambda: connect.authorized_session(
                        store, connection, session_factory=create_session
                    )
                )
            with lock:
                seconds.append(elapsed)
        except BaseException as exc:  # reported after the join
            with lock:
                failures.append(exc)

    threads = [threading.Thread(target=session) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} sessions failed") from failures[0]
    return seconds


def run(tiny: bool = False) -> list[Result]:
    latency_ms = TINY_LATENCY_MS if tiny else LATENCY_MS
    sandbox = SandboxProcess(
        large=False, latency_ms=latency_ms, token_lifetime=EXPIRING_LIFETIME
    )
    with sandbox, connected_data_folder(sandbox.base_url):
        sandbox.change_settings(token_lifetime=FRESH_LIFETIME)
        before = sandbox.token_requests().get("refresh_token", 0)
        expiring = open_sessions_at_once(SESSIONS)
        refreshes = sandbox.token_requests().get("refresh_token", 0) - before
        fresh = open_sessions_at_once(SESSIONS)

    added_ms = (max(expiring) - max(fresh)) * 1000
    return [
        Result(
            benchmark="Refresh under load",
            measure=f"refresh requests from {SESSIONS} sessions whose token "
            "expires at once",
            figure=f"{refreshes}",
            target="exactly 1",
            met=refreshes == 1,
            command=COMMAND,
        ),
        Result(
            benchmark="Refresh under load",
            measure="slowest session's added wait",
            figure=f"{added_ms:.0f} ms (slowest {max(expiring) * 1000:.0f} ms with "
            f"the refresh, {max(fresh) * 1000:.0f} ms with a fresh token; the "
            f"token endpoint answers after {latency_ms:g} ms)",
            target="reported",
            met=None,
            command=COMMAND,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="shorter latency")
    quiet_logging()
    print_results(run(tiny=parser.parse_args().tiny))


if __name__ == "__main__":
    main()
