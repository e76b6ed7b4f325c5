"""The bad-input corpus (tests/corpus.py) through lib/ and through the real pages.

Each case runs twice. `test_corpus_lib` calls the lib function of its surface and
checks that the DashboardError names the problem and the fix. `test_corpus_page`
enters the same value in the page with AppTest and checks that the page raised
nothing, shows both fragments, shows no secret, and left the stored apps,
connections and settings as they were.
"""

from __future__ import annotations

import json

import pytest
import requests
import responses
import streamlit as st
from corpus import (
    ACCESS_TOKEN,
    CALLBACK,
    CASES,
    CLIENT_SECRET,
    CODE,
    REFRESH_TOKEN,
    SURFACES,
    Case,
    Reply,
)
from test_pages import (
    callback_query,
    connect_through_callback,
    consent_url,
    plain,
    run_page,
    start_practice,
)

from lib import api_console, atlassian, connect, credentials, oauth, practice
from lib.atlassian import Endpoints
from lib.errors import DashboardError, InvalidInput
from lib.http import create_session
from lib.sandbox import PRACTICE_CLIENT_SECRET
from lib.sandbox.consent import approve
from lib.sandbox.data import build_dataset
from lib.scopes import validate_scope_names
from lib.store import Store

SCOPES = ("read:jira-work", "read:me", "offline_access")
CLIENT_ID = "corpus-client-id"
OTHER_CLIENT_ID = "corpus-client-id-2"
OTHER_SECRET = "fake-corpus-secret-0002"
TEST_ENDPOINTS = Endpoints(
    auth_base="https://auth.example.test", api_base="https://api.example.test"
)
TEST_CLOUD_ID = "11111111-2222-3333-4444-555555555555"
FIXED_SECRETS = (CLIENT_SECRET, OTHER_SECRET, PRACTICE_CLIENT_SECRET, CODE)
FIXED_SECRETS += (ACCESS_TOKEN, REFRESH_TOKEN)

# Element kinds whose text a page shows. Widget values are left out: a text
# input contains what was typed, and a password input shows it as dots.
SHOWN_KINDS = (
    "title",
    "header",
    "subheader",
    "markdown",
    "caption",
    "success",
    "error",
    "warning",
    "info",
    "code",
    "text",
    "exception",
)


def case_params(surfaces=None):
    return [
        pytest.param(
            case,
            id=case.id,
            marks=[pytest.mark.xfail(strict=True, reason=case.xfail)]
            if case.xfail
            else [],
        )
        for case in CASES
        if surfaces is None or case.surface in surfaces
    ]


@pytest.fixture(autouse=True)
def fresh_streamlit_state():
    st.cache_data.clear()
    yield
    practice.stop_sandbox()


@pytest.fixture(autouse=True)
def short_backoff(monkeypatch):
    """Cap urllib3's backoff between retries, so a persistent 502 ends quickly."""
    monkeypatch.setattr("lib.http.MAX_RETRY_AFTER", 0.05)


def test_corpus_size():
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)
    assert {case.surface for case in CASES} == set(SURFACES)


# Shared helpers --------------------------------------------------------------


# Connection columns that a token refresh rewrites.
TOKEN_COLUMNS = (
    "access_token",
    "refresh_token",
    "token_type",
    "expires_at",
    "granted_scopes",
    "refreshed_at",
)


def snapshot(*, without_tokens: bool = False) -> dict:
    """Return every stored app, connection and setting, leaving out the columns
    a refresh rewrites when `without_tokens` is set."""
    with Store.open() as store:
        stored = {
            table: list(store.db[table].rows)
            for table in ("apps", "connections", "settings")
        }
    if without_tokens:
        for row in stored["connections"]:
            assert row["refresh_token"], "the refresh token was lost"
            for column in TOKEN_COLUMNS:
                row.pop(column)
    return stored


def shown_text(at) -> str:
    """Return the text of what the page shows, metrics and widget labels included."""
    parts = []
    for kind in SHOWN_KINDS:
        parts.extend(str(element.value) for element in getattr(at, kind))
    for metric in at.metric:
        parts.extend([str(metric.label), str(metric.value)])
    for kind in ("text_input", "text_area", "button", "selectbox"):
        parts.extend(str(element.label) for element in getattr(at, kind))
    return plain("\n".join(parts))


