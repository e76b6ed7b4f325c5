"""Server-side state of the sandbox: clients, consents, codes, grants, tokens, faults.

One `SandboxState` belongs to one app. Its methods take a lock, because uvicorn's
event loop and the Python caller of `register_client` run in different threads.
Times come from `config.clock`, so tests can move time forward without sleeping.
"""

from __future__ import annotations

import collections
import hmac
import logging
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from lib.sandbox.config import (
    PRACTICE_APP_NAME,
    PRACTICE_CLIENT_ID,
    PRACTICE_CLIENT_SECRET,
    SandboxConfig,
)
from lib.sandbox.data import Dataset, build_dataset

logger = logging.getLogger(__name__)

# How long the consent screen stays valid after GET /authorize, in seconds.
AUTHORIZE_REQUEST_LIFETIME = 1800
# Like Atlassian's, refresh tokens expire after 90 days without use, and 365 days
# after the first one of their family was issued, whatever the use.
REFRESH_IDLE_LIFETIME = 90 * 86400
REFRESH_ABSOLUTE_LIFETIME = 365 * 86400
# Expired records are dropped at most this often, in seconds of `config.clock`.
_PRUNE_INTERVAL = 60


@dataclass
class Client:
    """A registered OAuth app. Without `sharing`, only its owner may consent."""

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    name: str
    sharing: bool = False


@dataclass(frozen=True)
class AuthorizeRequest:
    """A validated GET /authorize, kept until the consent form is submitted."""

    request_id: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    created_at: float


