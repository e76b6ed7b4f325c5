"""The authorization server half: GET/POST /authorize, /error and POST /oauth/token.

These routes play auth.atlassian.com (and id.atlassian.com for the error page).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from urllib.parse import quote, unquote, unquote_plus, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from lib.sandbox.data import CONFLUENCE, JIRA, Dataset, Site
from lib.sandbox.pages import ScopeLine, render_consent, render_error
from lib.sandbox.state import Client, SandboxState, TokenError, TokenSet
from lib.scopes import BY_NAME, normalize_scopes, product_of

logger = logging.getLogger(__name__)

AUDIENCE = "api.atlassian.com"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _sandbox(request: Request) -> SandboxState:
    return request.app.state.sandbox


def base_url_of(request: Request) -> str:
    """Return the URL the client used to reach the sandbox, without a final slash."""
    return str(request.base_url).rstrip("/")


def _with_query(uri: str, params: dict[str, str | None]) -> str:
    """Append parameters to a URI's query, percent-encoding spaces as %20."""
    pairs = {key: value for key, value in params.items() if value is not None}
    extra = urlencode(pairs, quote_via=quote, safe="")
    parts = urlsplit(uri)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(
        location, status_code=302, headers={"Cache-Control": "no-store"}
    )


def _error_page_redirect(request: Request, error: str, description: str) -> Response:
    """Send the browser to the sandbox's own error page, never to the app."""
    query = f"error={quote(error)}&error_description={quote(description, safe=':/')}"
    return _redirect(f"{base_url_of(request)}/error?{query}")


def is_known_scope(name: str) -> bool:
    """Return whether a scope is in the catalogue or named like a granular scope."""
    return name in BY_NAME or name.endswith((":jira", ":confluence"))


def _request_problem(params) -> tuple[str, str] | None:
    """Return (error, error_description) for an invalid authorize request, or None.

    NOTE: Atlassian does not document how /authorize responds to a bad response_type,
    audience or scope. The sandbox redirects with the RFC 6749 section 4.1.2.1
    error codes. The current generic 3LO page omits `audience` from its example,
    so the real server may accept a request without it.
    """
    response_type = params.get("response_type")
    if not response_type:
        return "invalid_request", "Missing required parameter: response_type"
    if response_type != "code":
        return "invalid_request", f"response_type must be code, not {response_type}"
    audience = params.get("audience")
    if not audience:
        return "invalid_request", f"Missing required parameter: audience ({AUDIENCE})"
    if audience != AUDIENCE:
        return "invalid_request", f"audience must be {AUDIENCE}, not {audience}"
    scopes = normalize_scopes((params.get("scope") or "").split(" "))
    if not scopes:
        return "invalid_scope", "Missing required parameter: scope"
    unknown = [name for name in scopes if not is_known_scope(name)]
    if unknown:
        return "invalid_scope", "Unknown scope: " + " ".join(unknown)
    return None


def sites_for_scopes(dataset: Dataset, scopes: tuple[str, ...]) -> list[Site]:
    """Return the sites that have a product of the scopes (all sites if none)."""
    products = {product_of(name) for name in scopes} & {JIRA, CONFLUENCE}
    if not products:
        return list(dataset.sites)
    return [site for site in dataset.sites if products & site.products]


def _scope_lines(scopes: tuple[str, ...]) -> list[ScopeLine]:
    lines = []
    for name in scopes:
        scope = BY_NAME.get(name)
        if scope is None:
            lines.append(ScopeLine(name))
        else:
            lines.append(ScopeLine(name, scope.summary, scope.description))
    return lines


async def authorize_page(request: Request) -> Response:
    """GET /authorize: check the request, then show the consent screen."""
    sandbox = _sandbox(request)
    params = request.query_params
    client_id = params.get("client_id", "")
    redirect_uri = params.get("redirect_uri", "")

    client = sandbox.get_client(client_id) if client_id else None
    if client is None:
        description = f"client_id is not registered: {client_id or '(missing)'}"
        return _error_page_redirect(request, "unauthorized_client", description)
    if redirect_uri != client.redirect_uri:
        description = f"redirect_uri is not registered for client: {redirect_uri}"
        return _error_page_redirect(request, "unauthorized_client", description)

    if not client.sharing and not sandbox.config.app_owner_signed_in:
        # NOTE: Atlassian documents that an app in development mode works only for
        # its owner, but not the error it shows others, so this error is a stand-in.
        description = (
            "This app is in development mode and not shared: only its owner can "
            "authorize it"
        )
        return _error_page_redirect(request, "access_denied", description)

    state = params.get("state")
    problem = _request_problem(params)
    if problem is not None:
        error, description = problem
        logger.info("Authorize request of client %s rejected: %s", client_id, error)
        return _redirect(
            _with_query(
                redirect_uri,
                {"error": error, "error_description": description, "state": state},
            )
        )

    scopes = normalize_scopes(params["scope"].split(" "))
    pending = sandbox.start_authorization(client, scopes, state)
    return _consent_response(request, client, pending.request_id, scopes)


