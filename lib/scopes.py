"""The OAuth 2.0 (3LO) scope catalogue, presets, and the scopes each endpoint needs.

Scope names and which endpoint needs which scope follow Atlassian's published scope
pages and OpenAPI specs (Jira platform REST v3, Confluence REST v2). The descriptions
are this project's own summaries of what each scope allows.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from lib.errors import InvalidInput

OFFLINE_ACCESS = "offline_access"
READ_ME = "read:me"

JIRA_CLASSIC = "Jira (classic scopes)"
CONFLUENCE_CLASSIC = "Confluence (classic scopes)"
CONFLUENCE_GRANULAR = "Confluence (granular scopes)"
IDENTITY = "Identity and refresh"

GROUPS = (JIRA_CLASSIC, CONFLUENCE_CLASSIC, CONFLUENCE_GRANULAR, IDENTITY)


@dataclass(frozen=True)
class Scope:
    """One OAuth scope as the developer console lists it."""

    name: str
    group: str
    summary: str
    description: str
    # Advice for the person choosing scopes in this dashboard, which a consent
    # screen would not show.
    note: str = ""

    @property
    def product(self) -> str:
        """Return "jira", "confluence" or "identity", the product the scope is for."""
        if self.group == JIRA_CLASSIC:
            return "jira"
        if self.group in (CONFLUENCE_CLASSIC, CONFLUENCE_GRANULAR):
            return "confluence"
        return "identity"


CATALOGUE: tuple[Scope, ...] = (
    Scope(
        "read:jira-work",
        JIRA_CLASSIC,
        "Read Jira projects and issues",
        "Read projects and issues with their comments, attachments and worklogs, "
        "and run JQL searches.",
    ),
    Scope(
        "write:jira-work",
        JIRA_CLASSIC,
        "Create and change issues",
        "Create, edit and delete issues, and add comments and worklogs.",
    ),
    Scope(
        "manage:jira-project",
        JIRA_CLASSIC,
        "Manage project settings",
        "Change project settings and add project items such as versions and "
        "components.",
    ),
    Scope(
        "manage:jira-configuration",
        JIRA_CLASSIC,
        "Manage global Jira settings",
        "Change site-wide settings that need the Jira administrator permission, "
        "such as custom fields and issue link types.",
    ),
    Scope(
        "read:jira-user",
        JIRA_CLASSIC,
        "Read Jira user profiles",
        "Read the user details you can see in Jira: names, email addresses and "
        "avatars.",
        "GET /rest/api/3/myself needs it.",
    ),
    Scope(
        "manage:jira-webhook",
        JIRA_CLASSIC,
        "Manage Jira webhooks",
        "Register, list and remove dynamic webhooks.",
    ),
    Scope(
        "manage:jira-data-provider",
        JIRA_CLASSIC,
        "Jira data provider",
        "Part of the Jira set that the developer console generates. Atlassian "
        "publishes no description for it.",
    ),
    Scope(
        "read:confluence-space.summary",
        CONFLUENCE_CLASSIC,
        "Read space summaries",
        "Read basic space details.",
        "The v1 space list (/wiki/rest/api/space) accepts it; REST v2 does not.",
    ),
    Scope(
        "read:confluence-content.summary",
        CONFLUENCE_CLASSIC,
        "Read content summaries",
        "Read pages and blog posts without their expansions.",
    ),
    Scope(
        "read:confluence-content.all",
        CONFLUENCE_CLASSIC,
        "Read all content",
        "Read all content, bodies included, with expansions.",
    ),
    Scope(
        "read:confluence-content.permission",
        CONFLUENCE_CLASSIC,
        "Read content permissions",
        "Check who may see or edit a piece of content.",
    ),
    Scope(
        "read:confluence-props",
        CONFLUENCE_CLASSIC,
        "Read content properties",
        "Read properties stored on content.",
    ),
    Scope(
        "write:confluence-props",
        CONFLUENCE_CLASSIC,
        "Write content properties",
        "Create and change properties stored on content.",
    ),
    Scope(
        "write:confluence-content",
        CONFLUENCE_CLASSIC,
        "Write content",
        "Create pages, blog posts, comments and questions.",
    ),
    Scope(
        "write:confluence-space",
        CONFLUENCE_CLASSIC,
        "Manage spaces",
        "Create, change and delete spaces.",
    ),
    Scope(
        "write:confluence-file",
        CONFLUENCE_CLASSIC,
        "Upload attachments",
        "Upload files as attachments.",
    ),
    Scope(
        "readonly:content.attachment:confluence",
        CONFLUENCE_CLASSIC,
        "Download attachments",
        "Download attachment files.",
    ),
    Scope(
        "search:confluence",
        CONFLUENCE_CLASSIC,
        "Search Confluence",
        "Run CQL searches.",
    ),
    Scope(
        "read:confluence-user",
        CONFLUENCE_CLASSIC,
        "Read Confluence user profiles",
        "Read the user details you can see in Confluence.",
    ),
    Scope(
        "read:confluence-groups",
        CONFLUENCE_CLASSIC,
        "Read groups",
        "List user groups.",
    ),
    Scope(
        "write:confluence-groups",
        CONFLUENCE_CLASSIC,
        "Manage groups",
        "Create and change user groups.",
    ),
    Scope(
        "manage:confluence-configuration",
        CONFLUENCE_CLASSIC,
        "Manage global Confluence settings",
        "Change site-wide Confluence settings.",
    ),
    Scope(
        "read:space:confluence",
        CONFLUENCE_GRANULAR,
        "Read spaces (REST v2)",
        "Read spaces and their properties.",
        "The v2 space list (/wiki/api/v2/spaces) accepts only this scope, not the "
        "classic ones.",
    ),
    Scope(
        "read:page:confluence",
        CONFLUENCE_GRANULAR,
        "Read pages (REST v2)",
        "Read pages and blog posts with their properties.",
        "The v2 page list and page bodies need it.",
    ),
    Scope(
        "read:content-details:confluence",
        CONFLUENCE_GRANULAR,
        "Read content details",
        "Read content details.",
        "The v1 space list accepts it as its granular scope.",
    ),
    Scope(
        READ_ME,
        IDENTITY,
        "Read your Atlassian profile",
        "Read the name and account of the person who consented.",
        "GET /me needs it, and the app also needs the User Identity API added in "
        "the developer console.",
    ),
    Scope(
        OFFLINE_ACCESS,
        IDENTITY,
        "Stay connected (refresh token)",
        "Keep access when you are not using the app, with a refresh token.",
        "Access tokens expire after an hour, so without it you must consent again "
        "every hour. It is not a console setting: it is only requested in the "
        "authorize URL.",
    ),
)

BY_NAME: dict[str, Scope] = {scope.name: scope for scope in CATALOGUE}

PRESETS: dict[str, tuple[str, ...]] = {
    "Browse only": (
        "read:jira-work",
        "read:jira-user",
        "read:space:confluence",
        "read:page:confluence",
        READ_ME,
        OFFLINE_ACCESS,
    ),
    # The Jira classic set that the developer console's authorization URL
    # generator produces.
    "Jira (console set)": (
        "read:jira-work",
        "write:jira-work",
        "manage:jira-project",
        "manage:jira-configuration",
        "read:jira-user",
        "manage:jira-webhook",
        "manage:jira-data-provider",
        OFFLINE_ACCESS,
    ),
    # The 15 Confluence classic scopes of the console's generator.
    "Confluence (console set)": (
        "write:confluence-content",
        "read:confluence-space.summary",
        "write:confluence-space",
        "write:confluence-file",
        "read:confluence-props",
        "write:confluence-props",
        "manage:confluence-configuration",
        "read:confluence-content.all",
        "read:confluence-content.summary",
        "search:confluence",
        "read:confluence-content.permission",
        "read:confluence-user",
        "read:confluence-groups",
        "write:confluence-groups",
        "readonly:content.attachment:confluence",
        OFFLINE_ACCESS,
    ),
}

DEFAULT_SELECTION: tuple[str, ...] = PRESETS["Browse only"]


@dataclass(frozen=True)
class Requirement:
    """The scopes an endpoint accepts: all classic ones, or all granular ones."""

    classic: frozenset[str] = frozenset()
    granular: frozenset[str] = frozenset()
    # False when a set is known to be missing here (the granular scopes of a few
    # endpoints): a token may then pass with scopes not listed, so the dashboard
    # does not refuse a call on this requirement before sending it.
    complete: bool = True

    def is_met_by(self, granted: frozenset[str] | set[str]) -> bool:
        """Return whether the granted scopes satisfy one of the two sets."""
        if not self.classic and not self.granular:
            return True
        if self.classic and self.classic <= granted:
            return True
        return bool(self.granular) and self.granular <= granted

    def describe(self) -> str:
        """Return the scopes to ask for: the classic set when there is one (the
        Scopes page offers those), else the granular set."""
        chosen = self.classic or self.granular
        return " + ".join(sorted(chosen)) if chosen else "no scope"


def _requirement(classic=(), granular=(), *, complete=True) -> Requirement:
    return Requirement(frozenset(classic), frozenset(granular), complete)


# Endpoint keys are the path templates under each product's API base, or under the
# gateway for the identity calls.
ENDPOINT_SCOPES: dict[str, Requirement] = {
    "/oauth/token/accessible-resources": _requirement(),
    "/me": _requirement(classic=[READ_ME]),
    "/rest/api/3/project/search": _requirement(
        classic=["read:jira-work"],
        granular=[
            "read:issue-type:jira",
            "read:project:jira",
            "read:project.property:jira",
            "read:user:jira",
            "read:application-role:jira",
            "read:avatar:jira",
            "read:group:jira",
            "read:issue-type-hierarchy:jira",
            "read:project-category:jira",
            "read:project-version:jira",
            "read:project.component:jira",
        ],
    ),
    "/rest/api/3/myself": _requirement(
        classic=["read:jira-user"],
        granular=[
            "read:application-role:jira",
            "read:group:jira",
            "read:user:jira",
            "read:avatar:jira",
        ],
    ),
    "/wiki/api/v2/spaces": _requirement(granular=["read:space:confluence"]),
    "/wiki/api/v2/spaces/{id}/pages": _requirement(granular=["read:page:confluence"]),
    "/wiki/api/v2/pages/{id}": _requirement(granular=["read:page:confluence"]),
    "/wiki/rest/api/space": _requirement(
        classic=["read:confluence-space.summary"],
        granular=["read:content-details:confluence"],
    ),
    "/rest/api/3/search/jql": _requirement(
        classic=["read:jira-work"],
        granular=[
            "read:issue-details:jira",
            "read:audit-log:jira",
            "read:avatar:jira",
            "read:field-configuration:jira",
            "read:issue-meta:jira",
        ],
    ),
    # NOTE: the granular scopes of the next two endpoints are not recorded here,
    # so only the classic scope satisfies them.
    "/rest/api/3/search/approximate-count": _requirement(
        classic=["read:jira-work"], complete=False
    ),
    "/rest/api/3/issue/{issueIdOrKey}": _requirement(
        classic=["read:jira-work"], complete=False
    ),
    # The removed search endpoints, which return 410 Gone to a token that passes
    # this check. NOTE: their granular scopes are not recorded here.
    "/rest/api/3/search": _requirement(classic=["read:jira-work"], complete=False),
    "/rest/api/2/search": _requirement(classic=["read:jira-work"], complete=False),
}


# Requirements of tasks beyond the calls this dashboard makes. NOTE: only the
# classic scopes of these writes are recorded, taken from the scope descriptions:
# write:jira-work creates and edits issues and comments, and
# write:confluence-content creates pages, blog posts and comments (v1 content API).
_WRITE_REQUIREMENTS: dict[str, Requirement] = {
    "create issues": _requirement(classic=["write:jira-work"]),
    "write pages": _requirement(classic=["write:confluence-content"]),
    "search content": _requirement(classic=["search:confluence"]),
}


@dataclass(frozen=True)
class Task:
    """Something a person wants the token for, and the calls it takes."""

    key: str
    label: str
    help: str
    requirements: tuple[Requirement, ...]


def _calls(*templates: str) -> tuple[Requirement, ...]:
    return tuple(ENDPOINT_SCOPES[template] for template in templates)


TASKS: tuple[Task, ...] = (
    Task(
        "browse_projects",
        "Browse Jira projects",
        "List and search the site's projects.",
        _calls("/rest/api/3/project/search"),
    ),
    Task(
        "read_issues",
        "Read Jira issues",
        "Search with JQL, count issues and open one with its description.",
        _calls(
            "/rest/api/3/search/jql",
            "/rest/api/3/search/approximate-count",
            "/rest/api/3/issue/{issueIdOrKey}",
        ),
    ),
    Task(
        "jira_profile",
        "See my Jira profile",
        "Who the token acts as in Jira, with groups and roles.",
        _calls("/rest/api/3/myself"),
    ),
    Task(
        "create_issues",
        "Create and edit issues",
        "Create, edit and delete issues, and post comments and worklogs.",
        (_WRITE_REQUIREMENTS["create issues"],),
    ),
    Task(
        "browse_spaces",
        "Browse Confluence spaces",
        "List spaces with the v2 API.",
        _calls("/wiki/api/v2/spaces"),
    ),
    Task(
        "read_pages",
        "Read Confluence pages",
        "List a space's pages and open their bodies.",
        _calls("/wiki/api/v2/spaces/{id}/pages", "/wiki/api/v2/pages/{id}"),
    ),
    Task(
        "write_pages",
        "Write Confluence pages",
        "Create pages, blog posts and comments.",
        (_WRITE_REQUIREMENTS["write pages"],),
    ),
    Task(
        "search_content",
        "Search Confluence",
        "Search pages and other content with CQL.",
        (_WRITE_REQUIREMENTS["search content"],),
    ),
    Task(
        "identity",
        "Show who is connected",
        "The account's name and email from the identity API. The app also needs "
        "the User Identity API added in the developer console.",
        _calls("/me"),
    ),
    Task(
        "stay_connected",
        "Stay connected for more than an hour",
        "A refresh token, so the dashboard renews the access token by itself.",
        (_requirement(classic=[OFFLINE_ACCESS]),),
    ),
)

TASKS_BY_KEY: dict[str, Task] = {task.key: task for task in TASKS}


def scopes_for_tasks(keys) -> tuple[str, ...]:
    """Return the smallest scope set that allows every chosen task, in the
    catalogue's order."""
    requirements = dict.fromkeys(
        requirement for key in keys for requirement in TASKS_BY_KEY[key].requirements
    )
    chosen = smallest_scope_set(requirements)
    order = {scope.name: index for index, scope in enumerate(CATALOGUE)}
    return tuple(sorted(chosen, key=lambda name: (order.get(name, len(order)), name)))


