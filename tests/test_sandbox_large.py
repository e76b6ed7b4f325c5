"""Tests of the large sample data (SandboxConfig.large()), one server per module."""

from __future__ import annotations

import time

import pytest
from test_sandbox_bodies import Wiki
from test_sandbox_jira import JIRA_SCOPES, Jira, grant

from conftest import FakeClock
from lib.sandbox import SandboxConfig, SandboxServer
from lib.sandbox.__main__ import _parse_args
from lib.sandbox.data import build_dataset

SCOPES = (*JIRA_SCOPES, "read:space:confluence", "read:page:confluence")


@pytest.fixture(scope="module")
def server():
    with SandboxServer(SandboxConfig.large(clock=FakeClock())) as running:
        yield running


@pytest.fixture(scope="module")
def token(server):
    return grant(server, SCOPES)


@pytest.fixture(scope="module")
def jira(server, token):
    return Jira(server, *token)


@pytest.fixture(scope="module")
def wiki(server, token):
    return Wiki(server, *token)


def test_large_config_sizes():
    config = SandboxConfig.large(issue_count=60_000)
    assert config.project_count == 10_000
    assert config.space_count == 2_000
    assert config.issue_count == 60_000
    assert config.handbook_pages == 600


def test_large_build_is_fast():
    started = time.perf_counter()
    dataset = build_dataset(10_000, 2_000, 50_000, 600)
    dataset.site_by_slug("practice-cloud").issues.ensure_built()
    # python -m lib.sandbox.measure reports about 0.2 s on a 2-core container.
    # The bound only catches a build that scales badly.
    assert time.perf_counter() - started < 5


def test_large_project_total(jira):
    page = jira.get("/project/search", startAt=9_990).json()
    assert page["total"] == 10_000
    assert len(page["values"]) == 10
    assert page["isLast"] is True


def test_large_issue_total(jira):
    count = jira.post("/search/approximate-count", {"jql": 'created >= "2000-01-01"'})
    assert count.json() == {"count": 50_000}


def test_large_ids_page_of_5000(jira):
    body = jira.search("project = CAFE", maxResults=5000).json()
    assert len(body["issues"]) == 5000
    assert body["isLast"] is True


def test_large_max_results_capped(jira):
    body = jira.search("project = CAFE", maxResults=9000).json()
    assert len(body["issues"]) == 5000


def test_large_light_fields_page_of_1000(jira):
    body = jira.search("project = CAFE", fields="summary", maxResults=5000).json()
    assert len(body["issues"]) == 1000
    assert "nextPageToken" in body


def test_large_search_pages_project(jira):
    pages = jira.pages("project = ROCKET ORDER BY created DESC", maxResults=1000)
    keys = [issue["key"] for page in pages for issue in page["issues"]]
    assert len(pages) == 3
    assert len(keys) == 2500
    assert len(set(keys)) == 2500


def test_large_site_wide_search(jira):
    body = jira.search("assignee = currentUser() ORDER BY updated DESC").json()
    assert len(body["issues"]) == 50
    assert body["isLast"] is False


@pytest.mark.parametrize(("key", "status"), [("CAFE-5000", 200), ("CAFE-5001", 404)])
def test_large_issue_lookup(jira, key, status):
    assert jira.get(f"/issue/{key}").status_code == status


def test_large_spaces_total(wiki):
    response = wiki.get("/wiki/api/v2/spaces", limit=250)
    count = len(response.json()["results"])
    pages = 1
    while "next" in response.json()["_links"]:
        response = wiki.get(response.json()["_links"]["next"])
        count += len(response.json()["results"])
        pages += 1
    assert pages == 8
    assert count == 2000


def test_large_handbook_pages_by_cursor(wiki):
    path = f"/wiki/api/v2/spaces/{wiki.space_id('ENG')}/pages"
    responses = [wiki.get(path, limit=250)]
    while "next" in responses[-1].json()["_links"]:
        responses.append(wiki.get(responses[-1].json()["_links"]["next"]))
    ids = [page["id"] for r in responses for page in r.json()["results"]]
    assert [len(r.json()["results"]) for r in responses] == [250, 250, 101]
    assert len(set(ids)) == 601
    assert "cursor=" in responses[0].json()["_links"]["next"]


def test_command_line_large_flag():
    assert _parse_args(["--large"]).large is True
    assert _parse_args([]).large is False