@dataclass
class AuthorizationCode:
    """A single-use code; `family` links it to every token issued from it."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    cloud_id: str
    account_id: str
    expires_at: float
    family: str
    used: bool = False


@dataclass
class AccessToken:
    """An issued access token; it stops working at expires_at or revoked_at."""

    client_id: str
    account_id: str
    scopes: tuple[str, ...]
    expires_at: float
    family: str
    revoked_at: float | None = None

    def is_active(self, now: float) -> bool:
        revoked = self.revoked_at is not None and now >= self.revoked_at
        return now < self.expires_at and not revoked


@dataclass
class RefreshToken:
    """An issued refresh token and the access token issued with it."""

    client_id: str
    account_id: str
    scopes: tuple[str, ...]
    family: str
    companion: str = field(repr=False)
    idle_expires_at: float
    absolute_expires_at: float
    rotated_at: float | None = None
    revoked_at: float | None = None

    def is_active(self, now: float) -> bool:
        revoked = self.revoked_at is not None and now >= self.revoked_at
        expired = now >= self.idle_expires_at or now >= self.absolute_expires_at
        return not revoked and not expired


@dataclass
class Grant:
    """The sites one account granted to one client, with the scopes for each site."""

    client_id: str
    account_id: str
    sites: dict[str, frozenset[str]] = field(default_factory=dict)


@dataclass
class TokenSet:
    """The tokens returned by one successful POST /oauth/token."""

    access_token: str = field(repr=False)
    expires_in: int
    scopes: tuple[str, ...]
    refresh_token: str | None = field(default=None, repr=False)


@dataclass
class Fault:
    """An error response injected for the next `count` requests under path_prefix."""

    path_prefix: str
    status: int
    count: int = 1
    retry_after: int | None = None
    # Retry-After sent exactly as given, to test clients against malformed values.
    retry_after_text: str | None = None
    body: Any = None
    reason: str | None = None
    method: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return path.startswith(self.path_prefix)


class TokenError(Exception):
    """A POST /oauth/token failure with its HTTP status and OAuth error fields."""

    def __init__(self, status: int, error: str, description: str):
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description


INVALID_CODE = "Invalid authorization code"
INVALID_REFRESH_TOKEN = "Unknown or invalid refresh token."


class SandboxState:
    """All mutable state of one sandbox app."""

    def __init__(self, config: SandboxConfig):
        self.config = config
        self._lock = threading.RLock()
        self._clients: dict[str, Client] = {}
        self._requests: dict[str, AuthorizeRequest] = {}
        self._codes: dict[str, AuthorizationCode] = {}
        self._grants: dict[tuple[str, str], Grant] = {}
        self._access_tokens: dict[str, AccessToken] = {}
        self._refresh_tokens: dict[str, RefreshToken] = {}
        self._faults: list[Fault] = []
        self._dataset: Dataset | None = None
        self._dataset_counts: tuple[int, ...] | None = None
        self._pruned_at = 0.0
        # Requests that reached POST /oauth/token, by grant_type, rejected ones too.
        self.token_requests: collections.Counter[str] = collections.Counter()
        self.register_client(
            PRACTICE_CLIENT_ID,
            PRACTICE_CLIENT_SECRET,
            config.practice_redirect_uri,
            name=PRACTICE_APP_NAME,
        )

    def now(self) -> float:
        return self.config.clock()

    @property
    def dataset(self) -> Dataset:
        """Return the sample data, rebuilt when one of its size switches changed."""
        config = self.config
        counts = (
            int(config.project_count),
            int(config.space_count),
            int(config.issue_count),
            int(config.handbook_pages),
        )
        with self._lock:
            if self._dataset is None or self._dataset_counts != counts:
                self._dataset = build_dataset(*counts)
                self._dataset_counts = counts
            return self._dataset

    # Clients

    def register_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        name: str = "",
        sharing: bool = False,
    ) -> Client:
        """Create or replace a client; its grants and tokens stay valid."""
        client = Client(
            client_id, client_secret, redirect_uri, name or client_id, sharing
        )
        with self._lock:
            self._clients[client_id] = client
        logger.info(
            "Registered client %s with redirect URI %s", client_id, redirect_uri
        )
        return client

    def get_client(self, client_id: str) -> Client | None:
        with self._lock:
            return self._clients.get(client_id)

    def authenticate_client(self, client_id: str | None, secret: str | None) -> Client:
        """Return the client whose id and secret match, or raise TokenError 401."""
        client = self.get_client(client_id) if client_id else None
        if client is None or not secret:
            raise TokenError(401, "access_denied", "Unauthorized")
        if not hmac.compare_digest(client.client_secret.encode(), secret.encode()):
            raise TokenError(401, "access_denied", "Unauthorized")
        return client

    # Consent

    def start_authorization(
        self, client: Client, scopes: tuple[str, ...], state: str | None
    ) -> AuthorizeRequest:
        """Store a validated authorize request under a new random id."""
        request = AuthorizeRequest(
            request_id=secrets.token_urlsafe(24),
            client_id=client.client_id,
            redirect_uri=client.redirect_uri,
            scopes=scopes,
            state=state,
            created_at=self.now(),
        )
        with self._lock:
            self._prune()
            self._requests[request.request_id] = request
        return request

    def take_authorization(self, request_id: str) -> AuthorizeRequest | None:
        """Remove and return a pending authorize request, or None if unknown or old."""
        with self._lock:
            request = self._requests.pop(request_id, None)
        if request is None:
            return None
        if self.now() - request.created_at > AUTHORIZE_REQUEST_LIFETIME:
            return None
        return request

    def approve(self, request: AuthorizeRequest, cloud_id: str) -> str:
        """Record the consent in the grant and return a new authorization code.

        NOTE: Atlassian does not document what a second consent for a site already
        in the grant does to that site's scopes. The sandbox replaces them with the
        newly consented scopes; other sites in the grant keep theirs.
        """
        account_id = self.dataset.account.account_id
        code = secrets.token_urlsafe(24)
        with self._lock:
            grant = self._grants.setdefault(
                (request.client_id, account_id),
                Grant(request.client_id, account_id),
            )
            grant.sites[cloud_id] = frozenset(request.scopes)
            # NOTE: Atlassian does not document the code lifetime; the sandbox
            # uses config.code_lifetime, 5 minutes by default.
            self._codes[code] = AuthorizationCode(
                client_id=request.client_id,
                redirect_uri=request.redirect_uri,
                scopes=request.scopes,
                cloud_id=cloud_id,
                account_id=account_id,
                expires_at=self.now() + self.config.code_lifetime,
                family=secrets.token_hex(8),
            )
        logger.info("Client %s was granted site %s", request.client_id, cloud_id)
        return code

    def grant_sites(self, client_id: str, account_id: str) -> dict[str, frozenset[str]]:
        """Return the granted sites (cloud id to scopes) in the order of consent."""
        with self._lock:
            grant = self._grants.get((client_id, account_id))
            return dict(grant.sites) if grant else {}

    # Token endpoint

    def exchange_code(self, client: Client, code: str, redirect_uri: str) -> TokenSet:
        """Redeem an authorization code, or raise TokenError.

        A code works once. Presenting it again before it expires revokes every
        token issued from it, as RFC 6749 section 4.1.2 advises, and fails like an
        unknown code.
        NOTE: Atlassian documents neither the status nor the wording of a bad code,
        so the sandbox returns 403 invalid_grant like its refresh-token errors.
        """
        now = self.now()
        with self._lock:
            entry = self._codes.get(code)
            if entry is None or entry.client_id != client.client_id:
                raise TokenError(403, "invalid_grant", INVALID_CODE)
            if entry.used:
                self._revoke_family(entry.family, now)
                logger.warning(
                    "Authorization code of client %s was reused; revoked its tokens",
                    client.client_id,
                )
                raise TokenError(403, "invalid_grant", INVALID_CODE)
            if now >= entry.expires_at:
                raise TokenError(403, "invalid_grant", INVALID_CODE)
            if redirect_uri != entry.redirect_uri:
                raise TokenError(
                    403,
                    "invalid_grant",
                    f"redirect_uri {redirect_uri} does not match the redirect_uri "
                    f"{entry.redirect_uri} of the authorization request",
                )
            entry.used = True
            return self._issue(
                client.client_id, entry.account_id, entry.scopes, entry.family
            )

    def refresh(self, client: Client, refresh_token: str) -> TokenSet:
        """Rotate a refresh token, or raise TokenError 403 invalid_grant.

        The used token and its companion access token keep working for
        config.refresh_reuse_seconds after its first use, then count as revoked.
        Reusing it within that window issues another new pair.
        """
        now = self.now()
        with self._lock:
            entry = self._refresh_tokens.get(refresh_token)
            if entry is None or entry.client_id != client.client_id:
                raise TokenError(403, "invalid_grant", INVALID_REFRESH_TOKEN)
            if not entry.is_active(now):
                raise TokenError(403, "invalid_grant", INVALID_REFRESH_TOKEN)
            if entry.rotated_at is None:
                entry.rotated_at = now
                entry.revoked_at = now + self.config.refresh_reuse_seconds
                companion = self._access_tokens.get(entry.companion)
                if companion is not None:
                    companion.revoked_at = entry.revoked_at
            return self._issue(
                client.client_id,
                entry.account_id,
                entry.scopes,
                entry.family,
                absolute_expires_at=entry.absolute_expires_at,
            )

    def _issue(
        self,
        client_id: str,
        account_id: str,
        scopes: tuple[str, ...],
        family: str,
        absolute_expires_at: float | None = None,
    ) -> TokenSet:
        now = self.now()
        lifetime = self.config.token_lifetime
        access = secrets.token_urlsafe(32)
        self._access_tokens[access] = AccessToken(
            client_id, account_id, scopes, now + lifetime, family
        )
        refresh = None
        if "offline_access" in scopes:
            refresh = secrets.token_urlsafe(32)
            self._refresh_tokens[refresh] = RefreshToken(
                client_id=client_id,
                account_id=account_id,
                scopes=scopes,
                family=family,
                companion=access,
                idle_expires_at=now + REFRESH_IDLE_LIFETIME,
                absolute_expires_at=absolute_expires_at
                or now + REFRESH_ABSOLUTE_LIFETIME,
            )
        self._prune()
        return TokenSet(access, int(lifetime), scopes, refresh)

    def _revoke_family(self, family: str, now: float) -> None:
        for token in self._access_tokens.values():
            if token.family == family:
                token.revoked_at = now
        for token in self._refresh_tokens.values():
            if token.family == family:
                token.revoked_at = now

    def revoke_grants(self, client_id: str) -> int:
        """Revoke every token issued to a client and forget its grants, as when
        the user removes the app from the account's connected apps. Return how
        many tokens stopped working."""
        now = self.now()
        revoked = 0
        with self._lock:
            for token in (
                *self._access_tokens.values(),
                *self._refresh_tokens.values(),
            ):
                if token.client_id == client_id and token.revoked_at is None:
                    token.revoked_at = now
                    revoked += 1
            for key in [key for key in self._grants if key[0] == client_id]:
                del self._grants[key]
        logger.info("Revoked %d tokens of client %s", revoked, client_id)
        return revoked

    # API

    def find_access_token(self, token: str) -> AccessToken | None:
        """Return the access token if it is known, unexpired and not revoked."""
        with self._lock:
            entry = self._access_tokens.get(token)
        if entry is None or not entry.is_active(self.now()):
            return None
        return entry

    # Faults

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)
        logger.info(
            "Fault added: %s %s returns %d for the next %d requests",
            fault.method or "any method",
            fault.path_prefix,
            fault.status,
            fault.count,
        )

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def take_fault(self, method: str, path: str) -> Fault | None:
        """Return the first fault matching the request and count one use of it."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def count_token_request(self, grant_type: str) -> None:
        with self._lock:
            self.token_requests[grant_type] += 1

    def reset(self) -> None:
        """Forget consents, codes, grants, tokens and faults; keep the clients."""
        with self._lock:
            self._requests.clear()
            self._codes.clear()
            self._grants.clear()
            self._access_tokens.clear()
            self._refresh_tokens.clear()
            self._faults.clear()
            self.token_requests.clear()
        logger.info("Sandbox state reset")

    def _prune(self) -> None:
        """Drop expired requests, codes and tokens; the caller holds the lock."""
        now = self.now()
        if now - self._pruned_at < _PRUNE_INTERVAL:
            return
        self._pruned_at = now
        self._requests = {
            key: value
            for key, value in self._requests.items()
            if now - value.created_at <= AUTHORIZE_REQUEST_LIFETIME
        }
        self._codes = {
            key: value for key, value in self._codes.items() if now < value.expires_at
        }
        self._access_tokens = {
            key: value
            for key, value in self._access_tokens.items()
            if value.is_active(now)
        }
        self._refresh_tokens = {
            key: value
            for key, value in self._refresh_tokens.items()
            if value.is_active(now)
        }
