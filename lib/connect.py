"""The consent flow and the token lifecycle, on top of the store and the OAuth steps.

A redirect back from Atlassian opens a new Streamlit session, so everything the
callback needs (which app, which scopes, which redirect URI) is stored with the
state before the browser leaves.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from lib import oauth
from lib.atlassian import (
    SCOPE_MISMATCH_MESSAGE,
    Endpoints,
    authorization_server,
    get_me,
)
from lib.errors import (
    DashboardError,
    InvalidInput,
    NetworkError,
    NotConnected,
    RefreshTokenExpired,
    RefreshTokenMissing,
    RefreshTokenRevoked,
    StateError,
    StateMismatch,
    TokenRequestFailed,
)
from lib.http import BearerAuth, create_session
from lib.scopes import ENDPOINT_SCOPES, validate_scope_names
from lib.store import (
    Account,
    AppRecord,
    ConnectionRecord,
    PendingState,
    Store,
    hash_state,
)

logger = logging.getLogger(__name__)

CONSENT_LIFETIME = 600  # seconds a started consent stays valid
# Atlassian's refresh tokens die after 90 days unused and 365 days after the first
# one was issued, whichever comes first.
REFRESH_IDLE_LIFETIME = 90 * 24 * 3600
REFRESH_ABSOLUTE_LIFETIME = 365 * 24 * 3600
REFRESH_LEEWAY = 60  # refresh when the access token expires within this many seconds
NEEDS_CONSENT = "needs_consent"

SessionFactory = Callable[..., requests.Session]

_refresh_lock = threading.Lock()


@dataclass(frozen=True)
class ConsentStart:
    """A started consent: the URL to open and the state it carries."""

    url: str
    state: str = field(repr=False)
    expires_at: float

    @property
    def state_hash(self) -> str:
        return hash_state(self.state)


def endpoints_for(app: AppRecord) -> Endpoints:
    return Endpoints(auth_base=app.auth_base, api_base=app.api_base)


def begin_consent(
    store: Store,
    app: AppRecord,
    scopes,
    *,
    replaces: int | None = None,
) -> ConsentStart:
    """Record a new state for the app and scopes, and build the authorize URL.
    `replaces` names a stored connection that the consent renews."""
    scopes = validate_scope_names(scopes)
    state = oauth.generate_state()
    pending = store.add_pending_state(
        state,
        app_id=app.id,
        scopes=scopes,
        redirect_uri=app.redirect_uri,
        lifetime=CONSENT_LIFETIME,
        replaces_connection_id=replaces,
    )
    url = oauth.create_authorization_url(
        authorization_server(endpoints_for(app)),
        client_id=app.client_id,
        redirect_uri=app.redirect_uri,
        scopes=scopes,
        state=state,
    )
    logger.info("Started consent for app %s with %d scopes", app.id, len(scopes))
    return ConsentStart(url=url, state=state, expires_at=pending.expires_at)


def complete_consent(
    store: Store,
    callback: oauth.CallbackParams,
    *,
    expected_state: str | None = None,
    session_factory: SessionFactory = create_session,
) -> ConnectionRecord:
    """Check the callback's state, exchange its code once, and store the tokens.

    `expected_state` is the state of the consent this browser tab started. A
    pasted address must carry that same state, and a bare pasted code uses it.
    The whole exchange runs inside the store's write transaction, so tokens that
    come back are never lost to a database locked by another program.
    """
    try:
        return _complete_consent(store, callback, expected_state, session_factory)
    except (StateError, InvalidInput) as exc:
        logger.warning("Rejected a callback: %s", type(exc).__name__)
        raise


def _complete_consent(
    store: Store,
    callback: oauth.CallbackParams,
    expected_state: str | None,
    session_factory: SessionFactory,
) -> ConnectionRecord:
    if callback.state is not None and expected_state is not None:
        _check_same_state(callback.state, expected_state)
    if callback.error:
        if callback.state is not None:
            _close_failed_consent(store, callback.state, callback)
        oauth.raise_for_callback_error(callback)

    state = callback.state or expected_state
    if not state:
        raise InvalidInput(
            "callback",
            "The address has a code but no state, and no consent started in this "
            "tab can supply one.",
            hint="Use the whole address Atlassian sent the browser to (it contains "
            "state=…), or start the consent from the Consent page first.",
        )

    failure: DashboardError | None = None
    with store.write_transaction():
        pending = store.consume_state(state)
        try:
            connection = _exchange_code(store, pending, callback.code, session_factory)
        except NetworkError:
            # No response came, so the code may still be unused: the rollback keeps
            # the state open for another try.
            raise
        except DashboardError as exc:
            store.record_state_outcome(pending.state_hash, error=exc.message)
            failure = exc
        else:
            store.record_state_outcome(pending.state_hash, connection_id=connection.id)
    if failure is not None:
        raise failure
    return connection


def _check_same_state(state: str, expected_state: str) -> None:
    same = hmac.compare_digest(
        state.encode("utf-8", "surrogatepass"),
        expected_state.encode("utf-8", "surrogatepass"),
    )
    if not same:
        raise StateMismatch(
            "The pasted address belongs to a different consent than the one this "
            "tab started.",
            hint="Paste the address from the consent you opened from this page, or "
            "start the consent again.",
        )


def _close_failed_consent(
    store: Store, state: str, callback: oauth.CallbackParams
) -> None:
    """Use up the state of a refused consent so it cannot be replayed.

    Raise the StateError when the state is unknown, replayed or expired, because
    then the error did not come from a consent started here.
    """
    with store.write_transaction():
        pending = store.consume_state(state)
        store.record_state_outcome(
            pending.state_hash, error=callback.error_description or callback.error
        )


def _exchange_code(
    store: Store,
    pending: PendingState,
    code: str | None,
    session_factory: SessionFactory,
) -> ConnectionRecord:
    app = store.get_app(pending.app_id)
    if app is None:
        raise NotConnected(
            "The app this consent was started for is no longer stored.",
            hint="Save the credentials again and start a new consent.",
        )
    session = session_factory()
    tokens = oauth.fetch_token(
        session,
        authorization_server(endpoints_for(app)),
        client_id=app.client_id,
        client_secret=store.client_secret(app.id),
        code=code or "",
        redirect_uri=pending.redirect_uri,
    )
    account = _identify(app, tokens, session_factory)
    store.set_active_app(app.id)
    connection = store.save_connection(
        app_id=app.id,
        tokens=tokens,
        requested_scopes=pending.scopes,
        account=account,
        replaces=pending.replaces_connection_id,
    )
    logger.info(
        "Connected app %s as connection %s (refresh token: %s)",
        app.id,
        connection.id,
        "yes" if connection.has_refresh_token else "no",
    )
    return connection


def _identify(
    app: AppRecord, tokens: oauth.TokenSet, session_factory: SessionFactory
) -> Account | None:
    """Return the account a new grant belongs to, when read:me allows asking.

    Any failure leaves the account unknown, because the tokens matter more than
    the name; the Connection page shows the profile from /me again.
    """
    if not ENDPOINT_SCOPES["/me"].is_met_by(frozenset(tokens.scopes)):
        return None
    endpoints = endpoints_for(app)
    auth = BearerAuth(tokens.access_token, endpoints.api_origins)
    try:
        profile = get_me(session_factory(auth=auth), endpoints)
    except DashboardError as exc:
        logger.warning("Could not identify the new grant's account: %s", exc)
        return None
    account_id = profile.get("account_id")
    if not isinstance(account_id, str) or not account_id:
        return None
    name = profile.get("name") or profile.get("nickname") or profile.get("email")
    return Account(account_id, name if isinstance(name, str) else account_id)


def refresh_connection(
    store: Store,
    connection_id: int,
    *,
    if_access_token_is: str | None = None,
    session_factory: SessionFactory = create_session,
) -> ConnectionRecord:
    """Refresh a connection's tokens and store the rotated refresh token.

    With `if_access_token_is`, the refresh is skipped when another caller already
    replaced that access token. The stored tokens are reread, and the new ones
    written, while the store's write lock is held, so callers in other threads
    and processes sharing the database refresh one after another.
    """
    failure: TokenRequestFailed | None = None
    with _refresh_lock, store.write_transaction():
        connection = _require_connection(store, connection_id)
        tokens = store.tokens(connection_id)
        if if_access_token_is is not None and tokens.access_token != if_access_token_is:
            return connection
        if not tokens.refresh_token:
            raise RefreshTokenMissing(
                "This connection has no refresh token because offline_access was "
                "not requested."
            )

        app = store.get_app(connection.app_id)
        try:
            new_tokens = oauth.refresh_token(
                session_factory(),
                authorization_server(endpoints_for(app)),
                client_id=app.client_id,
                client_secret=store.client_secret(app.id),
                refresh_token=tokens.refresh_token,
            )
        except TokenRequestFailed as exc:
            failure = exc
            if exc.error == "invalid_grant":
                store.set_connection_status(connection_id, NEEDS_CONSENT)
                failure = _refresh_rejection(exc, connection, store.now())
        else:
            logger.info("Refreshed connection %s", connection_id)
            connection = store.update_tokens(connection_id, new_tokens)
    if failure is not None:
        raise failure
    return connection


def _refresh_rejection(
    exc: TokenRequestFailed, connection: ConnectionRecord, now: float
) -> TokenRequestFailed:
    """Tell an expired refresh token from one that was rotated away or revoked."""
    expiry = refresh_token_expiry(connection)
    if expiry is not None and now >= expiry:
        kind, message = (
            RefreshTokenExpired,
            "The refresh token has passed its lifetime: Atlassian ends it 90 days "
            "after its last use and 365 days after the consent.",
        )
    else:
        kind, message = (
            RefreshTokenRevoked,
            "Atlassian no longer accepts the stored refresh token. Another program "
            "may have used it (each refresh replaces it), or the access was revoked "
            "in the account's settings.",
        )
    failure = kind(
        message,
        error=exc.error,
        error_description=exc.error_description,
        status=exc.status,
        hint="Consent again: your scopes and chosen site are kept.",
    )
    failure.grant_type = exc.grant_type
    return failure


def _require_connection(store: Store, connection_id: int) -> ConnectionRecord:
    connection = store.get_connection(connection_id)
    if connection is None:
        raise NotConnected(f"Connection {connection_id} is not stored.")
    return connection


def refresh_token_expiry(connection: ConnectionRecord) -> float | None:
    """Return when the stored refresh token is expected to stop working, or None
    without one. It is an estimate: Atlassian's token carries no expiry."""
    if not connection.has_refresh_token:
        return None
    last_used = connection.refreshed_at or connection.granted_at
    return min(
        last_used + REFRESH_IDLE_LIFETIME,
        connection.granted_at + REFRESH_ABSOLUTE_LIFETIME,
    )


