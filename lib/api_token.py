"""Email + API token connections: input checks, basic auth, endpoints, verification.

An Atlassian account's API token is sent with HTTP basic auth as `email:token`.
A classic token works on the site URL, https://<name>.atlassian.net, for Jira
(`/rest/api/3/...`) and Confluence (`/wiki/...`). A scoped token works only through
the gateway, https://api.atlassian.com/ex/{jira|confluence}/{cloudid}, and the site
URL rejects it with 401. `verify` tries the site URL first and then the gateway,
with the cloud id that the site's `/_edge/tenant_info` returns without auth.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, quote, unquote, urlsplit

import requests

from lib import settings
from lib.atlassian import Endpoints, get_json
from lib.errors import (
    ApiError,
    Forbidden,
    InvalidInput,
    InvalidResponse,
    NetworkError,
    NotFound,
    ScopeMissing,
    Unauthorized,
)
from lib.http import DisallowedHost, origin_of

logger = logging.getLogger(__name__)

SITE = "site"
GATEWAY = "gateway"
ROUTES = (SITE, GATEWAY)

JIRA = "jira"
CONFLUENCE = "confluence"

SITE_DOMAIN = "atlassian.net"
TOKEN_PAGE = "https://id.atlassian.com/manage-profile/security/api-tokens"
# Atlassian's own Bamboo API (BitbucketCloudApiTokenUtils.isPasswordAToken)
# identifies an API token by this prefix. Atlassian also states that clients must
# not depend on a token's format, so a missing prefix is only mentioned in the
# explanation of a failed verification, never rejected.
TOKEN_PREFIX = "ATAT"

MAX_URL_LENGTH = 2048
MAX_EMAIL_LENGTH = 254
MAX_TOKEN_LENGTH = 1024

_QUOTES = "\"'`“”‘’"
# Characters that copying from a web page or chat leaves in a value but that no
# URL, address or token contains: zero-width spaces and joiners, and the BOM.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_SITE_NAME = re.compile(_LABEL)
_CLOUD_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
# Hosts of Atlassian itself that people paste instead of their site's address.
_ATLASSIAN_PAGES = ("atlassian.com", "id.atlassian.com", "admin.atlassian.com")


# Site URL -----------------------------------------------------------------------


def normalize_site_url(text: str | None, *, practice_base: str | None = None) -> str:
    """Return the site URL in one form, or raise InvalidInput (field "site_url").

    A real site becomes `https://<name>.atlassian.net`: the host in lower case,
    https added when no scheme is given, and any path, query or fragment dropped,
    so an address copied from a Jira board works. Plain http, other hosts, ports
    other than 443, and a user name or password in the URL are rejected.

    With `practice_base` (the sandbox's base URL, `http://127.0.0.1:<port>`), only
    that sandbox's site URLs are accepted: the same scheme, host and port, then
    `/sites/<slug>`. The result keeps `/sites/<slug>` with the slug
    percent-encoded as the sandbox writes it, and drops the rest of the path.
    """
    value = _clean_url_text(text)
    parts = _split_url(value, "http" if practice_base is not None else "https")
    if practice_base is not None:
        return _practice_site_url(value, parts, practice_base)
    return _real_site_url(value, parts)


def _invalid_site(message: str, hint: str) -> InvalidInput:
    return InvalidInput("site_url", message, hint=hint)


def _url_preview(text: str) -> str:
    """Return a URL for a message without its user info, query or fragment, which
    can carry passwords or tokens, shortened to 60 characters."""
    preview = re.sub(r"^([^/]*//)[^/@?#]*@", r"\1…@", text)
    preview = re.sub(r"[?#].*", "?…", preview)
    if len(preview) > 60:
        preview = preview[:59] + "…"
    return repr(preview)


def _clean_url_text(text: str | None) -> str:
    value = (text or "").translate(_INVISIBLE).strip()
    example = "for example https://your-site.atlassian.net"
    if not value:
        raise _invalid_site(
            "The site URL is empty.",
            f"Enter the address of your Atlassian site, {example}.",
        )
    if len(value) > MAX_URL_LENGTH:
        raise _invalid_site(
            f"The site URL is {len(value)} characters long (at most {MAX_URL_LENGTH}).",
            f"Enter only the site's address, {example}.",
        )
    if value[0] in _QUOTES or value[-1] in _QUOTES:
        raise _invalid_site(
            f"The site URL {_url_preview(value)} starts or ends with a quote mark.",
            "Remove the quotes and enter the bare address.",
        )
    if any(character.isspace() for character in value):
        raise _invalid_site(
            f"The site URL {_url_preview(value)} contains spaces or line breaks.",
            f"Enter the address in one piece, {example}.",
        )
    if not value.isprintable():
        raise _invalid_site(
            f"The site URL {_url_preview(value)} contains control characters.",
            f"Type the address again, {example}.",
        )
    return value


def _split_url(value: str, default_scheme: str) -> SplitResult:
    """Split the URL, adding `default_scheme` when it has none."""
    if value.startswith("//"):
        value = f"{default_scheme}:{value}"
    elif "://" not in value:
        value = f"{default_scheme}://{value}"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise _invalid_site(
            f"The site URL {_url_preview(value)} has an invalid host or port.",
            "Check the part after // for typos; site addresses have no brackets "
            "and no port.",
        ) from exc
    if "@" in parts.netloc:
        raise _invalid_site(
            f"The site URL {_url_preview(value)} contains a user name or password.",
            "Remove the part before @. The email and the API token have their own "
            "fields.",
        )
    if not parts.hostname:
        raise _invalid_site(
            f"The site URL {_url_preview(value)} has no host.",
            "Enter the full address, for example https://your-site.atlassian.net.",
        )
    if not parts.netloc.isascii():
        raise _invalid_site(
            f"The site URL {_url_preview(value)} has a host with non-ASCII characters.",
            "Atlassian site names use only letters a-z, digits and hyphens. Copy "
            "the address from the browser.",
        )
    return parts


def _real_site_url(value: str, parts: SplitResult) -> str:
    host = parts.hostname.lower()
    preview = _url_preview(value)
    _check_site_host(preview, host)
    if parts.scheme.lower() != "https":
        raise _invalid_site(
            f"The site URL {preview} uses {parts.scheme}, but Atlassian Cloud sites "
            "are served only over https.",
            f"Write it as https://{host}.",
        )
    if parts.port not in (None, 443):
        raise _invalid_site(
            f"The site URL {preview} names port {parts.port}.",
            f"Atlassian Cloud sites have no port. Write it as https://{host}.",
        )
    return f"https://{host}"


def _check_site_host(preview: str, host: str) -> None:
    example = "https://your-site.atlassian.net"
    if host == "api.atlassian.com":
        raise _invalid_site(
            f"The site URL {preview} is Atlassian's API gateway, not a site.",
            f"Enter your site's own address, {example}. The gateway is tried "
            "automatically for scoped tokens.",
        )
    if host in _ATLASSIAN_PAGES or host.endswith(".atlassian.com"):
        raise _invalid_site(
            f"The site URL {preview} is one of Atlassian's own pages, not a site.",
            f"Open your Jira or Confluence and copy the address up to "
            f".atlassian.net, such as {example}.",
        )
    name = host.removesuffix(f".{SITE_DOMAIN}")
    if name == host:
        raise _invalid_site(
            f"The site URL {preview} is not an Atlassian Cloud site: its host "
            f"{host!r} does not end in .{SITE_DOMAIN}.",
            f"Enter the address of your Atlassian site, such as {example}.",
        )
    if "." in name:
        raise _invalid_site(
            f"The site URL {preview} has more than one name before .{SITE_DOMAIN}.",
            f"Site addresses have one name there, such as {example}.",
        )
    if not _SITE_NAME.fullmatch(name):
        raise _invalid_site(
            f"The site URL {preview} has an invalid site name {name!r}.",
            "Site names use only letters a-z, digits and hyphens; copy the "
            "address from the browser.",
        )


def _practice_site_url(value: str, parts: SplitResult, practice_base: str) -> str:
    practice = origin_of(practice_base)
    example = f"{practice}/sites/practice-cloud"
    preview = _url_preview(value)
    if origin_of(parts.geturl()) != practice:
        raise _invalid_site(
            f"The site URL {preview} is not a site of the practice sandbox at "
            f"{practice}.",
            f"In practice mode, use a sandbox site such as {example}, or leave "
            "practice mode to connect a real site.",
        )
    segments = parts.path.split("/")
    slug = unquote(segments[2]) if len(segments) > 2 else ""
    if segments[1:2] != ["sites"] or not slug:
        raise _invalid_site(
            f"The site URL {preview} does not name a sandbox site: its path must "
            "start with /sites/ and the site's name.",
            f"Use a sandbox site such as {example}.",
        )
    return f"{practice}/sites/{quote(slug, safe='')}"


# Email and token ----------------------------------------------------------------


def validate_email(text: str | None) -> str:
    """Return the address stripped, with the domain in lower case, or raise
    InvalidInput (field "email"). This checks the shape only."""
    value = (text or "").translate(_INVISIBLE).strip()
    if value.lower().startswith("mailto:"):
        value = value[len("mailto:") :]

    hint = (
        "Enter the email address of the Atlassian account that created the API "
        "token, such as name@example.com."
    )
    if not value:
        raise InvalidInput("email", "The email address is empty.", hint=hint)

    preview = repr(value if len(value) <= 60 else value[:59] + "…")
    if len(value) > MAX_EMAIL_LENGTH:
        raise InvalidInput(
            "email",
            f"The email address is {len(value)} characters long (at most "
            f"{MAX_EMAIL_LENGTH}).",
            hint=hint,
        )
    if any(character.isspace() or character in "<>" for character in value):
        raise InvalidInput(
            "email",
            f"The email address {preview} contains spaces or a name around it.",
            hint="Enter only the address, such as name@example.com.",
        )

    local, at, domain = value.rpartition("@")
    problem = _email_problem(local, at, domain)
    if problem:
        raise InvalidInput(
            "email", f"The email address {preview} is invalid: {problem}.", hint=hint
        )
    return f"{local}@{domain.lower()}"


def _email_problem(local: str, at: str, domain: str) -> str | None:
    if not at:
        return "it has no @"
    if not local:
        return "nothing comes before the @"
    if "@" in local or any(character in local for character in ':;,()[]\\"'):
        return 'the part before the @ contains @ or one of : ; , ( ) [ ] \\ "'
    if len(local) > 64:
        return "the part before the @ is longer than 64 characters"
    if not (local + domain).isprintable():
        return "it contains control characters"
    labels = domain.split(".")
    if len(labels) < 2:
        return f"the domain {domain!r} has no dot"
    for label in labels:
        valid = label and not label.startswith("-") and not label.endswith("-")
        if not valid or not all(c.isalnum() or c == "-" for c in label):
            return f"the domain {domain!r} is not a valid host name"
    return None


def clean_api_token(text: str | None) -> str:
    """Return the token without whitespace, or raise InvalidInput (field
    "api_token").

    Spaces and line breaks are removed wherever they are, because a token has
    none and a copy from a wrapped line or an email brings them in. Messages never
    repeat the value.
    """
    raw = (text or "").translate(_INVISIBLE).strip()
    create = f"Create one at {TOKEN_PAGE} and paste it here."
    if raw.lower().startswith(("basic ", "bearer ", "authorization:")):
        raise InvalidInput(
            "api_token",
            "The API token field contains an Authorization header, not a token.",
            hint="Paste only the token that Atlassian showed when it was created.",
        )
    token = "".join(raw.split())
    if not token:
        raise InvalidInput("api_token", "The API token is empty.", hint=create)
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidInput(
            "api_token",
            f"The API token is {len(token)} characters long (at most "
            f"{MAX_TOKEN_LENGTH}).",
            hint="Paste only the token, without the text around it.",
        )
    if token[0] in _QUOTES or token[-1] in _QUOTES:
        raise InvalidInput(
            "api_token",
            "The API token starts or ends with a quote mark.",
            hint="Remove the quotes and paste the bare token.",
        )
    if re.match(r"[^:@]+@[^:@]+\.[^:@]+:", token):
        raise InvalidInput(
            "api_token",
            "The API token field starts with an email address and a colon.",
            hint="Enter the email in its own field and paste only the token here.",
        )
    if not token.isascii() or not token.isprintable():
        raise InvalidInput(
            "api_token",
            "The API token contains characters that are not plain ASCII.",
            hint=f"Copy the token again; typed or translated text will not work. "
            f"{create}",
        )
    return token


def has_token_prefix(token: str) -> bool:
    """Return whether a token starts like current Atlassian API tokens (ATAT)."""
    return token.startswith(TOKEN_PREFIX)


# Basic auth ---------------------------------------------------------------------


class ApiTokenAuth(requests.auth.AuthBase):
    """Attach `Authorization: Basic base64(email:token)`, but only for the origins
    (scheme, host and port) the token is for. On a redirect to another host,
    requests drops the header and does not call this object again."""

    def __init__(self, email: str, token: str, allowed_origins: frozenset[str]):
        if ":" in email:
            raise ValueError("A basic auth user name cannot contain a colon")
        self.email = email
        self._token = token
        self.allowed_origins = frozenset(allowed_origins)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        origin = origin_of(request.url)
        if origin not in self.allowed_origins:
            allowed = ", ".join(sorted(self.allowed_origins))
            raise DisallowedHost(
                f"Refusing to send an API token to {origin}: it is not one of the "
                f"origins this connection uses ({allowed})."
            )
        request.headers["Authorization"] = basic_authorization(self.email, self._token)
        return request

    def __repr__(self) -> str:
        return (
            f"ApiTokenAuth(email={self.email!r}, token=[secure], "
            f"allowed_origins={sorted(self.allowed_origins)})"
        )


def basic_authorization(email: str, token: str) -> str:
    """Return the basic Authorization header value, with UTF-8 as RFC 7617 allows."""
    credentials = base64.b64encode(f"{email}:{token}".encode()).decode("ascii")
    return f"Basic {credentials}"


# Endpoints ----------------------------------------------------------------------


@dataclass(frozen=True)
class ApiTokenEndpoints(Endpoints):
    """The API bases of an API-token connection, for lib.jira and lib.confluence.

    With route "site", Jira and Confluence both use the site URL (Confluence paths
    add /wiki/...). With route "gateway", they use
    `{api_base}/ex/{jira|confluence}/{cloudid}`, as scoped tokens require. The
    OAuth URLs inherited from Endpoints do not apply to API tokens.
    """

    site_url: str = ""
    route: str = SITE

    def __post_init__(self) -> None:
        if self.route not in ROUTES:
            raise ValueError(f"route must be one of {', '.join(ROUTES)}")
        if self.route == SITE and not self.site_url:
            raise ValueError("route 'site' needs a site_url")

    def jira_base(self, cloud_id: str) -> str:
        if self.route == SITE:
            return self.site_url
        return super().jira_base(cloud_id)

    def confluence_base(self, cloud_id: str) -> str:
        if self.route == SITE:
            return self.site_url
        return super().confluence_base(cloud_id)

    @property
    def api_origins(self) -> frozenset[str]:
        """The one origin the API token may be sent to."""
        base = self.site_url if self.route == SITE else self.api_base
        return frozenset({origin_of(base)})


# Verification -------------------------------------------------------------------

SessionFactory = Callable[..., requests.Session]


@dataclass(frozen=True)
class Verification:
    """A verified API-token connection: where it works and whom it signs in as.

    `route` is "site" or "gateway". `products` lists "jira" and "confluence" where
    the token signed in. `cloud_id` is None when the site's tenant_info did not
    return one on the site route. `email` is the address the token was verified
    with.
    """

    site_url: str
    cloud_id: str | None
    route: str
    account_id: str
    display_name: str
    email: str
    products: tuple[str, ...]

    @property
    def summary(self) -> str:
        return f"authenticated as {self.display_name}"

    def endpoints(
        self, api_base: str = settings.ATLASSIAN_API_BASE
    ) -> ApiTokenEndpoints:
        """Return the endpoints to call the APIs with, on the route that worked."""
        return ApiTokenEndpoints(
            api_base=api_base.rstrip("/"), site_url=self.site_url, route=self.route
        )


class ApiTokenRejected(Unauthorized):
    """Neither the site URL nor the gateway accepted the email and API token.

    `causes` lists the likely reasons, most likely first.
    """

    causes: tuple[str, ...] = ()


class AccountInactive(Unauthorized):
    """The email and token signed in, but the account is deactivated."""


class SiteWithoutProducts(NotFound):
    """Neither Jira nor Confluence was found at the site URL."""


class TokenScopesMissing(ScopeMissing):
    """The gateway accepted a scoped token that cannot read the current user."""


# Outcomes of one product's identity request.
ACCEPTED = "accepted"
REJECTED = "rejected"
ANONYMOUS = "anonymous"
INACTIVE = "inactive"
ABSENT = "absent"
FORBIDDEN = "forbidden"
SCOPE = "scope"

_PRODUCT_NAMES = {JIRA: "Jira", CONFLUENCE: "Confluence"}
_OUTCOME_TEXT = {
    REJECTED: "401",
    ANONYMOUS: "an anonymous user",
    INACTIVE: "a deactivated account",
    ABSENT: "404",
    FORBIDDEN: "403",
    SCOPE: "401 scope does not match",
}


@dataclass(frozen=True)
class _Answer:
    product: str
    outcome: str
    url: str
    status: int
    account_id: str = ""
    display_name: str = ""
    required: str = ""


def verify(
    session_factory: SessionFactory,
    site_url: str,
    email: str,
    token: str,
    *,
    gateway_base: str | None = None,
    practice_base: str | None = None,
) -> Verification:
    """Sign in with the email and API token and return where and as whom it works.

    Jira's `/rest/api/3/myself` and Confluence's `/wiki/rest/api/user/current`
    are requested on the site URL first. When no product signs in there and
    one returns 401, the cloud id from `<site>/_edge/tenant_info` leads to the same
    requests through `gateway_base`. An identity counts only when it names an
    active account: an anonymous user or an empty account id is a failure.

    `gateway_base` defaults to api.atlassian.com, or to `practice_base` in
    practice mode, so a practice token never leaves the sandbox. A `gateway_base`
    on another origin than `practice_base` raises ValueError.

    `session_factory(auth=...)` returns a requests.Session (lib.http.create_session
    fits); it is called without `auth` for the tenant_info request. The inputs are
    checked with normalize_site_url, validate_email and clean_api_token first.
    Raises InvalidInput, ApiTokenRejected, AccountInactive, SiteWithoutProducts,
    TokenScopesMissing, or the ApiError or NetworkError of a request that failed
    otherwise.
    """
    gateway_base = _gateway_base(gateway_base, practice_base)
    site = normalize_site_url(site_url, practice_base=practice_base)
    email = validate_email(email)
    token = clean_api_token(token)
    on_site = ApiTokenEndpoints(api_base=gateway_base, site_url=site, route=SITE)

    answers = _ask_site(session_factory, on_site, email, token)
    _raise_if_inactive(answers, email)
    if _signed_in(answers):
        cloud_id, _ = _lookup_cloud_id(session_factory, site)
        return _verification(site, cloud_id, SITE, email, answers)
    if all(answer.outcome == ABSENT for answer in answers):
        raise _site_without_products(site, answers)

    gateway_answers: list[_Answer] = []
    lookup_problem = "the site URL did not answer 401"
    if any(answer.outcome == REJECTED for answer in answers):
        cloud_id, lookup_problem = _lookup_cloud_id(session_factory, site)
        if cloud_id is not None:
            on_gateway = dataclasses.replace(on_site, route=GATEWAY)
            gateway_answers = _ask_products(
                session_factory, on_gateway, cloud_id, email, token
            )
            _raise_if_inactive(gateway_answers, email)
            if _signed_in(gateway_answers):
                return _verification(site, cloud_id, GATEWAY, email, gateway_answers)
            _raise_if_scopes_missing(gateway_answers, email)
    raise _rejected(site, email, token, answers, gateway_answers, lookup_problem)


def _gateway_base(gateway_base: str | None, practice_base: str | None) -> str:
    if practice_base is None:
        return (gateway_base or settings.ATLASSIAN_API_BASE).rstrip("/")
    if gateway_base is not None and origin_of(gateway_base) != origin_of(practice_base):
        raise ValueError("In practice mode the gateway must be the sandbox")
    return (gateway_base or practice_base).rstrip("/")


def _ask_site(session_factory, endpoints, email: str, token: str) -> list[_Answer]:
    """Ask both products on the site URL, naming the site when it is unreachable."""
    try:
        return _ask_products(session_factory, endpoints, None, email, token)
    except NetworkError as exc:
        raise NetworkError(
            exc.message,
            hint=f"Check the site URL {endpoints.site_url}: a misspelled site name "
            "does not respond. Then check the network connection.",
        ) from exc


def _ask_products(
    session_factory, endpoints: ApiTokenEndpoints, cloud_id, email, token
) -> list[_Answer]:
    auth = ApiTokenAuth(email, token, endpoints.api_origins)
    with session_factory(auth=auth) as session:
        return [
            _ask(
                session,
                JIRA,
                f"{endpoints.jira_base(cloud_id)}/rest/api/3/myself",
            ),
            _ask(
                session,
                CONFLUENCE,
                f"{endpoints.confluence_base(cloud_id)}/wiki/rest/api/user/current",
            ),
        ]


def _ask(session: requests.Session, product: str, url: str) -> _Answer:
    """Request one product's current user and classify the response."""
    try:
        payload = get_json(session, url)
    except ScopeMissing as exc:
        return _Answer(product, SCOPE, url, exc.status, required=exc.required)
    except Unauthorized as exc:
        return _Answer(product, REJECTED, url, exc.status)
    except NotFound as exc:
        return _Answer(product, ABSENT, url, exc.status)
    except Forbidden as exc:
        return _Answer(product, FORBIDDEN, url, exc.status)
    if not isinstance(payload, dict):
        raise InvalidResponse(
            f"{_PRODUCT_NAMES[product]}'s current user at {url} is not a JSON object.",
            hint="A proxy or login page may have answered; check the site URL.",
        )
    return _identity_answer(product, url, payload)


def _identity_answer(product: str, url: str, payload: dict) -> _Answer:
    account_id = payload.get("accountId")
    if payload.get("type") == "anonymous" or not (
        isinstance(account_id, str) and account_id.strip()
    ):
        return _Answer(product, ANONYMOUS, url, 200)
    name = payload.get("displayName")
    display_name = name if isinstance(name, str) and name.strip() else account_id
    outcome = INACTIVE if payload.get("active") is False else ACCEPTED
    return _Answer(product, outcome, url, 200, account_id, display_name)


def _signed_in(answers: list[_Answer]) -> bool:
    return any(answer.outcome == ACCEPTED for answer in answers)


def _verification(site, cloud_id, route, email, answers) -> Verification:
    accepted = [answer for answer in answers if answer.outcome == ACCEPTED]
    first = accepted[0]
    logger.info(
        "API token of account %s verified on the %s route for %s",
        first.account_id,
        route,
        ", ".join(answer.product for answer in accepted),
    )
    return Verification(
        site_url=site,
        cloud_id=cloud_id,
        route=route,
        account_id=first.account_id,
        display_name=first.display_name,
        email=email,
        products=tuple(answer.product for answer in accepted),
    )


def _lookup_cloud_id(session_factory, site: str) -> tuple[str | None, str]:
    """Return (cloud id, "") from the site's tenant_info, or (None, the problem)."""
    url = f"{site}/_edge/tenant_info"
    try:
        with session_factory() as session:
            payload = get_json(session, url)
    except (ApiError, InvalidResponse, NetworkError) as exc:
        return None, f"the cloud id lookup at {url} failed: {exc.message}"
    cloud_id = payload.get("cloudId") if isinstance(payload, dict) else None
    if not isinstance(cloud_id, str) or not _CLOUD_ID.fullmatch(cloud_id):
        return None, f"{url} returned no valid cloudId"
    return cloud_id, ""


def _raise_if_inactive(answers: list[_Answer], email: str) -> None:
    for answer in answers:
        if answer.outcome == INACTIVE:
            raise AccountInactive(
                f"The Atlassian account of {email} is deactivated: "
                f"{_PRODUCT_NAMES[answer.product]} returned it with active set "
                "to false.",
                hint="Ask an organization admin to reactivate the account, or use "
                "an API token of an active account.",
                status=answer.status,
                method="GET",
                url=answer.url,
            )


def _raise_if_scopes_missing(answers: list[_Answer], email: str) -> None:
    """Raise TokenScopesMissing when the gateway knew the token but every product
    that exists returned "scope does not match"."""
    present = [answer for answer in answers if answer.outcome != ABSENT]
    if not present or any(answer.outcome != SCOPE for answer in present):
        return
    needed = " or ".join(
        f"{answer.required} ({_PRODUCT_NAMES[answer.product]})"
        for answer in present
        if answer.required
    )
    error = TokenScopesMissing(
        f"The gateway accepted the scoped API token of {email}, but the token "
        "lacks the scopes to read the current user.",
        hint=f"Create a scoped token that includes {needed or 'a user scope'}, "
        "or use a classic token.",
        status=401,
        method="GET",
        url=present[0].url,
    )
    error.required = needed
    raise error


def _site_without_products(site: str, answers: list[_Answer]) -> SiteWithoutProducts:
    return SiteWithoutProducts(
        f"Neither Jira nor Confluence was found at {site}: both returned 404.",
        hint="Check the site URL: open the site in a browser and copy the address "
        f"up to .{SITE_DOMAIN}.",
        status=404,
        method="GET",
        url=answers[0].url,
    )


def _describe(answers: list[_Answer]) -> str:
    return ", ".join(
        f"{_PRODUCT_NAMES[answer.product]} {_OUTCOME_TEXT[answer.outcome]}"
        for answer in answers
    )


def _rejected(site, email, token, answers, gateway_answers, lookup_problem):
    """Build the ApiTokenRejected error: what each request returned, then the
    likely causes in order. Neither includes the token or a response body."""
    message = (
        f"Atlassian did not accept the API token of {email} for {site}. "
        f"On the site URL: {_describe(answers)}."
    )
    if gateway_answers:
        message += f" Through the gateway: {_describe(gateway_answers)}."
    causes = _causes(site, email, token, bool(gateway_answers), lookup_problem)
    numbered = " ".join(f"{index}. {cause}" for index, cause in enumerate(causes, 1))
    statuses = [answer.status for answer in answers if answer.outcome != ABSENT]
    status = 401 if 401 in statuses else (statuses or [404])[0]
    error = ApiTokenRejected(
        message,
        hint=f"Likely causes, most likely first: {numbered}",
        status=status,
        method="GET",
        url=answers[0].url,
    )
    error.causes = causes
    return error


def _causes(site, email, token, gateway_tried: bool, lookup_problem: str):
    password = "The account password was pasted instead of an API token"
    if not has_token_prefix(token):
        password += (
            f"; this value does not start with {TOKEN_PREFIX}, as current API tokens do"
        )
    scoped = "It is a scoped token, which works only through api.atlassian.com"
    if gateway_tried:
        scoped += ", and the gateway rejected it too"
    else:
        scoped += f"; the gateway was not tried because {lookup_problem}"
    return (
        f"The email {email} is not the address of the Atlassian account that "
        "created the token.",
        "The token was revoked or has expired (API tokens last at most a year); "
        f"create a new one at {TOKEN_PAGE}.",
        f"{password}.",
        f"{scoped}.",
        f"The site {site} is not one where this account has Jira or Confluence; "
        "check the site URL.",
    )
