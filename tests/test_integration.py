"""lib/ against a running sandbox: the whole flow over real HTTP on 127.0.0.1."""

import time
from functools import partial

import pytest
import requests
from cryptography.fernet import Fernet

from conftest import FakeClock
from lib import atlassian, confluence, connect, jira, oauth, sanitize
from lib.errors import (
    ApiError,
    ConsentDenied,
    Gone,
    RateLimited,
    RefreshTokenRevoked,
    ScopeMissing,
    ScopeNotGranted,
    ServerError,
    StateReplayed,
    TokenRequestFailed,
    Unauthorized,
)
from lib.http import RequestLog, create_session
from lib.sandbox import SandboxConfig, SandboxServer
from lib.sandbox.consent import approve
from lib.store import Store
from lib.vault import Vault

CLIENT_ID = "integration-client"
CLIENT_SECRET = "fake-integration-secret"
REDIRECT_URI = "http://localhost:8501/callback"
BROWSE = (
    "read:jira-work",
    "read:jira-user",
    "read:space:confluence",
    "read:page:confluence",
    "read:me",
    "offline_access",
)


@pytest.fixture(scope="module")
def sandbox_clock():
    return FakeClock(time.time())


@pytest.fixture(scope="module")
def sandbox(sandbox_clock):
    config = SandboxConfig(clock=sandbox_clock, project_count=120, space_count=60)
    with SandboxServer(config) as server:
        server.register_client(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, name="Tests")
        yield server


@pytest.fixture(autouse=True)
def clean_sandbox(sandbox):
    requests.post(f"{sandbox.base_url}/_sandbox/reset", timeout=10)
    requests.delete(f"{sandbox.base_url}/_sandbox/faults", timeout=10)


@pytest.fixture
def store(tmp_path, sandbox):
    with Store.open(tmp_path / "it.db", vault=Vault(Fernet.generate_key())) as opened:
        yield opened


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


def connect_with(store, app, scopes=BROWSE, site_name=None):
    consent = connect.begin_consent(store, app, scopes)
    location = approve(consent.url, site_name=site_name)
    return connect.complete_consent(store, oauth.parse_callback(location))


def test_consent_to_first_look(store, app):
    connection = connect_with(store, app, site_name="practice-cloud")
    session, endpoints = connect.authorized_session(store, connection)
    sites = atlassian.list_sites(session, endpoints)
    assert [site.name for site in sites] == ["practice-cloud"]
    page = jira.search_projects(session, endpoints, sites[0].cloud_id)
    assert len(page.projects) == 50
    assert page.total == 120
    assert not page.is_last


def test_granted_scopes_stored(store, app):
    connection = connect_with(store, app)
    assert set(connection.granted_scopes) == set(BROWSE)
    assert connection.has_refresh_token


def test_two_consents_give_two_sites(store, app):
    connect_with(store, app, site_name="practice-cloud")
    connection = connect_with(store, app, site_name="München")
    session, endpoints = connect.authorized_session(store, connection)
    names = sorted(site.name for site in atlassian.list_sites(session, endpoints))
    assert names == ["practice-cloud", "Übungsseite München"]


def test_consent_names_the_account(store, app, sandbox):
    connection = connect_with(store, app)
    account = sandbox.state.dataset.account
    assert connection.account_id == account.account_id
    assert connection.account_name == account.display_name


def test_same_account_consents_into_one_connection(store, app):
    first = connect_with(store, app, site_name="practice-cloud")
    second = connect_with(store, app, site_name="München")
    assert second.id == first.id
    assert len(store.list_connections()) == 1


def test_consent_without_read_me_leaves_account_unknown(store, app):
    connection = connect_with(store, app, scopes=("read:jira-work",))
    assert connection.account_id is None


def test_renewing_consent_keeps_the_site(store, app):
    connection = connect_with(store, app)
    store.set_connection_site(connection.id, "chosen-cloud")
    start = connect.begin_consent(store, app, BROWSE, replaces=connection.id)
    renewed = connect.complete_consent(store, oauth.parse_callback(approve(start.url)))
    assert renewed.id == connection.id
    assert renewed.cloud_id == "chosen-cloud"


