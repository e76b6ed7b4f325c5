"""Exceptions raised by lib/, all under one root.

Each error carries a message naming what failed on which value (never a secret) and a
`hint` with the next step, so a page can show both without knowing the type.

DashboardError
├── InvalidInput (also ValueError): a value typed or pasted by the user
├── StorageError: the SQLite store or the encryption key
├── StateError: the `state` of an OAuth callback
│   ├── StateUnknown
│   ├── StateExpired
│   ├── StateReplayed
│   └── StateMismatch
├── OAuthError: an OAuth error with the provider's `error` and `error_description`
│   ├── ConsentDenied: the callback carried `error` (for example access_denied)
│   └── TokenRequestFailed: /oauth/token rejected the request
│       ├── RefreshTokenExpired: past its estimated lifetime
│       └── RefreshTokenRevoked: rotated away, reused or revoked
├── ApiError: a REST call returned an error status
│   ├── Unauthorized (401)
│   │   ├── ScopeMissing (401 "scope does not match")
│   │   └── CredentialsRejected (401 to an email + API token call)
│   ├── Forbidden (403)
│   ├── NotFound (404)
│   ├── Gone (410)
│   ├── RateLimited (429)
│   └── ServerError (5xx)
├── ScopeNotGranted: a call the granted scopes cannot allow, not sent
├── NetworkError: no HTTP response at all (refused, reset, timed out)
├── InvalidResponse: a response that is not the JSON expected
└── NotConnected: no stored connection to use
    └── RefreshTokenMissing: offline_access was not granted
"""

from __future__ import annotations


class DashboardError(Exception):
    """Root of every error raised by lib/."""

    hint = "Try again. If it keeps failing, check the log for the request that failed."

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        return self.message


class InvalidInput(DashboardError, ValueError):
    """A value entered by the user is invalid. `field` names the input."""

    def __init__(self, field: str, message: str, *, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.field = field


class StorageError(DashboardError):
    """The SQLite store or its encryption key could not be used."""


class StateError(DashboardError):
    """The `state` of an OAuth callback cannot be accepted."""

    hint = "Start the consent again from the Consent page."


class StateUnknown(StateError):
    """No pending consent has this state."""


class StateExpired(StateError):
    """The pending consent is older than its time limit."""


class StateReplayed(StateError):
    """The state was already used by an earlier callback."""


class StateMismatch(StateError):
    """The state differs from the one this browser tab started with."""


class OAuthError(DashboardError):
    """An OAuth error response, keeping the provider's own fields."""

    def __init__(
        self,
        message: str,
        *,
        error: str | None = None,
        error_description: str | None = None,
        status: int | None = None,
        hint: str | None = None,
    ):
        super().__init__(message, hint=hint)
        self.error = error
        self.error_description = error_description
        self.status = status


class ConsentDenied(OAuthError):
    """The authorize step returned an error instead of a code."""


class TokenRequestFailed(OAuthError):
    """The token endpoint rejected a code exchange or a refresh. `grant_type` is
    "authorization_code" or "refresh_token"."""

    grant_type: str | None = None


class RefreshTokenExpired(TokenRequestFailed):
    """invalid_grant on a refresh token older than its expected lifetime."""


class RefreshTokenRevoked(TokenRequestFailed):
    """invalid_grant on a refresh token that should still live: it was rotated by
    another program, used after the reuse window, or its grant was revoked."""


class ApiError(DashboardError):
    """A REST call returned an error status."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        method: str,
        url: str,
        body: str = "",
        hint: str | None = None,
    ):
        super().__init__(message, hint=hint)
        self.status = status
        self.method = method
        self.url = url
        self.body = body


class Unauthorized(ApiError):
    """401: the token is missing, expired or revoked."""


class ScopeMissing(Unauthorized):
    """401 "scope does not match": the token lacks a scope the endpoint needs."""

    required: str = ""


class ScopeNotGranted(DashboardError):
    """The connection's granted scopes cannot meet a call's requirement, so the
    call was not sent. `required` names the scopes to ask for."""

    def __init__(self, message: str, *, required: str, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.required = required


class CredentialsRejected(Unauthorized):
    """401 to a call signed with an email and API token: the token was revoked or
    expired, or its account lost access."""


class Forbidden(ApiError):
    """403: the product refused the request (a permission, not a scope)."""


class NotFound(ApiError):
    """404: not found, or not visible to this account."""


class Gone(ApiError):
    """410: the endpoint was removed."""


class RateLimited(ApiError):
    """429: too many requests. `retry_after` is in seconds, when the server sent it."""

    retry_after: float | None = None


class ServerError(ApiError):
    """5xx: the service failed or is unavailable."""


class NetworkError(DashboardError):
    """No HTTP response: connection refused or reset, DNS failure, or timeout."""


class InvalidResponse(DashboardError):
    """The response was not JSON, or lacked a field that must be there."""


class NotConnected(DashboardError):
    """There is no stored connection to call the API with."""

    hint = "Finish the setup steps, or connect again on the Connection page."


class RefreshTokenMissing(NotConnected):
    """The connection has no refresh token because offline_access was not granted."""

    hint = "Tick offline_access on the Scopes page and consent again."
