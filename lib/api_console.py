"""The API console: one request under a site's Jira or Confluence gateway base.

`build_request` checks what the developer typed and returns a `ConsoleRequest`
whose URL always starts with the chosen product base
(`{api_base}/ex/jira/{cloudid}` or `{api_base}/ex/confluence/{cloudid}`), so the
session's bearer token only goes to the configured API host. `send` returns every
HTTP status as a `ConsoleResponse`, errors included, because the console shows
them. `curl_command` and `python_snippet` write the same request with the token
read from the ATLASSIAN_ACCESS_TOKEN environment variable.
"""

from __future__ import annotations

import json
import logging
import math
import pprint
import re
import shlex
import time
import unicodedata
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import quote, unquote, unquote_plus, urlencode, urlsplit

import requests

from lib.atlassian import Endpoints
from lib.errors import InvalidInput, NetworkError
from lib.http import DisallowedHost, host_of

logger = logging.getLogger(__name__)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
PRODUCTS = ("jira", "confluence")
TOKEN_ENV_VAR = "ATLASSIAN_ACCESS_TOKEN"
TOKEN_PLACEHOLDER = "$" + TOKEN_ENV_VAR
# An email + API token connection signs its calls with basic auth instead.
API_TOKEN_ENV_VAR = "ATLASSIAN_API_TOKEN"

MAX_PATH_LENGTH = 2000  # characters of the path field
MAX_QUERY_LENGTH = 8000  # characters of the query field
MAX_REQUEST_BODY_BYTES = 1024 * 1024  # UTF-8 bytes of the body field
MAX_BODY_DEPTH = 64
MAX_BODY_BYTES = 5 * 1024 * 1024  # bytes of a response body that `send` reads
MAX_BODY_CHARS = 200_000  # characters of ConsoleResponse.text, before the note
SNIPPET_TIMEOUT = 30  # seconds, in the Python snippet

# Replaces a masked header value.
MASK = "[secure]"

EXAMPLE_PATHS = {"jira": "/rest/api/3/myself", "confluence": "/wiki/api/v2/spaces"}

_METHODS_WITHOUT_BODY = ("GET", "DELETE")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_CLOUD_ID = re.compile(r"[0-9A-Za-z-]{1,100}")
_BARE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# RFC 3986 path characters other than letters, digits and "_.-~". They are sent as
# typed; "%" is kept too, because every bare "%" has become "%25" by then.
_PATH_SAFE = "/:@!$&'()*+,;=%"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CHUNK_SIZE = 64 * 1024

_SECRET_HEADER = re.compile(
    r"auth|token|cookie|secret|session|password|api-?key|signature|credential"
)
# Challenges name an auth scheme and carry no credential. They stay visible
# because they explain a 401.
_CHALLENGE_HEADERS = frozenset({"www-authenticate", "proxy-authenticate"})

_FAILURE_REASONS = (
    ("connection refused", "the connection was refused"),
    ("connection reset", "the connection was reset"),
    ("name or service not known", "the host name was not found"),
    ("nodename nor servname", "the host name was not found"),
    ("temporary failure in name resolution", "the host name could not be resolved"),
)


@dataclass(frozen=True)
class ConsoleRequest:
    """A checked request whose URL lies under the product's gateway base.

    `url` has no query string and its path is percent-encoded once. `params` are
    decoded name and value pairs in the order given, repeated names included.
    """

    method: str
    url: str
    params: tuple[tuple[str, str], ...]
    json_body: object | None
    product: str

    @property
    def full_url(self) -> str:
        """The URL with the query string that requests builds from `params`."""
        if not self.params:
            return self.url
        return f"{self.url}?{urlencode(self.params)}"


@dataclass(frozen=True)
class ConsoleResponse:
    """A response as the console shows it, whatever its status.

    `headers` keep the order received, with a repeated header listed at its first
    occurrence. Set-Cookie values, values of auth-like headers, and the sent
    bearer token wherever it appears are replaced by MASK. `json` is None unless
    the whole body was read and parsed as JSON. `truncated` is True when the body
    was longer than MAX_BODY_BYTES and only that much was read. `body_bytes` is
    the number of body bytes read, and `text_cut` is True when `text` shows less.
    """

    status: int
    reason: str
    url: str
    headers: tuple[tuple[str, str], ...]
    json: object | None
    text: str
    elapsed_ms: float
    truncated: bool
    body_bytes: int = 0
    text_cut: bool = False