def authorized_session(
    store: Store,
    connection: ConnectionRecord,
    *,
    session_factory: SessionFactory = create_session,
    clock: Callable[[], float] = time.time,
) -> tuple[requests.Session, Endpoints]:
    """Return a session carrying the connection's access token, refreshed first
    when it expires within REFRESH_LEEWAY seconds, and the endpoints to call."""
    app = store.get_app(connection.app_id)
    if app is None:
        raise NotConnected("The app of this connection is no longer stored.")
    tokens = store.tokens(connection.id)

    if tokens.expires_within(REFRESH_LEEWAY, clock()):
        if not tokens.refresh_token:
            raise RefreshTokenMissing(
                "The access token has expired and there is no refresh token, "
                "because offline_access was not requested."
            )
        refresh_connection(
            store,
            connection.id,
            if_access_token_is=tokens.access_token,
            session_factory=session_factory,
        )
        tokens = store.tokens(connection.id)

    endpoints = endpoints_for(app)

    def renew(rejected_token: str) -> str:
        refresh_connection(
            store,
            connection.id,
            if_access_token_is=rejected_token,
            session_factory=session_factory,
        )
        return store.tokens(connection.id).access_token

    if tokens.refresh_token:
        auth = RenewingBearerAuth(tokens.access_token, endpoints.api_origins, renew)
    else:
        auth = BearerAuth(tokens.access_token, endpoints.api_origins)
    session = session_factory(auth=auth)
    session.granted_scopes = frozenset(tokens.scopes)
    return session, endpoints


class RenewingBearerAuth(BearerAuth):
    """Bearer auth that, on a 401 without a scope message, refreshes the token once
    and sends the request again.

    An access token can die before its expiry: Atlassian revokes it 10 minutes
    after its refresh token is rotated, for example by another tab or program.
    `renew` takes the rejected token and returns the one to use, raising the
    refresh's error when the refresh token is dead too.
    """

    def __init__(self, token: str, allowed_origins, renew: Callable[[str], str]):
        super().__init__(token, allowed_origins)
        self._renew = renew

    def __call__(self, request):
        request = super().__call__(request)
        request.register_hook("response", self._retry_after_401)
        return request

    def _retry_after_401(self, response: requests.Response, **kwargs):
        if response.status_code != 401 or SCOPE_MISMATCH_MESSAGE in response.text:
            return response
        new_token = self._renew(self._token)
        if new_token == self._token:
            return response
        self._token = new_token
        logger.info("Access token rejected; refreshed it and sent the request again")

        response.close()
        retry = response.request.copy()
        retry.hooks = {"response": []}
        retry.headers["Authorization"] = f"Bearer {new_token}"
        answer = response.connection.send(retry, **kwargs)
        answer.history.append(response)
        answer.request = retry
        return answer
