import json

import pytest
import responses

from conftest import load_realdata
from lib import jira
from lib.atlassian import Endpoints
from lib.errors import Gone, InvalidInput, InvalidResponse
from lib.http import create_session

ENDPOINTS = Endpoints("https://auth.example.test", "https://api.example.test")
CLOUD = "11111111-1111-4111-8111-000000000001"
JIRA = f"https://api.example.test/ex/jira/{CLOUD}"


def session():
    return create_session(retries=False)


def test_parse_issue_page_recorded():
    page = jira.parse_issue_page(load_realdata("rest-api-3-search-jql-get"), "u")
    first = page.issues[0]
    assert first.key == "KAN-5"
    assert first.summary == "Test issue for add-watcher action"
    assert first.issue_type == "Task"
    assert first.status


def test_parse_issue_page_empty_recorded():
    page = jira.parse_issue_page(load_realdata("rest-api-3-search-jql-post-empty"), "u")
    assert page.issues == ()
    assert page.is_last


def test_parse_issue_without_fields():
    issue = jira.parse_issue({"id": "10003", "key": "ED-2", "self": "x"})
    assert issue.key == "ED-2"
    assert issue.summary is None
    assert issue.status is None


def test_parse_issue_odd_types():
    issue = jira.parse_issue(
        {"id": 7, "key": "A-1", "fields": {"summary": 5, "status": "x", "assignee": []}}
    )
    assert issue.id == "7"
    assert issue.summary is None
    assert issue.status is None
    assert issue.assignee is None


def test_parse_issue_page_rejects_object_without_issues():
    with pytest.raises(InvalidResponse):
        jira.parse_issue_page({"values": []}, "u")


@responses.activate
def test_get_issue_recorded_description():
    payload = load_realdata("rest-api-3-issue-get")
    responses.get(f"{JIRA}/rest/api/3/issue/KAN-2", json=payload)
    detail = jira.get_issue(session(), ENDPOINTS, CLOUD, "KAN-2")
    assert detail.issue.key == "KAN-2"
    assert detail.project_key == "KAN"
    assert "{" not in detail.description
    fields = responses.calls[0].request.params["fields"].split(",")
    assert "description" in fields


@pytest.mark.parametrize("key", ["", "kan-1", "KAN-0", "KAN-1 OR 1=1", "../x"])
def test_get_issue_rejects_key(key):
    with pytest.raises(InvalidInput):
        jira.get_issue(session(), ENDPOINTS, CLOUD, key)


@responses.activate
def test_search_issues_sends_fields_and_token():
    responses.get(f"{JIRA}/rest/api/3/search/jql", json={"issues": [], "isLast": True})
    jira.search_issues(
        session(), ENDPOINTS, CLOUD, 'project = "ENG"', next_page_token="tok"
    )
    params = responses.calls[0].request.params
    assert params["jql"] == 'project = "ENG"'
    assert params["nextPageToken"] == "tok"
    assert params["fields"] == ",".join(jira.ISSUE_FIELDS)


@responses.activate
def test_iter_issue_pages_follows_tokens():
    url = f"{JIRA}/rest/api/3/search/jql"
    responses.get(
        url,
        json={"issues": [{"id": "1", "key": "A-1"}], "nextPageToken": "t2"},
        match=[
            responses.matchers.query_param_matcher(
                {"jql": "project = A"}, strict_match=False
            )
        ],
    )
    responses.get(url, json={"issues": [{"id": "2", "key": "A-2"}], "isLast": True})
    pages = list(jira.iter_issue_pages(session(), ENDPOINTS, CLOUD, "project = A"))
    assert [issue.key for page in pages for issue in page.issues] == ["A-1", "A-2"]


@responses.activate
def test_removed_search_is_explained():
    responses.get(
        f"{JIRA}/rest/api/3/search",
        json={"errorMessages": ["gone"]},
        status=410,
    )
    from lib.atlassian import get_json

    with pytest.raises(Gone) as caught:
        get_json(session(), f"{JIRA}/rest/api/3/search")
    assert "/rest/api/3/search/jql" in caught.value.hint


@responses.activate
def test_approximate_count_posts_jql():
    responses.post(f"{JIRA}/rest/api/3/search/approximate-count", json={"count": 42})
    count = jira.approximate_count(session(), ENDPOINTS, CLOUD, "project = A")
    assert count == 42
    assert json.loads(responses.calls[0].request.body) == {"jql": "project = A"}


