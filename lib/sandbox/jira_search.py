"""Jira issue routes under /ex/jira/{cloudid}/rest/api: enhanced search, issues.

- GET and POST /rest/api/3/search/jql page with an opaque nextPageToken and
  return no total. The token is bound to the site and the JQL text, so a token
  of another query gets 400.
- POST /rest/api/3/search/approximate-count returns {"count": N}.
- GET /rest/api/3/issue/{issueIdOrKey} returns one issue, all fields by default.
- GET and POST /rest/api/3/search and /rest/api/2/search, which Atlassian
  removed, return 410 Gone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import struct
from array import array
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lib.sandbox import jql
from lib.sandbox.data import JIRA
from lib.sandbox.gateway import ApiContext, api_route
from lib.sandbox.issue_json import (
    EXPAND_OPTIONS,
    HEAVY_FIELDS,
    IssueRenderer,
    names_json,
    schema_json,
    select_fields,
)
from lib.sandbox.jira import jira_error

DEFAULT_MAX_RESULTS = 50
MAX_RESULTS_LIMIT = 5000
# NOTE: Jira documents only that pages get smaller when many fields are requested.
# The sandbox's page sizes: up to 5000 issues with ids only, 1000 with light
# fields, and 100 with *all, *navigable, description, comment, worklog or
# attachment, or with the renderedFields, changelog, transitions or
# versionedRepresentations expansions.
LIGHT_FIELDS_PAGE_LIMIT = 1000
HEAVY_PAGE_LIMIT = 100
_HEAVY_EXPANSIONS = frozenset(
    ("renderedFields", "changelog", "transitions", "versionedRepresentations")
)
MAX_PROPERTIES = 5
MAX_RECONCILE_ISSUES = 50
# Jira's nextPageToken expires after 7 days.
PAGE_TOKEN_LIFETIME = 7 * 86400
# The properties of Jira's SearchAndReconcileRequestBean, the POST body.
SEARCH_BODY_FIELDS = frozenset(
    (
        "jql", "nextPageToken", "maxResults", "fields", "expand", "properties",
        "fieldsByKeys", "failFast", "reconcileIssues",
    )
)  # fmt: skip

ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."
# NOTE: Atlassian does not document the body of the 410 that the removed search
# endpoints return. This wording is the sandbox's own.
REMOVED_SEARCH_MESSAGE = (
    "This search endpoint has been removed. Search with GET or POST "
    "/rest/api/3/search/jql, which pages with nextPageToken instead of startAt."
)


class InvalidSearch(ValueError):
    """A search request that gets 400. `messages` become errorMessages."""

    def __init__(self, *messages: str):
        super().__init__(messages[0])
        self.messages = list(messages)


class UnsupportedMediaType(ValueError):
    """A POST whose Content-Type is not JSON."""


@dataclass
class SearchRequest:
    """The parameters of one search/jql call, from the query string or the body."""

    jql: str = ""
    next_page_token: str | None = None
    max_results: int = DEFAULT_MAX_RESULTS
    fields: list[str] = field(default_factory=list)
    expand: set[str] = field(default_factory=set)
    properties: list[str] = field(default_factory=list)
    reconcile_issues: list[int] = field(default_factory=list)


def _search_error(exc: InvalidSearch | jql.JqlError) -> JSONResponse:
    return JSONResponse({"errorMessages": exc.messages, "errors": {}}, 400)


def _split(values: list[str]) -> list[str]:
    """Return repeated parameter values, also splitting comma-separated ones."""
    parts = []
    for value in values:
        parts.extend(part.strip() for part in value.split(",") if part.strip())
    return parts


def _whole_number(raw: str, name: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise InvalidSearch(f"The value '{raw}' of {name} is not a number.") from None


def _boolean(raw: str, name: str) -> bool:
    if raw.lower() not in ("true", "false"):
        raise InvalidSearch(f"The value '{raw}' of {name} must be true or false.")
    return raw.lower() == "true"


def _checked_lists(request: SearchRequest) -> SearchRequest:
    if len(request.properties) > MAX_PROPERTIES:
        raise InvalidSearch(
            f"At most {MAX_PROPERTIES} properties can be requested, not "
            f"{len(request.properties)}."
        )
    if len(request.reconcile_issues) > MAX_RECONCILE_ISSUES:
        raise InvalidSearch(
            f"At most {MAX_RECONCILE_ISSUES} reconcileIssues can be given, not "
            f"{len(request.reconcile_issues)}."
        )
    return request


def search_request_from_query(params) -> SearchRequest:
    """Read a GET search/jql request, or raise InvalidSearch on a bad value."""
    request = SearchRequest(
        jql=params.get("jql") or "",
        next_page_token=params.get("nextPageToken") or None,
        fields=_split(params.getlist("fields")),
        expand=set(_split(params.getlist("expand"))),
        properties=_split(params.getlist("properties")),
        reconcile_issues=[
            _whole_number(value, "reconcileIssues")
            for value in _split(params.getlist("reconcileIssues"))
        ],
    )
    if params.get("maxResults"):
        request.max_results = _whole_number(params["maxResults"], "maxResults")
    for name in ("fieldsByKeys", "failFast"):
        if params.get(name):
            _boolean(params[name], name)
    return _checked_lists(request)


async def _json_body(request: Request, allowed: frozenset[str]) -> dict[str, Any]:
    """Return the JSON object body of a POST, or raise on a wrong type or property.

    NOTE: the 415 for a body that is not JSON, and the 400 for an unknown property,
    follow what API users report from live calls; Atlassian documents neither.
    """
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise UnsupportedMediaType(content_type or "null")
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise InvalidSearch("The request body must be a JSON object.")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidSearch(
            f"Unrecognized field '{unknown[0]}' in the request body. Known fields: "
            + ", ".join(sorted(allowed))
            + "."
        )
    return body


def _typed(body: dict, name: str, kinds: tuple[type, ...], default: Any = None):
    value = body.get(name, default)
    if value is None:
        return default
    # bool is a subclass of int in Python, but true is not a number in JSON.
    wrong_bool = isinstance(value, bool) and bool not in kinds
    if wrong_bool or not isinstance(value, kinds):
        expected = " or ".join(kind.__name__ for kind in kinds)
        raise InvalidSearch(
            f"The field '{name}' of the request body must be {expected}."
        )
    return value


def _string_list(body: dict, name: str) -> list[str]:
    values = _typed(body, name, (list,), [])
    if not all(isinstance(value, str) for value in values):
        raise InvalidSearch(f"The field '{name}' must be a list of strings.")
    return values


def search_request_from_body(body: dict[str, Any]) -> SearchRequest:
    """Read a POST search/jql body (SearchAndReconcileRequestBean)."""
    reconcile = _typed(body, "reconcileIssues", (list,), [])
    if not all(
        isinstance(value, int) and not isinstance(value, bool) for value in reconcile
    ):
        raise InvalidSearch("The field 'reconcileIssues' must be a list of numbers.")
    _typed(body, "fieldsByKeys", (bool,))
    _typed(body, "failFast", (bool,))
    request = SearchRequest(
        jql=_typed(body, "jql", (str,), ""),
        next_page_token=_typed(body, "nextPageToken", (str,)) or None,
        max_results=_typed(body, "maxResults", (int,), DEFAULT_MAX_RESULTS),
        fields=_split(_string_list(body, "fields")),
        expand=set(_split([_typed(body, "expand", (str,), "")])),
        properties=_string_list(body, "properties"),
        reconcile_issues=reconcile,
    )
    return _checked_lists(request)


# Page tokens


def _query_fingerprint(cloud_id: str, query: str) -> bytes:
    return hashlib.blake2b(f"{cloud_id}\n{query}".encode(), digest_size=8).digest()


def encode_page_token(fingerprint: bytes, offset: int, issued_at: float) -> str:
    """Return an opaque token for the result at `offset` of a query."""
    raw = struct.pack(">BII", 1, offset, int(issued_at)) + fingerprint
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str, fingerprint: bytes, now: float) -> int:
    """Return the offset in a page token, or raise InvalidSearch when the token is
    malformed, expired, or was issued for another query or site.

    NOTE: Jira's wording for a bad token is not documented, so these messages are
    the sandbox's own.
    """
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        version, offset, issued_at = struct.unpack(">BII", raw[:9])
    except (binascii.Error, ValueError, struct.error):
        raise InvalidSearch(f"The nextPageToken '{token}' is not valid.") from None
    if version != 1 or raw[9:] != fingerprint:
        raise InvalidSearch(
            f"The nextPageToken '{token}' does not belong to this query. Send the "
            "same jql as the request that returned it."
        )
    if now - issued_at > PAGE_TOKEN_LIFETIME:
        raise InvalidSearch(
            f"The nextPageToken '{token}' has expired. Start again from the first page."
        )
    return offset


# Running a search


def _jql_context(context: ApiContext) -> jql.JqlContext:
    people = [
        (person.account_id, person.email, person.display_name)
        for person in context.dataset.people
    ]
    current = context.dataset.people.index(context.dataset.account)
    now_ms = int(context.sandbox.now() * 1000)
    return jql.JqlContext(
        context.site.issues, context.site.projects, people, current, now_ms
    )


def run_jql(context: ApiContext, query: str) -> array:
    """Return the matching rows of a JQL query, or raise JqlError.

    Results are cached per site and query for at most a minute of the sandbox's
    clock, because relative dates such as -1d move with it.
    """
    if not query.strip():
        raise jql.JqlError(jql.UNBOUNDED_MESSAGE)
    parsed = jql.parse(query)
    if parsed.where is None:
        raise jql.JqlError(jql.UNBOUNDED_MESSAGE)
    jql_context = _jql_context(context)
    search = jql.compile_query(parsed, jql_context)
    table = context.site.issues
    minute = jql_context.now_ms // 60_000
    cache_key = _query_fingerprint(context.site.cloud_id, f"{minute}\n{query}")
    return table.cached_search(cache_key, lambda: array("l", search.run(table)))


def _page_limit(requested: list[str], fields: list[str], expand: set[str]) -> int:
    """Return the largest page for the requested and the selected fields."""
    if not fields:
        return MAX_RESULTS_LIMIT
    if (
        {"*all", "*navigable"}.intersection(requested)
        or HEAVY_FIELDS.intersection(fields)
        or _HEAVY_EXPANSIONS & expand
    ):
        return HEAVY_PAGE_LIMIT
    return LIGHT_FIELDS_PAGE_LIMIT


def search_page(context: ApiContext, request: SearchRequest) -> dict[str, Any]:
    """Run a search request and return the response body.

    Raises InvalidSearch for a bad page token or maxResults, and JqlError for a
    query that Jira would reject.
    """
    fingerprint = _query_fingerprint(context.site.cloud_id, request.jql)
    now = context.sandbox.now()
    offset = 0
    if request.next_page_token:
        offset = decode_page_token(request.next_page_token, fingerprint, now)
    if request.max_results < 1:
        raise InvalidSearch(
            f"maxResults must be between 1 and {MAX_RESULTS_LIMIT}, not "
            f"{request.max_results}."
        )
    rows = run_jql(context, request.jql)

    fields = select_fields(request.fields, "id")
    expand = request.expand & EXPAND_OPTIONS
    # NOTE: a maxResults over 5000 is capped rather than rejected; Jira documents
    # only that it returns at most 5000 issues.
    size = min(request.max_results, _page_limit(request.fields, fields, expand))
    page = rows[offset : offset + size]
    renderer = IssueRenderer(context)
    body: dict[str, Any] = {
        "issues": [
            renderer.issue(row, fields, expand, bool(request.properties))
            for row in page
        ]
    }
    if offset + size < len(rows):
        body["nextPageToken"] = encode_page_token(fingerprint, offset + size, now)
    body["isLast"] = offset + size >= len(rows)
    if "names" in expand:
        body["names"] = names_json(fields)
    if "schema" in expand:
        body["schema"] = schema_json(fields)
    return body


def _unsupported_media_type(request: Request, content_type: str) -> JSONResponse:
    body = {
        "title": "Unsupported Media Type",
        "detail": f"Content-Type '{content_type}' is not supported.",
        "instance": _api_path(request),
    }
    return JSONResponse(body, 415, media_type="application/problem+json")


def _api_path(request: Request) -> str:
    """Return the path after /ex/jira/{cloudid}, the form that Jira reports."""
    prefix = f"/ex/jira/{request.path_params['cloudid']}"
    return request.url.path.removeprefix(prefix)


# Routes


@api_route(JIRA, "/rest/api/3/search/jql")
async def search_jql(request: Request, context: ApiContext) -> Response:
    """GET or POST /rest/api/3/search/jql: enhanced search with page tokens.

    GET reads the query string. POST reads only the JSON body and ignores the
    query string.
    """
    try:
        if request.method == "POST":
            body = await _json_body(request, SEARCH_BODY_FIELDS)
            search = search_request_from_body(body)
        else:
            search = search_request_from_query(request.query_params)
        return JSONResponse(search_page(context, search))
    except UnsupportedMediaType as exc:
        return _unsupported_media_type(request, str(exc))
    except (InvalidSearch, jql.JqlError) as exc:
        return _search_error(exc)


@api_route(JIRA, "/rest/api/3/search/approximate-count")
async def approximate_count(request: Request, context: ApiContext) -> Response:
    """POST /rest/api/3/search/approximate-count: {"count": N} for a JQL query.

    The sandbox's count is exact.
    """
    try:
        body = await _json_body(request, frozenset(("jql",)))
        query = _typed(body, "jql", (str,), "")
        rows = run_jql(context, query)
    except UnsupportedMediaType as exc:
        return _unsupported_media_type(request, str(exc))
    except (InvalidSearch, jql.JqlError) as exc:
        return _search_error(exc)
    return JSONResponse({"count": len(rows)})


@api_route(JIRA, "/rest/api/3/issue/{issueIdOrKey}")
async def issue(request: Request, context: ApiContext) -> Response:
    """GET /rest/api/3/issue/{issueIdOrKey}: one issue, with every field unless
    `fields` selects some."""
    params = request.query_params
    row = context.site.issues.find(request.path_params["issueIdOrKey"])
    if row is None:
        return jira_error(404, ISSUE_NOT_FOUND)

    fields = select_fields(_split(params.getlist("fields")), "*all")
    expand = set(_split(params.getlist("expand"))) & EXPAND_OPTIONS
    with_properties = bool(_split(params.getlist("properties")))
    body = IssueRenderer(context).issue(row, fields, expand, with_properties)
    if "names" in expand:
        body["names"] = names_json(fields)
    if "schema" in expand:
        body["schema"] = schema_json(fields)
    return JSONResponse(body)


async def _removed(request: Request, context: ApiContext) -> Response:
    return jira_error(410, REMOVED_SEARCH_MESSAGE)


removed_search_v3 = api_route(JIRA, "/rest/api/3/search")(_removed)
removed_search_v2 = api_route(JIRA, "/rest/api/2/search")(_removed)