def stored_tokens() -> tuple[str, ...]:
    """Return the decrypted tokens of every stored connection."""
    with Store.open() as store:
        found = []
        for row in store.db["connections"].rows:
            tokens = store.tokens(row["id"])
            found += [tokens.access_token, tokens.refresh_token or ""]
    return tuple(value for value in found if value)


def fill(value, placeholders: dict[str, str]):
    """Replace {name} placeholders in a string, or in the strings of a dict."""
    if isinstance(value, dict):
        return {name: fill(item, placeholders) for name, item in value.items()}
    if isinstance(value, list):
        return [fill(item, placeholders) for item in value]
    for name, replacement in placeholders.items():
        value = value.replace("{" + name + "}", replacement)
    return value


def start_states(store: Store) -> dict[str, str]:
    """Start the consents whose states the placeholders name."""
    app = store.active_app()
    fresh = connect.begin_consent(store, app, SCOPES)
    expired = connect.begin_consent(store, app, SCOPES)
    with store.db.conn:
        store.db.execute(
            "update pending_states set created_at = created_at - 660, "
            "expires_at = expires_at - 660 where state_hash = ?",
            [expired.state_hash],
        )
    used = connect.begin_consent(store, app, SCOPES)
    store.consume_state(used.state)
    return {
        "state": fresh.state,
        "state_prefix": fresh.state[:12],
        "expired_state": expired.state,
        "used_state": used.state,
    }


def assert_explains(text: str, case: Case, fix: str) -> None:
    assert case.problem in text, f"the problem {case.problem!r} is not named"
    if fix:
        assert fix in text, f"the fix {fix!r} is not given"
    for secret in FIXED_SECRETS + case.hidden:
        assert secret not in text, "a secret reached the message"


def add_fault(**fault) -> None:
    """Inject a fault into the practice sandbox."""
    with Store.open() as store:
        base = store.active_app().api_base
    response = requests.post(f"{base}/_sandbox/faults", json=fault, timeout=10)
    response.raise_for_status()


def reply_fault(reply: Reply, **fault) -> dict:
    fault.update(status=reply.status, body=reply.body)
    if isinstance(reply.body, str):
        fault["content_type"] = reply.content_type
    return fault


def practice_cloud_id() -> str:
    site = next(s for s in build_dataset().sites if s.slug == "practice-cloud")
    return site.cloud_id


def mock_reply(mock: responses.RequestsMock, method: str, url: str, reply: Reply):
    mock.add(
        method,
        url,
        body=reply.text(),
        status=reply.status,
        content_type=reply.content_type,
        headers=reply.headers,
    )


# Through lib/ -----------------------------------------------------------------


def lib_credentials(case: Case) -> str:
    valid = {"client_id": CLIENT_ID, "client_secret": OTHER_SECRET}
    valid["redirect_uri"] = CALLBACK
    values = {**valid, case.surface: case.value}
    errors = credentials.collect_errors(**values)
    assert list(errors) == [case.surface]
    validate = getattr(credentials, f"validate_{case.surface}")
    with pytest.raises(InvalidInput) as caught:
        validate(case.value)
    return f"{caught.value.message} {caught.value.hint}"


def lib_callback(case: Case) -> str:
    with Store.open() as store:
        practice.start_practice(store, CALLBACK)
        states = start_states(store)
        before = snapshot()
        with pytest.raises(DashboardError) as caught:
            if case.surface == "callback_paste":
                callback = oauth.parse_callback(fill(case.value, states))
                connect.complete_consent(
                    store, callback, expected_state=states["state"]
                )
            else:
                callback = oauth.callback_from_query(fill(case.value, states))
                connect.complete_consent(store, callback)
    assert snapshot() == before
    return f"{caught.value.message} {caught.value.hint}"


def lib_scopes(case: Case) -> str:
    with pytest.raises(InvalidInput) as caught:
        validate_scope_names(case.value)
    return f"{caught.value.message} {caught.value.hint}"


