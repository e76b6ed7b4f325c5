"""Jira and Confluence REST under each site's own URL, for API-token basic auth.

A real site serves `https://<name>.atlassian.net/rest/api/3/...` and
`.../wiki/...`; the sandbox serves them as `/sites/{slug}/rest/api/3/...` and
`/sites/{slug}/wiki/...`. These routes run the same product handlers as the
gateway (the function that `api_route` wraps), with a context whose product base
is the site URL, so `self` and paging links point back at the site.

Only a classic API token of the practice account, sent as basic auth, is
accepted. A scoped token, a 3LO bearer token, a wrong email or a revoked token get
401. This module also adds Confluence's current-user route to the gateway and
`/_edge/tenant_info`, which returns a site's cloud id without authentication.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lib.sandbox import confluence, jira, jira_search
from lib.sandbox.api_tokens import CLASSIC, registry_of
from lib.sandbox.data import CONFLUENCE, JIRA, Person, Site
from lib.sandbox.gateway import ApiContext, api_route, gateway_error
from lib.sandbox.oauth import base_url_of
from lib.scopes import Requirement

# NOTE: Atlassian documents no body for a basic-auth failure on a site URL, and
# third-party reports disagree on it. The sandbox returns the gateway's 401 body.
UNAUTHORIZED_MESSAGE = "Unauthorized"

# NOTE: ENDPOINT_SCOPES has no entry for the current Confluence user. This is the
# requirement that Confluence's v1 reference lists for it; no recorded response
# confirms it.
CURRENT_USER_REQUIREMENT = Requirement(
    classic=frozenset({"read:confluence-user"}),
    granular=frozenset({"read:content-details:confluence"}),
)


@dataclasses.dataclass(frozen=True)
class SiteApiContext(ApiContext):
    """An ApiContext whose product base is the site URL instead of the gateway."""

    def product_base(self, product: str) -> str:
        return self.site.url(self.base_url)


Endpoint = Callable[[Request], Awaitable[Response]]


def _site_request(request: Request, site: Site) -> Request:
    """Return the request with the path that a real site receives (without
    /sites/{slug}) and with the site's cloud id among the path parameters, as the
    gateway's handlers expect."""
    prefix = f"/sites/{site.slug}"
    tail = request.scope["path"].removeprefix(prefix) or "/"
    scope = dict(request.scope)
    scope["path"] = tail
    scope["raw_path"] = quote(tail).encode("ascii")
    scope["path_params"] = {**request.path_params, "cloudid": site.cloud_id}
    return Request(scope, request.receive)


def _person(context: ApiContext) -> Person:
    account_id = context.token.account_id
    found = (p for p in context.dataset.people if p.account_id == account_id)
    return next(found, context.dataset.account)


def site_route(
    product: str, gateway_endpoint: Endpoint, anonymous: Endpoint | None = None
) -> Endpoint:
    """Serve a gateway product route under the site URL with basic auth.

    `gateway_endpoint` is a function wrapped by `api_route`; its unwrapped handler
    runs here. A request without any Authorization header goes to `anonymous`
    when given, because Confluence serves some routes to anonymous users.
    """
    handler = gateway_endpoint.__wrapped__

    async def endpoint(request: Request) -> Response:
        sandbox = request.app.state.sandbox
        site = sandbox.dataset.site_by_slug(request.path_params["slug"])
        if site is None:
            return gateway_error(404, f"No site {request.path_params['slug']}")
        if not site.has(product):
            return gateway_error(404, f"Site {site.name} has no {product.capitalize()}")

        if anonymous is not None and "authorization" not in request.headers:
            return await anonymous(_site_request(request, site))
        registry = registry_of(request)
        token = registry.from_request(request) if registry is not None else None
        if token is None or token.kind != CLASSIC:
            return gateway_error(401, UNAUTHORIZED_MESSAGE)

        context = SiteApiContext(
            sandbox, sandbox.dataset, token.access_token(), base_url_of(request), site
        )
        return await handler(_site_request(request, site), context)

    endpoint.__name__ = f"site_{handler.__name__}"
    endpoint.__doc__ = handler.__doc__
    return endpoint


# Confluence's current user


def _wiki_base(request: Request, site: Site) -> str:
    return f"{site.url(base_url_of(request))}/wiki"


def _picture(label: str) -> dict:
    return {
        "path": f"/avatars/{quote(label, safe='')}",
        "width": 48,
        "height": 48,
        "isDefault": False,
    }