def test_project_paging_reaches_every_project(store, app):
    connection = connect_with(store, app, site_name="practice-cloud")
    session, endpoints = connect.authorized_session(store, connection)
    cloud_id = atlassian.list_sites(session, endpoints)[0].cloud_id
    keys, start = [], 0
    while True:
        page = jira.search_projects(
            session, endpoints, cloud_id, start_at=start, max_results=100
        )
        keys.extend(project.key for project in page.projects)
        if page.is_last:
            break
        start += len(page.projects)
    assert len(keys) == 120
    assert len(set(keys)) == 120


def test_project_search_query_without_match(store, app):
    connection = connect_with(store, app, site_name="practice-cloud")
    session, endpoints = connect.authorized_session(store, connection)
    cloud_id = atlassian.list_sites(session, endpoints)[0].cloud_id
    page = jira.search_projects(
        session, endpoints, cloud_id, query="no-such-project-zzz"
    )
    assert page.projects == ()


def test_space_cursor_paging_reaches_every_space(store, app):
    connection = connect_with(store, app, site_name="practice-cloud")
    session, endpoints = connect.authorized_session(store, connection)
    cloud_id = atlassian.list_sites(session, endpoints)[0].cloud_id
    page = confluence.list_spaces(session, endpoints, cloud_id, limit=7)
    ids = [space.id for space in page.spaces]
    while page.next_url:
        page = confluence.list_spaces(
            session, endpoints, cloud_id, next_url=page.next_url
        )
        ids.extend(space.id for space in page.spaces)
    assert len(ids) == 60
    assert len(set(ids)) == 60


def test_v1_space_paging_with_classic_scope(store, app):
    scopes = ("read:confluence-space.summary", "offline_access")
    connection = connect_with(store, app, scopes=scopes, site_name="practice-cloud")
    assert confluence.confluence_api_for(connection.granted_scopes) == "v1"
    session, endpoints = connect.authorized_session(store, connection)
    cloud_id = atlassian.list_sites(session, endpoints)[0].cloud_id
    page = confluence.list_spaces(session, endpoints, cloud_id, api="v1", limit=25)
    keys = [space.key for space in page.spaces]
    while page.next_url:
        page = confluence.list_spaces(
            session, endpoints, cloud_id, api="v1", next_url=page.next_url
        )
        keys.extend(space.key for space in page.spaces)
    assert len(keys) == 60


def unchecked_session(store, connection):
    """Return a session without the pre-call scope check, so that calls reach
    the sandbox's own scope check."""
    session, endpoints = connect.authorized_session(store, connection)
    session.granted_scopes = None
    return session, endpoints


def test_v2_with_classic_scope_is_scope_missing(store, app):
    scopes = ("read:confluence-space.summary",)
    connection = connect_with(store, app, scopes=scopes, site_name="practice-cloud")
    session, endpoints = unchecked_session(store, connection)
    cloud_id = atlassian.list_sites(session, endpoints)[0].cloud_id
    with pytest.raises(ScopeMissing) as caught:
        confluence.list_spaces(session, endpoints, cloud_id, api="v2")
    assert caught.value.required == "read:space:confluence"


def test_me_without_read_me_is_scope_missing(store, app):
    connection = connect_with(store, app, scopes=("read:jira-work",))
    session, endpoints = unchecked_session(store, connection)
    with pytest.raises(ScopeMissing):
        atlassian.get_me(session, endpoints)


def test_call_without_granted_scope_is_not_sent(store, app):
    connection = connect_with(store, app, scopes=("read:jira-work",))
    log = RequestLog()
    session, endpoints = connect.authorized_session(
        store, connection, session_factory=partial(create_session, request_log=log)
    )
    with pytest.raises(ScopeNotGranted) as caught:
        atlassian.get_me(session, endpoints)
    assert caught.value.required == "read:me"
    assert len(log) == 0


