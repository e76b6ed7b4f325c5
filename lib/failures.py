"""The catalogue of known failures: what each means in plain words and what to do.

Every page shows errors through `diagnose`, which picks the catalogue entry for an
exception from lib/ and fills its next step with the details the exception carries
(the missing scope, the seconds to wait). The exception's own message stays the
precise account of what failed; the entry adds why it happens and the way out.
Failures that are not exceptions (a grant without sites) are looked up by key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from lib.api_token import (
    AccountInactive,
    ApiTokenRejected,
    SiteWithoutProducts,
    TokenScopesMissing,
)
from lib.errors import (
    ApiError,
    ConsentDenied,
    CredentialsRejected,
    DashboardError,
    Forbidden,
    Gone,
    InvalidInput,
    InvalidResponse,
    NetworkError,
    NotConnected,
    NotFound,
    OAuthError,
    RateLimited,
    RefreshTokenExpired,
    RefreshTokenMissing,
    RefreshTokenRevoked,
    ScopeMissing,
    ScopeNotGranted,
    ServerError,
    StateExpired,
    StateMismatch,
    StateReplayed,
    StateUnknown,
    StorageError,
    TokenRequestFailed,
    Unauthorized,
)

# Actions a page can offer next to a failure, besides its text.
CONSENT_AGAIN = "consent_again"
REFRESH = "refresh"
CREDENTIALS = "credentials"
SCOPES = "scopes"
CONNECTION = "connection"
API_TOKEN = "api_token"


@dataclass(frozen=True)
class Failure:
    """One known failure. `next_step` may name fields of the diagnosis in braces."""

    key: str
    title: str
    explanation: str
    next_step: str
    action: str | None = None


_ENTRIES = (
    Failure(
        "redirect_uri_not_registered",
        "The callback URL is not registered for this app",
        "Atlassian sends the browser back only to a callback URL registered in the "
        "app's Authorization settings. It compares the whole address: scheme, host, "
        "port, path and a trailing slash must all be the same.",
        "Open the app in the developer console, Authorization, OAuth 2.0 (3LO), and "
        "set the Callback URL to exactly the one on the Credentials page. Then "
        "start the consent again.",
        CREDENTIALS,
    ),
    Failure(
        "consent_cancelled",
        "The consent was cancelled",
        "Cancel on Atlassian's screen sends the browser back with access_denied "
        "instead of a code, so nothing was connected and nothing changed.",
        "Start the consent again and press Accept.",
        CONSENT_AGAIN,
    ),
    Failure(
        "app_not_shared",
        "The app works only for its owner",
        "A new OAuth app is in development mode: only the account that created it "
        "can consent. Anyone else is stopped on Atlassian's screen.",
        "Either sign in to Atlassian as the app's owner, or open the app in the "
        "developer console, Distribution, and set it to Sharing (this asks for a "
        "vendor name and a privacy policy URL).",
    ),
    Failure(
        "admin_approval_required",
        "A site admin must approve the app",
        "The organization only allows third-party apps that an admin has approved, "
        "so Atlassian refuses the consent for that site.",
        "Ask a site or organization admin to approve the app for the site, or "
        "choose another site on the consent screen.",
    ),
    Failure(
        "consent_failed",
        "Atlassian refused the consent",
        "The authorization step returned an error instead of a code.",
        "Check the client ID, callback URL and scopes on the Credentials and Scopes "
        "pages, then start the consent again.",
        CREDENTIALS,
    ),
    Failure(
        "state_mismatch",
        "The address belongs to another consent",
        "Each consent carries a random state value, and the answer must come back "
        "with the same one. This address has the state of a different consent.",
        "Paste the address from the consent you opened from this tab, or start the "
        "consent again.",
        CONSENT_AGAIN,
    ),
    Failure(
        "state_expired",
        "The consent took too long",
        "A started consent stays valid for 10 minutes, so a late answer cannot be "
        "told apart from a forged one.",
        "Start the consent again and finish it within 10 minutes.",
        CONSENT_AGAIN,
    ),
    Failure(
        "state_replayed",
        "This consent was already used",
        "An answer from Atlassian is accepted once. Opening the callback address "
        "again, for example from the browser's history, does nothing.",
        "Nothing is lost: the connection made the first time is kept. To connect "
        "again, start a new consent.",
        CONNECTION,
    ),
    Failure(
        "state_unknown",
        "The address matches no consent started here",
        "The state in the address was not issued by this dashboard, or its data "
        "folder was changed since.",
        "Start the consent from the Consent page, and paste the address it leads to.",
        CONSENT_AGAIN,
    ),
    Failure(
        "code_rejected",
        "The authorization code was rejected",
        "A code works once and only for a few minutes, and only with the callback "
        "URL used at consent.",
        "Start the consent again and hand back the new code straight away.",
        CONSENT_AGAIN,
    ),
    Failure(
        "client_rejected",
        "The client ID or secret is wrong",
        "The token endpoint checks the client ID and secret on every code exchange "
        "and refresh. A secret that was rotated in the developer console stops "
        "working at once.",
        "Copy the client ID and secret again from the app's Settings in the "
        "developer console and save them on the Credentials page.",
        CREDENTIALS,
    ),
    Failure(
        "no_refresh_token",
        "There is no refresh token",
        "Atlassian issues a refresh token only when the consent asked for "
        "offline_access. Without it, the connection ends when the access token "
        "expires after an hour.",
        "Tick offline_access on the Scopes page and consent again.",
        SCOPES,
    ),
    Failure(
        "refresh_token_revoked",
        "The refresh token was replaced or revoked",
        "Each refresh gives a new refresh token, and the old one stops working 10 "
        "minutes later. Another program using the same connection, a copy of the "
        "data folder, or revoking the app in the account's settings ends it.",
        "Consent again: the scopes and the chosen site are kept.",
        CONSENT_AGAIN,
    ),
    Failure(
        "refresh_token_expired",
        "The refresh token has expired",
        "Atlassian ends a refresh token 90 days after its last use, and 365 days "
        "after the consent, whichever comes first.",
        "Consent again: the scopes and the chosen site are kept. Opening the "
        "dashboard at least once every 90 days keeps it alive.",
        CONSENT_AGAIN,
    ),
    Failure(
        "token_request_failed",
        "The token request failed",
        "The token endpoint answered with an OAuth error.",
        "{hint}",
    ),
    Failure(
        "no_sites",
        "The grant reaches no site",
        "accessible-resources lists no site for this token. That happens when no "
        "site was picked on the consent screen, when the account is only a guest, "
        "or when the scopes match no product on the account's sites.",
        "Consent again and choose a site on Atlassian's screen.",
        CONSENT_AGAIN,
    ),
    Failure(
        "site_not_offered",
        "The site is not offered on the consent screen",
        "The consent screen lists only the sites where the signed-in account has a "
        "product that the requested scopes are for: Jira scopes offer Jira sites, "
        "Confluence scopes Confluence sites.",
        "Tick scopes of the site's product on the Scopes page, or sign in to "
        "Atlassian with an account that can use the site, then consent again.",
        SCOPES,
    ),
    Failure(
        "several_sites",
        "The grant reaches several sites",
        "One grant covers every site the account consented to, listed in no "
        "particular order, so the dashboard cannot guess which one is meant.",
        "Pick the site in the sidebar; the choice is kept for this connection.",
    ),
    Failure(
        "scope_missing",
        "The token lacks a scope",
        "Atlassian answers 401 'scope does not match' when a call needs a scope "
        "the consent did not grant. Scopes come only from a consent, and only "
        "those also added to the app in the developer console can be granted.",
        "Add {required} to the app's permissions in the developer console, then "
        "consent again with it ticked.",
        CONSENT_AGAIN,
    ),
    Failure(
        "token_rejected",
        "The access token was rejected",
        "A 401 without a scope message means the token expired or was revoked, "
        "for example by the rotation of its refresh token.",
        "Press Refresh now on the Connection page. If the refresh fails, consent "
        "again.",
        REFRESH,
    ),
    Failure(
        "jira_forbidden",
        "The account may not do this",
        "A 403 comes from the product, not from the token: the scopes allow the "
        "call, but the account lacks the project or site permission.",
        "Ask a project or site administrator for the permission, or use an "
        "account that has it.",
    ),
    Failure(
        "not_found",
        "Not found, or not visible",
        "Jira and Confluence answer 404 both for what does not exist and for what "
        "the account may not see. A token that expired or lost a site can also "
        "end in 404.",
        "Check the key or id and the site in the sidebar. If everything else "
        "fails too, press Refresh now on the Connection page.",
        REFRESH,
    ),
    Failure(
        "removed_api",
        "Atlassian removed this API",
        "A 410 Gone means the endpoint no longer exists; Atlassian names a "
        "replacement in its changelog.",
        "{hint}",
    ),
    Failure(
        "rate_limited",
        "Too many requests",
        "Atlassian limits requests per second and points per hour, and answers 429 "
        "with Retry-After when a limit is hit. The dashboard waits and retries a "
        "read by itself when the wait is 10 seconds or less; a longer wait is left "
        "to you.",
        "{retry}",
    ),
    Failure(
        "unavailable",
        "Atlassian is unavailable",
        "A 5xx status is a failure on Atlassian's side, and it usually passes "
        "within minutes. A read was already retried twice before this message.",
        "Wait a few minutes and try again. Atlassian's status page tells whether "
        "an incident is open.",
    ),
    Failure(
        "network",
        "No answer from the server",
        "The request got no HTTP answer: the connection was refused or reset, the "
        "host name did not resolve, or the server did not answer in time.",
        "Check the network connection and any proxy, then try again.",
    ),
    Failure(
        "not_json",
        "The answer was not what an Atlassian API sends",
        "The response was not JSON, was cut off, or lacked a field every answer "
        "has. A proxy or captive portal page often causes this.",
        "Try again. If it repeats, open the request in the API console to see the "
        "raw answer.",
    ),
    Failure(
        "api_error",
        "The request was rejected",
        "The API answered with an error status.",
        "{hint}",
    ),
    Failure(
        "storage",
        "The local store cannot be used",
        "The dashboard keeps apps and tokens in a SQLite file, encrypted with a key "
        "file next to it. Nothing in it was changed or deleted.",
        "{hint}",
    ),
    Failure(
        "invalid_input",
        "A value needs fixing",
        "The value was checked before anything was sent or stored.",
        "{hint}",
    ),
    Failure(
        "not_connected",
        "Not connected",
        "There is no stored connection to make this call with.",
        "{hint}",
        CONNECTION,
    ),
    Failure(
        "api_token_rejected",
        "Atlassian did not accept the email and API token",
        "An API token works only together with the email address of the account "
        "that created it, and only until it is revoked or expires. A classic token "
        "works on the site URL, and a scoped token only through api.atlassian.com. "
        "The account's password is not an API token.",
        "Check these causes, most likely first.",
    ),
    Failure(
        "api_token_revoked",
        "The API token no longer works",
        "The site accepted this email and API token before, and now answers 401. "
        "A token stops working when it is revoked at id.atlassian.com, when it "
        "reaches its expiry date, or when its account loses access to the site.",
        "Create a new API token at id.atlassian.com (Security, API tokens) and "
        "save it on the Email + API token page.",
        API_TOKEN,
    ),
    Failure(
        "api_account_inactive",
        "The Atlassian account is deactivated",
        "The email and API token signed in, but Atlassian returned the account as "
        "inactive, and a deactivated account cannot use Jira or Confluence.",
        "{hint}",
    ),
    Failure(
        "api_site_without_products",
        "No Jira or Confluence at this site URL",
        "Both Jira and Confluence returned 404 at the site URL. A misspelled site "
        "name, or a site that has neither product, causes this.",
        "{hint}",
    ),
    Failure(
        "api_token_scopes_missing",
        "The scoped API token lacks a scope",
        "A scoped API token keeps the scopes chosen when it was created, and they "
        "cannot be added later. Verifying the token reads the current user, which "
        "needs a user scope of Jira or Confluence.",
        "{hint}",
    ),
    Failure(
        "unknown",
        "Something failed",
        "The dashboard did not recognise this failure.",
        "{hint}",
    ),
)

CATALOGUE: dict[str, Failure] = {entry.key: entry for entry in _ENTRIES}


@dataclass(frozen=True)
class Diagnosis:
    """A failure as a page shows it: the entry, what happened, and the next step."""

    failure: Failure
    what_happened: str
    next_step: str
    details: dict = field(default_factory=dict)
    required_scopes: tuple[str, ...] = ()
    # Likely causes to list under the next step, most likely first.
    causes: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return self.failure.key


def explain(key: str, what_happened: str = "", **values) -> Diagnosis:
    """Return the diagnosis of a failure that is not an exception."""
    failure = CATALOGUE[key]
    return Diagnosis(
        failure,
        what_happened or failure.explanation,
        _fill(failure.next_step, values),
    )


def diagnose(exc: DashboardError, *, now: float | None = None) -> Diagnosis:
    """Return the catalogue entry for an exception, filled with its details."""
    key = failure_key(exc)
    values = {"hint": exc.hint}
    required: tuple[str, ...] = ()
    # A scoped API token's missing scopes cannot be ticked for a consent, and its
    # `required` names them with their products, so it offers no scope button.
    scope_failure = isinstance(exc, ScopeMissing | ScopeNotGranted)
    if scope_failure and not isinstance(exc, TokenScopesMissing):
        required = _scope_names(exc.required)
        values["required"] = exc.required or "the scope the endpoint documents"
    if isinstance(exc, RateLimited):
        values["retry"] = _retry_text(exc.retry_after, now)
    elif key == "rate_limited":
        values["retry"] = exc.hint
    return Diagnosis(
        CATALOGUE[key],
        exc.message,
        _fill(CATALOGUE[key].next_step, values),
        raw_details(exc),
        required,
        tuple(getattr(exc, "causes", ())),
    )


def failure_key(exc: DashboardError) -> str:
    """Return the catalogue key of an exception from lib/."""
    for kind, key in _BY_TYPE:
        if isinstance(exc, kind):
            return key
    if isinstance(exc, ConsentDenied):
        return _consent_key(exc)
    if isinstance(exc, TokenRequestFailed):
        return _token_key(exc)
    return "unknown"


_BY_TYPE: tuple[tuple[type, str], ...] = (
    (StateMismatch, "state_mismatch"),
    (StateExpired, "state_expired"),
    (StateReplayed, "state_replayed"),
    (StateUnknown, "state_unknown"),
    (RefreshTokenExpired, "refresh_token_expired"),
    (RefreshTokenRevoked, "refresh_token_revoked"),
    (RefreshTokenMissing, "no_refresh_token"),
    (TokenScopesMissing, "api_token_scopes_missing"),
    (ApiTokenRejected, "api_token_rejected"),
    (CredentialsRejected, "api_token_revoked"),
    (AccountInactive, "api_account_inactive"),
    (SiteWithoutProducts, "api_site_without_products"),
    (ScopeMissing, "scope_missing"),
    (ScopeNotGranted, "scope_missing"),
    (Unauthorized, "token_rejected"),
    (Forbidden, "jira_forbidden"),
    (NotFound, "not_found"),
    (Gone, "removed_api"),
    (RateLimited, "rate_limited"),
    (ServerError, "unavailable"),
    (NetworkError, "network"),
    (InvalidResponse, "not_json"),
    (StorageError, "storage"),
    (InvalidInput, "invalid_input"),
    (NotConnected, "not_connected"),
    # Last, after its subclasses: raise_for_status raises RateLimited for 429 and
    # ServerError for 5xx, so a plain ApiError has any other status.
    (ApiError, "api_error"),
)


def _scope_names(required: str) -> tuple[str, ...]:
    """Split "a + b", as Requirement.describe writes it, into scope names."""
    return tuple(name for name in required.split() if name != "+")


def _consent_key(exc: ConsentDenied) -> str:
    text = f"{exc.error or ''} {exc.error_description or ''}".lower()
    if "redirect_uri" in text:
        return "redirect_uri_not_registered"
    if "admin must authorize" in text:
        return "admin_approval_required"
    if "development mode" in text or "not shared" in text:
        return "app_not_shared"
    if exc.error == "access_denied":
        return "consent_cancelled"
    return "consent_failed"


def _token_key(exc: TokenRequestFailed) -> str:
    status = exc.status or 0
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "unavailable"
    if exc.error == "invalid_grant" and exc.grant_type == "authorization_code":
        return "code_rejected"
    if status == 401 or exc.error in ("access_denied", "invalid_client"):
        return "client_rejected"
    return "token_request_failed"


def _retry_text(retry_after: float | None, now: float | None) -> str:
    if retry_after is None:
        return "Wait a minute, then try again."
    seconds = max(1, round(retry_after))
    unit = "second" if seconds == 1 else "seconds"
    moment = time.strftime("%H:%M:%S", time.gmtime((now or time.time()) + seconds))
    return f"Wait {seconds} {unit} (until {moment} UTC), then try again."


def _fill(template: str, values: dict) -> str:
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return values.get("hint") or template


def raw_details(exc: DashboardError) -> dict:
    """Return the raw facts of a failure for a details expander: no secrets, as
    lib/ errors never carry them."""
    details: dict = {"error type": type(exc).__name__, "message": exc.message}
    if isinstance(exc, ApiError):
        details.update(
            status=exc.status,
            request=f"{exc.method} {exc.url}",
            body=exc.body,
        )
    if isinstance(exc, OAuthError):
        details.update(
            status=exc.status,
            error=exc.error,
            error_description=exc.error_description,
        )
    return {key: value for key, value in details.items() if value is not None}


def redirect_uri_differences(registered: str, sent: str) -> list[str]:
    """Name each part in which two callback URLs differ, in the order Atlassian's
    exact comparison would trip on them. An empty list means they are the same."""
    a, b = urlsplit(registered.strip()), urlsplit(sent.strip())
    differences = []
    if a.scheme.lower() != b.scheme.lower():
        differences.append(_difference("scheme", a.scheme, b.scheme))
    if (a.hostname or "") != (b.hostname or ""):
        differences.append(_difference("host", a.hostname, b.hostname))
    # A scheme change implies its default port: name only the scheme then.
    same_scheme = a.scheme.lower() == b.scheme.lower()
    if same_scheme and _port(a) != _port(b):
        differences.append(_difference("port", _port(a), _port(b)))
    path_a, path_b = a.path or "/", b.path or "/"
    if path_a.rstrip("/") != path_b.rstrip("/"):
        differences.append(_difference("path", path_a, path_b))
    elif path_a != path_b:
        differences.append(_difference("trailing slash", path_a, path_b))
    if a.query != b.query:
        differences.append(_difference("query", a.query, b.query))
    return differences


def _difference(part: str, registered, sent) -> str:
    return f"{part}: registered {registered or 'none'}, sent {sent or 'none'}"


def _port(parts) -> int | None:
    try:
        port = parts.port
    except ValueError:
        return None
    if port is not None:
        return port
    return {"https": 443, "http": 80}.get(parts.scheme.lower())