def _consent_response(
    request: Request, client: Client, request_id: str, scopes: tuple[str, ...]
) -> Response:
    dataset = _sandbox(request).dataset
    base_url = base_url_of(request)
    sites = [
        (site.cloud_id, f"{site.name} ({unquote(site.url(base_url))})")
        for site in sites_for_scopes(dataset, scopes)
    ]
    html = render_consent(
        client.name, dataset.account, _scope_lines(scopes), sites, request_id
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


async def authorize_decision(request: Request) -> Response:
    """POST /authorize: the Accept or Cancel button of the consent screen."""
    sandbox = _sandbox(request)
    form = await request.form()
    pending = sandbox.take_authorization(str(form.get("request_id", "")))
    if pending is None:
        return _error_html(
            "invalid_request",
            "The consent request is unknown, expired or already answered. Start the "
            "connection again from the app.",
        )

    decision = form.get("decision")
    if decision == "cancel":
        logger.info("Consent for client %s was cancelled", pending.client_id)
        return _redirect(
            _with_query(
                pending.redirect_uri,
                {
                    "error": "access_denied",
                    "error_description": "User did not authorize the request",
                    "state": pending.state,
                },
            )
        )
    if decision != "accept":
        return _error_html("invalid_request", f"Unknown decision: {decision}")

    cloud_id = str(form.get("site", ""))
    allowed = {
        site.cloud_id for site in sites_for_scopes(sandbox.dataset, pending.scopes)
    }
    if cloud_id not in allowed:
        return _error_html(
            "invalid_request",
            f"Site {cloud_id or '(missing)'} cannot be chosen for this request. Start "
            "the connection again from the app.",
        )
    site = sandbox.dataset.site_by_cloud_id(cloud_id)
    if site.slug in sandbox.config.admin_blocked_sites:
        description = (
            f"Your site admin must authorize this app for the site "
            f"{unquote(site.url(base_url_of(request)))} before the app can access "
            "your account."
        )
        return _error_page_redirect(request, "access_denied", description)
    code = sandbox.approve(pending, cloud_id)
    return _redirect(
        _with_query(pending.redirect_uri, {"code": code, "state": pending.state})
    )


def _error_html(error: str, description: str) -> HTMLResponse:
    return HTMLResponse(render_error(error, description), status_code=400)


async def error_page(request: Request) -> Response:
    """GET /error: the page a browser lands on when it must not return to the app."""
    params = request.query_params
    error = params.get("error", "unknown_error")
    description = params.get("error_description", "")
    return _error_html(error, description)


# Token endpoint


def _token_response(body: dict, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=_NO_STORE)


async def _read_token_fields(request: Request) -> dict[str, str]:
    """Return the token request's parameters from a JSON or form-encoded body."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type == "application/json":
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError) as exc:
            raise TokenError(
                400, "invalid_request", "The body is not valid JSON"
            ) from exc
        if not isinstance(body, dict):
            raise TokenError(400, "invalid_request", "The JSON body must be an object")
        return {key: value for key, value in body.items() if isinstance(value, str)}
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        return {key: value for key, value in form.items() if isinstance(value, str)}
    raise TokenError(
        400,
        "invalid_request",
        "Content-Type must be application/json or application/x-www-form-urlencoded",
    )


def _client_credentials(request: Request, fields: dict[str, str]):
    """Return (client_id, client_secret) from HTTP Basic or from the body."""
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return fields.get("client_id"), fields.get("client_secret")

    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise TokenError(401, "access_denied", "Unauthorized") from exc
    client_id, _, secret = decoded.partition(":")
    # RFC 6749 section 2.3.1 form-encodes both parts before joining them.
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    if fields.get("client_id") not in (None, client_id):
        raise TokenError(401, "access_denied", "Unauthorized")
    return client_id, secret


def _require(fields: dict[str, str], name: str) -> str:
    value = fields.get(name)
    if not value:
        raise TokenError(400, "invalid_request", f"Missing required parameter: {name}")
    return value


def _token_body(tokens: TokenSet) -> dict:
    body = {
        "access_token": tokens.access_token,
        "expires_in": tokens.expires_in,
        "token_type": "Bearer",
    }
    if tokens.refresh_token is not None:
        body["refresh_token"] = tokens.refresh_token
    body["scope"] = " ".join(tokens.scopes)
    return body


async def token(request: Request) -> Response:
    """POST /oauth/token: redeem an authorization code or rotate a refresh token."""
    sandbox = _sandbox(request)
    try:
        fields = await _read_token_fields(request)
        client = sandbox.authenticate_client(*_client_credentials(request, fields))
        grant_type = _require(fields, "grant_type")
        sandbox.count_token_request(grant_type)
        if grant_type == "authorization_code":
            code = _require(fields, "code")
            redirect_uri = _require(fields, "redirect_uri")
            tokens = sandbox.exchange_code(client, code, redirect_uri)
        elif grant_type == "refresh_token":
            tokens = sandbox.refresh(client, _require(fields, "refresh_token"))
        else:
            raise TokenError(
                400, "unsupported_grant_type", f"Unsupported grant type: {grant_type}"
            )
    except TokenError as exc:
        logger.info("Token request rejected: %d %s", exc.status, exc.error)
        body = {"error": exc.error, "error_description": exc.description}
        return _token_response(body, exc.status)

    logger.info("Issued tokens to client %s (%s)", client.client_id, grant_type)
    return _token_response(_token_body(tokens))
