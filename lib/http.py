"""The one place that builds HTTP sessions: timeouts, retries, auth and a log line.

Every outbound call logs one INFO line (method, host, path, status, duration) and
nothing else: no query string, no body, no header.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, MaxRetryError
from urllib3.util.retry import Retry

logger = logging.getLogger(__name__)

USER_AGENT = "atlassian-onboarding-dashboard/0.1"

# (connect, read) timeouts in seconds.
DEFAULT_TIMEOUT = (5.0, 30.0)

# A Retry-After longer than this is not slept through: the response is returned
# so the caller can tell the user when to try again.
MAX_RETRY_AFTER = 10.0


@dataclass(frozen=True)
class RequestRecord:
    """One outbound call as the request log shows it: no query, body or header."""

    at: float
    method: str
    host: str
    path: str
    status: int | None
    duration_ms: float
    retries: int
    error: str | None = None


class RequestLog:
    """The last calls of one browser session, safe to add to from several threads."""

    def __init__(self, limit: int = 100):
        self._records: deque[RequestRecord] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self) -> list[RequestRecord]:
        """Return the records, newest first."""
        with self._lock:
            return list(reversed(self._records))

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)


class DisallowedHost(requests.RequestException):
    """A credential was about to be sent to a host it does not belong to."""


class BearerAuth(requests.auth.AuthBase):
    """Attach `Authorization: Bearer …`, but only for the origins (scheme, host
    and port) the token is for, so it never travels over plain http by mistake."""

    def __init__(self, token: str, allowed_origins: frozenset[str]):
        self._token = token
        self.allowed_origins = frozenset(allowed_origins)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        _check_origin(request.url, self.allowed_origins)
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return f"BearerAuth([secure], allowed_origins={sorted(self.allowed_origins)})"


def host_of(url: str) -> str:
    """Return "host:port" (the port only when the URL names one) in lower case."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return f"{host}:{parts.port}" if parts.port else host


def origin_of(url: str) -> str:
    """Return "scheme://host[:port]" in lower case, leaving out a default port."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(scheme)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    suffix = f":{port}" if port and port != default else ""
    return f"{scheme}://{host}{suffix}"


def _check_origin(url: str, allowed_origins: frozenset[str]) -> None:
    if origin_of(url) not in allowed_origins:
        raise DisallowedHost(
            f"Refusing to send a token to {origin_of(url)}: it is not one of the "
            f"configured Atlassian API origins ({', '.join(sorted(allowed_origins))})."
        )


class _CappedRetry(Retry):
    """urllib3 Retry that gives up instead of sleeping through a long Retry-After,
    and treats a Retry-After it cannot read as absent instead of failing."""

    def parse_retry_after(self, retry_after: str) -> float:
        try:
            return super().parse_retry_after(retry_after)
        except InvalidHeader:
            logger.info("Ignored an unreadable Retry-After header")
            return 0.0

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
    def __init__(self, timeout, request_log: RequestLog | None):
        super().__init__()
        self.timeout = timeout
        self.request_log = request_log

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, **kwargs)


def _log_response(response: requests.Response, *args, **kwargs) -> None:
    request = response.request
    parts = urlsplit(request.url)
    duration_ms = response.elapsed.total_seconds() * 1000
    retries = _retry_count(response)
    logger.info(
        "%s %s%s -> %s in %.0f ms%s",
        request.method,
        host_of(request.url),
        parts.path,
        response.status_code,
        duration_ms,
        f" after {retries} retries" if retries else "",
    )


def _retry_count(response: requests.Response) -> int:
    retry = getattr(response.raw, "retries", None)
    history = getattr(retry, "history", None)
    return len(history) if history else 0


def _record_response(request_log: RequestLog):
    def hook(response: requests.Response, *args, **kwargs) -> None:
        request = response.request
        request_log.add(
            RequestRecord(
                at=time.time(),
                method=request.method,
                host=host_of(request.url),
                path=urlsplit(request.url).path,
                status=response.status_code,
                duration_ms=response.elapsed.total_seconds() * 1000,
                retries=_retry_count(response),
            )
        )

    return hook


def record_failure(
    session: requests.Session, method: str, url: str, error: Exception, started: float
) -> None:
    """Add a call that got no response to the session's request log, if it has one."""
    request_log = getattr(session, "request_log", None)
    if request_log is None:
        return
    request_log.add(
        RequestRecord(
            at=time.time(),
            method=method,
            host=host_of(url),
            path=urlsplit(url).path,
            status=None,
            duration_ms=(time.monotonic() - started) * 1000,
            retries=0,
            error=type(error).__name__,
        )
    )


def create_session(
    *,
    auth: requests.auth.AuthBase | None = None,
    retries: bool = True,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    request_log: RequestLog | None = None,
) -> requests.Session:
    """Return a session with timeouts, a retry policy, the auth and response logging.

    Proxy variables from the environment still apply. On a redirect to another
    host, requests drops the Authorization header and does not re-apply `auth`.
    """
    session = _Session(timeout, request_log)
    session.headers["User-Agent"] = USER_AGENT
    session.headers["Accept"] = "application/json"
    if auth is not None:
        session.auth = auth
    adapter = HTTPAdapter(max_retries=_retry_policy() if retries else 0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.hooks["response"].append(_log_response)
    if request_log is not None:
        session.hooks["response"].append(_record_response(request_log))
    return session
