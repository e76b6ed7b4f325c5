"""Jira issues as REST v3 returns them (IssueBean), built from an IssueTable row.

The field names, nesting and null values follow issues recorded from Jira Cloud.
`select_fields` applies the `fields` parameter and `IssueRenderer.issue` the
`expand` parameter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from lib.sandbox import adf
from lib.sandbox.data import JIRA, Person, Project, stable_uuid
from lib.sandbox.gateway import ApiContext
from lib.sandbox.issues import (
    FIRST_ISSUE_ID,
    ISSUE_TYPES,
    LABEL_SETS,
    PRIORITIES,
    STATUS_CATEGORIES,
    STATUSES,
    SUMMARIES,
    USER_ZONE,
    IssueTable,
    jira_time,
)
from lib.sandbox.jira import avatar_urls

# The `expand` value of every issue, as in issues recorded from Jira Cloud.
ISSUE_EXPAND = (
    "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"
)
EXPAND_OPTIONS = frozenset(
    (
        "renderedFields", "names", "schema", "transitions", "operations",
        "editmeta", "changelog", "versionedRepresentations",
    )
)  # fmt: skip

_POINTS = "com.atlassian.jira.plugin.system.customfieldtypes:jsw-story-points"
_RANK = "com.pyxis.greenhopper.jira:gh-lexo-rank"
_SPRINT = "com.pyxis.greenhopper.jira:gh-sprint"


def _custom(kind: str, custom: str, custom_id: int, items: str | None = None):
    schema = {"type": kind, "custom": custom, "customId": custom_id}
    if items:
        schema["items"] = items
    return schema


# (field id, display name, schema) of every field, in the order issues list them.
FIELDS: tuple[tuple[str, str, dict], ...] = (
    ("statuscategorychangedate", "Status Category Changed", {"type": "datetime"}),
    ("issuetype", "Issue Type", {"type": "issuetype"}),
    ("parent", "Parent", {"type": "issuelink"}),
    ("components", "Components", {"type": "array", "items": "component"}),
    ("timespent", "Time Spent", {"type": "number"}),
    ("timeoriginalestimate", "Original estimate", {"type": "number"}),
    ("project", "Project", {"type": "project"}),
    ("description", "Description", {"type": "string"}),
    ("fixVersions", "Fix versions", {"type": "array", "items": "version"}),
    ("aggregatetimespent", "Σ Time Spent", {"type": "number"}),
    ("statusCategory", "Status Category", {"type": "statusCategory"}),
    ("resolution", "Resolution", {"type": "resolution"}),
    ("security", "Security Level", {"type": "securitylevel"}),
    ("attachment", "Attachment", {"type": "array", "items": "attachment"}),
    ("aggregatetimeestimate", "Σ Remaining Estimate", {"type": "number"}),
    ("resolutiondate", "Resolved", {"type": "datetime"}),
    ("workratio", "Work Ratio", {"type": "number"}),
    ("summary", "Summary", {"type": "string"}),
    ("issuerestriction", "Restrict to", {"type": "issuerestriction"}),
    ("watches", "Watchers", {"type": "watches"}),
    ("lastViewed", "Last Viewed", {"type": "datetime"}),
    ("creator", "Creator", {"type": "user"}),
    ("subtasks", "Sub-tasks", {"type": "array", "items": "issuelinks"}),
    ("created", "Created", {"type": "datetime"}),
    ("reporter", "Reporter", {"type": "user"}),
    ("aggregateprogress", "Σ Progress", {"type": "progress"}),
    ("priority", "Priority", {"type": "priority"}),
    ("labels", "Labels", {"type": "array", "items": "string"}),
    ("environment", "Environment", {"type": "string"}),
    ("timeestimate", "Remaining Estimate", {"type": "number"}),
    ("aggregatetimeoriginalestimate", "Σ Original Estimate", {"type": "number"}),
    ("versions", "Affects versions", {"type": "array", "items": "version"}),
    ("duedate", "Due date", {"type": "date"}),
    ("progress", "Progress", {"type": "progress"}),
    ("issuelinks", "Linked Issues", {"type": "array", "items": "issuelinks"}),
    ("votes", "Votes", {"type": "votes"}),
    ("comment", "Comment", {"type": "comments-page"}),
    ("assignee", "Assignee", {"type": "user"}),
    ("worklog", "Log Work", {"type": "array", "items": "worklog"}),
    ("updated", "Updated", {"type": "datetime"}),
    ("status", "Status", {"type": "status"}),
    ("timetracking", "Time tracking", {"type": "timetracking"}),
    ("customfield_10016", "Story point estimate", _custom("number", _POINTS, 10016)),
    ("customfield_10019", "Rank", _custom("any", _RANK, 10019)),
    ("customfield_10020", "Sprint", _custom("array", _SPRINT, 10020, "json")),
)
FIELD_IDS = tuple(field_id for field_id, _name, _schema in FIELDS)
_DISPLAY_NAMES = {field_id: name for field_id, name, _schema in FIELDS}
_SCHEMAS = {field_id: schema for field_id, _name, schema in FIELDS}
# NOTE: Jira's documentation does not list the fields that `*navigable` leaves
# out, so this set is the sandbox's choice.
_NOT_NAVIGABLE = frozenset(("comment", "worklog", "timetracking"))
NAVIGABLE = tuple(field_id for field_id in FIELD_IDS if field_id not in _NOT_NAVIGABLE)
# Fields that make a search return smaller pages when requested.
HEAVY_FIELDS = frozenset(("description", "comment", "worklog", "attachment"))


def select_fields(requested: list[str], default: str) -> list[str]:
    """Return the field ids that a `fields` parameter selects, in output order.

    `*all`, `*navigable` and field ids add fields and `-id` removes one. A list
    with only removals starts from `default`. `id`, `key` and unknown names add
    nothing, as Jira ignores fields it does not have.
    """
    additions = [name for name in requested if not name.startswith("-")]
    removals = {name[1:] for name in requested if name.startswith("-")}
    selected: set[str] = set()
    for name in additions or [default]:
        if name == "*all":
            selected.update(FIELD_IDS)
        elif name == "*navigable":
            selected.update(NAVIGABLE)
        elif name in _DISPLAY_NAMES:
            selected.add(name)
    return [name for name in FIELD_IDS if name in selected and name not in removals]


def names_json(fields: list[str]) -> dict[str, str]:
    """Return the `names` expansion: each field's display name."""
    return {field_id: _DISPLAY_NAMES[field_id] for field_id in fields}


