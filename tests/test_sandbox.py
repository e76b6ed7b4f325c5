"""Tests of the sandbox server over real HTTP on 127.0.0.1.

Most tests share one server whose clock the tests move by hand. Each test
registers its own client, so grants and tokens never leak between tests.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import re
import select
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from conftest import FakeClock
from lib.sandbox import (
    PRACTICE_CLIENT_ID,
    PRACTICE_CLIENT_SECRET,
    SandboxConfig,
    SandboxServer,
)
from lib.scopes import BY_NAME

ROOT = Path(__file__).resolve().parents[1]
REDIRECT_URI = "http://app.test/callback"
PRACTICE_REDIRECT_URI = "http://localhost:8501/callback"
TIMEOUT = 10

JIRA_SCOPES = ("read:jira-work", "read:jira-user")
CONFLUENCE_V2_SCOPES = ("read:space:confluence", "read:page:confluence")
CONFLUENCE_CLASSIC_SCOPES = ("read:confluence-space.summary",)
ALL_SCOPES = (
    *JIRA_SCOPES,
    *CONFLUENCE_V2_SCOPES,
    *CONFLUENCE_CLASSIC_SCOPES,
    "read:me",
    "offline_access",
)
UNAUTHORIZED = {"code": 401, "message": "Unauthorized"}
SCOPE_MISMATCH = {"code": 401, "message": "Unauthorized; scope does not match"}


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str
    redirect_uri: str = REDIRECT_URI


PRACTICE_CLIENT = Client(
    PRACTICE_CLIENT_ID, PRACTICE_CLIENT_SECRET, PRACTICE_REDIRECT_URI
)


@pytest.fixture(scope="module")
def sandbox_clock():
    return FakeClock()


@pytest.fixture(scope="module")
def server(sandbox_clock):
    with SandboxServer(SandboxConfig(clock=sandbox_clock)) as running:
        yield running


@pytest.fixture
def url(server):
    return server.base_url


@pytest.fixture
def client(server):
    client_id = f"client-{uuid.uuid4().hex[:8]}"
    registered = Client(client_id, f"secret-{client_id}")
    server.register_client(
        registered.client_id,
        registered.client_secret,
        registered.redirect_uri,
        name="Test app",
    )
    return registered


@pytest.fixture
def fresh_server():
    """A server of its own, for tests that change settings or inject faults."""
    with SandboxServer(SandboxConfig(clock=FakeClock())) as running:
        yield running


# Helpers


def authorize_params(client: Client, scopes=ALL_SCOPES, state="state-1", **changes):
    params = {
        "audience": "api.atlassian.com",
        "client_id": client.client_id,
        "scope": " ".join(scopes),
        "redirect_uri": client.redirect_uri,
        "state": state,
        "response_type": "code",
        "prompt": "consent",
    }
    params.update(changes)
    return {key: value for key, value in params.items() if value is not None}


def open_consent(url: str, params: dict) -> requests.Response:
    return requests.get(
        f"{url}/authorize", params=params, allow_redirects=False, timeout=TIMEOUT
    )


def request_id_of(page: str) -> str:
    return re.search(r'name="request_id" value="([^"]+)"', page).group(1)


def site_options(page: str) -> dict[str, str]:
    """Return the consent screen's site picker as {label: cloud id}."""
    options = re.findall(r'<option value="([^"]+)">([^<]*)</option>', page)
    return {html.unescape(label): cloud_id for cloud_id, label in options}


def choose_site(page: str, name: str) -> str:
    return next(
        cloud_id
        for label, cloud_id in site_options(page).items()
        if label.startswith(name + " (")
    )


def decide(url: str, page: str, decision: str, site: str = "practice-cloud"):
    form = {
        "request_id": request_id_of(page),
        "decision": decision,
        "site": choose_site(page, site),
    }
    return requests.post(
        f"{url}/authorize", data=form, allow_redirects=False, timeout=TIMEOUT
    )


def callback_params(response: requests.Response) -> dict[str, str]:
    query = urlsplit(response.headers["location"]).query
    return {key: values[0] for key, values in parse_qs(query).items()}


def consent(url, client, scopes=ALL_SCOPES, site="practice-cloud", state="s"):
    """Accept the consent screen and return (code, cloud id of the chosen site)."""
    page = open_consent(url, authorize_params(client, scopes, state)).text
    response = decide(url, page, "accept", site)
    return callback_params(response)["code"], choose_site(page, site)


def token_request(url: str, body: dict, as_json: bool = True, auth=None):
    if as_json:
        return requests.post(
            f"{url}/oauth/token", json=body, auth=auth, timeout=TIMEOUT
        )
    return requests.post(f"{url}/oauth/token", data=body, auth=auth, timeout=TIMEOUT)


def exchange(url: str, client: Client, code: str, as_json: bool = True, **changes):
    body = {
        "grant_type": "authorization_code",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "code": code,
        "redirect_uri": client.redirect_uri,
    }
    body.update(changes)
    return token_request(url, body, as_json)


def refresh(url: str, client: Client, refresh_token: str):
    body = {
        "grant_type": "refresh_token",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "refresh_token": refresh_token,
    }
    return token_request(url, body)


def connect(url, client, scopes=ALL_SCOPES, site="practice-cloud"):
    """Run consent and code exchange; return (token response body, cloud id)."""
    code, cloud_id = consent(url, client, scopes, site)
    return exchange(url, client, code).json(), cloud_id


