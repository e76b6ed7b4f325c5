"""The data folder, credential variables and Atlassian hosts of the dashboard."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs

APP_NAME = "atlassian-dashboard"

DATA_DIR_ENV = "ATLASSIAN_DASHBOARD_DATA"
KEY_ENV = "ATLASSIAN_DASHBOARD_KEY"

ATLASSIAN_AUTH_BASE = "https://auth.atlassian.com"
ATLASSIAN_API_BASE = "https://api.atlassian.com"

# Environment variables (and Streamlit secrets of the same names) that prefill the
# credentials form.
CREDENTIAL_VARIABLES = {
    "client_id": "ATLASSIAN_CLIENT_ID",
    "client_secret": "ATLASSIAN_CLIENT_SECRET",
    "redirect_uri": "ATLASSIAN_REDIRECT_URI",
}

DEFAULT_APP_URL = "http://localhost:8501"
CALLBACK_PATH = "/callback"


def data_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Return the data folder: $ATLASSIAN_DASHBOARD_DATA, else the per-user folder."""
    configured = environ.get(DATA_DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def database_path(environ: Mapping[str, str] = os.environ) -> Path:
    return data_dir(environ) / "dashboard.db"


def key_path(environ: Mapping[str, str] = os.environ) -> Path:
    return data_dir(environ) / "secret.key"


def prefilled_credentials(
    secrets: Mapping[str, object] | None = None,
    environ: Mapping[str, str] = os.environ,
) -> dict[str, str]:
    """Return credential fields found in the environment, else in Streamlit secrets.

    Keys are "client_id", "client_secret" and "redirect_uri"; missing ones are left
    out. Streamlit secrets may hold the names at the top level or under [atlassian].
    """
    secrets = secrets or {}
    nested = secrets.get("atlassian")
    nested = nested if isinstance(nested, Mapping) else {}
    found: dict[str, str] = {}
    for field, variable in CREDENTIAL_VARIABLES.items():
        for source in (environ.get(variable), secrets.get(variable), nested.get(field)):
            if isinstance(source, str) and source.strip():
                found[field] = source.strip()
                break
    return found


def callback_url(app_url: str | None, loopback_name: str | None = None) -> str:
    """Return this app's own callback page URL for the address the app is served at.

    With `loopback_name`, a loopback host (127.0.0.1, ::1, localhost) is written
    as that name, keeping the port.
    """
    parts = urlsplit(app_url or DEFAULT_APP_URL)
    if not parts.scheme or not parts.netloc:
        parts = urlsplit(DEFAULT_APP_URL)
    netloc = parts.netloc
    if loopback_name and parts.hostname in ("127.0.0.1", "::1", "localhost"):
        netloc = f"{loopback_name}:{parts.port}" if parts.port else loopback_name
    return f"{parts.scheme}://{netloc}{CALLBACK_PATH}"