@pytest.mark.parametrize("payload", [{}, {"count": "4"}, {"count": -1}, []])
@responses.activate
def test_approximate_count_rejects(payload):
    responses.post(f"{JIRA}/rest/api/3/search/approximate-count", json=payload)
    with pytest.raises(InvalidResponse):
        jira.approximate_count(session(), ENDPOINTS, CLOUD, "project = A")


@responses.activate
def test_breakdown_counts_status_and_type():
    issues = [
        {
            "id": str(n),
            "key": f"A-{n}",
            "fields": {
                "status": {"name": "Done" if n % 2 else "To Do"},
                "issuetype": {"name": "Bug"},
            },
        }
        for n in range(1, 6)
    ]
    responses.get(
        f"{JIRA}/rest/api/3/search/jql", json={"issues": issues, "isLast": True}
    )
    breakdown = jira.issue_breakdown(session(), ENDPOINTS, CLOUD, "project = A")
    assert breakdown.by_status == {"Done": 3, "To Do": 2}
    assert breakdown.by_type == {"Bug": 5}
    assert breakdown.complete


@responses.activate
def test_breakdown_stops_at_limit():
    issues = [{"id": str(n), "key": f"A-{n}", "fields": {}} for n in range(10)]
    responses.get(
        f"{JIRA}/rest/api/3/search/jql", json={"issues": issues, "nextPageToken": "a"}
    )
    responses.get(
        f"{JIRA}/rest/api/3/search/jql", json={"issues": issues, "nextPageToken": "b"}
    )
    breakdown = jira.issue_breakdown(
        session(), ENDPOINTS, CLOUD, "project = A", max_issues=15
    )
    assert breakdown.counted == 20
    assert not breakdown.complete


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (("ENG",), 'project = "ENG" ORDER BY created DESC'),
        (("ENG", "WEB2"), 'project in ("ENG", "WEB2") ORDER BY created DESC'),
    ],
)
def test_project_jql(keys, expected):
    assert jira.project_jql(*keys) == expected


@pytest.mark.parametrize(
    "key", ['ENG" OR project = "X', "eng", "", "ENG DESC", "<b>", "E" * 300]
)
def test_project_jql_rejects_non_keys(key):
    with pytest.raises(InvalidInput):
        jira.project_jql(key)


@pytest.mark.parametrize("jql", ["", "   ", "x" * 10_001, "project = A\x00"])
def test_validate_jql_rejects(jql):
    with pytest.raises(InvalidInput):
        jira.validate_jql(jql)


def test_validate_jql_keeps_text():
    assert jira.validate_jql('  summary ~ "café" ') == 'summary ~ "café"'


@responses.activate
def test_search_projects_params():
    responses.get(
        f"{JIRA}/rest/api/3/project/search", json={"values": [], "isLast": True}
    )
    jira.search_projects(
        session(),
        ENDPOINTS,
        CLOUD,
        query="x",
        type_key="business",
        order_by="-name",
        with_lead=True,
    )
    params = responses.calls[0].request.params
    assert params["typeKey"] == "business"
    assert params["orderBy"] == "-name"
    assert params["expand"] == "lead"


@pytest.mark.parametrize(
    ("name", "value"), [("type_key", "nonsense"), ("order_by", "owner; drop")]
)
def test_search_projects_rejects_filters(name, value):
    with pytest.raises(InvalidInput):
        jira.search_projects(session(), ENDPOINTS, CLOUD, **{name: value})


@responses.activate
def test_iter_all_projects_parallel():
    def reply(request):
        start = int(request.params["startAt"])
        values = [
            {"id": str(n), "key": f"P{n}", "name": f"P{n}"}
            for n in range(start, min(start + 100, 350))
        ]
        body = {
            "values": values,
            "startAt": start,
            "maxResults": 100,
            "total": 350,
            "isLast": start + 100 >= 350,
        }
        return 200, {}, json.dumps(body)

    responses.add_callback(
        responses.GET, f"{JIRA}/rest/api/3/project/search", callback=reply
    )
    pages = list(jira.iter_all_projects(session(), ENDPOINTS, CLOUD))
    keys = [project.key for page in pages for project in page.projects]
    assert len(keys) == 350
    assert len(set(keys)) == 350
