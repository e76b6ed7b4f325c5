"""Faults injected by the sandbox, and what lib/ and the pages make of them.

Every fault either recovers, with the retries in the request log, or ends in an
explanation (a DashboardError with a message and a hint, or the page's text),
and nothing stored is lost. The retry policy is the one of lib/http.py: urllib3
Retry on GET, HEAD and OPTIONS only, Retry-After honoured up to MAX_RETRY_AFTER,
exponential backoff with jitter, and at most three attempts.
"""

from __future__ import annotations

import contextlib
import email.utils
import socket
import time
from dataclasses import dataclass, field
from functools import partial

import pytest
import requests
import streamlit as st
from cryptography.fernet import Fernet
from test_pages import (
    callback_query,
    connect_through_callback,
    consent_url,
    plain,
    run_page,
    start_practice,
)
from urllib3.util.retry import RequestHistory

from lib import atlassian, connect, http, jira, oauth, practice
from lib.errors import (
    DashboardError,
    NetworkError,
    RateLimited,
    ServerError,
    TokenRequestFailed,
)
from lib.http import RequestLog, create_session
from lib.oauth import TokenSet
from lib.sandbox import SandboxConfig, SandboxServer
from lib.sandbox.consent import approve
from lib.sandbox.data import build_dataset
from lib.store import Store
from lib.vault import Vault

CLIENT_ID = "faults-client"
CLIENT_SECRET = "fake-faults-secret-0001"
REDIRECT_URI = "http://localhost:8501/callback"
SCOPES = ("read:jira-work", "read:me", "offline_access")
SITES_PATH = "/oauth/token/accessible-resources"
TIMEOUT = 10


def practice_cloud_id() -> str:
    site = next(s for s in build_dataset().sites if s.slug == "practice-cloud")
    return site.cloud_id


@pytest.fixture(scope="module")
def sandbox():
    with SandboxServer(SandboxConfig()) as server:
        server.register_client(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, name="Faults")
        yield server


@pytest.fixture(autouse=True)
def clean_sandbox(request):
    if "sandbox" in request.fixturenames:
        base = request.getfixturevalue("sandbox").base_url
        requests.post(f"{base}/_sandbox/reset", timeout=TIMEOUT)
        requests.delete(f"{base}/_sandbox/faults", timeout=TIMEOUT)
    yield


@pytest.fixture(autouse=True)
def fresh_streamlit_state():
    st.cache_data.clear()
    yield
    practice.stop_sandbox()


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "faults.db", vault=Vault(Fernet.generate_key())) as s:
        yield s


@pytest.fixture
def app(store, sandbox):
    return store.save_app(
        environment="practice",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        auth_base=sandbox.base_url,
        api_base=sandbox.base_url,
    )


@pytest.fixture
def connection(store, app):
    consent = connect.begin_consent(store, app, SCOPES)
    callback = oauth.parse_callback(approve(consent.url, site_name="practice-cloud"))
    return connect.complete_consent(store, callback)


def add_fault(base: str, **fault) -> None:
    response = requests.post(f"{base}/_sandbox/faults", json=fault, timeout=TIMEOUT)
    response.raise_for_status()


def token_requests(base: str) -> dict:
    stats = requests.get(f"{base}/_sandbox/stats", timeout=TIMEOUT).json()
    return stats["token_requests"]