def api_get(url: str, path: str, token: str, **params) -> requests.Response:
    target = path if path.startswith("http") else f"{url}{path}"
    headers = {"Authorization": f"Bearer {token}"}
    return requests.get(target, headers=headers, params=params, timeout=TIMEOUT)


# Server and command line


def test_health_ok(url):
    response = requests.get(f"{url}/_sandbox/health", timeout=TIMEOUT)
    assert response.json() == {"status": "ok"}


def test_server_listens_on_loopback(server):
    assert server.base_url.startswith("http://127.0.0.1:")


def test_server_stop_is_idempotent():
    running = SandboxServer()
    running.start()
    running.stop()
    running.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{running.base_url}/_sandbox/health", timeout=TIMEOUT)


def test_command_line_serves_and_stops():
    process = subprocess.Popen(
        [sys.executable, "-m", "lib.sandbox", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 30)
        line = process.stdout.readline().strip() if ready else ""
        match = re.fullmatch(r"Sandbox listening on (http://127\.0\.0\.1:\d+)", line)
        assert match, f"unexpected first line: {line!r}"
        health = requests.get(f"{match.group(1)}/_sandbox/health", timeout=TIMEOUT)
        assert health.json() == {"status": "ok"}
    finally:
        process.terminate()
        returncode = process.wait(timeout=15)
    assert returncode == 0


# Consent screen


def test_authorize_page_lists_scope_summaries(url, client):
    page = open_consent(url, authorize_params(client)).text
    for name in ALL_SCOPES:
        assert html.escape(BY_NAME[name].summary) in page, name


def test_authorize_page_lists_unknown_granular_scope(url, client):
    scopes = ("read:issue-type:jira", "read:jira-work")
    page = open_consent(url, authorize_params(client, scopes)).text
    assert "read:issue-type:jira" in page


def test_authorize_page_lists_sites(url, client):
    page = open_consent(url, authorize_params(client)).text
    labels = list(site_options(page))
    assert [label.split(" (")[0] for label in labels] == [
        "practice-cloud",
        "Übungsseite München",
        "jira-only",
    ]


def test_authorize_page_hides_sites_without_product(url, client):
    page = open_consent(url, authorize_params(client, CONFLUENCE_V2_SCOPES)).text
    assert not any(label.startswith("jira-only") for label in site_options(page))


def test_authorize_page_has_buttons(url, client):
    page = open_consent(url, authorize_params(client)).text
    assert 'name="decision" value="accept">Accept</button>' in page
    assert 'name="decision" value="cancel">Cancel</button>' in page


def test_authorize_page_shows_account(url, client):
    page = open_consent(url, authorize_params(client)).text
    assert "Zoë Practice" in page
    assert "practice.user@example.test" in page


def test_authorize_page_is_utf8_html(url, client):
    response = open_consent(url, authorize_params(client))
    assert response.headers["content-type"] == "text/html; charset=utf-8"


def test_authorize_page_escapes_app_name(url, server):
    server.register_client("markup-app", "secret-markup", REDIRECT_URI, name="<b>X</b>")
    page = open_consent(url, authorize_params(Client("markup-app", "x"))).text
    assert "&lt;b&gt;X&lt;/b&gt;" in page
    assert "<b>X</b>" not in page


def test_unregistered_redirect_lands_on_error_page(url, client):
    params = authorize_params(client, redirect_uri="http://evil.test/callback")
    response = requests.get(f"{url}/authorize", params=params, timeout=TIMEOUT)
    visited = [r.headers.get("location", "") for r in response.history]
    assert urlsplit(response.url).path == "/error"
    assert not any(location.startswith("http://evil.test") for location in visited)
    assert "unauthorized_client" in response.text
    assert "redirect_uri is not registered for client: http://evil.test/callback" in (
        response.text
    )


def test_unregistered_redirect_error_query(url, client):
    params = authorize_params(client, redirect_uri="http://evil.test/callback")
    location = open_consent(url, params).headers["location"]
    assert location == (
        f"{url}/error?error=unauthorized_client&error_description=redirect_uri"
        "%20is%20not%20registered%20for%20client:%20http://evil.test/callback"
    )


def test_unknown_client_lands_on_error_page(url):
    params = authorize_params(Client("no-such-client", "x"))
    response = requests.get(f"{url}/authorize", params=params, timeout=TIMEOUT)
    assert urlsplit(response.url).path == "/error"
    assert "client_id is not registered: no-such-client" in response.text


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"response_type": None}, "invalid_request"),
        ({"response_type": "token"}, "invalid_request"),
        ({"audience": None}, "invalid_request"),
        ({"audience": "example.test"}, "invalid_request"),
        ({"scope": ""}, "invalid_scope"),
        ({"scope": "read:jira-work no-such-scope"}, "invalid_scope"),
    ],
)
def test_invalid_authorize_request_redirects_error(url, client, changes, error):
    response = open_consent(url, authorize_params(client, state="st-9", **changes))
    params = callback_params(response)
    assert response.headers["location"].startswith(REDIRECT_URI + "?")
    assert params["error"] == error
    assert params["error_description"]
    assert params["state"] == "st-9"


