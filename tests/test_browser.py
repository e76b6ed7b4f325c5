"""The practice flow in Debian's Chromium, clicked through as a person would.

Each test writes screenshots of its main steps to test-artifacts/screenshots/<test>/.
Without Chromium these tests skip, unless REQUIRE_BROWSER=1 (set by `make test`),
which turns the skip into a failure.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from lib.sandbox.data import build_dataset

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
WAIT = 20_000  # milliseconds for Streamlit to render after a click


def _require_chromium() -> None:
    if os.path.exists(CHROMIUM):
        return
    message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    _require_chromium()
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": CHROMIUM_ARGS,
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def app_url(tmp_path):
    """Start `streamlit run app.py` on a free loopback port with its own data."""
    port = _free_port()
    env = {
        **os.environ,
        "ATLASSIAN_DASHBOARD_DATA": str(tmp_path / "data"),
        "PYTHONUNBUFFERED": "1",
    }
    log = (tmp_path / "streamlit.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.fileWatcherType",
            "none",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_health(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _wait_for_health(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"streamlit exited with {process.returncode}")
        try:
            if requests.get(f"{url}/_stcore/health", timeout=1).text == "ok":
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    pytest.fail("streamlit did not become healthy within 30 s")


class Screenshots:
    """Numbered full-page screenshots in a folder named after the test."""

    def __init__(self, name: str):
        self.folder = SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.count = 0

    def take(self, page, step: str) -> None:
        self.count += 1
        page.screenshot(
            path=self.folder / f"{self.count:02d}-{step}.png", full_page=True
        )


@pytest.fixture
def shots(request):
    return Screenshots(request.node.name)


def expected_names():
    """Return the first Jira project and the first Confluence space of the
    practice-cloud site, as the first look lists them."""
    site = next(s for s in build_dataset(120, 60).sites if s.slug == "practice-cloud")
    project = sorted(site.projects, key=lambda p: p.key)[0]
    space = sorted(site.spaces, key=lambda s: int(s.id))[0]
    return project.name, space.name


def wait_idle(page) -> None:
    """Wait until Streamlit has finished running the script."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').filter(has_text="Running").wait_for(
        state="detached", timeout=WAIT
    )


def open_sidebar_page(page, label: str) -> None:
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text=label).click()
    wait_idle(page)


def start_practice(page, app_url, shots) -> None:
    from playwright.sync_api import expect

    page.goto(app_url)
    expect(page.get_by_text("Atlassian Cloud onboarding dashboard")).to_be_visible(
        timeout=WAIT
    )
    shots.take(page, "start")
    page.get_by_role("button", name="Start practice mode").click()
    expect(page.get_by_text("Practice mode: the sandbox")).to_be_visible(timeout=WAIT)
    shots.take(page, "credentials")


def save_credentials(page, shots, redirect_uri: str | None = None) -> None:
    from playwright.sync_api import expect

    if redirect_uri is not None:
        field = page.get_by_role("textbox", name="Redirect URI (callback URL)")
        field.fill(redirect_uri)
    page.get_by_role("button", name="Save credentials").click()
    expect(page.get_by_text("Credentials saved.")).to_be_visible(timeout=WAIT)


def choose_scopes(page, shots) -> None:
    from playwright.sync_api import expect

    open_sidebar_page(page, "Scopes")
    expect(page.get_by_text("Scope string")).to_be_visible(timeout=WAIT)
    page.get_by_role("button", name="Browse only").click()
    wait_idle(page)
    page.locator('[data-testid="stCheckbox"]').filter(
        has_text="read:confluence-space.summary"
    ).locator("label").click()
    wait_idle(page)
    expect(
        page.locator('[data-testid="stCode"]').filter(
            has_text="read:confluence-space.summary"
        )
    ).to_be_visible(timeout=WAIT)
    shots.take(page, "scopes")


