"""Generic OAuth 2.0 authorization-code steps: URL, callback, code exchange, refresh.

Nothing here is specific to Atlassian; `lib.atlassian` supplies the endpoints and the
extra authorize parameters (audience, prompt) as data.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import requests

from lib.errors import (
    ConsentDenied,
    InvalidInput,
    InvalidResponse,
    NetworkError,
    TokenRequestFailed,
)
from lib.scopes import parse_scope_string, scope_string

logger = logging.getLogger(__name__)

# Characters of an authorization code or state that survive a copy from the address
# bar. Any other character means the paste picked up extra text.
_URL_SAFE = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/="
)
MAX_PASTE_LENGTH = 8192
# Quote marks and angle brackets that chats and emails put around an address.
# They never belong to an address, a code or a state, so a paste loses them.
_PASTE_WRAPPERS = "\"'`“”‘’<>"

# The longest `expires_in` accepted. Atlassian's access tokens last an hour, and a
# year is far beyond any real token while still a valid date everywhere.
MAX_EXPIRES_IN = 365 * 24 * 3600

# How much of a server's error_description is kept in a message.
MAX_DESCRIPTION_LENGTH = 300


@dataclass(frozen=True)
class AuthorizationServer:
    """Authorize and token endpoint URLs, with extra authorize parameters."""

    authorize_url: str
    token_url: str
    extra_authorize_params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TokenSet:
    """Tokens from one token response, with `expires_at` in seconds since the epoch."""

    access_token: str = field(repr=False)
    expires_at: float
    refresh_token: str | None = field(default=None, repr=False)
    scopes: tuple[str, ...] = ()
    token_type: str = "Bearer"

    def __repr__(self) -> str:
        refresh = "[secure]" if self.refresh_token else None
        return (
            f"TokenSet(access_token=[secure], refresh_token={refresh}, "
            f"expires_at={self.expires_at!r}, scopes={self.scopes!r})"
        )

    def expires_within(self, seconds: float, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return self.expires_at - now <= seconds


@dataclass(frozen=True)
class CallbackParams:
    """Query parameters of the redirect: a code and state, or an error."""

    code: str | None = field(default=None, repr=False)
    state: str | None = field(default=None, repr=False)
    error: str | None = None
    error_description: str | None = None


def generate_state() -> str:
    """Return an unguessable state value (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def create_authorization_url(
    server: AuthorizationServer,
    *,
    client_id: str,
    redirect_uri: str,
    scopes,
    state: str,
) -> str:
    """Build the authorize URL with every value percent-encoded exactly once.

    `quote` (not `quote_plus`) encodes a space as %20 and a colon as %3A, so the
    scope list reads `read%3Ajira-work%20offline_access`.
    """
    params = [
        *server.extra_authorize_params,
        ("client_id", client_id),
        ("scope", scope_string(scopes)),
        ("redirect_uri", redirect_uri),
        ("state", state),
        ("response_type", "code"),
    ]
    query = urlencode(params, quote_via=quote, safe="")
    return f"{server.authorize_url}?{query}"


def parse_callback(text: str) -> CallbackParams:
    """Read a pasted callback: a full address, a query string, or a bare code.

    Raise InvalidInput naming what is wrong with the paste: empty, two codes, a code
    next to an error, no code, or characters that cannot belong to a code.
    """
    text = (text or "").strip().strip(_PASTE_WRAPPERS).strip()
    if not text:
        raise InvalidInput(
            "callback",
            "The pasted text is empty.",
            hint="Paste the whole address from the browser's address bar after "
            "consenting, or just the value after code=.",
        )
    if len(text) > MAX_PASTE_LENGTH:
        raise InvalidInput(
            "callback",
            f"The pasted text is {len(text)} characters long; a callback address "
            f"is far shorter (at most {MAX_PASTE_LENGTH}).",
            hint="Copy only the address of the page you landed on after consenting.",
        )

    if "=" not in text and "?" not in text and "/" not in text:
        return CallbackParams(code=_check_code(text))

    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise InvalidInput(
            "callback",
            f"The pasted address is malformed ({exc}).",
            hint="Copy the address again from the browser bar, without editing it.",
        ) from exc
    if parts.fragment and not parts.query and "code=" in parts.fragment:
        query = parts.fragment
    elif parts.scheme or parts.netloc or text.startswith("/"):
        query = parts.query
    else:
        query = text.lstrip("?")
    return callback_from_query(parse_qs(query, keep_blank_values=True))


def callback_from_query(query: Mapping[str, object]) -> CallbackParams:
    """Read `code`, `state`, `error` and `error_description` from query parameters.

    Values may be strings or lists of strings (as parse_qs returns them).
    """
    values = {name: _as_list(query.get(name)) for name in _CALLBACK_NAMES}
    for name, found in values.items():
        if len(found) > 1:
            raise InvalidInput(
                "callback",
                f"The address contains {name}= {len(found)} times.",
                hint="Copy the address again from the browser bar, without editing it.",
            )
    # A value of only whitespace counts as missing, so "code=%20" is no code.
    code, state, error, description = (
        (values[name] or [""])[0].strip() or None for name in _CALLBACK_NAMES
    )

    if error:
        if code:
            raise InvalidInput(
                "callback",
                f"The address contains both a code and error={error}.",
                hint="Copy the address again from the browser bar, without editing it.",
            )
        return CallbackParams(
            state=_check_code(state, "state") if state else None,
            error=error,
            error_description=description,
        )
    if not code:
        raise InvalidInput(
            "callback",
            "The address contains no code= parameter.",
            hint="After you press Accept on Atlassian's screen, copy the address of "
            "the page you land on; it contains ?code=…&state=….",
        )
    return CallbackParams(
        code=_check_code(code),
        state=_check_code(state, "state") if state else None,
    )


_CALLBACK_NAMES = ("code", "state", "error", "error_description")


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value]