def test_accept_returns_code_and_state(url, client):
    state = "a b/ü&=+%"
    page = open_consent(url, authorize_params(client, state=state)).text
    response = decide(url, page, "accept")
    params = callback_params(response)
    assert response.status_code == 302
    assert response.headers["location"].startswith(REDIRECT_URI + "?code=")
    assert params["code"]
    assert params["state"] == state


def test_cancel_returns_access_denied(url, client):
    page = open_consent(url, authorize_params(client, state="st-2")).text
    response = decide(url, page, "cancel")
    assert response.headers["location"] == (
        f"{REDIRECT_URI}?error=access_denied"
        "&error_description=User%20did%20not%20authorize%20the%20request&state=st-2"
    )


def test_consent_form_works_once(url, client):
    page = open_consent(url, authorize_params(client)).text
    decide(url, page, "accept")
    again = decide(url, page, "accept")
    assert again.status_code == 400


# Token endpoint


def test_token_exchange_json_body(url, client):
    code, _ = consent(url, client)
    body = exchange(url, client, code).json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"]
    assert body["refresh_token"]
    assert body["scope"].split() == list(ALL_SCOPES)


def test_token_exchange_form_body(url, client):
    code, _ = consent(url, client)
    response = exchange(url, client, code, as_json=False)
    assert response.status_code == 200
    assert response.json()["access_token"]


def test_token_exchange_basic_auth(url, client):
    code, _ = consent(url, client)
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": client.redirect_uri,
    }
    auth = (client.client_id, client.client_secret)
    response = token_request(url, body, as_json=False, auth=auth)
    assert response.status_code == 200


def test_token_response_not_cached(url, client):
    code, _ = consent(url, client)
    response = exchange(url, client, code)
    assert response.headers["cache-control"] == "no-store"


def test_token_wrong_secret_401(url, client):
    code, _ = consent(url, client)
    response = exchange(url, client, code, client_secret="wrong-secret")
    assert response.status_code == 401
    assert response.json() == {
        "error": "access_denied",
        "error_description": "Unauthorized",
    }


def test_token_missing_secret_401(url, client):
    code, _ = consent(url, client)
    response = exchange(url, client, code, client_secret="")
    assert response.status_code == 401
    assert response.json()["error"] == "access_denied"


def test_token_unknown_client_401(url, client):
    code, _ = consent(url, client)
    response = exchange(url, client, code, client_id="no-such-client")
    assert response.status_code == 401


def test_token_unsupported_grant_type_400(url, client):
    response = token_request(
        url,
        {
            "grant_type": "password",
            "client_id": client.client_id,
            "client_secret": client.client_secret,
        },
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_token_missing_code_400(url, client):
    response = exchange(url, client, "")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_code_reuse_403(url, client):
    code, _ = consent(url, client)
    exchange(url, client, code)
    response = exchange(url, client, code)
    assert response.status_code == 403
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "Invalid authorization code",
    }


def test_code_reuse_revokes_issued_tokens(url, client):
    code, _ = consent(url, client)
    first = exchange(url, client, code).json()
    exchange(url, client, code)
    response = api_get(url, "/me", first["access_token"])
    assert response.status_code == 401
    assert refresh(url, client, first["refresh_token"]).status_code == 403


def test_code_expired_403(url, client, sandbox_clock):
    code, _ = consent(url, client)
    sandbox_clock.advance(301)
    response = exchange(url, client, code)
    assert response.status_code == 403
    assert response.json()["error"] == "invalid_grant"


def test_code_redirect_uri_mismatch_403(url, client):
    code, _ = consent(url, client)
    response = exchange(url, client, code, redirect_uri="http://app.test/other")
    assert response.status_code == 403
    assert response.json()["error"] == "invalid_grant"
    assert "http://app.test/other" in response.json()["error_description"]


def test_code_of_other_client_403(url, client, server):
    code, _ = consent(url, client)
    other = Client("other-client", "other-secret")
    server.register_client(other.client_id, other.client_secret, REDIRECT_URI)
    assert exchange(url, other, code).status_code == 403


def test_no_refresh_token_without_offline_access(url, client):
    tokens, _ = connect(url, client, JIRA_SCOPES)
    assert "refresh_token" not in tokens
    assert tokens["scope"] == "read:jira-work read:jira-user"


def test_refresh_returns_new_tokens(url, client):
    tokens, _ = connect(url, client)
    response = refresh(url, client, tokens["refresh_token"])
    rotated = response.json()
    assert response.status_code == 200
    assert rotated["refresh_token"] != tokens["refresh_token"]
    assert rotated["access_token"] != tokens["access_token"]
    assert rotated["scope"] == tokens["scope"]


def test_refresh_old_token_works_within_window(url, client, sandbox_clock):
    tokens, _ = connect(url, client)
    refresh(url, client, tokens["refresh_token"])
    sandbox_clock.advance(599)
    assert refresh(url, client, tokens["refresh_token"]).status_code == 200
    assert api_get(url, "/me", tokens["access_token"]).status_code == 200


def test_refresh_old_token_fails_after_window(url, client, sandbox_clock):
    tokens, _ = connect(url, client)
    rotated = refresh(url, client, tokens["refresh_token"]).json()
    sandbox_clock.advance(601)
    response = refresh(url, client, tokens["refresh_token"])
    assert response.status_code == 403
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "Unknown or invalid refresh token.",
    }
    assert refresh(url, client, rotated["refresh_token"]).status_code == 200