def consent_in_new_tab(page, shots):
    """Open the consent screen from the Consent page, pick practice-cloud, press
    Accept, and return the new tab."""
    from playwright.sync_api import expect

    open_sidebar_page(page, "Consent")
    expect(page.get_by_text("Authorize URL")).to_be_visible(timeout=WAIT)
    shots.take(page, "consent")
    with page.context.expect_page() as new_tab:
        page.get_by_text("Open the consent screen").click()
    consent = new_tab.value
    expect(consent.get_by_text("is requesting access")).to_be_visible(timeout=WAIT)
    expect(consent.get_by_text("read:confluence-space.summary")).to_be_visible()
    option = consent.locator("#site option").filter(has_text="practice-cloud")
    consent.select_option("#site", value=option.get_attribute("value"))
    shots.take(consent, "atlassian-consent-screen")
    consent.get_by_role("button", name="Accept").click()
    return consent


def check_first_look(page, shots) -> None:
    from playwright.sync_api import expect

    project, space = expected_names()
    expect(page.get_by_text("Jira projects on practice-cloud")).to_be_visible(
        timeout=WAIT
    )
    # st.dataframe paints rows on a canvas; its grid cells carry the same text for
    # assistive technology, so the names are checked there.
    for name in (project, space):
        cell = page.locator('[data-testid="stDataFrame"] [role="gridcell"]')
        expect(cell.get_by_text(name, exact=True)).to_be_attached(timeout=WAIT)
    shots.take(page, "first-look")


def test_practice_flow_received(page, app_url, shots):
    from playwright.sync_api import expect

    start_practice(page, app_url, shots)
    save_credentials(page, shots)
    choose_scopes(page, shots)
    consent = consent_in_new_tab(page, shots)

    expect(consent.get_by_text("Connected.")).to_be_visible(timeout=WAIT)
    assert "code=" not in consent.url
    shots.take(consent, "callback")

    # The tab the user started from notices the connection by itself.
    expect(page.get_by_text("Connected.")).to_be_visible(timeout=WAIT)
    shots.take(page, "consent-tab-noticed")

    consent.get_by_text("Browse your sites").click()
    check_first_look(consent, shots)


class _BrokerHandler(BaseHTTPRequestHandler):
    """Plays another server that owns the registered callback URL."""

    def do_GET(self):
        body = b"<html><body><h1>Your own app's callback</h1></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def broker_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BrokerHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/oauth/callback"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_practice_flow_pasted(page, app_url, broker_url, shots):
    from playwright.sync_api import expect

    start_practice(page, app_url, shots)

    open_sidebar_page(page, "Developer console")
    page.get_by_role(
        "textbox", name="Callback URL registered with the practice app"
    ).fill(broker_url)
    page.get_by_role("button", name="Register with the sandbox").click()
    expect(page.get_by_text("The sandbox now accepts")).to_be_visible(timeout=WAIT)
    shots.take(page, "register-broker-callback")

    open_sidebar_page(page, "Credentials")
    save_credentials(page, shots, redirect_uri=broker_url)
    choose_scopes(page, shots)
    consent = consent_in_new_tab(page, shots)

    expect(consent.get_by_text("Your own app's callback")).to_be_visible(timeout=WAIT)
    landed = consent.url
    assert landed.startswith(broker_url + "?code=")
    consent.close()

    expect(page.get_by_text("belongs to another server")).to_be_visible()
    page.get_by_role(
        "textbox", name="Address from the browser bar, or just the code"
    ).fill(landed)
    shots.take(page, "pasted")
    page.get_by_role("button", name="Connect with this address").click()
    expect(page.get_by_text("Connected.")).to_be_visible(timeout=WAIT)
    shots.take(page, "connected")

    page.get_by_text("Browse your sites").click()
    check_first_look(page, shots)


