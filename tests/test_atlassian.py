import pytest
import requests
import responses

from conftest import load_realdata
from lib import atlassian, confluence, jira
from lib.errors import (
    ApiError,
    Forbidden,
    Gone,
    InvalidResponse,
    NetworkError,
    NotFound,
    RateLimited,
    ScopeMissing,
    ServerError,
    Unauthorized,
)
from lib.http import create_session

ENDPOINTS = atlassian.Endpoints("https://auth.example.test", "https://api.example.test")
CLOUD = "11111111-1111-4111-8111-000000000001"
JIRA = f"https://api.example.test/ex/jira/{CLOUD}"
CONFLUENCE = f"https://api.example.test/ex/confluence/{CLOUD}"


def session():
    return create_session(retries=False)


def test_endpoints_paths():
    assert ENDPOINTS.authorize_url == "https://auth.example.test/authorize"
    assert ENDPOINTS.token_url == "https://auth.example.test/oauth/token"
    assert ENDPOINTS.accessible_resources_url == (
        "https://api.example.test/oauth/token/accessible-resources"
    )
    assert ENDPOINTS.jira_base("c1") == "https://api.example.test/ex/jira/c1"
    assert ENDPOINTS.confluence_base("c1") == (
        "https://api.example.test/ex/confluence/c1"
    )


def test_real_endpoints_default():
    endpoints = atlassian.Endpoints()
    assert endpoints.authorize_url == "https://auth.atlassian.com/authorize"
    assert endpoints.api_origins == frozenset({"https://api.atlassian.com"})


def test_authorization_server_adds_audience_and_prompt():
    server = atlassian.authorization_server(ENDPOINTS)
    assert dict(server.extra_authorize_params) == {
        "audience": "api.atlassian.com",
        "prompt": "consent",
    }


def test_parse_sites_two_sites_recorded():
    sites = atlassian.parse_sites(
        load_realdata("oauth-token-accessible-resources-confluence-two-sites")
    )
    assert [site.name for site in sites] == ["example-site", "example-site-two"]
    assert sites[0].products == ("confluence",)
    assert sites[0].url == "https://example-site.atlassian.net"


def test_parse_sites_granular_jira_recorded():
    sites = atlassian.parse_sites(
        load_realdata("oauth-token-accessible-resources-jira-granular-scopes")
    )
    assert sites[0].products == ("jira",)
    assert "read:jira-work" in sites[0].scopes


def test_parse_sites_classic_jira_recorded():
    sites = atlassian.parse_sites(
        load_realdata("oauth-token-accessible-resources-jira-classic-scopes-2024")
    )
    assert sites[0].cloud_id == "11111111-1111-4111-8111-000000000003"


def test_parse_sites_empty_list():
    assert atlassian.parse_sites([]) == ()


def test_parse_sites_rejects_object():
    with pytest.raises(InvalidResponse):
        atlassian.parse_sites({"error": "x"})


def test_parse_sites_skips_entries_without_id():
    sites = atlassian.parse_sites([{"name": "no id"}, "junk", {"id": "c1"}])
    assert [site.cloud_id for site in sites] == ["c1"]


def test_parse_project_page_recorded():
    page = jira.parse_project_page(
        load_realdata("rest-api-3-project-search-2024-four-projects"), "u"
    )
    assert len(page.projects) == 4
    assert page.total == 4
    assert page.is_last
    assert page.projects[0].key == "MIL"
    assert page.projects[0].type_key == "software"


def test_parse_project_page_single_recorded():
    page = jira.parse_project_page(load_realdata("rest-api-3-project-search"), "u")
    assert page.projects[0].name == "My Kanban Project"
    assert page.projects[0].is_private is False
    assert page.projects[0].lead is None


def test_parse_project_page_rejects_missing_values():
    with pytest.raises(InvalidResponse):
        jira.parse_project_page({"total": 1}, "u")


def test_parse_space_page_recorded():
    page = confluence.parse_space_page(
        load_realdata("wiki-api-v2-spaces"), "u", api="v2"
    )
    assert page.spaces[0].name == "Test User One"
    assert page.spaces[0].type == "personal"
    assert page.spaces[1].key == "MFS"
    assert all(space.id for space in page.spaces)


