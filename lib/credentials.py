"""Validation of the OAuth app's client ID, client secret and redirect URI."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import SplitResult, parse_qs, urlsplit

from lib.errors import InvalidInput

MAX_CREDENTIAL_LENGTH = 512
MAX_URI_LENGTH = 2048
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_QUOTES = "\"'`“”‘’"


@dataclass(frozen=True)
class Credentials:
    """A validated client ID, client secret and redirect URI."""

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str


def validate_client_id(value: str | None) -> str:
    return _validate_token_like("client_id", "client ID", value)


def validate_client_secret(value: str | None) -> str:
    return _validate_token_like("client_secret", "client secret", value, secret=True)


def _validate_token_like(
    field_name: str, label: str, value: str | None, *, secret: bool = False
) -> str:
    """Strip surrounding whitespace and reject what cannot be a copied credential.

    Messages never repeat a secret's value.
    """
    shown = "" if secret else f" {_preview_uri(value or '')}"
    text = (value or "").strip()
    where = "Settings of your app in the developer console"
    if not text:
        raise InvalidInput(
            field_name,
            f"The {label} is empty.",
            hint=f"Copy it from {where}.",
        )
    if len(text) > MAX_CREDENTIAL_LENGTH:
        raise InvalidInput(
            field_name,
            f"The {label} is {len(text)} characters long, more than any real one "
            f"(at most {MAX_CREDENTIAL_LENGTH}).",
            hint=f"Copy only the {label} from {where}.",
        )
    if text[0] in _QUOTES or text[-1] in _QUOTES:
        raise InvalidInput(
            field_name,
            f"The {label}{shown} starts or ends with a quote mark.",
            hint="Remove the quotes; paste the bare value.",
        )
    if any(character.isspace() for character in text):
        raise InvalidInput(
            field_name,
            f"The {label}{shown} contains spaces or line breaks.",
            hint=f"Copy it again from {where}; it is one unbroken word.",
        )
    if not text.isascii() or not text.isprintable():
        raise InvalidInput(
            field_name,
            f"The {label}{shown} contains characters that are not plain ASCII.",
            hint=f"Copy it again from {where}; typed or translated text will not work.",
        )
    if "://" in text:
        raise InvalidInput(
            field_name,
            f"The {label}{shown} is a web address, not a {label}.",
            hint=f"Copy the {label} from {where}. The callback URL goes in the "
            "Redirect URI field.",
        )
    return text


def _preview(value: str | None) -> str:
    text = (value or "").strip()
    if len(text) > 40:
        text = text[:37] + "…"
    return repr(text)


_USER_INFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#@]*@")


def _preview_uri(value: str) -> str:
    """Return a URI for a message, with any user name and password replaced by …,
    because the part before @ may contain a password."""
    return _preview(_USER_INFO.sub(r"\1…@", value.strip()))


def validate_redirect_uri(value: str | None) -> str:
    """Return the URI stripped of surrounding whitespace, or raise InvalidInput.

    It must be absolute http(s) with a host and no fragment. Plain http is only
    accepted for a loopback host, because the authorization code travels in it.
    """
    text = (value or "").strip()
    _check_uri_text(text)
    parts = _split_uri(text)
    _check_uri_parts(text, parts)
    return text


def _invalid_uri(message: str, hint: str) -> InvalidInput:
    return InvalidInput("redirect_uri", message, hint=hint)


def _check_uri_text(text: str) -> None:
    if not text:
        raise _invalid_uri(
            "The redirect URI is empty.",
            "Enter the callback URL registered under Authorization in the "
            "developer console, for example http://localhost:8501/callback.",
        )
    if len(text) > MAX_URI_LENGTH:
        raise _invalid_uri(
            f"The redirect URI is {len(text)} characters long (at most "
            f"{MAX_URI_LENGTH}).",
            "Paste only the callback URL, exactly as registered.",
        )
    if text[0] in _QUOTES or text[-1] in _QUOTES:
        raise _invalid_uri(
            f"The redirect URI {_preview_uri(text)} starts or ends with a quote mark.",
            "Remove the quotes and paste the bare URL.",
        )
    if any(character.isspace() for character in text):
        raise _invalid_uri(
            f"The redirect URI {_preview_uri(text)} contains spaces or line breaks.",
            "Paste the callback URL exactly as registered, in one piece.",
        )
    if not text.isascii() or not text.isprintable():
        raise _invalid_uri(
            f"The redirect URI {_preview_uri(text)} contains invisible or non-ASCII "
            "characters.",
            "Type the URL again. Write a non-ASCII host name in its xn-- form.",
        )


def _split_uri(text: str) -> SplitResult:
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
        if parts.netloc.count("[") > 1 or parts.netloc.count("]") > 1:
            raise ValueError("more than one IPv6 bracket")
    except ValueError as exc:
        raise _invalid_uri(
            f"The redirect URI {_preview_uri(text)} has an invalid host or port.",
            "Check the part after // for typos.",
        ) from exc
    if not parts.scheme:
        raise _invalid_uri(
            f"The redirect URI {_preview_uri(text)} is relative. It needs a scheme and "
            "a host.",
            "Write the full URL, for example http://localhost:8501/callback.",
        )
    if not parts.netloc and _HOST_AND_PORT.match(text):
        raise _invalid_uri(
            f"The redirect URI {_preview_uri(text)} is missing http:// or https://.",
            f"Write it as http://{text} (on this computer) or https://{text}.",
        )
    return parts


def _check_uri_parts(text: str, parts: SplitResult) -> None:
    if parts.scheme not in ("http", "https"):
        raise _invalid_uri(
            f"The redirect URI {_preview_uri(text)} uses the scheme {parts.scheme!r}.",
            "Use an https:// URL, or http:// on localhost.",
        )
    if not parts.hostname or not _is_host(parts.hostname) or parts.port == 0:
        raise _invalid_uri(
            f"The redirect URI {_preview_uri(text)} has no valid host and port.",
            "Write the full URL, for example http://localhost:8501/callback.",
        )
    if parts.fragment or "#" in text:
        raise _invalid_uri(
            f"The redirect URI {_preview_uri(text)} contains a fragment (#…).",
            "Remove everything from # on, because OAuth redirect URIs have none.",
        )
    if "@" in parts.netloc:
        raise _invalid_uri(
            f"The redirect URI {_preview_uri(text)} contains a user name or password.",
            "Remove the part before @.",
        )
    reserved = sorted(_CALLBACK_PARAMETERS & set(parse_qs(parts.query, True)))
    if reserved:
        raise _invalid_uri(
            f"The redirect URI {_preview_uri(text)} already contains "
            f"{', '.join(name + '=' for name in reserved)}.",
            "Atlassian adds code= and state= itself. Use the callback URL without "
            "them.",
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise _invalid_uri(
            f"The redirect URI {_preview_uri(text)} uses plain http on a host other "
            "than localhost.",
            "Use https for any host that is not this computer, because the "
            "authorization code travels in this address.",
        )


_HOST_AND_PORT = re.compile(r"[^:/]+:[0-9]")
_LABEL = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"
_HOST_NAME = re.compile(rf"{_LABEL}(\.{_LABEL})*")
_CALLBACK_PARAMETERS = frozenset({"code", "state", "error", "error_description"})


def _is_host(hostname: str) -> bool:
    """Return whether a host is a DNS name or an IP address."""
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return _HOST_NAME.fullmatch(hostname) is not None
    return True


def is_loopback(hostname: str | None) -> bool:
    if not hostname:
        return False
    if hostname.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def validate_credentials(
    client_id: str | None, client_secret: str | None, redirect_uri: str | None
) -> Credentials:
    """Validate all three fields and raise the first InvalidInput found."""
    return Credentials(
        client_id=validate_client_id(client_id),
        client_secret=validate_client_secret(client_secret),
        redirect_uri=validate_redirect_uri(redirect_uri),
    )


def collect_errors(
    client_id: str | None, client_secret: str | None, redirect_uri: str | None
) -> dict[str, InvalidInput]:
    """Validate every field and return the errors by field name, so a form can show
    each next to its input."""
    errors: dict[str, InvalidInput] = {}
    for validate, value in (
        (validate_client_id, client_id),
        (validate_client_secret, client_secret),
        (validate_redirect_uri, redirect_uri),
    ):
        try:
            validate(value)
        except InvalidInput as exc:
            errors[exc.field] = exc
    return errors


def is_served_by(redirect_uri: str, app_url: str, callback_path: str) -> bool:
    """Return whether the redirect URI is this app's own callback page.

    Loopback names (localhost, 127.0.0.1, ::1) count as the same host when the
    scheme and port agree, since the browser reaches this app through any of them.
    """
    redirect = urlsplit(redirect_uri)
    app = urlsplit(app_url)
    if redirect.scheme != app.scheme or redirect.path.rstrip("/") != callback_path:
        return False
    try:
        same_port = (redirect.port or _default_port(redirect.scheme)) == (
            app.port or _default_port(app.scheme)
        )
    except ValueError:
        return False
    if not same_port:
        return False
    redirect_host = (redirect.hostname or "").lower()
    app_host = (app.hostname or "").lower()
    if redirect_host == app_host:
        return True
    return is_loopback(redirect_host) and is_loopback(app_host)


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def mask_secret(value: str | None) -> str:
    """Return a secret as dots and its last four characters (all dots when short)."""
    if not value:
        return ""
    if len(value) < 12:
        return "•" * 8
    return "•" * 8 + value[-4:]