# Building a request ----------------------------------------------------------


def build_request(
    endpoints: Endpoints,
    cloud_id: str,
    product: str,
    method: str,
    path: str,
    query: str = "",
    body: str = "",
) -> ConsoleRequest:
    """Check the console's fields and return the request they describe.

    `path` is a path under the product base, with or without its leading slash
    and optionally with a query, or a full URL that starts with the product base.
    Its query comes before the parameters of `query`. Raises InvalidInput whose
    `field` is "product", "method", "cloud_id", "path", "query" or "body".
    """
    product = _check_product(product)
    method = _check_method(method)
    base = _product_base(endpoints, _check_cloud_id(cloud_id), product)

    resource, path_query = _split_path(path, base, product)
    params = _parse_query_string(path_query, "path") + parse_query(query)
    json_body = parse_body(method, body)

    return ConsoleRequest(method, base + resource, params, json_body, product)


def _check_product(product: str) -> str:
    if product not in PRODUCTS:
        raise InvalidInput(
            "product",
            f"The product {_excerpt(product)} is not jira or confluence.",
            hint="Choose Jira or Confluence.",
        )
    return product


def _check_method(method: str) -> str:
    normalized = method.strip().upper()
    if normalized not in METHODS:
        raise InvalidInput(
            "method",
            f"The method {_excerpt(method)} is not one of {', '.join(METHODS)}.",
            hint="Choose one of those methods.",
        )
    return normalized


def _check_cloud_id(cloud_id: str) -> str:
    if not _CLOUD_ID.fullmatch(cloud_id):
        raise InvalidInput(
            "cloud_id",
            f"The cloud id {_excerpt(cloud_id)} is invalid: a cloud id contains "
            "only letters, digits and hyphens.",
            hint="Choose a site from the list, which takes its cloud id from "
            "accessible-resources.",
        )
    return cloud_id


def _product_base(endpoints: Endpoints, cloud_id: str, product: str) -> str:
    if product == "jira":
        return endpoints.jira_base(cloud_id)
    return endpoints.confluence_base(cloud_id)


def _split_path(text: str, base: str, product: str) -> tuple[str, str]:
    """Return the encoded path under `base` and the raw query of the path field.

    Surrounding whitespace is removed first, since a pasted path often carries
    some.
    """
    text = text.strip()
    _check_path_text(text, product)

    if text.startswith("//") or _SCHEME.match(text):
        text = _path_under_base(text, base, product)
    resource, _, raw_query = text.partition("?")
    if not resource.startswith("/"):
        resource = "/" + resource

    if resource == "/":
        raise InvalidInput(
            "path",
            f"The path names the {product} base itself, not a resource under it.",
            hint=f"Add the resource's path, such as {EXAMPLE_PATHS[product]}.",
        )
    _check_dot_segments(resource, product)
    return _encode_path(resource), raw_query


def _check_path_text(text: str, product: str) -> None:
    """Reject an empty or long path, invisible characters, backslashes, fragments."""
    if not text:
        raise InvalidInput(
            "path",
            "The path is empty.",
            hint=f"Enter a path under the {product} base, such as "
            f"{EXAMPLE_PATHS[product]}.",
        )
    if len(text) > MAX_PATH_LENGTH:
        raise InvalidInput(
            "path",
            f"The path is {len(text):,} characters long, and the console accepts "
            f"at most {MAX_PATH_LENGTH:,}.",
            hint="Shorten the path. Query parameters can go in the query field "
            "instead.",
        )

    for position, char in enumerate(text, start=1):
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf"):
            raise InvalidInput(
                "path",
                f"The path contains the whitespace or control character "
                f"U+{ord(char):04X} at position {position}.",
                hint="Remove it. Write a space inside a path segment as %20.",
            )
        if char == "\\":
            raise InvalidInput(
                "path",
                f"The path contains a backslash at position {position}, which "
                "some servers read as a slash.",
                hint="Separate segments with /. Write a backslash inside a "
                "segment as %5C.",
            )
        if char == "#":
            raise InvalidInput(
                "path",
                f"The path contains a fragment (#) at position {position}, and a "
                "fragment is never sent to the server.",
                hint="Remove the # and what follows it. Write a # inside a value "
                "as %23.",
            )


