import json
import logging
import sqlite3
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from lib import connect
from lib.errors import (
    ConsentDenied,
    InvalidInput,
    NetworkError,
    NotConnected,
    StateMismatch,
    StateReplayed,
    StateUnknown,
    StorageError,
    TokenRequestFailed,
)
from lib.http import create_session
from lib.oauth import CallbackParams, TokenSet

TOKEN_URL = "https://auth.example.test/oauth/token"
CLIENT_SECRET = "fake-client-secret-0001"


def no_retry_session(**kwargs):
    return create_session(retries=False, **kwargs)


@pytest.fixture
def app(store):
    return store.save_app(
        environment="atlassian",
        client_id="client-1",
        client_secret=CLIENT_SECRET,
        redirect_uri="http://localhost:8501/callback",
        auth_base="https://auth.example.test",
        api_base="https://api.example.test",
    )


def token_body(access="fake-access-1", refresh="fake-refresh-1", expires_in=3600):
    body = {
        "access_token": access,
        "expires_in": expires_in,
        "token_type": "Bearer",
        "scope": "read:jira-work offline_access",
    }
    if refresh:
        body["refresh_token"] = refresh
    return body


def state_of(consent):
    return parse_qs(urlsplit(consent.url).query)["state"][0]


def test_begin_consent_builds_url(store, app):
    consent = connect.begin_consent(store, app, ("read:jira-work", "offline_access"))
    query = parse_qs(urlsplit(consent.url).query)
    assert query["client_id"] == ["client-1"]
    assert query["scope"] == ["read:jira-work offline_access"]
    assert query["state"] == [consent.state]


def test_begin_consent_stores_state(store, app):
    consent = connect.begin_consent(store, app, ("read:jira-work",))
    pending = store.pending_state(consent.state_hash)
    assert pending.app_id == app.id
    assert pending.scopes == ("read:jira-work",)
    assert pending.expires_at - pending.created_at == connect.CONSENT_LIFETIME


def test_begin_consent_rejects_no_scopes(store, app):
    with pytest.raises(InvalidInput) as caught:
        connect.begin_consent(store, app, ())
    assert caught.value.field == "scopes"


def test_begin_consent_rejects_comma_joined(store, app):
    with pytest.raises(InvalidInput):
        connect.begin_consent(store, app, ("read:jira-work,read:me",))


@responses.activate
def test_complete_consent_stores_connection(store, app):
    responses.post(TOKEN_URL, json=token_body())
    consent = connect.begin_consent(store, app, ("read:jira-work", "offline_access"))
    connection = connect.complete_consent(
        store,
        CallbackParams(code="code-1", state=consent.state),
        session_factory=no_retry_session,
    )
    assert connection.has_refresh_token
    assert connection.requested_scopes == ("read:jira-work", "offline_access")
    assert store.active_connection() == connection
    assert store.pending_state(consent.state_hash).connection_id == connection.id


@responses.activate
def test_complete_consent_sends_stored_redirect(store, app):
    responses.post(TOKEN_URL, json=token_body())
    consent = connect.begin_consent(store, app, ("read:jira-work",))
    connect.complete_consent(
        store,
        CallbackParams(code="code-1", state=consent.state),
        session_factory=no_retry_session,
    )
    sent = json.loads(responses.calls[0].request.body)
    assert sent["redirect_uri"] == "http://localhost:8501/callback"
    assert sent["client_secret"] == CLIENT_SECRET


@responses.activate
def test_code_exchanged_at_most_once(store, app):
    responses.post(TOKEN_URL, json=token_body())
    consent = connect.begin_consent(store, app, ("read:jira-work",))
    callback = CallbackParams(code="code-1", state=consent.state)
    connect.complete_consent(store, callback, session_factory=no_retry_session)
    with pytest.raises(StateReplayed):
        connect.complete_consent(store, callback, session_factory=no_retry_session)
    assert len(responses.calls) == 1


def test_unknown_state_rejected(store, app):
    with pytest.raises(StateUnknown):
        connect.complete_consent(store, CallbackParams(code="c", state="made-up-state"))


def test_pasted_state_must_match_tab(store, app):
    first = connect.begin_consent(store, app, ("read:jira-work",))
    second = connect.begin_consent(store, app, ("read:jira-work",))
    with pytest.raises(StateMismatch):
        connect.complete_consent(
            store,
            CallbackParams(code="c", state=second.state),
            expected_state=first.state,
        )
    # The other tab's consent is still usable.
    assert store.pending_state(second.state_hash).consumed_at is None


