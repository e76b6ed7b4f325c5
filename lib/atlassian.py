"""Atlassian's specifics: hosts and paths, the gateway, and response shapes.

3LO calls go through the API gateway as /ex/jira/{cloudid}/… and
/ex/confluence/{cloudid}/…, never to the site's own URL. The cloud id comes only from
accessible-resources, which lists every site of the grant in no particular order.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from lib import settings
from lib.errors import (
    ApiError,
    CredentialsRejected,
    Forbidden,
    Gone,
    InvalidResponse,
    NetworkError,
    NotFound,
    RateLimited,
    ScopeMissing,
    ScopeNotGranted,
    ServerError,
    Unauthorized,
)
from lib.http import host_of, origin_of, record_failure
from lib.oauth import AuthorizationServer
from lib.scopes import ENDPOINT_SCOPES, Requirement, product_of

logger = logging.getLogger(__name__)

AUDIENCE = "api.atlassian.com"
SCOPE_MISMATCH_MESSAGE = "scope does not match"

BODY_EXCERPT_LIMIT = 2000


@dataclass(frozen=True)
class Endpoints:
    """The authorization server and API gateway bases (real Atlassian or sandbox)."""

    auth_base: str = settings.ATLASSIAN_AUTH_BASE
    api_base: str = settings.ATLASSIAN_API_BASE

    @property
    def authorize_url(self) -> str:
        return f"{self.auth_base}/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.auth_base}/oauth/token"

    @property
    def accessible_resources_url(self) -> str:
        return f"{self.api_base}/oauth/token/accessible-resources"

    @property
    def me_url(self) -> str:
        return f"{self.api_base}/me"

    def jira_base(self, cloud_id: str) -> str:
        return f"{self.api_base}/ex/jira/{cloud_id}"

    def confluence_base(self, cloud_id: str) -> str:
        return f"{self.api_base}/ex/confluence/{cloud_id}"

    @property
    def api_origins(self) -> frozenset[str]:
        """Origins (scheme, host, port) an access token may be sent to."""
        return frozenset({origin_of(self.api_base)})


def authorization_server(endpoints: Endpoints) -> AuthorizationServer:
    """Return the OAuth endpoints with Atlassian's audience and prompt parameters."""
    return AuthorizationServer(
        authorize_url=endpoints.authorize_url,
        token_url=endpoints.token_url,
        extra_authorize_params=(("audience", AUDIENCE), ("prompt", "consent")),
    )


@dataclass(frozen=True)
class Site:
    """One entry of accessible-resources."""

    cloud_id: str
    name: str
    url: str
    scopes: tuple[str, ...]
    avatar_url: str | None

    @property
    def products(self) -> tuple[str, ...]:
        """Return the products the granted scopes reach on this site."""
        found = []
        for product in ("jira", "confluence"):
            if any(product_of(scope) == product for scope in self.scopes):
                found.append(product)
        return tuple(found)


# Requests ------------------------------------------------------------------------


def get_json(session: requests.Session, url: str, params=None):
    """GET a URL and return its JSON, raising the ApiError subclass for its status."""
    response = _send(session, "GET", url, params=params)
    raise_for_status(response)
    return _decode_json(response, url)


def post_json(session: requests.Session, url: str, body: dict):
    """POST a JSON body and return the JSON response, with the same error mapping
    as get_json. A POST is never retried."""
    response = _send(session, "POST", url, json=body)
    raise_for_status(response)
    return _decode_json(response, url)


def _send(session: requests.Session, method: str, url: str, **kwargs):
    """Send a request, turning a failure before any response into NetworkError.

    A session that carries `granted_scopes` is first checked against the
    endpoint's documented requirement, so a call the token cannot make is
    explained without being sent.
    """
    check_granted(session, method, url)
    started = time.monotonic()
    try:
        return session.request(method, url, **kwargs)
    except (
        requests.exceptions.ChunkedEncodingError,
        requests.exceptions.ContentDecodingError,
    ) as exc:
        record_failure(session, method, url, exc, started)
        logger.warning(
            "%s %s response was cut off: %s", method, _describe(url), type(exc).__name__
        )
        raise NetworkError(
            f"{method} {_describe(url)} returned a response that was cut off or "
            f"garbled while it was read ({type(exc).__name__}).",
            hint="Try again. If it repeats, a proxy may be cutting responses.",
        ) from exc
    except requests.RequestException as exc:
        record_failure(session, method, url, exc, started)
        logger.warning(
            "%s %s failed before a response: %s",
            method,
            _describe(url),
            type(exc).__name__,
        )
        raise NetworkError(
            f"{method} {_describe(url)} failed before a response: "
            f"{type(exc).__name__}.",
            hint="Check the network connection; if Atlassian is down, try later.",
        ) from exc


