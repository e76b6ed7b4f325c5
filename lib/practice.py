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

from lib.sandbox import (
    PRACTICE_APP_NAME,
    PRACTICE_CLIENT_ID,
    PRACTICE_CLIENT_SECRET,
    SandboxConfig,
    SandboxServer,
)
from lib.store import PRACTICE, AppRecord, ConnectionRecord, Store

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
