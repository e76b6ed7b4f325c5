import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from lib import oauth
from lib.atlassian import Endpoints, authorization_server
from lib.errors import (
    ConsentDenied,
    InvalidInput,
    InvalidResponse,
    NetworkError,
    TokenRequestFailed,
)
from lib.http import create_session

ENDPOINTS = Endpoints("https://auth.example.test", "https://api.example.test")
SERVER = authorization_server(ENDPOINTS)
TOKEN_URL = "https://auth.example.test/oauth/token"


def build_url(scopes=("read:jira-work", "offline_access"), state="s1"):
    return oauth.create_authorization_url(
        SERVER,
        client_id="client-1",
        redirect_uri="http://localhost:8501/callback",
        scopes=scopes,
        state=state,
    )


def test_authorize_url_encodes_scope_once():
    url = build_url()
    assert "scope=read%3Ajira-work%20offline_access" in url


def test_authorize_url_encodes_redirect_uri():
    assert "redirect_uri=http%3A%2F%2Flocalhost%3A8501%2Fcallback" in build_url()


def test_authorize_url_has_every_parameter():
    query = parse_qs(urlsplit(build_url()).query)
    assert query == {
        "audience": ["api.atlassian.com"],
        "client_id": ["client-1"],
        "scope": ["read:jira-work offline_access"],
        "redirect_uri": ["http://localhost:8501/callback"],
        "state": ["s1"],
        "response_type": ["code"],
        "prompt": ["consent"],
    }


def test_authorize_url_targets_authorize_endpoint():
    assert build_url().startswith("https://auth.example.test/authorize?")


def test_authorize_url_drops_duplicate_scopes():
    query = parse_qs(urlsplit(build_url(scopes=("a:b", " a:b ", "c:d"))).query)
    assert query["scope"] == ["a:b c:d"]


def test_generate_state_is_unique_and_long():
    states = {oauth.generate_state() for _ in range(50)}
    assert len(states) == 50
    assert min(len(state) for state in states) >= 43


@pytest.mark.parametrize(
    ("pasted", "code", "state"),
    [
        ("http://localhost:8501/callback?code=abc123&state=xyz", "abc123", "xyz"),
        ("https://app.example.test/oauth/cb?state=xyz&code=abc123", "abc123", "xyz"),
        ("  http://localhost:8501/callback?code=abc123&state=xyz\n", "abc123", "xyz"),
        ("?code=abc123&state=xyz", "abc123", "xyz"),
        ("code=abc123&state=xyz", "abc123", "xyz"),
        ("abc123", "abc123", None),
        ("http://localhost:8501/callback?code=abc123", "abc123", None),
        ("http://localhost:8501/callback#code=abc123&state=xyz", "abc123", "xyz"),
    ],
)
def test_parse_callback_accepts(pasted, code, state):
    callback = oauth.parse_callback(pasted)
    assert callback.code == code
    assert callback.state == state


def test_parse_callback_reads_error():
    callback = oauth.parse_callback(
        "http://localhost:8501/callback?error=access_denied"
        "&error_description=User%20did%20not%20authorize%20the%20request&state=s"
    )
    assert callback.error == "access_denied"
    assert callback.error_description == "User did not authorize the request"
    assert callback.state == "s"


@pytest.mark.parametrize(
    ("pasted", "fragment"),
    [
        ("", "empty"),
        ("   \n ", "empty"),
        ("http://localhost:8501/callback?state=xyz", "no code="),
        ("http://localhost:8501/callback?code=a&code=b&state=s", "code= 2 times"),
        ("http://localhost:8501/callback?code=a&state=s&state=t", "state= 2 times"),
        ("http://localhost:8501/callback?code=a&error=access_denied", "both"),
        ("http://localhost:8501/callback?code=ab%2520cd&state=s", "encoded twice"),
        ("abc def", "spaces"),
        ("x" * 9000, "characters long"),
        ("http://[::1:8501/callback?code=abc&state=s", "malformed"),
        ("http://localhost:8501/callback?code=abc&state=a b", "state contains"),
        ("http://localhost:8501/callback?code=abc&state=%2541", "state still"),
    ],
)
def test_parse_callback_rejects(pasted, fragment):
    with pytest.raises(InvalidInput) as caught:
        oauth.parse_callback(pasted)
    assert fragment in caught.value.message
    assert caught.value.field == "callback"