def test_parse_space_page_empty_recorded():
    page = confluence.parse_space_page(
        load_realdata("wiki-api-v2-labels-id-pages-empty"), "u", api="v2"
    )
    assert page.spaces == ()
    assert page.next_url is None


def test_parse_space_page_v1_numeric_id():
    page = confluence.parse_space_page(
        {
            "results": [{"id": 98306, "key": "ENG", "name": "Engineering"}],
            "_links": {"next": "/rest/api/space?limit=25&start=25"},
        },
        "u",
        api="v1",
    )
    assert page.spaces[0].id == "98306"
    assert page.next_url == "/rest/api/space?limit=25&start=25"


@responses.activate
def test_list_sites_sends_request():
    responses.get(
        "https://api.example.test/oauth/token/accessible-resources",
        json=[
            {"id": CLOUD, "name": "s", "url": "https://s.example.test", "scopes": []}
        ],
    )
    sites = atlassian.list_sites(session(), ENDPOINTS)
    assert sites[0].cloud_id == CLOUD


@responses.activate
def test_search_projects_params():
    responses.get(
        f"{JIRA}/rest/api/3/project/search",
        json={"values": [], "isLast": True, "startAt": 0, "maxResults": 100},
    )
    jira.search_projects(
        session(), ENDPOINTS, CLOUD, start_at=0, max_results=500, query="Café"
    )
    params = responses.calls[0].request.params
    assert params["maxResults"] == "100"
    assert params["query"] == "Café"
    assert params["startAt"] == "0"


@responses.activate
def test_search_projects_404_is_empty_page():
    responses.get(
        f"{JIRA}/rest/api/3/project/search",
        json={"errorMessages": ["No project could be found"], "errors": {}},
        status=404,
    )
    page = jira.search_projects(session(), ENDPOINTS, CLOUD, query="zzz")
    assert page.projects == ()
    assert page.is_last


@responses.activate
def test_list_spaces_follows_next_link_verbatim():
    next_link = "/wiki/api/v2/spaces?cursor=eyJpZCI6OTgzMDZ9%3D&limit=25"
    responses.get(f"{CONFLUENCE}{next_link}", json={"results": [], "_links": {}})
    confluence.list_spaces(session(), ENDPOINTS, CLOUD, next_url=next_link)
    assert responses.calls[0].request.url == f"{CONFLUENCE}{next_link}"


@responses.activate
def test_list_spaces_v1_next_link_under_wiki():
    next_link = "/rest/api/space?limit=25&start=25"
    responses.get(
        f"{CONFLUENCE}/wiki/rest/api/space?limit=25&start=25",
        json={"results": [], "_links": {}},
    )
    page = confluence.list_spaces(
        session(), ENDPOINTS, CLOUD, api="v1", next_url=next_link
    )
    assert page.api == "v1"


def test_list_spaces_rejects_foreign_next_host():
    with pytest.raises(InvalidResponse):
        confluence.list_spaces(
            session(),
            ENDPOINTS,
            CLOUD,
            next_url="https://evil.example.test/wiki/api/v2/spaces",
        )


@responses.activate
def test_list_spaces_v2_limit_capped():
    responses.get(f"{CONFLUENCE}/wiki/api/v2/spaces", json={"results": []})
    confluence.list_spaces(session(), ENDPOINTS, CLOUD, limit=1000)
    assert responses.calls[0].request.params["limit"] == "250"


@pytest.mark.parametrize(
    ("granted", "expected"),
    [
        (("read:space:confluence",), "v2"),
        (("read:space:confluence", "read:confluence-space.summary"), "v2"),
        (("read:confluence-space.summary",), "v1"),
        (("read:content-details:confluence",), "v1"),
        (("read:jira-work",), None),
        ((), None),
    ],
)
def test_confluence_api_for(granted, expected):
    assert confluence.confluence_api_for(granted) == expected