def closed_port() -> int:
    """Return a loopback port that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def logged_session(store, connection, log: RequestLog, **session_options):
    factory = partial(create_session, request_log=log, **session_options)
    return connect.authorized_session(store, connection, session_factory=factory)


def stored_state(store, connection_id: int) -> tuple:
    """Return what a fault must never lose: the tokens and the connection row."""
    tokens = store.tokens(connection_id)
    row = store.get_connection(connection_id)
    return tokens.access_token, tokens.refresh_token, row.status


# The retry policy --------------------------------------------------------------


def test_retry_policy_caps_attempts_and_waits():
    policy = http._retry_policy()
    assert policy.total == 3
    assert policy.status == 2
    assert policy.allowed_methods == frozenset({"GET", "HEAD", "OPTIONS"})
    assert policy.respect_retry_after_header
    # At most two sleeps of at most MAX_RETRY_AFTER each.
    assert policy.status * http.MAX_RETRY_AFTER <= 20
    assert policy.backoff_max == http.MAX_RETRY_AFTER


def test_backoff_grows_with_jitter_and_cap():
    policy = http._retry_policy()
    error = RequestHistory("GET", "/x", None, 503, None)
    second = policy.new(history=(error, error))
    samples = {second.get_backoff_time() for _ in range(200)}
    assert min(samples) >= policy.backoff_factor * 2
    assert max(samples) <= policy.backoff_factor * 2 + policy.backoff_jitter
    assert len(samples) > 1
    many = policy.new(history=(error,) * 12)
    assert max(many.get_backoff_time() for _ in range(50)) <= http.MAX_RETRY_AFTER


def test_first_retry_has_no_backoff():
    policy = http._retry_policy()
    error = RequestHistory("GET", "/x", None, 503, None)
    assert policy.new(history=(error,)).get_backoff_time() == 0


# Faults on a GET (accessible-resources) ---------------------------------------


@dataclass(frozen=True)
class GetFault:
    """A fault on GET accessible-resources and the outcome it must have.

    `retries` is what the request log records when the call recovers. With
    `error`, the call raises it, its message and hint contain `fragments`, and
    `attempts` faults were used up. Times are in seconds.
    """

    id: str
    fault: dict
    retries: int | None = None
    error: type[DashboardError] | None = None
    fragments: tuple[str, ...] = ()
    attempts: int = 0
    min_seconds: float = 0.0
    max_seconds: float = 8.0
    session_options: dict = field(default_factory=dict)


TEXT_BODY = "Too Many Requests"
GET_FAULTS = [
    GetFault("429-retry-after-0-json", {"status": 429, "retry_after": 0}, retries=1),
    GetFault(
        "429-retry-after-0-text",
        {"status": 429, "retry_after": 0, "body": TEXT_BODY},
        retries=1,
    ),
    GetFault(
        "429-retry-after-2-json",
        {"status": 429, "retry_after": 2},
        retries=1,
        min_seconds=2.0,
    ),
    GetFault(
        "429-retry-after-1-text",
        {"status": 429, "retry_after": 1, "body": TEXT_BODY},
        retries=1,
        min_seconds=1.0,
    ),
    GetFault(
        "429-retry-after-long-json",
        {"status": 429, "retry_after": 3600},
        error=RateLimited,
        fragments=("rate limited (429)", "Wait 3600 seconds"),
        attempts=1,
        max_seconds=2.0,
    ),
    GetFault(
        "429-retry-after-long-text",
        {"status": 429, "retry_after": 3600, "body": TEXT_BODY},
        error=RateLimited,
        fragments=("rate limited (429)", "Wait 3600 seconds"),
        attempts=1,
        max_seconds=2.0,
    ),
    GetFault("429-without-retry-after", {"status": 429}, retries=1),
    GetFault(
        "429-persistent",
        {"status": 429, "retry_after": 0, "count": 3},
        error=RateLimited,
        fragments=("rate limited (429)", "Wait 1 second"),
        attempts=3,
    ),
    GetFault(
        "429-retry-after-http-date",
        {"status": 429, "retry_after_text": "HTTP-DATE"},
        retries=1,
    ),
    GetFault(
        "500-without-retry-after",
        {"status": 500, "count": 2},
        error=ServerError,
        fragments=("failed on Atlassian's side (500)", "try again in a few minutes"),
        attempts=1,
    ),
    GetFault(
        "500-with-retry-after",
        {"status": 500, "retry_after": 0, "count": 2},
        error=ServerError,
        fragments=("failed on Atlassian's side (500)", "try again in a few minutes"),
        attempts=1,
    ),
    GetFault("502-without-retry-after", {"status": 502}, retries=1),
    GetFault(
        "502-with-retry-after",
        {"status": 502, "retry_after": 1},
        retries=1,
        min_seconds=1.0,
    ),
    GetFault(
        "502-persistent",
        {"status": 502, "count": 3},
        error=ServerError,
        fragments=("failed on Atlassian's side (502)", "try again in a few minutes"),
        attempts=3,
    ),
    GetFault("503-without-retry-after", {"status": 503}, retries=1),
    GetFault(
        "503-with-retry-after",
        {"status": 503, "retry_after": 1},
        retries=1,
        min_seconds=1.0,
    ),
    GetFault(
        "503-twice-then-answer",
        {"status": 503, "retry_after": 0, "count": 2},
        retries=2,
    ),
    GetFault(
        "503-persistent",
        {"status": 503, "retry_after": 0, "count": 3},
        error=ServerError,
        fragments=("failed on Atlassian's side (503)", "try again in a few minutes"),
        attempts=3,
    ),
    GetFault(
        "503-retry-after-long",
        {"status": 503, "retry_after": 3600, "count": 2},
        error=ServerError,
        fragments=("failed on Atlassian's side (503)", "try again in a few minutes"),
        attempts=1,
        max_seconds=2.0,
    ),
    GetFault("reset-once", {"kind": "reset"}, retries=1),
    GetFault(
        "reset-twice",
        {"kind": "reset", "count": 2},
        error=NetworkError,
        fragments=("failed before a response", "Check the network connection"),
        attempts=2,
    ),
    GetFault(
        "stall-once",
        {"kind": "stall", "seconds": 1.0},
        retries=1,
        session_options={"timeout": (5.0, 0.3)},
    ),
    GetFault(
        "stall-twice",
        {"kind": "stall", "seconds": 1.0, "count": 2},
        error=NetworkError,
        fragments=("failed before a response", "Check the network connection"),
        attempts=2,
        session_options={"timeout": (5.0, 0.3)},
    ),
    GetFault(
        "truncated-body",
        {"kind": "truncate", "count": 2},
        error=NetworkError,
        fragments=("cut off", "Try again"),
        attempts=1,
    ),
]


def http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


_original_retry_policy = http._retry_policy


def _quick_backoff_policy():
    """Return lib/http.py's policy with a backoff of 0.05 s instead of 1 s."""
    policy = _original_retry_policy()
    return policy.new(backoff_factor=0.05, backoff_jitter=0.05)


