"""The one place that builds HTTP sessions: timeouts, retries, auth and a log line.

Every outbound call logs one INFO line (method, host, path, status, duration) and
nothing else: no query string, no body, no header.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

logger = logging.getLogger(__name__)

USER_AGENT = "atlassian-onboarding-dashboard/0.1"

# (connect, read) timeouts in seconds.
DEFAULT_TIMEOUT = (5.0, 30.0)

# A Retry-After longer than this is not slept through: the response is returned
# so the caller can tell the user when to try again.
MAX_RETRY_AFTER = 10.0


class DisallowedHost(requests.RequestException):
    """A credential was about to be sent to a host it does not belong to."""


class BearerAuth(requests.auth.AuthBase):
    """Attach `Authorization: Bearer …`, but only for the hosts the token is for."""

    def __init__(self, token: str, allowed_hosts: frozenset[str]):
        self._token = token
        self.allowed_hosts = frozenset(allowed_hosts)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        _check_host(request.url, self.allowed_hosts)
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return f"BearerAuth([secure], allowed_hosts={sorted(self.allowed_hosts)})"


def host_of(url: str) -> str:
    """Return "host:port" (the port only when the URL names one) in lower case."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return f"{host}:{parts.port}" if parts.port else host


def _check_host(url: str, allowed_hosts: frozenset[str]) -> None:
    if host_of(url) not in allowed_hosts:
        raise DisallowedHost(
            f"Refusing to send a token to {host_of(url) or url!r}: it is not one of "
            f"the configured Atlassian hosts ({', '.join(sorted(allowed_hosts))})."
        )


class _CappedRetry(Retry):
    """urllib3 Retry that gives up instead of sleeping through a long Retry-After."""

    def increment(self, method=None, url=None, response=None, *args, **kwargs):
        if response is not None:
            retry_after = self.get_retry_after(response)
            if retry_after is not None and retry_after > MAX_RETRY_AFTER:
                raise MaxRetryError(kwargs.get("_pool"), url, None)
        return super().increment(method, url, response, *args, **kwargs)


def _retry_policy() -> Retry:
    # Atlassian's rate-limit guidance: honour Retry-After, back off exponentially
    # with jitter, and give up after a few attempts. A page waits for at most two
    # status retries of at most MAX_RETRY_AFTER seconds each. Only GET, HEAD and
    # OPTIONS are retried, also after a dropped keep-alive connection, so an
    # authorization code is never sent twice.
    return _CappedRetry(
        total=3,
        connect=2,
        read=1,
        status=2,
        backoff_factor=1.0,
        backoff_max=MAX_RETRY_AFTER,
        backoff_jitter=0.3,
        status_forcelist=(429, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD", "OPTIONS"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )


class _Session(requests.Session):
    def __init__(self, timeout):
        super().__init__()
        self.timeout = timeout

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, **kwargs)


def _log_response(response: requests.Response, *args, **kwargs) -> None:
    request = response.request
    parts = urlsplit(request.url)
    logger.info(
        "%s %s%s -> %s in %.0f ms",
        request.method,
        host_of(request.url),
        parts.path,
        response.status_code,
        response.elapsed.total_seconds() * 1000,
    )


def create_session(
    *,
    auth: requests.auth.AuthBase | None = None,
    retries: bool = True,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> requests.Session:
    """Return a session with timeouts, a retry policy, the auth and response logging.

    Proxy variables from the environment still apply. On a redirect to another
    host, requests drops the Authorization header and does not re-apply `auth`.
    """
    session = _Session(timeout)
    session.headers["User-Agent"] = USER_AGENT
    session.headers["Accept"] = "application/json"
    if auth is not None:
        session.auth = auth
    adapter = HTTPAdapter(max_retries=_retry_policy() if retries else 0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.hooks["response"].append(_log_response)
    return session
