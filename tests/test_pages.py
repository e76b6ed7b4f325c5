"""Pages through Streamlit's AppTest, with the practice sandbox as Atlassian."""

import re
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import streamlit as st
from cryptography.fernet import Fernet
from streamlit.testing.v1 import AppTest

from lib import connect, practice
from lib.sandbox import PRACTICE_CLIENT_ID, PRACTICE_CLIENT_SECRET
from lib.sandbox.consent import approve
from lib.sandbox.data import build_dataset
from lib.store import Account, Store

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 30


@pytest.fixture(autouse=True)
def fresh_streamlit_state():
    st.cache_data.clear()
    yield
    practice.stop_sandbox()


def run_page(page: str | None = None, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    if query:
        at.query_params.update(query)
    if page:
        at.switch_page(page).run()
    return at


def plain(text) -> str:
    """Return rendered text without the escapes that keep Markdown literal."""
    return str(text).replace("\\", "").replace("`", "")


def all_text(at: AppTest) -> str:
    """Return the text of every element the page rendered, joined by newlines."""
    parts = []
    for kind in ("title", "markdown", "caption", "success", "error", "warning", "info"):
        parts.extend(str(element.value) for element in getattr(at, kind))
    parts.extend(str(element.value) for element in at.code)
    parts.extend(str(element.label) for element in at.text_input)
    parts.extend(str(element.value) for element in at.text_input)
    return plain("\n".join(parts))


def start_practice() -> AppTest:
    """Press "Start practice mode", then open Scopes once to keep its defaults."""
    at = run_page()
    at.button(key="start_practice").click().run()
    run_page("views/scopes.py")
    return at


def callback_query(location: str) -> dict[str, str]:
    """Return the query parameters of the address the consent redirected to."""
    return {
        name: values[0] for name, values in parse_qs(urlsplit(location).query).items()
    }


def consent_url(at: AppTest) -> str:
    urls = [code.value for code in at.code if "/authorize?" in str(code.value)]
    assert urls, "the consent page shows no authorize URL"
    return urls[0]


def connect_through_callback() -> None:
    start_practice()
    at = run_page("views/consent.py")
    location = approve(consent_url(at), site_name="practice-cloud")
    run_page("views/callback.py", query=callback_query(location))


@pytest.mark.parametrize(
    "page",
    [
        None,
        "views/console.py",
        "views/credentials.py",
        "views/scopes.py",
        "views/consent.py",
        "views/callback.py",
        "views/connection.py",
        "views/sites.py",
    ],
)
def test_page_renders_before_setup(page):
    at = run_page(page)
    assert not at.exception


def test_home_offers_practice_and_real():
    at = run_page()
    labels = [button.label for button in at.button]
    assert "Start practice mode" in labels
    assert "Set up a real connection" in labels


def test_console_shows_own_callback_url():
    at = run_page("views/console.py")
    assert "http://localhost:8501/callback" in [code.value for code in at.code]
    assert "Forge" in all_text(at)


def test_practice_fills_credentials():
    start_practice()
    at = run_page("views/credentials.py")
    assert not at.exception
    assert at.text_input[0].value == PRACTICE_CLIENT_ID
    assert at.text_input[2].value == "http://localhost:8501/callback"


def test_practice_secret_never_shown():
    start_practice()
    at = run_page("views/credentials.py")
    assert PRACTICE_CLIENT_SECRET not in all_text(at)
    assert "saved: ••••" in at.text_input[1].label


def test_credentials_prefilled_from_environment(monkeypatch):
    monkeypatch.setenv("ATLASSIAN_CLIENT_ID", "env-client-id")
    monkeypatch.setenv("ATLASSIAN_REDIRECT_URI", "https://dash.example.test/callback")
    at = run_page("views/credentials.py")
    assert at.text_input[0].value == "env-client-id"
    assert at.text_input[2].value == "https://dash.example.test/callback"


def test_credentials_errors_next_to_fields():
    at = run_page("views/credentials.py")
    at.text_input[0].set_value("   ")
    at.text_input[1].set_value("has space")
    at.text_input[2].set_value("ftp://example.test/cb")
    at.button[0].click().run()
    errors = [plain(element.value) for element in at.error]
    assert any("client ID is empty" in text for text in errors)
    assert any("client secret" in text and "spaces" in text for text in errors)
    assert any("scheme 'ftp'" in text for text in errors)
    assert not at.exception
    with Store.open() as store:
        assert store.active_app() is None


def test_credentials_saved_and_masked():
    at = run_page("views/credentials.py")
    at.text_input[0].set_value("client-abc")
    at.text_input[1].set_value("fake-secret-value-9876")
    at.text_input[2].set_value("http://localhost:8501/callback")
    at.button[0].click().run()
    assert not at.exception
    assert "fake-secret-value-9876" not in all_text(at)
    with Store.open() as store:
        app = store.active_app()
        assert store.client_secret(app.id) == "fake-secret-value-9876"
    assert "••••9876" in at.text_input[1].label


def test_credentials_empty_secret_keeps_saved():
    start_practice()
    at = run_page("views/credentials.py")
    at.button[0].click().run()
    assert not at.error
    with Store.open() as store:
        app = store.active_app()
        assert store.client_secret(app.id) == PRACTICE_CLIENT_SECRET


def scope_preview(at: AppTest) -> str:
    return next(code.value for code in at.code if code.value)


def test_scopes_default_preview():
    at = run_page("views/scopes.py")
    preview = scope_preview(at)
    assert preview.split(" ") == [
        "read:jira-work",
        "read:jira-user",
        "read:space:confluence",
        "read:page:confluence",
        "read:me",
        "offline_access",
    ]


def test_scopes_preset_replaces_selection():
    at = run_page("views/scopes.py")
    at.button(key="preset:Jira (console set)").click().run()
    preview = scope_preview(at).split(" ")
    assert "manage:jira-data-provider" in preview
    assert "read:space:confluence" not in preview


def test_scopes_offline_access_warning():
    at = run_page("views/scopes.py")
    at.checkbox(key="scope:offline_access").uncheck().run()
    assert any("offline_access is off" in plain(w.value) for w in at.warning)
    assert "offline_access" not in scope_preview(at)


def test_scopes_none_selected():
    at = run_page("views/scopes.py")
    for checkbox in at.checkbox:
        checkbox.uncheck()
    at.run()
    assert any("at least one scope" in plain(e.value) for e in at.error)
    assert not at.exception


def test_consent_without_credentials():
    at = run_page("views/consent.py")
    assert any("credentials first" in plain(w.value) for w in at.warning)


def test_consent_url_parameters():
    start_practice()
    at = run_page("views/consent.py")
    query = parse_qs(urlsplit(consent_url(at)).query)
    assert query["audience"] == ["api.atlassian.com"]
    assert query["prompt"] == ["consent"]
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [PRACTICE_CLIENT_ID]
    assert "offline_access" in query["scope"][0].split(" ")


def test_consent_link_button_opens_url():
    start_practice()
    at = run_page("views/consent.py")
    link = at.get("link_button")[0]
    assert link.proto.url == consent_url(at)


def test_consent_foreign_redirect_points_to_paste():
    start_practice()
    with Store.open() as store:
        app = store.active_app()
        store.save_app(
            environment=app.environment,
            client_id=app.client_id,
            client_secret=PRACTICE_CLIENT_SECRET,
            redirect_uri="https://broker.example.test/oauth/callback",
            auth_base=app.auth_base,
            api_base=app.api_base,
        )
    at = run_page("views/consent.py")
    assert any("belongs to another server" in plain(w.value) for w in at.warning)


@pytest.mark.parametrize(
    ("pasted", "fragment"),
    [
        ("", "empty"),
        ("abc def", "characters"),
        ("http://localhost:8501/callback?state=x", "no code="),
        ("http://localhost:8501/callback?code=a&state=not-this-tabs", "different"),
    ],
)
def test_consent_paste_rejects(pasted, fragment):
    start_practice()
    at = run_page("views/consent.py")
    at.text_area[0].set_value(pasted)
    at.button[0].click().run()
    assert not at.exception
    assert any(fragment in plain(e.value) for e in at.error)


def test_consent_paste_connects():
    start_practice()
    at = run_page("views/consent.py")
    location = approve(consent_url(at), site_name="practice-cloud")
    at.text_area[0].set_value(location)
    at.button[0].click().run()
    assert not at.exception
    assert any("Connected" in plain(s.value) for s in at.success)


def test_consent_paste_bare_code():
    start_practice()
    at = run_page("views/consent.py")
    location = approve(consent_url(at))
    code = parse_qs(urlsplit(location).query)["code"][0]
    at.text_area[0].set_value(code)
    at.button[0].click().run()
    assert any("Connected" in plain(s.value) for s in at.success)


def test_callback_received_connects():
    start_practice()
    at = run_page("views/consent.py")
    location = approve(consent_url(at))
    query = callback_query(location)
    callback = run_page("views/callback.py", query=query)
    assert not callback.exception
    assert any("Connected" in plain(s.value) for s in callback.success)
    assert dict(callback.query_params) == {}


def test_callback_tab_that_started_notices():
    start_practice()
    at = run_page("views/consent.py")
    location = approve(consent_url(at))
    query = callback_query(location)
    run_page("views/callback.py", query=query)
    at.run()
    assert any("Connected" in plain(s.value) for s in at.success)


def test_callback_replayed_does_nothing():
    start_practice()
    at = run_page("views/consent.py")
    location = approve(consent_url(at))
    query = callback_query(location)
    run_page("views/callback.py", query=query)
    replay = run_page("views/callback.py", query=query)
    assert not replay.exception
    assert any("already finished and connected" in plain(i.value) for i in replay.info)
    with Store.open() as store:
        assert store.active_connection() is not None


def test_callback_replayed_after_cancel():
    start_practice()
    at = run_page("views/consent.py")
    location = approve(consent_url(at), decision="cancel")
    state = parse_qs(urlsplit(location).query)["state"][0]
    run_page("views/callback.py", query={"error": "access_denied", "state": state})
    replay = run_page("views/callback.py", query={"code": "c1", "state": state})
    assert any("already used" in plain(e.value) for e in replay.error)


def test_callback_cancel_explained():
    start_practice()
    at = run_page("views/consent.py")
    location = approve(consent_url(at), decision="cancel")
    query = callback_query(location)
    callback = run_page("views/callback.py", query=query)
    assert any("cancelled" in plain(e.value) for e in callback.error)
    assert any("press Accept" in plain(i.value) for i in callback.info)


def test_callback_unknown_state():
    callback = run_page("views/callback.py", query={"code": "c1", "state": "s1"})
    assert not callback.exception
    assert any("matches no consent" in plain(e.value) for e in callback.error)


def test_callback_without_parameters():
    callback = run_page("views/callback.py")
    assert "Nothing arrived" in all_text(callback)


def test_connection_page_after_consent():
    connect_through_callback()
    at = run_page("views/connection.py")
    assert not at.exception
    assert at.metric[0].label == "Access token expires in"
    assert at.metric[1].value == "stored"


def test_connection_refresh_now():
    connect_through_callback()
    with Store.open() as store:
        before = store.tokens(store.active_connection().id).refresh_token
    at = run_page("views/connection.py")
    at.button[0].click().run()
    assert not at.exception
    assert any("Refreshed" in plain(s.value) for s in at.success)
    with Store.open() as store:
        assert store.tokens(store.active_connection().id).refresh_token != before


def test_connection_disconnect_keeps_app():
    connect_through_callback()
    at = run_page("views/connection.py")
    at.button(key="confirm_disconnect").click().run()
    with Store.open() as store:
        assert store.active_connection() is None
        assert store.active_app() is not None


def test_sites_first_look():
    connect_through_callback()
    at = run_page("views/sites.py")
    assert not at.exception
    tables = [frame.value for frame in at.dataframe]
    names = set()
    for table in tables:
        if "name" in table.columns:
            names.update(table["name"])
    assert "practice-cloud" in names
    assert "Atlas Analytics" in names


def test_sites_lists_projects_and_spaces():
    connect_through_callback()
    at = run_page("views/sites.py")
    subheaders = [plain(element.value) for element in at.subheader]
    assert "Jira projects on practice-cloud" in subheaders
    assert "Confluence spaces on practice-cloud" in subheaders
    assert not at.error


def test_credentials_with_changed_key(monkeypatch):
    start_practice()
    monkeypatch.setenv("ATLASSIAN_DASHBOARD_KEY", Fernet.generate_key().decode())
    at = run_page("views/credentials.py")
    assert not at.exception
    assert any("cannot be decrypted" in plain(e.value) for e in at.error)
    at.text_input[1].set_value(PRACTICE_CLIENT_SECRET)
    at.button[0].click().run()
    with Store.open() as store:
        assert store.client_secret(store.active_app().id) == PRACTICE_CLIENT_SECRET


def test_every_page_explains_unusable_data_folder(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ATLASSIAN_DASHBOARD_DATA", str(blocker))
    for page in (None, "views/credentials.py", "views/callback.py"):
        at = run_page(page)
        assert not at.exception
        assert any(str(blocker) in plain(e.value).replace("\\", "") for e in at.error)


def test_callback_error_without_state():
    callback = run_page("views/callback.py", query={"error": "access_denied"})
    assert not callback.exception
    assert any("cancelled" in plain(e.value) for e in callback.error)


def test_consent_with_invalid_saved_scopes():
    start_practice()
    with Store.open() as store:
        store.save_selected_scopes(("read:jira-work,offline_access",))
    at = run_page("views/consent.py")
    assert not at.exception
    assert any("commas" in plain(e.value) for e in at.error)


def test_new_client_id_hides_old_connection():
    connect_through_callback()
    at = run_page("views/credentials.py")
    at.text_input[0].set_value("another-client")
    at.text_input[1].set_value("another-fake-secret")
    at.button[0].click().run()
    connection_page = run_page("views/connection.py")
    assert any("no connection yet" in plain(i.value) for i in connection_page.info)


def test_scopes_kept_after_leaving_page():
    at = run_page("views/scopes.py")
    at.button(key="preset:Jira (console set)").click().run()
    at.switch_page("views/credentials.py").run()
    at.switch_page("views/scopes.py").run()
    assert "manage:jira-data-provider" in scope_preview(at)
    with Store.open() as store:
        assert "manage:jira-data-provider" in store.selected_scopes()


def test_real_setup_after_practice():
    connect_through_callback()
    at = run_page()
    at.button(key="start_real").click().run()
    credentials_page = run_page("views/credentials.py")
    assert credentials_page.radio[0].value == "atlassian"
    assert credentials_page.text_input[0].value == ""
    credentials_page.text_input[0].set_value("real-client-id")
    credentials_page.text_input[1].set_value("fake-real-secret")
    credentials_page.button[0].click().run()
    with Store.open() as store:
        app = store.active_app()
        assert app.environment == "atlassian"
        assert app.auth_base == "https://auth.atlassian.com"
        assert store.active_connection() is None


def test_switch_back_to_practice_keeps_connection():
    connect_through_callback()
    with Store.open() as store:
        practice_connection = store.active_connection()
        store.set_active_environment("atlassian")
    at = run_page("views/credentials.py")
    at.radio[0].set_value("practice").run()
    with Store.open() as store:
        assert store.active_connection() == practice_connection
        assert store.active_app().is_practice


def test_consent_tab_notices_other_tab():
    start_practice()
    first_tab = run_page("views/consent.py")
    second_tab = run_page("views/consent.py")
    location = approve(consent_url(second_tab))
    query = callback_query(location)
    run_page("views/callback.py", query=query)
    first_tab.run()
    assert any("Connected" in plain(s.value) for s in first_tab.success)


def test_callback_error_with_unknown_state():
    callback = run_page(
        "views/callback.py",
        query={"error": "access_denied", "state": "forged", "error_description": "x"},
    )
    assert any("matches no consent" in plain(e.value) for e in callback.error)
    assert not any("cancelled" in plain(e.value) for e in callback.error)


def test_connection_shows_identity():
    connect_through_callback()
    at = run_page("views/connection.py")
    assert "Zoë Practice" in all_text(at)


def test_connection_after_sandbox_restart():
    connect_through_callback()
    practice.stop_sandbox()
    at = run_page("views/connection.py")
    assert not at.exception
    assert any("sandbox restarted" in plain(w.value) for w in at.warning)
    sites = run_page("views/sites.py")
    assert any("sandbox restarted" in plain(w.value) for w in sites.warning)


def test_disconnect_needs_confirmation():
    connect_through_callback()
    at = run_page("views/connection.py")
    at.button(key="confirm_disconnect").click().run()
    assert any("Disconnected" in plain(s.value) for s in at.success)
    with Store.open() as store:
        assert store.active_connection() is None


def practice_site_projects():
    site = next(s for s in build_dataset().sites if s.slug == "practice-cloud")
    return sorted(site.projects, key=lambda project: project.key)


def test_jira_page_lists_projects():
    connect_through_callback()
    at = run_page("views/jira.py")
    assert not at.exception
    keys = list(at.dataframe[0].value["key"])
    assert keys == [p.key for p in practice_site_projects()[:50]]


def test_jira_page_next_page():
    connect_through_callback()
    at = run_page("views/jira.py")
    next_button = next(b for b in at.button if b.label == "Next")
    next_button.click().run()
    keys = list(at.dataframe[0].value["key"])
    assert keys == [p.key for p in practice_site_projects()[50:100]]


def test_jira_page_search_query():
    connect_through_callback()
    at = run_page("views/jira.py")
    at.text_input[0].set_value("zzz-no-project").run()
    assert not at.exception
    assert any("No project matches" in plain(c.value) for c in at.caption)


def test_jira_page_load_all():
    connect_through_callback()
    at = run_page("views/jira.py")
    next(b for b in at.button if b.label == "Load all").click().run()
    assert len(at.dataframe[0].value) == len(practice_site_projects())


def test_jira_rerun_with_warm_cache_sends_nothing():
    connect_through_callback()
    at = run_page("views/jira.py")
    log = at.session_state["request_log"]
    before = len(log)
    at.run()
    assert len(log) == before


def test_jira_free_jql_error_explained():
    connect_through_callback()
    at = run_page("views/jira.py")
    at.radio[0].set_value("jql").run()
    at.text_area[0].set_value("order by key").run()
    assert not at.exception
    assert at.error


def test_confluence_page_lists_spaces():
    connect_through_callback()
    at = run_page("views/confluence.py")
    assert not at.exception
    assert "Zoë Practice" in list(at.dataframe[0].value["name"])


def test_api_console_page_renders():
    connect_through_callback()
    at = run_page("views/api_console.py")
    assert not at.exception


def test_jira_issues_of_project_and_detail():
    connect_through_callback()
    at = run_page("views/jira.py")
    at.selectbox(key="jira_project").set_value("CAFE").run()
    assert not at.exception
    issue_keys = list(at.dataframe[1].value["key"])
    assert issue_keys
    assert all(key.startswith("CAFE-") for key in issue_keys)
    at.selectbox(key="jira_issue").set_value(issue_keys[0]).run()
    assert not at.exception
    assert any(issue_keys[0] in plain(h.value) for h in at.subheader)
    assert at.text


def select_option(at: AppTest, key: str, fragment: str) -> None:
    """Pick the first option of a selectbox whose label contains fragment."""
    box = at.selectbox(key=key)
    index = next(n for n, label in enumerate(box.options) if fragment in label)
    box.select_index(index).run()


def test_confluence_hostile_page_sanitized():
    connect_through_callback()
    at = run_page("views/confluence.py")
    select_option(at, "confluence_space", "(ENG)")
    assert not at.exception
    select_option(at, "confluence_page", "<script>")
    assert not at.exception
    bodies = [element.proto.body for element in at.get("html")]
    assert bodies
    for body in bodies:
        assert "<script" not in body
        assert "<iframe" not in body
        assert not re.search(r"<[^>]*\son\w+\s*=", body)
        assert not re.search(r"(href|src)\s*=\s*[\"']?\s*javascript:", body, re.I)


def test_confluence_storage_format():
    connect_through_callback()
    at = run_page("views/confluence.py")
    select_option(at, "confluence_space", "(ENG)")
    select_option(at, "confluence_page", "<script>")
    at.radio[0].set_value("storage").run()
    assert not at.exception
    assert at.get("html")


def add_second_site(site_name: str = "München") -> None:
    """Consent once more choosing another site, so the grant has two."""
    at = run_page("views/consent.py")
    if not at.code:
        at.button(key="new_consent").click().run()
    location = approve(consent_url(at), site_name=site_name)
    query = callback_query(location)
    run_page("views/callback.py", query=query)


def test_sidebar_site_switch_takes_effect_each_time():
    connect_through_callback()
    add_second_site()
    at = run_page("views/jira.py")
    assert not at.exception
    for name in ("Übungsseite München", "practice-cloud", "Übungsseite München"):
        box = at.sidebar.selectbox(key="site_choice")
        box.select_index(box.options.index(name)).run()
        assert any(name in plain(c.value) for c in at.caption)


def test_explorer_asks_for_site_when_several():
    connect_through_callback()
    add_second_site()
    with Store.open() as store:
        store.set_connection_site(store.active_connection().id, None)
    at = run_page("views/confluence.py")
    assert any("Pick the site in the sidebar" in plain(i.value) for i in at.info)


def test_unexpected_error_is_a_message(monkeypatch):
    connect_through_callback()

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("lib.jira.search_projects", broken)
    at = run_page("views/jira.py")
    assert not at.exception
    assert any("Something unexpected failed" in plain(e.value) for e in at.error)


def test_jira_state_survives_leaving_page():
    connect_through_callback()
    at = run_page("views/jira.py")
    at.text_input(key="jira_query").set_value("Atlas").run()
    at.selectbox(key="jira_project").set_value("ATAN").run()
    at.switch_page("views/confluence.py").run()
    at.switch_page("views/jira.py").run()
    assert at.text_input(key="jira_query").value == "Atlas"
    assert at.selectbox(key="jira_project").value == "ATAN"


def test_loaded_pages_outlive_cache_lifetime(monkeypatch):
    connect_through_callback()
    at = run_page("views/jira.py")
    next(b for b in at.button if b.label == "Load all").click().run()
    monkeypatch.setattr("ui.cache.TTL_SECONDS", -1)
    at.run()
    assert len(at.dataframe[0].value) == len(practice_site_projects())


def test_jira_chart_only_on_request():
    connect_through_callback()
    at = run_page("views/jira.py")
    at.selectbox(key="jira_project").set_value("CAFE").run()
    log = at.session_state["request_log"]
    before = len(log)
    at.run()
    assert len(log) == before
    at.toggle(key="jira_chart").set_value(True).run()
    assert len(log) > before
    assert not at.exception


def test_jira_only_site_has_no_confluence_text():
    connect_through_callback()
    add_second_site("jira-only")
    page = run_page("views/confluence.py")
    box = page.sidebar.selectbox(key="site_choice")
    box.select_index(box.options.index("jira-only")).run()
    assert any("This site has no Confluence" in plain(i.value) for i in page.info)


def test_needs_consent_renews_the_same_connection():
    connect_through_callback()
    with Store.open() as store:
        connection = store.active_connection()
        store.set_connection_site(connection.id, "kept-cloud-id")
        store.set_connection_status(connection.id, connect.NEEDS_CONSENT)
    at = run_page("views/connection.py")
    at.button(key="renew_connection_button").click().run()
    assert not at.exception
    assert any("renews the connection" in plain(i.value) for i in at.info)
    run_page("views/callback.py", query=callback_query(approve(consent_url(at))))
    with Store.open() as store:
        renewed = store.active_connection()
        assert renewed.id == connection.id
        assert renewed.status == "active"
        assert renewed.cloud_id == "kept-cloud-id"
        assert len(store.list_connections()) == 1


def test_connection_in_use_can_be_switched():
    connect_through_callback()
    with Store.open() as store:
        first = store.active_connection()
        tokens = store.tokens(first.id)
        other = store.save_connection(
            app_id=first.app_id,
            tokens=tokens,
            requested_scopes=first.requested_scopes,
            account=Account("account-other", "Other Person"),
        )
    at = run_page("views/connection.py")
    box = at.selectbox(key="connection_choice")
    assert box.value == other.id
    box.select(first.id).run()
    assert not at.exception
    with Store.open() as store:
        assert store.active_connection().id == first.id


def test_tasks_select_the_smallest_scope_set():
    at = run_page("views/scopes.py")
    at.checkbox(key="task:read_issues").check().run()
    at.checkbox(key="task:read_pages").check().run()
    at.button(key="apply_tasks").click().run()
    assert not at.exception
    with Store.open() as store:
        assert store.selected_scopes() == ("read:jira-work", "read:page:confluence")


def test_revoked_access_token_renewed_while_browsing():
    connect_through_callback()
    with Store.open() as store:
        connection = store.active_connection()
        live = store.tokens(connection.id)
        store.update_tokens(connection.id, replace(live, access_token="fake-dead"))
    at = run_page("views/jira.py")
    assert not at.exception
    assert not at.error
    assert at.dataframe
    with Store.open() as store:
        assert store.tokens(connection.id).access_token != "fake-dead"


# Email + API token connections and the export page.

PRACTICE_EMAIL = "practice.user@example.test"
PRACTICE_TOKEN = "ATATT-practice-api-token"


def submit_api_token(at: AppTest, site_url: str, email: str, token: str) -> AppTest:
    at.text_input[0].set_value(site_url)
    at.text_input[1].set_value(email)
    at.text_input[2].set_value(token)
    next(b for b in at.button if b.label == "Verify and save").click().run()
    return at


def api_token_page(environment: str = "practice") -> AppTest:
    at = run_page("views/api_token.py")
    at.radio(key="api_token_environment").set_value(environment).run()
    return at


def practice_site_url() -> str:
    base = practice.ensure_sandbox("http://localhost:8501/callback")
    return f"{base}/sites/practice-cloud"


def connect_with_api_token(token: str = PRACTICE_TOKEN) -> AppTest:
    at = api_token_page()
    return submit_api_token(at, practice_site_url(), PRACTICE_EMAIL, token)


def messages(at: AppTest) -> str:
    """Return the page's rendered text without the values typed into fields."""
    kinds = ("title", "markdown", "caption", "success", "error", "warning", "info")
    parts = [str(element.value) for kind in kinds for element in getattr(at, kind)]
    parts.extend(str(element.value) for element in at.code)
    return plain("\n".join(parts))


def stored_connections() -> list:
    with Store.open() as store:
        return store.list_connections()


@pytest.mark.parametrize("page", ["views/api_token.py", "views/export.py"])
def test_api_token_pages_render_before_setup(page):
    at = run_page(page)
    assert not at.exception


def test_api_token_fields_have_help():
    at = run_page("views/api_token.py")
    assert [field.label for field in at.text_input] == [
        "Site URL",
        "Email",
        "API token",
    ]
    for field in at.text_input:
        assert field.help
    assert "id.atlassian.com" in at.text_input[2].help
    assert "OAuth" in all_text(at)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (0, "https://example.test/board", "The site URL 'https://example.test/board'"),
        (1, "person.example.test", "The email address 'person.example.test'"),
        (2, '"ATATT-fake-token"', "The API token starts or ends with a quote mark"),
    ],
)
def test_api_token_bad_field_stores_nothing(field, value, expected):
    values = ["https://fake-site.atlassian.net", "person@example.test", "ATATT-fake"]
    values[field] = value
    at = submit_api_token(run_page("views/api_token.py"), *values)
    assert not at.exception
    errors = [plain(element.value) for element in at.error]
    assert len(errors) == 1
    assert expected in errors[0]
    assert any("Nothing was saved" in plain(w.value) for w in at.warning)
    assert stored_connections() == []