@pytest.mark.parametrize("case", GET_FAULTS, ids=[case.id for case in GET_FAULTS])
def test_get_fault(case, store, connection, sandbox, monkeypatch):
    # Short backoff, so the second retry does not wait two seconds.
    monkeypatch.setattr(http, "_retry_policy", _quick_backoff_policy)
    log = RequestLog()
    session, endpoints = logged_session(store, connection, log, **case.session_options)
    before = stored_state(store, connection.id)
    fault = {"path_prefix": SITES_PATH, "method": "GET", **case.fault}
    if fault.get("retry_after_text") == "HTTP-DATE":
        fault["retry_after_text"] = http_date(1)
    add_fault(sandbox.base_url, **fault)

    started = time.monotonic()
    if case.error is None:
        sites = atlassian.list_sites(session, endpoints)
        assert sites
        assert log.records()[0].retries == case.retries
    else:
        with pytest.raises(case.error) as caught:
            atlassian.list_sites(session, endpoints)
        explanation = f"{caught.value.message} {caught.value.hint}"
        for fragment in case.fragments:
            assert fragment in explanation
        assert_faults_used(sandbox, case.fault.get("count", 1), case.attempts)
    elapsed = time.monotonic() - started

    assert elapsed >= case.min_seconds
    assert elapsed <= case.max_seconds
    assert stored_state(store, connection.id) == before


def assert_faults_used(sandbox, count: int, attempts: int) -> None:
    """Check that exactly `attempts` of `count` faults were used, by calling again
    without retries: a fault left over responds, else the route does."""
    url = f"{sandbox.base_url}{SITES_PATH}"
    for _ in range(count - attempts):
        # A fault left over responds with its status or breaks the connection.
        with contextlib.suppress(requests.RequestException):
            assert requests.get(url, timeout=5).status_code != 401
    try:
        response = requests.get(url, timeout=5)
    except requests.RequestException:
        pytest.fail("more faults were left than expected")
    # Without a token the route itself responds with 401.
    assert response.status_code == 401


def test_request_log_shows_retries_per_call(store, connection, sandbox):
    log = RequestLog()
    session, endpoints = logged_session(store, connection, log)
    add_fault(sandbox.base_url, path_prefix=SITES_PATH, status=503, retry_after=0)
    atlassian.list_sites(session, endpoints)
    atlassian.list_sites(session, endpoints)
    newest, oldest = log.records()
    assert (oldest.status, oldest.retries) == (200, 1)
    assert (newest.status, newest.retries) == (200, 0)