def test_refresh_revokes_companion_access_token(url, client, sandbox_clock):
    tokens, _ = connect(url, client)
    rotated = refresh(url, client, tokens["refresh_token"]).json()
    sandbox_clock.advance(601)
    old = api_get(url, "/me", tokens["access_token"])
    assert old.status_code == 401
    assert old.json() == UNAUTHORIZED
    assert api_get(url, "/me", rotated["access_token"]).status_code == 200


def test_refresh_unknown_token_403(url, client):
    response = refresh(url, client, "no-such-refresh-token")
    assert response.status_code == 403
    assert response.json()["error_description"] == "Unknown or invalid refresh token."


def test_secrets_never_logged(url, client, caplog):
    caplog.set_level(logging.DEBUG)
    code, _ = consent(url, client)
    tokens = exchange(url, client, code).json()
    refresh(url, client, tokens["refresh_token"])
    exchange(url, client, code)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert any(record.name.startswith("lib.sandbox") for record in caplog.records)
    for secret in (
        client.client_secret,
        code,
        tokens["access_token"],
        tokens["refresh_token"],
    ):
        assert secret not in logged


# Gateway


def test_missing_token_401(url):
    response = requests.get(f"{url}/me", timeout=TIMEOUT)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_unknown_token_401(url):
    response = api_get(url, "/oauth/token/accessible-resources", "no-such-token")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_expired_access_token_401(url, client, sandbox_clock):
    tokens, _ = connect(url, client)
    sandbox_clock.advance(3601)
    response = api_get(url, "/me", tokens["access_token"])
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_accessible_resources_after_one_consent(url, client):
    tokens, cloud_id = connect(url, client)
    resources = api_get(
        url, "/oauth/token/accessible-resources", tokens["access_token"]
    ).json()
    assert [resource["id"] for resource in resources] == [cloud_id]
    assert resources[0]["name"] == "practice-cloud"
    assert resources[0]["url"] == f"{url}/sites/practice-cloud"
    assert resources[0]["avatarUrl"].startswith(url)


def test_accessible_resources_exclude_identity_scopes(url, client):
    tokens, _ = connect(url, client)
    resource = api_get(
        url, "/oauth/token/accessible-resources", tokens["access_token"]
    ).json()[0]
    assert resource["scopes"] == sorted(
        (*JIRA_SCOPES, *CONFLUENCE_V2_SCOPES, *CONFLUENCE_CLASSIC_SCOPES)
    )


def test_accessible_resources_two_sites(url, client):
    first, first_site = connect(url, client, site="practice-cloud")
    second, second_site = connect(url, client, site="Übungsseite München")
    for token in (first["access_token"], second["access_token"]):
        resources = api_get(url, "/oauth/token/accessible-resources", token).json()
        assert {resource["id"] for resource in resources} == {first_site, second_site}


def test_accessible_resources_jira_only_site_scopes(url, client):
    tokens, _ = connect(url, client, site="jira-only")
    resource = api_get(
        url, "/oauth/token/accessible-resources", tokens["access_token"]
    ).json()[0]
    assert resource["scopes"] == sorted(JIRA_SCOPES)


def test_me_requires_read_me(url, client):
    tokens, _ = connect(url, client, JIRA_SCOPES)
    response = api_get(url, "/me", tokens["access_token"])
    assert response.status_code == 401
    assert response.json() == SCOPE_MISMATCH


def test_me_returns_profile(url, client):
    tokens, _ = connect(url, client)
    profile = api_get(url, "/me", tokens["access_token"]).json()
    assert profile["name"] == "Zoë Practice"
    assert profile["email"] == "practice.user@example.test"
    assert re.fullmatch(r"712020:[0-9a-f-]{36}", profile["account_id"])
    assert profile["account_status"] == "active"
    assert profile["email_verified"] is True
    assert set(profile["extended_profile"]) == {
        "job_title",
        "organization",
        "department",
        "location",
    }


def test_cloud_id_outside_grant_404(url, client):
    tokens, _ = connect(url, client, site="practice-cloud")
    page = open_consent(url, authorize_params(client)).text
    outside = choose_site(page, "Übungsseite München")
    response = api_get(
        url, f"/ex/jira/{outside}/rest/api/3/myself", tokens["access_token"]
    )
    assert response.status_code == 404
    assert response.json()["code"] == 404


def test_confluence_on_jira_only_site_404(url, client):
    tokens, cloud_id = connect(url, client, site="jira-only")
    response = api_get(
        url, f"/ex/confluence/{cloud_id}/wiki/api/v2/spaces", tokens["access_token"]
    )
    assert response.status_code == 404


def test_site_url_serves_page(url, client):
    tokens, _ = connect(url, client, site="Übungsseite München")
    resource = api_get(
        url, "/oauth/token/accessible-resources", tokens["access_token"]
    ).json()[0]
    page = requests.get(resource["url"], timeout=TIMEOUT)
    assert page.status_code == 200
    assert "Übungsseite München" in page.text


def test_site_browse_page(url):
    response = requests.get(f"{url}/sites/practice-cloud/browse/CAFE-12", timeout=10)
    assert response.status_code == 200
    assert "Café Crème Roadmap" in response.text


# Jira


def search_projects(url, token, cloud_id, **params):
    path = f"/ex/jira/{cloud_id}/rest/api/3/project/search"
    return api_get(url, path, token, **params)