def schema_json(fields: list[str]) -> dict[str, dict]:
    """Return the `schema` expansion: each field's type."""
    schemas = {}
    for field_id in fields:
        schema = dict(_SCHEMAS[field_id])
        if "custom" not in schema:
            schema["system"] = field_id
        schemas[field_id] = schema
    return schemas


def _display_time(unix_ms: int) -> str:
    """Format a time like Jira's rendered fields: 28/Apr/26 3:54 PM."""
    moment = datetime.fromtimestamp(unix_ms // 1000, USER_ZONE)
    hour = moment.hour % 12 or 12
    return f"{moment:%d/%b/%y} {hour}:{moment:%M %p}"


# A field value to leave out of `fields`, as Jira leaves out `parent` for an issue
# without one.
_OMIT = object()


class IssueRenderer:
    """Issue JSON builder for one request, with its site, gateway URLs and people."""

    def __init__(self, context: ApiContext):
        self.context = context
        self.site = context.site
        self.table: IssueTable = context.site.issues
        self.table.ensure_built()
        jira = context.product_base(JIRA)
        self.api = f"{jira}/rest/api/3"
        self.api2 = f"{jira}/rest/api/2"
        self.site_url = context.site.url(context.base_url)
        self.people = context.dataset.people
        self._users: dict[int, dict] = {}

    # Issues

    def issue(
        self,
        row: int,
        fields: list[str],
        expand: set[str] = frozenset(),
        with_properties: bool = False,
    ) -> dict:
        """Return one issue with the selected fields and expansions."""
        issue_id = FIRST_ISSUE_ID + row
        body: dict[str, Any] = {
            "expand": ISSUE_EXPAND,
            "id": str(issue_id),
            "self": f"{self.api}/issue/{issue_id}",
            "key": self.table.key_of(row),
        }
        values = {}
        for field_id in fields:
            value = self.field(row, field_id)
            if value is not _OMIT:
                values[field_id] = value

        self.add_expansions(body, row, values, expand, with_properties)
        if "versionedRepresentations" in expand:
            body["versionedRepresentations"] = {
                field_id: {"1": value} for field_id, value in values.items()
            }
        elif fields:
            body["fields"] = values
        return body

    def add_expansions(self, body, row, values, expand, with_properties) -> None:
        """Add the expansions that IssueBean lists before `fields`, in its order."""
        if "renderedFields" in expand:
            body["renderedFields"] = self.rendered_fields(row, values)
        if with_properties:
            body["properties"] = {}
        if "transitions" in expand:
            body["transitions"] = self.transitions()
        if "operations" in expand:
            body["operations"] = {"linkGroups": []}
        if "editmeta" in expand:
            body["editmeta"] = {"fields": {}}
        if "changelog" in expand:
            body["changelog"] = {
                "startAt": 0,
                "maxResults": 0,
                "total": 0,
                "histories": [],
            }

    def rendered_fields(self, row: int, values: dict[str, Any]) -> dict[str, Any]:
        """Return the `renderedFields` expansion: HTML and display dates."""
        table = self.table
        rendered: dict[str, Any] = dict.fromkeys(values)
        if values.get("description") is not None:
            rendered["description"] = adf.to_html(values["description"])
        for field_id, column in (
            ("created", table.created),
            ("updated", table.updated),
        ):
            if field_id in values:
                rendered[field_id] = _display_time(column[row])
        return rendered

    def transitions(self) -> list[dict]:
        """Return the transitions to the three main statuses."""
        return [
            {
                "id": str(11 + 10 * index),
                "name": STATUSES[status].name,
                "to": self.status_json(status),
                "hasScreen": False,
                "isGlobal": True,
                "isInitial": False,
                "isAvailable": True,
                "isConditional": False,
                "isLooped": False,
            }
            for index, status in enumerate((0, 1, 3))
        ]

    # Fields

    def field(self, row: int, field_id: str) -> Any:
        """Return the value of one field of an issue."""
        builder = getattr(self, f"_field_{field_id.lower()}", None)
        if builder is not None:
            return builder(row)
        return _CONSTANT_FIELDS[field_id](self, row)

    def _field_summary(self, row: int) -> str:
        return SUMMARIES[self.table.summary[row]]

    def _field_status(self, row: int) -> dict:
        return self.status_json(self.table.status[row])

    def _field_statuscategory(self, row: int) -> dict:
        status = STATUSES[self.table.status[row]]
        return self.category_json(status.category)

    def _field_statuscategorychangedate(self, row: int) -> str:
        return jira_time(self.table.updated[row])

    def _field_issuetype(self, row: int) -> dict:
        return self.issue_type_json(row)

    def _field_priority(self, row: int) -> dict:
        priority = PRIORITIES[self.table.priority[row]]
        return {
            "self": f"{self.api}/priority/{priority.id}",
            "iconUrl": f"{self.site_url}/images/icons/priorities/{priority.icon}",
            "name": priority.name,
            "id": priority.id,
        }

    def _field_assignee(self, row: int) -> dict | None:
        code = self.table.assignee[row]
        return self.user_json(code - 1) if code else None

    def _field_reporter(self, row: int) -> dict:
        return self.user_json(self.table.reporter[row])

    def _field_creator(self, row: int) -> dict:
        return self.user_json(self.table.creator[row])

    def _field_created(self, row: int) -> str:
        return jira_time(self.table.created[row])

    def _field_updated(self, row: int) -> str:
        return jira_time(self.table.updated[row])

    def _field_labels(self, row: int) -> list[str]:
        return list(LABEL_SETS[self.table.labels[row]])

    def _field_project(self, row: int) -> dict:
        project = self.project_of(row)
        avatar = f"{self.api}/universal_avatar/view/type/project/avatar/"
        return {
            "self": f"{self.api}/project/{project.id}",
            "id": str(project.id),
            "key": project.key,
            "name": project.name,
            "projectTypeKey": project.type_key,
            "simplified": project.simplified,
            "avatarUrls": avatar_urls(f"{avatar}{project.avatar_id}"),
        }

    def _field_description(self, row: int) -> dict | None:
        table = self.table
        mentioned = self.people[(table.reporter[row] + 1) % len(self.people)]
        context = adf.DescriptionContext(
            self.project_of(row).name, mentioned.account_id, mentioned.display_name
        )
        return adf.description(table.description[row], context)

    def _field_resolution(self, row: int) -> dict | None:
        if not self._is_done(row):
            return None
        return {
            "self": f"{self.api}/resolution/10000",
            "id": "10000",
            "description": "Work on this issue is complete.",
            "name": "Done",
        }

    def _field_resolutiondate(self, row: int) -> str | None:
        return jira_time(self.table.updated[row]) if self._is_done(row) else None

    def _field_duedate(self, row: int) -> str | None:
        # Issues of High and Highest priority have a due date two weeks after
        # they were created.
        if self.table.priority[row] < 3:
            return None
        created = self.table.created[row] + 14 * 86_400_000
        return datetime.fromtimestamp(created // 1000, USER_ZONE).date().isoformat()

    def _field_subtasks(self, row: int) -> list[dict]:
        return [self.issue_link(child) for child in self.table.subtasks_of(row)]

    def _field_parent(self, row: int) -> Any:
        parent = self.table.parent_of(row)
        return _OMIT if parent is None else self.issue_link(parent)

    def _field_watches(self, row: int) -> dict:
        key = self.table.key_of(row)
        return {
            "self": f"{self.api}/issue/{key}/watchers",
            "watchCount": 1,
            "isWatching": self.table.assignee[row] == 1,
        }

    def _field_votes(self, row: int) -> dict:
        key = self.table.key_of(row)
        return {"self": f"{self.api}/issue/{key}/votes", "votes": 0, "hasVoted": False}

    def _field_comment(self, row: int) -> dict:
        return {
            "comments": [],
            "self": f"{self.api}/issue/{FIRST_ISSUE_ID + row}/comment",
            "maxResults": 0,
            "total": 0,
            "startAt": 0,
        }

    def _field_customfield_10016(self, row: int) -> float | None:
        if ISSUE_TYPES[self.table.issue_type[row]].name != "Story":
            return None
        return float((1, 2, 3, 5, 8)[row % 5])

    def _field_customfield_10019(self, row: int) -> str:
        return f"0|i{_base36(row):0>5}:"

    def _is_done(self, row: int) -> bool:
        return STATUSES[self.table.status[row]].category == 3

    # Nested objects

    def project_of(self, row: int) -> Project:
        return self.site.projects[self.table.project[row]]

    def status_json(self, index: int) -> dict:
        status = STATUSES[index]
        return {
            "self": f"{self.api}/status/{status.id}",
            "description": status.description,
            "iconUrl": f"{self.site_url}/images/icons/statuses/generic.png",
            "name": status.name,
            "id": status.id,
            "statusCategory": self.category_json(status.category),
        }

    def category_json(self, category_id: int) -> dict:
        category = STATUS_CATEGORIES[category_id]
        return {
            "self": f"{self.api}/statuscategory/{category.id}",
            "id": category.id,
            "key": category.key,
            "colorName": category.color_name,
            "name": category.name,
        }

    def issue_type_json(self, row: int) -> dict:
        issue_type = ISSUE_TYPES[self.table.issue_type[row]]
        avatar = f"{self.api2}/universal_avatar/view/type/issuetype/avatar/"
        body = {
            "self": f"{self.api}/issuetype/{issue_type.id}",
            "id": issue_type.id,
            "description": issue_type.description,
            "iconUrl": f"{avatar}{issue_type.avatar_id}?size=medium",
            "name": issue_type.name,
            "subtask": issue_type.subtask,
            "avatarId": issue_type.avatar_id,
            "hierarchyLevel": issue_type.hierarchy_level,
        }
        project = self.project_of(row)
        # Team-managed (simplified) projects have their own issue types, which
        # carry an entityId.
        if project.uuid is not None:
            body["entityId"] = stable_uuid("issuetype", project.key, issue_type.id)
        return body

    def user_json(self, person_index: int) -> dict:
        """Return a person as Jira nests users in issue fields."""
        if person_index not in self._users:
            person: Person = self.people[person_index]
            self._users[person_index] = {
                "self": f"{self.api}/user?accountId={quote(person.account_id)}",
                "accountId": person.account_id,
                "emailAddress": person.email,
                "avatarUrls": avatar_urls(self.context.avatar_url(person.display_name)),
                "displayName": person.display_name,
                "active": True,
                "timeZone": person.time_zone,
                "accountType": "atlassian",
            }
        return self._users[person_index]

    def issue_link(self, row: int) -> dict:
        """Return the short issue that `parent` and `subtasks` contain."""
        issue_id = FIRST_ISSUE_ID + row
        return {
            "id": str(issue_id),
            "key": self.table.key_of(row),
            "self": f"{self.api}/issue/{issue_id}",
            "fields": {
                "summary": self._field_summary(row),
                "status": self._field_status(row),
                "priority": self._field_priority(row),
                "issuetype": self.issue_type_json(row),
            },
        }


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, remainder = divmod(number, 36)
        text = digits[remainder] + text
        if number == 0:
            return text


def _empty_list(renderer: IssueRenderer, row: int) -> list:
    return []


def _null(renderer: IssueRenderer, row: int) -> None:
    return None


def _no_progress(renderer: IssueRenderer, row: int) -> dict:
    return {"progress": 0, "total": 0}


# Fields whose value is the same for every sample issue.
_CONSTANT_FIELDS = {
    "components": _empty_list,
    "fixVersions": _empty_list,
    "versions": _empty_list,
    "issuelinks": _empty_list,
    "attachment": _empty_list,
    "timespent": _null,
    "timeoriginalestimate": _null,
    "aggregatetimespent": _null,
    "aggregatetimeestimate": _null,
    "timeestimate": _null,
    "aggregatetimeoriginalestimate": _null,
    "security": _null,
    "lastViewed": _null,
    "environment": _null,
    "customfield_10020": _null,
    "workratio": lambda renderer, row: -1,
    "progress": _no_progress,
    "aggregateprogress": _no_progress,
    "issuerestriction": lambda renderer, row: {
        "issuerestrictions": {},
        "shouldDisplay": True,
    },
    "timetracking": lambda renderer, row: {},
    "worklog": lambda renderer, row: {
        "startAt": 0,
        "maxResults": 20,
        "total": 0,
        "worklogs": [],
    },
}
