"""Jira Cloud REST v3 through the gateway: projects, JQL search, issues.

Issue search uses `/rest/api/3/search/jql`, which pages by `nextPageToken`, has no
`total`, and returns only issue ids unless `fields` names the fields wanted. The
older `/rest/api/3/search` was removed by Atlassian in 2025 and returns 410.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import requests

from lib import adf, paging
from lib.atlassian import Endpoints, get_json, int_field, post_json
from lib.errors import InvalidInput, InvalidResponse, NotFound

# Largest page sizes: project search caps maxResults at 100. Issue search allows
# more, but returns fewer issues per page when many fields are requested.
PROJECT_PAGE_MAX = 100
ISSUE_PAGE_SIZE = 100
BREAKDOWN_PAGE_SIZE = 1000

# Upper bounds on the requests one listing may send, whatever totals a server
# reports: 1,000 pages of 100 projects, and 100 pages for the issue breakdown.
MAX_PROJECT_PAGES = 1000
MAX_BREAKDOWN_PAGES = 100

PROJECT_TYPES = ("software", "business", "service_desk")
PROJECT_ORDERS = {
    "key": "Key, A to Z",
    "-key": "Key, Z to A",
    "name": "Name, A to Z",
    "-name": "Name, Z to A",
    "-lastIssueUpdatedDate": "Most recently updated first",
    "-issueCount": "Most issues first",
}
ISSUE_FIELDS = (
    "summary",
    "status",
    "issuetype",
    "assignee",
    "priority",
    "created",
    "updated",
)
DETAIL_FIELDS = (*ISSUE_FIELDS, "reporter", "description", "labels", "project")

# Jira project keys: an uppercase letter, then uppercase letters, digits or "_".
_PROJECT_KEY = re.compile(r"[A-Z][A-Z0-9_]{0,254}")
_ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]*-[1-9][0-9]*")
MAX_JQL_LENGTH = 10_000


@dataclass(frozen=True)
class Project:
    id: str
    key: str
    name: str
    type_key: str | None
    style: str | None
    is_private: bool | None
    lead: str | None


@dataclass(frozen=True)
class ProjectPage:
    projects: tuple[Project, ...]
    start_at: int
    max_results: int
    total: int | None
    is_last: bool
    url: str
    raw: object = field(default=None, repr=False, compare=False)

    @property
    def items(self) -> tuple[Project, ...]:
        return self.projects


@dataclass(frozen=True)
class Issue:
    """One search result; fields not requested or not set are None."""

    id: str
    key: str
    summary: str | None
    status: str | None
    status_category: str | None
    issue_type: str | None
    assignee: str | None
    priority: str | None
    created: str | None
    updated: str | None


@dataclass(frozen=True)
class IssuePage:
    issues: tuple[Issue, ...]
    next_token: str | None
    url: str
    raw: object = field(default=None, repr=False, compare=False)

    @property
    def items(self) -> tuple[Issue, ...]:
        return self.issues

    @property
    def is_last(self) -> bool:
        return self.next_token is None


@dataclass(frozen=True)
class IssueDetail:
    issue: Issue
    reporter: str | None
    labels: tuple[str, ...]
    project_key: str | None
    description: str
    raw: object = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Breakdown:
    """Issue counts by status and by type, from the first `counted` issues."""

    by_status: Counter
    by_type: Counter
    counted: int
    complete: bool


# Projects ------------------------------------------------------------------------


def parse_project_page(payload, url: str) -> ProjectPage:
    if not isinstance(payload, dict) or not isinstance(payload.get("values"), list):
        raise InvalidResponse(
            "The project search response has no values list.",
            hint="Check the API base URL.",
        )
    projects = tuple(
        _parse_project(value) for value in payload["values"] if isinstance(value, dict)
    )
    return ProjectPage(
        projects=projects,
        start_at=int_field(payload, "startAt", 0),
        max_results=int_field(payload, "maxResults", len(projects)),
        total=int_field(payload, "total", None),
        is_last=payload.get("isLast", True) is not False,
        url=url,
        raw=payload,
    )


def _parse_project(value: dict) -> Project:
    lead = value.get("lead")
    private = value.get("isPrivate")
    return Project(
        id=str(value.get("id", "")),
        key=str(value.get("key", "")),
        name=str(value.get("name", "")),
        type_key=_text(value.get("projectTypeKey")),
        style=_text(value.get("style")),
        is_private=private if isinstance(private, bool) else None,
        lead=_text(lead.get("displayName")) if isinstance(lead, dict) else None,
    )


def search_projects(
    session: requests.Session,
    endpoints: Endpoints,
    cloud_id: str,
    *,
    start_at: int = 0,
    max_results: int = 50,
    query: str | None = None,
    type_key: str | None = None,
    order_by: str = "key",
    with_lead: bool = False,
) -> ProjectPage:
    """Return one page of Jira projects visible to the user.

    `query` is sent as Jira's own `query` filter (key or name, case-insensitive).
    Jira returns 404 when no project matches, and that becomes an empty last page.
    """
    if type_key is not None and type_key not in PROJECT_TYPES:
        raise InvalidInput(
            "type_key",
            f"{type_key!r} is not a Jira project type.",
            hint=f"Use one of {', '.join(PROJECT_TYPES)}.",
        )
    if order_by not in PROJECT_ORDERS:
        raise InvalidInput(
            "order_by",
            f"{order_by!r} is not a project sort order this page offers.",
            hint=f"Use one of {', '.join(PROJECT_ORDERS)}.",
        )
    url = f"{endpoints.jira_base(cloud_id)}/rest/api/3/project/search"
    params = {
        "startAt": max(0, start_at),
        "maxResults": min(max(1, max_results), PROJECT_PAGE_MAX),
        "orderBy": order_by,
    }
    if query:
        params["query"] = query
    if type_key:
        params["typeKey"] = type_key
    if with_lead:
        params["expand"] = "lead"
    try:
        payload = get_json(session, url, params=params)
    except NotFound:
        return ProjectPage((), start_at, params["maxResults"], 0, True, url)
    return parse_project_page(payload, url)


def iter_all_projects(
    session: requests.Session,
    endpoints: Endpoints,
    cloud_id: str,
    *,
    concurrency: int = paging.MAX_CONCURRENCY,
    **filters,
) -> Iterator[ProjectPage]:
    """Yield every page of projects, largest pages first fetched in parallel."""

    def fetch(start_at: int, max_results: int) -> ProjectPage:
        return search_projects(
            session,
            endpoints,
            cloud_id,
            start_at=start_at,
            max_results=max_results,
            **filters,
        )

    return paging.iter_offset_pages(
        fetch,
        page_size=PROJECT_PAGE_MAX,
        concurrency=concurrency,
        max_pages=MAX_PROJECT_PAGES,
    )


# JQL -----------------------------------------------------------------------------


def validate_project_key(key: str) -> str:
    key = (key or "").strip()
    if not _PROJECT_KEY.fullmatch(key):
        raise InvalidInput(
            "project",
            f"{key[:60]!r} is not a Jira project key.",
            hint="Pick the project from the list; keys look like ENG or WEB2.",
        )
    return key


def project_jql(*keys: str, order_by: str = "created DESC") -> str:
    """Build a bounded JQL query for projects chosen by key, never by pasted text."""
    checked = [validate_project_key(key) for key in keys]
    if not checked:
        raise InvalidInput("project", "No project is chosen.", hint="Pick a project.")
    if len(checked) == 1:
        restriction = f'project = "{checked[0]}"'
    else:
        restriction = "project in (" + ", ".join(f'"{k}"' for k in checked) + ")"
    return f"{restriction} ORDER BY {order_by}"


def validate_jql(jql: str) -> str:
    """Check free-text JQL for what can be checked here; Jira checks the rest."""
    text = (jql or "").strip()
    if not text:
        raise InvalidInput(
            "jql",
            "The JQL query is empty.",
            hint="Write a bounded query such as project = ENG ORDER BY created DESC.",
        )
    if len(text) > MAX_JQL_LENGTH:
        raise InvalidInput(
            "jql",
            f"The JQL query is {len(text)} characters long (at most {MAX_JQL_LENGTH}).",
            hint="Shorten the query.",
        )
    if any(ord(character) < 32 and character not in "\t\n\r" for character in text):
        raise InvalidInput(
            "jql",
            "The JQL query contains control characters.",
            hint="Type the query again.",
        )
    return text


# Issues --------------------------------------------------------------------------


def search_issues(
    session: requests.Session,
    endpoints: Endpoints,
    cloud_id: str,
    jql: str,
    *,
    next_page_token: str | None = None,
    max_results: int = ISSUE_PAGE_SIZE,
    fields: tuple[str, ...] = ISSUE_FIELDS,
) -> IssuePage:
    """Return one page of issues matching JQL, sent as typed.

    GET is used rather than POST so that the session's retry policy applies.
    """
    url = f"{endpoints.jira_base(cloud_id)}/rest/api/3/search/jql"
    params: dict = {
        "jql": validate_jql(jql),
        "maxResults": max(1, max_results),
        "fields": ",".join(fields),
    }
    if next_page_token:
        params["nextPageToken"] = next_page_token
    payload = get_json(session, url, params=params)
    return parse_issue_page(payload, url)


def parse_issue_page(payload, url: str) -> IssuePage:
    if not isinstance(payload, dict) or not isinstance(payload.get("issues"), list):
        raise InvalidResponse(
            "The issue search response has no issues list.",
            hint="Check the API base URL.",
        )
    token = payload.get("nextPageToken")
    issues = tuple(
        parse_issue(value) for value in payload["issues"] if isinstance(value, dict)
    )
    return IssuePage(
        issues=issues,
        next_token=token if isinstance(token, str) and token else None,
        url=url,
        raw=payload,
    )


def parse_issue(value: dict) -> Issue:
    fields = value.get("fields") if isinstance(value.get("fields"), dict) else {}
    status = _object(fields.get("status"))
    category = _object(status.get("statusCategory"))
    return Issue(
        id=str(value.get("id", "")),
        key=str(value.get("key", "")),
        summary=_text(fields.get("summary")),
        status=_text(status.get("name")),
        status_category=_text(category.get("name")),
        issue_type=_text(_object(fields.get("issuetype")).get("name")),
        assignee=_text(_object(fields.get("assignee")).get("displayName")),
        priority=_text(_object(fields.get("priority")).get("name")),
        created=_text(fields.get("created")),
        updated=_text(fields.get("updated")),
    )


def iter_issue_pages(
    session: requests.Session,
    endpoints: Endpoints,
    cloud_id: str,
    jql: str,
    *,
    max_results: int = ISSUE_PAGE_SIZE,
    fields: tuple[str, ...] = ISSUE_FIELDS,
    max_pages: int | None = None,
) -> Iterator[IssuePage]:
    def fetch(token: str | None) -> IssuePage:
        return search_issues(
            session,
            endpoints,
            cloud_id,
            jql,
            next_page_token=token,
            max_results=max_results,
            fields=fields,
        )

    return paging.iter_token_pages(fetch, max_pages=max_pages)


def approximate_count(
    session: requests.Session, endpoints: Endpoints, cloud_id: str, jql: str
) -> int:
    """Return Jira's approximate number of issues matching the JQL."""
    url = f"{endpoints.jira_base(cloud_id)}/rest/api/3/search/approximate-count"
    payload = post_json(session, url, {"jql": validate_jql(jql)})
    count = payload.get("count") if isinstance(payload, dict) else None
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise InvalidResponse(
            "The approximate count response has no count.",
            hint="Check the API base URL.",
        )
    return count


