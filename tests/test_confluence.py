import pytest
import responses

from conftest import load_realdata
from lib import confluence
from lib.atlassian import Endpoints
from lib.errors import InvalidInput, InvalidResponse
from lib.http import create_session

ENDPOINTS = Endpoints("https://auth.example.test", "https://api.example.test")
CLOUD = "11111111-1111-4111-8111-000000000001"
WIKI = f"https://api.example.test/ex/confluence/{CLOUD}"


def session():
    return create_session(retries=False)


def test_parse_page_list_recorded():
    pages = confluence.parse_page_list(load_realdata("wiki-api-v2-pages"), "u")
    assert pages.pages[0].title == "Overview"
    assert pages.pages[0].parent_id is None
    assert pages.pages[1].parent_id == "98400"
    assert pages.pages[0].version == 1


@responses.activate
def test_get_page_recorded_storage_body():
    payload = load_realdata("wiki-api-v2-pages-body-storage")["results"][0]
    responses.get(f"{WIKI}/wiki/api/v2/pages/98400", json=payload)
    body = confluence.get_page(
        session(), ENDPOINTS, CLOUD, "98400", body_format="storage"
    )
    assert body.body.startswith("<ac:layout>")
    assert body.body_format == "storage"
    assert responses.calls[0].request.params["body-format"] == "storage"


@responses.activate
def test_get_page_without_body():
    responses.get(f"{WIKI}/wiki/api/v2/pages/5", json={"id": "5", "title": "t"})
    assert confluence.get_page(session(), ENDPOINTS, CLOUD, "5").body == ""


@pytest.mark.parametrize(
    ("page_id", "body_format"),
    [("abc", "view"), ("1/../2", "view"), ("5", "export_view"), ("5", "")],
)
def test_get_page_rejects(page_id, body_format):
    with pytest.raises(InvalidInput):
        confluence.get_page(
            session(), ENDPOINTS, CLOUD, page_id, body_format=body_format
        )


@pytest.mark.parametrize("space_id", ["ENG", "", "1 OR 2"])
def test_list_pages_rejects_space_id(space_id):
    with pytest.raises(InvalidInput):
        confluence.list_pages(session(), ENDPOINTS, CLOUD, space_id)


@responses.activate
def test_list_pages_uses_largest_limit():
    responses.get(f"{WIKI}/wiki/api/v2/spaces/98306/pages", json={"results": []})
    confluence.list_pages(session(), ENDPOINTS, CLOUD, "98306")
    assert responses.calls[0].request.params["limit"] == "250"


@responses.activate
def test_list_spaces_filters_sent():
    responses.get(f"{WIKI}/wiki/api/v2/spaces", json={"results": []})
    confluence.list_spaces(
        session(), ENDPOINTS, CLOUD, space_type="knowledge_base", status="archived"
    )
    params = responses.calls[0].request.params
    assert params["type"] == "knowledge_base"
    assert params["status"] == "archived"


@pytest.mark.parametrize(
    ("api", "space_type", "status"),
    [("v1", "knowledge_base", None), ("v2", "team", None), ("v2", None, "gone")],
)
def test_list_spaces_rejects_filters(api, space_type, status):
    with pytest.raises(InvalidInput):
        confluence.list_spaces(
            session(), ENDPOINTS, CLOUD, api=api, space_type=space_type, status=status
        )


@responses.activate
def test_iter_all_spaces_follows_links():
    responses.get(
        f"{WIKI}/wiki/api/v2/spaces",
        json={
            "results": [{"id": "1"}],
            "_links": {"next": "/wiki/api/v2/spaces?cursor=a%3D"},
        },
        match=[responses.matchers.query_param_matcher({"limit": "250"})],
    )
    responses.get(
        f"{WIKI}/wiki/api/v2/spaces?cursor=a%3D",
        json={"results": [{"id": "2"}], "_links": {}},
    )
    pages = list(confluence.iter_all_spaces(session(), ENDPOINTS, CLOUD))
    assert [space.id for page in pages for space in page.spaces] == ["1", "2"]
    assert responses.calls[1].request.url.endswith("cursor=a%3D")


def test_parse_page_list_rejects():
    with pytest.raises(InvalidResponse):
        confluence.parse_page_list({"values": []}, "u")


BASE = f"https://api.example.test/ex/confluence/{CLOUD}"


@pytest.mark.parametrize(
    ("next_url", "api", "expected"),
    [
        (
            "/wiki/api/v2/spaces?cursor=a%3D",
            "v2",
            f"{BASE}/wiki/api/v2/spaces?cursor=a%3D",
        ),
        ("/rest/api/space?start=25", "v1", f"{BASE}/wiki/rest/api/space?start=25"),
        (
            f"{BASE}/wiki/api/v2/spaces?cursor=b",
            "v2",
            f"{BASE}/wiki/api/v2/spaces?cursor=b",
        ),
    ],
)
def test_join_next_link_accepts(next_url, api, expected):
    assert confluence.join_next_link(BASE, next_url, api) == expected


@pytest.mark.parametrize(
    "next_url",
    [
        "http://api.example.test/ex/confluence/x/wiki/api/v2/spaces",
        f"http://api.example.test/ex/confluence/{CLOUD}/wiki/api/v2/spaces",
        f"https://api.example.test:8443/ex/confluence/{CLOUD}/wiki/api/v2/spaces",
        "https://evil.example.test/wiki/api/v2/spaces",
        "//evil.example.test/x",
        "\\t//evil.example.test/x",
        " /wiki/api/v2/spaces",
        "/wiki/../../ex/jira/other/rest/api/3/myself",
        "\\\\evil.example.test\\\\x",
        "/wiki/api/v2/spaces?x=\\n",
    ],
)
def test_join_next_link_rejects(next_url):
    with pytest.raises(InvalidResponse):
        confluence.join_next_link(BASE, next_url, "v2")


@pytest.mark.parametrize("base", ["", "/wiki", "javascript:alert(1)", 5, None])
@responses.activate
def test_get_page_ignores_unusable_base(base):
    responses.get(
        f"{WIKI}/wiki/api/v2/pages/5",
        json={"id": "5", "title": "t", "_links": {"base": base}},
    )
    assert confluence.get_page(session(), ENDPOINTS, CLOUD, "5").base_url is None