def lib_token_response(case: Case) -> str:
    server = oauth.AuthorizationServer(
        authorize_url=TEST_ENDPOINTS.authorize_url, token_url=TEST_ENDPOINTS.token_url
    )
    with responses.RequestsMock() as mock, pytest.raises(DashboardError) as caught:
        mock_reply(mock, "POST", TEST_ENDPOINTS.token_url, case.value)
        oauth.fetch_token(
            create_session(retries=False),
            server,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            code=CODE,
            redirect_uri=CALLBACK,
        )
    return f"{caught.value.message} {caught.value.hint}"


def lib_api_response(case: Case) -> str:
    url = TEST_ENDPOINTS.accessible_resources_url
    with responses.RequestsMock() as mock, pytest.raises(DashboardError) as caught:
        mock_reply(mock, "GET", url, case.value)
        atlassian.list_sites(create_session(retries=False), TEST_ENDPOINTS)
    return f"{caught.value.message} {caught.value.hint}"


def console_fields(case: Case) -> dict[str, str]:
    fields = {"method": "GET", "path": "/rest/api/3/myself", "query": "", "body": ""}
    if case.surface == "console_field":
        fields.update(case.value)
    return fields


def lib_console_field(case: Case) -> str:
    fields = console_fields(case)
    with pytest.raises(InvalidInput) as caught:
        api_console.build_request(
            TEST_ENDPOINTS,
            TEST_CLOUD_ID,
            "jira",
            fields["method"],
            fields["path"],
            fields["query"],
            fields["body"],
        )
    return f"{caught.value.message} {caught.value.hint}"


def lib_console_response(case: Case) -> str:
    """Return what the console would show: status, reason and body text.

    The "fix" of these cases is advice that only the page adds.
    """
    request = api_console.build_request(
        TEST_ENDPOINTS, TEST_CLOUD_ID, "jira", "GET", "/rest/api/3/myself"
    )
    with responses.RequestsMock() as mock:
        mock_reply(mock, "GET", request.url, case.value)
        response = api_console.send(create_session(retries=False), request)
    assert not response.json
    return f"{response.status} {response.reason}\n{response.text}"


LIB_RUNNERS = {
    "client_id": lib_credentials,
    "client_secret": lib_credentials,
    "redirect_uri": lib_credentials,
    "callback_paste": lib_callback,
    "callback_query": lib_callback,
    "scopes": lib_scopes,
    "token_response": lib_token_response,
    "api_response": lib_api_response,
    "console_field": lib_console_field,
    "console_response": lib_console_response,
}


@pytest.mark.parametrize("case", case_params())
def test_corpus_lib(case):
    text = LIB_RUNNERS[case.surface](case)
    if case.surface == "console_response":
        assert case.problem in text
        return
    assert_explains(text, case, case.fix)


# Through the pages -------------------------------------------------------------


def page_credentials(case: Case):
    """Submit the case's value in its field, the other two fields being valid.

    A saved app is there first, so the test also shows that nothing overwrote it,
    except for a blank secret, which keeps a saved secret on purpose.
    """
    blank_secret = case.surface == "client_secret" and not case.value.strip()
    if not blank_secret:
        with Store.open() as store:
            store.save_app(
                environment="atlassian",
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                redirect_uri=CALLBACK,
                auth_base="https://auth.example.test",
                api_base="https://api.example.test",
            )
    at = run_page("views/credentials.py")
    before = snapshot()
    values = {
        "client_id": OTHER_CLIENT_ID,
        "client_secret": OTHER_SECRET,
        "redirect_uri": CALLBACK,
        case.surface: case.value,
    }
    for index, name in enumerate(("client_id", "client_secret", "redirect_uri")):
        at.text_input[index].set_value(values[name])
    at.button[0].click().run()
    assert "Nothing was saved" in shown_text(at)
    return at, before


def page_paste(case: Case):
    start_practice()
    at = run_page("views/consent.py")
    state = at.session_state["consent"].state
    text = fill(case.value, {"state": state, "state_prefix": state[:12]})
    before = snapshot()
    at.text_area[0].set_value(text)
    at.button[0].click().run()
    return at, before


def page_query(case: Case):
    start_practice()
    with Store.open() as store:
        states = start_states(store)
    before = snapshot()
    at = run_page("views/callback.py", query=fill(case.value, states))
    return at, before


