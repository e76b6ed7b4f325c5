"""The sandbox's API tokens over real HTTP on 127.0.0.1: the control routes, basic
auth on the site URL, scoped tokens through the gateway, and tenant_info.

One server serves the module; each test starts from the practice token alone.
"""

from __future__ import annotations

import pytest
import requests

from conftest import FakeClock
from lib.sandbox import SandboxConfig, SandboxServer
from lib.sandbox.api_tokens import (
    DEFAULT_SCOPED_SCOPES,
    PRACTICE_API_TOKEN,
    PRACTICE_API_TOKEN_EMAIL,
)
from lib.sandbox.consent import approve

TIMEOUT = 10
PRACTICE_AUTH = (PRACTICE_API_TOKEN_EMAIL, PRACTICE_API_TOKEN)
UNAUTHORIZED = {"code": 401, "message": "Unauthorized"}
SCOPE_MISMATCH = {"code": 401, "message": "Unauthorized; scope does not match"}
MAIN = "/sites/practice-cloud"
JIRA_ONLY = "/sites/jira-only"


@pytest.fixture(scope="module")
def sandbox_clock():
    return FakeClock()


@pytest.fixture(scope="module")
def server(sandbox_clock):
    with SandboxServer(SandboxConfig(clock=sandbox_clock)) as running:
        yield running


@pytest.fixture
def url(server):
    server.app.state.api_tokens.reset()
    return server.base_url


@pytest.fixture
def main_cloud_id(server):
    return server.state.dataset.site_by_slug("practice-cloud").cloud_id


def get(url: str, path: str, auth=None, **kwargs) -> requests.Response:
    return requests.get(f"{url}{path}", auth=auth, timeout=TIMEOUT, **kwargs)


def create(url: str, **body) -> requests.Response:
    return requests.post(f"{url}/_sandbox/api-tokens", json=body, timeout=TIMEOUT)


def scoped_auth(url: str, **body) -> tuple[str, str]:
    response = create(url, kind="scoped", **body)
    assert response.status_code == 201
    return PRACTICE_API_TOKEN_EMAIL, response.json()["token"]


# Control routes


def test_practice_token_listed(url):
    tokens = requests.get(f"{url}/_sandbox/api-tokens", timeout=TIMEOUT).json()
    assert [token["id"] for token in tokens] == ["practice"]
    assert tokens[0]["email"] == PRACTICE_API_TOKEN_EMAIL
    assert tokens[0]["kind"] == "classic"


def test_token_list_hides_secrets(url):
    create(url, kind="scoped")
    text = requests.get(f"{url}/_sandbox/api-tokens", timeout=TIMEOUT).text
    assert PRACTICE_API_TOKEN not in text
    assert '"token"' not in text


def test_create_classic_token(url):
    response = create(url, label="CI")
    body = response.json()
    assert response.status_code == 201
    assert body["kind"] == "classic"
    assert body["scopes"] == []
    assert body["label"] == "CI"
    assert body["token"].startswith("ATATT")


def test_create_scoped_token_default_scopes(url):
    body = create(url, kind="scoped").json()
    assert body["scopes"] == list(DEFAULT_SCOPED_SCOPES)


def test_create_scoped_token_with_scopes(url):
    body = create(url, kind="scoped", scopes=["read:jira-user"]).json()
    assert body["scopes"] == ["read:jira-user"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"kind": "forever"}, "kind must be one of"),
        ({"kind": "classic", "scopes": ["read:jira-work"]}, "classic token"),
        ({"kind": "scoped", "scopes": ["read:everything"]}, "Unknown scope"),
        ({"kind": "scoped", "scopes": "read:jira-work"}, "list of scope names"),
        ({"label": 5}, "label must be a string"),
        ({"expires_in": 0}, "expires_in must be"),
        ({"expires_in": True}, "expires_in must be"),
        ({"expires_in": 400 * 86400}, "expires_in must be"),
    ],
)
def test_create_rejects_bad_body(url, body, words):
    response = create(url, **body)
    assert response.status_code == 400
    assert words in response.json()["error"]


def test_create_rejects_non_object(url):
    response = requests.post(f"{url}/_sandbox/api-tokens", data="[1]", timeout=TIMEOUT)
    assert response.status_code == 400


def test_revoke_token(url):
    response = requests.delete(f"{url}/_sandbox/api-tokens/practice", timeout=TIMEOUT)
    assert response.json()["revoked"] is True
    assert response.json()["active"] is False