def test_api_token_practice_hint_has_values():
    at = api_token_page()
    hint = all_text(at)
    assert PRACTICE_EMAIL in hint
    assert PRACTICE_TOKEN in hint
    assert practice_site_url() in hint


def test_api_token_wrong_token_stores_nothing():
    at = connect_with_api_token("ATATT-fake-wrong-token")
    assert not at.exception
    shown = messages(at)
    assert "did not accept the email and API token" in shown
    assert "Check these causes, most likely first.\n\n1. " in shown
    assert "ATATT-fake-wrong-token" not in shown
    assert stored_connections() == []


def test_api_token_practice_connects():
    at = connect_with_api_token()
    assert not at.exception
    assert any("authenticated as Zoë Practice" in plain(s.value) for s in at.success)
    assert all(PRACTICE_TOKEN not in plain(s.value) for s in at.success)
    with Store.open() as store:
        connection = store.active_connection()
        assert connection.is_api_token
        assert connection.environment == "practice"
        assert connection.api_route == "site"
        assert store.api_token(connection.id) == PRACTICE_TOKEN


def test_jira_page_through_api_token():
    connect_with_api_token()
    at = run_page("views/jira.py")
    assert not at.exception
    keys = list(at.dataframe[0].value["key"])
    assert keys == [p.key for p in practice_site_projects()[:50]]
    paths = [record.path for record in at.session_state["request_log"].records()]
    assert any(path.startswith("/sites/practice-cloud/rest/api/3/") for path in paths)
    assert not any(path.startswith("/ex/") for path in paths)