def page_scopes(case: Case):
    start_practice()
    with Store.open() as store:
        store.save_selected_scopes(case.value)
    before = snapshot()
    return run_page("views/consent.py"), before


def page_token_response(case: Case):
    start_practice()
    consent = run_page("views/consent.py")
    location = approve(consent_url(consent), site_name="practice-cloud")
    add_fault(**reply_fault(case.value, path_prefix="/oauth/token", method="POST"))
    before = snapshot()
    at = run_page("views/callback.py", query=callback_query(location))
    code = callback_query(location)["code"]
    assert code not in shown_text(at)
    return at, before


def page_api_response(case: Case):
    connect_through_callback()
    add_fault(
        **reply_fault(
            case.value,
            path_prefix="/oauth/token/accessible-resources",
            method="GET",
            count=5,
        )
    )
    before = snapshot()
    return run_page("views/sites.py"), before


def page_console(case: Case):
    connect_through_callback()
    at = run_page("views/api_console.py")
    if case.surface == "console_response":
        path = f"/ex/jira/{practice_cloud_id()}/rest/api/3/myself"
        add_fault(**reply_fault(case.value, path_prefix=path, method="GET", count=5))
    fields = console_fields(case)
    before = snapshot()
    next(box for box in at.selectbox if box.label == "Method").set_value(
        fields["method"]
    )
    next(box for box in at.text_input if box.label == "Path").set_value(fields["path"])
    for label, name in (("Query parameters", "query"), ("JSON body", "body")):
        next(area for area in at.text_area if area.label == label).set_value(
            fields[name]
        )
    next(button for button in at.button if button.label == "Send").click().run()
    return at, before


PAGE_RUNNERS = {
    "client_id": page_credentials,
    "client_secret": page_credentials,
    "redirect_uri": page_credentials,
    "callback_paste": page_paste,
    "callback_query": page_query,
    "scopes": page_scopes,
    "token_response": page_token_response,
    "api_response": page_api_response,
    "console_field": page_console,
    "console_response": page_console,
}


@pytest.mark.parametrize("case", case_params())
def test_corpus_page(case):
    at, before = PAGE_RUNNERS[case.surface](case)
    assert not at.exception
    text = shown_text(at)
    assert_explains(text, case, case.page_fix or case.fix)
    for token in stored_tokens():
        assert token not in text
    if case.refreshes:
        assert snapshot(without_tokens=True) == strip_tokens(before)
    else:
        assert snapshot() == before


def strip_tokens(stored: dict) -> dict:
    connections = [
        {name: value for name, value in row.items() if name not in TOKEN_COLUMNS}
        for row in stored["connections"]
    ]
    return {**stored, "connections": connections}


# Checks beside the table -------------------------------------------------------


def test_token_scope_joined_by_commas_is_split():
    tokens = oauth.parse_token_response(
        {
            "access_token": ACCESS_TOKEN,
            "expires_in": 3600,
            "scope": "read:jira-work,offline_access+read:me",
        },
        requested_at=0.0,
    )
    assert tokens.scopes == ("read:jira-work", "offline_access", "read:me")


def test_hostile_error_description_stays_text():
    start_practice()
    with Store.open() as store:
        states = start_states(store)
    case = next(c for c in CASES if c.id == "query-hostile-error-description")
    at = run_page("views/callback.py", query=fill(case.value, states))
    for element in at.error:
        assert "](javascript:" not in element.value
        assert "<script>" not in element.value
        assert ":red[" not in element.value


def test_far_larger_project_page_renders(monkeypatch):
    connect_through_callback()
    cloud_id = practice_cloud_id()
    projects = [
        {
            "id": str(10000 + number),
            "key": f"BIG{number}",
            "name": f"Project {number} " + "é" * 40_000,
            "projectTypeKey": "software",
        }
        for number in range(50)
    ]
    body = {"values": projects, "startAt": 0, "maxResults": 50, "total": 50}
    body["isLast"] = True
    add_fault(
        path_prefix=f"/ex/jira/{cloud_id}/rest/api/3/project/search",
        method="GET",
        status=200,
        body=body,
    )
    assert len(json.dumps(body)) > 1_000_000
    at = run_page("views/sites.py")
    assert not at.exception
    assert not at.error