def _decode_json(response: requests.Response, url: str):
    try:
        return response.json()
    except (ValueError, RecursionError) as exc:
        raise InvalidResponse(
            f"{response.request.method} {_describe(url)} returned status "
            f"{response.status_code} with a body that is not JSON "
            f"({response.headers.get('Content-Type', 'no content type')}).",
            hint="A proxy or login page may have answered; check the API base URL.",
        ) from exc


def _describe(url: str) -> str:
    parts = urlsplit(url)
    return f"{host_of(url)}{parts.path}"


def raise_for_status(response: requests.Response) -> None:
    """Raise the ApiError subclass matching an error response, with a next step."""
    status = response.status_code
    if status < 400:
        return
    request = response.request
    body = response.text[:BODY_EXCERPT_LIMIT]
    detail = error_detail(response)
    where = f"{request.method} {_describe(request.url)}"
    common = {
        "status": status,
        "method": request.method,
        "url": request.url,
        "body": body,
    }

    if status == 401 and SCOPE_MISMATCH_MESSAGE in detail.lower():
        error = ScopeMissing(
            f"{where} was rejected: the token lacks a scope this endpoint needs.",
            hint="Tick the missing scope on the Scopes page, add it to the app in "
            "the developer console, and consent again.",
            **common,
        )
        error.required = _required_scopes(request.url)
        if error.required:
            error.message += f" It needs {error.required}."
        raise error
    if status == 401 and _signed_with_basic_auth(request):
        raise CredentialsRejected(
            f"{where} was rejected (401): Atlassian no longer accepts this email "
            "and API token.",
            hint="Create a new API token at id.atlassian.com (Security, API tokens) "
            "and save it again on the Email + API token page.",
            **common,
        )
    if status == 401:
        raise Unauthorized(
            f"{where} was rejected (401): the token is missing, expired or revoked.",
            hint="Refresh the token on the Connection page, or connect again.",
            **common,
        )
    if status == 403:
        raise Forbidden(
            f"{where} was forbidden (403). {detail}".strip(),
            hint="Your account lacks the product permission for this; a site "
            "administrator can grant it.",
            **common,
        )
    if status == 404:
        raise NotFound(
            f"{where} was not found (404). {detail}".strip(),
            hint="Check the site and the key or id; Atlassian also answers 404 for "
            "things your account may not see.",
            **common,
        )
    if status == 410:
        removed_search = urlsplit(request.url).path.endswith(
            ("/rest/api/3/search", "/rest/api/2/search")
        )
        raise Gone(
            f"{where} has been removed by Atlassian (410).",
            hint=(
                "Issue search moved to /rest/api/3/search/jql, which pages with "
                "nextPageToken instead of startAt and returns no total."
                if removed_search
                else "This endpoint no longer exists; use its documented replacement."
            ),
            **common,
        )
    if status == 429:
        error = RateLimited(
            f"{where} was rate limited (429).",
            hint="Wait and try again.",
            **common,
        )
        error.retry_after = _retry_after(response)
        if error.retry_after is not None:
            seconds = max(1, round(error.retry_after))
            unit = "second" if seconds == 1 else "seconds"
            error.hint = f"Wait {seconds} {unit}, then try again."
        raise error
    if status >= 500:
        raise ServerError(
            f"{where} failed on Atlassian's side ({status}).",
            hint="Atlassian may be unavailable; try again in a few minutes.",
            **common,
        )
    jql_search = "/search/" in urlsplit(request.url).path
    raise ApiError(
        f"Jira rejected the JQL query ({status}). {detail}".strip()
        if jql_search and status == 400
        else f"{where} was rejected ({status}). {detail}".strip(),
        hint=(
            "Check the JQL: Jira's message says what is wrong. Jira also requires a "
            "bounded query, with a restriction such as project = KEY."
            if jql_search and status == 400
            else "Check the request's parameters."
        ),
        **common,
    )


def _signed_with_basic_auth(request: requests.PreparedRequest) -> bool:
    return request.headers.get("Authorization", "").startswith("Basic ")


