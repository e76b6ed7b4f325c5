"""Benchmark: the same listing through atlassian-python-api, in the same run.

Both clients list the large site's 10,000 Jira projects and 2,000 Confluence
spaces from one sandbox that adds 50 ms to every request, with the same access
token. The clients take turns and each figure is the median of the rounds.

The peer is called the way its documentation shows, with the OAuth 2.0 token in
its `oauth2` argument:

- Jira: `Jira(url, cloud=True).projects()`, which follows `nextPage` links of
  `/rest/api/2/project/search` one page of 50 after another.
- Confluence: the client that `Confluence()` builds for a gateway URL, which is
  the REST v2 client (`api_version=2`). Its `get_all_spaces()` follows the
  cursor links at its default page size of 25. `get_spaces(limit=250)`, the
  largest page, is reported too.

The dashboard side is what Load all runs: `lib.jira.iter_all_projects` and
`lib.confluence.iter_all_spaces`.

Run: .venv/bin/python -m benchmarks.peer [--tiny]
"""

from __future__ import annotations

import argparse
import os
import warnings
from importlib.metadata import version

from benchmarks.common import (
    CLIENT_ID,
    LATENCY_MS,
    TINY_LATENCY_MS,
    Result,
    SandboxProcess,
    connect_client,
    median,
    print_results,
    timed,
)
from benchmarks.load_all import SCOPES, list_projects, list_spaces

COMMAND = ".venv/bin/python -m benchmarks.peer"
PEER = "atlassian-python-api"
TARGET_RATIO = 1.0


def peer_clients(client):
    """Return the peer's Jira and Confluence clients for the connected site."""
    # requests-oauthlib rejects plain http, and the sandbox serves http on
    # 127.0.0.1 only.
    os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    from atlassian import Confluence, Jira

    oauth2 = {
        "client_id": CLIENT_ID,
        "token": {"access_token": client.access_token, "token_type": "Bearer"},
    }
    jira_client = Jira(
        url=client.endpoints.jira_base(client.cloud_id), oauth2=oauth2, cloud=True
    )
    with warnings.catch_warnings():
        # The v2 client warns that v1 method names are deprecated.
        warnings.simplefilter("ignore", DeprecationWarning)
        confluence_client = Confluence(
            url=client.endpoints.confluence_base(client.cloud_id) + "/wiki",
            oauth2=oauth2,
            api_version=2,
        )
    return jira_client, confluence_client


def peer_spaces(confluence_client, **options) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if options:
            return len(confluence_client.get_spaces(**options))
        return len(confluence_client.get_all_spaces())


def run(tiny: bool = False) -> list[Result]:
    latency_ms = TINY_LATENCY_MS if tiny else LATENCY_MS
    # The two listings that both clients page through at 250 spaces a page are
    # close to a tie and cheap, so they get more rounds for a steadier median.
    rounds = {
        "jira": 3,
        "peer jira": 3,
        "spaces": 9,
        "peer spaces": 3,
        "peer spaces 250": 9,
    }
    if tiny:
        rounds = dict.fromkeys(rounds, 1)
    cases: dict[str, list] = {name: [] for name in rounds}
    with SandboxProcess(large=not tiny, latency_ms=latency_ms) as sandbox:
        client = connect_client(sandbox.base_url, SCOPES)
        peer_jira, peer_confluence = peer_clients(client)
        work = {
            "jira": lambda: list_projects(client),
            "peer jira": lambda: len(peer_jira.projects()),
            "spaces": lambda: list_spaces(client),
            "peer spaces": lambda: peer_spaces(peer_confluence),
            "peer spaces 250": lambda: peer_spaces(peer_confluence, limit=250),
        }
        for round_number in range(max(rounds.values())):
            for name, listing in work.items():
                if round_number < rounds[name]:
                    cases[name].append(timed(listing))

    _check_same_counts(cases)
    projects = cases["jira"][0][0]
    spaces = cases["spaces"][0][0]
    seconds = {name: median(s for _, s in runs) for name, runs in cases.items()}
    peer_version = f"{PEER} {version(PEER)}"
    return [
        _result(
            f"Jira projects ({projects}): dashboard / {peer_version} projects()",
            seconds["jira"],
            seconds["peer jira"],
            (rounds["jira"], rounds["peer jira"]),
        ),
        _result(
            f"Confluence spaces ({spaces}): dashboard / {peer_version} "
            "get_all_spaces()",
            seconds["spaces"],
            seconds["peer spaces"],
            (rounds["spaces"], rounds["peer spaces"]),
        ),
        _result(
            f"Confluence spaces ({spaces}): dashboard / {peer_version} "
            "get_spaces(limit=250)",
            seconds["spaces"],
            seconds["peer spaces 250"],
            (rounds["spaces"], rounds["peer spaces 250"]),
        ),
    ]


def _check_same_counts(cases: dict) -> None:
    """Raise when the two clients listed different numbers of items."""
    pairs = (("jira", "peer jira"), ("spaces", "peer spaces"))
    for ours, theirs in (*pairs, ("spaces", "peer spaces 250")):
        counts = {count for name in (ours, theirs) for count, _ in cases[name]}
        if len(counts) != 1:
            raise RuntimeError(f"{ours} and {theirs} listed {sorted(counts)} items")


def _result(measure: str, ours: float, theirs: float, rounds) -> Result:
    ratio = ours / theirs
    return Result(
        benchmark="Peer comparison",
        measure=measure,
        figure=f"{ratio:.3f}x ({ours:.3f} s vs {theirs:.3f} s, medians of "
        f"{rounds[0]} and {rounds[1]} rounds)",
        target=f"at most {TARGET_RATIO:.1f}x (at least as fast)",
        met=ratio <= TARGET_RATIO,
        command=COMMAND,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="small site, to check")
    print_results(run(tiny=parser.parse_args().tiny))


if __name__ == "__main__":
    main()
