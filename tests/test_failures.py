"""The failure catalogue: each entry triggered for real, then shown on a page.

Every trigger drives lib/ against a sandbox on 127.0.0.1 (or `responses` where the
sandbox cannot produce the response), and the test checks both the catalogue key
`diagnose` picks and that a page shows the entry's title and next step.
"""

from __future__ import annotations

import socket
import time
from functools import partial

import pytest
import requests
import responses
from cryptography.fernet import Fernet
from streamlit.testing.v1 import AppTest

from conftest import FakeClock
from lib import api_token, atlassian, connect, credentials, failures, jira, oauth
from lib.api_token import ApiTokenAuth
from lib.errors import DashboardError
from lib.http import create_session
from lib.sandbox import SandboxConfig, SandboxServer
from lib.sandbox.api_tokens import PRACTICE_API_TOKEN, PRACTICE_API_TOKEN_EMAIL
from lib.sandbox.consent import approve
from lib.store import Store
from lib.vault import Vault

CLIENT_ID = "failures-client"
CLIENT_SECRET = "fake-failures-secret"
REDIRECT_URI = "http://localhost:8501/callback"
BROWSE = ("read:jira-work", "read:jira-user", "read:me", "offline_access")
DAY = 24 * 3600
TIMEOUT = 10


@pytest.fixture(scope="module")
def sandbox_clock():
    return FakeClock(time.time())


@pytest.fixture(scope="module")
def sandbox(sandbox_clock):
    with SandboxServer(SandboxConfig(clock=sandbox_clock)) as server:
        server.register_client(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, name="Tests")
        yield server


@pytest.fixture(autouse=True)
def clean_sandbox(sandbox):
    url = sandbox.base_url
    requests.post(f"{url}/_sandbox/reset", timeout=TIMEOUT)
    requests.delete(f"{url}/_sandbox/faults", timeout=TIMEOUT)
    switches = {"app_owner_signed_in": True, "admin_blocked_sites": []}
    requests.post(f"{url}/_sandbox/switches", json=switches, timeout=TIMEOUT)


@pytest.fixture
def store_clock(sandbox_clock):
    return FakeClock(sandbox_clock.now)


@pytest.fixture
def store(tmp_path, store_clock):
    vault = Vault(Fernet.generate_key())
    with Store.open(tmp_path / "f.db", vault=vault, clock=store_clock) as opened:
        yield opened


def save_app(store, sandbox, secret=CLIENT_SECRET, redirect_uri=REDIRECT_URI):
    return store.save_app(
        environment="practice",
        client_id=CLIENT_ID,
        client_secret=secret,
        redirect_uri=redirect_uri,
        auth_base=sandbox.base_url,
        api_base=sandbox.base_url,
    )


@pytest.fixture
def app(store, sandbox):
    return save_app(store, sandbox)


def consent_address(store, app, scopes=BROWSE, site=None, decision="accept"):
    start = connect.begin_consent(store, app, scopes)
    return start, approve(start.url, site_name=site, decision=decision)


def hand_back(store, address, expected_state=None):
    return connect.complete_consent(
        store, oauth.parse_callback(address), expected_state=expected_state
    )


def connected(store, app, scopes=BROWSE):
    _, address = consent_address(store, app, scopes)
    return hand_back(store, address)


def failure_of(action) -> DashboardError:
    with pytest.raises(DashboardError) as caught:
        action()
    return caught.value


def call_api(store, connection, call):
    session, endpoints = connect.authorized_session(store, connection)
    site = atlassian.list_sites(session, endpoints)[0]
    return call(session, endpoints, site.cloud_id)


def set_switches(sandbox, **switches):
    url = f"{sandbox.base_url}/_sandbox/switches"
    requests.post(url, json=switches, timeout=TIMEOUT).raise_for_status()


def add_fault(sandbox, **fault):
    url = f"{sandbox.base_url}/_sandbox/faults"
    requests.post(url, json=fault, timeout=TIMEOUT).raise_for_status()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Triggers: each returns the exception a user would meet.


def trigger_redirect_uri_not_registered(store, sandbox, **_):
    app = save_app(store, sandbox, redirect_uri="http://localhost:8501/callback/")
    _, address = consent_address(store, app)
    assert "/error?" in address
    return failure_of(lambda: hand_back(store, address))


def trigger_consent_cancelled(store, app, **_):
    _, address = consent_address(store, app, decision="cancel")
    return failure_of(lambda: hand_back(store, address))


def trigger_app_not_shared(store, app, sandbox, **_):
    set_switches(sandbox, app_owner_signed_in=False)
    _, address = consent_address(store, app)
    return failure_of(lambda: hand_back(store, address))