def test_call_with_incomplete_requirement_is_sent(store, app):
    connection = connect_with(store, app, scopes=("read:me", "offline_access"))
    session, endpoints = connect.authorized_session(store, connection)
    cloud_id = atlassian.list_sites(session, endpoints)[0].cloud_id
    url = f"{endpoints.jira_base(cloud_id)}/rest/api/3/issue/ENG-1"
    with pytest.raises(ScopeMissing):
        atlassian.get_json(session, url)


def test_me_names_practice_user(store, app):
    connection = connect_with(store, app)
    session, endpoints = connect.authorized_session(store, connection)
    assert atlassian.get_me(session, endpoints)["account_status"] == "active"


def test_myself_is_active_user(store, app):
    connection = connect_with(store, app, site_name="practice-cloud")
    session, endpoints = connect.authorized_session(store, connection)
    cloud_id = atlassian.list_sites(session, endpoints)[0].cloud_id
    user = atlassian.get_myself(session, endpoints, cloud_id)
    assert user["active"] is True


def test_cancel_is_consent_denied(store, app):
    consent = connect.begin_consent(store, app, BROWSE)
    location = approve(consent.url, decision="cancel")
    with pytest.raises(ConsentDenied) as caught:
        connect.complete_consent(store, oauth.parse_callback(location))
    assert caught.value.error == "access_denied"


def test_replayed_callback_does_nothing(store, app):
    consent = connect.begin_consent(store, app, BROWSE)
    callback = oauth.parse_callback(approve(consent.url))
    connect.complete_consent(store, callback)
    with pytest.raises(StateReplayed):
        connect.complete_consent(store, callback)


def test_unregistered_redirect_never_reaches_app(store, app):
    changed = store.save_app(
        environment="practice",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri="http://localhost:8502/callback",
        auth_base=app.auth_base,
        api_base=app.api_base,
    )
    consent = connect.begin_consent(store, changed, BROWSE)
    location = approve(consent.url)
    assert "/error?error=unauthorized_client" in location
    assert "localhost:8502" not in location.split("?")[0]


def test_wrong_secret_rejected(store, app):
    store.save_app(
        environment="practice",
        client_id=CLIENT_ID,
        client_secret="not-the-secret",
        redirect_uri=REDIRECT_URI,
        auth_base=app.auth_base,
        api_base=app.api_base,
    )
    consent = connect.begin_consent(store, app, BROWSE)
    with pytest.raises(TokenRequestFailed) as caught:
        connect.complete_consent(store, oauth.parse_callback(approve(consent.url)))
    assert caught.value.status == 401
    assert "client secret was rejected" in caught.value.message


def test_refresh_rotates_and_old_token_dies(store, app, sandbox, sandbox_clock):
    connection = connect_with(store, app)
    first = store.tokens(connection.id)
    connect.refresh_connection(store, connection.id)
    second = store.tokens(connection.id)
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token

    sandbox_clock.advance(601)
    session = create_session()
    with pytest.raises(TokenRequestFailed) as caught:
        oauth.refresh_token(
            session,
            atlassian.authorization_server(connect.endpoints_for(app)),
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            refresh_token=first.refresh_token,
        )
    assert caught.value.status == 403
    assert caught.value.error_description == "Unknown or invalid refresh token."


def test_expired_access_token_refreshed_before_call(store, app, sandbox_clock):
    connection = connect_with(store, app)
    old = store.tokens(connection.id).access_token
    sandbox_clock.advance(3600 - 30)
    session, endpoints = connect.authorized_session(
        store, connection, clock=sandbox_clock
    )
    atlassian.list_sites(session, endpoints)
    assert store.tokens(connection.id).access_token != old


def test_token_expiring_during_a_session_is_renewed(store, app, sandbox_clock):
    connection = connect_with(store, app)
    old = store.tokens(connection.id).access_token
    session, endpoints = connect.authorized_session(store, connection)
    sandbox_clock.advance(3601)
    assert atlassian.list_sites(session, endpoints)
    assert store.tokens(connection.id).access_token != old


def test_expired_token_without_refresh_is_unauthorized(store, app, sandbox_clock):
    connection = connect_with(store, app, scopes=("read:jira-work",))
    session, endpoints = connect.authorized_session(store, connection)
    sandbox_clock.advance(3601)
    with pytest.raises(Unauthorized):
        atlassian.list_sites(session, endpoints)


