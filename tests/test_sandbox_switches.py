"""The sandbox's failure switches: who consents, blocked sites, revoked grants."""

import pytest
import requests

from lib.sandbox import SandboxConfig, SandboxServer

TIMEOUT = 10


@pytest.fixture
def server():
    with SandboxServer(SandboxConfig()) as running:
        yield running


def post(server, path, body):
    return requests.post(f"{server.base_url}{path}", json=body, timeout=TIMEOUT)


def test_switches_default(server):
    answer = requests.get(f"{server.base_url}/_sandbox/switches", timeout=TIMEOUT)
    assert answer.json() == {"app_owner_signed_in": True, "admin_blocked_sites": []}


def test_switches_change(server):
    body = {"app_owner_signed_in": False, "admin_blocked_sites": ["jira-only"]}
    assert post(server, "/_sandbox/switches", body).json() == body
    assert server.state.config.admin_blocked_sites == frozenset({"jira-only"})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"app_owner_signed_in": "no"}, "app_owner_signed_in must be true or false"),
        ({"admin_blocked_sites": "jira-only"}, "must be a list of slugs"),
        ({"admin_blocked_sites": ["nowhere"]}, "No site has the slug nowhere"),
        ({"sharing": True}, "Unknown switch sharing"),
    ],
)
def test_switches_reject_bad_body(server, body, message):
    answer = post(server, "/_sandbox/switches", body)
    assert answer.status_code == 400
    assert message in answer.json()["error"]


def test_revoke_unknown_client_revokes_nothing(server):
    answer = post(server, "/_sandbox/grants/revoke", {"client_id": "nobody"})
    assert answer.json() == {"client_id": "nobody", "revoked_tokens": 0}


def test_revoke_needs_client_id(server):
    answer = post(server, "/_sandbox/grants/revoke", {})
    assert answer.status_code == 400


def test_not_shared_app_sends_others_to_error_page(server):
    server.register_client("dev-mode", "fake-secret", "http://app.test/cb")
    post(server, "/_sandbox/switches", {"app_owner_signed_in": False})
    answer = requests.get(
        f"{server.base_url}/authorize",
        params={
            "client_id": "dev-mode",
            "redirect_uri": "http://app.test/cb",
            "scope": "read:me",
            "response_type": "code",
            "audience": "api.atlassian.com",
            "state": "fake-state",
        },
        timeout=TIMEOUT,
        allow_redirects=False,
    )
    location = answer.headers["Location"]
    assert location.startswith(f"{server.base_url}/error?error=access_denied")
    assert "development%20mode" in location