def trigger_admin_approval_required(store, sandbox, **_):
    set_switches(sandbox, admin_blocked_sites=["jira-only"])
    app = save_app(store, sandbox)
    _, address = consent_address(store, app, site="jira-only")
    return failure_of(lambda: hand_back(store, address))


def trigger_consent_failed(store, app, **_):
    start = connect.begin_consent(store, app, BROWSE)
    address = f"{REDIRECT_URI}?error=server_error&state={start.state}"
    return failure_of(lambda: hand_back(store, address))


def trigger_state_mismatch(store, app, **_):
    _, address = consent_address(store, app)
    other = connect.begin_consent(store, app, BROWSE)
    return failure_of(lambda: hand_back(store, address, expected_state=other.state))


def trigger_state_expired(store, app, store_clock, **_):
    _, address = consent_address(store, app)
    store_clock.advance(connect.CONSENT_LIFETIME + 1)
    return failure_of(lambda: hand_back(store, address))


def trigger_state_replayed(store, app, **_):
    _, address = consent_address(store, app)
    hand_back(store, address)
    return failure_of(lambda: hand_back(store, address))


def trigger_state_unknown(store, app, **_):
    address = f"{REDIRECT_URI}?code=fake-code&state=never-issued-state"
    return failure_of(lambda: hand_back(store, address))


def trigger_code_rejected(store, app, **_):
    start, _ = consent_address(store, app)
    address = f"{REDIRECT_URI}?code=fake-made-up-code&state={start.state}"
    return failure_of(lambda: hand_back(store, address))


def trigger_client_rejected(store, sandbox, **_):
    app = save_app(store, sandbox, secret="fake-rotated-secret")
    _, address = consent_address(store, app)
    return failure_of(lambda: hand_back(store, address))


def trigger_no_refresh_token(store, app, **_):
    connection = connected(store, app, scopes=("read:jira-work", "read:me"))
    return failure_of(lambda: connect.refresh_connection(store, connection.id))


def trigger_refresh_token_revoked(store, app, sandbox, **_):
    connection = connected(store, app)
    requests.post(
        f"{sandbox.base_url}/_sandbox/grants/revoke",
        json={"client_id": CLIENT_ID},
        timeout=TIMEOUT,
    ).raise_for_status()
    return failure_of(lambda: connect.refresh_connection(store, connection.id))


def trigger_refresh_token_expired(store, app, sandbox_clock, store_clock, **_):
    connection = connected(store, app)
    for clock in (sandbox_clock, store_clock):
        clock.advance(connect.REFRESH_IDLE_LIFETIME + DAY)
    try:
        return failure_of(lambda: connect.refresh_connection(store, connection.id))
    finally:
        sandbox_clock.advance(-(connect.REFRESH_IDLE_LIFETIME + DAY))


@responses.activate
def trigger_token_request_failed(**_):
    server = oauth.AuthorizationServer(
        authorize_url="https://auth.test/authorize",
        token_url="https://auth.test/oauth/token",
    )
    body = {"error": "invalid_request", "error_description": "Missing parameter"}
    responses.post(server.token_url, json=body, status=400)
    return failure_of(
        lambda: oauth.fetch_token(
            create_session(retries=False),
            server,
            client_id="fake-id",
            client_secret="fake-secret",
            code="fake-code",
            redirect_uri=REDIRECT_URI,
        )
    )


def trigger_scope_missing(store, app, **_):
    connection = connected(store, app, scopes=("read:me", "offline_access"))
    session, endpoints = connect.authorized_session(store, connection)
    grant = atlassian.get_json(session, endpoints.accessible_resources_url)
    cloud_id = grant[0]["id"] if grant else "no-site"
    return failure_of(lambda: jira.search_projects(session, endpoints, cloud_id))


def trigger_token_rejected(store, app, sandbox, **_):
    # Without a refresh token there is nothing to renew the revoked token with.
    connection = connected(store, app, scopes=("read:jira-work", "read:me"))
    session, endpoints = connect.authorized_session(store, connection)
    requests.post(
        f"{sandbox.base_url}/_sandbox/grants/revoke",
        json={"client_id": CLIENT_ID},
        timeout=TIMEOUT,
    ).raise_for_status()
    return failure_of(lambda: atlassian.get_me(session, endpoints))


def trigger_jira_forbidden(store, app, sandbox, **_):
    connection = connected(store, app)
    add_fault(sandbox, path_prefix="/ex/jira/", status=403)
    return failure_of(lambda: call_api(store, connection, jira.search_projects))


def trigger_not_found(store, app, **_):
    connection = connected(store, app)
    return failure_of(
        lambda: call_api(
            store,
            connection,
            lambda s, e, cloud_id: jira.get_issue(s, e, cloud_id, "NOPE-999999"),
        )
    )


