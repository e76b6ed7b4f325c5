"""Build the sandbox's Starlette app: one base URL plays both Atlassian hosts.

auth.atlassian.com: /authorize, /oauth/token (and id.atlassian.com's /error).
api.atlassian.com: /oauth/token/accessible-resources, /me, /ex/jira/{cloudid}/...,
/ex/confluence/{cloudid}/.... The routes under /sites and /avatars stand in for
the sites' own pages and for avatar images; /_sandbox contains the control routes.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from lib.sandbox import (
    admin,
    api_tokens,
    confluence,
    gateway,
    jira,
    jira_search,
    jira_v2,
    oauth,
    site_api,
    sites,
)
from lib.sandbox.config import SandboxConfig
from lib.sandbox.pages import render_not_found
from lib.sandbox.state import SandboxState

_JIRA = "/ex/jira/{cloudid}/rest/api/3"
_JIRA_V2 = "/ex/jira/{cloudid}/rest/api/2"
_WIKI = "/ex/confluence/{cloudid}/wiki"

ROUTES = [
    Route("/", sites.index),
    Route("/authorize", oauth.authorize_page, methods=["GET"]),
    Route("/authorize", oauth.authorize_decision, methods=["POST"]),
    Route("/error", oauth.error_page),
    Route("/oauth/token", oauth.token, methods=["POST"]),
    Route("/oauth/token/accessible-resources", gateway.accessible_resources),
    Route("/me", gateway.me),
    Route(f"{_JIRA}/project/search", jira.project_search),
    Route(f"{_JIRA_V2}/project/search", jira_v2.project_search),
    Route(f"{_JIRA}/myself", jira.myself),
    Route(
        f"{_JIRA}/universal_avatar/view/type/project/avatar/{{avatar_id:int}}",
        jira.project_avatar,
    ),
    Route(
        f"{_JIRA_V2}/universal_avatar/view/type/issuetype/avatar/{{avatar_id:int}}",
        jira.issue_type_avatar,
    ),
    Route(f"{_JIRA}/search/jql", jira_search.search_jql, methods=["GET", "POST"]),
    Route(
        f"{_JIRA}/search/approximate-count",
        jira_search.approximate_count,
        methods=["POST"],
    ),
    Route(f"{_JIRA}/issue/{{issueIdOrKey}}", jira_search.issue),
    Route(f"{_JIRA}/search", jira_search.removed_search_v3, methods=["GET", "POST"]),
    Route(f"{_JIRA_V2}/search", jira_search.removed_search_v2, methods=["GET", "POST"]),
    Route(f"{_WIKI}/api/v2/spaces", confluence.spaces_v2),
    Route(f"{_WIKI}/api/v2/spaces/{{id}}/pages", confluence.space_pages_v2),
    Route(f"{_WIKI}/api/v2/pages/{{id}}", confluence.page_v2),
    Route(f"{_WIKI}/rest/api/space", confluence.spaces_v1),
    *site_api.GATEWAY_ROUTES,
    Route("/sites/{slug}", sites.site_home),
    Route("/sites/{slug}/browse/{key}", sites.browse),
    # The site-URL API, before the catch-all HTML route of /sites/{slug}/wiki.
    *site_api.SITE_ROUTES,
    Route("/sites/{slug}/wiki", sites.wiki),
    Route("/sites/{slug}/wiki/{path:path}", sites.wiki),
    Route("/sites/{slug}/images/icons/{kind}/{name}", sites.icon),
    Route("/avatars/{label}", sites.avatar),
    Route("/_sandbox/health", admin.health),
    Route("/_sandbox/clients", admin.register_client, methods=["POST"]),
    Route("/_sandbox/settings", admin.settings, methods=["GET", "POST"]),
    Route("/_sandbox/faults", admin.faults, methods=["POST", "DELETE"]),
    Route("/_sandbox/reset", admin.reset, methods=["POST"]),
    Route("/_sandbox/stats", admin.stats),
    Route("/_sandbox/switches", admin.switches, methods=["GET", "POST"]),
    Route("/_sandbox/grants/revoke", admin.revoke_grants, methods=["POST"]),
    *api_tokens.CONTROL_ROUTES,
]


async def _http_error(request: Request, exc: HTTPException) -> Response:
    """Return 404 or 405 as HTML for browser pages and as JSON for the rest."""
    path = request.url.path
    if path == "/" or path.startswith(("/sites/", "/authorize", "/error")):
        message = f"Nothing is served at {path}."
        return HTMLResponse(render_not_found(message), status_code=exc.status_code)
    message = f"{exc.detail}: {request.method} {path}"
    return JSONResponse({"code": exc.status_code, "message": message}, exc.status_code)


def create_app(config: SandboxConfig | None = None) -> Starlette:
    """Return the sandbox app; its state is at `app.state.sandbox` and its API
    tokens at `app.state.api_tokens`."""
    sandbox = SandboxState(config or SandboxConfig())
    app = Starlette(
        routes=ROUTES,
        middleware=[Middleware(admin.LatencyAndFaults, sandbox=sandbox)],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.sandbox = sandbox
    app.state.api_tokens = api_tokens.ApiTokenRegistry(sandbox.now)
    return app
