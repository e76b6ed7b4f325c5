"""Secrets at rest, in logs, in messages and on pages; where a token may travel;
the single-use state; and hostile content shown as text.

The sandbox's random values (codes, tokens) are replaced by numbered fakes, so
every value a test must never see is known in advance.
"""

from __future__ import annotations

import logging
import re
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
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

from lib import api_console, atlassian, connect, oauth, practice, settings
from lib.atlassian import Endpoints
from lib.errors import DashboardError
from lib.http import BearerAuth, DisallowedHost, create_session
from lib.oauth import CallbackParams
from lib.sandbox import PRACTICE_CLIENT_SECRET
from lib.sandbox import state as sandbox_state
from lib.sandbox.consent import approve
from lib.store import Store, hash_state
from lib.vault import Vault
from ui.common import PAGES

CLIENT_SECRET = "fake-secrets-client-secret-0001"
ACCESS = "fake-secrets-access-token-0001"
REFRESH = "fake-secrets-refresh-token-0001"
NEW_ACCESS = "fake-secrets-access-token-0002"
NEW_REFRESH = "fake-secrets-refresh-token-0002"
CODE = "fake-secrets-authorization-code-0001"
FIXED = (CLIENT_SECRET, ACCESS, REFRESH, NEW_ACCESS, NEW_REFRESH, CODE)
TOKEN_URL = "https://auth.example.test/oauth/token"
REDIRECT_URI = "http://localhost:8501/callback"
SCOPES = ("read:jira-work", "offline_access")


class NumberedSecrets:
    """Stands in for the `secrets` module of the sandbox: each value it returns
    is a numbered fake, recorded in `issued`."""

    def __init__(self):
        self.issued: list[str] = []
        self._lock = threading.Lock()

    def token_urlsafe(self, nbytes: int | None = None) -> str:
        with self._lock:
            value = f"fake-sandbox-secret-{len(self.issued):04d}"
            self.issued.append(value)
        return value

    token_hex = token_urlsafe


@pytest.fixture
def sandbox_secrets(monkeypatch):
    numbered = NumberedSecrets()
    monkeypatch.setattr(sandbox_state, "secrets", numbered)
    return numbered


@pytest.fixture(autouse=True)
def fresh_streamlit_state():
    st.cache_data.clear()
    yield
    practice.stop_sandbox()


def token_body(access: str, refresh: str) -> dict:
    return {
        "access_token": access,
        "refresh_token": refresh,
        "expires_in": 3600,
        "token_type": "Bearer",
        "scope": " ".join(SCOPES),
    }


def connect_with_fixed_secrets(store: Store, mock: responses.RequestsMock):
    """Connect and refresh once against a mocked token endpoint."""
    app = store.save_app(
        environment="atlassian",
        client_id="secrets-client",
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT_URI,
        auth_base="https://auth.example.test",
        api_base="https://api.example.test",
    )
    consent = connect.begin_consent(store, app, SCOPES)
    mock.post(TOKEN_URL, json=token_body(ACCESS, REFRESH))
    connection = connect.complete_consent(
        store, CallbackParams(code=CODE, state=consent.state)
    )
    mock.replace(responses.POST, TOKEN_URL, json=token_body(NEW_ACCESS, NEW_REFRESH))
    connect.refresh_connection(store, connection.id)
    return consent.state, connection


def assert_no_secret(data: bytes | str, secrets) -> None:
    if isinstance(data, str):
        data = data.encode("utf-8")
    for secret in secrets:
        assert secret.encode("utf-8") not in data, "a secret is stored in plain text"


# At rest ---------------------------------------------------------------------


def test_database_file_holds_no_secret(isolated_data_dir):
    with Store.open() as store, responses.RequestsMock() as mock:
        state, _ = connect_with_fixed_secrets(store, mock)
    assert_no_secret(settings.database_path().read_bytes(), (*FIXED, state))


def test_rollback_journal_holds_no_secret(isolated_data_dir):
    path = settings.database_path()
    journal = path.with_name(path.name + "-journal")
    with Store.open() as store, responses.RequestsMock() as mock:
        state, connection = connect_with_fixed_secrets(store, mock)
        with store.write_transaction():
            store.update_tokens(
                connection.id,
                oauth.TokenSet(ACCESS, time.time() + 60, REFRESH, SCOPES),
            )
            assert journal.exists()
            assert stat.S_IMODE(journal.stat().st_mode) == 0o600
            assert_no_secret(journal.read_bytes(), (*FIXED, state))