def test_revoke_unknown_token_404(url):
    response = requests.delete(f"{url}/_sandbox/api-tokens/nope", timeout=TIMEOUT)
    assert response.status_code == 404
    assert "nope" in response.json()["error"]


def test_reset_restores_practice_token(url):
    create(url, kind="scoped")
    requests.delete(f"{url}/_sandbox/api-tokens/practice", timeout=TIMEOUT)
    requests.delete(f"{url}/_sandbox/api-tokens", timeout=TIMEOUT)
    tokens = requests.get(f"{url}/_sandbox/api-tokens", timeout=TIMEOUT).json()
    assert [token["id"] for token in tokens] == ["practice"]
    assert tokens[0]["active"] is True


# Basic auth on the site URL


def test_site_myself_with_practice_token(url):
    response = get(url, f"{MAIN}/rest/api/3/myself", PRACTICE_AUTH)
    body = response.json()
    assert response.status_code == 200
    assert body["displayName"] == "Zoë Practice"
    assert body["emailAddress"] == PRACTICE_API_TOKEN_EMAIL
    assert body["self"].startswith(f"{url}{MAIN}/rest/api/3/user?")


def test_site_email_is_case_insensitive(url):
    auth = (PRACTICE_API_TOKEN_EMAIL.upper(), PRACTICE_API_TOKEN)
    assert get(url, f"{MAIN}/rest/api/3/myself", auth).status_code == 200


@pytest.mark.parametrize(
    "auth",
    [
        None,
        ("amelie.dubois@example.test", PRACTICE_API_TOKEN),
        (PRACTICE_API_TOKEN_EMAIL, "ATATT-wrong-token"),
        (PRACTICE_API_TOKEN_EMAIL, ""),
    ],
)
def test_site_rejects_bad_credentials(url, auth):
    response = get(url, f"{MAIN}/rest/api/3/myself", auth)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


@pytest.mark.parametrize(
    "header",
    [
        f"Bearer {PRACTICE_API_TOKEN}",
        "Basic not-base64!",
        "Basic bm8tY29sb24=",
        "Basic",
    ],
)
def test_site_rejects_other_authorization(url, header):
    response = get(url, f"{MAIN}/rest/api/3/myself", headers={"Authorization": header})
    assert response.status_code == 401


def test_site_rejects_revoked_token(url):
    requests.delete(f"{url}/_sandbox/api-tokens/practice", timeout=TIMEOUT)
    response = get(url, f"{MAIN}/rest/api/3/myself", PRACTICE_AUTH)
    assert response.status_code == 401


def test_site_rejects_expired_token(url, sandbox_clock):
    token = create(url, expires_in=60).json()["token"]
    auth = (PRACTICE_API_TOKEN_EMAIL, token)
    assert get(url, f"{MAIN}/rest/api/3/myself", auth).status_code == 200
    sandbox_clock.advance(61)
    assert get(url, f"{MAIN}/rest/api/3/myself", auth).status_code == 401


def test_site_accepts_created_classic_token(url):
    token = create(url).json()["token"]
    auth = (PRACTICE_API_TOKEN_EMAIL, token)
    assert get(url, f"{MAIN}/rest/api/3/myself", auth).status_code == 200


def test_site_rejects_scoped_token(url):
    auth = scoped_auth(url)
    response = get(url, f"{MAIN}/rest/api/3/myself", auth)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_site_unknown_slug_404(url):
    response = get(url, "/sites/nope/rest/api/3/myself", PRACTICE_AUTH)
    assert response.status_code == 404


def test_site_without_confluence_404(url):
    response = get(url, f"{JIRA_ONLY}/wiki/rest/api/user/current", PRACTICE_AUTH)
    assert response.status_code == 404
    assert "has no Confluence" in response.json()["message"]


# Confluence's current user


def test_current_user_known(url):
    body = get(url, f"{MAIN}/wiki/rest/api/user/current", PRACTICE_AUTH).json()
    assert body["type"] == "known"
    assert body["displayName"] == "Zoë Practice"
    assert body["email"] == PRACTICE_API_TOKEN_EMAIL
    assert body["_links"]["base"] == f"{url}{MAIN}/wiki"


def test_current_user_anonymous_without_credentials(url):
    response = get(url, f"{MAIN}/wiki/rest/api/user/current")
    body = response.json()
    assert response.status_code == 200
    assert body["type"] == "anonymous"
    assert "accountId" not in body


