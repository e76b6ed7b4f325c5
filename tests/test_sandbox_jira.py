"""Tests of the sandbox's Jira issue routes over real HTTP on 127.0.0.1.

One server serves the module. Grants are made through the consent screen, with a
new client per grant, so that scopes never leak between tests.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from conftest import FakeClock
from lib.sandbox import SandboxConfig, SandboxServer
from lib.sandbox.consent import approve

TIMEOUT = 10
REDIRECT_URI = "http://app.test/callback"
JIRA_SCOPES = ("read:jira-work", "read:jira-user")
JIRA_SEARCH_GRANULAR = (
    "read:issue-details:jira",
    "read:audit-log:jira",
    "read:avatar:jira",
    "read:field-configuration:jira",
    "read:issue-meta:jira",
)
CONFLUENCE_CLASSIC = ("read:confluence-space.summary", "read:confluence-content.all")
SCOPE_MISMATCH = {"code": 401, "message": "Unauthorized; scope does not match"}
UNBOUNDED = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to "
    "your query."
)
ISSUE_NOT_FOUND = {
    "errorMessages": ["Issue does not exist or you do not have permission to see it."],
    "errors": {},
}
JIRA_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}")
BARE_ISSUE_KEYS = {"expand", "id", "self", "key"}


def grant(server: SandboxServer, scopes, slug: str = "practice-cloud"):
    """Consent with a new client and return (access token, cloud id of the site)."""
    site = server.state.dataset.site_by_slug(slug)
    client_id = f"client-{uuid.uuid4().hex[:8]}"
    secret = f"secret-{client_id}"
    server.register_client(client_id, secret, REDIRECT_URI)
    params = {
        "audience": "api.atlassian.com",
        "client_id": client_id,
        "scope": " ".join(scopes),
        "redirect_uri": REDIRECT_URI,
        "state": "s",
        "response_type": "code",
        "prompt": "consent",
    }
    location = approve(f"{server.base_url}/authorize?{urlencode(params)}", site.name)
    code = parse_qs(urlsplit(location).query)["code"][0]
    body = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "client_secret": secret,
        "code": code,
        "redirect_uri": REDIRECT_URI,
    }
    tokens = requests.post(f"{server.base_url}/oauth/token", json=body, timeout=10)
    return tokens.json()["access_token"], site.cloud_id


class Jira:
    """Calls the Jira routes of one site with one token."""

    def __init__(self, server: SandboxServer, token: str, cloud_id: str):
        self.api = f"{server.base_url}/ex/jira/{cloud_id}/rest/api/3"
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **params) -> requests.Response:
        return requests.get(
            f"{self.api}{path}", params=params, headers=self.headers, timeout=TIMEOUT
        )

    def post(self, path: str, body=None, **kwargs) -> requests.Response:
        return requests.post(
            f"{self.api}{path}",
            json=body,
            headers=self.headers,
            timeout=TIMEOUT,
            **kwargs,
        )

    def search(self, jql: str, **params) -> requests.Response:
        return self.get("/search/jql", jql=jql, **params)

    def pages(self, jql: str, **params) -> list[dict]:
        """Follow nextPageToken until it is absent; return every page body."""
        pages = [self.search(jql, **params).json()]
        while "nextPageToken" in pages[-1]:
            token = pages[-1]["nextPageToken"]
            pages.append(self.search(jql, nextPageToken=token, **params).json())
        return pages


def issue_count(server: SandboxServer, project_key: str) -> int:
    site = server.state.dataset.site_by_slug("practice-cloud")
    return site.issues.counts[site.issues.project_index(project_key)]


def parse_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z")


@pytest.fixture(scope="module")
def server():
    with SandboxServer(SandboxConfig(clock=FakeClock())) as running:
        yield running


@pytest.fixture(scope="module")
def jira(server):
    return Jira(server, *grant(server, JIRA_SCOPES))


# search/jql paging


def test_search_pages_reach_every_issue_once(server, jira):
    pages = jira.pages("project = ROCKET", maxResults=30)
    keys = [issue["key"] for page in pages for issue in page["issues"]]
    count = issue_count(server, "ROCKET")
    assert count > 60
    assert len(keys) == count
    assert set(keys) == {f"ROCKET-{number}" for number in range(1, count + 1)}


def test_search_pages_flag_last(jira):
    pages = jira.pages("project = ROCKET", maxResults=30)
    assert [page["isLast"] for page in pages] == [False] * (len(pages) - 1) + [True]
    assert "nextPageToken" not in pages[-1]


def test_search_has_no_total(jira):
    body = jira.search("project = ROCKET").json()
    assert "total" not in body
    assert "startAt" not in body
    assert "maxResults" not in body


def test_search_default_page_size(jira):
    body = jira.search("project = CAFE").json()
    assert len(body["issues"]) == 50


def test_search_without_fields_has_no_fields(jira):
    issues = jira.search("project = ROCKET", maxResults=5).json()["issues"]
    assert {frozenset(issue) for issue in issues} == {frozenset(BARE_ISSUE_KEYS)}


def test_search_issue_self_url(jira):
    issue = jira.search("project = ROCKET", maxResults=1).json()["issues"][0]
    assert issue["self"] == f"{jira.api}/issue/{issue['id']}"
    assert isinstance(issue["id"], str)


def test_search_fields_summary_status(jira):
    issues = jira.search("project = ROCKET", fields="summary,status").json()["issues"]
    assert {frozenset(issue["fields"]) for issue in issues} == {
        frozenset({"summary", "status"})
    }


def test_search_fields_repeated(jira):
    response = jira.get(
        "/search/jql", jql="project = ROCKET", fields=["summary", "status"]
    )
    fields = response.json()["issues"][0]["fields"]
    assert set(fields) == {"summary", "status"}


def test_search_all_fields(jira):
    issue = jira.search("project = ROCKET", fields="*all").json()["issues"][0]
    for name in ("description", "comment", "worklog", "customfield_10019", "labels"):
        assert name in issue["fields"], name


def test_search_all_fields_page_capped(jira):
    body = jira.search("project = CAFE", fields="*all", maxResults=500).json()
    assert len(body["issues"]) == 100
    assert "nextPageToken" in body


def test_search_navigable_skips_comment(jira):
    fields = jira.search("project = ROCKET", fields="*navigable").json()["issues"][0]
    assert "comment" not in fields["fields"]
    assert "summary" in fields["fields"]


def test_search_excluded_field(jira):
    issue = jira.search("project = ROCKET", fields="*all,-description").json()
    assert "description" not in issue["issues"][0]["fields"]


def test_search_ids_only_large_page(server, jira):
    body = jira.search("project = CAFE", maxResults=5000).json()
    assert len(body["issues"]) == issue_count(server, "CAFE")
    assert body["isLast"] is True


def test_search_issue_shape(jira):
    fields = "summary,status,issuetype,priority,assignee,reporter,creator,created"
    issue = jira.search("project = CAFE", fields=fields + ",updated,labels,project")
    fields = issue.json()["issues"][0]["fields"]
    assert isinstance(fields["summary"], str)
    assert set(fields["status"]["statusCategory"]) == {
        "self",
        "id",
        "key",
        "colorName",
        "name",
    }
    assert JIRA_TIME.fullmatch(fields["created"])
    assert JIRA_TIME.fullmatch(fields["updated"])
    assert fields["project"]["key"] == "CAFE"
    assert fields["reporter"]["accountType"] == "atlassian"
    assert isinstance(fields["labels"], list)


def test_search_data_has_variety(jira):
    fields = "status,issuetype,assignee,description,labels"
    pages = jira.pages("project = CAFE", fields=fields, maxResults=100)
    issues = [issue["fields"] for page in pages for issue in page["issues"]]
    statuses = {issue["status"]["name"] for issue in issues}
    types = {issue["issuetype"]["name"] for issue in issues}
    categories = {issue["status"]["statusCategory"]["key"] for issue in issues}
    assert {"To Do", "In Progress", "Done"} <= statuses
    assert types == {"Task", "Bug", "Story", "Epic", "Subtask"}
    assert categories == {"new", "indeterminate", "done"}
    assert any(issue["assignee"] is None for issue in issues)
    assert any(issue["assignee"] is not None for issue in issues)
    assert any(issue["description"] is None for issue in issues)
    assert any(issue["labels"] == [] for issue in issues)


def test_search_descriptions_are_adf(jira):
    pages = jira.pages("project = CAFE", fields="description", maxResults=100)
    descriptions = [
        issue["fields"]["description"]
        for page in pages
        for issue in page["issues"]
        if issue["fields"]["description"] is not None
    ]
    assert descriptions
    assert {(doc["type"], doc["version"]) for doc in descriptions} == {("doc", 1)}


def test_search_adf_node_types(jira):
    pages = jira.pages("project = CAFE", fields="description", maxResults=100)
    types = set()

    def walk(node):
        types.add(node["type"])
        for mark in node.get("marks", []):
            types.add("mark:" + mark["type"])
        for child in node.get("content", []):
            walk(child)

    for page in pages:
        for issue in page["issues"]:
            if issue["fields"]["description"]:
                walk(issue["fields"]["description"])
    expected = {
        *("paragraph", "heading", "bulletList", "codeBlock", "mention", "emoji"),
        *("hardBreak", "mark:strong", "mark:em", "mark:code", "mark:link"),
    }
    assert expected <= types


def test_search_keeps_markup_as_text(jira):
    body = jira.search('summary ~ "script"', fields="summary", maxResults=1).json()
    summary = body["issues"][0]["fields"]["summary"]
    assert summary == "<script>alert(1)</script> appears in the search box"


# JQL


def all_issues(jira: Jira, jql: str, fields: str) -> list[dict]:
    pages = jira.pages(jql, fields=fields, maxResults=100)
    return [issue for page in pages for issue in page["issues"]]


def project_is(*keys):
    return lambda fields: fields["project"]["key"] in keys


def status_is(name):
    return lambda fields: fields["status"]["name"] == name


def category_is(key):
    return lambda fields: fields["status"]["statusCategory"]["key"] == key


def type_is(name):
    return lambda fields: fields["issuetype"]["name"] == name


def unassigned(fields):
    return fields["assignee"] is None


def summary_has(word):
    return lambda fields: word in fields["summary"].casefold()


def labelled(label):
    return lambda fields: label in fields["labels"]


@pytest.mark.parametrize(
    ("jql", "fields", "check"),
    [
        ('project = "ROCKET"', "project", project_is("ROCKET")),
        ('project = "Launch 🚀 Tracker"', "project", project_is("ROCKET")),
        ("project in (CAFE, TOKYO)", "project", project_is("CAFE", "TOKYO")),
        ('project = CAFE AND status = "Done"', "status", status_is("Done")),
        ("project = CAFE AND issuetype = Bug", "issuetype", type_is("Bug")),
        ("project = CAFE AND assignee is EMPTY", "assignee", unassigned),
        ('summary ~ "login"', "summary", summary_has("login")),
        ("labels = backend", "labels", labelled("backend")),
        ("statusCategory = Done", "status", category_is("done")),
    ],
)
def test_jql_filters(jira, jql, fields, check):
    issues = all_issues(jira, jql, fields)
    assert issues, jql
    assert all(check(issue["fields"]) for issue in issues), jql


def test_jql_text_covers_summary(jira):
    summary = all_issues(jira, 'summary ~ "release"', "summary")
    text = all_issues(jira, 'text ~ "release"', "summary")
    assert {issue["key"] for issue in summary} < {issue["key"] for issue in text}


def test_jql_current_user(jira):
    myself = jira.get("/myself").json()["accountId"]
    issues = all_issues(jira, "assignee = currentUser()", "assignee")
    assignees = {issue["fields"]["assignee"]["accountId"] for issue in issues}
    assert assignees == {myself}


def test_jql_not_equal_skips_empty(jira):
    issues = all_issues(jira, "project = CAFE AND assignee != EMPTY", "assignee")
    assert all(issue["fields"]["assignee"] for issue in issues)


def test_jql_or_and_parentheses(jira):
    jql = "(project = ROCKET OR project = TOKYO) AND issuetype = Epic"
    issues = all_issues(jira, jql, "project,issuetype")
    assert {issue["fields"]["project"]["key"] for issue in issues} == {
        "ROCKET",
        "TOKYO",
    }
    assert {issue["fields"]["issuetype"]["name"] for issue in issues} == {"Epic"}


def test_jql_order_by_created_desc(jira):
    issues = all_issues(jira, "project = ROCKET ORDER BY created DESC", "created")
    times = [parse_time(issue["fields"]["created"]) for issue in issues]
    assert times == sorted(times, reverse=True)


def test_jql_order_by_created_asc(jira):
    issues = all_issues(jira, "project = ROCKET ORDER BY created ASC", "created")
    times = [parse_time(issue["fields"]["created"]) for issue in issues]
    assert times == sorted(times)


def test_jql_order_by_key(jira):
    issues = all_issues(jira, "project in (TOKYO, CAFE) ORDER BY key", "summary")
    keys = [issue["key"].split("-") for issue in issues]
    numbered = [(project, int(number)) for project, number in keys]
    assert numbered == sorted(numbered)


def test_jql_order_by_updated(jira):
    issues = all_issues(jira, "project = ROCKET ORDER BY updated DESC", "updated")
    times = [parse_time(issue["fields"]["updated"]) for issue in issues]
    assert times == sorted(times, reverse=True)


def test_jql_dates(jira):
    issues = all_issues(jira, 'project = ROCKET AND created >= "2025-06-01"', "created")
    boundary = datetime.fromisoformat("2025-06-01T00:00:00+02:00")
    assert issues
    assert all(parse_time(issue["fields"]["created"]) >= boundary for issue in issues)


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("", UNBOUNDED),
        ("   ", UNBOUNDED),
        ("order by key", UNBOUNDED),
        ("ORDER BY created DESC", UNBOUNDED),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        (
            "nosuchfield = 1",
            "Field 'nosuchfield' does not exist or you do not have permission to "
            "view it.",
        ),
        (
            "project = CAFE foo",
            "Error in the JQL Query: Expecting either 'OR' or 'AND' but got 'foo'. "
            "(line 1, character 16)",
        ),
        (
            "project = CAFE AND",
            "Error in the JQL Query: Expecting a field name before the end of the "
            "query.",
        ),
        (
            'summary ~ "open',
            "Error in the JQL Query: The quoted string 'open' has not been "
            "completed. (line 1, character 11)",
        ),
    ],
)
def test_jql_error_400(jira, jql, message):
    response = jira.search(jql)
    assert response.status_code == 400
    assert response.json() == {"errorMessages": [message], "errors": {}}


def test_jql_missing_400(jira):
    response = jira.get("/search/jql")
    assert response.status_code == 400
    assert response.json()["errorMessages"] == [UNBOUNDED]


def test_jql_garbage_400(jira):
    response = jira.search("))) ~~ ((")
    assert response.status_code == 400
    assert response.json()["errorMessages"][0].startswith("Error in the JQL Query:")


# Page tokens


def test_token_of_other_jql_400(jira):
    token = jira.search("project = CAFE").json()["nextPageToken"]
    response = jira.search("project = CAFE ORDER BY key", nextPageToken=token)
    assert response.status_code == 400
    assert response.json()["errors"] == {}
    assert "does not belong to this query" in response.json()["errorMessages"][0]


@pytest.mark.parametrize("token", ["garbage", "CAEaAggD", "%%%"])
def test_token_garbage_400(jira, token):
    response = jira.search("project = CAFE", nextPageToken=token)
    assert response.status_code == 400
    assert response.json()["errors"] == {}


def test_token_of_other_site_400(server, jira):
    token = jira.search("project = CAFE").json()["nextPageToken"]
    other_token, other_site = grant(server, JIRA_SCOPES, "übungsseite")
    other = Jira(server, other_token, other_site)
    response = other.search("project = CAFE", nextPageToken=token)
    assert response.status_code == 400
    assert "does not belong to this query" in response.json()["errorMessages"][0]


def test_token_expires_after_seven_days():
    clock = FakeClock()
    with SandboxServer(SandboxConfig(clock=clock, token_lifetime=30 * 86400)) as fresh:
        jira = Jira(fresh, *grant(fresh, JIRA_SCOPES))
        token = jira.search("project = CAFE").json()["nextPageToken"]
        clock.advance(7 * 86400 + 1)
        response = jira.search("project = CAFE", nextPageToken=token)
    assert response.status_code == 400
    assert "expired" in response.json()["errorMessages"][0]


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_max_results_invalid_400(jira, value):
    response = jira.search("project = CAFE", maxResults=value)
    assert response.status_code == 400
    assert response.json()["errors"] == {}


# POST search/jql


def test_post_search_pages_like_get(jira):
    body = {"jql": "project = ROCKET", "maxResults": 40, "fields": ["summary"]}
    pages = [jira.post("/search/jql", body).json()]
    while "nextPageToken" in pages[-1]:
        body["nextPageToken"] = pages[-1]["nextPageToken"]
        pages.append(jira.post("/search/jql", body).json())
    posted = [issue["key"] for page in pages for issue in page["issues"]]
    fetched = [
        issue["key"]
        for page in jira.pages("project = ROCKET", maxResults=40)
        for issue in page["issues"]
    ]
    assert posted == fetched


def test_post_search_fields(jira):
    body = {"jql": "project = ROCKET", "fields": ["summary", "status"]}
    issue = jira.post("/search/jql", body).json()["issues"][0]
    assert set(issue["fields"]) == {"summary", "status"}


def test_post_search_accepts_bean_fields(jira):
    body = {
        "jql": "project = ROCKET",
        "expand": "names",
        "fields": ["summary"],
        "fieldsByKeys": False,
        "failFast": True,
        "properties": [],
        "reconcileIssues": [10001, 10002],
    }
    response = jira.post("/search/jql", body)
    assert response.status_code == 200
    assert response.json()["names"] == {"summary": "Summary"}


def test_post_search_reads_only_body(jira):
    response = jira.post("/search/jql", {}, params={"jql": "project = CAFE"})
    assert response.status_code == 400
    assert response.json()["errorMessages"] == [UNBOUNDED]


def test_post_search_unknown_field_400(jira):
    response = jira.post("/search/jql", {"jql": "project = CAFE", "startAt": 50})
    assert response.status_code == 400
    assert "startAt" in response.json()["errorMessages"][0]


def test_post_search_wrong_type_400(jira):
    response = jira.post("/search/jql", {"jql": "project = CAFE", "maxResults": "5"})
    assert response.status_code == 400


def test_post_search_without_json_415(jira):
    response = requests.post(
        f"{jira.api}/search/jql", headers=jira.headers, timeout=TIMEOUT
    )
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["instance"] == "/rest/api/3/search/jql"


def test_search_names_and_schema(jira):
    body = jira.search(
        "project = ROCKET", fields="summary,created", expand="names,schema"
    ).json()
    assert body["names"] == {"summary": "Summary", "created": "Created"}
    assert body["schema"]["created"] == {"type": "datetime", "system": "created"}


def test_search_rendered_description(jira):
    jql = "project = CAFE AND description is not EMPTY"
    body = jira.search(jql, fields="description", expand="renderedFields").json()
    rendered = body["issues"][0]["renderedFields"]["description"]
    assert rendered.startswith("<")


# approximate-count


def test_approximate_count_matches_paging(server, jira):
    count = jira.post("/search/approximate-count", {"jql": "project = ROCKET"})
    paged = jira.pages("project = ROCKET", maxResults=100)
    assert count.json() == {"count": sum(len(page["issues"]) for page in paged)}
    assert count.json()["count"] == issue_count(server, "ROCKET")


def test_approximate_count_with_filter(jira):
    jql = "project = CAFE AND assignee is EMPTY"
    count = jira.post("/search/approximate-count", {"jql": jql}).json()["count"]
    assert count == len(all_issues(jira, jql, "assignee"))


@pytest.mark.parametrize("body", [{}, {"jql": ""}, {"jql": "order by created"}])
def test_approximate_count_unbounded_400(jira, body):
    response = jira.post("/search/approximate-count", body)
    assert response.status_code == 400
    assert response.json() == {"errorMessages": [UNBOUNDED], "errors": {}}


# issue/{issueIdOrKey}


def test_issue_by_key(jira):
    issue = jira.get("/issue/ROCKET-2").json()
    assert issue["key"] == "ROCKET-2"
    assert issue["self"] == f"{jira.api}/issue/{issue['id']}"
    assert "renderedFields" in issue["expand"]


def test_issue_by_id(jira):
    first = jira.get("/issue/ROCKET-2").json()
    again = jira.get(f"/issue/{first['id']}").json()
    assert again["key"] == "ROCKET-2"


def test_issue_returns_all_fields(jira):
    fields = jira.get("/issue/CAFE-3").json()["fields"]
    for name in ("summary", "status", "comment", "worklog", "watches", "votes"):
        assert name in fields, name
    assert fields["comment"]["total"] == 0
    assert fields["resolution"] is None or fields["resolution"]["name"] == "Done"


def test_issue_selected_fields(jira):
    issue = jira.get("/issue/CAFE-3", fields="summary").json()
    assert set(issue["fields"]) == {"summary"}


def test_issue_matches_search(jira):
    searched = jira.search("key = CAFE-7", fields="*all").json()["issues"][0]
    single = jira.get("/issue/CAFE-7").json()
    assert single["fields"] == searched["fields"]


def test_issue_subtask_has_parent(jira):
    body = jira.search("project = CAFE AND issuetype = Subtask", fields="parent")
    issue = body.json()["issues"][0]
    parent = issue["fields"]["parent"]
    assert parent["key"].startswith("CAFE-")
    assert parent["fields"]["issuetype"]["subtask"] is False


@pytest.mark.parametrize("key", ["CAFE-99999", "NOPE-1", "99999999", "not a key"])
def test_issue_unknown_404(jira, key):
    response = jira.get(f"/issue/{key}")
    assert response.status_code == 404
    assert response.json() == ISSUE_NOT_FOUND


# Removed endpoints


@pytest.mark.parametrize("version", ["2", "3"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_removed_search_410(jira, version, method):
    url = jira.api.replace("/rest/api/3", f"/rest/api/{version}") + "/search"
    response = requests.request(
        method,
        url,
        params={"jql": "project = CAFE"},
        headers=jira.headers,
        timeout=TIMEOUT,
    )
    assert response.status_code == 410
    assert response.json()["errors"] == {}
    assert "/rest/api/3/search/jql" in response.json()["errorMessages"][0]


# Scopes and switches


def test_confluence_token_on_search_401(server):
    token, cloud_id = grant(server, CONFLUENCE_CLASSIC)
    response = Jira(server, token, cloud_id).search("project = CAFE")
    assert response.status_code == 401
    assert response.json() == SCOPE_MISMATCH


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/issue/CAFE-1"),
        ("POST", "/search/approximate-count"),
        ("GET", "/search"),
    ],
)
def test_confluence_token_on_issue_routes_401(server, method, path):
    token, cloud_id = grant(server, CONFLUENCE_CLASSIC)
    jira = Jira(server, token, cloud_id)
    response = requests.request(
        method,
        jira.api + path,
        json={"jql": "project = CAFE"},
        headers=jira.headers,
        timeout=TIMEOUT,
    )
    assert response.status_code == 401
    assert response.json() == SCOPE_MISMATCH


def test_granular_scopes_allow_search(server):
    token, cloud_id = grant(server, JIRA_SEARCH_GRANULAR)
    response = Jira(server, token, cloud_id).search("project = CAFE")
    assert response.status_code == 200


def test_missing_token_on_search_401(jira):
    response = requests.get(
        f"{jira.api}/search/jql", params={"jql": "project = CAFE"}, timeout=TIMEOUT
    )
    assert response.status_code == 401


def test_jira_only_site_search(server):
    token, cloud_id = grant(server, JIRA_SCOPES, "jira-only")
    body = Jira(server, token, cloud_id).search("project = DATA").json()
    assert len(body["issues"]) == 15
    assert body["isLast"] is True


def test_fault_applies_to_search(server, jira):
    fault = {"path_prefix": "/ex/jira", "status": 429, "retry_after": 3}
    requests.post(f"{server.base_url}/_sandbox/faults", json=fault, timeout=TIMEOUT)
    limited = jira.search("project = CAFE")
    after = jira.search("project = CAFE")
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "3"
    assert after.status_code == 200


def test_settings_issue_count():
    with SandboxServer(SandboxConfig(clock=FakeClock())) as fresh:
        requests.post(
            f"{fresh.base_url}/_sandbox/settings",
            json={"issue_count": 50},
            timeout=TIMEOUT,
        )
        jira = Jira(fresh, *grant(fresh, JIRA_SCOPES))
        count = jira.post(
            "/search/approximate-count", {"jql": 'created >= "2000-01-01"'}
        )
    assert count.json() == {"count": 50}


# Site pages and icons


def test_browse_issue_page(server):
    response = requests.get(
        f"{server.base_url}/sites/practice-cloud/browse/ROCKET-3", timeout=TIMEOUT
    )
    assert response.status_code == 200
    assert "<script>" not in response.text


def test_browse_unknown_issue_404(server):
    response = requests.get(
        f"{server.base_url}/sites/practice-cloud/browse/ROCKET-99999", timeout=TIMEOUT
    )
    assert response.status_code == 404


def test_issue_icons_served(jira):
    issue = jira.get("/issue/CAFE-2").json()["fields"]
    for url in (
        issue["issuetype"]["iconUrl"],
        issue["priority"]["iconUrl"],
        issue["status"]["iconUrl"],
    ):
        response = requests.get(url, timeout=TIMEOUT)
        assert response.status_code == 200, url
        assert response.headers["content-type"] == "image/svg+xml", url