def test_sites_page_through_api_token():
    connect_with_api_token()
    at = run_page("views/sites.py")
    assert not at.exception
    headings = [plain(element.value) for element in at.subheader]
    assert "Jira projects on practice-cloud" in headings


def test_connection_page_shows_api_token():
    connect_with_api_token()
    at = run_page("views/connection.py")
    assert not at.exception
    shown = all_text(at)
    assert "Email + API token connection" in shown
    assert PRACTICE_EMAIL in shown
    assert PRACTICE_TOKEN not in shown
    assert not at.metric
    assert "Refresh now" not in [button.label for button in at.button]


def test_connection_page_disconnects_api_token():
    connect_with_api_token()
    at = run_page("views/connection.py")
    at.button(key="confirm_disconnect").click().run()
    assert not at.exception
    assert any("Disconnected" in plain(s.value) for s in at.success)
    assert stored_connections() == []


def test_connection_picker_lists_api_token():
    connect_through_callback()
    connect_with_api_token()
    at = run_page("views/connection.py")
    choice = at.selectbox(key="connection_choice")
    assert any("API token on" in label for label in choice.options)
    oauth = next(item for item in stored_connections() if not item.is_api_token)
    choice.set_value(oauth.id).run()
    assert not at.exception
    assert at.metric[0].label == "Access token expires in"