@pytest.fixture
def jira(url, client):
    """Return (access token, cloud id) of a grant on practice-cloud."""
    tokens, cloud_id = connect(url, client)
    return tokens["access_token"], cloud_id


def test_project_search_pages_until_last(url, jira):
    token, cloud_id = jira
    page = search_projects(url, token, cloud_id).json()
    keys, pages = [], 0
    while True:
        pages += 1
        keys += [project["key"] for project in page["values"]]
        if page["isLast"]:
            break
        page = api_get(url, page["nextPage"], token).json()
    assert pages == 3
    assert len(keys) == 120
    assert len(set(keys)) == 120
    assert keys == sorted(keys)
    assert "nextPage" not in page


def test_project_search_first_page_fields(url, jira):
    token, cloud_id = jira
    page = search_projects(url, token, cloud_id).json()
    prefix = f"{url}/ex/jira/{cloud_id}/rest/api/3/project/search?"
    assert page["self"] == prefix + "maxResults=50&startAt=0"
    assert page["nextPage"] == prefix + "maxResults=50&startAt=50"
    assert page["total"] == 120
    assert page["isLast"] is False
    assert page["startAt"] == 0
    assert page["maxResults"] == 50


def test_project_search_project_shape(url, jira):
    token, cloud_id = jira
    project = search_projects(url, token, cloud_id, keys="CAFE").json()["values"][0]
    assert project["name"] == "Café Crème Roadmap"
    assert project["self"] == f"{url}/ex/jira/{cloud_id}/rest/api/3/project/10000"
    assert set(project["avatarUrls"]) == {"48x48", "24x24", "16x16", "32x32"}
    assert project["projectTypeKey"] == "software"
    assert project["properties"] == {}
    assert "lead" not in project


def test_project_search_lead_when_expanded(url, jira):
    token, cloud_id = jira
    page = search_projects(url, token, cloud_id, keys="CAFE", expand="lead").json()
    assert page["values"][0]["lead"]["displayName"] == "Zoë Practice"


def test_project_search_caps_max_results(url, jira):
    token, cloud_id = jira
    page = search_projects(url, token, cloud_id, maxResults=500).json()
    assert page["maxResults"] == 100
    assert len(page["values"]) == 100


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_project_search_bad_max_results_400(url, jira, value):
    token, cloud_id = jira
    response = search_projects(url, token, cloud_id, maxResults=value)
    assert response.status_code == 400
    assert response.json()["errors"] == {}
    assert response.json()["errorMessages"]


def test_project_search_query_filter(url, jira):
    token, cloud_id = jira
    page = search_projects(url, token, cloud_id, query="CAFÉ").json()
    assert [project["key"] for project in page["values"]] == ["CAFE"]


def test_project_search_query_matches_key(url, jira):
    token, cloud_id = jira
    page = search_projects(url, token, cloud_id, query="rocket").json()
    assert [project["name"] for project in page["values"]] == ["Launch 🚀 Tracker"]


def test_project_search_type_filter(url, jira):
    token, cloud_id = jira
    page = search_projects(url, token, cloud_id, typeKey="service_desk").json()
    types = {project["projectTypeKey"] for project in page["values"]}
    assert types == {"service_desk"}
    assert page["total"] < 120


def test_project_search_keys_filter(url, jira):
    token, cloud_id = jira
    response = api_get(
        url,
        f"/ex/jira/{cloud_id}/rest/api/3/project/search?keys=TOKYO&keys=ELL",
        token,
    )
    assert [project["key"] for project in response.json()["values"]] == [
        "ELL",
        "TOKYO",
    ]


def test_project_search_order_by_name_descending(url, jira):
    token, cloud_id = jira
    page = search_projects(url, token, cloud_id, orderBy="-name", maxResults=100)
    names = [project["name"].casefold() for project in page.json()["values"]]
    assert names == sorted(names, reverse=True)


def test_project_search_no_match_404(url, jira):
    token, cloud_id = jira
    response = search_projects(url, token, cloud_id, query="no project has this")
    assert response.status_code == 404
    assert response.json()["errors"] == {}
    assert len(response.json()["errorMessages"]) == 1


def test_project_search_scope_mismatch(url, client):
    tokens, cloud_id = connect(url, client, CONFLUENCE_V2_SCOPES)
    response = search_projects(url, tokens["access_token"], cloud_id)
    assert response.status_code == 401
    assert response.json() == SCOPE_MISMATCH


def test_myself_shape(url, jira):
    token, cloud_id = jira
    user = api_get(url, f"/ex/jira/{cloud_id}/rest/api/3/myself", token).json()
    assert user["displayName"] == "Zoë Practice"
    assert user["emailAddress"] == "practice.user@example.test"
    assert user["accountType"] == "atlassian"
    assert user["self"] == (
        f"{url}/ex/jira/{cloud_id}/rest/api/3/user?accountId={user['accountId']}"
    )
    assert user["groups"] == {"size": 3, "items": []}


# Confluence


@pytest.fixture
def wiki(url, client):
    """Return (access token, cloud id) with v2 and classic Confluence scopes."""
    tokens, cloud_id = connect(url, client)
    return tokens["access_token"], cloud_id


def wiki_get(url, token, cloud_id, path, **params):
    return api_get(url, f"/ex/confluence/{cloud_id}{path}", token, **params)