def test_wal_files_hold_no_secret(isolated_data_dir):
    path = settings.database_path()
    with Store.open() as store, responses.RequestsMock() as mock:
        store.db.execute("PRAGMA journal_mode = WAL")
        state, _ = connect_with_fixed_secrets(store, mock)
        wal = path.with_name(path.name + "-wal")
        shm = path.with_name(path.name + "-shm")
        assert wal.stat().st_size > 0
        for side_file in (wal, shm):
            assert stat.S_IMODE(side_file.stat().st_mode) == 0o600
            assert_no_secret(side_file.read_bytes(), (*FIXED, state))
    assert_no_secret(path.read_bytes(), (*FIXED, state))


def test_files_and_folder_are_private(isolated_data_dir):
    with Store.open() as store, responses.RequestsMock() as mock:
        connect_with_fixed_secrets(store, mock)
    assert stat.S_IMODE(isolated_data_dir.stat().st_mode) == 0o700
    for path in (settings.database_path(), settings.key_path()):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_reprs_and_records_hold_no_secret(isolated_data_dir):
    with Store.open() as store, responses.RequestsMock() as mock:
        state, connection = connect_with_fixed_secrets(store, mock)
        reprs = [
            repr(store),
            repr(store.active_app()),
            repr(store.get_connection(connection.id)),
            repr(store.pending_state(hash_state(state))),
            repr(store.tokens(connection.id)),
            repr(Vault(Fernet.generate_key())),
        ]
    assert_no_secret("\n".join(reprs), (*FIXED, state))


# In messages -------------------------------------------------------------------


def test_echoed_secrets_redacted_from_token_error(isolated_data_dir):
    """A token endpoint that repeats what it was sent does not get it into the
    error's message, its description or its repr."""
    echo = f"bad {CODE} for {CLIENT_SECRET}"
    with Store.open() as store, responses.RequestsMock() as mock:
        app = store.save_app(
            environment="atlassian",
            client_id="secrets-client",
            client_secret=CLIENT_SECRET,
            redirect_uri=REDIRECT_URI,
            auth_base="https://auth.example.test",
            api_base="https://api.example.test",
        )
        consent = connect.begin_consent(store, app, SCOPES)
        mock.post(
            TOKEN_URL,
            status=400,
            json={"error": f"invalid_request {CODE}", "error_description": echo},
        )
        with pytest.raises(DashboardError) as caught:
            connect.complete_consent(
                store, CallbackParams(code=CODE, state=consent.state)
            )
        pending = store.pending_state(consent.state_hash)
    error = caught.value
    texts = [str(error), repr(error), error.hint, str(error.error_description)]
    texts += [str(error.error), str(pending.error)]
    assert_no_secret("\n".join(texts), FIXED)
    assert "[redacted]" in error.message


def test_disallowed_host_error_holds_no_token():
    session = create_session(
        auth=BearerAuth(ACCESS, frozenset({"https://api.example.test"}))
    )
    with pytest.raises(DisallowedHost) as caught:
        session.get("https://elsewhere.example.test/x")
    assert_no_secret(f"{caught.value!s} {caught.value!r}", FIXED)


# Logs, messages and pages through a whole practice session ---------------------


