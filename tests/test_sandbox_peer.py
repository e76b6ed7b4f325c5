"""Tests of the sandbox's Jira REST v2 project search, over real HTTP on 127.0.0.1.

The route lets clients that list projects through v2, such as
atlassian-python-api, run against the sandbox.
"""

from __future__ import annotations

import json
import os

import pytest
import requests
from test_sandbox_jira import JIRA_SCOPES, grant

from conftest import FakeClock
from lib.sandbox import SandboxConfig, SandboxServer

TIMEOUT = 10
SCOPE_MISMATCH = {"code": 401, "message": "Unauthorized; scope does not match"}


@pytest.fixture(scope="module")
def server():
    with SandboxServer(SandboxConfig(clock=FakeClock())) as running:
        yield running


@pytest.fixture(scope="module")
def jira_grant(server):
    """Return (access token, cloud id) of a Jira grant on practice-cloud."""
    return grant(server, JIRA_SCOPES)


def api(server, cloud_id: str, version: int) -> str:
    return f"{server.base_url}/ex/jira/{cloud_id}/rest/api/{version}"


def get(url: str, token: str | None, **params) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(url, params=params, headers=headers, timeout=TIMEOUT)


def search(server, jira_grant, version: int = 2, **params) -> requests.Response:
    token, cloud_id = jira_grant
    return get(f"{api(server, cloud_id, version)}/project/search", token, **params)


def test_v2_values_match_v3_apart_from_urls(server, jira_grant):
    v2 = search(server, jira_grant, 2, expand="lead").json()
    v3 = search(server, jira_grant, 3, expand="lead").json()
    assert v2["values"] != v3["values"]
    assert [p["key"] for p in v2["values"]] == [p["key"] for p in v3["values"]]
    text = json.dumps(v2).replace("/rest/api/2/", "/rest/api/3/")
    assert json.loads(text) == v3


def test_v2_page_links_name_v2(server, jira_grant):
    _, cloud_id = jira_grant
    page = search(server, jira_grant).json()
    prefix = f"{api(server, cloud_id, 2)}/project/search?"
    assert page["self"] == prefix + "maxResults=50&startAt=0"
    assert page["nextPage"] == prefix + "maxResults=50&startAt=50"
    assert page["total"] == 120


def test_v2_project_and_lead_links_name_v2(server, jira_grant):
    _, cloud_id = jira_grant
    project = search(server, jira_grant, expand="lead").json()["values"][0]
    v2 = api(server, cloud_id, 2)
    assert project["self"] == f"{v2}/project/{project['id']}"
    assert project["lead"]["self"].startswith(f"{v2}/user?accountId=")


def test_v2_avatar_urls_stay_served(server, jira_grant):
    token, _ = jira_grant
    project = search(server, jira_grant).json()["values"][0]
    avatar = get(project["avatarUrls"]["48x48"], token)
    assert avatar.status_code == 200
    assert avatar.headers["content-type"].startswith("image/svg+xml")


def test_v2_next_page_links_reach_every_project(server, jira_grant):
    token, _ = jira_grant
    page = search(server, jira_grant).json()
    keys = [project["key"] for project in page["values"]]
    while not page["isLast"]:
        page = get(page["nextPage"], token).json()
        keys += [project["key"] for project in page["values"]]
    assert len(keys) == 120
    assert keys == sorted(set(keys))
    assert "nextPage" not in page


def test_v2_filters_apply(server, jira_grant):
    page = search(server, jira_grant, typeKey="business").json()
    assert page["values"]
    assert {project["projectTypeKey"] for project in page["values"]} == {"business"}


def test_v2_no_match_404(server, jira_grant):
    response = search(server, jira_grant, query="zzz-no-project")
    assert response.status_code == 404
    assert response.json()["errorMessages"]


@pytest.mark.parametrize("value", ["0", "-1", "x"])
def test_v2_bad_max_results_400(server, jira_grant, value):
    response = search(server, jira_grant, maxResults=value)
    assert response.status_code == 400
    assert response.json()["errorMessages"]


def test_v2_needs_token(server, jira_grant):
    _, cloud_id = jira_grant
    response = get(f"{api(server, cloud_id, 2)}/project/search", None)
    assert response.status_code == 401


def test_v2_needs_jira_scope(server):
    token, cloud_id = grant(server, ("read:me", "read:space:confluence"))
    response = get(f"{api(server, cloud_id, 2)}/project/search", token)
    assert response.status_code == 401
    assert response.json() == SCOPE_MISMATCH


def test_peer_client_lists_every_project(server, jira_grant, monkeypatch):
    atlassian = pytest.importorskip("atlassian")
    # requests-oauthlib rejects plain http, and the sandbox serves http only.
    monkeypatch.setitem(os.environ, "OAUTHLIB_INSECURE_TRANSPORT", "1")
    token, cloud_id = jira_grant
    client = atlassian.Jira(
        url=f"{server.base_url}/ex/jira/{cloud_id}",
        oauth2={
            "client_id": "peer-client",
            "token": {"access_token": token, "token_type": "Bearer"},
        },
        cloud=True,
    )
    keys = [project["key"] for project in client.projects()]
    assert len(keys) == 120
    assert len(set(keys)) == 120
