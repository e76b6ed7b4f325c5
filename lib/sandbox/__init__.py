"""A local stand-in for Atlassian's OAuth 2.0 (3LO) server and REST gateway.

It serves the practice mode of the dashboard and is the test double of the
integration and browser tests. See docs/sandbox.md for routes and switches.
"""

from lib.sandbox.config import (
    PRACTICE_APP_NAME,
    PRACTICE_CLIENT_ID,
    PRACTICE_CLIENT_SECRET,
    SandboxConfig,
)


def __getattr__(name: str):
    # The server and its web framework load on first use, so that importing the
    # practice constants does not slow down the dashboard's start.
    if name == "create_app":
        from lib.sandbox.app import create_app

        return create_app
    if name == "SandboxServer":
        from lib.sandbox.server import SandboxServer

        return SandboxServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "PRACTICE_APP_NAME",
    "PRACTICE_CLIENT_ID",
    "PRACTICE_CLIENT_SECRET",
    "SandboxConfig",
    "SandboxServer",
    "create_app",
]
