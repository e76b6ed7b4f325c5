"""Practice mode: the built-in sandbox on a free loopback port, and its app record.

One sandbox serves the whole process. It keeps its grants and tokens in memory, so
a practice connection stored before the app restarted is refused by the new
sandbox and needs a new consent.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import requests

from lib.errors import NetworkError
from lib.sandbox import (
    PRACTICE_APP_NAME,
    PRACTICE_CLIENT_ID,
    PRACTICE_CLIENT_SECRET,
    SandboxConfig,
)
from lib.store import PRACTICE, AppRecord, ConnectionRecord, Store

if TYPE_CHECKING:
    from lib.sandbox.server import SandboxServer

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_server: SandboxServer | None = None
_started_at: float | None = None


def ensure_sandbox(registered_redirect_uri: str) -> str:
    """Start the sandbox once per process and return its base URL.

    A new sandbox registers `registered_redirect_uri` as the practice app's
    callback URL; a running one keeps whatever was registered last.
    """
    global _server, _started_at
    with _lock:
        if _server is None:
            from lib.sandbox.server import SandboxServer

            server = SandboxServer(
                SandboxConfig(practice_redirect_uri=registered_redirect_uri)
            )
            server.start()
            atexit.register(server.stop)
            _server = server
            _started_at = time.time()
            logger.info("Practice sandbox started at %s", server.base_url)
        return _server.base_url


def register_callback(redirect_uri: str) -> None:
    """Register the practice app's callback URL with the sandbox, as the developer
    console's Authorization setting does for a real app."""
    base = ensure_sandbox(redirect_uri)
    with _lock:
        _server.register_client(
            PRACTICE_CLIENT_ID,
            PRACTICE_CLIENT_SECRET,
            redirect_uri,
            name=PRACTICE_APP_NAME,
            sharing=True,
        )
    logger.info("Registered practice callback URL with the sandbox at %s", base)


def registered_callback() -> str | None:
    """Return the practice app's callback URL registered with the running sandbox."""
    with _lock:
        if _server is None:
            return None
        return _server.registered_redirect_uri(PRACTICE_CLIENT_ID)


def is_from_earlier_sandbox(connection: ConnectionRecord) -> bool:
    """Return whether a practice connection's tokens came from a sandbox that has
    since stopped, so the running one does not know them."""
    with _lock:
        started_at = _started_at
    if started_at is None:
        return False
    last_issued = max(connection.granted_at, connection.refreshed_at or 0)
    return last_issued < started_at


def stop_sandbox() -> None:
    global _server, _started_at
    with _lock:
        if _server is not None:
            _server.stop()
            logger.info("Practice sandbox stopped")
            _server = None
            _started_at = None


def start_practice(store: Store, callback_url: str) -> AppRecord:
    """Start the sandbox and save the practice credentials as the active app.

    The practice app's registered callback is this dashboard's own callback page.
    """
    base = ensure_sandbox(callback_url)
    register_callback(callback_url)
    return store.save_app(
        environment=PRACTICE,
        client_id=PRACTICE_CLIENT_ID,
        client_secret=PRACTICE_CLIENT_SECRET,
        redirect_uri=callback_url,
        auth_base=base,
        api_base=base,
    )


def prepare_app(store: Store, app: AppRecord, callback_url: str) -> AppRecord:
    """Make sure a practice app's sandbox runs and the stored base URLs point at it.

    Apps of other environments are returned unchanged.
    """
    if not app.is_practice:
        return app
    base = ensure_sandbox(callback_url)
    if app.auth_base != base or app.api_base != base:
        store.update_app_endpoints(app.id, base, base)
        app = store.get_app(app.id)
    return app


@dataclass(frozen=True)
class PracticeFailure:
    """A failure the practice sandbox can be made to produce, and how to meet it."""

    key: str
    label: str
    how_to_see: str
    # Control requests to the sandbox: (method, path, JSON body).
    controls: tuple[tuple[str, str, dict], ...]
    # The dashboard page (a key of ui.common.PAGES) where the failure shows.
    page: str = "jira"


