"""Confluence Cloud routes under /ex/confluence/{cloudid}/wiki: REST v2 and v1 spaces.

REST v2 pages with an opaque cursor (base64 of a small JSON object) and returns
`_links.next` relative to the site, plus a `Link` header. REST v1 pages with
`start` and `limit`.

NOTE: the 400 and 404 bodies follow the error shapes of Confluence v2
(`{"errors": [...]}`) and v1 (`statusCode`, `message`). Their details are not
checked against a recorded Confluence error response.
"""

from __future__ import annotations

import base64
import binascii
import json
from html import escape
from urllib.parse import quote_plus, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lib.sandbox.data import CONFLUENCE, PEOPLE, Page, Site, Space
from lib.sandbox.gateway import ApiContext, api_route
from lib.sandbox.page_bodies import storage_body, storage_to_view

V2_DEFAULT_LIMIT = 25
V2_MAX_LIMIT = 250
V1_DEFAULT_LIMIT = 25
# The sandbox's own cap for v1 `limit`; Atlassian documents none for this route.
V1_MAX_LIMIT = 250

SPACE_TYPES = ("global", "collaboration", "knowledge_base", "personal")
SPACE_STATUSES = ("current", "archived")
SPACE_SORTS = ("id", "-id", "key", "-key", "name", "-name")
PAGE_SORTS = (
    "id", "-id", "created-date", "-created-date",
    "modified-date", "-modified-date", "title", "-title",
)  # fmt: skip
PAGE_STATUSES = ("current", "archived", "deleted", "trashed")
BODY_FORMATS = ("storage", "view", "atlas_doc_format")
_PEOPLE_BY_ID = {person.account_id: person for person in PEOPLE}


class BadParameter(ValueError):
    """A query parameter has an invalid value; the message names it."""


def v2_error(status: int, code: str, title: str) -> JSONResponse:
    body = {
        "errors": [{"status": status, "code": code, "title": title, "detail": None}]
    }
    return JSONResponse(body, status_code=status)


def v1_error(status: int, message: str) -> JSONResponse:
    body = {
        "statusCode": status,
        "data": {"authorized": False, "valid": True, "errors": [], "successful": False},
        "message": message,
    }
    return JSONResponse(body, status_code=status)


def _wiki_base(context: ApiContext) -> str:
    return context.site.url(context.base_url) + "/wiki"


def _list_param(params, name: str) -> list[str]:
    values = []
    for raw in params.getlist(name):
        values.extend(part.strip() for part in raw.split(",") if part.strip())
    return values


def _choice(params, name: str, allowed: tuple[str, ...], default: str | None = None):
    value = params.get(name) or default
    if value is not None and value not in allowed:
        raise BadParameter(
            f"Invalid value '{value}' for {name}; expected one of {', '.join(allowed)}"
        )
    return value


