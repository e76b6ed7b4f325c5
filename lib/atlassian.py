"""Atlassian's specifics: hosts and paths, the gateway, and response shapes.

3LO calls go through the API gateway as /ex/jira/{cloudid}/… and
/ex/confluence/{cloudid}/…, never to the site's own URL. The cloud id comes only from
accessible-resources, which lists every site of the grant in no particular order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests

from lib import settings
from lib.errors import (
    ApiError,
    Forbidden,
    Gone,
    InvalidResponse,
    NetworkError,
    NotFound,
    RateLimited,
    ScopeMissing,
    ServerError,
    Unauthorized,
)
from lib.http import host_of
from lib.oauth import AuthorizationServer
from lib.scopes import ENDPOINT_SCOPES, product_of

logger = logging.getLogger(__name__)

AUDIENCE = "api.atlassian.com"
SCOPE_MISMATCH_MESSAGE = "scope does not match"

# Largest page sizes the APIs accept.
PROJECT_PAGE_MAX = 100
SPACE_PAGE_MAX_V2 = 250
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
    def api_hosts(self) -> frozenset[str]:
        """Hosts an access token may be sent to."""
        return frozenset({host_of(self.api_base)})


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


@dataclass(frozen=True)
class Project:
    id: str
    key: str
    name: str
    type_key: str | None
    style: str | None
    is_private: bool | None
    lead: str | None


@dataclass(frozen=True)
class ProjectPage:
    projects: tuple[Project, ...]
    start_at: int
    max_results: int
    total: int | None
    is_last: bool
    url: str
    raw: object = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Space:
    id: str
    key: str
    name: str
    type: str | None
    status: str | None
    webui: str | None


@dataclass(frozen=True)
class SpacePage:
    """One page of spaces, with `api` naming the API that returned it ("v2" or "v1")."""

    spaces: tuple[Space, ...]
    api: str
    next_url: str | None
    url: str
    raw: object = field(default=None, repr=False, compare=False)


# Requests ------------------------------------------------------------------------


def get_json(session: requests.Session, url: str, params=None):
    """GET a URL and return its JSON, raising the ApiError subclass for its status."""
    try:
        response = session.get(url, params=params)
    except requests.RequestException as exc:
        logger.warning(
            "GET %s failed before a response: %s", _describe(url), type(exc).__name__
        )
        raise NetworkError(
            f"GET {_describe(url)} failed before a response: {type(exc).__name__}.",
            hint="Check the network connection; if Atlassian is down, try later.",
        ) from exc
    raise_for_status(response)
    try:
        return response.json()
    except ValueError as exc:
        raise InvalidResponse(
            f"GET {_describe(url)} returned status {response.status_code} with a "
            "body that is not JSON "
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
        raise Gone(
            f"{where} has been removed by Atlassian (410).",
            hint="This endpoint no longer exists; use its documented replacement.",
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
            error.hint = f"Wait {error.retry_after:.0f} seconds, then try again."
        raise error
    if status >= 500:
        raise ServerError(
            f"{where} failed on Atlassian's side ({status}).",
            hint="Atlassian may be unavailable; try again in a few minutes.",
            **common,
        )
    raise ApiError(
        f"{where} was rejected ({status}). {detail}".strip(),
        hint="Check the request's parameters.",
        **common,
    )


def error_detail(response: requests.Response) -> str:
    """Return the human part of an error body: gateway, Jira or Confluence shape."""
    try:
        payload = response.json()
    except ValueError:
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
    path = urlsplit(url).path
    for template, requirement in ENDPOINT_SCOPES.items():
        if _path_matches(path, template):
            return requirement.describe()
    return ""


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


def parse_project_page(payload, url: str) -> ProjectPage:
    if not isinstance(payload, dict) or not isinstance(payload.get("values"), list):
        raise InvalidResponse(
            "The project search response has no values list.",
            hint="Check the API base URL.",
        )
    projects = tuple(
        _parse_project(value) for value in payload["values"] if isinstance(value, dict)
    )
    return ProjectPage(
        projects=projects,
        start_at=_int_field(payload, "startAt", 0),
        max_results=_int_field(payload, "maxResults", len(projects)),
        total=_int_field(payload, "total", None),
        is_last=payload.get("isLast", True) is not False,
        url=url,
        raw=payload,
    )


def _int_field(payload: dict, name: str, default):
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


def _parse_project(value: dict) -> Project:
    lead = value.get("lead")
    private = value.get("isPrivate")
    return Project(
        id=str(value.get("id", "")),
        key=str(value.get("key", "")),
        name=str(value.get("name", "")),
        type_key=value.get("projectTypeKey"),
        style=value.get("style"),
        is_private=private if isinstance(private, bool) else None,
        lead=lead.get("displayName") if isinstance(lead, dict) else None,
    )


def parse_space_page(payload, url: str, api: str) -> SpacePage:
    if not isinstance(payload, dict) or not isinstance(payload.get("results"), list):
        raise InvalidResponse(
            "The space list response has no results list.",
            hint="Check the API base URL.",
        )
    spaces = tuple(
        _parse_space(value) for value in payload["results"] if isinstance(value, dict)
    )
    links = payload.get("_links") if isinstance(payload.get("_links"), dict) else {}
    next_link = links.get("next")
    return SpacePage(
        spaces=spaces,
        api=api,
        next_url=next_link if isinstance(next_link, str) and next_link else None,
        url=url,
        raw=payload,
    )


def _parse_space(value: dict) -> Space:
    links = value.get("_links") if isinstance(value.get("_links"), dict) else {}
    return Space(
        id=str(value.get("id", "")),
        key=str(value.get("key", "")),
        name=str(value.get("name", "")),
        type=value.get("type"),
        status=value.get("status"),
        webui=links.get("webui"),
    )


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


def search_projects(
    session: requests.Session,
    endpoints: Endpoints,
    cloud_id: str,
    *,
    start_at: int = 0,
    max_results: int = 50,
    query: str | None = None,
) -> ProjectPage:
    """Return one page of Jira projects visible to the user.

    Jira returns 404 when no project matches the search, and that becomes an
    empty last page.
    """
    url = f"{endpoints.jira_base(cloud_id)}/rest/api/3/project/search"
    params = {
        "startAt": max(0, start_at),
        "maxResults": min(max(1, max_results), PROJECT_PAGE_MAX),
        "orderBy": "key",
    }
    if query:
        params["query"] = query
    try:
        payload = get_json(session, url, params=params)
    except NotFound:
        return ProjectPage((), start_at, params["maxResults"], 0, True, url)
    return parse_project_page(payload, url)


def confluence_api_for(granted_scopes) -> str | None:
    """Return "v2" or "v1": the space API the granted scopes allow, or None."""
    granted = frozenset(granted_scopes)
    if ENDPOINT_SCOPES["/wiki/api/v2/spaces"].is_met_by(granted):
        return "v2"
    if ENDPOINT_SCOPES["/wiki/rest/api/space"].is_met_by(granted):
        return "v1"
    return None


def list_spaces(
    session: requests.Session,
    endpoints: Endpoints,
    cloud_id: str,
    *,
    api: str = "v2",
    limit: int = 25,
    next_url: str | None = None,
) -> SpacePage:
    """Return one page of Confluence spaces from REST v2, or v1 when `api="v1"`.

    `next_url` is the `_links.next` of the previous page. It is joined to the
    gateway base as it came, without decoding or re-encoding the cursor.
    """
    base = endpoints.confluence_base(cloud_id)
    if next_url:
        url = _join_next_link(base, next_url, api)
        return parse_space_page(get_json(session, url), url, api)

    if api == "v2":
        url = f"{base}/wiki/api/v2/spaces"
        params = {"limit": min(max(1, limit), SPACE_PAGE_MAX_V2)}
    else:
        url = f"{base}/wiki/rest/api/space"
        params = {"start": 0, "limit": max(1, limit)}
    return parse_space_page(get_json(session, url, params=params), url, api)


def _join_next_link(base: str, next_url: str, api: str) -> str:
    """Join a relative `_links.next` to the gateway's Confluence base.

    v2 links start with /wiki/…; v1 links are relative to the /wiki context.
    """
    if next_url.startswith(("http://", "https://")):
        if host_of(next_url) != host_of(base):
            raise InvalidResponse(
                f"The next-page link points at another host ({host_of(next_url)}).",
                hint="Reload the list; the link was not followed.",
            )
        return next_url
    if api == "v1" and not next_url.startswith("/wiki/"):
        next_url = "/wiki" + next_url
    return urljoin(base + "/", next_url.lstrip("/"))
