"""Text exports of a connection: Django settings, a .env file, the scope list, the
authorize URL, and a runnable Python example.

Every function is pure: it formats an OAuthAppExport or ApiTokenExport and sends
nothing. The client secret and the API token appear only with
`include_secrets=True`. Otherwise the Django settings and the Python example read
them from the environment (so the text can be committed or shared), and the .env
file contains a placeholder to replace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from lib import settings
from lib.atlassian import Endpoints, authorization_server
from lib.oauth import create_authorization_url
from lib.scopes import normalize_scopes, scope_string

# The state value of an exported authorize URL. It uses only characters that a
# URL keeps unencoded, so it is easy to find and replace.
STATE_PLACEHOLDER = "REPLACE_WITH_STATE"
CLIENT_SECRET_PLACEHOLDER = "<paste the client secret from the developer console>"
API_TOKEN_PLACEHOLDER = "<paste the API token>"

CLIENT_ID_VARIABLE = settings.CREDENTIAL_VARIABLES["client_id"]
CLIENT_SECRET_VARIABLE = settings.CREDENTIAL_VARIABLES["client_secret"]
REDIRECT_URI_VARIABLE = settings.CREDENTIAL_VARIABLES["redirect_uri"]
SCOPES_VARIABLE = "ATLASSIAN_SCOPES"
SERVER_URL_VARIABLE = "JIRA_SERVER_URL"
USERNAME_VARIABLE = "JIRA_USERNAME"
API_TOKEN_VARIABLE = "JIRA_API_TOKEN"


@dataclass(frozen=True)
class OAuthAppExport:
    """An OAuth 2.0 (3LO) app to export. `client_secret` is None when it is not
    known; the exports then always show the placeholder or the environment."""

    client_id: str
    client_secret: str | None = field(repr=False)
    redirect_uri: str
    scopes: tuple[str, ...]
    auth_base: str = settings.ATLASSIAN_AUTH_BASE
    api_base: str = settings.ATLASSIAN_API_BASE

    @property
    def endpoints(self) -> Endpoints:
        return Endpoints(auth_base=self.auth_base, api_base=self.api_base)


@dataclass(frozen=True)
class ApiTokenExport:
    """An email + API token connection to export.

    `cloud_id` is set for a scoped token, which works only through the gateway;
    the server URL is then `{api_base}/ex/jira/{cloud_id}` instead of the site URL.
    """

    site_url: str
    email: str
    api_token: str | None = field(repr=False)
    cloud_id: str | None = None
    api_base: str = settings.ATLASSIAN_API_BASE

    @property
    def server_url(self) -> str:
        """Return the base that Jira paths such as /rest/api/3/myself follow."""
        if self.cloud_id is None:
            return self.site_url
        return f"{self.api_base}/ex/jira/{self.cloud_id}"

    @property
    def confluence_url(self) -> str:
        """Return the base that Confluence paths such as /api/v2/spaces follow."""
        if self.cloud_id is None:
            return f"{self.site_url}/wiki"
        return f"{self.api_base}/ex/confluence/{self.cloud_id}/wiki"


Export = OAuthAppExport | ApiTokenExport


# Scopes and the authorize URL ---------------------------------------------------


def scopes_comma_separated(scopes) -> str:
    """Return the scopes joined by ", ", one readable line for a form or a note."""
    return ", ".join(normalize_scopes(scopes))


def scopes_space_separated(scopes) -> str:
    """Return the scopes joined by single spaces, as the authorize URL takes them."""
    return scope_string(scopes)


def authorize_url(app: OAuthAppExport, state: str = STATE_PLACEHOLDER) -> str:
    """Return the authorize URL that the app sends, with `state` in place of the
    per-consent value (STATE_PLACEHOLDER unless given)."""
    return create_authorization_url(
        authorization_server(app.endpoints),
        client_id=app.client_id,
        redirect_uri=app.redirect_uri,
        scopes=app.scopes,
        state=state,
    )


# Django settings ----------------------------------------------------------------


def django_settings(data: Export, *, include_secrets: bool = False) -> str:
    """Return lines for a Django settings.py that define the connection's values.

    Without `include_secrets`, the secret is read with os.environ[...] so that
    settings.py never contains it; the .env export provides the variable.
    """
    if isinstance(data, ApiTokenExport):
        return _django_api_token(data, include_secrets)
    return _django_oauth(data, include_secrets)


def _django_oauth(app: OAuthAppExport, include_secrets: bool) -> str:
    show_secret = include_secrets and app.client_secret is not None
    lines = ["# Atlassian OAuth 2.0 (3LO) app, for settings.py."]
    lines += _secret_note("client secret", CLIENT_SECRET_VARIABLE, show_secret)
    lines += [
        "",
        f"{CLIENT_ID_VARIABLE} = {_python_string(app.client_id)}",
        _python_secret(CLIENT_SECRET_VARIABLE, app.client_secret, show_secret),
        f"{REDIRECT_URI_VARIABLE} = {_python_string(app.redirect_uri)}",
        f"{SCOPES_VARIABLE} = [",
        *(f"    {_python_string(name)}," for name in normalize_scopes(app.scopes)),
        "]",
    ]
    return _join(lines)


def _django_api_token(connection: ApiTokenExport, include_secrets: bool) -> str:
    show_secret = include_secrets and connection.api_token is not None
    lines = [
        "# Atlassian API token connection, for settings.py. Confluence is at",
        f"# {connection.confluence_url}.",
    ]
    lines += _secret_note("API token", API_TOKEN_VARIABLE, show_secret)
    lines += [
        "",
        f"{SERVER_URL_VARIABLE} = {_python_string(connection.server_url)}",
        f"{USERNAME_VARIABLE} = {_python_string(connection.email)}",
        _python_secret(API_TOKEN_VARIABLE, connection.api_token, show_secret),
    ]
    return _join(lines)


def _secret_note(label: str, variable: str, show_secret: bool) -> list[str]:
    if show_secret:
        return [f"# It contains the {label}: keep it out of version control."]
    return [
        f"# The {label} is read from the environment variable",
        f"# {variable}, so this file can be committed. Set it there, for example",
        "# from the .env export with the secret filled in.",
        "import os",
    ]


def _python_secret(variable: str, value: str | None, show_secret: bool) -> str:
    if show_secret:
        return f"{variable} = {_python_string(value)}"
    return f"{variable} = os.environ[{_python_string(variable)}]"


def _python_string(value: str) -> str:
    """Return a Python string literal of the value. JSON's escapes (\\", \\\\, \\n,
    \\uXXXX) are Python's too, so json.dumps writes a valid literal."""
    return json.dumps(value, ensure_ascii=False)