@pytest.mark.parametrize(
    ("status", "body", "headers", "error_type"),
    [
        (
            401,
            {"code": 401, "message": "Unauthorized; scope does not match"},
            {},
            ScopeMissing,
        ),
        (401, {"code": 401, "message": "Unauthorized"}, {}, Unauthorized),
        (403, {"errorMessages": ["You do not have permission"]}, {}, Forbidden),
        (404, {"errorMessages": ["Not found"], "errors": {}}, {}, NotFound),
        (410, {"errorMessages": ["Gone"]}, {}, Gone),
        (429, {}, {"Retry-After": "12"}, RateLimited),
        (503, {}, {}, ServerError),
        (400, {"errors": [{"title": "Invalid cursor"}]}, {}, ApiError),
    ],
)
@responses.activate
def test_error_statuses_mapped(status, body, headers, error_type):
    url = f"{JIRA}/rest/api/3/myself"
    responses.get(url, json=body, status=status, headers=headers)
    with pytest.raises(error_type) as caught:
        atlassian.get_myself(session(), ENDPOINTS, CLOUD)
    assert caught.value.status == status
    assert caught.value.hint


@responses.activate
def test_scope_missing_names_required_scope():
    responses.get(
        f"{CONFLUENCE}/wiki/api/v2/spaces",
        json={"code": 401, "message": "Unauthorized; scope does not match"},
        status=401,
    )
    with pytest.raises(ScopeMissing) as caught:
        confluence.list_spaces(session(), ENDPOINTS, CLOUD)
    assert caught.value.required == "read:space:confluence"
    assert "read:space:confluence" in caught.value.message


@responses.activate
def test_rate_limit_keeps_retry_after():
    responses.get(
        f"{JIRA}/rest/api/3/myself", status=429, headers={"Retry-After": "45"}
    )
    with pytest.raises(RateLimited) as caught:
        atlassian.get_myself(session(), ENDPOINTS, CLOUD)
    assert caught.value.retry_after == 45.0
    assert "45 seconds" in caught.value.hint


@responses.activate
def test_error_detail_from_jira_body():
    responses.get(
        f"{JIRA}/rest/api/3/myself",
        json={"errorMessages": ["Issue does not exist"], "errors": {}},
        status=404,
    )
    with pytest.raises(NotFound) as caught:
        atlassian.get_myself(session(), ENDPOINTS, CLOUD)
    assert "Issue does not exist" in caught.value.message


@responses.activate
def test_html_body_is_invalid_response():
    responses.get(
        f"{JIRA}/rest/api/3/myself",
        body="<html>login</html>",
        content_type="text/html",
    )
    with pytest.raises(InvalidResponse) as caught:
        atlassian.get_myself(session(), ENDPOINTS, CLOUD)
    assert "text/html" in caught.value.message


@responses.activate
def test_truncated_json_is_invalid_response():
    responses.get(
        f"{JIRA}/rest/api/3/myself",
        body='{"accountId": "abc", "displ',
        content_type="application/json",
    )
    with pytest.raises(InvalidResponse):
        atlassian.get_myself(session(), ENDPOINTS, CLOUD)


@responses.activate
def test_network_failure_is_network_error():
    responses.get(f"{JIRA}/rest/api/3/myself", body=requests.ConnectionError("refused"))
    with pytest.raises(NetworkError):
        atlassian.get_myself(session(), ENDPOINTS, CLOUD)


@responses.activate
def test_get_myself_returns_recorded_user():
    responses.get(f"{JIRA}/rest/api/3/myself", json=load_realdata("rest-api-3-myself"))
    user = atlassian.get_myself(session(), ENDPOINTS, CLOUD)
    assert user["displayName"] == "Test User One"
    assert user["active"] is True


@pytest.mark.parametrize(
    "payload",
    [
        {"values": [], "startAt": "zero"},
        {"values": [], "maxResults": {"n": 1}},
        {"values": [], "total": 1.5},
        {"values": [], "startAt": True},
    ],
)
def test_parse_project_page_rejects_bad_numbers(payload):
    with pytest.raises(InvalidResponse):
        jira.parse_project_page(payload, "u")
