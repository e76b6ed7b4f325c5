"""Confluence Cloud through the gateway: spaces (REST v2, or v1), pages, bodies.

REST v2 accepts only granular scopes (read:space:confluence, read:page:confluence)
and pages by cursor with a relative `_links.next`. The v1 space list accepts the
classic read:confluence-space.summary and pages by `start`/`limit`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import requests

from lib import paging
from lib.atlassian import Endpoints, get_json
from lib.errors import InvalidInput, InvalidResponse
from lib.http import origin_of
from lib.scopes import ENDPOINT_SCOPES

SPACE_PAGE_MAX_V2 = 250
SPACE_PAGE_MAX_V1 = 250
PAGE_LIST_MAX = 250

SPACE_TYPES_V2 = ("global", "collaboration", "knowledge_base", "personal")
SPACE_TYPES_V1 = ("global", "personal")
SPACE_STATUSES = ("current", "archived")
BODY_FORMATS = ("view", "storage")


@dataclass(frozen=True)
class Space:
    id: str
    key: str
    name: str
    type: str | None
    status: str | None
    webui: str | None


@dataclass(frozen=True)
class SpacePage:
    """One page of spaces, with `api` naming the API that returned it ("v2" or "v1")."""

    spaces: tuple[Space, ...]
    api: str
    next_url: str | None
    url: str
    raw: object = field(default=None, repr=False, compare=False)

    @property
    def items(self) -> tuple[Space, ...]:
        return self.spaces


@dataclass(frozen=True)
class Page:
    id: str
    title: str
    status: str | None
    parent_id: str | None
    created_at: str | None
    version: int | None
    webui: str | None


@dataclass(frozen=True)
class PageList:
    pages: tuple[Page, ...]
    next_url: str | None
    url: str
    raw: object = field(default=None, repr=False, compare=False)

    @property
    def items(self) -> tuple[Page, ...]:
        return self.pages


@dataclass(frozen=True)
class PageBody:
    """One page with its body as the server sent it (not yet sanitized)."""

    page: Page
    space_id: str | None
    body_format: str
    body: str
    base_url: str | None
    raw: object = field(default=None, repr=False, compare=False)


# Spaces --------------------------------------------------------------------------


def confluence_api_for(granted_scopes) -> str | None:
    """Return "v2" or "v1": the space API the granted scopes allow, or None."""
    granted = frozenset(granted_scopes)
    if ENDPOINT_SCOPES["/wiki/api/v2/spaces"].is_met_by(granted):
        return "v2"
    if ENDPOINT_SCOPES["/wiki/rest/api/space"].is_met_by(granted):
        return "v1"
    return None


def parse_space_page(payload, url: str, api: str) -> SpacePage:
    if not isinstance(payload, dict) or not isinstance(payload.get("results"), list):
        raise InvalidResponse(
            "The space list response has no results list.",
            hint="Check the API base URL.",
        )
    spaces = tuple(
        _parse_space(value) for value in payload["results"] if isinstance(value, dict)
    )
    return SpacePage(
        spaces=spaces, api=api, next_url=_next_link(payload), url=url, raw=payload
    )


def _parse_space(value: dict) -> Space:
    links = _object(value.get("_links"))
    return Space(
        id=str(value.get("id", "")),
        key=str(value.get("key", "")),
        name=str(value.get("name", "")),
        type=_text(value.get("type")),
        status=_text(value.get("status")),
        webui=_text(links.get("webui")),
    )


def list_spaces(
    session: requests.Session,
    endpoints: Endpoints,
    cloud_id: str,
    *,
    api: str = "v2",
    limit: int = 25,
    space_type: str | None = None,
    status: str | None = None,
    next_url: str | None = None,
) -> SpacePage:
    """Return one page of Confluence spaces from REST v2, or v1 when `api="v1"`.

    `next_url` is the `_links.next` of the previous page. It is joined to the
    gateway base as it came, without decoding or re-encoding the cursor.
    """
    base = endpoints.confluence_base(cloud_id)
    if next_url:
        url = join_next_link(base, next_url, api)
        return parse_space_page(get_json(session, url), url, api)

    _check_space_filters(api, space_type, status)
    if api == "v2":
        url = f"{base}/wiki/api/v2/spaces"
        params: dict = {"limit": min(max(1, limit), SPACE_PAGE_MAX_V2)}
    else:
        url = f"{base}/wiki/rest/api/space"
        params = {"start": 0, "limit": min(max(1, limit), SPACE_PAGE_MAX_V1)}
    if space_type:
        params["type"] = space_type
    if status:
        params["status"] = status
    return parse_space_page(get_json(session, url, params=params), url, api)


def _check_space_filters(api: str, space_type: str | None, status: str | None):
    types = SPACE_TYPES_V2 if api == "v2" else SPACE_TYPES_V1
    if space_type is not None and space_type not in types:
        raise InvalidInput(
            "space_type",
            f"{space_type!r} is not a space type the {api} API filters by.",
            hint=f"Use one of {', '.join(types)}.",
        )
    if status is not None and status not in SPACE_STATUSES:
        raise InvalidInput(
            "status",
            f"{status!r} is not a space status.",
            hint=f"Use one of {', '.join(SPACE_STATUSES)}.",
        )


def iter_all_spaces(
    session: requests.Session,
    endpoints: Endpoints,
    cloud_id: str,
    *,
    api: str = "v2",
    space_type: str | None = None,
    status: str | None = None,
) -> Iterator[SpacePage]:
    """Yield every page of spaces at the largest page size, following the links."""
    limit = SPACE_PAGE_MAX_V2 if api == "v2" else SPACE_PAGE_MAX_V1

    def first() -> SpacePage:
        return list_spaces(
            session,
            endpoints,
            cloud_id,
            api=api,
            limit=limit,
            space_type=space_type,
            status=status,
        )

    def following(next_url: str) -> SpacePage:
        return list_spaces(session, endpoints, cloud_id, api=api, next_url=next_url)

    return paging.iter_link_pages(first, following)


# Pages ---------------------------------------------------------------------------


def list_pages(
    session: requests.Session,
    endpoints: Endpoints,
    cloud_id: str,
    space_id: str,
    *,
    limit: int = PAGE_LIST_MAX,
    next_url: str | None = None,
) -> PageList:
    """Return one page of a space's pages (REST v2), sorted by title."""
    base = endpoints.confluence_base(cloud_id)
    if next_url:
        url = join_next_link(base, next_url, "v2")
        return parse_page_list(get_json(session, url), url)
    if not str(space_id).isdigit():
        raise InvalidInput(
            "space",
            f"{str(space_id)[:40]!r} is not a space id.",
            hint="Pick the space from the list.",
        )
    url = f"{base}/wiki/api/v2/spaces/{space_id}/pages"
    params = {"limit": min(max(1, limit), PAGE_LIST_MAX), "sort": "title"}
    return parse_page_list(get_json(session, url, params=params), url)


