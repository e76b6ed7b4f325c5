"""Control routes under /_sandbox, and the middleware that adds latency and faults.

Real Atlassian has none of these. They let the app register its callback URL and
let tests change switches, inject error responses and broken connections, and
reset the OAuth state.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import socket
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from lib.sandbox.config import NUMERIC_SETTINGS, SETTING_MAXIMUMS
from lib.sandbox.state import Fault, SandboxState

logger = logging.getLogger(__name__)

# The latency switch slows down the token endpoint and every API route; the
# consent pages, site pages and /_sandbox stay fast.
_TIMED_PREFIXES = ("/oauth/", "/ex/")


def _is_timed(path: str) -> bool:
    return path == "/me" or path.startswith(_TIMED_PREFIXES)


class InvalidControlRequest(ValueError):
    """A /_sandbox request body is invalid; the message names the field."""


def _bad_request(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidControlRequest("The body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise InvalidControlRequest("The body must be a JSON object")
    return body


def _string(body: dict, name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidControlRequest(f"{name} must be a non-empty string")
    return value


def _integer(body: dict, name: str, default: int | None, low: int, high: int):
    value = body.get(name, default)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not low <= value <= high
    ):
        raise InvalidControlRequest(
            f"{name} must be a whole number from {low} to {high}"
        )
    return value


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def register_client(request: Request) -> Response:
    """POST /_sandbox/clients: create or replace a client; the secret is not echoed."""
    try:
        body = await _json_object(request)
        client_id = _string(body, "client_id")
        secret = _string(body, "client_secret")
        redirect_uri = _string(body, "redirect_uri")
        name = _string(body, "name", required=False) or ""
        sharing = body.get("sharing", False)
        if not isinstance(sharing, bool):
            raise InvalidControlRequest("sharing must be true or false")
    except InvalidControlRequest as exc:
        return _bad_request(str(exc))
    sandbox: SandboxState = request.app.state.sandbox
    sandbox.register_client(client_id, secret, redirect_uri, name=name, sharing=sharing)
    return JSONResponse({"client_id": client_id})


def _settings_json(sandbox: SandboxState) -> dict[str, Any]:
    return {name: getattr(sandbox.config, name) for name in NUMERIC_SETTINGS}


def _checked_setting(name: str, value: Any) -> float | int:
    kind = NUMERIC_SETTINGS.get(name)
    if kind is None:
        raise InvalidControlRequest(
            f"Unknown setting {name}; expected one of {', '.join(NUMERIC_SETTINGS)}"
        )
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InvalidControlRequest(f"{name} must be a number of 0 or more")
    if kind is int:
        maximum = SETTING_MAXIMUMS[name]
        if value != int(value) or value > maximum:
            raise InvalidControlRequest(
                f"{name} must be a whole number from 0 to {maximum}"
            )
        return int(value)
    return float(value)


async def settings(request: Request) -> Response:
    """GET or POST /_sandbox/settings: read or change the numeric switches."""
    sandbox: SandboxState = request.app.state.sandbox
    if request.method == "POST":
        try:
            body = await _json_object(request)
            changes = {
                name: _checked_setting(name, value) for name, value in body.items()
            }
        except InvalidControlRequest as exc:
            return _bad_request(str(exc))
        for name, value in changes.items():
            setattr(sandbox.config, name, value)
        logger.info("Settings changed: %s", changes)
    return JSONResponse(_settings_json(sandbox))


def _switches_json(sandbox: SandboxState) -> dict[str, Any]:
    config = sandbox.config
    return {
        "app_owner_signed_in": config.app_owner_signed_in,
        "admin_blocked_sites": sorted(config.admin_blocked_sites),
    }


def _checked_switches(sandbox: SandboxState, body: dict) -> dict[str, Any]:
    unknown = set(body) - {"app_owner_signed_in", "admin_blocked_sites"}
    if unknown:
        raise InvalidControlRequest(
            f"Unknown switch {sorted(unknown)[0]}; expected app_owner_signed_in or "
            "admin_blocked_sites"
        )
    changes: dict[str, Any] = {}
    if "app_owner_signed_in" in body:
        if not isinstance(body["app_owner_signed_in"], bool):
            raise InvalidControlRequest("app_owner_signed_in must be true or false")
        changes["app_owner_signed_in"] = body["app_owner_signed_in"]
    if "admin_blocked_sites" in body:
        slugs = body["admin_blocked_sites"]
        if not isinstance(slugs, list) or not all(isinstance(x, str) for x in slugs):
            raise InvalidControlRequest("admin_blocked_sites must be a list of slugs")
        unknown_sites = [x for x in slugs if sandbox.dataset.site_by_slug(x) is None]
        if unknown_sites:
            raise InvalidControlRequest(f"No site has the slug {unknown_sites[0]}")
        changes["admin_blocked_sites"] = frozenset(slugs)
    return changes


async def switches(request: Request) -> Response:
    """GET or POST /_sandbox/switches: who consents, and which sites are blocked."""
    sandbox: SandboxState = request.app.state.sandbox
    if request.method == "POST":
        try:
            changes = _checked_switches(sandbox, await _json_object(request))
        except InvalidControlRequest as exc:
            return _bad_request(str(exc))
        for name, value in changes.items():
            setattr(sandbox.config, name, value)
        logger.info("Switches changed: %s", changes)
    return JSONResponse(_switches_json(sandbox))


async def revoke_grants(request: Request) -> Response:
    """POST /_sandbox/grants/revoke: end every token of a client, as when the user
    removes the app from the account's connected apps."""
    try:
        client_id = _string(await _json_object(request), "client_id")
    except InvalidControlRequest as exc:
        return _bad_request(str(exc))
    revoked = request.app.state.sandbox.revoke_grants(client_id)
    return JSONResponse({"client_id": client_id, "revoked_tokens": revoked})