def _int_in_range(params, name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise BadParameter(f"{name} must be a whole number, not '{raw}'") from exc
    if not low <= value <= high:
        raise BadParameter(f"{name} must be between {low} and {high}, not {value}")
    return value


# Cursor paging (v2)


def encode_cursor(offset: int, sort: str) -> str:
    """Return an opaque cursor for the item at `offset` in `sort` order."""
    raw = json.dumps({"offset": offset, "sort": sort}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> int:
    """Return the offset in a cursor; raise BadParameter if it is not ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        offset = data["offset"]
    except (binascii.Error, ValueError, TypeError, KeyError) as exc:
        raise BadParameter(f"Invalid cursor: {cursor}") from exc
    if not isinstance(offset, int) or offset < 0 or data.get("sort") != sort:
        raise BadParameter(f"Invalid cursor: {cursor}")
    return offset


def _v2_page(request: Request, context: ApiContext, items: list, path: str, sort: str):
    """Return (page of items, _links, Link header) for a v2 list."""
    params = request.query_params
    limit = _int_in_range(params, "limit", V2_DEFAULT_LIMIT, 1, V2_MAX_LIMIT)
    cursor = params.get("cursor")
    offset = decode_cursor(cursor, sort) if cursor else 0

    page = items[offset : offset + limit]
    links = {}
    link_header = []
    if offset + limit < len(items):
        filters = [
            (key, value)
            for key, value in params.multi_items()
            if key not in ("cursor", "limit")
        ]
        query = [("cursor", encode_cursor(offset + limit, sort)), ("limit", str(limit))]
        links["next"] = f"{path}?{urlencode(query + filters)}"
        link_header.append(f'<{links["next"]}>; rel="next"')
    links["base"] = _wiki_base(context)
    link_header.append(f'<{links["base"]}>; rel="base"')
    return page, links, ", ".join(link_header)


def _sorted(items: list, sort: str, keys: dict) -> list:
    field = sort.lstrip("-")
    return sorted(items, key=keys[field], reverse=sort.startswith("-"))


# Representations


def space_json(space: Space, description_format: str | None) -> dict:
    """Return a space as the v2 space list returns it (SpaceBulk)."""
    description = None
    if description_format:
        text = f"Practice space {space.name}"
        value = text if description_format == "plain" else f"<p>{escape(text)}</p>"
        description = {
            description_format: {"representation": description_format, "value": value}
        }
    return {
        "spaceOwnerId": space.owner.account_id,
        "homepageId": str(space.homepage.id),
        "createdAt": space.created_at,
        "authorId": space.owner.account_id,
        "icon": None,
        "name": space.name,
        "key": space.key,
        "id": str(space.id),
        "type": space.type,
        "description": description,
        "status": space.status,
        "_links": {"webui": f"/spaces/{space.key}"},
        "currentActiveAlias": space.key,
    }


def _tiny_link(page_id: int) -> str:
    """Return a short link in Confluence's /x/ form: the id's bytes in base64."""
    raw = page_id.to_bytes(8, "little").rstrip(b"\0")
    return "/x/" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _page_links(space: Space, page: Page) -> dict:
    if page.parent_id is None:
        webui = f"/spaces/{space.key}/overview"
    else:
        webui = f"/spaces/{space.key}/pages/{page.id}/{quote_plus(page.title)}"
    return {
        "editui": f"/pages/resumedraft.action?draftId={page.id}",
        "webui": webui,
        "edituiv2": f"/spaces/{space.key}/pages/edit-v2/{page.id}",
        "tinyui": _tiny_link(page.id),
    }


def page_body(space: Space, page: Page, body_format: str) -> dict:
    """Return the BodyType of a page in one representation."""
    if body_format == "storage":
        value = storage_body(space, page)
    elif body_format == "view":
        value = storage_to_view(storage_body(space, page), page, _PEOPLE_BY_ID)
    else:
        value = json.dumps(_adf_document(space, page), ensure_ascii=False)
    return {"representation": body_format, "value": value}


def _adf_document(space: Space, page: Page) -> dict:
    def text(value: str, *marks: str) -> dict:
        node = {"type": "text", "text": value}
        if marks:
            node["marks"] = [{"type": mark} for mark in marks]
        return node

    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "heading", "attrs": {"level": 1}, "content": [text(page.title)]},
            {
                "type": "paragraph",
                "content": [
                    text("Practice page in "),
                    text(space.name, "strong"),
                    text(f", written by {page.author.display_name}."),
                ],
            },
            {"type": "paragraph", "content": [text("✅ Sample content 🚀")]},
        ],
    }


def page_json(space: Space, page: Page, body_format: str | None) -> dict:
    """Return a page as the v2 page lists return it (PageBulk)."""
    return {
        "parentType": "page" if page.parent_id is not None else None,
        "parentId": str(page.parent_id) if page.parent_id is not None else None,
        "createdAt": page.created_at,
        "ownerId": page.author.account_id,
        "lastOwnerId": None,
        "authorId": page.author.account_id,
        "position": page.position,
        "version": {
            "number": page.version_number,
            "message": "",
            "minorEdit": False,
            "authorId": page.author.account_id,
            "createdAt": page.version_created_at,
            "ncsStepVersion": None,
        },
        "spaceId": str(space.id),
        "status": "current",
        "body": {body_format: page_body(space, page, body_format)}
        if body_format
        else {},
        "title": page.title,
        "id": str(page.id),
        "_links": _page_links(space, page),
    }


# REST v2 routes


def _filter_spaces(site: Site, params) -> list[Space]:
    space_type = _choice(params, "type", SPACE_TYPES)
    status = _choice(params, "status", SPACE_STATUSES)
    keys = set(_list_param(params, "keys"))
    ids = set(_list_param(params, "ids"))
    return [
        space
        for space in site.spaces
        if (not space_type or space.type == space_type)
        and (not status or space.status == status)
        and (not keys or space.key in keys)
        and (not ids or str(space.id) in ids)
    ]


_SPACE_SORT_KEYS = {
    "id": lambda space: space.id,
    "key": lambda space: space.key,
    "name": lambda space: (space.name.casefold(), space.id),
}


@api_route(CONFLUENCE, "/wiki/api/v2/spaces")
async def spaces_v2(request: Request, context: ApiContext) -> Response:
    """GET /wiki/api/v2/spaces: cursor paging over the site's spaces, by id."""
    params = request.query_params
    try:
        sort = _choice(params, "sort", SPACE_SORTS, "id")
        description_format = _choice(params, "description-format", ("plain", "view"))
        spaces = _sorted(_filter_spaces(context.site, params), sort, _SPACE_SORT_KEYS)
        page, links, link_header = _v2_page(
            request, context, spaces, "/wiki/api/v2/spaces", sort
        )
    except BadParameter as exc:
        return v2_error(400, "INVALID_REQUEST_PARAMETER", str(exc))

    results = [space_json(space, description_format) for space in page]
    return JSONResponse(
        {"results": results, "_links": links}, headers={"Link": link_header}
    )


_PAGE_SORT_KEYS = {
    "id": lambda page: page.id,
    "created-date": lambda page: (page.created_at, page.id),
    "modified-date": lambda page: (page.version_created_at, page.id),
    "title": lambda page: (page.title.casefold(), page.id),
}


def _path_id(request: Request, name: str = "id") -> int:
    raw = request.path_params[name]
    try:
        return int(raw)
    except ValueError as exc:
        raise BadParameter(f"{name} must be a whole number, not '{raw}'") from exc


def _filter_pages(space: Space, params) -> list[Page]:
    depth = _choice(params, "depth", ("all", "root"), "all")
    statuses = _list_param(params, "status")
    invalid = [status for status in statuses if status not in PAGE_STATUSES]
    if invalid:
        raise BadParameter(
            f"Invalid value '{invalid[0]}' for status; expected one of "
            + ", ".join(PAGE_STATUSES)
        )
    title = params.get("title")
    # Every sample page is current, which the default filter (current and
    # archived) always includes.
    requested = set(statuses) or {"current", "archived"}
    return [
        page
        for page in space.pages
        if "current" in requested
        and (depth == "all" or page.parent_id is None)
        and (title is None or page.title == title)
    ]


@api_route(CONFLUENCE, "/wiki/api/v2/spaces/{id}/pages")
async def space_pages_v2(request: Request, context: ApiContext) -> Response:
    """GET /wiki/api/v2/spaces/{id}/pages: cursor paging over one space's pages."""
    params = request.query_params
    try:
        space_id = _path_id(request)
        space = context.dataset.find_space(context.site, space_id)
        if space is None:
            return v2_error(404, "NOT_FOUND", f"No space with id {space_id}")
        sort = _choice(params, "sort", PAGE_SORTS, "id")
        body_format = _choice(params, "body-format", ("storage", "atlas_doc_format"))
        pages = _sorted(_filter_pages(space, params), sort, _PAGE_SORT_KEYS)
        path = f"/wiki/api/v2/spaces/{space.id}/pages"
        page, links, link_header = _v2_page(request, context, pages, path, sort)
    except BadParameter as exc:
        return v2_error(400, "INVALID_REQUEST_PARAMETER", str(exc))

    results = [page_json(space, item, body_format) for item in page]
    return JSONResponse(
        {"results": results, "_links": links}, headers={"Link": link_header}
    )


@api_route(CONFLUENCE, "/wiki/api/v2/pages/{id}")
async def page_v2(request: Request, context: ApiContext) -> Response:
    """GET /wiki/api/v2/pages/{id}: one page, with its body in body-format."""
    params = request.query_params
    try:
        page_id = _path_id(request)
        body_format = _choice(params, "body-format", BODY_FORMATS)
    except BadParameter as exc:
        return v2_error(400, "INVALID_REQUEST_PARAMETER", str(exc))
    found = context.dataset.find_page(context.site, page_id)
    if found is None:
        return v2_error(404, "NOT_FOUND", f"No page with id {page_id}")

    space, page = found
    body = page_json(space, page, body_format)
    if params.get("include-version", "true").lower() == "false":
        del body["version"]
    body["_links"]["base"] = _wiki_base(context)
    return JSONResponse(body)


# REST v1 route


def _v1_space_json(context: ApiContext, space: Space) -> dict:
    expandable = dict.fromkeys(
        (
            "settings", "metadata", "operations", "lookAndFeel", "permissions",
            "icon", "description", "theme", "history",
        ),
        "",
    )  # fmt: skip
    expandable["homepage"] = f"/rest/api/content/{space.homepage.id}"
    return {
        "id": space.id,
        "key": space.key,
        "name": space.name,
        "type": space.type,
        "status": space.status,
        "_expandable": expandable,
        "_links": {
            "webui": f"/spaces/{space.key}",
            "self": f"{_wiki_base(context)}/rest/api/space/{quote_plus(space.key)}",
        },
    }


@api_route(CONFLUENCE, "/wiki/rest/api/space")
async def spaces_v1(request: Request, context: ApiContext) -> Response:
    """GET /wiki/rest/api/space: offset paging over spaces, ordered by key."""
    params = request.query_params
    try:
        start = _int_in_range(params, "start", 0, 0, 2**31 - 1)
        limit = min(
            _int_in_range(params, "limit", V1_DEFAULT_LIMIT, 1, 2**31 - 1), V1_MAX_LIMIT
        )
        space_type = _choice(params, "type", SPACE_TYPES)
        status = _choice(params, "status", SPACE_STATUSES)
    except BadParameter as exc:
        return v1_error(400, str(exc))
    keys = set(_list_param(params, "spaceKey"))

    spaces = sorted(
        (
            space
            for space in context.site.spaces
            if (not space_type or space.type == space_type)
            and (not status or space.status == status)
            and (not keys or space.key in keys)
        ),
        key=lambda space: space.key,
    )
    page = spaces[start : start + limit]
    wiki = _wiki_base(context)
    links = {"base": wiki, "context": "/wiki", "self": f"{wiki}/rest/api/space"}
    if start + limit < len(spaces):
        filters = [
            (key, value)
            for key, value in params.multi_items()
            if key not in ("start", "limit")
        ]
        query = [("next", "true"), ("limit", str(limit)), ("start", str(start + limit))]
        links["next"] = f"/rest/api/space?{urlencode(query + filters)}"
    body = {
        "results": [_v1_space_json(context, space) for space in page],
        "start": start,
        "limit": limit,
        "size": len(page),
        "_links": links,
    }
    return JSONResponse(body)