def test_parse_callback_error_never_echoes_code():
    with pytest.raises(InvalidInput) as caught:
        oauth.parse_callback("http://x.test/cb?code=SECRETCODE1&code=SECRETCODE2")
    assert "SECRETCODE" not in str(caught.value)


def test_callback_error_becomes_consent_denied():
    callback = oauth.CallbackParams(
        error="access_denied", error_description="User did not authorize the request"
    )
    with pytest.raises(ConsentDenied) as caught:
        oauth.raise_for_callback_error(callback)
    assert "cancelled" in caught.value.message
    assert caught.value.error == "access_denied"


def test_callback_without_error_passes():
    oauth.raise_for_callback_error(oauth.CallbackParams(code="c", state="s"))


def test_token_set_repr_hides_tokens():
    tokens = oauth.TokenSet("ACCESS-SECRET", 10.0, "REFRESH-SECRET", ("a:b",))
    assert "ACCESS-SECRET" not in repr(tokens)
    assert "REFRESH-SECRET" not in repr(tokens)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"access_token": "", "expires_in": 3600},
        {"access_token": "a", "expires_in": -5},
        {"access_token": "a", "expires_in": 0},
        {"access_token": "a", "expires_in": "3600"},
        {"access_token": "a", "expires_in": True},
        {"access_token": "a", "expires_in": float("nan")},
        {"access_token": "a"},
        {"access_token": "a", "expires_in": 3600, "refresh_token": 5},
        {"access_token": "a", "expires_in": 10**400},
        {"access_token": "a", "expires_in": 1e12},
        {"access_token": "a", "expires_in": float("inf")},
    ],
)
def test_parse_token_response_rejects(payload):
    with pytest.raises(InvalidResponse):
        oauth.parse_token_response(payload, requested_at=100.0)


def test_parse_token_response_sets_absolute_expiry():
    tokens = oauth.parse_token_response(
        {"access_token": "a", "expires_in": 3600, "scope": "x:y offline_access"},
        requested_at=100.0,
    )
    assert tokens.expires_at == 3700.0
    assert tokens.scopes == ("x:y", "offline_access")
    assert tokens.refresh_token is None
    assert tokens.token_type == "Bearer"


@responses.activate
def test_fetch_token_sends_json_body():
    responses.post(
        TOKEN_URL,
        json={
            "access_token": "fake-access",
            "refresh_token": "fake-refresh",
            "expires_in": 3600,
            "token_type": "Bearer",
            "scope": "read:jira-work offline_access",
        },
    )
    tokens = oauth.fetch_token(
        create_session(),
        SERVER,
        client_id="client-1",
        client_secret="fake-secret",
        code="code-1",
        redirect_uri="http://localhost:8501/callback",
        clock=lambda: 1000.0,
    )
    sent = json.loads(responses.calls[0].request.body)
    assert sent == {
        "grant_type": "authorization_code",
        "client_id": "client-1",
        "client_secret": "fake-secret",
        "code": "code-1",
        "redirect_uri": "http://localhost:8501/callback",
    }
    assert tokens.access_token == "fake-access"
    assert tokens.refresh_token == "fake-refresh"
    assert tokens.expires_at == 4600.0


@responses.activate
def test_refresh_token_sends_refresh_grant():
    responses.post(TOKEN_URL, json={"access_token": "new", "expires_in": 60})
    oauth.refresh_token(
        create_session(),
        SERVER,
        client_id="client-1",
        client_secret="fake-secret",
        refresh_token="old-refresh",
    )
    sent = json.loads(responses.calls[0].request.body)
    assert sent == {
        "grant_type": "refresh_token",
        "client_id": "client-1",
        "client_secret": "fake-secret",
        "refresh_token": "old-refresh",
    }