def _path_under_base(url: str, base: str, product: str) -> str:
    """Return what follows the product base in an absolute URL, query included."""
    problem = _describe_foreign_url(url, base, product)
    if problem:
        raise InvalidInput(
            "path",
            f"{problem} The access token is only sent to the configured Atlassian "
            f"API base, {base}.",
            hint=f"Enter a path such as {EXAMPLE_PATHS[product]}, or a URL that "
            f"starts with {base}/.",
        )

    parts = urlsplit(url)
    rest = parts.path[len(urlsplit(base).path) :]
    return f"{rest}?{parts.query}" if parts.query else rest


def _describe_foreign_url(url: str, base: str, product: str) -> str | None:
    """Describe how an absolute URL leaves the product base, or return None.

    Scheme, host, port and path prefix must all match the base.
    """
    parts = urlsplit(url)
    expected = urlsplit(base)
    if url.startswith("//"):
        return (
            f"The path starts with //, so it names the host {parts.hostname or '?'} "
            "instead of a path under the base."
        )
    scheme = expected.scheme.lower()
    if "@" in parts.netloc:
        # The user information may be a password, so only the host is named.
        return f"The URL has user information before its host {parts.hostname}."
    web_url = parts.scheme.lower() in _DEFAULT_PORTS
    if web_url and (parts.hostname or "") != (expected.hostname or ""):
        return (
            f"The URL's host {host_of(url) or '(missing)'} is not the API host "
            f"{host_of(base)}."
        )
    if parts.scheme.lower() != scheme:
        return f"The URL's scheme is {parts.scheme}: but the API base uses {scheme}:."

    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        return "The URL's port is not a number from 0 to 65535."
    expected_port = expected.port or _DEFAULT_PORTS.get(scheme)
    if parts.hostname != expected.hostname or port != expected_port:
        return (
            f"The URL's host {host_of(url) or '(missing)'} is not the API host "
            f"{host_of(base)}."
        )

    prefix = expected.path
    if parts.path != prefix and not parts.path.startswith(prefix + "/"):
        found = "/".join(parts.path.split("/")[: prefix.count("/") + 1])
        return (
            f"The URL's path starts with {_excerpt(found)}, not with the {product} "
            f"base path {prefix}."
        )
    return None


def _check_dot_segments(path: str, product: str) -> None:
    """Reject "." and ".." segments, also percent-encoded or with ";" parameters.

    requests resolves dot segments and decodes %2e to "." before sending, and
    servlet containers such as Tomcat drop ";" parameters, reading "..;" as "..".
    Either way, such a path could reach a URL outside the product base.
    """
    decoded, previous = path, None
    while decoded != previous:
        previous, decoded = decoded, unquote(decoded)

    for segment in decoded.replace("\\", "/").split("/"):
        name = segment.split(";", 1)[0]
        if name in (".", ".."):
            raise InvalidInput(
                "path",
                f"The path contains a {name!r} segment (possibly percent-encoded, "
                f"such as %2e%2e), which could move the request out of the "
                f"{product} base.",
                hint="Write the full path from the base, without . or .. segments.",
            )


def _encode_path(path: str) -> str:
    """Percent-encode a path once: existing %XX escapes stay, a bare % is %25."""
    return quote(_BARE_PERCENT.sub("%25", path), safe=_PATH_SAFE)


def parse_query(text: str) -> tuple[tuple[str, str], ...]:
    """Parse the query field into (name, value) pairs, keeping order and repeats.

    A single line is a URL query string: "&" separates parameters, and %XX escapes
    and "+" are decoded as a server decodes them. Several lines hold one
    name=value pair each, taken as typed, so a value can contain "&", "%" or "+".
    Blank lines are ignored, a value may contain "=", and whitespace around names
    and values is removed.
    """
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidInput(
            "query",
            f"The query is {len(text):,} characters long, and the console accepts "
            f"at most {MAX_QUERY_LENGTH:,}.",
            hint="Shorten it: servers and proxies refuse such long addresses. Send "
            "large inputs in a POST body instead.",
        )
    lines = text.splitlines()
    filled = [line for line in lines if line.strip()]
    if len(filled) == 1:
        return _parse_query_string(filled[0].strip(), "query")

    pairs = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        name, separator, value = line.partition("=")
        if not separator:
            raise InvalidInput(
                "query",
                f"Line {number} of the query, {_excerpt(line.strip())}, has no '='.",
                hint="Write one name=value pair per line. For an empty value, "
                "write name=.",
            )
        pairs.append(
            (_check_name(name.strip(), f"Line {number} of the query"), value.strip())
        )
    return tuple(pairs)