def test_current_user_rejects_wrong_token(url):
    auth = (PRACTICE_API_TOKEN_EMAIL, "ATATT-wrong-token")
    response = get(url, f"{MAIN}/wiki/rest/api/user/current", auth)
    assert response.status_code == 401


def test_current_user_through_gateway_with_oauth(url, server, main_cloud_id):
    server.register_client(
        "api-token-tests", "fake-secret-4411", "http://localhost:8501/callback"
    )
    authorize = (
        f"{url}/authorize?audience=api.atlassian.com&client_id=api-token-tests"
        "&scope=read%3Aconfluence-user&redirect_uri=http%3A%2F%2Flocalhost%3A8501"
        "%2Fcallback&state=s&response_type=code&prompt=consent"
    )
    code = approve(authorize, "practice-cloud").split("code=")[1].split("&")[0]
    tokens = requests.post(
        f"{url}/oauth/token",
        json={
            "grant_type": "authorization_code",
            "client_id": "api-token-tests",
            "client_secret": "fake-secret-4411",
            "code": code,
            "redirect_uri": "http://localhost:8501/callback",
        },
        timeout=TIMEOUT,
    ).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    path = f"/ex/confluence/{main_cloud_id}/wiki/rest/api/user/current"
    response = get(url, path, headers=headers)
    assert response.json()["displayName"] == "Zoë Practice"


# Site API reuses the gateway's handlers


def test_site_project_search_links_to_site(url):
    response = get(
        url,
        f"{MAIN}/rest/api/3/project/search",
        PRACTICE_AUTH,
        params={"maxResults": 2},
    )
    body = response.json()
    assert body["total"] == 120
    assert body["nextPage"].startswith(f"{url}{MAIN}/rest/api/3/project/search?")
    assert body["values"][0]["self"].startswith(f"{url}{MAIN}/rest/api/3/project/")


