"""API tokens of the practice account, their control routes, and basic auth checks.

Atlassian accounts create API tokens at id.atlassian.com and send them with HTTP
basic auth as `email:token`. A classic token works on the site URL
(`https://<name>.atlassian.net`). A scoped token carries scopes and works only
through the gateway (`api.atlassian.com/ex/{product}/{cloudid}`), and the site URL
rejects it with 401.

The registry is its own object at `app.state.api_tokens`, apart from the OAuth
state, and starts with one classic token of the practice account.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lib.sandbox.admin import InvalidControlRequest
from lib.sandbox.data import PRACTICE_USER, Person
from lib.sandbox.oauth import is_known_scope
from lib.sandbox.state import AccessToken

logger = logging.getLogger(__name__)

CLASSIC = "classic"
SCOPED = "scoped"
TOKEN_KINDS = (CLASSIC, SCOPED)

PRACTICE_API_TOKEN_ID = "practice"
PRACTICE_API_TOKEN_EMAIL = PRACTICE_USER.email
PRACTICE_API_TOKEN = "ATATT-practice-api-token"

# The client id that AccessToken records of API tokens carry, so that no OAuth
# grant can ever match them.
API_TOKEN_CLIENT_ID = "api-token"

# The scopes of a scoped token created without a `scopes` list: enough for
# `myself`, the current Confluence user, and the explorer's lists.
DEFAULT_SCOPED_SCOPES = (
    "read:jira-work",
    "read:jira-user",
    "read:confluence-user",
    "read:confluence-space.summary",
    "read:space:confluence",
    "read:page:confluence",
)

# Atlassian lets an API token live from one day up to one year.
MAX_TOKEN_LIFETIME = 365 * 86400


@dataclass
class ApiToken:
    """One API token of an account; `secret` is what the account pastes."""

    token_id: str
    secret: str = field(repr=False)
    account: Person
    kind: str
    scopes: tuple[str, ...]
    label: str
    created_at: float
    expires_at: float | None = None
    revoked_at: float | None = None

    def is_active(self, now: float) -> bool:
        expired = self.expires_at is not None and now >= self.expires_at
        return self.revoked_at is None and not expired

    def describe(self, now: float) -> dict:
        """Return the token as the control routes list it, without the secret."""
        return {
            "id": self.token_id,
            "email": self.account.email,
            "kind": self.kind,
            "scopes": list(self.scopes),
            "label": self.label,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "revoked": self.revoked_at is not None,
            "active": self.is_active(now),
        }

    def access_token(self) -> AccessToken:
        """Return an AccessToken record for the gateway's handlers: the account
        and the scopes, under a client id that no OAuth grant uses."""
        return AccessToken(
            client_id=API_TOKEN_CLIENT_ID,
            account_id=self.account.account_id,
            scopes=self.scopes,
            expires_at=float("inf"),
            family=self.token_id,
        )


class ApiTokenRegistry:
    """The API tokens of one sandbox app, safe to use from several threads."""

    def __init__(self, now: Callable[[], float], account: Person = PRACTICE_USER):
        self._now = now
        self.account = account
        self._lock = threading.Lock()
        self._tokens: dict[str, ApiToken] = {}
        self._seed()

    def _seed(self) -> None:
        self._tokens[PRACTICE_API_TOKEN_ID] = ApiToken(
            token_id=PRACTICE_API_TOKEN_ID,
            secret=PRACTICE_API_TOKEN,
            account=self.account,
            kind=CLASSIC,
            scopes=(),
            label="Practice token",
            created_at=self._now(),
        )

    def create(
        self,
        kind: str,
        scopes: tuple[str, ...] = (),
        label: str = "",
        lifetime: float | None = None,
    ) -> ApiToken:
        """Create a token of the practice account; a scoped one without scopes
        gets DEFAULT_SCOPED_SCOPES, and a classic one has none."""
        if kind not in TOKEN_KINDS:
            raise ValueError(f"kind must be one of {', '.join(TOKEN_KINDS)}")
        now = self._now()
        token = ApiToken(
            token_id=secrets.token_hex(6),
            secret="ATATT" + secrets.token_urlsafe(32),
            account=self.account,
            kind=kind,
            scopes=(scopes or DEFAULT_SCOPED_SCOPES) if kind == SCOPED else (),
            label=label or f"{kind.capitalize()} token",
            created_at=now,
            expires_at=now + lifetime if lifetime is not None else None,
        )
        with self._lock:
            self._tokens[token.token_id] = token
        logger.info("Created %s API token %s", kind, token.token_id)
        return token

    def revoke(self, token_id: str) -> ApiToken | None:
        """Revoke a token; return it, or None when no token has that id."""
        with self._lock:
            token = self._tokens.get(token_id)
            if token is not None and token.revoked_at is None:
                token.revoked_at = self._now()
        if token is not None:
            logger.info("Revoked API token %s", token_id)
        return token

    def tokens(self) -> list[ApiToken]:
        with self._lock:
            return list(self._tokens.values())

    def reset(self) -> None:
        """Forget every token, then create the practice token again."""
        with self._lock:
            self._tokens.clear()
            self._seed()
        logger.info("API tokens reset to the practice token")

    def authenticate(self, email: str, secret: str) -> ApiToken | None:
        """Return the active token whose secret matches and whose account has
        this email (compared without regard to case), or None."""
        now = self._now()
        found = None
        for token in self.tokens():
            if hmac.compare_digest(token.secret.encode(), secret.encode()):
                found = token
        if found is None or not found.is_active(now):
            return None
        if found.account.email.casefold() != email.casefold():
            return None
        return found

    def from_request(self, request: Request) -> ApiToken | None:
        """Return the active token of the request's basic Authorization header."""
        credentials = basic_credentials(request)
        if credentials is None:
            return None
        return self.authenticate(*credentials)


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """Return (email, token) of a basic Authorization header, or None when the
    header is missing, uses another scheme or does not decode."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    email, colon, secret = decoded.partition(":")
    if not colon or not email or not secret:
        return None
    return email, secret


def registry_of(request: Request) -> ApiTokenRegistry | None:
    return getattr(request.app.state, "api_tokens", None)


@dataclass(frozen=True)
class GatewayAccess:
    """A scoped API token accepted by the gateway: its AccessToken record and the
    scopes it holds on each site (cloud id to scopes)."""

    token: AccessToken
    sites: dict[str, frozenset[str]]


def gateway_access(request: Request) -> GatewayAccess | None:
    """Return the gateway access of a scoped token sent with basic auth, or None.

    A scoped token reaches every sample site, with its own scopes on each. A
    classic token gets None, so the gateway rejects it with 401 like an unknown one.
    """
    registry = registry_of(request)
    token = registry.from_request(request) if registry is not None else None
    if token is None or token.kind != SCOPED:
        return None
    scopes = frozenset(token.scopes)
    dataset = request.app.state.sandbox.dataset
    return GatewayAccess(
        token=token.access_token(),
        sites={site.cloud_id: scopes for site in dataset.sites},
    )


# Control routes


async def _json_object(request: Request) -> dict:
    try:
        body = json.loads(await request.body() or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidControlRequest("The body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise InvalidControlRequest("The body must be a JSON object")
    return body


def _parse_create(body: dict) -> tuple[str, tuple[str, ...], str, float | None]:
    kind = body.get("kind", CLASSIC)
    if kind not in TOKEN_KINDS:
        raise InvalidControlRequest(f"kind must be one of {', '.join(TOKEN_KINDS)}")
    scopes = body.get("scopes", [])
    if not isinstance(scopes, list) or not all(
        isinstance(name, str) and name for name in scopes
    ):
        raise InvalidControlRequest("scopes must be a list of scope names")
    unknown = [name for name in scopes if not is_known_scope(name)]
    if unknown:
        raise InvalidControlRequest(f"Unknown scope {unknown[0]}")
    if scopes and kind == CLASSIC:
        raise InvalidControlRequest("A classic token has no scopes; use kind scoped")
    label = body.get("label", "")
    if not isinstance(label, str):
        raise InvalidControlRequest("label must be a string")
    lifetime = body.get("expires_in")
    if lifetime is not None and (
        isinstance(lifetime, bool)
        or not isinstance(lifetime, int | float)
        or not 1 <= lifetime <= MAX_TOKEN_LIFETIME
    ):
        raise InvalidControlRequest(
            f"expires_in must be a number of seconds from 1 to {MAX_TOKEN_LIFETIME}"
        )
    return kind, tuple(scopes), label, lifetime


async def api_tokens(request: Request) -> Response:
    """GET lists the tokens, POST creates one, DELETE resets to the practice token."""
    registry: ApiTokenRegistry = request.app.state.api_tokens
    now = request.app.state.sandbox.now()
    if request.method == "DELETE":
        registry.reset()
        return JSONResponse({"reset": True})
    if request.method == "GET":
        return JSONResponse([token.describe(now) for token in registry.tokens()])

    try:
        kind, scopes, label, lifetime = _parse_create(await _json_object(request))
    except InvalidControlRequest as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    token = registry.create(kind, scopes, label, lifetime)
    # The secret is returned once, as Atlassian shows a new token only once.
    body = {**token.describe(now), "token": token.secret}
    return JSONResponse(body, status_code=201)


async def revoke_api_token(request: Request) -> Response:
    """DELETE /_sandbox/api-tokens/{token_id}: revoke one token."""
    registry: ApiTokenRegistry = request.app.state.api_tokens
    token_id = request.path_params["token_id"]
    token = registry.revoke(token_id)
    if token is None:
        return JSONResponse({"error": f"No API token {token_id}"}, status_code=404)
    return JSONResponse(token.describe(request.app.state.sandbox.now()))


CONTROL_ROUTES = [
    Route("/_sandbox/api-tokens", api_tokens, methods=["GET", "POST", "DELETE"]),
    Route("/_sandbox/api-tokens/{token_id}", revoke_api_token, methods=["DELETE"]),
]