def trigger_removed_api(store, app, **_):
    connection = connected(store, app)

    def old_search(session, endpoints, cloud_id):
        url = f"{endpoints.jira_base(cloud_id)}/rest/api/3/search"
        return atlassian.get_json(session, url, params={"jql": "project = ENG"})

    return failure_of(lambda: call_api(store, connection, old_search))


def trigger_rate_limited(store, app, sandbox, **_):
    connection = connected(store, app)
    add_fault(sandbox, path_prefix="/ex/jira/", status=429, retry_after=0, count=10)
    return failure_of(lambda: call_api(store, connection, jira.search_projects))


def trigger_unavailable(store, app, sandbox, **_):
    connection = connected(store, app)
    add_fault(sandbox, path_prefix="/ex/jira/", status=503, count=10)
    return failure_of(lambda: call_api(store, connection, jira.search_projects))


def trigger_network(**_):
    url = f"http://127.0.0.1:{free_port()}/me"
    session = create_session(retries=False)
    return failure_of(lambda: atlassian.get_json(session, url))


def trigger_not_json(store, app, sandbox, **_):
    """A site page (HTML, status 200) where JSON was expected, as a proxy's
    sign-in page would be."""
    connection = connected(store, app)
    site_page = f"{sandbox.base_url}/sites/practice-cloud"
    return failure_of(
        lambda: call_api(
            store, connection, lambda s, e, cloud_id: atlassian.get_json(s, site_page)
        )
    )


def trigger_api_error(store, app, sandbox, **_):
    connection = connected(store, app)
    body = {"errorMessages": ["The value 'x' does not exist for the field 'type'."]}
    add_fault(sandbox, path_prefix="/ex/jira/", status=400, body=body)
    return failure_of(lambda: call_api(store, connection, jira.search_projects))


def trigger_storage(tmp_path, **_):
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not a SQLite database" * 100)
    return failure_of(lambda: Store.open(broken, vault=Vault(Fernet.generate_key())))


def trigger_invalid_input(**_):
    return failure_of(lambda: credentials.validate_client_id("  "))


def trigger_not_connected(store, **_):
    return failure_of(lambda: connect.refresh_connection(store, 4242))


def trigger_unknown(**_):
    return DashboardError("A failure with no entry of its own.")


def practice_site(sandbox, slug="practice-cloud"):
    return f"{sandbox.base_url}/sites/{slug}"


def verify_api_token(sandbox, token, site_url=None):
    return api_token.verify(
        create_session,
        site_url or practice_site(sandbox),
        PRACTICE_API_TOKEN_EMAIL,
        token,
        practice_base=sandbox.base_url,
    )


def trigger_api_token_rejected(sandbox, **_):
    return failure_of(lambda: verify_api_token(sandbox, "ATATT-fake-wrong-token"))


@responses.activate
def trigger_api_account_inactive(**_):
    site = "https://fake-site.atlassian.net"
    user = {"accountId": "fake-account", "displayName": "Gone", "active": False}
    responses.get(f"{site}/rest/api/3/myself", json=user)
    responses.get(f"{site}/wiki/rest/api/user/current", status=404, json={})
    return failure_of(
        lambda: api_token.verify(
            partial(create_session, retries=False),
            site,
            "gone@example.test",
            "ATATT-fake-token",
        )
    )


def trigger_api_site_without_products(sandbox, **_):
    site = practice_site(sandbox, "no-such-site")
    return failure_of(lambda: verify_api_token(sandbox, PRACTICE_API_TOKEN, site))


def trigger_api_token_scopes_missing(sandbox, **_):
    created = requests.post(
        f"{sandbox.base_url}/_sandbox/api-tokens",
        json={"kind": "scoped", "scopes": ["read:jira-work"]},
        timeout=TIMEOUT,
    )
    created.raise_for_status()
    return failure_of(lambda: verify_api_token(sandbox, created.json()["token"]))


def trigger_api_token_revoked(sandbox, **_):
    site = f"{sandbox.base_url}/sites/practice-cloud"
    auth = ApiTokenAuth(
        PRACTICE_API_TOKEN_EMAIL, "ATATT-fake-revoked", frozenset({sandbox.base_url})
    )
    session = create_session(auth=auth, retries=False)
    return failure_of(lambda: atlassian.get_json(session, f"{site}/rest/api/3/myself"))


TRIGGERS = {
    name.removeprefix("trigger_"): function
    for name, function in dict(globals()).items()
    if name.startswith("trigger_")
}
# Failures that are no exception: pages look them up by key.
EXPLAINED_BY_KEY = {"no_sites", "several_sites", "site_not_offered"}


