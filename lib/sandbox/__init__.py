"""A local stand-in for Atlassian's OAuth 2.0 (3LO) server and REST gateway.

It serves the practice mode of the dashboard and is the test double of the
integration and browser tests. See docs/sandbox.md for routes and switches.
"""

from lib.sandbox.app import create_app
from lib.sandbox.config import (
    PRACTICE_APP_NAME,
    PRACTICE_CLIENT_ID,
    PRACTICE_CLIENT_SECRET,
    SandboxConfig,
)
from lib.sandbox.server import SandboxServer

__all__ = [
    "PRACTICE_APP_NAME",
    "PRACTICE_CLIENT_ID",
    "PRACTICE_CLIENT_SECRET",
    "SandboxConfig",
    "SandboxServer",
    "create_app",
]