def _parse_query_string(text: str, field: str) -> tuple[tuple[str, str], ...]:
    """Parse "a=1&b=2" with percent and "+" decoding, rejecting a part without "="."""
    where = "The query in the path" if field == "path" else "The query"
    pairs = []
    for part in text.split("&"):
        if not part.strip():
            continue
        name, separator, value = part.partition("=")
        if not separator:
            raise InvalidInput(
                field,
                f"{where} has a part without '=': {_excerpt(part)}.",
                hint="Write each parameter as name=value, and an empty value as "
                "name=. In a single line, & separates parameters, so write a "
                "literal & as %26 or put each parameter on its own line.",
            )
        name = _check_name(unquote_plus(name).strip(), where, field)
        pairs.append((name, unquote_plus(value).strip()))
    return tuple(pairs)


def _check_name(name: str, where: str, field: str = "query") -> str:
    if not name:
        raise InvalidInput(
            field,
            f"{where} has a parameter with an empty name.",
            hint="Write the parameter as name=value.",
        )
    return name


def parse_body(method: str, text: str) -> object | None:
    """Return the parsed JSON body, or None when the body field is blank.

    GET and DELETE take no body. For POST, PUT and PATCH the text must be JSON of
    at most MAX_REQUEST_BODY_BYTES.
    """
    if not text.strip():
        return None
    if method in _METHODS_WITHOUT_BODY:
        raise InvalidInput(
            "body",
            f"The console sends {method} requests without a body, but the body "
            "field is not empty.",
            hint="Clear the body, or choose POST, PUT or PATCH.",
        )
    size = len(text.encode("utf-8"))
    if size > MAX_REQUEST_BODY_BYTES:
        raise InvalidInput(
            "body",
            f"The body is {size:,} bytes, and the console sends at most "
            f"{MAX_REQUEST_BODY_BYTES:,} bytes (1 MiB).",
            hint="Shorten the body, or send it from a script.",
        )

    value = _load_json(text)
    if _depth(value) > MAX_BODY_DEPTH:
        raise InvalidInput(
            "body",
            f"The body nests arrays or objects more than {MAX_BODY_DEPTH} levels deep.",
            hint="Flatten the body; Jira and Confluence bodies are far shallower.",
        )
    # NOTE: json_body None means "no body", so a JSON null body cannot be sent.
    if value is None:
        raise InvalidInput(
            "body",
            "The body is the JSON value null, which the console cannot send.",
            hint="Clear the body to send none, or send an object or array.",
        )
    return value


def _depth(value: object) -> int:
    """Return how deeply arrays and objects nest in a parsed JSON value."""
    depth = 0
    level = [value]
    while level:
        containers = [item for item in level if isinstance(item, (dict, list))]
        if not containers:
            break
        depth += 1
        level = [
            child
            for container in containers
            for child in (
                container.values() if isinstance(container, dict) else container
            )
        ]
    return depth


def _load_json(text: str) -> object:
    try:
        return json.loads(
            text, parse_constant=_reject_constant, parse_float=_parse_finite_float
        )
    except InvalidInput:
        raise
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            "body",
            f"The body is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}.",
            hint="Fix the JSON at that spot, or clear the body to send none.",
        ) from exc
    except RecursionError as exc:
        raise InvalidInput(
            "body",
            "The body nests arrays or objects too deeply to parse.",
            hint="Flatten the body.",
        ) from exc
    except ValueError as exc:
        # Python's integer conversion limit (4,300 digits by default).
        raise InvalidInput(
            "body",
            "The body contains a number with too many digits to convert.",
            hint="Send the number as a string.",
        ) from exc


def _reject_constant(name: str) -> object:
    raise InvalidInput(
        "body",
        f"The body contains {name}, which is not valid JSON.",
        hint="Write the value as a string or as null.",
    )


def _parse_finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise InvalidInput(
            "body",
            f"The number {_excerpt(text)} in the body is too large for a 64-bit float.",
            hint="Send the number as a string.",
        )
    return value


# Sending ---------------------------------------------------------------------