@responses.activate
def test_bare_code_uses_tab_state(store, app):
    responses.post(TOKEN_URL, json=token_body())
    consent = connect.begin_consent(store, app, ("read:jira-work",))
    connection = connect.complete_consent(
        store,
        CallbackParams(code="code-1"),
        expected_state=consent.state,
        session_factory=no_retry_session,
    )
    assert connection.app_id == app.id


def test_bare_code_without_tab_state(store, app):
    with pytest.raises(InvalidInput) as caught:
        connect.complete_consent(store, CallbackParams(code="code-1"))
    assert "no state" in caught.value.message


def test_cancelled_consent_explained_and_used_up(store, app):
    consent = connect.begin_consent(store, app, ("read:jira-work",))
    callback = CallbackParams(
        state=consent.state,
        error="access_denied",
        error_description="User did not authorize the request",
    )
    with pytest.raises(ConsentDenied) as caught:
        connect.complete_consent(store, callback)
    assert "cancelled" in caught.value.message
    pending = store.pending_state(consent.state_hash)
    assert pending.consumed_at is not None
    assert pending.error == "User did not authorize the request"


@responses.activate
def test_failed_exchange_recorded_for_tab(store, app):
    responses.post(
        TOKEN_URL,
        json={"error": "access_denied", "error_description": "Unauthorized"},
        status=401,
    )
    consent = connect.begin_consent(store, app, ("read:jira-work",))
    with pytest.raises(TokenRequestFailed):
        connect.complete_consent(
            store,
            CallbackParams(code="code-1", state=consent.state),
            session_factory=no_retry_session,
        )
    assert "client secret" in store.pending_state(consent.state_hash).error
    assert store.active_connection() is None


@pytest.fixture
def connection(store, app, clock):
    tokens = TokenSet(
        access_token="fake-access-0",
        refresh_token="fake-refresh-0",
        expires_at=clock() + 3600,
        scopes=("read:jira-work", "offline_access"),
    )
    return store.save_connection(app_id=app.id, tokens=tokens, requested_scopes=())


@responses.activate
def test_refresh_stores_rotated_token(store, connection):
    responses.post(TOKEN_URL, json=token_body("fake-access-9", "fake-refresh-9"))
    connect.refresh_connection(store, connection.id, session_factory=no_retry_session)
    sent = json.loads(responses.calls[0].request.body)
    assert sent["refresh_token"] == "fake-refresh-0"
    assert store.tokens(connection.id).refresh_token == "fake-refresh-9"
    assert store.tokens(connection.id).access_token == "fake-access-9"


@responses.activate
def test_refresh_without_new_refresh_keeps_old(store, connection):
    responses.post(TOKEN_URL, json=token_body("fake-access-9", refresh=None))
    connect.refresh_connection(store, connection.id, session_factory=no_retry_session)
    assert store.tokens(connection.id).refresh_token == "fake-refresh-0"


@responses.activate
def test_refresh_invalid_grant_needs_consent(store, connection):
    responses.post(
        TOKEN_URL,
        json={
            "error": "invalid_grant",
            "error_description": "Unknown or invalid refresh token.",
        },
        status=403,
    )
    with pytest.raises(TokenRequestFailed):
        connect.refresh_connection(
            store, connection.id, session_factory=no_retry_session
        )
    assert store.get_connection(connection.id).status == connect.NEEDS_CONSENT
    assert store.tokens(connection.id).refresh_token == "fake-refresh-0"


@responses.activate
def test_refresh_skipped_when_token_already_replaced(store, connection):
    connect.refresh_connection(
        store,
        connection.id,
        if_access_token_is="an-older-access-token",
        session_factory=no_retry_session,
    )
    assert len(responses.calls) == 0


@responses.activate
def test_authorized_session_refreshes_near_expiry(store, connection, clock):
    responses.post(TOKEN_URL, json=token_body("fake-access-9", "fake-refresh-9"))
    responses.get("https://api.example.test/me", json={})
    clock.advance(3600 - 30)
    session, _ = connect.authorized_session(
        store,
        connection,
        session_factory=no_retry_session,
        clock=clock,
    )
    session.get("https://api.example.test/me")
    assert responses.calls[1].request.headers["Authorization"] == (
        "Bearer fake-access-9"
    )


@responses.activate
def test_authorized_session_uses_valid_token(store, connection, clock):
    responses.get("https://api.example.test/me", json={})
    session, endpoints = connect.authorized_session(
        store, connection, session_factory=no_retry_session, clock=clock
    )
    session.get(endpoints.me_url)
    assert len(responses.calls) == 1
    assert responses.calls[0].request.headers["Authorization"] == (
        "Bearer fake-access-0"
    )