def _check_code(value: str, name: str = "code") -> str:
    """Strip a code or state and reject characters a copied one cannot contain."""
    value = value.strip()
    if len(value) > MAX_PASTE_LENGTH:
        raise InvalidInput(
            "callback",
            f"The {name} is {len(value)} characters long, far longer than an "
            f"OAuth {name} (at most {MAX_PASTE_LENGTH}).",
            hint="Copy the address again from the browser bar, without editing it.",
        )
    if "%" in value:
        raise InvalidInput(
            "callback",
            f"The {name} still contains percent-encoded characters, so the address "
            "was encoded twice.",
            hint="Copy the address straight from the browser bar.",
        )
    if not set(value) <= _URL_SAFE:
        raise InvalidInput(
            "callback",
            f"The {name} contains spaces or characters that an OAuth {name} never has.",
            hint="Copy the address again, and make sure nothing else came with it.",
        )
    return value


def raise_for_callback_error(callback: CallbackParams) -> None:
    """Raise ConsentDenied when the callback carries an OAuth error."""
    if not callback.error:
        return
    if callback.error == "access_denied":
        message = "Consent was cancelled on the authorization screen."
        hint = "Start the consent again and press Accept to connect."
    else:
        message = f"The authorization server returned the error {callback.error}."
        hint = "Check the client ID, redirect URI and scopes, then start again."
    if callback.error_description:
        message += f" It said: {callback.error_description}"
    raise ConsentDenied(
        message,
        error=callback.error,
        error_description=callback.error_description,
        hint=hint,
    )


def fetch_token(
    session: requests.Session,
    server: AuthorizationServer,
    *,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    clock: Callable[[], float] = time.time,
) -> TokenSet:
    """Exchange an authorization code for tokens."""
    body = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "client_secret": client_secret,
        "code": code,
        "redirect_uri": redirect_uri,
    }
    return _request_token(session, server, body, clock)


def refresh_token(
    session: requests.Session,
    server: AuthorizationServer,
    *,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    clock: Callable[[], float] = time.time,
) -> TokenSet:
    """Exchange a refresh token for a new token set (the refresh token rotates)."""
    body = {
        "grant_type": "refresh_token",
        "client_id": client_id,
        "client_secret": client_secret,
        "refresh_token": refresh_token,
    }
    return _request_token(session, server, body, clock)