def _join(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


# .env -----------------------------------------------------------------------------


def dotenv(data: Export, *, include_secrets: bool = False) -> str:
    """Return a .env file with the same variables as the Django settings.

    Without `include_secrets`, the secret's value is a placeholder to replace.
    Values are quoted by dotenv_value.
    """
    if isinstance(data, ApiTokenExport):
        show_secret = include_secrets and data.api_token is not None
        header = "# Atlassian API token connection."
        pairs = [
            (SERVER_URL_VARIABLE, data.server_url),
            (USERNAME_VARIABLE, data.email),
            (
                API_TOKEN_VARIABLE,
                data.api_token if show_secret else API_TOKEN_PLACEHOLDER,
            ),
        ]
        label = "API token"
    else:
        show_secret = include_secrets and data.client_secret is not None
        header = "# Atlassian OAuth 2.0 (3LO) app."
        secret = data.client_secret if show_secret else CLIENT_SECRET_PLACEHOLDER
        pairs = [
            (CLIENT_ID_VARIABLE, data.client_id),
            (CLIENT_SECRET_VARIABLE, secret),
            (REDIRECT_URI_VARIABLE, data.redirect_uri),
            (SCOPES_VARIABLE, scope_string(data.scopes)),
        ]
        label = "client secret"
    note = (
        f"# It contains the {label}: keep it out of version control."
        if show_secret
        else f"# The {label} is left out: replace its placeholder before use."
    )
    lines = [header, note, *(f"{name}={dotenv_value(value)}" for name, value in pairs)]
    return _join(lines)


def dotenv_value(value: str) -> str:
    """Quote a value so that POSIX shells, python-dotenv and Docker Compose read it
    back unchanged.

    A value without ' and \\ goes in single quotes, which all three read
    literally. A value with ' but none of " $ ` \\ goes in double quotes, which
    is literal for all three too. Any other value goes in double quotes with
    " $ ` \\ escaped by a backslash, as POSIX shells read them.
    NOTE: python-dotenv does not unescape \\$ or \\`, and Docker Compose
    substitutes variables inside double quotes, so they can read a value of that
    last kind that holds $ or ` differently.
    Raises ValueError for a line break, which no .env reader keeps.
    """
    if "\n" in value or "\r" in value:
        raise ValueError("A .env value cannot contain a line break")
    if "'" not in value and "\\" not in value:
        return f"'{value}'"
    if not any(character in value for character in '"$`\\'):
        return f'"{value}"'
    escaped = "".join(
        "\\" + character if character in '"$`\\' else character for character in value
    )
    return f'"{escaped}"'


# Python example ---------------------------------------------------------------


def python_example(data: Export, *, include_secrets: bool = False) -> str:
    """Return a runnable script that uses only requests.

    For an OAuth app it exchanges the authorization code given on the command
    line and prints the sites from accessible-resources. For an API token it
    prints the account that Jira's /rest/api/3/myself returns.
    """
    if isinstance(data, ApiTokenExport):
        return _python_api_token(data, include_secrets)
    return _python_oauth(data, include_secrets)


def _python_oauth(app: OAuthAppExport, include_secrets: bool) -> str:
    show_secret = include_secrets and app.client_secret is not None
    secret_line = (
        f"CLIENT_SECRET = {_python_string(app.client_secret)}"
        if show_secret
        else f"CLIENT_SECRET = os.environ[{_python_string(CLIENT_SECRET_VARIABLE)}]"
    )
    secret_note = (
        "# This file contains the client secret: keep it out of version control."
        if show_secret
        else f"# Set {CLIENT_SECRET_VARIABLE} in the environment before running."
    )
    return _OAUTH_EXAMPLE.format(
        imports=_example_imports(show_secret),
        token_url=_python_string(app.endpoints.token_url),
        resources_url=_python_string(app.endpoints.accessible_resources_url),
        client_id=_python_string(app.client_id),
        secret_note=secret_note,
        secret_line=secret_line,
        redirect_uri=_python_string(app.redirect_uri),
    )


def _python_api_token(connection: ApiTokenExport, include_secrets: bool) -> str:
    show_secret = include_secrets and connection.api_token is not None
    token_line = (
        f"API_TOKEN = {_python_string(connection.api_token)}"
        if show_secret
        else f"API_TOKEN = os.environ[{_python_string(API_TOKEN_VARIABLE)}]"
    )
    token_note = (
        "# This file contains the API token: keep it out of version control."
        if show_secret
        else f"# Set {API_TOKEN_VARIABLE} in the environment before running."
    )
    return _API_TOKEN_EXAMPLE.format(
        imports=_example_imports(show_secret),
        server_url=_python_string(connection.server_url),
        email=_python_string(connection.email),
        token_note=token_note,
        token_line=token_line,
    )


def _example_imports(secret_shown: bool) -> str:
    """Return the standard-library imports; os only reads a hidden secret."""
    return "import sys" if secret_shown else "import os\nimport sys"


_OAUTH_EXAMPLE = '''\
"""Exchange an Atlassian authorization code for tokens and list the sites.

Run: python atlassian_oauth_example.py CODE
CODE is the `code` query parameter of the callback URL after consent. A code
works once and expires within minutes.
"""

{imports}

import requests

TOKEN_URL = {token_url}
RESOURCES_URL = {resources_url}
CLIENT_ID = {client_id}
{secret_note}
{secret_line}
REDIRECT_URI = {redirect_uri}


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("Usage: python atlassian_oauth_example.py CODE")

    token_response = requests.post(
        TOKEN_URL,
        json={{
            "grant_type": "authorization_code",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "code": sys.argv[1],
            "redirect_uri": REDIRECT_URI,
        }},
        timeout=30,
    )
    if not token_response.ok:
        sys.exit(
            f"The token request failed: {{token_response.status_code}} "
            f"{{token_response.text[:300]}}"
        )
    access_token = token_response.json()["access_token"]

    sites = requests.get(
        RESOURCES_URL,
        headers={{
            "Authorization": f"Bearer {{access_token}}",
            "Accept": "application/json",
        }},
        timeout=30,
    )
    sites.raise_for_status()
    for site in sites.json():
        print(site["id"], site["url"], site["name"])


if __name__ == "__main__":
    main()
'''

_API_TOKEN_EXAMPLE = '''\
"""Sign in to Jira with an email and API token and print the account.

Run: python atlassian_api_token_example.py
"""

{imports}

import requests

SERVER_URL = {server_url}
EMAIL = {email}
{token_note}
{token_line}


def main() -> None:
    response = requests.get(
        f"{{SERVER_URL}}/rest/api/3/myself",
        auth=(EMAIL, API_TOKEN),
        headers={{"Accept": "application/json"}},
        timeout=30,
    )
    if not response.ok:
        sys.exit(f"Jira returned {{response.status_code}}: {{response.text[:300]}}")
    account = response.json()
    print(f"Authenticated as {{account['displayName']}} ({{account['accountId']}})")


if __name__ == "__main__":
    main()
'''