def current_user_json(context: ApiContext, person: Person) -> dict:
    """Return the GET /wiki/rest/api/user/current body of a signed-in person."""
    wiki = f"{context.site.url(context.base_url)}/wiki"
    return {
        "type": "known",
        "accountId": person.account_id,
        "accountType": "atlassian",
        "email": person.email,
        "publicName": person.display_name,
        "profilePicture": _picture(person.display_name),
        "displayName": person.display_name,
        "isExternalCollaborator": False,
        "_expandable": {"operations": "", "personalSpace": ""},
        "_links": {
            "self": f"{wiki}/rest/api/user?accountId={person.account_id}",
            "base": wiki,
            "context": "/wiki",
        },
    }


async def _current_user(request: Request, context: ApiContext) -> Response:
    """GET /wiki/rest/api/user/current: the calling user."""
    return JSONResponse(current_user_json(context, _person(context)))


current_user = api_route(
    CONFLUENCE, "/wiki/rest/api/user/current", CURRENT_USER_REQUIREMENT
)(_current_user)


async def anonymous_user(request: Request) -> Response:
    """GET /wiki/rest/api/user/current without credentials: Confluence's
    anonymous user, with `type` "anonymous" and no account id."""
    site = request.app.state.sandbox.dataset.site_by_cloud_id(
        request.path_params["cloudid"]
    )
    wiki = _wiki_base(request, site)
    body = {
        "type": "anonymous",
        "profilePicture": _picture("Anonymous"),
        "displayName": "Anonymous",
        "_expandable": {"operations": ""},
        "_links": {
            "self": f"{wiki}/rest/api/user/anonymous",
            "base": wiki,
            "context": "/wiki",
        },
    }
    return JSONResponse(body)


# The site's cloud id


async def tenant_info(request: Request) -> Response:
    """GET /sites/{slug}/_edge/tenant_info: {"cloudId": ...}, without auth."""
    site = request.app.state.sandbox.dataset.site_by_slug(request.path_params["slug"])
    if site is None:
        return gateway_error(404, f"No site {request.path_params['slug']}")
    return JSONResponse({"cloudId": site.cloud_id})


# Routes

_JIRA = "/sites/{slug}/rest/api/3"
_JIRA_V2 = "/sites/{slug}/rest/api/2"
_WIKI = "/sites/{slug}/wiki"

# Registered before /sites/{slug}/wiki/{path:path}, which serves the HTML pages.
SITE_ROUTES = [
    Route("/sites/{slug}/_edge/tenant_info", tenant_info),
    Route(f"{_JIRA}/project/search", site_route(JIRA, jira.project_search)),
    Route(f"{_JIRA}/myself", site_route(JIRA, jira.myself)),
    Route(
        f"{_JIRA}/universal_avatar/view/type/project/avatar/{{avatar_id:int}}",
        jira.project_avatar,
    ),
    Route(
        f"{_JIRA_V2}/universal_avatar/view/type/issuetype/avatar/{{avatar_id:int}}",
        jira.issue_type_avatar,
    ),
    Route(
        f"{_JIRA}/search/jql",
        site_route(JIRA, jira_search.search_jql),
        methods=["GET", "POST"],
    ),
    Route(
        f"{_JIRA}/search/approximate-count",
        site_route(JIRA, jira_search.approximate_count),
        methods=["POST"],
    ),
    Route(f"{_JIRA}/issue/{{issueIdOrKey}}", site_route(JIRA, jira_search.issue)),
    Route(
        f"{_JIRA}/search",
        site_route(JIRA, jira_search.removed_search_v3),
        methods=["GET", "POST"],
    ),
    Route(
        f"{_JIRA_V2}/search",
        site_route(JIRA, jira_search.removed_search_v2),
        methods=["GET", "POST"],
    ),
    Route(f"{_WIKI}/api/v2/spaces", site_route(CONFLUENCE, confluence.spaces_v2)),
    Route(
        f"{_WIKI}/api/v2/spaces/{{id}}/pages",
        site_route(CONFLUENCE, confluence.space_pages_v2),
    ),
    Route(f"{_WIKI}/api/v2/pages/{{id}}", site_route(CONFLUENCE, confluence.page_v2)),
    Route(f"{_WIKI}/rest/api/space", site_route(CONFLUENCE, confluence.spaces_v1)),
    Route(
        f"{_WIKI}/rest/api/user/current",
        site_route(CONFLUENCE, current_user, anonymous=anonymous_user),
    ),
]

GATEWAY_ROUTES = [
    Route("/ex/confluence/{cloudid}/wiki/rest/api/user/current", current_user),
]