def test_site_project_avatar_served(url):
    body = get(url, f"{MAIN}/rest/api/3/project/search", PRACTICE_AUTH).json()
    avatar = body["values"][0]["avatarUrls"]["48x48"]
    response = requests.get(avatar, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")


def test_site_jql_search(url):
    response = get(
        url,
        f"{MAIN}/rest/api/3/search/jql",
        PRACTICE_AUTH,
        params={"jql": "project = CAFE", "fields": "summary", "maxResults": 3},
    )
    body = response.json()
    assert len(body["issues"]) == 3
    assert body["issues"][0]["self"].startswith(f"{url}{MAIN}/rest/api/3/issue/")


def test_site_jql_post_415_reports_site_path(url):
    response = requests.post(
        f"{url}{MAIN}/rest/api/3/search/jql",
        data="jql=project = CAFE",
        headers={"Content-Type": "text/plain"},
        auth=PRACTICE_AUTH,
        timeout=TIMEOUT,
    )
    assert response.status_code == 415
    assert response.json()["instance"] == "/rest/api/3/search/jql"


def test_site_issue(url):
    response = get(url, f"{MAIN}/rest/api/3/issue/CAFE-1", PRACTICE_AUTH)
    assert response.json()["key"] == "CAFE-1"


def test_site_removed_search_410(url):
    response = get(url, f"{MAIN}/rest/api/3/search", PRACTICE_AUTH)
    assert response.status_code == 410


def test_site_spaces_v2_paging(url):
    first = get(
        url, f"{MAIN}/wiki/api/v2/spaces", PRACTICE_AUTH, params={"limit": 5}
    ).json()
    assert first["_links"]["base"] == f"{url}{MAIN}/wiki"
    following = get(url, f"{MAIN}{first['_links']['next']}", PRACTICE_AUTH).json()
    assert following["results"][0]["id"] != first["results"][0]["id"]


def test_site_space_pages_and_page(url):
    spaces = get(
        url, f"{MAIN}/wiki/api/v2/spaces", PRACTICE_AUTH, params={"keys": "ENG"}
    ).json()
    space_id = spaces["results"][0]["id"]
    pages = get(url, f"{MAIN}/wiki/api/v2/spaces/{space_id}/pages", PRACTICE_AUTH)
    page_id = pages.json()["results"][0]["id"]
    page = get(
        url,
        f"{MAIN}/wiki/api/v2/pages/{page_id}",
        PRACTICE_AUTH,
        params={"body-format": "storage"},
    )
    assert page.json()["body"]["storage"]["value"]


def test_site_spaces_v1(url):
    body = get(url, f"{MAIN}/wiki/rest/api/space", PRACTICE_AUTH).json()
    assert body["_links"]["self"] == f"{url}{MAIN}/wiki/rest/api/space"


def test_site_wiki_pages_still_html(url):
    response = get(url, f"{MAIN}/wiki/spaces/ENG")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


def test_site_api_gets_injected_fault(url):
    path = f"{MAIN}/rest/api/3/myself"
    requests.post(
        f"{url}/_sandbox/faults",
        json={"path_prefix": path, "status": 503},
        timeout=TIMEOUT,
    )
    assert get(url, path, PRACTICE_AUTH).status_code == 503
    assert get(url, path, PRACTICE_AUTH).status_code == 200


# tenant_info


def test_tenant_info_without_auth(url, main_cloud_id):
    response = get(url, f"{MAIN}/_edge/tenant_info")
    assert response.json() == {"cloudId": main_cloud_id}


def test_tenant_info_encoded_slug(url, server):
    cloud_id = server.state.dataset.site_by_slug("übungsseite").cloud_id
    response = get(url, "/sites/%C3%BCbungsseite/_edge/tenant_info")
    assert response.json() == {"cloudId": cloud_id}


def test_tenant_info_unknown_site_404(url):
    assert get(url, "/sites/nope/_edge/tenant_info").status_code == 404


# Scoped tokens through the gateway


def test_gateway_accepts_scoped_token(url, main_cloud_id):
    auth = scoped_auth(url)
    response = get(url, f"/ex/jira/{main_cloud_id}/rest/api/3/myself", auth)
    assert response.status_code == 200
    assert response.json()["displayName"] == "Zoë Practice"


def test_gateway_scoped_token_confluence_user(url, main_cloud_id):
    auth = scoped_auth(url)
    path = f"/ex/confluence/{main_cloud_id}/wiki/rest/api/user/current"
    assert get(url, path, auth).json()["type"] == "known"


def test_gateway_scoped_token_lists_projects(url, main_cloud_id):
    auth = scoped_auth(url)
    response = get(url, f"/ex/jira/{main_cloud_id}/rest/api/3/project/search", auth)
    assert response.json()["total"] == 120


def test_gateway_scoped_token_reaches_every_site(url, server):
    auth = scoped_auth(url)
    cloud_id = server.state.dataset.site_by_slug("jira-only").cloud_id
    response = get(url, f"/ex/jira/{cloud_id}/rest/api/3/myself", auth)
    assert response.status_code == 200


def test_gateway_enforces_scoped_token_scopes(url, main_cloud_id):
    auth = scoped_auth(url, scopes=["read:jira-work"])
    response = get(url, f"/ex/jira/{main_cloud_id}/rest/api/3/myself", auth)
    assert response.status_code == 401
    assert response.json() == SCOPE_MISMATCH


def test_gateway_rejects_classic_token(url, main_cloud_id):
    response = get(url, f"/ex/jira/{main_cloud_id}/rest/api/3/myself", PRACTICE_AUTH)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_gateway_rejects_revoked_scoped_token(url, main_cloud_id):
    response = create(url, kind="scoped")
    auth = (PRACTICE_API_TOKEN_EMAIL, response.json()["token"])
    requests.delete(
        f"{url}/_sandbox/api-tokens/{response.json()['id']}", timeout=TIMEOUT
    )
    response = get(url, f"/ex/jira/{main_cloud_id}/rest/api/3/myself", auth)
    assert response.status_code == 401


def test_gateway_scoped_token_wrong_email(url, main_cloud_id):
    _, token = scoped_auth(url)
    auth = ("amelie.dubois@example.test", token)
    response = get(url, f"/ex/jira/{main_cloud_id}/rest/api/3/myself", auth)
    assert response.status_code == 401


def test_gateway_scoped_token_unknown_site_404(url):
    auth = scoped_auth(url)
    response = get(url, "/ex/jira/not-a-cloud-id/rest/api/3/myself", auth)
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["/me", "/oauth/token/accessible-resources"])
def test_gateway_identity_routes_reject_api_tokens(url, path):
    auth = scoped_auth(url)
    assert get(url, path, auth).status_code == 401


def test_gateway_unknown_bearer_401(url, main_cloud_id):
    headers = {"Authorization": "Bearer unknown-token"}
    response = get(url, f"/ex/jira/{main_cloud_id}/rest/api/3/myself", headers=headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