class CaptureAll(logging.Handler):
    """Keep every record, except those of loggers named in `muted`."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.muted: set[str] = set()

    def emit(self, record):
        if not any(record.name.startswith(name) for name in self.muted):
            self.records.append(record)

    def text(self) -> str:
        formatter = logging.Formatter()
        lines = []
        for record in self.records:
            lines.append(record.getMessage())
            if record.exc_info:
                lines.append(formatter.formatException(record.exc_info))
        return "\n".join(lines)


@pytest.fixture
def all_logs():
    """Capture the root logger and lib at DEBUG for the test."""
    handler = CaptureAll()
    root, lib = logging.getLogger(), logging.getLogger("lib")
    levels = root.level, lib.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    lib.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(levels[0])
    lib.setLevel(levels[1])


def page_protos(at) -> str:
    """Return every element of a page, widgets and their values included."""
    parts = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


def approve_as_browser(handler: CaptureAll, url: str, **options) -> str:
    """Press Accept on the sandbox's consent screen, as the browser would. The
    browser's own requests are not the dashboard's, so urllib3's lines about
    them (which show the authorize URL with its state) are left out."""
    handler.muted.add("urllib3")
    try:
        return approve(url, **options)
    finally:
        handler.muted.discard("urllib3")


def select_option(at, key: str, fragment: str) -> None:
    box = at.selectbox(key=key)
    index = next(n for n, label in enumerate(box.options) if fragment in label)
    box.select_index(index).run()


def test_practice_session_leaks_nothing(sandbox_secrets, all_logs):
    """Connect, refresh and explore in practice mode, then walk every page: no
    log line, exception or page shows a code, token, state or client secret."""
    page_outputs = []

    start_practice()
    consent_page = run_page("views/consent.py")
    states = [consent_page.session_state["consent"].state]
    location = approve_as_browser(
        all_logs, consent_url(consent_page), site_name="practice-cloud"
    )
    callback = run_page("views/callback.py", query=callback_query(location))
    page_outputs.append(page_protos(callback))

    connection_page = run_page("views/connection.py")
    next(b for b in connection_page.button if b.label == "Refresh now").click().run()
    assert any("Refreshed" in plain(s.value) for s in connection_page.success)
    page_outputs.append(page_protos(connection_page))

    jira_page = run_page("views/jira.py")
    jira_page.selectbox(key="jira_project").set_value("CAFE").run()
    select_option(jira_page, "jira_issue", "**bold**")
    page_outputs.append(page_protos(jira_page))

    confluence_page = run_page("views/confluence.py")
    select_option(confluence_page, "confluence_space", "(ENG)")
    select_option(confluence_page, "confluence_page", "<script>")
    page_outputs.append(page_protos(confluence_page))

    console = run_page("views/api_console.py")
    next(b for b in console.button if b.label == "Send").click().run()
    page_outputs.append(page_protos(console))

    for page in [None, *PAGES.values()]:
        at = run_page(page)
        assert not at.exception, page
        page_outputs.append(page_protos(at))
        if "consent" in at.session_state:
            states.append(at.session_state["consent"].state)

    with Store.open() as store:
        connection = store.active_connection()
        assert connection.refreshed_at is not None
    secrets = [*sandbox_secrets.issued, PRACTICE_CLIENT_SECRET]
    assert len(sandbox_secrets.issued) >= 4
    assert_no_secret(all_logs.text(), [*secrets, *states])
    # The Consent page shows the authorize URL, state included, on purpose.
    assert_no_secret("\n".join(page_outputs), secrets)
    assert any(record.name.startswith("lib.") for record in all_logs.records)
    assert any(record.levelno == logging.DEBUG for record in all_logs.records)


def test_refresh_error_echoing_secrets_not_shown(sandbox_secrets, all_logs):
    connect_through_callback()
    with Store.open() as store:
        tokens = store.tokens(store.active_connection().id)
        base = store.active_app().auth_base
    echo = f"refresh_token {tokens.refresh_token} with {PRACTICE_CLIENT_SECRET}"
    requests.post(
        f"{base}/_sandbox/faults",
        json={
            "path_prefix": "/oauth/token",
            "method": "POST",
            "status": 400,
            "body": {"error": "invalid_request", "error_description": echo},
        },
        timeout=10,
    ).raise_for_status()
    at = run_page("views/connection.py")
    next(b for b in at.button if b.label == "Refresh now").click().run()
    assert not at.exception
    assert at.error
    secrets = [*sandbox_secrets.issued, PRACTICE_CLIENT_SECRET]
    assert_no_secret(page_protos(at), secrets)
    assert_no_secret(all_logs.text(), secrets)


# Where a token may travel ------------------------------------------------------


class Recorder(BaseHTTPRequestHandler):
    """Respond to every request by the server's `routes`, recording its headers."""

    def do_GET(self):
        self._answer()

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.server.bodies.append(self.rfile.read(length))
        self._answer()

    def _answer(self):
        self.server.seen.append((self.path, dict(self.headers)))
        status, location = self.server.routes.get(self.path, (200, None))
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        body = b"{}"
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def two_servers():
    """Two HTTP servers on 127.0.0.1: the configured API host and another port."""
    servers = []
    for _ in range(2):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        server.seen, server.bodies, server.routes = [], [], {}
        server.url = f"http://127.0.0.1:{server.server_address[1]}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