def smallest_scope_set(requirements) -> frozenset[str]:
    """Return the smallest set of scopes that meets every requirement.

    Each requirement takes its classic set or its granular set, so every
    combination is tried: the tasks name a handful of calls. Among sets of the
    same size, the one with more classic choices wins.
    """
    options = [
        [
            (rank, scopes)
            for rank, scopes in enumerate((r.classic, r.granular))
            if scopes
        ]
        for r in requirements
    ]
    options = [choices for choices in options if choices]
    best = min(
        itertools.product(*options),
        key=lambda picks: (
            len(frozenset().union(*(scopes for _, scopes in picks))),
            sum(rank for rank, _ in picks),
        ),
    )
    return frozenset().union(*(scopes for _, scopes in best))


def normalize_scopes(names) -> tuple[str, ...]:
    """Strip scope names and drop blanks and duplicates, keeping first-seen order."""
    seen: dict[str, None] = {}
    for name in names:
        name = name.strip()
        if name:
            seen.setdefault(name, None)
    return tuple(seen)


def scope_string(names) -> str:
    """Join scopes with single spaces, as the authorize URL's `scope` takes them."""
    return " ".join(normalize_scopes(names))


def parse_scope_string(text: str | None) -> tuple[str, ...]:
    """Split a space-separated `scope` value from a token response."""
    return normalize_scopes((text or "").split())