def test_rotated_refresh_marks_needs_consent(store, app, sandbox):
    connection = connect_with(store, app)
    requests.post(f"{sandbox.base_url}/_sandbox/reset", timeout=10)
    with pytest.raises(TokenRequestFailed):
        connect.refresh_connection(store, connection.id)
    assert store.get_connection(connection.id).status == connect.NEEDS_CONSENT


def add_fault(sandbox, **fault):
    response = requests.post(
        f"{sandbox.base_url}/_sandbox/faults", json=fault, timeout=10
    )
    response.raise_for_status()


def test_short_retry_after_is_retried(store, app, sandbox):
    connection = connect_with(store, app)
    session, endpoints = connect.authorized_session(store, connection)
    add_fault(
        sandbox,
        path_prefix="/oauth/token/accessible-resources",
        status=429,
        retry_after=0,
        count=1,
    )
    assert atlassian.list_sites(session, endpoints)


def test_long_retry_after_not_slept(store, app, sandbox):
    connection = connect_with(store, app)
    session, endpoints = connect.authorized_session(store, connection)
    add_fault(
        sandbox,
        path_prefix="/oauth/token/accessible-resources",
        status=429,
        retry_after=3600,
        count=1,
    )
    started = time.monotonic()
    with pytest.raises(RateLimited) as caught:
        atlassian.list_sites(session, endpoints)
    assert time.monotonic() - started < 5
    assert caught.value.retry_after == 3600


def test_persistent_503_ends_in_server_error(store, app, sandbox):
    connection = connect_with(store, app)
    session, endpoints = connect.authorized_session(store, connection)
    add_fault(
        sandbox,
        path_prefix="/oauth/token/accessible-resources",
        status=503,
        retry_after=0,
        count=10,
    )
    with pytest.raises(ServerError):
        atlassian.list_sites(session, endpoints)


def test_code_exchange_not_retried_on_503(store, app, sandbox):
    consent = connect.begin_consent(store, app, BROWSE)
    callback = oauth.parse_callback(approve(consent.url))
    add_fault(sandbox, path_prefix="/oauth/token", status=503, retry_after=0, count=1)
    with pytest.raises(TokenRequestFailed) as caught:
        connect.complete_consent(store, callback)
    assert caught.value.status == 503


@pytest.fixture
def practice_site(store, app):
    connection = connect_with(store, app, site_name="practice-cloud")
    session, endpoints = connect.authorized_session(store, connection)
    cloud_id = atlassian.list_sites(session, endpoints)[0].cloud_id
    return session, endpoints, cloud_id


def test_issue_paging_matches_approximate_count(practice_site):
    session, endpoints, cloud_id = practice_site
    jql = jira.project_jql("CAFE")
    keys = [
        issue.key
        for page in jira.iter_issue_pages(session, endpoints, cloud_id, jql)
        for issue in page.issues
    ]
    assert len(keys) == len(set(keys))
    assert len(keys) == jira.approximate_count(session, endpoints, cloud_id, jql)
    assert len(keys) > jira.ISSUE_PAGE_SIZE


def test_issue_detail_renders_description(practice_site):
    session, endpoints, cloud_id = practice_site
    first = jira.search_issues(session, endpoints, cloud_id, jira.project_jql("CAFE"))
    detail = jira.get_issue(session, endpoints, cloud_id, first.issues[0].key)
    assert detail.issue.key == first.issues[0].key
    assert "'type'" not in detail.description


def test_issue_breakdown_counts_every_issue(practice_site):
    session, endpoints, cloud_id = practice_site
    jql = jira.project_jql("CAFE")
    breakdown = jira.issue_breakdown(session, endpoints, cloud_id, jql)
    total = jira.approximate_count(session, endpoints, cloud_id, jql)
    assert breakdown.complete
    assert sum(breakdown.by_status.values()) == total
    assert sum(breakdown.by_type.values()) == total


