"""Benchmark: "Load all" of a large site against the floor its paging allows.

The sandbox serves 10,000 Jira projects and 2,000 Confluence spaces and adds a
fixed latency to every request. The floor is the time the round trips that the
page limits force take at that latency, with nothing else counted. Offset pages
(Jira, 100 per page) are fetched four at a time once the first page has given
the total, so the floor is one round trip for the first page plus one for each
four of the other 99. Cursor pages (Confluence, 250 per page) are fetched one
after another, so the floor is one round trip per page.

Run: .venv/bin/python -m benchmarks.load_all [--latency-ms 50] [--tiny]
"""

from __future__ import annotations

import argparse
import math

from benchmarks.common import (
    LATENCY_MS,
    TINY_LATENCY_MS,
    Result,
    SandboxProcess,
    connect_client,
    cpu_seconds,
    median,
    print_results,
    timed,
)
from lib import confluence, jira, paging

COMMAND = ".venv/bin/python -m benchmarks.load_all"
SCOPES = ("read:jira-work", "read:space:confluence")
TARGET_RATIO = 1.3


def count_items(pages) -> int:
    return sum(len(page.items) for page in pages)


def list_projects(client) -> int:
    """List every project the way Load all does, and return how many came."""
    return count_items(
        jira.iter_all_projects(client.session, client.endpoints, client.cloud_id)
    )


def list_spaces(client) -> int:
    """List every space the way Load all does, and return how many came."""
    return count_items(
        confluence.iter_all_spaces(client.session, client.endpoints, client.cloud_id)
    )


def run(tiny: bool = False, latency_ms: float | None = None) -> list[Result]:
    if latency_ms is None:
        latency_ms = TINY_LATENCY_MS if tiny else LATENCY_MS
    rounds = 1 if tiny else 3
    latency = latency_ms / 1000
    with SandboxProcess(large=not tiny, latency_ms=latency_ms) as sandbox:
        client = connect_client(sandbox.base_url, SCOPES)
        client_cpu, sandbox_cpu = cpu_seconds(), cpu_seconds(sandbox.pid)
        project_runs = [timed(lambda: list_projects(client)) for _ in range(rounds)]
        client_cpu = (cpu_seconds() - client_cpu) / rounds
        sandbox_cpu = (cpu_seconds(sandbox.pid) - sandbox_cpu) / rounds
        space_runs = [timed(lambda: list_spaces(client)) for _ in range(rounds)]

    projects = project_runs[0][0]
    pages = math.ceil(projects / jira.PROJECT_PAGE_MAX)
    later_rounds = math.ceil((pages - 1) / paging.MAX_CONCURRENCY)
    project_result = _result(
        f"Jira projects ({projects}), {jira.PROJECT_PAGE_MAX} per page, "
        f"{paging.MAX_CONCURRENCY} in flight",
        median(seconds for _, seconds in project_runs),
        (1 + later_rounds) * latency,
        f"(1 + {pages - 1} pages / {paging.MAX_CONCURRENCY}) round trips x "
        f"{latency_ms:g} ms",
        details=(
            f"CPU time per listing: {client_cpu:.2f} s in the client, "
            f"{sandbox_cpu:.2f} s in the sandbox (one event loop)",
        ),
    )

    spaces = space_runs[0][0]
    pages = math.ceil(spaces / confluence.SPACE_PAGE_MAX_V2)
    space_result = _result(
        f"Confluence spaces ({spaces}), REST v2, {confluence.SPACE_PAGE_MAX_V2} "
        "per page, cursor paging",
        median(seconds for _, seconds in space_runs),
        pages * latency,
        f"{pages} round trips x {latency_ms:g} ms",
    )
    return [project_result, space_result]


def _result(
    measure: str, seconds: float, floor: float, floor_text: str, details=()
) -> Result:
    ratio = seconds / floor
    return Result(
        benchmark="Load all",
        measure=measure,
        figure=f"{ratio:.2f}x the floor ({seconds:.2f} s vs {floor:.2f} s = "
        f"{floor_text})",
        target=f"within {TARGET_RATIO}x the floor",
        met=ratio <= TARGET_RATIO,
        command=COMMAND,
        details=tuple(details),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=None,
        help=f"delay the sandbox adds to each request, in ms (default {LATENCY_MS:g})",
    )
    parser.add_argument("--tiny", action="store_true", help="small site, to check")
    arguments = parser.parse_args()
    print_results(run(tiny=arguments.tiny, latency_ms=arguments.latency_ms))


if __name__ == "__main__":
    main()
