"""Switches of the sandbox server and the pre-registered practice client."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

PRACTICE_CLIENT_ID = "practice-client-id"
PRACTICE_CLIENT_SECRET = "practice-client-secret"
PRACTICE_APP_NAME = "Practice dashboard"
DEFAULT_REDIRECT_URI = "http://localhost:8501/callback"

# Upper bound for project_count, space_count and handbook_pages, so that a typo in
# a settings request cannot make the server build millions of records.
MAX_DATA_COUNT = 10_000
# Upper bound for issue_count. Issues are stored as a few bytes each, so the bound
# is higher than for projects and spaces.
MAX_ISSUE_COUNT = 200_000


@dataclass
class SandboxConfig:
    """Switches of one sandbox server; the server reads them at each request.

    Times are in seconds unless the name says otherwise. Changing a field on a
    running server, directly or through POST /_sandbox/settings, takes effect on the
    next request. Changing project_count, space_count, issue_count or
    handbook_pages rebuilds the sample data.
    """

    token_lifetime: float = 3600
    code_lifetime: float = 300
    refresh_reuse_seconds: float = 600
    latency_ms: float = 0
    practice_redirect_uri: str = DEFAULT_REDIRECT_URI
    project_count: int = 120
    space_count: int = 60
    # Jira issues of the main site "practice-cloud", spread over its projects.
    issue_count: int = 2000
    # Child pages of the ENG space (Engineering Handbook) under its homepage.
    handbook_pages: int = 40
    # Whether the account on the consent screen created the OAuth apps. When it
    # did not, apps registered without sharing refuse the consent.
    app_owner_signed_in: bool = True
    # Slugs of sites whose admin has not approved third-party apps: consenting
    # to them fails.
    admin_blocked_sites: frozenset[str] = frozenset()
    # Current time in seconds since the epoch; tests replace it to expire tokens
    # without sleeping.
    clock: Callable[[], float] = field(default=time.time, repr=False)

    @classmethod
    def large(cls, **changes: Any) -> Self:
        """Return a config for a large site: 10,000 projects, 2,000 spaces, 50,000
        issues and 600 handbook pages; `changes` override any field."""
        sizes = {
            "project_count": 10_000,
            "space_count": 2_000,
            "issue_count": 50_000,
            "handbook_pages": 600,
        }
        return cls(**(sizes | changes))


# The numeric fields that POST /_sandbox/settings may change, with their types.
NUMERIC_SETTINGS: dict[str, type] = {
    "token_lifetime": float,
    "code_lifetime": float,
    "refresh_reuse_seconds": float,
    "latency_ms": float,
    "project_count": int,
    "space_count": int,
    "issue_count": int,
    "handbook_pages": int,
}

# Maximum value of each whole-number setting.
SETTING_MAXIMUMS: dict[str, int] = {
    "project_count": MAX_DATA_COUNT,
    "space_count": MAX_DATA_COUNT,
    "issue_count": MAX_ISSUE_COUNT,
    "handbook_pages": MAX_DATA_COUNT,
}
