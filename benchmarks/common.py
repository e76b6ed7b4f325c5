"""Helpers shared by the benchmarks: results, the sandbox in its own process, a
connected client or data folder, a Streamlit server, Chromium, timers and counters.

The sandbox runs in a child process, as Atlassian runs on another machine, so its
work neither shares the measured process's interpreter lock nor adds to its
memory. Every socket is on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Self

import requests

if TYPE_CHECKING:
    from lib.atlassian import Endpoints

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
PYTHON = sys.executable

CLIENT_ID = "benchmark-client"
CLIENT_SECRET = "benchmark-secret"
REDIRECT_URI = "http://localhost:8501/callback"
SITE_NAME = "practice-cloud"
# Atlassian-like latency added by the sandbox to every API and token request.
LATENCY_MS = 50.0
# Latency of the tiny runs that keep the benchmarks from rotting.
TINY_LATENCY_MS = 5.0
HTTP_TIMEOUT = 30


@dataclass(frozen=True)
class Result:
    """One measured figure next to its target.

    `met` is None when the figure has no target and is reported for reading.
    """

    benchmark: str
    measure: str
    figure: str
    target: str
    met: bool | None
    command: str
    details: tuple[str, ...] = field(default=())

    def lines(self) -> list[str]:
        """Return the result as the lines a benchmark prints on its own."""
        verdict = {True: "met", False: "MISSED", None: "for reading"}[self.met]
        lines = [
            f"{self.benchmark}: {self.measure}",
            f"  figure: {self.figure}",
            f"  target: {self.target} ({verdict})",
        ]
        lines += [f"  {line}" for line in self.details]
        lines.append(f"  reproduce: {self.command}")
        return lines


def print_results(results: list[Result]) -> None:
    for result in results:
        print("\n".join(result.lines()))


def median(values) -> float:
    return statistics.median(values)


def timed(work: Callable[[], object]) -> tuple[object, float]:
    """Return the value of work() and the seconds it took."""
    started = time.perf_counter()
    value = work()
    return value, time.perf_counter() - started


# The sandbox in a child process -------------------------------------------------


class SandboxProcess:
    """`python -m lib.sandbox` on a free port of 127.0.0.1, stopped on exit."""

    def __init__(self, *, large: bool, latency_ms: float, token_lifetime: float = 3600):
        self.arguments = [
            PYTHON,
            "-m",
            "lib.sandbox",
            "--port",
            "0",
            "--latency-ms",
            str(latency_ms),
            "--token-lifetime",
            str(token_lifetime),
            "--redirect-uri",
            REDIRECT_URI,
        ]
        if large:
            self.arguments.append("--large")
        self.base_url = ""
        self.pid = 0
        self._process: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed by stop)

    def __enter__(self) -> Self:
        self._process = subprocess.Popen(
            self.arguments,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        line = self._process.stdout.readline().strip()
        prefix = "Sandbox listening on "
        if not line.startswith(prefix):
            self.stop()
            self._log.seek(0)
            raise RuntimeError(
                f"The sandbox did not start ({' '.join(self.arguments)}):\n"
                + self._log.read()[-2000:]
            )
        self.base_url = line.removeprefix(prefix)
        self.pid = self._process.pid
        self.register_client(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def stop(self) -> None:
        """Send SIGTERM, wait for the exit, and kill the process if it hangs."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(10)
        self._process.stdout.close()
        self._process = None
        self._log.close()

    def register_client(self, client_id: str, secret: str, redirect_uri: str):
        self._post(
            "/_sandbox/clients",
            {
                "client_id": client_id,
                "client_secret": secret,
                "redirect_uri": redirect_uri,
                "name": "Benchmarks",
                "sharing": True,
            },
        )

    def change_settings(self, **changes) -> dict:
        """Change numeric switches such as latency_ms or token_lifetime."""
        return self._post("/_sandbox/settings", changes)

    def token_requests(self) -> dict[str, int]:
        """Return the token requests received so far, by grant type."""
        response = requests.get(f"{self.base_url}/_sandbox/stats", timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        return response.json()["token_requests"]

    def _post(self, path: str, body: dict) -> dict:
        response = requests.post(
            f"{self.base_url}{path}", json=body, timeout=HTTP_TIMEOUT
        )
        response.raise_for_status()
        return response.json()


# A connected client --------------------------------------------------------------


@dataclass(frozen=True)
class Client:
    """A bearer session on the sandbox, with the endpoints and the site's cloud id."""

    session: requests.Session
    endpoints: Endpoints
    cloud_id: str
    access_token: str


def connect_client(base_url: str, scopes) -> Client:
    """Consent on the sandbox as the benchmark client and return a bearer session
    built by the dashboard's own session factory."""
    from lib import atlassian, oauth
    from lib.atlassian import Endpoints, authorization_server
    from lib.http import BearerAuth, create_session
    from lib.sandbox.consent import approve

    endpoints = Endpoints(base_url, base_url)
    server_info = authorization_server(endpoints)
    url = oauth.create_authorization_url(
        server_info,
        client_id=CLIENT_ID,
        redirect_uri=REDIRECT_URI,
        scopes=tuple(scopes),
        state="benchmark",
    )
    callback = oauth.parse_callback(approve(url, site_name=SITE_NAME))
    tokens = oauth.fetch_token(
        create_session(),
        server_info,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        code=callback.code,
        redirect_uri=REDIRECT_URI,
    )
    session = create_session(
        auth=BearerAuth(tokens.access_token, endpoints.api_origins)
    )
    sites = atlassian.list_sites(session, endpoints)
    cloud_id = next(site.cloud_id for site in sites if site.name == SITE_NAME)
    return Client(session, endpoints, cloud_id, tokens.access_token)


@contextlib.contextmanager
def connected_data_folder(base_url: str) -> Iterator[Path]:
    """Yield a fresh data folder whose store contains an app on the sandbox and a
    connection made through the dashboard's own consent flow.

    ATLASSIAN_DASHBOARD_DATA points at the folder until the block ends, so the
    pages run by AppTest in this process use it.
    """
    from lib import connect, oauth, scopes
    from lib.sandbox.consent import approve
    from lib.settings import DATA_DIR_ENV
    from lib.store import ATLASSIAN, Store

    saved = os.environ.get(DATA_DIR_ENV)
    with tempfile.TemporaryDirectory(prefix="dashboard-bench-") as folder:
        os.environ[DATA_DIR_ENV] = folder
        try:
            with Store.open() as store:
                app = store.save_app(
                    environment=ATLASSIAN,
                    client_id=CLIENT_ID,
                    client_secret=CLIENT_SECRET,
                    redirect_uri=REDIRECT_URI,
                    auth_base=base_url,
                    api_base=base_url,
                )
                store.save_selected_scopes(scopes.DEFAULT_SELECTION)
                start = connect.begin_consent(store, app, scopes.DEFAULT_SELECTION)
                location = approve(start.url, site_name=SITE_NAME)
                callback = oauth.parse_callback(location)
                connect.complete_consent(store, callback, expected_state=start.state)
            yield Path(folder)
        finally:
            if saved is None:
                os.environ.pop(DATA_DIR_ENV, None)
            else:
                os.environ[DATA_DIR_ENV] = saved


# Counters and timers -------------------------------------------------------------


@contextlib.contextmanager
def count_http_requests() -> Iterator[list[str]]:
    """Yield a list that collects "METHOD URL" of every request sent through any
    requests adapter in this process while the block runs."""
    from requests.adapters import HTTPAdapter

    sent: list[str] = []
    original = HTTPAdapter.send

    def send(self, request, *args, **kwargs):
        sent.append(f"{request.method} {request.url}")
        return original(self, request, *args, **kwargs)

    HTTPAdapter.send = send
    try:
        yield sent
    finally:
        HTTPAdapter.send = original


@contextlib.contextmanager
def script_run_times() -> Iterator[list[float]]:
    """Yield a list that collects the seconds of each Streamlit script run.

    It times ScriptRunner._run_script: the page's compile and execution with
    Streamlit's bookkeeping, as a server runs it, without AppTest's own work of
    starting the run and reading the elements back.
    """
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    durations: list[float] = []
    original = ScriptRunner._run_script

    def run_script(self, rerun_data):
        started = time.perf_counter()
        try:
            return original(self, rerun_data)
        finally:
            durations.append(time.perf_counter() - started)

    ScriptRunner._run_script = run_script
    try:
        yield durations
    finally:
        ScriptRunner._run_script = original


def cpu_seconds(pid: int | str = "self") -> float:
    """Return the user plus system CPU time a process has used, read from
    /proc/PID/stat on Linux."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        # Fields 14 and 15 (utime, stime) follow the command name in brackets.
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def resident_memory_bytes(pid: int | str = "self") -> int:
    """Return a process's resident set size (VmRSS), read from /proc on Linux."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/{pid}/status has no VmRSS line")


@contextlib.contextmanager
def server_script_cache() -> Iterator[None]:
    """Make AppTest keep compiled scripts across runs, as a Streamlit server does.

    AppTest builds a new ScriptCache for every run, so each run compiles the
    entry script and the page again. A server keeps one cache for its lifetime.
    """
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import app_test, local_script_runner

    cache = ScriptCache()
    originals = (app_test.ScriptCache, local_script_runner.ScriptCache)
    app_test.ScriptCache = local_script_runner.ScriptCache = lambda: cache
    try:
        yield
    finally:
        app_test.ScriptCache, local_script_runner.ScriptCache = originals


def open_page(page: str, timeout: float = 120):
    """Run the app once in a new AppTest session, switch to `page` and return
    the AppTest, as a browser tab that opens the dashboard and then the page."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=timeout)
    at.run()
    at.switch_page(page).run()
    if at.exception:
        raise RuntimeError(f"{page} raised: {at.exception[0].value}")
    return at


def quiet_logging() -> None:
    """Send the dashboard's log lines to os.devnull instead of the console.

    The handler formats and writes every line as the app's own handler does, so
    logging still costs what it costs in the app. Streamlit's warning about
    calls outside a script run, which AppTest triggers, is dropped.
    """
    import logging

    handler = logging.StreamHandler(open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    dashboard = logging.getLogger("lib")
    dashboard.handlers[:] = [handler]
    dashboard.setLevel(logging.INFO)
    # Streamlit resets its loggers' levels when AppTest loads the config, so a
    # filter drops the warning instead of a level.
    logging.getLogger(
        "streamlit.runtime.scriptrunner_utils.script_run_context"
    ).addFilter(lambda record: "missing ScriptRunContext" not in record.getMessage())


# A Streamlit server and Chromium ----------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
SERVER_START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class StreamlitServer:
    """`streamlit run SCRIPT` on a free port of 127.0.0.1, headless, from the
    project folder so that .streamlit/config.toml applies, stopped on exit.

    `started_at` and `healthy_at` are time.perf_counter() readings taken when
    the process was spawned and when /_stcore/health first returned "ok".
    """

    def __init__(self, script: Path, env: dict | None = None, stderr=None):
        self.script = script
        self.env = env
        self.stderr = subprocess.DEVNULL if stderr is None else stderr
        self.url = ""
        self.pid = 0
        self.started_at = 0.0
        self.healthy_at = 0.0
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> Self:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.started_at = time.perf_counter()
        self._process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "streamlit",
                "run",
                str(self.script),
                "--server.headless",
                "true",
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(port),
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self.stderr,
        )
        self.pid = self._process.pid
        try:
            self._wait_until_healthy()
        except BaseException:
            self.stop()
            raise
        self.healthy_at = time.perf_counter()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"streamlit run {self.script.name} exited with "
                    f"{self._process.returncode}"
                )
            with contextlib.suppress(requests.RequestException):
                health = requests.get(f"{self.url}/_stcore/health", timeout=1)
                if health.text == "ok":
                    return
            time.sleep(0.005)
        raise RuntimeError(
            f"{self.url} did not become healthy in {SERVER_START_TIMEOUT:.0f} s"
        )

    def stop(self) -> None:
        """Send SIGTERM, wait for the exit, and kill the process if it hangs."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(10)
        self._process = None


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """Yield a headless Chromium (Debian's, driven by Playwright)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=list(CHROMIUM_ARGS)
        )
        try:
            yield browser
        finally:
            browser.close()