def test_connection_refused_explained(store, monkeypatch):
    monkeypatch.setattr(http, "MAX_RETRY_AFTER", 0.05)
    base = f"http://127.0.0.1:{closed_port()}"
    app = store.save_app(
        environment="atlassian",
        client_id="refused-client",
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        auth_base=base,
        api_base=base,
    )
    connection = store.save_connection(
        app_id=app.id,
        tokens=TokenSet("fake-access-refused", time.time() + 3600, "fake-refresh"),
        requested_scopes=SCOPES,
    )
    log = RequestLog()
    session, endpoints = logged_session(store, connection, log)
    with pytest.raises(NetworkError) as caught:
        atlassian.list_sites(session, endpoints)
    assert "failed before a response" in caught.value.message
    assert "Check the network connection" in caught.value.hint
    assert log.records()[0].status is None
    assert log.records()[0].error == "ConnectionError"
    assert store.tokens(connection.id).access_token == "fake-access-refused"


# Faults on a POST: never retried -------------------------------------------------


def test_post_503_not_retried(store, connection, sandbox):
    log = RequestLog()
    session, endpoints = logged_session(store, connection, log)
    cloud_id = practice_cloud_id()
    path = f"/ex/jira/{cloud_id}/rest/api/3/search/approximate-count"
    add_fault(sandbox.base_url, path_prefix=path, status=503, retry_after=0)
    with pytest.raises(ServerError):
        jira.approximate_count(session, endpoints, cloud_id, "project = CAFE")
    assert log.records()[0].retries == 0
    assert jira.approximate_count(session, endpoints, cloud_id, "project = CAFE") > 0


def test_post_429_not_retried_or_slept(store, connection, sandbox):
    session, endpoints = logged_session(store, connection, RequestLog())
    cloud_id = practice_cloud_id()
    path = f"/ex/jira/{cloud_id}/rest/api/3/search/approximate-count"
    add_fault(sandbox.base_url, path_prefix=path, status=429, retry_after=2)
    started = time.monotonic()
    with pytest.raises(RateLimited) as caught:
        jira.approximate_count(session, endpoints, cloud_id, "project = CAFE")
    assert time.monotonic() - started < 1.5
    assert "Wait 2 seconds" in caught.value.hint


# Faults on the token endpoint ----------------------------------------------------


def test_refresh_503_keeps_tokens(store, connection, sandbox):
    before = stored_state(store, connection.id)
    add_fault(sandbox.base_url, path_prefix="/oauth/token", method="POST", status=503)
    with pytest.raises(TokenRequestFailed) as caught:
        connect.refresh_connection(store, connection.id)
    assert "authorization server failed with status 503" in caught.value.message
    assert "Wait a few minutes" in caught.value.hint
    assert stored_state(store, connection.id) == before
    assert connect.refresh_connection(store, connection.id).status == "active"


def test_refresh_429_names_wait(store, connection, sandbox):
    before = stored_state(store, connection.id)
    add_fault(
        sandbox.base_url,
        path_prefix="/oauth/token",
        method="POST",
        status=429,
        retry_after=30,
    )
    with pytest.raises(TokenRequestFailed) as caught:
        connect.refresh_connection(store, connection.id)
    assert "rate limiting" in caught.value.message
    assert "Wait 30 seconds, then press Refresh now" in caught.value.hint
    assert stored_state(store, connection.id) == before


def test_refresh_reset_keeps_tokens_and_recovers(store, connection, sandbox):
    before = stored_state(store, connection.id)
    add_fault(sandbox.base_url, path_prefix="/oauth/token", method="POST", kind="reset")
    with pytest.raises(NetworkError) as caught:
        connect.refresh_connection(store, connection.id)
    assert "the connection was reset" in caught.value.message
    assert "press Refresh now" in caught.value.hint
    assert stored_state(store, connection.id) == before
    assert token_requests(sandbox.base_url).get("refresh_token", 0) == 0
    connect.refresh_connection(store, connection.id)
    assert stored_state(store, connection.id) != before


def test_refresh_cut_off_then_recovers(store, connection, sandbox):
    """The sandbox rotated the refresh token but the response was lost. The old one
    keeps working within the reuse window, so the next refresh recovers."""
    before = stored_state(store, connection.id)
    add_fault(
        sandbox.base_url, path_prefix="/oauth/token", method="POST", kind="truncate"
    )
    with pytest.raises(NetworkError):
        connect.refresh_connection(store, connection.id)
    assert stored_state(store, connection.id) == before
    refreshed = connect.refresh_connection(store, connection.id)
    assert refreshed.status == "active"
    assert stored_state(store, connection.id)[1] != before[1]


