"""Benchmark: time to first rows, from opening the Jira page to its first page of
projects drawn.

The floor is one round trip: the page sends one request (the first 50 projects,
with their leads) and draws them. The sandbox serves the large site and adds
50 ms to every request.

Method: each round opens a new AppTest session (a new browser tab), visits the
API console page first so the grant's site list is already fetched, as it is
after any earlier explorer page, then switches to the Jira page. The figure is
the script time of that run (ScriptRunner._run_script: the request, the
parsing and the drawing of every element, with compiled scripts kept as a
server keeps them). The round trip is timed directly, taking turns with the
page runs: the same `lib.jira.search_projects` call with the same session
setup, outside Streamlit. Rendering is the difference. Each round checks that
the run sent exactly one request and drew 50 rows.

Run: .venv/bin/python -m benchmarks.first_rows [--tiny]
"""

from __future__ import annotations

import argparse

from benchmarks.common import (
    LATENCY_MS,
    TINY_LATENCY_MS,
    Result,
    SandboxProcess,
    connected_data_folder,
    count_http_requests,
    median,
    open_page,
    print_results,
    quiet_logging,
    script_run_times,
    server_script_cache,
    timed,
)

COMMAND = ".venv/bin/python -m benchmarks.first_rows"
TARGET_RATIO = 1.3
PAGE = "views/jira.py"
FIRST_PAGE_SIZE = 50


def round_trip_timer():
    """Return a function that times the Jira page's project request, made with
    the stored connection outside Streamlit."""
    from lib import atlassian, connect, jira
    from lib.http import create_session
    from lib.store import Store

    with Store.open() as store:
        session, endpoints = connect.authorized_session(
            store, store.active_connection(), session_factory=create_session
        )
    cloud_id = atlassian.list_sites(session, endpoints)[0].cloud_id

    def first_projects():
        return jira.search_projects(
            session,
            endpoints,
            cloud_id,
            start_at=0,
            max_results=FIRST_PAGE_SIZE,
            order_by="key",
            with_lead=True,
        )

    first_projects()
    return lambda: timed(first_projects)[1]


def time_first_rows() -> float:
    """Open the Jira page in a new session and return its script time."""
    at = open_page("views/api_console.py")
    with script_run_times() as durations, count_http_requests() as sent:
        at.switch_page(PAGE).run()
    if at.exception:
        raise RuntimeError(f"{PAGE} raised: {at.exception[0].value}")
    if len(sent) != 1:
        raise RuntimeError(f"{PAGE} sent {len(sent)} requests, not 1: {sent}")
    rows = len(at.dataframe[0].value)
    if rows != FIRST_PAGE_SIZE:
        raise RuntimeError(f"{PAGE} drew {rows} rows, not {FIRST_PAGE_SIZE}")
    return sum(durations)


def run(tiny: bool = False) -> list[Result]:
    latency_ms = TINY_LATENCY_MS if tiny else LATENCY_MS
    rounds = 1 if tiny else 9
    with (
        SandboxProcess(large=not tiny, latency_ms=latency_ms) as sandbox,
        connected_data_folder(sandbox.base_url),
        server_script_cache(),
    ):
        # An unmeasured visit compiles the scripts, as any earlier visit to the
        # server has done.
        open_page(PAGE)
        time_round_trip = round_trip_timer()
        first_rows, round_trips = [], []
        for _ in range(rounds):
            first_rows.append(time_first_rows())
            round_trips.append(time_round_trip())

    page_s = median(first_rows)
    trip_s = median(round_trips)
    ratio = page_s / trip_s
    return [
        Result(
            benchmark="Time to first rows",
            measure=f"Jira page, first {FIRST_PAGE_SIZE} projects, script time / "
            f"one round trip at {latency_ms:g} ms",
            figure=f"{ratio:.2f}x ({page_s * 1000:.0f} ms = round trip "
            f"{trip_s * 1000:.0f} ms + rendering {(page_s - trip_s) * 1000:.0f} ms, "
            f"medians of {rounds})",
            target=f"within {TARGET_RATIO}x one round trip",
            met=ratio <= TARGET_RATIO,
            command=COMMAND,
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="small site, to check")
    quiet_logging()
    print_results(run(tiny=parser.parse_args().tiny))


if __name__ == "__main__":
    main()