def follow_v2(url, token, cloud_id, path, **params):
    """Follow _links.next until it is absent; return the list of responses."""
    responses = [wiki_get(url, token, cloud_id, path, **params)]
    while "next" in responses[-1].json()["_links"]:
        next_path = responses[-1].json()["_links"]["next"]
        responses.append(wiki_get(url, token, cloud_id, next_path))
    return responses


def test_spaces_v2_follows_next_until_absent(url, wiki):
    token, cloud_id = wiki
    responses = follow_v2(url, token, cloud_id, "/wiki/api/v2/spaces", limit=25)
    ids = [int(space["id"]) for r in responses for space in r.json()["results"]]
    assert len(responses) == 3
    assert len(ids) == 60
    assert ids == sorted(ids)


def test_spaces_v2_next_link_form(url, wiki):
    token, cloud_id = wiki
    links = wiki_get(url, token, cloud_id, "/wiki/api/v2/spaces", limit=5).json()
    next_link = links["_links"]["next"]
    assert re.fullmatch(
        r"/wiki/api/v2/spaces\?cursor=[A-Za-z0-9_-]+&limit=5", next_link
    )
    assert links["_links"]["base"] == f"{url}/sites/practice-cloud/wiki"


def test_spaces_v2_link_header(url, wiki):
    token, cloud_id = wiki
    response = wiki_get(url, token, cloud_id, "/wiki/api/v2/spaces", limit=5)
    links = response.json()["_links"]
    assert response.headers["link"] == (
        f'<{links["next"]}>; rel="next", <{links["base"]}>; rel="base"'
    )


def test_spaces_v2_last_page_has_no_next(url, wiki):
    token, cloud_id = wiki
    last = follow_v2(url, token, cloud_id, "/wiki/api/v2/spaces", limit=250)[-1]
    assert "next" not in last.json()["_links"]
    assert 'rel="next"' not in last.headers["link"]


def test_spaces_v2_cursor_is_base64_json(url, wiki):
    token, cloud_id = wiki
    response = wiki_get(url, token, cloud_id, "/wiki/api/v2/spaces", limit=5)
    cursor = parse_qs(urlsplit(response.json()["_links"]["next"]).query)["cursor"][0]
    decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    assert isinstance(json.loads(decoded), dict)


def test_spaces_v2_next_keeps_filters(url, wiki):
    token, cloud_id = wiki
    responses = follow_v2(
        url, token, cloud_id, "/wiki/api/v2/spaces", type="personal", limit=2
    )
    types = {s["type"] for r in responses for s in r.json()["results"]}
    assert "type=personal" in responses[0].json()["_links"]["next"]
    assert types == {"personal"}
    assert sum(len(r.json()["results"]) for r in responses) == 7


def test_spaces_v2_space_shape(url, wiki):
    token, cloud_id = wiki
    space = wiki_get(url, token, cloud_id, "/wiki/api/v2/spaces", keys="ENG").json()
    result = space["results"][0]
    assert result["name"] == "Engineering Handbook"
    assert isinstance(result["id"], str)
    assert result["_links"] == {"webui": "/spaces/ENG"}
    assert result["description"] is None
    assert result["icon"] is None


@pytest.mark.parametrize("limit", ["0", "251", "x"])
def test_spaces_v2_bad_limit_400(url, wiki, limit):
    token, cloud_id = wiki
    response = wiki_get(url, token, cloud_id, "/wiki/api/v2/spaces", limit=limit)
    assert response.status_code == 400


@pytest.mark.parametrize("cursor", ["not-a-cursor", "eyJmb28iOjF9"])
def test_spaces_v2_invalid_cursor_400(url, wiki, cursor):
    token, cloud_id = wiki
    response = wiki_get(url, token, cloud_id, "/wiki/api/v2/spaces", cursor=cursor)
    assert response.status_code == 400


def test_spaces_v2_classic_scopes_401(url, client):
    scopes = ("read:confluence-space.summary", "read:confluence-content.all")
    tokens, cloud_id = connect(url, client, scopes)
    response = wiki_get(url, tokens["access_token"], cloud_id, "/wiki/api/v2/spaces")
    assert response.status_code == 401
    assert response.json() == SCOPE_MISMATCH


def test_space_pages_v2_paging(url, wiki):
    token, cloud_id = wiki
    eng = wiki_get(url, token, cloud_id, "/wiki/api/v2/spaces", keys="ENG").json()
    space_id = eng["results"][0]["id"]
    path = f"/wiki/api/v2/spaces/{space_id}/pages"
    responses = follow_v2(url, token, cloud_id, path, limit=10)
    pages = [page for r in responses for page in r.json()["results"]]
    assert len(responses) == 5
    assert len(pages) == 41
    assert {page["spaceId"] for page in pages} == {space_id}
    assert pages[0]["parentId"] is None
    assert pages[1]["parentId"] == pages[0]["id"]


def test_space_pages_v2_unknown_space_404(url, wiki):
    token, cloud_id = wiki
    response = wiki_get(url, token, cloud_id, "/wiki/api/v2/spaces/12345/pages")
    assert response.status_code == 404