def test_bad_jql_is_api_error(practice_site):
    session, endpoints, cloud_id = practice_site
    with pytest.raises(ApiError) as caught:
        jira.search_issues(session, endpoints, cloud_id, "order by key")
    assert caught.value.status == 400


def test_removed_search_is_gone(practice_site):
    session, endpoints, cloud_id = practice_site
    with pytest.raises(Gone) as caught:
        atlassian.get_json(
            session, f"{endpoints.jira_base(cloud_id)}/rest/api/3/search"
        )
    assert "/rest/api/3/search/jql" in caught.value.hint


def test_all_projects_loaded_in_parallel(practice_site):
    session, endpoints, cloud_id = practice_site
    pages = list(jira.iter_all_projects(session, endpoints, cloud_id))
    keys = [project.key for page in pages for project in page.projects]
    assert len(keys) == 120
    assert len(set(keys)) == 120


def test_pages_of_space_and_body(practice_site):
    session, endpoints, cloud_id = practice_site
    spaces = [
        space
        for page in confluence.iter_all_spaces(session, endpoints, cloud_id)
        for space in page.spaces
    ]
    eng = next(space for space in spaces if space.key == "ENG")
    listing = confluence.list_pages(session, endpoints, cloud_id, eng.id, limit=10)
    pages = list(listing.pages)
    while listing.next_url:
        listing = confluence.list_pages(
            session, endpoints, cloud_id, eng.id, next_url=listing.next_url
        )
        pages.extend(listing.pages)
    assert len(pages) > 10
    assert len({page.id for page in pages}) == len(pages)
    hostile = next(page for page in pages if "<script>" in page.title)
    body = confluence.get_page(session, endpoints, cloud_id, hostile.id)
    assert "<script" in body.body
    assert "<script" not in sanitize.clean_html(body.body, base_url=body.base_url)


@pytest.mark.parametrize("retry_after", ["1.5", "-1", "abc"])
def test_unreadable_retry_after_still_rate_limited(store, app, sandbox, retry_after):
    connection = connect_with(store, app)
    session, endpoints = connect.authorized_session(store, connection)
    add_fault(
        sandbox,
        path_prefix="/oauth/token/accessible-resources",
        status=429,
        count=10,
        retry_after_text=retry_after,
    )
    with pytest.raises(RateLimited):
        atlassian.list_sites(session, endpoints)


def test_rejected_access_token_renewed_once_and_call_repeated(store, app, sandbox):
    connection = connect_with(store, app)
    live = store.tokens(connection.id)
    store.update_tokens(
        connection.id,
        oauth.TokenSet(
            access_token="fake-revoked-access",
            refresh_token=live.refresh_token,
            expires_at=live.expires_at,
            scopes=live.scopes,
        ),
    )
    session, endpoints = connect.authorized_session(store, connection)
    profile = atlassian.get_me(session, endpoints)
    assert profile["account_id"]
    assert store.tokens(connection.id).access_token != "fake-revoked-access"
    stats = requests.get(f"{sandbox.base_url}/_sandbox/stats", timeout=10).json()
    assert stats["token_requests"]["refresh_token"] == 1


def test_rejected_access_token_with_revoked_grant_needs_consent(store, app, sandbox):
    connection = connect_with(store, app)
    session, endpoints = connect.authorized_session(store, connection)
    requests.post(
        f"{sandbox.base_url}/_sandbox/grants/revoke",
        json={"client_id": CLIENT_ID},
        timeout=10,
    )
    with pytest.raises(RefreshTokenRevoked):
        atlassian.get_me(session, endpoints)
    assert store.get_connection(connection.id).status == connect.NEEDS_CONSENT


def test_scope_mismatch_is_not_renewed(store, app, sandbox):
    connection = connect_with(store, app, scopes=("read:me", "offline_access"))
    session, endpoints = unchecked_session(store, connection)
    cloud_id = atlassian.list_sites(session, endpoints)[0].cloud_id
    with pytest.raises(ScopeMissing):
        jira.search_projects(session, endpoints, cloud_id)
    stats = requests.get(f"{sandbox.base_url}/_sandbox/stats", timeout=10).json()
    assert "refresh_token" not in stats["token_requests"]