def test_first_visit_to_page_address(page, app_url, shots):
    from playwright.sync_api import expect

    page.goto(f"{app_url}/credentials")
    expect(page.get_by_role("heading", name="2. Credentials")).to_be_visible(
        timeout=WAIT
    )
    nav = page.locator('[data-testid="stSidebarNav"]')
    expect(nav.get_by_text("1. Developer console")).to_be_visible(timeout=WAIT)
    expect(nav.get_by_text("home", exact=True)).to_have_count(0)
    shots.take(page, "credentials-first-visit")


def choose(page, label: str, text: str) -> None:
    """Pick the option containing text in the Streamlit selectbox with label.

    The filtered list is redrawn while it settles, so an option can vanish under
    the click. The pick then starts again from a closed box.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.get_by_role("combobox", name=label)
    for _ in range(3):
        box.click()
        box.fill(text)
        option = page.get_by_role("option").filter(has_text=text).first
        try:
            option.wait_for(state="visible", timeout=5_000)
            page.wait_for_timeout(300)
            option.click(timeout=5_000)
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            wait_idle(page)
            continue
        wait_idle(page)
        return
    pytest.fail(f"no option containing {text!r} could be picked in {label!r}")


def connect_in_practice(page, app_url, shots) -> None:
    """Connect in practice mode, consenting in a new tab that is then closed, and
    wait until the starting tab shows the connection."""
    from playwright.sync_api import expect

    start_practice(page, app_url, shots)
    save_credentials(page, shots)
    choose_scopes(page, shots)
    consent = consent_in_new_tab(page, shots)
    expect(consent.get_by_text("Connected.")).to_be_visible(timeout=WAIT)
    consent.close()
    expect(page.get_by_text("Connected.")).to_be_visible(timeout=WAIT)


def test_explorer_and_hostile_page(page, app_url, shots):
    from playwright.sync_api import expect

    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    connect_in_practice(page, app_url, shots)

    open_sidebar_page(page, "Jira")
    expect(page.get_by_role("heading", name="Projects")).to_be_visible(timeout=WAIT)
    choose(page, "Project", "CAFE")
    expect(page.get_by_text("JQL built from the project key")).to_be_visible(
        timeout=WAIT
    )
    expect(page.get_by_text("Issues (approximate)")).to_be_visible(timeout=WAIT)
    shots.take(page, "jira-issues")

    open_sidebar_page(page, "Confluence")
    expect(page.get_by_role("heading", name="Spaces")).to_be_visible(timeout=WAIT)
    title_before = page.title()
    choose(page, "Space", "(ENG)")
    choose(page, "Page", "<script>")
    body = page.locator('[data-testid="stHtml"]')
    expect(body.first).to_be_visible(timeout=WAIT)
    page.wait_for_timeout(1500)
    shots.take(page, "confluence-hostile-page")
    assert dialogs == []
    assert page.title() == title_before
    html = body.first.inner_html()
    assert "<script" not in html
    assert "onerror" not in html

    open_sidebar_page(page, "API console")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("200 OK")).to_be_visible(timeout=WAIT)
    expect(page.get_by_text("ATLASSIAN_ACCESS_TOKEN").first).to_be_visible()
    shots.take(page, "api-console")


def test_api_token_browse_and_export(page, app_url, shots):
    from playwright.sync_api import expect

    page.goto(app_url)
    expect(page.get_by_text("Atlassian Cloud onboarding dashboard")).to_be_visible(
        timeout=WAIT
    )
    open_sidebar_page(page, "Or: email + API token")
    page.get_by_text("The practice sandbox on this computer").click()
    wait_idle(page)
    hint = page.get_by_text("Practice mode: use the sandbox's practice account")
    expect(hint).to_be_visible(timeout=WAIT)
    site_url = re.search(
        r"http://127\.0\.0\.1:\d+/sites/practice-cloud", hint.inner_text()
    )
    assert site_url, hint.inner_text()

    page.get_by_role("textbox", name="Site URL").fill(site_url.group(0))
    page.get_by_role("textbox", name="Email").fill("practice.user@example.test")
    page.get_by_role("textbox", name="API token").fill("ATATT-practice-api-token")
    shots.take(page, "api-token-form")
    page.get_by_role("button", name="Verify and save").click()
    expect(page.get_by_text("authenticated as Zoë Practice")).to_be_visible(
        timeout=WAIT
    )
    shots.take(page, "api-token-connected")

    open_sidebar_page(page, "Jira")
    expect(page.get_by_role("heading", name="Projects")).to_be_visible(timeout=WAIT)
    choose(page, "Project", "CAFE")
    expect(page.get_by_text("Issues (approximate)")).to_be_visible(timeout=WAIT)
    shots.take(page, "api-token-jira-issues")

    open_sidebar_page(page, "Export settings")
    expect(page.get_by_role("heading", name="Django settings")).to_be_visible(
        timeout=WAIT
    )
    shots.take(page, "export")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download .env").click()
    content = Path(download_info.value.path()).read_text()
    assert f"JIRA_SERVER_URL='{site_url.group(0)}'" in content
    assert "JIRA_USERNAME='practice.user@example.test'" in content
    assert "JIRA_API_TOKEN='<paste the API token>'" in content
    assert "ATATT-practice-api-token" not in content


def test_expiring_token_renewed_while_browsing(page, app_url, shots):
    """Tokens that expire a minute after issue are renewed before each call that
    would come too close, and the explorer keeps working without a word."""
    from playwright.sync_api import expect

    start_practice(page, app_url, shots)
    save_credentials(page, shots)
    choose_scopes(page, shots)
    open_sidebar_page(page, "Consent")
    authorize = page.locator('[data-testid="stCode"]').filter(has_text="/authorize?")
    expect(authorize).to_be_visible(timeout=WAIT)
    sandbox = authorize.inner_text().split("/authorize?")[0].strip()
    # A lifetime just over the dashboard's one-minute leeway: the first calls use
    # the token as issued, and calls a few seconds later must renew it.
    settings = {"token_lifetime": 63}
    requests.post(f"{sandbox}/_sandbox/settings", json=settings, timeout=10)

    consent = consent_in_new_tab(page, shots)
    expect(consent.get_by_text("Connected.")).to_be_visible(timeout=WAIT)
    consent.get_by_text("Browse your sites").click()
    check_first_look(consent, shots)

    page.wait_for_timeout(4_000)
    open_sidebar_page(consent, "Jira")
    project, _ = expected_names()
    cell = consent.locator('[data-testid="stDataFrame"] [role="gridcell"]')
    expect(cell.get_by_text(project, exact=True)).to_be_attached(timeout=WAIT)
    expect(consent.locator('[data-testid="stAlertContentError"]')).to_have_count(0)
    shots.take(consent, "jira-after-renewal")
    stats = requests.get(f"{sandbox}/_sandbox/stats", timeout=10).json()
    assert stats["token_requests"].get("refresh_token", 0) >= 1


SIDEBAR_PAGES = (
    "Start",
    "1. Developer console",
    "2. Credentials",
    "3. Scopes",
    "4. Consent",
    "5. Callback",
    "6. Connection",
    "Or: email + API token",
    "Export settings",
    "Sites and first look",
    "Jira",
    "Confluence",
    "API console",
)


def test_no_page_html_holds_a_secret(page, app_url, shots):
    """After connecting, the HTML of every page contains neither stored token nor
    the client secret."""
    from lib.store import Store

    connect_in_practice(page, app_url, shots)

    with Store.open() as store:
        connection = store.active_connection()
        tokens = store.tokens(connection.id)
        secrets = {
            "access token": tokens.access_token,
            "refresh token": tokens.refresh_token,
            "client secret": store.client_secret(connection.app_id),
        }
    assert all(secrets.values())

    for label in SIDEBAR_PAGES:
        open_sidebar_page(page, label)
        page.wait_for_timeout(500)
        html = page.content()
        for name, value in secrets.items():
            assert value not in html, f"the {name} is in the HTML of {label}"
    shots.take(page, "last-page")