@pytest.mark.parametrize("body_format", ["storage", "view", "atlas_doc_format"])
def test_page_v2_body_format(url, wiki, body_format):
    token, cloud_id = wiki
    spaces = wiki_get(url, token, cloud_id, "/wiki/api/v2/spaces", keys="ENG").json()
    page_id = spaces["results"][0]["homepageId"]
    page = wiki_get(
        url,
        token,
        cloud_id,
        f"/wiki/api/v2/pages/{page_id}",
        **{"body-format": body_format},
    ).json()
    assert page["id"] == page_id
    assert page["body"][body_format]["representation"] == body_format
    assert page["body"][body_format]["value"]
    assert page["_links"]["base"] == f"{url}/sites/practice-cloud/wiki"


def test_page_v2_unknown_page_404(url, wiki):
    token, cloud_id = wiki
    response = wiki_get(url, token, cloud_id, "/wiki/api/v2/pages/1")
    assert response.status_code == 404


def test_spaces_v1_pages_by_start(url, wiki):
    token, cloud_id = wiki
    body = wiki_get(url, token, cloud_id, "/wiki/rest/api/space", limit=25).json()
    keys, pages = [], 0
    while True:
        pages += 1
        keys += [space["key"] for space in body["results"]]
        if "next" not in body["_links"]:
            break
        # v1 links are relative to _links.base, which ends in /wiki.
        body = wiki_get(url, token, cloud_id, "/wiki" + body["_links"]["next"]).json()
    assert pages == 3
    assert len(keys) == 60
    assert keys == sorted(keys)


def test_spaces_v1_shape(url, wiki):
    token, cloud_id = wiki
    body = wiki_get(url, token, cloud_id, "/wiki/rest/api/space", limit=2).json()
    site = f"{url}/sites/practice-cloud/wiki"
    assert body["start"] == 0
    assert body["limit"] == 2
    assert body["size"] == 2
    assert body["_links"]["context"] == "/wiki"
    assert body["_links"]["self"] == f"{site}/rest/api/space"
    assert body["_links"]["next"] == "/rest/api/space?next=true&limit=2&start=2"
    assert isinstance(body["results"][0]["id"], int)


def test_spaces_v1_caps_limit(url, wiki):
    token, cloud_id = wiki
    body = wiki_get(url, token, cloud_id, "/wiki/rest/api/space", limit=5000).json()
    assert body["limit"] == 250


# Control routes


def test_register_client_over_http(url):
    body = {
        "client_id": "http-client",
        "client_secret": "http-secret",
        "redirect_uri": REDIRECT_URI,
        "name": "HTTP app",
        "sharing": True,
    }
    response = requests.post(f"{url}/_sandbox/clients", json=body, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.json() == {"client_id": "http-client"}
    page = open_consent(url, authorize_params(Client("http-client", "http-secret")))
    assert "HTTP app" in page.text


def test_register_client_missing_field_400(url):
    body = {"client_id": "half-client", "redirect_uri": REDIRECT_URI}
    response = requests.post(f"{url}/_sandbox/clients", json=body, timeout=TIMEOUT)
    assert response.status_code == 400


def test_practice_client_registered(url):
    page = open_consent(url, authorize_params(PRACTICE_CLIENT))
    assert page.status_code == 200
    assert "Practice dashboard" in page.text


def test_settings_token_lifetime(fresh_server):
    url = fresh_server.base_url
    requests.post(
        f"{url}/_sandbox/settings", json={"token_lifetime": 120}, timeout=TIMEOUT
    )
    tokens, _ = connect(url, PRACTICE_CLIENT)
    assert tokens["expires_in"] == 120


def test_settings_project_count(fresh_server):
    url = fresh_server.base_url
    requests.post(f"{url}/_sandbox/settings", json={"project_count": 7}, timeout=10)
    tokens, cloud_id = connect(url, PRACTICE_CLIENT)
    page = search_projects(url, tokens["access_token"], cloud_id).json()
    assert page["total"] == 7


@pytest.mark.parametrize(
    "body", [{"no_such_setting": 1}, {"token_lifetime": -1}, {"space_count": 1.5}]
)
def test_settings_rejects_bad_value(url, body):
    response = requests.post(f"{url}/_sandbox/settings", json=body, timeout=TIMEOUT)
    assert response.status_code == 400


def test_latency_delays_api(fresh_server):
    url = fresh_server.base_url
    requests.post(f"{url}/_sandbox/settings", json={"latency_ms": 300}, timeout=10)
    started = time.monotonic()
    requests.get(f"{url}/me", timeout=TIMEOUT)
    assert time.monotonic() - started >= 0.3


def test_fault_429_with_retry_after(fresh_server):
    url = fresh_server.base_url
    fault = {"path_prefix": "/ex/jira", "status": 429, "retry_after": 5, "count": 1}
    requests.post(f"{url}/_sandbox/faults", json=fault, timeout=TIMEOUT)
    limited = requests.get(f"{url}/ex/jira/x/rest/api/3/myself", timeout=TIMEOUT)
    after = requests.get(f"{url}/ex/jira/x/rest/api/3/myself", timeout=TIMEOUT)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "5"
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\dZ", limited.headers["x-ratelimit-reset"]
    )
    assert limited.headers["ratelimit-reason"] == "jira-quota-based"
    assert after.status_code == 401


