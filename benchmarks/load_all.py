"""Benchmark: "Load all" of a large site against the floor its paging allows.

The sandbox serves 10,000 Jira projects and 2,000 Confluence spaces and adds a
fixed latency to every request. The floor is the number of round trips the page
limits force, times the latency, divided by the requests in flight. Offset pages
(Jira, 100 per page) are fetched four at a time. Cursor pages (Confluence, 250 per
page) are fetched one after another.

Run: .venv/bin/python -m benchmarks.load_all [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import math
import time

from lib import atlassian, confluence, jira, oauth, paging
from lib.atlassian import Endpoints, authorization_server
from lib.http import BearerAuth, create_session
from lib.sandbox import SandboxConfig, SandboxServer
from lib.sandbox.consent import approve

CLIENT_ID = "benchmark-client"
CLIENT_SECRET = "benchmark-secret"
REDIRECT_URI = "http://localhost:8501/callback"
SCOPES = ("read:jira-work", "read:space:confluence")


def _session(server: SandboxServer) -> tuple:
    """Consent on the sandbox and return a bearer session, endpoints and site."""
    endpoints = Endpoints(server.base_url, server.base_url)
    server_info = authorization_server(endpoints)
    url = oauth.create_authorization_url(
        server_info,
        client_id=CLIENT_ID,
        redirect_uri=REDIRECT_URI,
        scopes=SCOPES,
        state="benchmark",
    )
    callback = oauth.parse_callback(approve(url, site_name="practice-cloud"))
    tokens = oauth.fetch_token(
        create_session(),
        server_info,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        code=callback.code,
        redirect_uri=REDIRECT_URI,
    )
    session = create_session(
        auth=BearerAuth(tokens.access_token, endpoints.api_origins)
    )
    cloud_id = atlassian.list_sites(session, endpoints)[0].cloud_id
    return session, endpoints, cloud_id


def _timed(pages) -> tuple[int, float]:
    started = time.perf_counter()
    count = sum(len(page.items) for page in pages)
    return count, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50)
    arguments = parser.parse_args()
    latency = arguments.latency_ms / 1000

    config = SandboxConfig.large()
    config.latency_ms = arguments.latency_ms
    with SandboxServer(config) as server:
        server.register_client(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
        session, endpoints, cloud_id = _session(server)

        projects, elapsed = _timed(jira.iter_all_projects(session, endpoints, cloud_id))
        pages = math.ceil(projects / jira.PROJECT_PAGE_MAX)
        floor = pages * latency / paging.MAX_CONCURRENCY
        print(
            f"Jira projects: {projects} in {elapsed:.2f} s, floor {floor:.2f} s "
            f"({pages} pages x {arguments.latency_ms:g} ms / "
            f"{paging.MAX_CONCURRENCY}), ratio {elapsed / floor:.2f}"
        )

        spaces, elapsed = _timed(
            confluence.iter_all_spaces(session, endpoints, cloud_id)
        )
        pages = math.ceil(spaces / confluence.SPACE_PAGE_MAX_V2)
        floor = pages * latency
        print(
            f"Confluence spaces: {spaces} in {elapsed:.2f} s, floor {floor:.2f} s "
            f"({pages} pages x {arguments.latency_ms:g} ms), ratio "
            f"{elapsed / floor:.2f}"
        )
    print("Reproduce: .venv/bin/python -m benchmarks.load_all")


if __name__ == "__main__":
    main()