async def faults(request: Request) -> Response:
    """POST /_sandbox/faults adds a fault; DELETE clears them all."""
    sandbox: SandboxState = request.app.state.sandbox
    if request.method == "DELETE":
        sandbox.clear_faults()
        return JSONResponse({"cleared": True})
    try:
        fault = _parse_fault(await _json_object(request))
    except InvalidControlRequest as exc:
        return _bad_request(str(exc))
    sandbox.add_fault(fault)
    return JSONResponse(
        {
            "path_prefix": fault.path_prefix,
            "kind": fault.kind,
            "status": fault.status or None,
            "count": fault.count,
        }
    )


FAULT_KINDS = ("status", "reset", "truncate", "stall")
MAX_STALL_SECONDS = 60.0


@dataclass
class InjectedFault(Fault):
    """A Fault with the way it breaks the request.

    `kind` "status" sends the response of `status` and `body`. "reset" closes the
    connection with a TCP reset before any response byte. "truncate" lets the
    route respond, sends its status line, headers and the first half of its body,
    then closes the connection. "stall" waits `seconds` before the route responds,
    or before the `status` response when a status is given. A string body is
    sent with `content_type` (text/plain when None).
    """

    kind: str = "status"
    seconds: float = 0.0
    content_type: str | None = None


def _parse_fault(body: dict) -> InjectedFault:
    path_prefix = _string(body, "path_prefix")
    if not path_prefix.startswith("/"):
        raise InvalidControlRequest("path_prefix must start with /")
    kind = body.get("kind", "status")
    if kind not in FAULT_KINDS:
        raise InvalidControlRequest(f"kind must be one of {', '.join(FAULT_KINDS)}")
    status = _integer(body, "status", None, 200, 599)
    if status is None and kind == "status":
        raise InvalidControlRequest("status is required: a number from 200 to 599")
    if status is not None and kind in ("reset", "truncate"):
        raise InvalidControlRequest(f"a {kind} fault takes no status")
    return InjectedFault(
        path_prefix=path_prefix,
        status=status or 0,
        count=_integer(body, "count", 1, 1, 1_000_000),
        retry_after=_integer(body, "retry_after", None, 0, 86400),
        retry_after_text=_string(body, "retry_after_text", required=False),
        body=body.get("body"),
        reason=_string(body, "reason", required=False),
        method=_string(body, "method", required=False),
        kind=kind,
        seconds=_stall_seconds(body, kind),
        content_type=_string(body, "content_type", required=False),
    )


def _stall_seconds(body: dict, kind: str) -> float:
    value = body.get("seconds")
    if value is None and kind != "stall":
        return 0.0
    if kind != "stall":
        raise InvalidControlRequest("seconds applies only to a stall fault")
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 < value <= MAX_STALL_SECONDS
    ):
        raise InvalidControlRequest(
            f"seconds must be a number above 0 and at most {MAX_STALL_SECONDS:g}"
        )
    return float(value)