_SCOPE_NAME = re.compile(r"[a-z]+:[a-z0-9_.:-]+")


def validate_scope_names(names) -> tuple[str, ...]:
    """Return the normalized names, or raise InvalidInput for anything that is not
    a scope name, naming commas and plus signs used as separators."""
    scopes = normalize_scopes(names)
    if not scopes:
        raise InvalidInput(
            "scopes",
            "No scope is selected.",
            hint="Tick at least one scope on the Scopes page.",
        )
    for name in scopes:
        if name == OFFLINE_ACCESS or _SCOPE_NAME.fullmatch(name):
            continue
        if "," in name or "+" in name:
            raise InvalidInput(
                "scopes",
                f"{name!r} joins several scopes with commas or plus signs.",
                hint="Scopes are separated by spaces; pick them one by one.",
            )
        raise InvalidInput(
            "scopes",
            f"{name!r} is not a scope name.",
            hint="Scope names look like read:jira-work; pick them on the Scopes page.",
        )
    return scopes


def scopes_in_group(group: str) -> tuple[Scope, ...]:
    """Return the catalogue entries of one group, in catalogue order."""
    return tuple(scope for scope in CATALOGUE if scope.group == group)


def product_of(name: str) -> str | None:
    """Return the product a scope name belongs to, judged by its name when unknown."""
    if name in BY_NAME:
        return BY_NAME[name].product
    if name.endswith(":jira") or "jira-" in name:
        return "jira"
    if name.endswith(":confluence") or "confluence-" in name:
        return "confluence"
    return None