def parse_page_list(payload, url: str) -> PageList:
    if not isinstance(payload, dict) or not isinstance(payload.get("results"), list):
        raise InvalidResponse(
            "The page list response has no results list.",
            hint="Check the API base URL.",
        )
    pages = tuple(
        _parse_page(value) for value in payload["results"] if isinstance(value, dict)
    )
    return PageList(pages=pages, next_url=_next_link(payload), url=url, raw=payload)


def _parse_page(value: dict) -> Page:
    version = _object(value.get("version")).get("number")
    parent = value.get("parentId")
    return Page(
        id=str(value.get("id", "")),
        title=str(value.get("title", "")),
        status=_text(value.get("status")),
        parent_id=str(parent) if parent is not None else None,
        created_at=_text(value.get("createdAt")),
        version=version if isinstance(version, int) else None,
        webui=_text(_object(value.get("_links")).get("webui")),
    )


def get_page(
    session: requests.Session,
    endpoints: Endpoints,
    cloud_id: str,
    page_id: str,
    *,
    body_format: str = "view",
) -> PageBody:
    """Return one page with its body in `body_format` ("view" or "storage")."""
    if body_format not in BODY_FORMATS:
        raise InvalidInput(
            "body_format",
            f"{body_format!r} is not a body format this page shows.",
            hint=f"Use one of {', '.join(BODY_FORMATS)}.",
        )
    if not str(page_id).isdigit():
        raise InvalidInput(
            "page",
            f"{str(page_id)[:40]!r} is not a page id.",
            hint="Pick the page from the list.",
        )
    url = f"{endpoints.confluence_base(cloud_id)}/wiki/api/v2/pages/{page_id}"
    payload = get_json(session, url, params={"body-format": body_format})
    if not isinstance(payload, dict):
        raise InvalidResponse(
            "The page response is not a JSON object.", hint="Check the API base URL."
        )
    body = _object(_object(payload.get("body")).get(body_format)).get("value")
    links = _object(payload.get("_links"))
    return PageBody(
        page=_parse_page(payload),
        space_id=_text(payload.get("spaceId")),
        body_format=body_format,
        body=body if isinstance(body, str) else "",
        base_url=_absolute_http(links.get("base")),
        raw=payload,
    )


# Links ---------------------------------------------------------------------------


def _next_link(payload: dict) -> str | None:
    next_link = _object(payload.get("_links")).get("next")
    return next_link if isinstance(next_link, str) and next_link else None


def join_next_link(base: str, next_url: str, api: str) -> str:
    """Join a relative `_links.next` to the gateway's Confluence base.

    v2 links start with /wiki/…, and v1 links are relative to the /wiki context.
    The result must stay under the base: same scheme, host and port, and a path
    below the base's path. Anything else raises InvalidResponse, so a link can
    never send the token elsewhere.
    """
    if (
        next_url != next_url.strip()
        or next_url.startswith("//")
        or "\\" in next_url
        or not next_url.isprintable()
    ):
        raise _foreign_link(next_url)
    if next_url.startswith(("http://", "https://")):
        url = next_url
    else:
        if api == "v1" and not next_url.startswith("/wiki/"):
            next_url = "/wiki" + next_url
        url = urljoin(base + "/", next_url.lstrip("/"))

    path = urlsplit(url).path
    base_path = urlsplit(base).path.rstrip("/") + "/"
    if origin_of(url) != origin_of(base) or not path.startswith(base_path):
        raise _foreign_link(next_url)
    return url


def _foreign_link(next_url: str) -> InvalidResponse:
    return InvalidResponse(
        f"The next-page link {next_url[:80]!r} does not stay under this site's API "
        "base, so it was not followed.",
        hint="Reload the list. If it repeats, report it to the site's owner.",
    )


def _absolute_http(value) -> str | None:
    """Return value when it is an absolute http(s) URL, else None."""
    if not isinstance(value, str):
        return None
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.hostname:
        return value
    return None


def _object(value) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value) -> str | None:
    return value if isinstance(value, str) else None