def error_detail(response: requests.Response) -> str:
    """Return the human part of an error body: gateway, Jira or Confluence shape."""
    try:
        payload = response.json()
    except (ValueError, RecursionError):
        return ""
    if not isinstance(payload, dict):
        return ""
    parts: list[str] = []
    if isinstance(payload.get("message"), str):
        parts.append(payload["message"])
    messages = payload.get("errorMessages")
    if isinstance(messages, list):
        parts.extend(str(message) for message in messages)
    errors = payload.get("errors")
    if isinstance(errors, dict):
        parts.extend(f"{name}: {text}" for name, text in errors.items())
    elif isinstance(errors, list):
        for item in errors:
            if isinstance(item, dict):
                parts.append(str(item.get("title") or item.get("detail") or ""))
    return " ".join(part for part in parts if part)


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _required_scopes(url: str) -> str:
    requirement = requirement_for(url)
    return requirement.describe() if requirement else ""


def requirement_for(url: str) -> Requirement | None:
    """Return the documented scope requirement of the endpoint a URL calls."""
    path = urlsplit(url).path
    for template, requirement in ENDPOINT_SCOPES.items():
        if _path_matches(path, template):
            return requirement
    return None


def check_granted(session: requests.Session, method: str, url: str) -> None:
    """Raise ScopeNotGranted when the session's granted scopes cannot meet the
    endpoint's complete requirement; sessions without granted scopes pass."""
    granted = getattr(session, "granted_scopes", None)
    requirement = requirement_for(url)
    if granted is None or requirement is None or not requirement.complete:
        return
    if requirement.is_met_by(granted):
        return
    needed = requirement.describe()
    raise ScopeNotGranted(
        f"{method} {_describe(url)} needs {needed}, which this connection was not "
        "granted, so the request was not sent.",
        required=needed,
        hint=f"Tick {needed} on the Scopes page, add it to the app in the "
        "developer console, and consent again.",
    )


def _path_matches(path: str, template: str) -> bool:
    """Match a request path's tail against an endpoint template with {id} parts."""
    template_parts = template.strip("/").split("/")
    path_parts = path.strip("/").split("/")
    if len(path_parts) < len(template_parts):
        return False
    tail = path_parts[len(path_parts) - len(template_parts) :]
    return all(
        expected.startswith("{") or expected == actual
        for expected, actual in zip(template_parts, tail, strict=True)
    )


# Parsers -------------------------------------------------------------------------


def parse_sites(payload) -> tuple[Site, ...]:
    """Parse accessible-resources (a bare JSON array)."""
    if not isinstance(payload, list):
        raise InvalidResponse(
            "accessible-resources did not return a JSON array.",
            hint="Check the API base URL.",
        )
    sites = []
    for entry in payload:
        if not isinstance(entry, dict) or not entry.get("id"):
            continue
        scopes = entry.get("scopes")
        sites.append(
            Site(
                cloud_id=str(entry["id"]),
                name=str(entry.get("name") or entry["id"]),
                url=str(entry.get("url") or ""),
                scopes=tuple(map(str, scopes)) if isinstance(scopes, list) else (),
                avatar_url=entry.get("avatarUrl"),
            )
        )
    return tuple(sites)


def int_field(payload: dict, name: str, default):
    """Return an integer field, the default when absent, or raise InvalidResponse."""
    value = payload.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidResponse(
            f"The response's {name} is {str(value)[:40]!r}, not an integer.",
            hint="Check the API base URL. A proxy may have changed the response.",
        )
    return value


# Calls ---------------------------------------------------------------------------


def list_sites(session: requests.Session, endpoints: Endpoints) -> tuple[Site, ...]:
    return parse_sites(get_json(session, endpoints.accessible_resources_url))


def get_me(session: requests.Session, endpoints: Endpoints) -> dict:
    """Return the consenting user's profile from /me (needs read:me)."""
    payload = get_json(session, endpoints.me_url)
    if not isinstance(payload, dict):
        raise InvalidResponse("/me did not return a JSON object.", hint="Try again.")
    return payload


def get_myself(session: requests.Session, endpoints: Endpoints, cloud_id: str) -> dict:
    url = f"{endpoints.jira_base(cloud_id)}/rest/api/3/myself"
    payload = get_json(session, url)
    if not isinstance(payload, dict):
        raise InvalidResponse("myself did not return a JSON object.", hint="Try again.")
    return payload