def authorization_of(server, path: str) -> str | None:
    headers = next(headers for seen, headers in server.seen if seen == path)
    return headers.get("Authorization")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_to_other_port_drops_token(two_servers, status):
    api, other = two_servers
    api.routes["/start"] = (status, f"{other.url}/landing")
    session = create_session(auth=BearerAuth(ACCESS, frozenset({api.url})))
    session.get(f"{api.url}/start", timeout=5)
    assert authorization_of(api, "/start") == f"Bearer {ACCESS}"
    assert authorization_of(other, "/landing") is None


def test_redirect_to_other_host_name_drops_token(two_servers):
    api, _ = two_servers
    port = api.server_address[1]
    api.routes["/start"] = (302, f"http://localhost:{port}/landing")
    session = create_session(auth=BearerAuth(ACCESS, frozenset({api.url})))
    session.get(f"{api.url}/start", timeout=5)
    assert authorization_of(api, "/landing") is None


def test_redirect_on_same_origin_keeps_token(two_servers):
    api, _ = two_servers
    api.routes["/start"] = (302, f"{api.url}/landing")
    session = create_session(auth=BearerAuth(ACCESS, frozenset({api.url})))
    session.get(f"{api.url}/start", timeout=5)
    assert authorization_of(api, "/landing") == f"Bearer {ACCESS}"


def test_token_never_sent_to_other_port(two_servers):
    api, other = two_servers
    session = create_session(auth=BearerAuth(ACCESS, frozenset({api.url})))
    with pytest.raises(DisallowedHost):
        session.get(f"{other.url}/direct", timeout=5)
    assert other.seen == []


def test_api_console_does_not_follow_redirect(two_servers):
    api, other = two_servers
    endpoints = Endpoints(auth_base=api.url, api_base=api.url)
    request = api_console.build_request(
        endpoints, "cloud-1", "jira", "GET", "/rest/api/3/myself"
    )
    api.routes[urlsplit(request.url).path] = (302, f"{other.url}/landing")
    session = create_session(auth=BearerAuth(ACCESS, endpoints.api_origins))
    response = api_console.send(session, request)
    assert response.status == 302
    assert other.seen == []


def test_api_get_redirect_to_other_port_drops_token(two_servers):
    api, other = two_servers
    endpoints = Endpoints(auth_base=api.url, api_base=api.url)
    api.routes["/oauth/token/accessible-resources"] = (302, f"{other.url}/sites")
    other.routes["/sites"] = (200, None)
    session = create_session(auth=BearerAuth(ACCESS, endpoints.api_origins))
    with pytest.raises(DashboardError):
        atlassian.list_sites(session, endpoints)
    assert authorization_of(other, "/sites") is None


@pytest.mark.parametrize("status", [307, 308])
def test_token_request_not_repeated_at_redirect(two_servers, status):
    """A redirect from the token endpoint would repeat the body, with the client
    secret and the code, at the new address. The request is not followed."""
    auth, other = two_servers
    auth.routes["/oauth/token"] = (status, f"{other.url}/oauth/token")
    server = oauth.AuthorizationServer(
        f"{auth.url}/authorize", f"{auth.url}/oauth/token"
    )
    with pytest.raises(DashboardError) as caught:
        oauth.fetch_token(
            create_session(),
            server,
            client_id="secrets-client",
            client_secret=CLIENT_SECRET,
            code=CODE,
            redirect_uri=REDIRECT_URI,
        )
    assert other.seen == []
    assert str(status) in caught.value.message


# The state: single use, limited life, replay does nothing --------------------


def sandbox_base() -> str:
    with Store.open() as store:
        return store.active_app().auth_base


def code_exchanges() -> int:
    stats = requests.get(f"{sandbox_base()}/_sandbox/stats", timeout=10).json()
    return stats["token_requests"].get("authorization_code", 0)


def stored_rows() -> dict:
    with Store.open() as store:
        return {
            table: list(store.db[table].rows)
            for table in ("apps", "connections", "settings")
        }


def test_replayed_callback_sends_and_changes_nothing():
    start_practice()
    consent_page = run_page("views/consent.py")
    query = callback_query(approve(consent_url(consent_page)))
    run_page("views/callback.py", query=query)
    exchanges, before = code_exchanges(), stored_rows()
    replay = run_page("views/callback.py", query=query)
    assert not replay.exception
    assert code_exchanges() == exchanges
    assert stored_rows() == before
    assert not replay.query_params


