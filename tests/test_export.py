"""lib/export.py: every format compared exactly with tests/snapshots, secrets
hidden and shown, and the generated code and .env files read back.

Run with UPDATE_SNAPSHOTS=1 to rewrite the snapshot files after a deliberate
change, then review them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from lib.atlassian import Endpoints, authorization_server
from lib.export import (
    API_TOKEN_PLACEHOLDER,
    CLIENT_SECRET_PLACEHOLDER,
    STATE_PLACEHOLDER,
    ApiTokenExport,
    OAuthAppExport,
    authorize_url,
    django_settings,
    dotenv,
    dotenv_value,
    python_example,
    scopes_comma_separated,
    scopes_space_separated,
)
from lib.oauth import create_authorization_url
from lib.sandbox import (
    PRACTICE_CLIENT_ID,
    PRACTICE_CLIENT_SECRET,
    SandboxConfig,
    SandboxServer,
)
from lib.sandbox.api_tokens import PRACTICE_API_TOKEN, PRACTICE_API_TOKEN_EMAIL
from lib.sandbox.consent import approve

SNAPSHOTS = Path(__file__).parent / "snapshots"
BASH = shutil.which("bash") or "/bin/bash"

CLIENT_SECRET = "FAKEsecretQ7xW2kP3v9Lr8mN4"
API_TOKEN = "ATATTFAKEtokenZ9y8X7w6V5u4"
CLOUD_ID = "11111111-2222-3333-4444-555555555555"
SCOPES = ("read:jira-work", "read:jira-user", "read:me", "offline_access")

APP = OAuthAppExport(
    client_id="FAKEclientIdAbc123",
    client_secret=CLIENT_SECRET,
    redirect_uri="http://localhost:8501/callback",
    scopes=SCOPES,
)
TOKEN_CONNECTION = ApiTokenExport(
    site_url="https://fake-site.atlassian.net",
    email="zoe.practice@example.test",
    api_token=API_TOKEN,
)
SCOPED_CONNECTION = ApiTokenExport(
    site_url="https://fake-site.atlassian.net",
    email="zoe.practice@example.test",
    api_token=API_TOKEN,
    cloud_id=CLOUD_ID,
)

FORMATS = {"django": django_settings, "dotenv": dotenv, "python": python_example}
CONNECTIONS = {"oauth": APP, "token": TOKEN_CONNECTION, "scoped": SCOPED_CONNECTION}
SECRET_CASES = {
    f"{kind}_{name}_{'shown' if shown else 'hidden'}": (
        data,
        function,
        shown,
    )
    for kind, data in CONNECTIONS.items()
    for name, function in FORMATS.items()
    for shown in (False, True)
}
PLAIN_CASES = {
    "scopes_comma": lambda: scopes_comma_separated(SCOPES),
    "scopes_space": lambda: scopes_space_separated(SCOPES),
    "authorize_url": lambda: authorize_url(APP) + "\n",
}


def render(name: str) -> str:
    if name in PLAIN_CASES:
        return PLAIN_CASES[name]()
    data, function, shown = SECRET_CASES[name]
    return function(data, include_secrets=shown)


def secret_of(data) -> str:
    return data.api_token if isinstance(data, ApiTokenExport) else data.client_secret


def windows(secret: str, size: int = 8) -> list[str]:
    return [secret[index : index + size] for index in range(len(secret) - size + 1)]


# Snapshots


@pytest.mark.parametrize("name", [*SECRET_CASES, *PLAIN_CASES])
def test_export_matches_snapshot(name):
    text = render(name)
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", [name for name in SECRET_CASES if "hidden" in name])
def test_hidden_export_has_no_secret(name):
    data, function, _ = SECRET_CASES[name]
    text = function(data)
    for window in windows(secret_of(data)):
        assert window not in text


@pytest.mark.parametrize("name", [name for name in SECRET_CASES if "shown" in name])
def test_shown_export_has_secret(name):
    data, function, _ = SECRET_CASES[name]
    assert secret_of(data) in function(data, include_secrets=True)


@pytest.mark.parametrize("name", PLAIN_CASES)
def test_plain_export_has_no_secret(name):
    text = render(name)
    for window in windows(CLIENT_SECRET):
        assert window not in text


@pytest.mark.parametrize("function", FORMATS.values())
def test_unknown_secret_never_shown(function):
    app = OAuthAppExport("FAKEclientIdAbc123", None, APP.redirect_uri, SCOPES)
    assert function(app, include_secrets=True) == function(app)


def test_export_repr_hides_secrets():
    assert CLIENT_SECRET not in repr(APP)
    assert API_TOKEN not in repr(TOKEN_CONNECTION)


# Scopes and authorize URL


def test_scopes_comma_separated():
    assert scopes_comma_separated(SCOPES) == (
        "read:jira-work, read:jira-user, read:me, offline_access"
    )


def test_scopes_space_separated_drops_duplicates():
    assert scopes_space_separated(["read:me", " read:me ", "offline_access"]) == (
        "read:me offline_access"
    )


def test_authorize_url_matches_app_request():
    expected = create_authorization_url(
        authorization_server(Endpoints()),
        client_id=APP.client_id,
        redirect_uri=APP.redirect_uri,
        scopes=SCOPES,
        state="state-1",
    )
    assert authorize_url(APP, state="state-1") == expected


def test_authorize_url_has_state_placeholder():
    query = parse_qs(urlsplit(authorize_url(APP)).query)
    assert query["state"] == [STATE_PLACEHOLDER]
    assert query["audience"] == ["api.atlassian.com"]
    assert query["scope"] == [" ".join(SCOPES)]


# Generated code compiles and contains the values


@pytest.mark.parametrize("data", CONNECTIONS.values(), ids=CONNECTIONS)
@pytest.mark.parametrize("shown", [False, True], ids=["hidden", "shown"])
@pytest.mark.parametrize("function", [django_settings, python_example])
def test_generated_code_compiles(data, shown, function):
    compile(function(data, include_secrets=shown), "<export>", "exec")


def run_settings(text: str, monkeypatch) -> dict:
    monkeypatch.setenv("ATLASSIAN_CLIENT_SECRET", "from-environment")
    monkeypatch.setenv("JIRA_API_TOKEN", "from-environment")
    namespace: dict = {}
    exec(compile(text, "<settings>", "exec"), namespace)  # noqa: S102
    return namespace


def test_django_oauth_values(monkeypatch):
    namespace = run_settings(django_settings(APP, include_secrets=True), monkeypatch)
    assert namespace["ATLASSIAN_CLIENT_ID"] == APP.client_id
    assert namespace["ATLASSIAN_CLIENT_SECRET"] == CLIENT_SECRET
    assert namespace["ATLASSIAN_REDIRECT_URI"] == APP.redirect_uri
    assert namespace["ATLASSIAN_SCOPES"] == list(SCOPES)


def test_django_hidden_secret_from_environment(monkeypatch):
    namespace = run_settings(django_settings(APP), monkeypatch)
    assert namespace["ATLASSIAN_CLIENT_SECRET"] == "from-environment"


def test_django_api_token_values(monkeypatch):
    text = django_settings(TOKEN_CONNECTION, include_secrets=True)
    namespace = run_settings(text, monkeypatch)
    assert namespace["JIRA_SERVER_URL"] == TOKEN_CONNECTION.site_url
    assert namespace["JIRA_USERNAME"] == TOKEN_CONNECTION.email
    assert namespace["JIRA_API_TOKEN"] == API_TOKEN


def test_django_scoped_token_uses_gateway(monkeypatch):
    namespace = run_settings(django_settings(SCOPED_CONNECTION), monkeypatch)
    assert namespace["JIRA_SERVER_URL"] == (
        f"https://api.atlassian.com/ex/jira/{CLOUD_ID}"
    )


def test_django_escapes_quotes(monkeypatch):
    app = OAuthAppExport('id"\\x', 'se"cr\\et', "http://localhost:8501/callback", ())
    namespace = run_settings(django_settings(app, include_secrets=True), monkeypatch)
    assert namespace["ATLASSIAN_CLIENT_ID"] == 'id"\\x'
    assert namespace["ATLASSIAN_CLIENT_SECRET"] == 'se"cr\\et'


# .env read back by a POSIX shell


def source_dotenv(text: str, names, tmp_path) -> dict[str, str]:
    """Source the file in bash and return the named variables."""
    path = tmp_path / "exported.env"
    path.write_text(text, encoding="utf-8")
    script = '. "$1"; shift; for name; do printf "%s\\0" "${!name}"; done'
    output = subprocess.run(
        [BASH, "-c", script, "bash", str(path), *names],
        capture_output=True,
        check=True,
        env={"PATH": os.environ.get("PATH", "")},
    ).stdout.decode("utf-8")
    return dict(zip(names, output.split("\0")[:-1], strict=True))


def test_dotenv_oauth_reads_back(tmp_path):
    names = [
        "ATLASSIAN_CLIENT_ID",
        "ATLASSIAN_CLIENT_SECRET",
        "ATLASSIAN_REDIRECT_URI",
        "ATLASSIAN_SCOPES",
    ]
    values = source_dotenv(dotenv(APP, include_secrets=True), names, tmp_path)
    assert values == {
        "ATLASSIAN_CLIENT_ID": APP.client_id,
        "ATLASSIAN_CLIENT_SECRET": CLIENT_SECRET,
        "ATLASSIAN_REDIRECT_URI": APP.redirect_uri,
        "ATLASSIAN_SCOPES": " ".join(SCOPES),
    }


def test_dotenv_hidden_reads_placeholder(tmp_path):
    values = source_dotenv(dotenv(APP), ["ATLASSIAN_CLIENT_SECRET"], tmp_path)
    assert values["ATLASSIAN_CLIENT_SECRET"] == CLIENT_SECRET_PLACEHOLDER


def test_dotenv_api_token_reads_back(tmp_path):
    names = ["JIRA_SERVER_URL", "JIRA_USERNAME", "JIRA_API_TOKEN"]
    text = dotenv(TOKEN_CONNECTION, include_secrets=True)
    assert source_dotenv(text, names, tmp_path) == {
        "JIRA_SERVER_URL": TOKEN_CONNECTION.site_url,
        "JIRA_USERNAME": TOKEN_CONNECTION.email,
        "JIRA_API_TOKEN": API_TOKEN,
    }


def test_dotenv_hidden_token_reads_placeholder(tmp_path):
    values = source_dotenv(dotenv(TOKEN_CONNECTION), ["JIRA_API_TOKEN"], tmp_path)
    assert values["JIRA_API_TOKEN"] == API_TOKEN_PLACEHOLDER


TRICKY_VALUES = [
    "plain",
    "with space # and = signs",
    "o'brien@example.test",
    'double "quotes"',
    "dollar $HOME and ${HOME}",
    "back`tick`",
    "back\\slash",
    "both ' and $PATH",
    "both ' and \\ and \" and `",
    "",
    "ünïcödé ✓",
]


@pytest.mark.parametrize("value", TRICKY_VALUES)
def test_dotenv_value_reads_back_in_shell(value, tmp_path):
    text = f"VALUE={dotenv_value(value)}\n"
    assert source_dotenv(text, ["VALUE"], tmp_path) == {"VALUE": value}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "'plain'"),
        ("$HOME", "'$HOME'"),
        ("o'brien", '"o\'brien"'),
        ("a\\b", '"a\\\\b"'),
        ("it's $x", '"it\'s \\$x"'),
    ],
)
def test_dotenv_value_quoting(value, expected):
    assert dotenv_value(value) == expected


@pytest.mark.parametrize("value", ["two\nlines", "carriage\rreturn"])
def test_dotenv_value_rejects_line_breaks(value):
    with pytest.raises(ValueError, match="line break"):
        dotenv_value(value)


# The Python examples run against the sandbox


@pytest.fixture(scope="module")
def sandbox():
    config = SandboxConfig(practice_redirect_uri="http://localhost:8501/callback")
    with SandboxServer(config) as server:
        yield server


def run_example(text: str, tmp_path, *args: str, **environment: str):
    path = tmp_path / "example.py"
    path.write_text(text, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **environment},
        check=False,
    )


def test_oauth_example_runs(sandbox, tmp_path):
    base = sandbox.base_url
    app = OAuthAppExport(
        client_id=PRACTICE_CLIENT_ID,
        client_secret=PRACTICE_CLIENT_SECRET,
        redirect_uri="http://localhost:8501/callback",
        scopes=("read:jira-work", "read:me"),
        auth_base=base,
        api_base=base,
    )
    location = approve(authorize_url(app, state="s1"), "practice-cloud")
    code = parse_qs(urlsplit(location).query)["code"][0]
    result = run_example(
        python_example(app),
        tmp_path,
        code,
        ATLASSIAN_CLIENT_SECRET=PRACTICE_CLIENT_SECRET,
    )
    cloud_id = sandbox.state.dataset.site_by_slug("practice-cloud").cloud_id
    assert result.returncode == 0, result.stderr
    assert cloud_id in result.stdout


def test_oauth_example_reports_bad_code(sandbox, tmp_path):
    base = sandbox.base_url
    app = OAuthAppExport(
        PRACTICE_CLIENT_ID,
        PRACTICE_CLIENT_SECRET,
        "http://localhost:8501/callback",
        ("read:me",),
        auth_base=base,
        api_base=base,
    )
    result = run_example(
        python_example(app, include_secrets=True), tmp_path, "not-a-code"
    )
    assert result.returncode == 1
    assert "The token request failed: 403" in result.stderr


def test_api_token_example_runs(sandbox, tmp_path):
    connection = ApiTokenExport(
        site_url=f"{sandbox.base_url}/sites/practice-cloud",
        email=PRACTICE_API_TOKEN_EMAIL,
        api_token=PRACTICE_API_TOKEN,
    )
    result = run_example(
        python_example(connection), tmp_path, JIRA_API_TOKEN=PRACTICE_API_TOKEN
    )
    assert result.returncode == 0, result.stderr
    assert "Authenticated as Zoë Practice" in result.stdout
