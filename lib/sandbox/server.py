"""Run the sandbox app with uvicorn in a background thread."""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Self

import uvicorn

from lib.sandbox.app import create_app
from lib.sandbox.config import SandboxConfig

logger = logging.getLogger(__name__)

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0


class SandboxServer:
    """A sandbox listening on host:port (port 0 picks a free one) until stopped."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.config = config or SandboxConfig()
        self.host = host
        self.port = port
        self.app = create_app(self.config)
        self.state = self.app.state.sandbox
        self.base_url: str | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    def register_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        name: str = "",
        sharing: bool = False,
    ) -> None:
        """Create or replace a client, like POST /_sandbox/clients."""
        self.state.register_client(
            client_id, client_secret, redirect_uri, name=name, sharing=sharing
        )

    def registered_redirect_uri(self, client_id: str) -> str | None:
        """Return a client's registered callback URL, or None for an unknown one."""
        client = self.state.get_client(client_id)
        return client.redirect_uri if client is not None else None

    def start(self) -> str:
        """Start serving in a daemon thread and return the base URL.

        Raises RuntimeError if the server does not serve within 10 seconds, and
        OSError if the port cannot be bound.
        """
        if self._thread is not None:
            return self.base_url

        self._socket = socket.create_server((self.host, self.port))
        # asyncio turns Nagle's algorithm off only for sockets whose proto is
        # IPPROTO_TCP, and create_server leaves proto at 0. Without this, a
        # response on a kept-alive connection can wait about 40 ms for a delayed
        # ACK. Accepted sockets inherit the option on Linux.
        self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        port = self._socket.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"sandbox-{port}",
            daemon=True,
        )
        self._thread.start()
        self._wait_until_started(port)

        host = f"[{self.host}]" if ":" in self.host else self.host
        self.base_url = f"http://{host}:{port}"
        logger.info("Sandbox listening on %s", self.base_url)
        return self.base_url

    def _wait_until_started(self, port: int) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"The sandbox on port {port} did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Shut the server down and join its thread; calling it again does nothing."""
        if self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(_STOP_TIMEOUT)
        if self._thread.is_alive():
            logger.warning("Sandbox thread %s did not stop in time", self._thread.name)
        self._socket.close()
        logger.info("Sandbox on %s stopped", self.base_url)
        self._thread = None
        self._server = None
        self._socket = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