def test_refresh_timeout_keeps_tokens(store, connection, sandbox):
    before = stored_state(store, connection.id)
    add_fault(
        sandbox.base_url,
        path_prefix="/oauth/token",
        method="POST",
        kind="stall",
        seconds=1.0,
    )
    slow = partial(create_session, timeout=(5.0, 0.3))
    with pytest.raises(NetworkError):
        connect.refresh_connection(store, connection.id, session_factory=slow)
    assert stored_state(store, connection.id) == before
    # Let the stalled refresh reach the sandbox first, as a slow server would.
    time.sleep(1.0)
    assert connect.refresh_connection(store, connection.id).status == "active"


def test_exchange_reset_keeps_state_and_recovers(store, app, sandbox):
    consent = connect.begin_consent(store, app, SCOPES)
    callback = oauth.parse_callback(approve(consent.url))
    add_fault(sandbox.base_url, path_prefix="/oauth/token", method="POST", kind="reset")
    with pytest.raises(NetworkError) as caught:
        connect.complete_consent(store, callback)
    assert "try the same address once more" in caught.value.hint
    assert store.pending_state(consent.state_hash).consumed_at is None
    assert store.active_connection() is None
    connection = connect.complete_consent(store, callback)
    assert connection.has_refresh_token


def test_exchange_cut_off_ends_in_explanation(store, app, sandbox):
    """The code was used by the lost response, so trying again reuses it: the
    sandbox, as Atlassian, then rejects it and revokes its tokens."""
    consent = connect.begin_consent(store, app, SCOPES)
    callback = oauth.parse_callback(approve(consent.url))
    add_fault(
        sandbox.base_url, path_prefix="/oauth/token", method="POST", kind="truncate"
    )
    with pytest.raises(NetworkError):
        connect.complete_consent(store, callback)
    with pytest.raises(TokenRequestFailed) as caught:
        connect.complete_consent(store, callback)
    assert "authorization code was rejected" in caught.value.message
    assert "Start the consent again" in caught.value.hint
    assert store.active_connection() is None


def test_exchange_refused_keeps_state(store, monkeypatch):
    monkeypatch.setattr(http, "MAX_RETRY_AFTER", 0.05)
    base = f"http://127.0.0.1:{closed_port()}"
    app = store.save_app(
        environment="atlassian",
        client_id="refused-client",
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        auth_base=base,
        api_base=base,
    )
    consent = connect.begin_consent(store, app, SCOPES)
    callback = oauth.CallbackParams(code="fake-code-refused", state=consent.state)
    with pytest.raises(NetworkError) as caught:
        connect.complete_consent(store, callback)
    assert "fake-code-refused" not in caught.value.message
    assert store.pending_state(consent.state_hash).consumed_at is None


# Faults seen through the pages -----------------------------------------------------


def practice_base() -> str:
    with Store.open() as store:
        return store.active_app().api_base


def page_snapshot() -> dict:
    with Store.open() as store:
        return {
            table: list(store.db[table].rows)
            for table in ("apps", "connections", "settings")
        }


def page_text(at) -> str:
    parts = []
    for kind in ("title", "markdown", "caption", "error", "warning", "info"):
        parts.extend(str(element.value) for element in getattr(at, kind))
    parts.extend(str(element.value) for element in at.success)
    return plain("\n".join(parts))


def test_page_recovers_and_shows_retry(monkeypatch):
    connect_through_callback()
    add_fault(
        practice_base(), path_prefix=SITES_PATH, method="GET", status=429, retry_after=0
    )
    at = run_page("views/sites.py")
    assert not at.exception
    assert not at.error
    records = at.session_state["request_log"].records()
    retried = [record for record in records if record.path == SITES_PATH]
    assert [record.retries for record in retried] == [1]
    at.run()
    log_rows = [
        row
        for frame in at.sidebar.dataframe
        for row in frame.value.to_dict("records")
        if row.get("call", "").endswith(SITES_PATH)
    ]
    assert log_rows
    assert log_rows[0]["retries"] == 1


