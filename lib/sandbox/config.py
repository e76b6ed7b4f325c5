"""Switches of the sandbox server and the pre-registered practice client."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

PRACTICE_CLIENT_ID = "practice-client-id"
PRACTICE_CLIENT_SECRET = "practice-client-secret"
PRACTICE_APP_NAME = "Practice dashboard"
DEFAULT_REDIRECT_URI = "http://localhost:8501/callback"

# Upper bound for project_count and space_count, so that a typo in a settings
# request cannot make the server build millions of records.
MAX_DATA_COUNT = 10_000


@dataclass
class SandboxConfig:
    """Switches of one sandbox server; the server reads them at each request.

    Times are in seconds unless the name says otherwise. Changing a field on a
    running server, directly or through POST /_sandbox/settings, takes effect on the
    next request. Changing project_count or space_count rebuilds the sample data.
    """

    token_lifetime: float = 3600
    code_lifetime: float = 300
    refresh_reuse_seconds: float = 600
    latency_ms: float = 0
    practice_redirect_uri: str = DEFAULT_REDIRECT_URI
    project_count: int = 120
    space_count: int = 60
    # Current time in seconds since the epoch; tests replace it to expire tokens
    # without sleeping.
    clock: Callable[[], float] = field(default=time.time, repr=False)


# The numeric fields that POST /_sandbox/settings may change, with their types.
NUMERIC_SETTINGS: dict[str, type] = {
    "token_lifetime": float,
    "code_lifetime": float,
    "refresh_reuse_seconds": float,
    "latency_ms": float,
    "project_count": int,
    "space_count": int,
}