def send(session: requests.Session, request: ConsoleRequest) -> ConsoleResponse:
    """Send the request with the session's auth and return the response.

    Error statuses are returned, not raised. Redirects are not followed: a 3xx is
    returned with its Location header, so the token never reaches the redirect
    target. At most MAX_BODY_BYTES of the body are read. Raises NetworkError when
    no response arrives or its body cannot be read, and InvalidInput when the
    session's auth does not allow the request's host.
    """
    started = time.perf_counter()
    try:
        response = session.request(
            request.method,
            request.url,
            params=list(request.params),
            json=request.json_body,
            headers={"Accept": "application/json"},
            stream=True,
            allow_redirects=False,
        )
    except DisallowedHost as exc:
        raise _disallowed_host_error(session, request) from exc
    except requests.RequestException as exc:
        raise _network_error(request, exc) from exc

    with response:
        try:
            body, truncated = _read_body(response)
        except requests.RequestException as exc:
            raise _network_error(request, exc, status=response.status_code) from exc
    elapsed_ms = (time.perf_counter() - started) * 1000

    return _console_response(response, body, truncated, elapsed_ms)


def _read_body(response: requests.Response) -> tuple[bytes, bool]:
    """Return the body's first MAX_BODY_BYTES and whether more followed."""
    chunks = []
    size = 0
    for chunk in response.iter_content(_CHUNK_SIZE):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"".join(chunks)[:MAX_BODY_BYTES], True
    return b"".join(chunks), False


def _console_response(
    response: requests.Response, body: bytes, truncated: bool, elapsed_ms: float
) -> ConsoleResponse:
    text = _decode(body, response.encoding)
    credential = _sent_credential(response)
    if credential and credential in text:
        # A server that echoes the token must not get it onto the page.
        text = text.replace(credential, MASK)
    content_type = response.headers.get("Content-Type", "")
    parsed = None if truncated else _parse_json(text, content_type)
    return ConsoleResponse(
        status=response.status_code,
        reason=response.reason or _phrase(response.status_code),
        url=response.url,
        headers=_masked_headers(response),
        json=parsed,
        text=_cut_text(text, truncated),
        elapsed_ms=elapsed_ms,
        truncated=truncated,
        body_bytes=len(body),
        text_cut=truncated or len(text) > MAX_BODY_CHARS,
    )