def issue_breakdown(
    session: requests.Session,
    endpoints: Endpoints,
    cloud_id: str,
    jql: str,
    *,
    max_issues: int = 10_000,
) -> Breakdown:
    """Count issues by status and type, reading only those two fields.

    At most `max_issues` are read, and `complete` is False when more matched.
    """
    by_status: Counter = Counter()
    by_type: Counter = Counter()
    counted = 0
    complete = True
    pages = iter_issue_pages(
        session,
        endpoints,
        cloud_id,
        jql,
        max_results=BREAKDOWN_PAGE_SIZE,
        fields=("status", "issuetype"),
        max_pages=MAX_BREAKDOWN_PAGES,
    )
    for page in pages:
        for issue in page.issues:
            by_status[issue.status or "(no status)"] += 1
            by_type[issue.issue_type or "(no type)"] += 1
        counted += len(page.issues)
        complete = page.next_token is None
        if counted >= max_issues:
            break
    return Breakdown(by_status, by_type, counted, complete)


def get_issue(
    session: requests.Session, endpoints: Endpoints, cloud_id: str, key: str
) -> IssueDetail:
    """Return one issue with its description rendered from ADF to plain text."""
    key = (key or "").strip()
    if not _ISSUE_KEY.fullmatch(key) and not key.isdigit():
        raise InvalidInput(
            "issue",
            f"{key[:60]!r} is not a Jira issue key or id.",
            hint="Issue keys look like ENG-42.",
        )
    url = f"{endpoints.jira_base(cloud_id)}/rest/api/3/issue/{key}"
    payload = get_json(session, url, params={"fields": ",".join(DETAIL_FIELDS)})
    if not isinstance(payload, dict):
        raise InvalidResponse(
            "The issue response is not a JSON object.",
            hint="Check the API base URL.",
        )
    fields = payload.get("fields") if isinstance(payload.get("fields"), dict) else {}
    labels = fields.get("labels") if isinstance(fields.get("labels"), list) else []
    return IssueDetail(
        issue=parse_issue(payload),
        reporter=_text(_object(fields.get("reporter")).get("displayName")),
        labels=tuple(str(label) for label in labels),
        project_key=_text(_object(fields.get("project")).get("key")),
        description=adf.to_text(fields.get("description")),
        raw=payload,
    )


def _object(value) -> dict:
    return value if isinstance(value, dict) else {}


def _text(value) -> str | None:
    return value if isinstance(value, str) else None
