"""The one module that touches SQLite: OAuth apps, pending consents and connections.

A connection is either an OAuth 2.0 (3LO) grant of a stored app (kind "oauth") or an
email + API token for one site (kind "api_token", with no app). Secrets (client
secret, access and refresh tokens, API tokens) pass through the Vault before they
reach a row, and records returned from here never carry them: callers ask for a
secret by id when they are about to use it. Every statement takes parameters.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import math
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from lib.imports import without_optional

# sqlite-utils imports pandas and numpy when they are installed (Streamlit
# installs them) only to map their column types, which the store never stores.
# Hiding them saves about a third of a second of the dashboard's start.
with without_optional("pandas", "numpy"):
    import sqlite_utils

from lib import settings
from lib.errors import (
    StateExpired,
    StateReplayed,
    StateUnknown,
    StorageError,
)
from lib.oauth import TokenSet
from lib.vault import Vault, load_key

logger = logging.getLogger(__name__)

PRACTICE = "practice"
ATLASSIAN = "atlassian"

# Kinds of connection.
OAUTH = "oauth"
API_TOKEN = "api_token"

ACTIVE_APP_KEY = "active_app_id"
ACTIVE_CONNECTION_KEY = "active_connection_id"
SELECTED_SCOPES_KEY = "selected_scopes"
ACTIVE_ENVIRONMENT_KEY = "active_environment"

# How long a finished consent's outcome stays readable by the tab that started it.
STATE_RECORD_RETENTION = 24 * 3600

# Seconds a write waits for another connection's write lock before failing.
LOCK_TIMEOUT = 10


@dataclass(frozen=True)
class AppRecord:
    """An OAuth 2.0 (3LO) app's settings, without the client secret."""

    id: int
    environment: str
    client_id: str
    redirect_uri: str
    auth_base: str
    api_base: str
    has_secret: bool
    updated_at: float

    @property
    def is_practice(self) -> bool:
        return self.environment == PRACTICE


@dataclass(frozen=True)
class PendingState:
    """A consent started from this app, keyed by the SHA-256 of its `state`."""

    state_hash: str
    app_id: int
    scopes: tuple[str, ...]
    redirect_uri: str
    created_at: float
    expires_at: float
    consumed_at: float | None
    connection_id: int | None
    error: str | None
    replaces_connection_id: int | None = None


@dataclass(frozen=True)
class ConnectionRecord:
    """A stored connection: its metadata, never its tokens.

    An API-token connection has no app, so `app_id` is None. Its `site_url`,
    `email` and `api_route` ("site" or "gateway") name where and as whom it signs
    in. Its `granted_scopes` are the scopes the explorer pages assume for the
    products the token signed in to. Its `expires_at` is math.inf, because
    Atlassian offers no API to read an API token's expiry.
    """

    id: int
    app_id: int | None
    expires_at: float
    granted_scopes: tuple[str, ...]
    requested_scopes: tuple[str, ...]
    has_refresh_token: bool
    granted_at: float
    refreshed_at: float | None
    cloud_id: str | None
    status: str
    account_id: str | None = None
    account_name: str | None = None
    kind: str = OAUTH
    environment: str | None = None
    site_url: str | None = None
    email: str | None = None
    api_route: str | None = None

    @property
    def is_api_token(self) -> bool:
        return self.kind == API_TOKEN

    @property
    def label(self) -> str:
        """Return a name for lists: the account, or the connection's number."""
        if self.is_api_token:
            return self.account_name or self.email or f"Connection {self.id}"
        return self.account_name or f"Connection {self.id} (account not known)"


@dataclass(frozen=True)
class Account:
    """The account a grant belongs to, from the identity API."""

    account_id: str
    name: str


