"""Jira Cloud platform REST v3 routes under /ex/jira/{cloudid}/rest/api/3."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lib.sandbox.data import JIRA, Person, Project
from lib.sandbox.gateway import ApiContext, api_route
from lib.sandbox.pages import render_avatar

# The `expand` value that real project search results carry.
PROJECT_EXPAND = "description,lead,issueTypes,url,projectKeys,permissions,insight"
PROJECT_TYPES = ("business", "service_desk", "software")
MAX_RESULTS_LIMIT = 100


def jira_error(status: int, message: str) -> JSONResponse:
    """Return a Jira ErrorCollection response."""
    return JSONResponse({"errorMessages": [message], "errors": {}}, status_code=status)


def avatar_urls(url: str) -> dict[str, str]:
    """Return Jira's avatarUrls object: the 48x48 URL and smaller sizes of it."""
    joiner = "&" if "?" in url else "?"
    return {
        "48x48": url,
        "24x24": f"{url}{joiner}size=small",
        "16x16": f"{url}{joiner}size=xsmall",
        "32x32": f"{url}{joiner}size=medium",
    }


def user_json(context: ApiContext, person: Person) -> dict:
    """Return the short user object that Jira nests, for example as project lead."""
    api = context.product_base(JIRA) + "/rest/api/3"
    return {
        "self": f"{api}/user?accountId={person.account_id}",
        "accountId": person.account_id,
        "avatarUrls": avatar_urls(context.avatar_url(person.display_name)),
        "displayName": person.display_name,
        "active": True,
    }


def project_json(context: ApiContext, project: Project, with_lead: bool) -> dict:
    """Return a project as /project/search lists it; `lead` only when expanded."""
    api = context.product_base(JIRA) + "/rest/api/3"
    avatar = f"{api}/universal_avatar/view/type/project/avatar/{project.avatar_id}"
    body = {
        "expand": PROJECT_EXPAND,
        "self": f"{api}/project/{project.id}",
        "id": str(project.id),
        "key": project.key,
        "name": project.name,
        "avatarUrls": avatar_urls(avatar),
        "projectTypeKey": project.type_key,
        "simplified": project.simplified,
        "style": "next-gen" if project.simplified else "classic",
        "isPrivate": project.is_private,
        "properties": {},
    }
    if project.uuid is not None:
        body["entityId"] = project.uuid
        body["uuid"] = project.uuid
    if with_lead:
        body["lead"] = user_json(context, project.lead)
    return body


def _int_param(params, name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"The value '{raw}' of {name} is not a whole number.") from exc


def _list_param(params, name: str) -> list[str]:
    """Return a repeated parameter, also splitting comma-separated values."""
    values = []
    for raw in params.getlist(name):
        values.extend(part.strip() for part in raw.split(",") if part.strip())
    return values


def _filter_projects(projects, params) -> list[Project]:
    """Apply query, typeKey, keys and id; raise ValueError on a bad value."""
    type_key = params.get("typeKey")
    if type_key and type_key not in PROJECT_TYPES:
        raise ValueError(f"The project type key '{type_key}' is not valid.")
    keys = set(_list_param(params, "keys"))
    try:
        ids = {int(value) for value in _list_param(params, "id")}
    except ValueError as exc:
        raise ValueError("Every id must be a whole number.") from exc
    query = (params.get("query") or "").casefold()

    selected = []
    for project in projects:
        if type_key and project.type_key != type_key:
            continue
        if keys and project.key not in keys:
            continue
        if ids and project.id not in ids:
            continue
        matched = query in project.key.casefold() or query in project.name.casefold()
        if query and not matched:
            continue
        selected.append(project)
    return selected


def _sort_projects(projects: list[Project], order_by: str) -> list[Project]:
    """Sort by key or name; `-` reverses. Other orderBy values sort by key."""
    descending = order_by.startswith("-")
    field = order_by.lstrip("+-")
    if field == "name":
        return sorted(
            projects, key=lambda p: (p.name.casefold(), p.key), reverse=descending
        )
    return sorted(projects, key=lambda p: p.key, reverse=descending)


def _page_url(context: ApiContext, params, start_at: int, max_results: int) -> str:
    """Return the search URL with the request's parameters and the given page."""
    pairs = [
        (key, value)
        for key, value in params.multi_items()
        if key not in ("startAt", "maxResults")
    ]
    pairs += [("maxResults", str(max_results)), ("startAt", str(start_at))]
    pairs.sort(key=lambda pair: pair[0])
    base = context.product_base(JIRA) + "/rest/api/3/project/search"
    return f"{base}?{urlencode(pairs)}"


@api_route(JIRA, "/rest/api/3/project/search")
async def project_search(request: Request, context: ApiContext) -> Response:
    """GET /rest/api/3/project/search: offset paging over the site's projects."""
    params = request.query_params
    try:
        start_at = _int_param(params, "startAt", 0)
        max_results = _int_param(params, "maxResults", 50)
        projects = _filter_projects(context.site.projects, params)
    except ValueError as exc:
        return jira_error(400, str(exc))
    if start_at < 0:
        return jira_error(400, "startAt must not be negative.")
    # Jira documents only the upper limit; the sandbox rejects a page size of 0
    # or less rather than guessing what Jira returns.
    if max_results <= 0:
        return jira_error(400, "maxResults must be greater than 0.")
    max_results = min(max_results, MAX_RESULTS_LIMIT)

    # NOTE: the OpenAPI spec documents 404 "if no projects matching the search
    # criteria are found"; the message text is the sandbox's own.
    if not projects:
        return jira_error(404, "No projects were found matching the search criteria.")

    projects = _sort_projects(projects, params.get("orderBy") or "key")
    page = projects[start_at : start_at + max_results]
    with_lead = "lead" in (params.get("expand") or "").split(",")
    is_last = start_at + len(page) >= len(projects)

    body = {"self": _page_url(context, params, start_at, max_results)}
    if not is_last:
        body["nextPage"] = _page_url(
            context, params, start_at + max_results, max_results
        )
    body.update(
        maxResults=max_results,
        startAt=start_at,
        total=len(projects),
        isLast=is_last,
        values=[project_json(context, project, with_lead) for project in page],
    )
    return JSONResponse(body)


@api_route(JIRA, "/rest/api/3/myself")
async def myself(request: Request, context: ApiContext) -> Response:
    """GET /rest/api/3/myself: the calling user as a Jira User."""
    person = context.dataset.account
    short = user_json(context, person)
    body = {
        "self": short["self"],
        "accountId": person.account_id,
        "accountType": "atlassian",
        "emailAddress": person.email,
        "avatarUrls": short["avatarUrls"],
        "displayName": person.display_name,
        "active": True,
        "timeZone": person.time_zone,
        "locale": person.locale.replace("-", "_"),
        "groups": {"size": 3, "items": []},
        "applicationRoles": {"size": 1, "items": []},
        "expand": "groups,applicationRoles",
    }
    return JSONResponse(body)


async def project_avatar(request: Request) -> Response:
    """Serve a project avatar as SVG.

    The sandbox needs no token here, so that an <img> tag can show the avatar.
    """
    avatar_id = request.path_params["avatar_id"]
    svg = render_avatar(f"Project {avatar_id}")
    return Response(svg, media_type="image/svg+xml")


async def issue_type_avatar(request: Request) -> Response:
    """Serve an issue type icon as SVG. Like project avatars, it needs no token."""
    avatar_id = request.path_params["avatar_id"]
    svg = render_avatar(f"Type {avatar_id}")
    return Response(svg, media_type="image/svg+xml")