def test_export_hides_api_token_unless_asked():
    connect_with_api_token()
    at = run_page("views/export.py")
    assert not at.exception
    assert PRACTICE_TOKEN not in all_text(at)
    dotenv = next(code.value for code in at.code if "JIRA_API_TOKEN=" in code.value)
    assert "JIRA_API_TOKEN='<paste the API token>'" in dotenv
    assert f"JIRA_USERNAME='{PRACTICE_EMAIL}'" in dotenv
    assert len(at.get("download_button")) == 3
    at.checkbox(key="export_include_secrets").check().run()
    assert not at.exception
    assert f"JIRA_API_TOKEN='{PRACTICE_TOKEN}'" in all_text(at)


def test_export_oauth_app_hides_client_secret():
    connect_through_callback()
    at = run_page("views/export.py")
    assert not at.exception
    shown = all_text(at)
    assert PRACTICE_CLIENT_SECRET not in shown
    assert "state=REPLACE_WITH_STATE" in shown
    assert "read:jira-work, read:jira-user" in shown
    assert len(at.get("download_button")) == 6
    at.checkbox(key="export_include_secrets").check().run()
    assert PRACTICE_CLIENT_SECRET in all_text(at)


def test_consent_compares_registered_callback():
    start_practice()
    at = run_page("views/consent.py")
    at.text_input(key="registered_callback").input(
        "http://localhost:8501/callback/"
    ).run()
    assert not at.exception
    assert any("trailing slash" in plain(e.value) for e in at.error)
    at.text_input(key="registered_callback").input(
        "http://localhost:8501/callback"
    ).run()
    assert any("are the same" in plain(s.value) for s in at.success)


