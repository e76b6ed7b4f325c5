"""Command line: python -m lib.sandbox.measure [--repeat N].

Measures the large sample data (SandboxConfig.large()): the time and resident
memory to build it, and the time of page requests to a running sandbox on
127.0.0.1. Prints one JSON object. Times are wall-clock milliseconds on the
machine that runs the command; each request is repeated and reported as median
and maximum.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import requests

from lib.sandbox.config import PRACTICE_CLIENT_ID, PRACTICE_CLIENT_SECRET, SandboxConfig
from lib.sandbox.data import HANDBOOK_KEY, build_dataset
from lib.sandbox.server import SandboxServer

_SCOPES = (
    "read:jira-work",
    "read:jira-user",
    "read:space:confluence",
    "read:page:confluence",
)


def _rss_mb() -> float:
    """Return the resident set size of this process in MB (Linux /proc, else peak)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure_build(config: SandboxConfig) -> dict:
    gc.collect()
    rss_before = _rss_mb()
    started = time.perf_counter()
    dataset = build_dataset(
        config.project_count,
        config.space_count,
        config.issue_count,
        config.handbook_pages,
    )
    built = time.perf_counter()
    for site in dataset.sites:
        site.issues.ensure_built()
    columns = time.perf_counter()
    gc.collect()
    return {
        "build_dataset_ms": round((built - started) * 1000, 1),
        "build_issue_columns_ms": round((columns - built) * 1000, 1),
        "rss_delta_mb": round(_rss_mb() - rss_before, 1),
        "issues": sum(site.issues.size for site in dataset.sites),
    }


def _access_token(server: SandboxServer) -> tuple[str, str]:
    """Grant the practice client every scope on the main site, without HTTP."""
    state = server.state
    site = state.dataset.site_by_slug("practice-cloud")
    client = state.get_client(PRACTICE_CLIENT_ID)
    request = state.start_authorization(client, _SCOPES, "measure")
    code = state.approve(state.take_authorization(request.request_id), site.cloud_id)
    tokens = state.exchange_code(
        state.authenticate_client(PRACTICE_CLIENT_ID, PRACTICE_CLIENT_SECRET),
        code,
        client.redirect_uri,
    )
    return tokens.access_token, site.cloud_id


def _time_request(session, method, url, repeat, **kwargs) -> dict:
    durations = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = session.request(method, url, timeout=60, **kwargs)
        durations.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return {
        "median_ms": round(statistics.median(durations), 1),
        "max_ms": round(max(durations), 1),
        "bytes": len(response.content),
    }


def _measure_requests(server: SandboxServer, repeat: int) -> dict:
    token, cloud_id = _access_token(server)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    jira = f"{server.base_url}/ex/jira/{cloud_id}/rest/api/3"
    wiki = f"{server.base_url}/ex/confluence/{cloud_id}/wiki/api/v2"
    site = server.state.dataset.site_by_slug("practice-cloud")
    eng = next(space for space in site.spaces if space.key == HANDBOOK_KEY)

    cases = {
        "project/search first page": ("GET", f"{jira}/project/search", {}),
        "project/search startAt=5000 orderBy=name": (
            "GET",
            f"{jira}/project/search",
            {"startAt": 5000, "orderBy": "name"},
        ),
        "search/jql project = CAFE, ids, maxResults=5000": (
            "GET",
            f"{jira}/search/jql",
            {"jql": "project = CAFE", "maxResults": 5000},
        ),
        "search/jql project = CAFE, summary,status, maxResults=100": (
            "GET",
            f"{jira}/search/jql",
            {"jql": "project = CAFE", "fields": "summary,status", "maxResults": 100},
        ),
        "search/jql project = CAFE, *all, maxResults=100": (
            "GET",
            f"{jira}/search/jql",
            {"jql": "project = CAFE", "fields": "*all", "maxResults": 100},
        ),
        "search/jql assignee = currentUser() ORDER BY created DESC, 50 ids": (
            "GET",
            f"{jira}/search/jql",
            {"jql": "assignee = currentUser() ORDER BY created DESC"},
        ),
        "approximate-count text ~ login": (
            "POST",
            f"{jira}/search/approximate-count",
            {"json": {"jql": 'text ~ "login"'}},
        ),
        "issue/CAFE-4000": ("GET", f"{jira}/issue/CAFE-4000", {}),
        "spaces/{ENG}/pages limit=250 body-format=storage": (
            "GET",
            f"{wiki}/spaces/{eng.id}/pages",
            {"limit": 250, "body-format": "storage"},
        ),
    }
    results = {}
    for name, (method, url, options) in cases.items():
        kwargs = options if "json" in options else {"params": options}
        results[name] = _time_request(session, method, url, repeat, **kwargs)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lib.sandbox.measure",
        description="Measure the sandbox's large sample data and page requests.",
    )
    parser.add_argument(
        "--repeat", type=int, default=20, help="requests per case (default 20)"
    )
    args = parser.parse_args(argv)

    config = SandboxConfig.large()
    report = {"build": _measure_build(config)}
    with SandboxServer(config) as server:
        started = time.perf_counter()
        server.state.dataset.site_by_slug("practice-cloud").issues.ensure_built()
        report["server_first_use_ms"] = round((time.perf_counter() - started) * 1000)
        report["requests"] = _measure_requests(server, args.repeat)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