def _request_token(
    session: requests.Session,
    server: AuthorizationServer,
    body: dict,
    clock: Callable[[], float],
) -> TokenSet:
    grant_type = body["grant_type"]
    requested_at = clock()
    try:
        # A redirect is not followed: requests would send the body again, with
        # the client secret and the code, to whatever address it names.
        response = session.post(
            server.token_url,
            json=body,
            headers={"Accept": "application/json"},
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        reason, maybe_received = _unanswered_reason(exc)
        logger.warning(
            "POST %s got no usable response: %s", server.token_url, type(exc).__name__
        )
        raise NetworkError(
            f"The token request to {server.token_url} failed: {reason}.",
            hint="Check the network connection, then "
            f"{_how_to_retry_unanswered(grant_type, maybe_received)}.",
        ) from exc

    payload = _json_or_none(response)
    if response.status_code != 200:
        sent_secrets = [body[name] for name in _SECRET_FIELDS if body.get(name)]
        error = _token_error(response.status_code, payload, grant_type, sent_secrets)
        if response.status_code == 429:
            error.hint = _retry_hint(response, grant_type)
        raise error
    if not isinstance(payload, dict):
        raise InvalidResponse(
            f"The token endpoint returned status 200 with a body that is not a "
            f"JSON object ({_content_type(response)}).",
            hint="Check that the authorization server URL is right; a proxy or "
            "captive portal may have answered instead.",
        )
    return parse_token_response(payload, requested_at)


def parse_token_response(payload: Mapping, requested_at: float) -> TokenSet:
    """Validate a token response and turn `expires_in` into an absolute time."""
    access_token = payload.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise InvalidResponse(
            "The token response has no access_token.",
            hint="Try the consent again; if it repeats, the server is not an OAuth "
            "token endpoint.",
        )

    expires_in = payload.get("expires_in")
    if (
        isinstance(expires_in, bool)
        or not isinstance(expires_in, (int, float))
        or (isinstance(expires_in, float) and not math.isfinite(expires_in))
        or not 0 < expires_in <= MAX_EXPIRES_IN
    ):
        raise InvalidResponse(
            f"The token response has {_describe_expires_in(expires_in)}. It must "
            f"be a number of seconds from 1 to {MAX_EXPIRES_IN}.",
            hint="Try again. If it repeats, report it to the server's owner.",
        )

    refresh = payload.get("refresh_token")
    if refresh is not None and (not isinstance(refresh, str) or not refresh):
        raise InvalidResponse(
            "The token response has a refresh_token that is not a string.",
            hint="Try again; if it repeats, report it to the server's owner.",
        )

    scope = payload.get("scope")
    token_type = payload.get("token_type") or "Bearer"
    return TokenSet(
        access_token=access_token,
        expires_at=requested_at + float(expires_in),
        refresh_token=refresh,
        scopes=parse_scope_string(_scope_separators_to_spaces(scope)),
        token_type=str(token_type),
    )


def _describe_expires_in(value: object) -> str:
    """Name what is wrong with expires_in: missing, of the wrong type, or its value."""
    if value is None:
        return "no expires_in"
    if isinstance(value, str):
        return f"an expires_in that is the string {value[:40]!r}, not a number"
    if isinstance(value, bool):
        return f"an expires_in that is {str(value).lower()}, not a number"
    if isinstance(value, list | dict):
        kind = "an array" if isinstance(value, list) else "an object"
        return f"an expires_in that is {kind}, not a number"
    return f"an invalid expires_in: {str(value)[:40]}"


def _scope_separators_to_spaces(scope: object) -> str:
    """Return the `scope` of a token response with commas and plus signs read as
    separators. RFC 6749 separates scopes with spaces, but a server that joins them
    with commas, or a form encoding read twice ("+"), would otherwise turn the list
    into one unknown name. No scope name contains either character."""
    if not isinstance(scope, str):
        return ""
    return scope.replace(",", " ").replace("+", " ")


_SECRET_FIELDS = ("client_secret", "code", "refresh_token")


def _retry_hint(response: requests.Response, grant_type: str) -> str:
    again = _how_to_retry(grant_type)
    wait = response.headers.get("Retry-After", "").strip()
    if wait.isdigit():
        return f"Wait {wait} seconds, then {again}."
    return f"Wait a minute, then {again}."


def _how_to_retry(grant_type: str) -> str:
    if grant_type == "refresh_token":
        return "press Refresh now on the Connection page again"
    return "start the consent again, because an authorization code works once"


def _unanswered_reason(exc: requests.RequestException) -> tuple[str, bool]:
    """Describe a request that got no usable response, and return whether the
    server may have received it. Only a refused connection or a connect timeout
    proves that it did not."""
    name = type(exc).__name__
    if isinstance(exc, requests.Timeout):
        never_connected = isinstance(exc, requests.ConnectTimeout)
        return f"no response in time ({name})", not never_connected
    if isinstance(
        exc,
        requests.exceptions.ChunkedEncodingError
        | requests.exceptions.ContentDecodingError,
    ):
        return f"the response was cut off ({name})", True
    text = str(exc).lower()
    if "refused" in text:
        return f"the connection was refused ({name})", False
    if "reset" in text or "aborted" in text:
        return f"the connection was reset ({name})", True
    return name, True


def _how_to_retry_unanswered(grant_type: str, maybe_received: bool) -> str:
    if grant_type == "refresh_token":
        return "press Refresh now on the Connection page again"
    if not maybe_received:
        return "try the same address again, because the code was not used up"
    return (
        "try the same address once more. If the code is then rejected, the server "
        "used it before the connection failed, so start the consent again"
    )


def _redact(text: str, secrets_sent: list[str]) -> str:
    """Remove values this request sent from a server's text, and cap its length."""
    for secret in secrets_sent:
        text = text.replace(secret, "[redacted]")
    if len(text) > MAX_DESCRIPTION_LENGTH:
        text = text[: MAX_DESCRIPTION_LENGTH - 1] + "…"
    return text


def _token_error(
    status: int, payload, grant_type: str, secrets_sent: list[str]
) -> TokenRequestFailed:
    error = description = None
    if isinstance(payload, dict):
        raw_error = payload.get("error")
        if isinstance(raw_error, str):
            error = _redact(raw_error, secrets_sent)[:80]
        raw = payload.get("error_description")
        description = _redact(raw, secrets_sent) if isinstance(raw, str) else None

    if error == "invalid_grant" and grant_type == "refresh_token":
        message = "The refresh token was rejected (invalid_grant)."
        hint = (
            "Refresh tokens rotate on every use, expire after 90 days unused and "
            "365 days in all. Connect again from the Consent page."
        )
    elif error == "invalid_grant":
        message = "The authorization code was rejected (invalid_grant)."
        hint = (
            "A code works once and expires within minutes, and the redirect URI "
            "must be the one used at consent. Start the consent again."
        )
    elif status == 429:
        message = f"The token endpoint is rate limiting requests (status {status})."
        hint = f"Wait a minute, then {_how_to_retry(grant_type)}."
    elif status >= 500:
        message = f"The authorization server failed with status {status}."
        hint = (
            "Atlassian may be unavailable. Wait a few minutes, then "
            f"{_how_to_retry(grant_type)}."
        )
    elif status == 401 or error in ("access_denied", "invalid_client"):
        message = "The client ID or client secret was rejected."
        hint = (
            "Copy both again from the app's Settings in the developer console and "
            "save them on the Credentials page."
        )
    elif error:
        message = f"The token request failed with {error} (status {status})."
        hint = "Check the credentials and scopes, then start the consent again."
    else:
        message = f"The token endpoint returned status {status} without an error."
        hint = "Check the authorization server URL and try again."

    if description:
        message += f" The server said: {description}"
    failure = TokenRequestFailed(
        message,
        error=error,
        error_description=description,
        status=status,
        hint=hint,
    )
    failure.grant_type = grant_type
    return failure


def _json_or_none(response: requests.Response):
    try:
        return response.json()
    except ValueError:
        return None


def _content_type(response: requests.Response) -> str:
    return response.headers.get("Content-Type", "no content type")