def test_consent_explains_what_atlassian_showed():
    start_practice()
    at = run_page("views/consent.py")
    at.radio(key="consent_symptom").set_value(
        "Your site admin must authorize this app"
    ).run()
    assert not at.exception
    assert any("A site admin must approve the app" in plain(e.value) for e in at.error)


def trigger_practice_failure(key: str) -> AppTest:
    at = run_page("views/console.py")
    at.selectbox(key="practice_fault").select(key).run()
    at.button(key="trigger_practice_fault").click().run()
    assert not at.exception
    return at


def test_practice_revoked_grant_is_explained():
    connect_through_callback()
    trigger_practice_failure("revoked")
    at = run_page("views/jira.py")
    assert not at.exception
    assert any("replaced or revoked" in plain(e.value) for e in at.error)


def test_practice_outage_then_restore():
    connect_through_callback()
    trigger_practice_failure("outage")
    at = run_page("views/jira.py")
    assert any("Atlassian is unavailable" in plain(e.value) for e in at.error)
    console = run_page("views/console.py")
    console.button(key="restore_practice").click().run()
    assert not console.exception
    cache_free = run_page("views/jira.py")
    assert not cache_free.error


def test_practice_not_shared_stops_the_consent():
    start_practice()
    trigger_practice_failure("not_shared")
    at = run_page("views/consent.py")
    location = approve(consent_url(at))
    assert "/error?error=access_denied" in location
    at.text_area[0].set_value(location)
    at.button[0].click().run()
    assert not at.exception
    assert any("works only for its owner" in plain(e.value) for e in at.error)