def test_fault_500_json_body(fresh_server):
    url = fresh_server.base_url
    fault = {"path_prefix": "/oauth/token", "status": 503, "count": 2}
    requests.post(f"{url}/_sandbox/faults", json=fault, timeout=TIMEOUT)
    response = requests.post(f"{url}/oauth/token", json={}, timeout=TIMEOUT)
    assert response.status_code == 503
    assert response.json() == {"code": 503, "message": "Service Unavailable"}


def test_fault_custom_body(fresh_server):
    url = fresh_server.base_url
    fault = {"path_prefix": "/me", "status": 500, "body": {"oops": True}}
    requests.post(f"{url}/_sandbox/faults", json=fault, timeout=TIMEOUT)
    response = requests.get(f"{url}/me", timeout=TIMEOUT)
    assert response.json() == {"oops": True}


def test_faults_cleared_by_delete(fresh_server):
    url = fresh_server.base_url
    fault = {"path_prefix": "/me", "status": 500, "count": 5}
    requests.post(f"{url}/_sandbox/faults", json=fault, timeout=TIMEOUT)
    requests.delete(f"{url}/_sandbox/faults", timeout=TIMEOUT)
    assert requests.get(f"{url}/me", timeout=TIMEOUT).status_code == 401


def test_reset_forgets_tokens(fresh_server):
    url = fresh_server.base_url
    tokens, _ = connect(url, PRACTICE_CLIENT)
    requests.post(f"{url}/_sandbox/reset", timeout=TIMEOUT)
    assert api_get(url, "/me", tokens["access_token"]).status_code == 401


def test_stats_count_token_requests_until_reset(fresh_server):
    url = fresh_server.base_url
    tokens, _ = connect(url, PRACTICE_CLIENT)
    refresh(url, PRACTICE_CLIENT, tokens["refresh_token"])
    refresh(url, PRACTICE_CLIENT, "no-such-token")
    stats = requests.get(f"{url}/_sandbox/stats", timeout=TIMEOUT).json()
    assert stats == {"token_requests": {"authorization_code": 1, "refresh_token": 2}}
    requests.post(f"{url}/_sandbox/reset", timeout=TIMEOUT)
    stats = requests.get(f"{url}/_sandbox/stats", timeout=TIMEOUT).json()
    assert stats == {"token_requests": {}}


# Fault kinds that break the connection instead of responding with a status.


def post_fault(url: str, **fault) -> requests.Response:
    return requests.post(f"{url}/_sandbox/faults", json=fault, timeout=TIMEOUT)


def test_fault_reset_sends_no_response(fresh_server):
    url = fresh_server.base_url
    assert post_fault(url, path_prefix="/me", kind="reset").status_code == 200
    with pytest.raises(requests.ConnectionError) as caught:
        requests.get(f"{url}/me", timeout=TIMEOUT)
    assert "reset" in str(caught.value).lower()
    assert requests.get(f"{url}/me", timeout=TIMEOUT).status_code == 401


def test_fault_truncate_cuts_body(fresh_server):
    url = fresh_server.base_url
    post_fault(url, path_prefix="/me", kind="truncate")
    response = requests.get(f"{url}/me", timeout=TIMEOUT, stream=True)
    assert response.status_code == 401
    declared = int(response.headers["Content-Length"])
    with pytest.raises(requests.exceptions.ChunkedEncodingError) as caught:
        response.content  # noqa: B018 - reading the body is the test
    assert f"{declared // 2} bytes read" in str(caught.value)


def test_fault_stall_then_route_responds(fresh_server):
    url = fresh_server.base_url
    post_fault(url, path_prefix="/me", kind="stall", seconds=0.5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{url}/me", timeout=(TIMEOUT, 0.1))
    assert requests.get(f"{url}/me", timeout=TIMEOUT).status_code == 401


def test_fault_stall_with_status(fresh_server):
    url = fresh_server.base_url
    post_fault(url, path_prefix="/me", kind="stall", seconds=0.2, status=503)
    started = time.monotonic()
    response = requests.get(f"{url}/me", timeout=TIMEOUT)
    assert response.status_code == 503
    assert time.monotonic() - started >= 0.2


def test_fault_2xx_replaces_response_and_type(fresh_server):
    url = fresh_server.base_url
    page = "<html><body>Sign in</body></html>"
    post_fault(url, path_prefix="/me", status=200, body=page, content_type="text/html")
    response = requests.get(f"{url}/me", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text == page


def test_fault_add_response_names_kind(fresh_server):
    url = fresh_server.base_url
    added = post_fault(url, path_prefix="/me", kind="reset", count=2).json()
    assert added == {"path_prefix": "/me", "kind": "reset", "status": None, "count": 2}


@pytest.mark.parametrize(
    ("fault", "fragment"),
    [
        ({"kind": "explode"}, "kind must be one of"),
        ({"kind": "reset", "status": 500}, "takes no status"),
        ({"kind": "truncate", "status": 500}, "takes no status"),
        ({"kind": "stall"}, "seconds must be"),
        ({"kind": "stall", "seconds": 61}, "seconds must be"),
        ({"kind": "stall", "seconds": True}, "seconds must be"),
        ({"status": 500, "seconds": 1}, "only to a stall fault"),
        ({"status": 199}, "status must be a whole number from 200 to 599"),
        ({}, "status is required"),
    ],
)
def test_fault_rejected(fresh_server, fault, fragment):
    response = post_fault(fresh_server.base_url, path_prefix="/me", **fault)
    assert response.status_code == 400
    assert fragment in response.json()["error"]