def test_page_persistent_503_explained(monkeypatch):
    monkeypatch.setattr(http, "MAX_RETRY_AFTER", 0.05)
    connect_through_callback()
    add_fault(practice_base(), path_prefix=SITES_PATH, status=503, count=5)
    before = page_snapshot()
    at = run_page("views/sites.py")
    assert not at.exception
    text = page_text(at)
    assert "failed on Atlassian's side (503)" in text
    assert "Wait a few minutes" in text
    assert page_snapshot() == before


def test_page_long_retry_after_explained():
    connect_through_callback()
    add_fault(
        practice_base(), path_prefix=SITES_PATH, status=429, retry_after=3600, count=3
    )
    started = time.monotonic()
    at = run_page("views/sites.py")
    assert time.monotonic() - started < 10
    assert not at.exception
    text = page_text(at)
    assert "rate limited (429)" in text
    assert "Wait 3600 seconds" in text


def test_page_refresh_reset_keeps_tokens():
    connect_through_callback()
    with Store.open() as store:
        before = store.tokens(store.active_connection().id)
    add_fault(practice_base(), path_prefix="/oauth/token", method="POST", kind="reset")
    at = run_page("views/connection.py")
    next(b for b in at.button if b.label == "Refresh now").click().run()
    assert not at.exception
    text = page_text(at)
    assert "the connection was reset" in text
    assert "Check the network connection" in text
    with Store.open() as store:
        after = store.tokens(store.active_connection().id)
    assert (after.access_token, after.refresh_token) == (
        before.access_token,
        before.refresh_token,
    )


def test_page_refresh_cut_off_then_recovers():
    connect_through_callback()
    add_fault(
        practice_base(), path_prefix="/oauth/token", method="POST", kind="truncate"
    )
    at = run_page("views/connection.py")
    next(b for b in at.button if b.label == "Refresh now").click().run()
    assert not at.exception
    assert "the response was cut off" in page_text(at)
    next(b for b in at.button if b.label == "Refresh now").click().run()
    assert not at.exception
    assert "Refreshed" in page_text(at)


def test_page_callback_reset_then_reload_connects():
    start_practice()
    consent = run_page("views/consent.py")
    location = approve(consent_url(consent), site_name="practice-cloud")
    add_fault(practice_base(), path_prefix="/oauth/token", method="POST", kind="reset")
    at = run_page("views/callback.py", query=callback_query(location))
    assert not at.exception
    assert "Reload this page" in page_text(at)
    assert at.query_params
    at.run()
    assert not at.exception
    assert "Connected" in page_text(at)
    assert not at.query_params


def test_page_console_cut_off_body():
    connect_through_callback()
    path = f"/ex/jira/{practice_cloud_id()}/rest/api/3/myself"
    add_fault(practice_base(), path_prefix=path, method="GET", kind="truncate")
    at = run_page("views/api_console.py")
    next(button for button in at.button if button.label == "Send").click().run()
    assert not at.exception
    text = page_text(at)
    assert "reading its body failed" in text
    assert "try again" in text


def test_page_timeout_explained(monkeypatch):
    connect_through_callback()
    monkeypatch.setitem(create_session.__kwdefaults__, "timeout", (5.0, 0.3))
    add_fault(
        practice_base(), path_prefix=SITES_PATH, kind="stall", seconds=1.0, count=2
    )
    at = run_page("views/sites.py")
    assert not at.exception
    text = page_text(at)
    assert "failed before a response" in text
    assert "Check the network connection" in text
    # Let the stalled requests finish before the fixture stops the sandbox.
    time.sleep(1.0)


def test_page_connection_refused_explained(monkeypatch):
    monkeypatch.setattr(http, "MAX_RETRY_AFTER", 0.05)
    base = f"http://127.0.0.1:{closed_port()}"
    with Store.open() as store:
        app = store.save_app(
            environment="atlassian",
            client_id="refused-client",
            client_secret=CLIENT_SECRET,
            redirect_uri=REDIRECT_URI,
            auth_base=base,
            api_base=base,
        )
        store.save_connection(
            app_id=app.id,
            tokens=TokenSet("fake-access-refused", time.time() + 3600, "fake-r"),
            requested_scopes=SCOPES,
        )
    before = page_snapshot()
    at = run_page("views/sites.py")
    assert not at.exception
    text = page_text(at)
    assert "failed before a response" in text
    assert "Check the network connection" in text
    assert page_snapshot() == before