def test_request_log_after_early_stop():
    connect_through_callback()
    trigger_practice_failure("outage")
    at = run_page("views/jira.py")
    assert at.error
    labels = [expander.label for expander in at.sidebar.expander]
    count = len(at.session_state["request_log"])
    assert count > 0
    assert labels == [f"Request log ({count})"]


def test_connection_page_after_sandbox_restart_calls_nothing():
    connect_through_callback()
    practice.stop_sandbox()
    at = run_page("views/connection.py")
    assert not at.exception
    assert any("restarted" in plain(w.value) for w in at.warning)
    assert not at.error
    assert at.metric[0].value == "no longer valid"


def test_api_console_names_a_missing_scope():
    start_practice()
    scopes = run_page("views/scopes.py")
    scopes.checkbox(key="task:browse_projects").check().run()
    scopes.button(key="apply_tasks").click().run()
    at = run_page("views/consent.py")
    run_page("views/callback.py", query=callback_query(approve(consent_url(at))))
    console = run_page("views/api_console.py")
    console.button[0].click().run()
    assert not console.exception
    assert any("read:jira-user" in plain(w.value) for w in console.warning)


def test_api_token_practice_values_filled_and_path_dropped():
    at = run_page("views/api_token.py")
    at.radio(key="api_token_environment").set_value("practice").run()
    at.button(key="fill_practice_values").click().run()
    site = at.text_input(key="api_token_site_url").value
    assert site.endswith("/sites/practice-cloud")
    assert at.text_input(key="api_token_email").value == "practice.user@example.test"
    at.text_input(key="api_token_site_url").set_value(site + "/browse/CAFE-1")
    next(b for b in at.button if b.label == "Verify and save").click().run()
    assert not at.exception
    shown = " ".join(plain(s.value) for s in at.success)
    assert f"Using the site root {site}" in shown


@pytest.mark.parametrize(
    ("page", "title"),
    [
        ("views/jira.py", "Jira"),
        ("views/confluence.py", "Confluence"),
        ("views/api_console.py", "API console"),
    ],
)
def test_explorer_keeps_its_title_when_stopped(page, title):
    at = run_page(page)
    assert not at.exception
    assert [t.value for t in at.title] == [title]