_JIRA_CALLS = "/ex/jira/"
PRACTICE_FAILURES: tuple[PracticeFailure, ...] = (
    PracticeFailure(
        "not_shared",
        "Someone other than the app's owner consents",
        "Open the consent screen from the Consent page.",
        (("POST", "/_sandbox/switches", {"app_owner_signed_in": False}),),
        page="consent",
    ),
    PracticeFailure(
        "admin_blocked",
        "The admin of the jira-only site has not approved the app",
        "Consent again and pick the jira-only site.",
        (("POST", "/_sandbox/switches", {"admin_blocked_sites": ["jira-only"]}),),
        page="consent",
    ),
    PracticeFailure(
        "revoked",
        "The grant is revoked from the account's settings",
        "Open any explorer page, or press Refresh now on the Connection page.",
        (("POST", "/_sandbox/grants/revoke", {"client_id": PRACTICE_CLIENT_ID}),),
    ),
    PracticeFailure(
        "short_tokens",
        "Access tokens last 90 seconds",
        "Consent again, then keep browsing: the dashboard refreshes the token "
        "before each call that would come within a minute of its expiry.",
        (("POST", "/_sandbox/settings", {"token_lifetime": 90}),),
        page="consent",
    ),
    PracticeFailure(
        "rate_limited",
        "Jira rate-limits the next 3 calls, asking to wait 30 seconds",
        "Open the Jira page.",
        (
            (
                "POST",
                "/_sandbox/faults",
                {
                    "path_prefix": _JIRA_CALLS,
                    "status": 429,
                    "retry_after": 30,
                    "count": 3,
                },
            ),
        ),
    ),
    PracticeFailure(
        "outage",
        "Jira is unavailable (503) for the next 3 calls",
        "Open the Jira page.",
        (
            (
                "POST",
                "/_sandbox/faults",
                {"path_prefix": _JIRA_CALLS, "status": 503, "count": 3},
            ),
        ),
    ),
)

PRACTICE_FAILURES_BY_KEY = {failure.key: failure for failure in PRACTICE_FAILURES}

_RESTORE = (
    (
        "POST",
        "/_sandbox/switches",
        {"app_owner_signed_in": True, "admin_blocked_sites": []},
    ),
    ("POST", "/_sandbox/settings", {"token_lifetime": 3600}),
    ("DELETE", "/_sandbox/faults", {}),
)


def trigger_failure(key: str) -> PracticeFailure:
    """Make the running practice sandbox produce a failure; return its record."""
    failure = PRACTICE_FAILURES_BY_KEY[key]
    if key == "not_shared":
        _set_practice_sharing(False)
    _send_controls(failure.controls)
    logger.info("Practice failure switched on: %s", key)
    return failure


def restore_sandbox() -> None:
    """Switch every practice failure off again. Grants already revoked stay
    revoked."""
    _set_practice_sharing(True)
    _send_controls(_RESTORE)
    logger.info("Practice failures switched off")


def _set_practice_sharing(sharing: bool) -> None:
    with _lock:
        if _server is None:
            return
        callback = _server.registered_redirect_uri(PRACTICE_CLIENT_ID)
        _server.register_client(
            PRACTICE_CLIENT_ID,
            PRACTICE_CLIENT_SECRET,
            callback,
            name=PRACTICE_APP_NAME,
            sharing=sharing,
        )


def _send_controls(controls) -> None:
    with _lock:
        base = _server.base_url if _server is not None else None
    if base is None:
        raise NetworkError(
            "The practice sandbox is not running.",
            hint="Start practice mode on the Start page first.",
        )
    for method, path, body in controls:
        try:
            response = requests.request(
                method, f"{base}{path}", json=body or None, timeout=10
            )
            response.raise_for_status()
        except requests.RequestException as exc:
            raise NetworkError(
                f"The practice sandbox rejected {method} {path}: {exc}.",
                hint="Restart the dashboard to get a fresh sandbox.",
            ) from exc