def _decode(body: bytes, encoding: str | None) -> str:
    try:
        return body.decode(encoding or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def _parse_json(text: str, content_type: str) -> object | None:
    """Parse a body that is JSON by its content type, or has none; else None."""
    if not text.strip():
        return None
    if content_type and "json" not in content_type.lower():
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _cut_text(text: str, truncated: bool) -> str:
    if truncated:
        head = text[:MAX_BODY_CHARS]
        return (
            f"{head}\n\n[Cut: the body is longer than {MAX_BODY_BYTES:,} bytes. "
            f"The console read that much and shows {len(head):,} characters.]"
        )
    if len(text) > MAX_BODY_CHARS:
        return (
            f"{text[:MAX_BODY_CHARS]}\n\n[Cut: the console shows {MAX_BODY_CHARS:,} "
            f"of the body's {len(text):,} characters.]"
        )
    return text


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _masked_headers(response: requests.Response) -> tuple[tuple[str, str], ...]:
    raw_headers = getattr(response.raw, "headers", None)
    pairs = raw_headers.items() if raw_headers is not None else response.headers.items()
    credential = _sent_credential(response)
    return tuple((name, _mask_header(name, value, credential)) for name, value in pairs)


def _sent_credential(response: requests.Response) -> str:
    """Return the credential of the Authorization header that was sent, or ""."""
    header = response.request.headers.get("Authorization", "")
    return header.partition(" ")[2].strip()


def _mask_header(name: str, value: str, credential: str) -> str:
    lowered = name.lower()
    if lowered == "set-cookie":
        value = _mask_cookie(value)
    elif lowered not in _CHALLENGE_HEADERS and _SECRET_HEADER.search(lowered):
        value = MASK
    if credential and credential in value:
        value = value.replace(credential, MASK)
    return value


def _mask_cookie(value: str) -> str:
    """Mask a Set-Cookie value but keep the cookie's name and attributes."""
    name, separator, rest = value.partition("=")
    if not separator:
        return MASK
    _, semicolon, attributes = rest.partition(";")
    return f"{name}={MASK}{semicolon}{attributes}"


def _disallowed_host_error(
    session: requests.Session, request: ConsoleRequest
) -> InvalidInput:
    allowed = sorted(getattr(session.auth, "allowed_origins", ()))
    return InvalidInput(
        "path",
        f"The request to {host_of(request.url)} was not sent, because the "
        f"session's access token is only for {', '.join(allowed) or 'other hosts'}.",
        hint="Choose the site again, or connect again, so that the API base and "
        "the token belong together.",
    )


def _network_error(
    request: ConsoleRequest, exc: requests.RequestException, status: int | None = None
) -> NetworkError:
    where = f"{request.method} {host_of(request.url)}{urlsplit(request.url).path}"
    reason = _failure_reason(exc)
    logger.warning("%s failed: %s", where, type(exc).__name__)
    if status is None:
        message = f"{where} failed before a response: {reason}."
    else:
        message = f"{where} returned {status}, but reading its body failed: {reason}."
    return NetworkError(
        message,
        hint="Check the network connection and the API base URL, then send again.",
    )


def _failure_reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "it timed out"
    text = str(exc).lower()
    for phrase, reason in _FAILURE_REASONS:
        if phrase in text:
            return reason
    return type(exc).__name__


# Snippets --------------------------------------------------------------------


def curl_command(
    request: ConsoleRequest, *, basic_auth_email: str | None = None
) -> str:
    """Return a one-line curl command that sends the request.

    Every argument is quoted with shlex.quote except the credentials, which are
    in double quotes so the shell expands $ATLASSIAN_ACCESS_TOKEN, or with
    `basic_auth_email` (an API-token connection) $ATLASSIAN_API_TOKEN. Like
    `send`, curl does not follow redirects here.
    """
    if basic_auth_email is None:
        credentials = ["-H", f'"Authorization: Bearer {TOKEN_PLACEHOLDER}"']
    else:
        email = basic_auth_email.replace("\\", "\\\\").replace('"', '\\"')
        email = email.replace("$", "\\$").replace("`", "\\`")
        credentials = ["-u", f'"{email}:${API_TOKEN_ENV_VAR}"']
    words = [
        "curl",
        "-sS",
        "-X",
        shlex.quote(request.method),
        shlex.quote(request.full_url),
        *credentials,
        "-H",
        shlex.quote("Accept: application/json"),
    ]
    if request.json_body is not None:
        words += [
            "-H",
            shlex.quote("Content-Type: application/json"),
            "--data",
            shlex.quote(_json_text(request.json_body)),
        ]
    return " ".join(words)


def _json_text(value: object) -> str:
    """Serialize a body as requests does for `json=`, so curl sends the same bytes."""
    return json.dumps(value, allow_nan=False)


def python_snippet(
    request: ConsoleRequest, *, basic_auth_email: str | None = None
) -> str:
    """Return a short script that sends the request with requests.

    The script reads the token from os.environ["ATLASSIAN_ACCESS_TOKEN"], or
    with `basic_auth_email` the API token from os.environ["ATLASSIAN_API_TOKEN"],
    raises for an error status and prints the JSON body. Unlike `send`, requests
    follows redirects, and it drops the credentials when the host changes.
    """
    variable = TOKEN_ENV_VAR if basic_auth_email is None else API_TOKEN_ENV_VAR
    lines = [
        "import json",
        "import os",
        "",
        "import requests",
        "",
        f'token = os.environ["{variable}"]',
        f"url = {request.url!r}",
    ]
    arguments = [repr(request.method), "url"]
    if request.params:
        lines.append(f"params = {_python_literal(list(request.params))}")
        arguments.append("params=params")
    if request.json_body is not None:
        lines.append(f"body = {_python_literal(request.json_body)}")
        arguments.append("json=body")
    if basic_auth_email is None:
        arguments.append(
            'headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}'
        )
    else:
        arguments += [
            f"auth=({basic_auth_email!r}, token)",
            'headers={"Accept": "application/json"}',
        ]
    arguments.append(f"timeout={SNIPPET_TIMEOUT}")

    lines += [
        "",
        "response = requests.request(",
        *(f"    {argument}," for argument in arguments),
        ")",
        "response.raise_for_status()",
        "if response.content:",
        "    print(json.dumps(response.json(), indent=2, ensure_ascii=False))",
    ]
    return "\n".join(lines) + "\n"


def _python_literal(value: object) -> str:
    # JSON values are dicts, lists, str, int, finite float, bool and None, whose
    # pformat output is a valid Python literal.
    return pprint.pformat(value, sort_dicts=False, width=80)


def _excerpt(value: str, limit: int = 60) -> str:
    """Return a quoted value for a message, cut to `limit` characters."""
    if len(value) > limit:
        return repr(value[:limit] + "…")
    return repr(value)