def test_expired_without_refresh_token(store, app, clock):
    tokens = TokenSet(access_token="fake-access", expires_at=clock() - 1)
    connection = store.save_connection(
        app_id=app.id, tokens=tokens, requested_scopes=()
    )
    with pytest.raises(NotConnected) as caught:
        connect.authorized_session(store, connection, clock=clock)
    assert "offline_access" in caught.value.message


@responses.activate
def test_logs_hold_no_secrets(store, app, caplog):
    caplog.set_level(logging.DEBUG)
    responses.post(TOKEN_URL, json=token_body("fake-access-9", "fake-refresh-9"))
    consent = connect.begin_consent(store, app, ("read:jira-work", "offline_access"))
    connect.complete_consent(
        store,
        CallbackParams(code="fake-code-77", state=consent.state),
        session_factory=no_retry_session,
    )
    text = caplog.text
    for secret in (
        CLIENT_SECRET,
        "fake-access-9",
        "fake-refresh-9",
        "fake-code-77",
        consent.state,
    ):
        assert secret not in text
    assert "POST auth.example.test/oauth/token -> 200" in text


@pytest.fixture
def other_writer(store):
    """Hold the store's write lock from a second connection, as another process
    would, and make the store give up waiting quickly."""
    other = sqlite3.connect(store.path)
    store.db.conn.execute("PRAGMA busy_timeout = 50")
    other.execute("BEGIN IMMEDIATE")
    yield
    other.rollback()
    other.close()


@responses.activate
def test_refresh_with_locked_store_sends_nothing(store, connection, other_writer):
    with pytest.raises(StorageError):
        connect.refresh_connection(
            store, connection.id, session_factory=no_retry_session
        )
    assert len(responses.calls) == 0
    assert store.tokens(connection.id).refresh_token == "fake-refresh-0"


@responses.activate
def test_consent_with_locked_store_keeps_state(store, app):
    consent = connect.begin_consent(store, app, ("read:jira-work",))
    other = sqlite3.connect(store.path)
    store.db.conn.execute("PRAGMA busy_timeout = 50")
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageError):
            connect.complete_consent(
                store,
                CallbackParams(code="code-1", state=consent.state),
                session_factory=no_retry_session,
            )
    finally:
        other.rollback()
        other.close()
    assert len(responses.calls) == 0
    assert store.pending_state(consent.state_hash).consumed_at is None


def test_error_callback_without_state_keeps_tab_consent(store, app):
    consent = connect.begin_consent(store, app, ("read:jira-work",))
    with pytest.raises(ConsentDenied):
        connect.complete_consent(
            store,
            CallbackParams(error="access_denied"),
            expected_state=consent.state,
        )
    assert store.pending_state(consent.state_hash).consumed_at is None


@responses.activate
def test_failed_refresh_status_committed(store, connection):
    responses.post(
        TOKEN_URL,
        json={"error": "invalid_grant", "error_description": "x"},
        status=403,
    )
    with pytest.raises(TokenRequestFailed):
        connect.refresh_connection(
            store, connection.id, session_factory=no_retry_session
        )
    store.db.conn.rollback()
    assert store.get_connection(connection.id).status == connect.NEEDS_CONSENT


@responses.activate
def test_unanswered_exchange_keeps_state_open(store, app):
    responses.post(TOKEN_URL, body=requests.ConnectionError("reset"))
    consent = connect.begin_consent(store, app, ("read:jira-work",))
    callback = CallbackParams(code="code-1", state=consent.state)
    with pytest.raises(NetworkError):
        connect.complete_consent(store, callback, session_factory=no_retry_session)
    assert store.pending_state(consent.state_hash).consumed_at is None


def test_refresh_token_expiry_idle_limit(store, connection):
    expected = connection.granted_at + connect.REFRESH_IDLE_LIFETIME
    assert connect.refresh_token_expiry(connection) == expected


def test_refresh_token_expiry_absolute_limit(store, connection):
    refreshed = replace(
        connection, refreshed_at=connection.granted_at + 300 * 24 * 3600
    )
    expected = connection.granted_at + connect.REFRESH_ABSOLUTE_LIFETIME
    assert connect.refresh_token_expiry(refreshed) == expected


def test_refresh_token_expiry_without_token(store, connection):
    assert (
        connect.refresh_token_expiry(replace(connection, has_refresh_token=False))
        is None
    )
