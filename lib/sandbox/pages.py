"""HTML of the sandbox: consent screen, error page, site pages and SVG avatars.

Every value that comes from a request or from the sample data goes through
`html.escape`, because the data contains markup-like names on purpose.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from html import escape
from urllib.parse import quote

from lib.sandbox.data import Page, Person, Project, Site, Space

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; background: #f4f5f7;
       color: #172b4d; }
main { max-width: 40rem; margin: 2rem auto; background: #fff; padding: 1.5rem 2rem;
       border-radius: 6px; box-shadow: 0 1px 3px rgba(9, 30, 66, .25); }
.banner { background: #fffae6; padding: .5rem 1rem; text-align: center; }
.scope { margin: .75rem 0; }
.scope code, dd code { font-size: .85em; color: #5e6c84; }
.buttons { display: flex; gap: .75rem; justify-content: flex-end; margin-top: 1.5rem; }
button { font-size: 1rem; padding: .5rem 1.25rem; border-radius: 4px; border: 0; }
button[value=accept] { background: #0052cc; color: #fff; }
select { font-size: 1rem; max-width: 100%; }
dt { font-weight: bold; margin-top: .75rem; }
"""
_BANNER = (
    '<div class="banner">Practice sandbox: a local stand-in for Atlassian. '
    "Nothing here reaches a real Atlassian account.</div>"
)


@dataclass(frozen=True)
class ScopeLine:
    """One requested scope on the consent screen; summary is empty when unknown."""

    name: str
    summary: str = ""
    description: str = ""


def _layout(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{_BANNER}<main>{body}</main></body></html>\n"
    )


def _scope_item(line: ScopeLine) -> str:
    if line.summary:
        return (
            f'<li class="scope"><strong>{escape(line.summary)}</strong> '
            f"<code>{escape(line.name)}</code><br>{escape(line.description)}</li>"
        )
    return (
        f'<li class="scope"><strong>{escape(line.name)}</strong><br>'
        "Granular scope without a description in this sandbox.</li>"
    )


def render_consent(
    app_name: str,
    account: Person,
    scopes: list[ScopeLine],
    sites: list[tuple[str, str]],
    request_id: str,
) -> str:
    """Render the consent screen; `sites` contains (cloud id, label) pairs."""
    options = "".join(
        f'<option value="{escape(cloud_id)}">{escape(label)}</option>'
        for cloud_id, label in sites
    )
    items = "".join(_scope_item(line) for line in scopes)
    body = (
        f"<h1>{escape(app_name)} is requesting access to your Atlassian account</h1>"
        f"<p>Signed in as <strong>{escape(account.display_name)}</strong> "
        f"({escape(account.email)})</p>"
        f"<h2>{escape(app_name)} would like to</h2><ul>{items}</ul>"
        '<form method="post" action="/authorize">'
        f'<input type="hidden" name="request_id" value="{escape(request_id)}">'
        '<p><label for="site">Use app on</label><br>'
        f'<select name="site" id="site">{options}</select></p>'
        '<div class="buttons">'
        '<button type="submit" name="decision" value="cancel">Cancel</button>'
        '<button type="submit" name="decision" value="accept">Accept</button>'
        "</div></form>"
    )
    return _layout(f"Authorize {app_name}", body)


def render_error(error: str, description: str) -> str:
    """Render the authorization error page with the error code and description."""
    body = (
        "<h1>Something went wrong</h1>"
        "<p>The authorization request was rejected, so you were not sent back to "
        "the app. The description below says why; copy this page's address into "
        "the app if it asks for it.</p>"
        f"<dl><dt>error</dt><dd><code>{escape(error)}</code></dd>"
        f"<dt>error_description</dt><dd>{escape(description)}</dd></dl>"
    )
    return _layout("Authorization error", body)


def render_not_found(message: str) -> str:
    return _layout("Not found", f"<h1>Not found</h1><p>{escape(message)}</p>")


def render_index(sites: tuple[Site, ...], base_url: str) -> str:
    """Render the sandbox's home page with links to the sites."""
    links = "".join(
        f'<li><a href="{escape(site.url(base_url))}">{escape(site.name)}</a> '
        f"<code>{escape(site.cloud_id)}</code></li>"
        for site in sites
    )
    body = (
        "<h1>Atlassian sandbox</h1>"
        "<p>This server plays auth.atlassian.com and api.atlassian.com for "
        "practice and tests.</p>"
        f"<h2>Sites</h2><ul>{links}</ul>"
    )
    return _layout("Atlassian sandbox", body)


def render_site(site: Site, base_url: str) -> str:
    """Render a site's start page with its projects and spaces."""
    url = site.url(base_url)
    projects = "".join(
        f'<li><a href="{escape(url)}/browse/{quote(project.key)}">'
        f"{escape(project.name)}</a> ({escape(project.key)})</li>"
        for project in site.projects
    )
    spaces = "".join(
        f'<li><a href="{escape(url)}/wiki/spaces/{quote(space.key)}">'
        f"{escape(space.name)}</a></li>"
        for space in site.spaces
    )
    body = (
        f"<h1>{escape(site.name)}</h1>"
        f"<p>Cloud id <code>{escape(site.cloud_id)}</code></p>"
    )
    if site.projects:
        body += f"<h2>Jira projects</h2><ul>{projects}</ul>"
    if site.spaces:
        body += f"<h2>Confluence spaces</h2><ul>{spaces}</ul>"
    return _layout(site.name, body)


def render_project(
    site: Site,
    project: Project,
    issue_key: str | None,
    summary: str | None = None,
    status: str | None = None,
) -> str:
    """Render a Jira project page, or one of its issues with summary and status."""
    heading = escape(project.name)
    if issue_key:
        heading = f"{escape(issue_key)} in {heading}"
    body = f"<h1>{heading}</h1>"
    if summary is not None:
        body += f"<p>{escape(summary)}</p><p>Status: {escape(status or '')}</p>"
    body += (
        f"<dl><dt>Key</dt><dd>{escape(project.key)}</dd>"
        f"<dt>Type</dt><dd>{escape(project.type_key)}</dd>"
        f"<dt>Lead</dt><dd>{escape(project.lead.display_name)}</dd>"
        f"<dt>Site</dt><dd>{escape(site.name)}</dd></dl>"
    )
    return _layout(project.name, body)


def render_space(site: Site, space: Space, page: Page | None) -> str:
    """Render a Confluence space page, or one of its pages."""
    titles = "".join(f"<li>{escape(item.title)}</li>" for item in space.pages)
    heading = escape(page.title) if page else escape(space.name)
    body = (
        f"<h1>{heading}</h1>"
        f"<p>Space <strong>{escape(space.name)}</strong> ({escape(space.key)}) "
        f"on {escape(site.name)}</p><h2>Pages</h2><ul>{titles}</ul>"
    )
    return _layout(space.name, body)


def render_avatar(label: str) -> str:
    """Return a square SVG with the label's initials on a colour picked from it."""
    digest = hashlib.sha256(label.encode()).digest()
    hue = digest[0] * 360 // 256
    initials = "".join(word[0] for word in label.replace("-", " ").split()[:2]).upper()
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48" '
        'viewBox="0 0 48 48">'
        f'<rect width="48" height="48" rx="6" fill="hsl({hue}, 55%, 45%)"/>'
        '<text x="24" y="31" font-family="sans-serif" font-size="20" '
        f'text-anchor="middle" fill="#fff">{escape(initials or "?")}</text></svg>'
    )