def test_state_used_once_even_with_new_code():
    start_practice()
    consent_page = run_page("views/consent.py")
    url = consent_url(consent_page)
    first = callback_query(approve(url))
    run_page("views/callback.py", query=first)
    exchanges, before = code_exchanges(), stored_rows()
    second = dict(first, code="fake-secrets-other-code-0001")
    at = run_page("views/callback.py", query=second)
    assert not at.exception
    assert code_exchanges() == exchanges
    assert stored_rows() == before


def test_expired_state_sends_nothing():
    start_practice()
    consent_page = run_page("views/consent.py")
    consent = consent_page.session_state["consent"]
    query = callback_query(approve(consent_url(consent_page)))
    with Store.open() as store, store.db.conn:
        store.db.execute(
            "update pending_states set expires_at = ? where state_hash = ?",
            [time.time() - 1, consent.state_hash],
        )
    exchanges, before = code_exchanges(), stored_rows()
    at = run_page("views/callback.py", query=query)
    assert not at.exception
    assert any("has expired" in plain(e.value) for e in at.error)
    assert code_exchanges() == exchanges
    assert stored_rows() == before


def test_state_lifetime_is_ten_minutes():
    assert connect.CONSENT_LIFETIME == 600
    with Store.open() as store:
        app = store.save_app(
            environment="atlassian",
            client_id="secrets-client",
            client_secret=CLIENT_SECRET,
            redirect_uri=REDIRECT_URI,
            auth_base="https://auth.example.test",
            api_base="https://api.example.test",
        )
        started = time.time()
        consent = connect.begin_consent(store, app, SCOPES)
    assert started + 600 <= consent.expires_at <= time.time() + 600
    state = parse_qs(urlsplit(consent.url).query)["state"][0]
    assert state == consent.state
    assert len(state) >= 43


# Hostile content -----------------------------------------------------------------

# Markup from the sandbox's data that must reach a Markdown element escaped.
UNESCAPED_MARKUP = re.compile(
    r"(?<!\\)<(script|img|iframe|b>)|(?<!\\)\*\*bold(?<!\\)\*\*|"
    r"(?<!\\)\]\(javascript"
)
MARKDOWN_KINDS = (
    "title",
    "header",
    "subheader",
    "markdown",
    "caption",
    "success",
    "error",
    "warning",
    "info",
)


def markdown_bodies(at) -> list[str]:
    """Return the Markdown source of every element that renders Markdown, code
    spans removed, because a code span shows its content as is."""
    bodies = []
    for kind in MARKDOWN_KINDS:
        bodies.extend(str(element.value) for element in getattr(at, kind))
    for kind in ("button", "selectbox", "text_input", "text_area", "metric"):
        bodies.extend(str(element.label) for element in getattr(at, kind))
    return [re.sub(r"`[^`\n]*`", "", body) for body in bodies]


def assert_inert(at) -> None:
    assert not at.exception
    for body in markdown_bodies(at):
        assert not UNESCAPED_MARKUP.search(body), body[:200]
    for element in at.get("html"):
        html = element.proto.body
        assert not re.search(r"<(script|iframe|style|form|object|embed)", html, re.I)
        assert not re.search(r"<[^>]*\son\w+\s*=", html, re.I)
        assert not re.search(
            r"(href|src)\s*=\s*[\"']?\s*(javascript|data):", html, re.I
        )
    for button in at.get("link_button"):
        assert urlsplit(button.proto.url).scheme in ("http", "https")


def test_hostile_content_is_inert_everywhere():
    connect_through_callback()

    sites = run_page("views/sites.py")
    assert_inert(sites)

    jira_page = run_page("views/jira.py")
    assert_inert(jira_page)
    jira_page.selectbox(key="jira_project").set_value("CAFE").run()
    for fragment in ("**bold**", "<script>", "<img"):
        select_option(jira_page, "jira_issue", fragment)
        assert_inert(jira_page)
        assert any(fragment in plain(h.value) for h in jira_page.subheader)

    confluence_page = run_page("views/confluence.py")
    select_option(confluence_page, "confluence_space", "(ENG)")
    select_option(confluence_page, "confluence_page", "<script>")
    assert_inert(confluence_page)
    assert confluence_page.get("html")
    confluence_page.radio[0].set_value("storage").run()
    assert_inert(confluence_page)

    console = run_page("views/api_console.py")
    next(b for b in console.button if b.label == "Send").click().run()
    assert_inert(console)