async def stats(request: Request) -> Response:
    """GET /_sandbox/stats: how many token requests arrived, by grant type."""
    sandbox: SandboxState = request.app.state.sandbox
    return JSONResponse({"token_requests": dict(sandbox.token_requests)})


async def reset(request: Request) -> Response:
    """POST /_sandbox/reset: forget grants, codes, tokens and faults."""
    request.app.state.sandbox.reset()
    return JSONResponse({"reset": True})


def fault_response(fault: Fault, now: float) -> Response:
    """Build the injected error response, with the rate-limit headers for a 429.

    NOTE: Atlassian documents the 429 headers but not the 429 body, nor the
    RateLimit-Reason values of Confluence. The sandbox defaults to a gateway-style
    JSON body and to "jira-quota-based".
    """
    headers = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = str(fault.retry_after)
    if fault.retry_after_text is not None:
        headers["Retry-After"] = fault.retry_after_text
    if fault.status == 429:
        wait = fault.retry_after if fault.retry_after is not None else 60
        # X-RateLimit-Reset has minute precision, so round up to the next minute.
        reset_at = math.ceil((now + wait) / 60) * 60
        moment = datetime.fromtimestamp(reset_at, UTC)
        headers["X-RateLimit-Reset"] = moment.strftime("%Y-%m-%dT%H:%MZ")
        headers["RateLimit-Reason"] = fault.reason or "jira-quota-based"

    if isinstance(fault.body, str):
        return PlainTextResponse(
            fault.body,
            status_code=fault.status,
            headers=headers,
            media_type=getattr(fault, "content_type", None) or "text/plain",
        )
    body = fault.body
    if body is None:
        phrase = HTTPStatus(fault.status).phrase if _is_known(fault.status) else "Error"
        body = {"code": fault.status, "message": phrase}
    return JSONResponse(body, status_code=fault.status, headers=headers)


def _is_known(status: int) -> bool:
    return status in HTTPStatus._value2member_map_


class LatencyAndFaults:
    """ASGI middleware: delay API and token routes, then return injected faults."""

    def __init__(self, app: ASGIApp, sandbox: SandboxState):
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return

        latency = self.sandbox.config.latency_ms
        if latency > 0 and _is_timed(path):
            await asyncio.sleep(latency / 1000)

        fault = self.sandbox.take_fault(scope["method"], path)
        if fault is None:
            await self.app(scope, receive, send)
            return

        kind = getattr(fault, "kind", "status")
        logger.info(
            "Injected %s fault (status %s) for %s %s",
            kind,
            fault.status or "none",
            scope["method"],
            path,
        )
        if kind == "reset":
            await _reset_connection()
            return
        if kind == "truncate":
            # uvicorn closes the connection when the app returns with the body
            # unfinished, and logs "ASGI callable returned without completing
            # response".
            await self.app(scope, receive, _send_half_body(send))
            return
        if kind == "stall":
            await asyncio.sleep(fault.seconds)
            if not fault.status:
                await self.app(scope, receive, send)
                return
        response = fault_response(fault, self.sandbox.now())
        await response(scope, receive, send)


def _send_half_body(send: Send) -> Send:
    """Wrap `send` so that the headers go out unchanged, Content-Length included,
    but only the first half of the first body message follows."""
    body_sent = False

    async def send_half(message) -> None:
        nonlocal body_sent
        if message["type"] == "http.response.start":
            await send(message)
        elif message["type"] == "http.response.body" and not body_sent:
            body = message.get("body", b"")
            body_sent = True
            await send(
                {
                    "type": "http.response.body",
                    "body": body[: len(body) // 2],
                    "more_body": True,
                }
            )

    return send_half


async def _reset_connection() -> None:
    """Close the current request's connection with a TCP reset (RST).

    ASGI gives an app no handle on its connection. uvicorn 0.55 serves each
    request in a task whose coroutine is `RequestResponseCycle.run_asgi`, so the
    transport is found through that coroutine's `self`.
    """
    task = asyncio.current_task()
    coroutine = task.get_coro() if task is not None else None
    frame = getattr(coroutine, "cr_frame", None)
    cycle = frame.f_locals.get("self") if frame is not None else None
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("A reset fault needs uvicorn's h11 connection to close")

    connection = transport.get_extra_info("socket")
    if connection is not None:
        # A zero linger time makes close() send RST instead of FIN.
        linger = struct.pack("ii", 1, 0)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
    transport.abort()
    # Let the transport report the lost connection, so that uvicorn sends nothing.
    await asyncio.sleep(0)
