"""Small HTML pages at the sites' URLs, so that "open in Jira/Confluence" links work."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from lib.sandbox.data import Site
from lib.sandbox.issues import STATUSES, SUMMARIES
from lib.sandbox.oauth import base_url_of
from lib.sandbox.pages import (
    render_avatar,
    render_index,
    render_not_found,
    render_project,
    render_site,
    render_space,
)


def _not_found(message: str) -> HTMLResponse:
    return HTMLResponse(render_not_found(message), status_code=404)


def _site(request: Request) -> Site | None:
    return request.app.state.sandbox.dataset.site_by_slug(request.path_params["slug"])


async def index(request: Request) -> Response:
    """GET /: links to the sites."""
    dataset = request.app.state.sandbox.dataset
    return HTMLResponse(render_index(dataset.sites, base_url_of(request)))


async def site_home(request: Request) -> Response:
    """GET /sites/{slug}: the site's projects and spaces."""
    site = _site(request)
    if site is None:
        return _not_found(f"No site {request.path_params['slug']}")
    return HTMLResponse(render_site(site, base_url_of(request)))


async def browse(request: Request) -> Response:
    """GET /sites/{slug}/browse/{key}: a project, or an issue key such as KEY-12."""
    site = _site(request)
    key = request.path_params["key"]
    project_key, _, number = key.partition("-")
    dataset = request.app.state.sandbox.dataset
    project = dataset.find_project(site, project_key) if site else None
    if project is None:
        return _not_found(f"No project {project_key}")
    if not number:
        return HTMLResponse(render_project(site, project, None))

    row = site.issues.find(key)
    if row is None:
        return _not_found(f"No issue {key}")
    site.issues.ensure_built()
    summary = SUMMARIES[site.issues.summary[row]]
    status = STATUSES[site.issues.status[row]].name
    return HTMLResponse(render_project(site, project, key, summary, status))


async def wiki(request: Request) -> Response:
    """GET /sites/{slug}/wiki/...: a space, one of its pages, or the site's spaces."""
    site = _site(request)
    if site is None or not site.spaces:
        return _not_found("This site has no Confluence")
    parts = request.path_params.get("path", "").split("/")
    if len(parts) < 2 or parts[0] != "spaces":
        return HTMLResponse(render_site(site, base_url_of(request)))

    space = next((s for s in site.spaces if s.key == parts[1]), None)
    if space is None:
        return _not_found(f"No space {parts[1]}")
    page = None
    if len(parts) >= 4 and parts[2] == "pages" and parts[3].isdigit():
        page = next((p for p in space.pages if p.id == int(parts[3])), None)
    return HTMLResponse(render_space(site, space, page))


async def avatar(request: Request) -> Response:
    """GET /avatars/{label}: an SVG with the label's initials."""
    svg = render_avatar(request.path_params["label"])
    return Response(svg, media_type="image/svg+xml")


async def icon(request: Request) -> Response:
    """GET /sites/{slug}/images/icons/{kind}/{name}: a status or priority icon.

    Issue JSON points iconUrl here, as Jira points it at the site.
    """
    name = request.path_params["name"].rsplit(".", 1)[0]
    return Response(render_avatar(name), media_type="image/svg+xml")