@pytest.mark.parametrize(
    ("status", "body", "grant", "fragment"),
    [
        (
            403,
            {
                "error": "invalid_grant",
                "error_description": "Unknown or invalid refresh token.",
            },
            "refresh",
            "refresh token was rejected",
        ),
        (
            403,
            {"error": "invalid_grant", "error_description": "Invalid code"},
            "code",
            "authorization code was rejected",
        ),
        (
            401,
            {"error": "access_denied", "error_description": "Unauthorized"},
            "code",
            "client ID or client secret was rejected",
        ),
        (500, None, "code", "failed with status 500"),
        (503, None, "refresh", "failed with status 503"),
        (429, None, "code", "rate limiting"),
        (400, None, "code", "status 400 without an error"),
    ],
)
@responses.activate
def test_token_errors_are_explained(status, body, grant, fragment):
    if body is None:
        responses.post(TOKEN_URL, body="<html>oops</html>", status=status)
    else:
        responses.post(TOKEN_URL, json=body, status=status)
    with pytest.raises(TokenRequestFailed) as caught:
        if grant == "refresh":
            oauth.refresh_token(
                create_session(retries=False),
                SERVER,
                client_id="c",
                client_secret="fake-secret",
                refresh_token="fake-refresh",
            )
        else:
            oauth.fetch_token(
                create_session(retries=False),
                SERVER,
                client_id="c",
                client_secret="fake-secret",
                code="fake-code",
                redirect_uri="http://localhost:8501/callback",
            )
    assert fragment in caught.value.message
    assert caught.value.status == status
    assert "fake-secret" not in caught.value.message
    assert "fake-code" not in caught.value.message


@responses.activate
def test_token_error_keeps_provider_fields():
    responses.post(
        TOKEN_URL,
        json={"error": "invalid_grant", "error_description": "Invalid code"},
        status=403,
    )
    with pytest.raises(TokenRequestFailed) as caught:
        oauth.fetch_token(
            create_session(),
            SERVER,
            client_id="c",
            client_secret="s",
            code="x",
            redirect_uri="http://localhost:8501/callback",
        )
    assert caught.value.error == "invalid_grant"
    assert caught.value.error_description == "Invalid code"


@responses.activate
def test_token_success_that_is_not_json():
    responses.post(TOKEN_URL, body="<html>portal</html>", status=200)
    with pytest.raises(InvalidResponse):
        oauth.fetch_token(
            create_session(),
            SERVER,
            client_id="c",
            client_secret="s",
            code="x",
            redirect_uri="http://localhost:8501/callback",
        )


@responses.activate
def test_token_network_failure():
    responses.post(TOKEN_URL, body=requests.ConnectionError("refused"))
    with pytest.raises(NetworkError):
        oauth.fetch_token(
            create_session(),
            SERVER,
            client_id="c",
            client_secret="s",
            code="x",
            redirect_uri="http://localhost:8501/callback",
        )


@responses.activate
def test_token_error_redacts_echoed_secrets():
    responses.post(
        TOKEN_URL,
        json={
            "error": "invalid_grant",
            "error_description": "bad code fake-code-1 for secret fake-secret-1",
        },
        status=403,
    )
    with pytest.raises(TokenRequestFailed) as caught:
        oauth.fetch_token(
            create_session(),
            SERVER,
            client_id="c",
            client_secret="fake-secret-1",
            code="fake-code-1",
            redirect_uri="http://localhost:8501/callback",
        )
    assert "fake-code-1" not in caught.value.message
    assert "fake-secret-1" not in caught.value.message
    assert "fake-secret-1" not in caught.value.error_description
    assert "[redacted]" in caught.value.error_description


@responses.activate
def test_token_error_description_capped():
    responses.post(
        TOKEN_URL,
        json={"error": "invalid_request", "error_description": "x" * 100_000},
        status=400,
    )
    with pytest.raises(TokenRequestFailed) as caught:
        oauth.fetch_token(
            create_session(),
            SERVER,
            client_id="c",
            client_secret="s",
            code="x",
            redirect_uri="http://localhost:8501/callback",
        )
    assert len(caught.value.message) < 500


@responses.activate
def test_token_rate_limit_hint_uses_retry_after():
    responses.post(TOKEN_URL, status=429, headers={"Retry-After": "17"})
    with pytest.raises(TokenRequestFailed) as caught:
        oauth.refresh_token(
            create_session(),
            SERVER,
            client_id="c",
            client_secret="s",
            refresh_token="fake-refresh",
        )
    assert "Wait 17 seconds" in caught.value.hint
    assert "Refresh now" in caught.value.hint


def test_error_callback_without_state():
    callback = oauth.parse_callback(
        "http://localhost:8501/callback?error=access_denied"
    )
    assert callback.error == "access_denied"
    assert callback.state is None