def hash_state(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


def _migrate_initial(db: sqlite_utils.Database) -> None:
    db["apps"].create(
        {
            "id": int,
            "environment": str,
            "client_id": str,
            "client_secret": str,
            "redirect_uri": str,
            "auth_base": str,
            "api_base": str,
            "created_at": float,
            "updated_at": float,
        },
        pk="id",
        not_null={"environment", "client_id", "redirect_uri", "auth_base", "api_base"},
    )
    db["pending_states"].create(
        {
            "state_hash": str,
            "app_id": int,
            "scopes": str,
            "redirect_uri": str,
            "created_at": float,
            "expires_at": float,
            "consumed_at": float,
            "connection_id": int,
            "error": str,
        },
        pk="state_hash",
        foreign_keys=[("app_id", "apps", "id")],
    )
    db["connections"].create(
        {
            "id": int,
            "app_id": int,
            "access_token": str,
            "refresh_token": str,
            "token_type": str,
            "expires_at": float,
            "granted_scopes": str,
            "requested_scopes": str,
            "granted_at": float,
            "refreshed_at": float,
            "cloud_id": str,
            "status": str,
        },
        pk="id",
        foreign_keys=[("app_id", "apps", "id")],
    )
    db["settings"].create({"key": str, "value": str}, pk="key")


def _migrate_connection_identity(db: sqlite_utils.Database) -> None:
    """Let an app keep several connections, one per Atlassian account, and let a
    consent name the connection it renews."""
    db["connections"].add_column("account_id", str)
    db["connections"].add_column("account_name", str)
    db["pending_states"].add_column("replaces_connection_id", int)


def _migrate_api_token_connections(db: sqlite_utils.Database) -> None:
    """Let a connection be an email + API token for one site, without an app.

    Existing connections become kind "oauth". An API-token connection stores its
    own environment, because it has no app to take it from, and its token,
    encrypted, in the api_token column: access_token and refresh_token stay for
    OAuth tokens only, so `tokens()` can never return an API token.
    """
    connections = db["connections"]
    connections.add_column("kind", str, not_null_default=OAUTH)
    connections.add_column("environment", str)
    connections.add_column("site_url", str)
    connections.add_column("email", str)
    connections.add_column("api_route", str)
    connections.add_column("api_token", str)


# Named migrations, applied in order and recorded in the `migrations` table. Append
# new ones, and never edit or reorder one that has shipped.
MIGRATIONS: tuple[tuple[str, Callable[[sqlite_utils.Database], None]], ...] = (
    ("0001_initial", _migrate_initial),
    ("0002_connection_identity", _migrate_connection_identity),
    ("0003_api_token_connections", _migrate_api_token_connections),
)


def apply_migrations(db: sqlite_utils.Database) -> list[str]:
    """Apply the migrations this database has not seen and return their names."""
    if "migrations" not in db.table_names():
        db["migrations"].create({"name": str, "applied_at": float}, pk="name")
    done = {row["name"] for row in db["migrations"].rows}
    unknown = done - {name for name, _ in MIGRATIONS}
    if unknown:
        raise StorageError(
            "The database was written by a newer version of this dashboard "
            f"(unknown migrations: {', '.join(sorted(unknown))}).",
            hint="Update the dashboard, or point ATLASSIAN_DASHBOARD_DATA at another "
            "folder.",
        )

    applied = []
    for name, migrate in MIGRATIONS:
        if name in done:
            continue
        with db.atomic():
            migrate(db)
            db["migrations"].insert({"name": name, "applied_at": time.time()})
        logger.info("Applied database migration %s", name)
        applied.append(name)
    return applied


# SQLite's extended result code for a database file deleted or moved under an
# open connection.
_SQLITE_READONLY_DBMOVED = 1032


def storage_error(exc: sqlite3.Error, path: object = "the database") -> StorageError:
    """Turn an sqlite3 error into a StorageError that names the next step."""
    text = str(exc)
    if getattr(exc, "sqlite_errorcode", None) == _SQLITE_READONLY_DBMOVED:
        return StorageError(
            f"The database {path} was deleted or moved while the dashboard ran.",
            hint="Restart the dashboard. If the file was moved by mistake, put it "
            "back first: it holds your connections.",
        )
    if "locked" in text or "busy" in text:
        return StorageError(
            f"The database {path} is locked by another program.",
            hint="Close other dashboards or programs using it, then try again.",
        )
    if "readonly" in text or "read-only" in text:
        return StorageError(
            f"The database {path} is read-only.",
            hint="Make the file and its folder writable by you, or set "
            "ATLASSIAN_DASHBOARD_DATA to a writable folder.",
        )
    return StorageError(
        f"The database {path} could not be used: {text}.",
        hint="Check the file and its folder, or set ATLASSIAN_DASHBOARD_DATA to "
        "another folder. Keep the old file: it holds your connections.",
    )


def _map_storage_errors(cls):
    """Wrap each public method of a class so that sqlite3 errors become
    StorageError. Nothing is retried, and no secret is part of the message."""
    for name, member in list(vars(cls).items()):
        if name.startswith("_") or not callable(member):
            continue
        setattr(cls, name, _with_storage_errors(member))
    return cls


def _with_storage_errors(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path) from exc

    return wrapper


def _create_private_file(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(descriptor)


@_map_storage_errors
class Store:
    """SQLite storage for apps, pending consents and connections."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        vault: Vault,
        clock: Callable[[], float] = time.time,
        path: Path | str = "in memory",
    ):
        self.db = db
        self.path = path
        self._vault = vault
        self._clock = clock
        try:
            apply_migrations(db)
        except sqlite3.Error as exc:
            raise storage_error(exc, path) from exc

    @classmethod
    def open(
        cls,
        path: Path | str | None = None,
        vault: Vault | None = None,
        clock: Callable[[], float] = time.time,
    ) -> Store:
        """Open (creating with mode 0600) the database file and apply migrations."""
        path = Path(path) if path is not None else settings.database_path()
        vault = vault or Vault(load_key())
        try:
            _create_private_file(path)
            connection = sqlite3.connect(str(path), timeout=LOCK_TIMEOUT)
            db = sqlite_utils.Database(connection)
            db.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise storage_error(exc, path) from exc
        except OSError as exc:
            raise StorageError(
                f"Cannot create the database {path}: {exc.strerror}.",
                hint="Make the folder writable, or set ATLASSIAN_DASHBOARD_DATA to "
                "another folder.",
            ) from exc
        return cls(db, vault, clock, path)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.db.conn!r})"

    @contextmanager
    def write_transaction(self) -> Iterator[None]:
        """Hold SQLite's write lock for the block and commit at its end.

        BEGIN IMMEDIATE takes the lock before the block runs, so a block that calls
        a server and then stores the response fails before the call, not after it,
        when another process holds the lock. Other processes that write wait for
        up to LOCK_TIMEOUT seconds. An exception in the block rolls it back.
        """
        try:
            self.db.execute("BEGIN IMMEDIATE")
            # SQLite grants the lock on a read-only file too, so a write that
            # changes nothing checks for that before the block calls a server.
            self.db.execute("update settings set value = value where 0")
        except sqlite3.Error as exc:
            if self.db.conn.in_transaction:
                self.db.conn.rollback()
            raise storage_error(exc, self.path) from exc
        try:
            yield
        except BaseException:
            self.db.conn.rollback()
            raise
        try:
            self.db.conn.commit()
        except sqlite3.Error as exc:
            self.db.conn.rollback()
            raise storage_error(exc, self.path) from exc

    # Settings ------------------------------------------------------------------

    def now(self) -> float:
        """Return the store's current time, the one it stamps records with."""
        return self._clock()

    def _get_setting(self, key: str) -> str | None:
        rows = list(self.db.query("select value from settings where key = ?", [key]))
        return rows[0]["value"] if rows else None

    def _set_setting(self, key: str, value: str | None) -> None:
        if value is None:
            self.db.execute("delete from settings where key = ?", [key])
        else:
            self.db["settings"].upsert({"key": key, "value": value}, pk="key")

    def selected_scopes(self) -> tuple[str, ...] | None:
        """Return the scopes ticked on the Scopes page, or None before any choice."""
        value = self._get_setting(SELECTED_SCOPES_KEY)
        return tuple(json.loads(value)) if value is not None else None

    def save_selected_scopes(self, scopes: tuple[str, ...]) -> None:
        with self.db.atomic():
            self._set_setting(SELECTED_SCOPES_KEY, json.dumps(list(scopes)))

    # Apps ------------------------------------------------------------------------

    def save_app(
        self,
        *,
        environment: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        auth_base: str,
        api_base: str,
    ) -> AppRecord:
        """Insert or update the app of (environment, client_id) and make it active."""
        now = self._clock()
        row = {
            "environment": environment,
            "client_id": client_id,
            "client_secret": self._vault.encrypt(client_secret),
            "redirect_uri": redirect_uri,
            "auth_base": auth_base,
            "api_base": api_base,
            "updated_at": now,
        }
        existing = list(
            self.db.query(
                "select id from apps where environment = ? and client_id = ?",
                [environment, client_id],
            )
        )
        with self.db.atomic():
            if existing:
                app_id = existing[0]["id"]
                self.db["apps"].update(app_id, row)
            else:
                app_id = self.db["apps"].insert({**row, "created_at": now}).last_pk
            self._activate_app(app_id)
        return self.get_app(app_id)

    def update_app_endpoints(self, app_id: int, auth_base: str, api_base: str) -> None:
        with self.db.atomic():
            self.db["apps"].update(
                app_id, {"auth_base": auth_base, "api_base": api_base}
            )

    def get_app(self, app_id: int) -> AppRecord | None:
        rows = list(self.db.query("select * from apps where id = ?", [app_id]))
        return _app_from_row(rows[0]) if rows else None

    def find_app(self, environment: str) -> AppRecord | None:
        """Return the most recently saved app of an environment."""
        rows = list(
            self.db.query(
                "select * from apps where environment = ? "
                "order by updated_at desc, id desc limit 1",
                [environment],
            )
        )
        return _app_from_row(rows[0]) if rows else None

    def active_environment(self) -> str:
        """Return "practice" or "atlassian": where the setup steps point now."""
        value = self._get_setting(ACTIVE_ENVIRONMENT_KEY)
        if value in (PRACTICE, ATLASSIAN):
            return value
        app = self.active_app()
        return app.environment if app is not None else ATLASSIAN

    def set_active_environment(self, environment: str) -> AppRecord | None:
        """Switch the setup between practice and Atlassian. The latest app saved
        for that environment becomes active, or none when there is none yet."""
        with self.db.atomic():
            self._set_setting(ACTIVE_ENVIRONMENT_KEY, environment)
            app = self.find_app(environment)
            if app is not None:
                self._activate_app(app.id)
            else:
                self._set_setting(ACTIVE_APP_KEY, None)
                self._set_setting(ACTIVE_CONNECTION_KEY, None)
        return app

    def active_app(self) -> AppRecord | None:
        value = self._get_setting(ACTIVE_APP_KEY)
        return self.get_app(int(value)) if value else None

    def set_active_app(self, app_id: int) -> None:
        with self.db.atomic():
            self._activate_app(app_id)

    def _activate_app(self, app_id: int) -> None:
        """Make an app, its environment and its connection (or none) active, so
        the connection in use always belongs to the app in use."""
        self._set_setting(ACTIVE_APP_KEY, str(app_id))
        rows = list(
            self.db.query("select environment from apps where id = ?", [app_id])
        )
        if rows:
            self._set_setting(ACTIVE_ENVIRONMENT_KEY, rows[0]["environment"])
        self._set_setting(ACTIVE_CONNECTION_KEY, self._latest_connection(app_id))

    def _latest_connection(self, app_id: int) -> str | None:
        rows = self._query(
            "select id from connections where app_id = ? "
            "order by coalesce(refreshed_at, granted_at) desc, id desc limit 1",
            [app_id],
        )
        return str(rows[0]["id"]) if rows else None

    def client_secret(self, app_id: int) -> str:
        rows = list(
            self.db.query("select client_secret from apps where id = ?", [app_id])
        )
        if not rows or not rows[0]["client_secret"]:
            raise StorageError(
                f"No client secret is stored for app {app_id}.",
                hint="Enter the client secret on the Credentials page.",
            )
        return self._vault.decrypt(rows[0]["client_secret"])

    # Pending consents ------------------------------------------------------------

    def add_pending_state(
        self,
        state: str,
        *,
        app_id: int,
        scopes: tuple[str, ...],
        redirect_uri: str,
        lifetime: float,
        replaces_connection_id: int | None = None,
    ) -> PendingState:
        """Record a consent about to start. Only the state's hash is stored.
        `replaces_connection_id` names the connection the consent renews."""
        now = self._clock()
        self._purge_old_states(now)
        state_hash = hash_state(state)
        self.db["pending_states"].insert(
            {
                "state_hash": state_hash,
                "app_id": app_id,
                "scopes": json.dumps(list(scopes)),
                "redirect_uri": redirect_uri,
                "created_at": now,
                "expires_at": now + lifetime,
                "consumed_at": None,
                "connection_id": None,
                "error": None,
                "replaces_connection_id": replaces_connection_id,
            }
        )
        return self.pending_state(state_hash)

    def pending_state(self, state_hash: str) -> PendingState | None:
        rows = list(
            self.db.query(
                "select * from pending_states where state_hash = ?", [state_hash]
            )
        )
        return _pending_from_row(rows[0]) if rows else None

    def consume_state(self, state: str) -> PendingState:
        """Mark a pending consent used, once, or raise a StateError explaining why not.

        The row is found by the SHA-256 of the state, and the digests are compared
        again with hmac.compare_digest, so no timing depends on the state's bytes.
        """
        now = self._clock()
        state_hash = hash_state(state)
        pending = self.pending_state(state_hash)
        if pending is None or not hmac.compare_digest(pending.state_hash, state_hash):
            raise StateUnknown(
                "The callback's state matches no consent started from this dashboard.",
                hint="Start the consent from the Consent page of this dashboard, "
                "then use the address it sends you back to.",
            )
        if pending.consumed_at is not None:
            raise StateReplayed(
                "This callback was already used; an authorization code works once.",
                hint="If the connection is not shown on the Connection page, start "
                "the consent again.",
            )
        if now > pending.expires_at:
            raise StateExpired(
                "The consent was started more than "
                f"{round((pending.expires_at - pending.created_at) / 60)} minutes ago "
                "and has expired.",
            )

        with self.db.atomic():
            cursor = self.db.execute(
                "update pending_states set consumed_at = ? "
                "where state_hash = ? and consumed_at is null",
                [now, state_hash],
            )
        if cursor.rowcount != 1:
            raise StateReplayed(
                "This callback is being used by another tab or was already used.",
                hint="Check the Connection page; start the consent again if needed.",
            )
        return self.pending_state(state_hash)

    def record_state_outcome(
        self,
        state_hash: str,
        *,
        connection_id: int | None = None,
        error: str | None = None,
    ) -> None:
        """Store how a consent ended, for the tab that started it to read."""
        with self.db.atomic():
            self.db.execute(
                "update pending_states set connection_id = ?, error = ?, "
                "consumed_at = coalesce(consumed_at, ?) where state_hash = ?",
                [connection_id, error, self._clock(), state_hash],
            )

    def _purge_old_states(self, now: float) -> None:
        with self.db.atomic():
            self.db.execute(
                "delete from pending_states where expires_at < ?",
                [now - STATE_RECORD_RETENTION],
            )

    # Connections -----------------------------------------------------------------

    def save_connection(
        self,
        *,
        app_id: int,
        tokens: TokenSet,
        requested_scopes: tuple[str, ...],
        account: Account | None = None,
        replaces: int | None = None,
    ) -> ConnectionRecord:
        """Store a grant and make it the active connection.

        Atlassian keeps one grant per app and account, so the grant replaces the
        connection it renews (`replaces`), else the app's connection for the same
        account; with the account unknown, the app's connection whose account is
        unknown too. Otherwise it becomes a new connection. A replaced
        connection keeps its chosen site.
        """
        now = self._clock()
        row = {
            "app_id": app_id,
            **self._token_columns(tokens),
            "requested_scopes": json.dumps(list(requested_scopes)),
            "granted_at": now,
            "refreshed_at": None,
            "status": "active",
        }
        if account is not None:
            row |= {"account_id": account.account_id, "account_name": account.name}
        with self.db.atomic():
            connection_id = self._connection_to_replace(app_id, account, replaces)
            if connection_id is not None:
                self.db["connections"].update(connection_id, row)
            else:
                connection_id = self.db["connections"].insert(row).last_pk
            self._set_setting(ACTIVE_CONNECTION_KEY, str(connection_id))
        return self.get_connection(connection_id)

    def _connection_to_replace(
        self, app_id: int, account: Account | None, replaces: int | None
    ) -> int | None:
        if replaces is not None:
            rows = self._query(
                "select id from connections where id = ? and app_id = ?",
                [replaces, app_id],
            )
            if rows:
                return rows[0]["id"]
        if account is not None:
            rows = self._query(
                "select id from connections where app_id = ? and account_id = ? "
                "order by id",
                [app_id, account.account_id],
            )
        else:
            rows = self._query(
                "select id from connections where app_id = ? and account_id is null "
                "order by id",
                [app_id],
            )
        return rows[0]["id"] if rows else None

    def _query(self, sql: str, params: list) -> list[dict]:
        return list(self.db.query(sql, params))

    def list_connections(
        self, environment: str | None = None
    ) -> list[ConnectionRecord]:
        """Return the stored connections, of one environment when given, the most
        recently granted first."""
        sql = (
            f"{_CONNECTION_SELECT} where (apps.id is not null or connections.kind = ?)"
        )
        params: list = [API_TOKEN]
        if environment is not None:
            sql += " and coalesce(apps.environment, connections.environment) = ?"
            params.append(environment)
        sql += " order by connections.granted_at desc, connections.id desc"
        return [_connection_from_row(row) for row in self._query(sql, params)]

    def set_active_connection(self, connection_id: int) -> ConnectionRecord:
        """Use a stored connection: its app (if any) and environment become active
        too."""
        connection = self.get_connection(connection_id)
        if connection is None:
            raise StorageError(
                f"Connection {connection_id} is not stored.",
                hint="Pick one of the connections listed on the Connection page.",
            )
        with self.db.atomic():
            if connection.is_api_token:
                self._activate_environment(connection.environment)
            else:
                self._activate_app(connection.app_id)
            self._set_setting(ACTIVE_CONNECTION_KEY, str(connection_id))
        return connection

    def _activate_environment(self, environment: str) -> None:
        """Make an environment active without changing the active connection. The
        active app stays when it belongs to that environment; otherwise the
        environment's latest app, or none, replaces it."""
        self._set_setting(ACTIVE_ENVIRONMENT_KEY, environment)
        app = self.active_app()
        if app is None or app.environment != environment:
            latest = self.find_app(environment)
            self._set_setting(ACTIVE_APP_KEY, str(latest.id) if latest else None)

    # API-token connections -----------------------------------------------------

    def save_api_token_connection(
        self,
        *,
        environment: str,
        site_url: str,
        email: str,
        api_route: str,
        api_token: str,
        account: Account,
        cloud_id: str | None,
        scopes: tuple[str, ...],
    ) -> ConnectionRecord:
        """Store a verified email + API token and make it the active connection.

        The connection for the same environment, site URL and email is replaced,
        so verifying a new token updates it; otherwise a new one is added. OAuth
        apps and connections are not changed. `scopes` are those the explorer
        pages may assume for the products the token signed in to.
        """
        row = {
            "kind": API_TOKEN,
            "app_id": None,
            "environment": environment,
            "site_url": site_url,
            "email": email,
            "api_route": api_route,
            "api_token": self._vault.encrypt(api_token),
            "access_token": None,
            "refresh_token": None,
            "token_type": None,
            "expires_at": None,
            "granted_scopes": json.dumps(list(scopes)),
            "requested_scopes": json.dumps(list(scopes)),
            "granted_at": self._clock(),
            "refreshed_at": None,
            "cloud_id": cloud_id,
            "status": "active",
            "account_id": account.account_id,
            "account_name": account.name,
        }
        with self.db.atomic():
            rows = self._query(
                "select id from connections where kind = ? and environment = ? "
                "and site_url = ? and email = ? order by id",
                [API_TOKEN, environment, site_url, email],
            )
            if rows:
                connection_id = rows[0]["id"]
                self.db["connections"].update(connection_id, row)
            else:
                connection_id = self.db["connections"].insert(row).last_pk
            self._activate_environment(environment)
            self._set_setting(ACTIVE_CONNECTION_KEY, str(connection_id))
        return self.get_connection(connection_id)

    def api_token(self, connection_id: int) -> str:
        """Decrypt an API-token connection's token for immediate use."""
        rows = self._query(
            "select kind, api_token from connections where id = ?", [connection_id]
        )
        if not rows or rows[0]["kind"] != API_TOKEN or not rows[0]["api_token"]:
            raise StorageError(
                f"Connection {connection_id} has no stored API token.",
                hint="Connect again on the email + API token page.",
            )
        return self._vault.decrypt(rows[0]["api_token"])

    def set_api_token_site_url(self, connection_id: int, site_url: str) -> None:
        """Point an API-token connection at a new site URL, as when the practice
        sandbox restarts on another port."""
        with self.db.atomic():
            self.db.execute(
                "update connections set site_url = ? where id = ? and kind = ?",
                [site_url, connection_id, API_TOKEN],
            )

    def update_tokens(self, connection_id: int, tokens: TokenSet) -> ConnectionRecord:
        """Store refreshed tokens, keeping the old refresh token when none came back."""
        columns = self._token_columns(tokens)
        if tokens.refresh_token is None:
            del columns["refresh_token"]
        columns["refreshed_at"] = self._clock()
        columns["status"] = "active"
        with self.db.atomic():
            self.db["connections"].update(connection_id, columns)
        return self.get_connection(connection_id)

    def _token_columns(self, tokens: TokenSet) -> dict:
        refresh = tokens.refresh_token
        return {
            "access_token": self._vault.encrypt(tokens.access_token),
            "refresh_token": self._vault.encrypt(refresh) if refresh else None,
            "token_type": tokens.token_type,
            "expires_at": tokens.expires_at,
            "granted_scopes": json.dumps(list(tokens.scopes)),
        }

    def get_connection(self, connection_id: int) -> ConnectionRecord | None:
        rows = self._query(
            f"{_CONNECTION_SELECT} where connections.id = ?", [connection_id]
        )
        return _connection_from_row(rows[0]) if rows else None

    def active_connection(self) -> ConnectionRecord | None:
        value = self._get_setting(ACTIVE_CONNECTION_KEY)
        return self.get_connection(int(value)) if value else None

    def tokens(self, connection_id: int) -> TokenSet:
        """Decrypt a connection's tokens for immediate use."""
        rows = list(
            self.db.query("select * from connections where id = ?", [connection_id])
        )
        if not rows:
            raise StorageError(
                f"Connection {connection_id} is not stored.",
                hint="Connect again from the Consent page.",
            )
        row = rows[0]
        if row.get("kind") == API_TOKEN:
            raise StorageError(
                f"Connection {connection_id} is an email + API token connection and "
                "has no OAuth tokens.",
                hint="Choose an OAuth connection on the Connection page.",
            )
        refresh = row["refresh_token"]
        return TokenSet(
            access_token=self._vault.decrypt(row["access_token"]),
            refresh_token=self._vault.decrypt(refresh) if refresh else None,
            expires_at=row["expires_at"],
            scopes=tuple(json.loads(row["granted_scopes"] or "[]")),
            token_type=row["token_type"] or "Bearer",
        )

    def set_connection_site(self, connection_id: int, cloud_id: str | None) -> None:
        with self.db.atomic():
            self.db["connections"].update(connection_id, {"cloud_id": cloud_id})

    def set_connection_status(self, connection_id: int, status: str) -> None:
        with self.db.atomic():
            self.db["connections"].update(connection_id, {"status": status})

    def delete_connection(self, connection_id: int) -> None:
        """Delete a connection with its tokens. When it was the active one, the
        app's most recent other connection, if any, takes its place. For an
        API-token connection, that is the active app's most recent connection."""
        with self.db.atomic():
            rows = self._query(
                "select app_id from connections where id = ?", [connection_id]
            )
            self.db.execute("delete from connections where id = ?", [connection_id])
            if rows and self._get_setting(ACTIVE_CONNECTION_KEY) == str(connection_id):
                app_id = rows[0]["app_id"] or self._get_setting(ACTIVE_APP_KEY)
                latest = self._latest_connection(int(app_id)) if app_id else None
                self._set_setting(ACTIVE_CONNECTION_KEY, latest)


def _app_from_row(row: dict) -> AppRecord:
    return AppRecord(
        id=row["id"],
        environment=row["environment"],
        client_id=row["client_id"],
        redirect_uri=row["redirect_uri"],
        auth_base=row["auth_base"],
        api_base=row["api_base"],
        has_secret=bool(row["client_secret"]),
        updated_at=row["updated_at"],
    )


def _pending_from_row(row: dict) -> PendingState:
    return PendingState(
        state_hash=row["state_hash"],
        app_id=row["app_id"],
        scopes=tuple(json.loads(row["scopes"] or "[]")),
        redirect_uri=row["redirect_uri"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        consumed_at=row["consumed_at"],
        connection_id=row["connection_id"],
        error=row["error"],
        replaces_connection_id=row.get("replaces_connection_id"),
    )


# A connection with the environment of its app; an API-token connection has no
# app and its own environment.
_CONNECTION_SELECT = (
    "select connections.*, apps.environment as app_environment from connections "
    "left join apps on apps.id = connections.app_id"
)


def _connection_from_row(row: dict) -> ConnectionRecord:
    kind = row.get("kind") or OAUTH
    expires_at = row["expires_at"]
    if kind == API_TOKEN and expires_at is None:
        expires_at = math.inf
    return ConnectionRecord(
        id=row["id"],
        app_id=row["app_id"],
        expires_at=expires_at,
        granted_scopes=tuple(json.loads(row["granted_scopes"] or "[]")),
        requested_scopes=tuple(json.loads(row["requested_scopes"] or "[]")),
        has_refresh_token=bool(row["refresh_token"]),
        granted_at=row["granted_at"],
        refreshed_at=row["refreshed_at"],
        cloud_id=row["cloud_id"],
        status=row["status"] or "active",
        account_id=row.get("account_id"),
        account_name=row.get("account_name"),
        kind=kind,
        environment=row.get("environment") or row.get("app_environment"),
        site_url=row.get("site_url"),
        email=row.get("email"),
        api_route=row.get("api_route"),
    )