def test_every_entry_has_a_trigger():
    assert set(failures.CATALOGUE) == set(TRIGGERS) | EXPLAINED_BY_KEY


@pytest.mark.parametrize("key", sorted(TRIGGERS))
def test_trigger_is_diagnosed(key, request):
    fixtures = ("store", "app", "sandbox", "sandbox_clock", "store_clock", "tmp_path")
    values = {name: request.getfixturevalue(name) for name in fixtures}
    exc = TRIGGERS[key](**values)
    diagnosis = failures.diagnose(exc)
    assert diagnosis.key == key, exc.message
    shown = shown_text(exc)
    assert diagnosis.failure.title in shown
    # The time in a rate limit's next step moves on between the two renderings.
    assert diagnosis.next_step.split(" (until ")[0] in shown


def show_failure_script():
    import streamlit as st

    from ui.common import PAGES, ROOT, show_error

    pages = [st.Page(str(ROOT / path)) for path in PAGES.values()]
    st.navigation(pages, position="hidden")
    show_error(st.session_state["failure"])


def shown_text(exc: DashboardError) -> str:
    """Run show_error in a page and return the text it rendered, unescaped."""
    at = AppTest.from_function(show_failure_script, default_timeout=TIMEOUT)
    at.session_state["failure"] = exc
    at.run()
    assert not at.exception
    elements = (*at.error, *at.info, *at.markdown)
    parts = [str(element.value) for element in elements]
    return "\n".join(parts).replace("\\", "").replace("`", "")


def test_scope_missing_names_the_scope(store, app):
    exc = trigger_scope_missing(store, app)
    diagnosis = failures.diagnose(exc)
    assert diagnosis.required_scopes == ("read:jira-work",)
    assert "read:jira-work" in diagnosis.next_step


def test_refresh_token_revoked_keeps_the_connection(store, app, sandbox):
    exc = trigger_refresh_token_revoked(store, app, sandbox)
    connection = store.active_connection()
    assert connection.status == connect.NEEDS_CONSENT
    assert store.tokens(connection.id).refresh_token
    assert exc.hint.startswith("Consent again")


def test_rate_limited_says_when_to_retry():
    exc = atlassian_error(429, headers={"Retry-After": "30"})
    diagnosis = failures.diagnose(exc, now=0)
    assert diagnosis.next_step.startswith("Wait 30 seconds (until ")


def test_rate_limited_without_retry_after():
    diagnosis = failures.diagnose(atlassian_error(429))
    assert diagnosis.next_step == "Wait a minute, then try again."


@responses.activate
def atlassian_error(status, headers=None):
    url = "https://api.test/ex/jira/fake-cloud/rest/api/3/project/search"
    responses.get(url, json={}, status=status, headers=headers or {})
    return failure_of(lambda: atlassian.get_json(create_session(retries=False), url))


@pytest.mark.parametrize(
    ("registered", "sent", "expected"),
    [
        ("https://app.test/callback", "https://app.test/callback", []),
        ("https://app.test/callback", "https://app.test:443/callback", []),
        ("https://app.test/callback", "http://app.test/callback", ["scheme"]),
        ("https://app.test/callback", "https://www.app.test/callback", ["host"]),
        ("http://localhost:8501/callback", "http://localhost:8502/callback", ["port"]),
        ("https://app.test/callback", "https://app.test/oauth/callback", ["path"]),
        ("https://app.test/callback", "https://app.test/callback/", ["trailing"]),
        ("http://127.0.0.1:8501/callback", "http://localhost:8501/callback", ["host"]),
    ],
)
def test_redirect_uri_differences(registered, sent, expected):
    found = failures.redirect_uri_differences(registered, sent)
    assert [difference.split(":")[0].split()[0] for difference in found] == expected


def test_explain_by_key():
    diagnosis = failures.explain("no_sites")
    assert diagnosis.next_step.startswith("Consent again")
    assert diagnosis.failure.action == failures.CONSENT_AGAIN


def test_api_token_rejected_lists_causes(sandbox):
    exc = trigger_api_token_rejected(sandbox)
    diagnosis = failures.diagnose(exc)
    assert diagnosis.next_step == "Check these causes, most likely first."
    assert len(diagnosis.causes) == 5
    assert diagnosis.causes[0].startswith("The email")
    assert all("ATATT-fake-wrong-token" not in cause for cause in diagnosis.causes)
    assert "ATATT-fake-wrong-token" not in diagnosis.what_happened


def test_api_token_scopes_missing_offers_no_consent(sandbox):
    diagnosis = failures.diagnose(trigger_api_token_scopes_missing(sandbox))
    assert diagnosis.required_scopes == ()
    assert "read:jira-user" in diagnosis.next_step
