"""The API gateway half: bearer-token checks, scope enforcement and identity routes.

These routes play api.atlassian.com. Each product route is wrapped by `api_route`,
which responds like the gateway before the product handler runs: 401 for a missing,
unknown, expired or revoked token, 404 for a site outside the grant, and 401
"scope does not match" when the granted scopes do not meet ENDPOINT_SCOPES.
Product routes also accept a scoped API token sent with basic auth
(`email:token`), which reaches every site with the token's own scopes.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lib.sandbox.api_tokens import gateway_access
from lib.sandbox.data import Dataset, Person, Site, timestamp
from lib.sandbox.oauth import base_url_of
from lib.sandbox.state import AccessToken, SandboxState
from lib.scopes import ENDPOINT_SCOPES, Requirement, product_of

SCOPE_MISMATCH = "Unauthorized; scope does not match"


@dataclass(frozen=True)
class ApiContext:
    """Request context of a product handler: the caller's token, its site, the data."""

    sandbox: SandboxState
    dataset: Dataset
    token: AccessToken
    base_url: str
    site: Site | None = None
    # The sites (cloud id to scopes) of a scoped API token; None for an OAuth
    # token, whose sites come from its grant.
    granted: dict[str, frozenset[str]] | None = None

    def product_base(self, product: str) -> str:
        """Return the gateway URL prefix of a product on the site."""
        return f"{self.base_url}/ex/{product}/{self.site.cloud_id}"

    def avatar_url(self, label: str) -> str:
        return f"{self.base_url}/avatars/{quote(label, safe='')}"


def gateway_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"code": status, "message": message}, status_code=status)


def bearer_token(request: Request) -> AccessToken | None:
    """Return the active access token of the Authorization header, or None."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return request.app.state.sandbox.find_access_token(value.strip())


Handler = Callable[[Request, ApiContext], Awaitable[Response]]


def api_route(
    product: str | None, template: str, requirement: Requirement | None = None
) -> Callable[[Handler], Callable]:
    """Wrap a handler with the gateway's token, site and scope checks.

    `product` is "jira" or "confluence" for routes under /ex/{product}/{cloudid},
    or None for routes of the gateway itself. `template` is the ENDPOINT_SCOPES key;
    `requirement` replaces its entry for an endpoint that ENDPOINT_SCOPES lacks.
    Gateway routes check the token's own scopes. Site routes check the scopes that
    the grant holds for that site, because every token of a grant reaches every
    site in it with that site's scopes.
    """
    requirement = requirement or ENDPOINT_SCOPES[template]

    def decorate(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            sandbox: SandboxState = request.app.state.sandbox
            token = bearer_token(request)
            granted = None
            scoped = gateway_access(request) if token is None and product else None
            if scoped is not None:
                token, granted = scoped.token, scoped.sites
            # NOTE: Atlassian documents no body for an expired or revoked token, so
            # the sandbox uses the gateway's 401 shape.
            if token is None:
                return gateway_error(401, "Unauthorized")
            context = ApiContext(
                sandbox, sandbox.dataset, token, base_url_of(request), granted=granted
            )
            if product is None:
                if not requirement.is_met_by(frozenset(token.scopes)):
                    return gateway_error(401, SCOPE_MISMATCH)
                return await handler(request, context)
            return await _site_endpoint(request, context, product, requirement, handler)

        return endpoint

    return decorate


async def _site_endpoint(request, context, product, requirement, handler) -> Response:
    cloud_id = request.path_params["cloudid"]
    granted = context.granted
    if granted is None:
        granted = context.sandbox.grant_sites(
            context.token.client_id, context.token.account_id
        )
    site = context.dataset.site_by_cloud_id(cloud_id)
    # NOTE: Atlassian documents no response for a cloud id outside the grant or a
    # product the site lacks. The sandbox returns 404 in the gateway's shape.
    if site is None or cloud_id not in granted:
        return gateway_error(404, f"No site with cloud id {cloud_id} is in this grant")
    if not site.has(product):
        return gateway_error(404, f"Site {site.name} has no {product.capitalize()}")
    if not requirement.is_met_by(granted[cloud_id]):
        return gateway_error(401, SCOPE_MISMATCH)
    return await handler(request, _with_site(context, site))


def _with_site(context: ApiContext, site: Site) -> ApiContext:
    return dataclasses.replace(context, site=site)


def site_scopes(site: Site, scopes: frozenset[str]) -> list[str]:
    """Return the scopes that belong to the site's products, sorted by name."""
    return sorted(name for name in scopes if product_of(name) in site.products)


@api_route(None, "/oauth/token/accessible-resources")
async def accessible_resources(request: Request, context: ApiContext) -> Response:
    """GET /oauth/token/accessible-resources: one entry per site in the grant."""
    granted = context.sandbox.grant_sites(
        context.token.client_id, context.token.account_id
    )
    resources = []
    for cloud_id, scopes in granted.items():
        site = context.dataset.site_by_cloud_id(cloud_id)
        if site is None:
            continue
        resources.append(
            {
                "id": site.cloud_id,
                "url": site.url(context.base_url),
                "name": site.name,
                "scopes": site_scopes(site, scopes),
                "avatarUrl": context.avatar_url(site.name),
            }
        )
    return JSONResponse(resources)


def profile_json(person: Person, context: ApiContext) -> dict:
    """Return the GET /me body for a person."""
    return {
        "account_type": "atlassian",
        "account_id": person.account_id,
        "email": person.email,
        "email_verified": True,
        "name": person.display_name,
        "picture": context.avatar_url(person.display_name),
        "account_status": "active",
        "nickname": person.nickname,
        "zoneinfo": person.time_zone,
        "locale": person.locale,
        "extended_profile": {
            "job_title": "Onboarding lead",
            "organization": "Übung & Co. KG",
            "department": "Platform",
            "location": "München",
        },
        "last_updated": timestamp(60 * 24 * 30),
    }


@api_route(None, "/me")
async def me(request: Request, context: ApiContext) -> Response:
    """GET /me: the profile of the account that consented."""
    return JSONResponse(profile_json(context.dataset.account, context))
