"""Jira issues of one site, stored compactly and generated from a seeded hash.

A site's issues are numbered 0 to n-1 in project order, and that number is the
issue's "row". The issue id is 10000 + row, and the key is the project key and the
issue's number within its project, such as CAFE-12. Every attribute (status, type,
priority, people, summary, description, labels, times) is a small integer in a
byte or integer column, derived from a 64-bit hash of the site's seed and the
row. The columns are built when the site's issues are first needed. JSON is built
per request by `issue_json`. The columns take 27 bytes per issue (1.4 MB for
50,000 issues) instead of a dictionary per issue.
"""

from __future__ import annotations

import hashlib
import re
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from lib.sandbox import adf

_MASK64 = (1 << 64) - 1
# Issue times start at this moment (Unix milliseconds) and spread over about 14
# months.
_EPOCH_MS = int(datetime(2025, 1, 6, 9, 0, tzinfo=UTC).timestamp() * 1000)
_CREATED_SPAN_MINUTES = 600_000
_MAX_UPDATE_MINUTES = 45 * 1440
# Jira formats times in the calling user's time zone, so the sandbox uses the
# practice account's zone.
USER_ZONE = ZoneInfo("Europe/Berlin")

FIRST_ISSUE_ID = 10000
# How many search results each site keeps, keyed by query, so that the pages after
# the first of a large search cost no second scan.
_CACHED_SEARCHES = 8


def mix64(value: int) -> int:
    """Return a well-spread 64-bit hash of an integer (the splitmix64 finalizer)."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


def seed_of(text: str) -> int:
    """Return a 64-bit seed derived from a string, the same on every run."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest())


def jira_time(unix_ms: int) -> str:
    """Format a time the way Jira does: 2026-04-28T15:54:48.559+0200."""
    moment = datetime.fromtimestamp(unix_ms // 1000, USER_ZONE)
    milliseconds = unix_ms % 1000
    return (
        moment.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{milliseconds:03d}"
        + (moment.strftime("%z"))
    )


# Vocabularies


@dataclass(frozen=True)
class Status:
    """A workflow status. `category` is the id of its status category."""

    id: str
    name: str
    category: int
    description: str


@dataclass(frozen=True)
class StatusCategory:
    id: int
    key: str
    color_name: str
    name: str


STATUS_CATEGORIES = {
    2: StatusCategory(2, "new", "blue-gray", "To Do"),
    4: StatusCategory(4, "indeterminate", "yellow", "In Progress"),
    3: StatusCategory(3, "done", "green", "Done"),
}
# Team-managed statuses have an empty description, as on Jira Cloud.
STATUSES = (
    Status("10000", "To Do", 2, ""),
    Status("3", "In Progress", 4, "Someone is working on this issue now."),
    Status("10002", "In Review", 4, ""),
    Status("10001", "Done", 3, ""),
    Status("1", "Open", 2, "Ready for someone to pick up."),
    Status("4", "Reopened", 2, "Was resolved once, and the fix did not hold."),
    Status("5", "Resolved", 3, "Fixed; waiting for the reporter to confirm."),
    Status("6", "Closed", 3, "Finished. It can still be reopened."),
    Status("10003", "Won't Do", 3, ""),
    Status("10004", "Blocked", 4, "Waiting for something outside the team."),
)


@dataclass(frozen=True)
class IssueType:
    """An issue type. `hierarchy_level` is 1 for epics and -1 for subtasks."""

    id: str
    name: str
    description: str
    subtask: bool
    avatar_id: int
    hierarchy_level: int


ISSUE_TYPES = (
    IssueType("10003", "Task", "A piece of work for one person.", False, 10318, 0),
    IssueType(
        "10004", "Bug", "Something that does not work as intended.", False, 10303, 0
    ),
    IssueType("10005", "Story", "A feature told from a user's view.", False, 10315, 0),
    IssueType(
        "10001", "Epic", "A large body of work that groups issues.", False, 10307, 1
    ),
    # Jira Cloud's default subtask type has an empty description.
    IssueType("10002", "Subtask", "", True, 10316, -1),
)
EPIC = 3
SUBTASK = 4


@dataclass(frozen=True)
class Priority:
    id: str
    name: str
    icon: str


# Ordered from the lowest to the highest, so that the index sorts like Jira's
# priority order.
PRIORITIES = (
    Priority("5", "Lowest", "lowest_new.svg"),
    Priority("4", "Low", "low_new.svg"),
    Priority("3", "Medium", "medium_new.svg"),
    Priority("2", "High", "high_new.svg"),
    Priority("1", "Highest", "highest_new.svg"),
)

LABEL_SETS: tuple[tuple[str, ...], ...] = (
    (),
    ("backend",),
    ("frontend", "ux"),
    ("needs-triage",),
    ("débogage",),
    ("客户反馈",),
    ("release-2026", "blocker"),
    ("ops&infra",),
    ("<b>label</b>",),
)

# Summaries mix scripts, emoji, quotes and markup-like text, which clients must
# show as plain text.
SUMMARIES = (
    "Login fails after a password reset",
    "Add CSV export to the report page",
    "<script>alert(1)</script> appears in the search box",
    "**bold** and [link](javascript:alert(1)) in a comment",
    "Quote \"double\", 'single' and `backtick` characters",
    "Café crème: update the menu prices",
    "Ελληνικά: διόρθωση της σύνδεσης",
    "Исправить вход через SSO",
    "修复登录页面的显示问题",
    "إصلاح مشكلة تسجيل الدخول",
    "日本語のエラーメッセージを改善する",
    "Release checklist 🚀🔥 ✅",
    "Dark mode for the settings page",
    "<img src=x onerror=alert(1)> in the project name",
    "Ampersands & angle brackets < > and &amp; entities",
    "Team page shows 👩‍💻 as two characters",
    "Upgrade the database driver",
    "Search ignores accents in “smart quotes”",
    "Zoë's onboarding checklist",
    "Remove the deprecated /rest/api/3/search call",
    "Straße, Öl und Übergrößen richtig sortieren",
    "Slow page load on the dashboard",
    "Document the release process",
    "Mobile: crash when rotating the screen",
    "A very long summary that keeps going to test how clients truncate text: "
    "it describes the problem, the steps to reproduce, the expected and the "
    "actual result, and the environment, all on one line, which Jira allows up "
    "to 255 characters",
)

# Weights out of 64 of each status, issue type, priority and assignee. The
# assignee weights are for nobody assigned, the practice account, then six
# colleagues.
_STATUS_WEIGHTS = (18, 12, 5, 17, 3, 2, 2, 2, 2, 1)
_TYPE_WEIGHTS = (26, 13, 15, 3, 7)
_PRIORITY_WEIGHTS = (6, 10, 32, 12, 4)
_ASSIGNEE_WEIGHTS = (20, 14, 5, 5, 5, 5, 5, 5)
_DESCRIPTION_WEIGHTS = (16, 14, 8, 6, 8, 4, 5, 3)
_LABEL_WEIGHTS = (34, 6, 5, 5, 3, 3, 3, 3, 2)
# Shares of all issues that go to a few fixed projects, by project index. On the
# main site these are CAFE, ROCKET and TOKYO.
_LARGE_PROJECT_SHARES = {0: 0.10, 5: 0.05, 3: 0.02}


def _pick_table(weights: Sequence[int]) -> bytes:
    """Return 64 bytes in which each index appears as often as its weight."""
    table = bytes(index for index, weight in enumerate(weights) for _ in range(weight))
    if len(table) != 64:
        raise ValueError(f"weights must add up to 64, not {len(table)}")
    return table


_STATUS_PICK = _pick_table(_STATUS_WEIGHTS)
_TYPE_PICK = _pick_table(_TYPE_WEIGHTS)
_PRIORITY_PICK = _pick_table(_PRIORITY_WEIGHTS)
_ASSIGNEE_PICK = _pick_table(_ASSIGNEE_WEIGHTS)
_DESCRIPTION_PICK = _pick_table(_DESCRIPTION_WEIGHTS)
_LABEL_PICK = _pick_table(_LABEL_WEIGHTS)
if len(_DESCRIPTION_WEIGHTS) != len(adf.DESCRIPTION_KINDS):
    raise ValueError("every description kind needs a weight")


def spread_issue_counts(total: int, project_count: int) -> tuple[int, ...]:
    """Split `total` issues over projects: a few large ones, some empty ones.

    Projects 0, 5 and 3 get fixed shares of the total. Every 23rd project, from
    the 12th on, gets none. The rest is split by a weight from 1 to 4 per project.
    """
    if project_count <= 0:
        return ()
    counts = [0] * project_count
    for index, share in _LARGE_PROJECT_SHARES.items():
        if index < project_count:
            counts[index] = int(total * share)
    rest = total - sum(counts)

    weights = [
        0
        if index in _LARGE_PROJECT_SHARES or index % 23 == 11
        else 1 + mix64(index) % 4
        for index in range(project_count)
    ]
    weight_sum = sum(weights)
    if weight_sum == 0:
        counts[0] += rest
        return tuple(counts)
    shares = [rest * weight // weight_sum for weight in weights]
    remainder = rest - sum(shares)
    for index, weight in enumerate(weights):
        if remainder == 0:
            break
        if weight:
            shares[index] += 1
            remainder -= 1
    return tuple(count + share for count, share in zip(counts, shares, strict=True))


class IssueTable:
    """The issues of one site: columns indexed by row, built on first use.

    `project_keys` and `counts` are in the site's project order. `people_count`
    is the number of accounts that issues pick people from, and the first one is
    the practice account. The table is safe to share between threads.

    `find`, `project_index` and `rows_of_project` work at once. Every other
    method and the columns need `ensure_built()` first, which the JQL compiler
    and the issue renderer call.
    """

    def __init__(
        self,
        seed: int,
        project_keys: Sequence[str],
        counts: Sequence[int],
        people_count: int,
    ):
        self.seed = seed
        self.project_keys = tuple(project_keys)
        self.counts = tuple(counts)
        self.people_count = people_count
        self.starts = array("l", [0])
        for count in self.counts:
            self.starts.append(self.starts[-1] + count)
        self.size = self.starts[-1]
        self._project_index = {key: i for i, key in enumerate(self.project_keys)}
        self._lock = threading.Lock()
        self._built = False
        self._searches: OrderedDict[bytes, array] = OrderedDict()

    # Columns

    def ensure_built(self) -> None:
        """Build the columns if this is the first use of the table."""
        with self._lock:
            if not self._built:
                self._build_columns()
                self._built = True

    def _build_columns(self) -> None:
        hashes = [mix64(self.seed ^ row) for row in range(self.size)]
        self.status = bytes([_STATUS_PICK[h & 63] for h in hashes])
        issue_types = bytearray(_TYPE_PICK[(h >> 6) & 63] for h in hashes)
        self.priority = bytes([_PRIORITY_PICK[(h >> 12) & 63] for h in hashes])
        self.assignee = bytes([_ASSIGNEE_PICK[(h >> 18) & 63] for h in hashes])
        people = self.people_count
        self.reporter = bytes([(h >> 24) % people for h in hashes])
        self.creator = bytes(
            [
                (reporter + 1) % people if (h >> 30) & 7 == 0 else reporter
                for h, reporter in zip(hashes, self.reporter, strict=True)
            ]
        )
        self.summary = bytes([(h >> 33) % len(SUMMARIES) for h in hashes])
        self.description = bytes([_DESCRIPTION_PICK[(h >> 39) & 63] for h in hashes])
        self.labels = bytes([_LABEL_PICK[(h >> 45) & 63] for h in hashes])

        self.project = array("H")
        self.created = array("q")
        self.updated = array("q")
        for index, count in enumerate(self.counts):
            start = self.starts[index]
            # The first issue of a project is its epic, so that a subtask always
            # has an earlier issue to belong to.
            if count:
                issue_types[start] = EPIC
            self.project.extend([index] * count)
            self._add_times(index, hashes[start : start + count])
        self.issue_type = bytes(issue_types)

    def _add_times(self, project_index: int, hashes: list[int]) -> None:
        """Append created and updated times for one project's issues, in order."""
        project_hash = mix64(self.seed + project_index)
        first_minute = project_hash % (_CREATED_SPAN_MINUTES // 3)
        step = max(1, (_CREATED_SPAN_MINUTES - first_minute) // (len(hashes) + 1))
        for number, h in enumerate(hashes, start=1):
            minute = first_minute + number * step + (h >> 50) % max(1, step // 2)
            created = _EPOCH_MS + minute * 60_000 + (h >> 20) % 60_000
            if (h >> 60) == 0:
                updated = created + (h >> 8) % 500
            else:
                updated = created + ((h >> 36) % _MAX_UPDATE_MINUTES) * 60_000 + 1
            self.created.append(created)
            self.updated.append(updated)

    # Lookups

    def project_index(self, key: str) -> int | None:
        return self._project_index.get(key)

    def rows_of_project(self, project_index: int) -> range:
        return range(self.starts[project_index], self.starts[project_index + 1])

    def number_of(self, row: int) -> int:
        """Return the issue's number within its project, starting at 1."""
        return row - self.starts[self.project[row]] + 1

    def key_of(self, row: int) -> str:
        return f"{self.project_keys[self.project[row]]}-{self.number_of(row)}"

    def find(self, id_or_key: str) -> int | None:
        """Return the row of an issue id (digits) or key (KEY-N), or None."""
        if id_or_key.isdigit():
            row = int(id_or_key) - FIRST_ISSUE_ID
            return row if 0 <= row < self.size else None
        match = re.fullmatch(r"([A-Za-z][A-Za-z0-9_]*)-(\d+)", id_or_key)
        if match is None:
            return None
        index = self.project_index(match.group(1).upper())
        number = int(match.group(2))
        if index is None or not 1 <= number <= self.counts[index]:
            return None
        return self.starts[index] + number - 1

    def parent_of(self, row: int) -> int | None:
        """Return the row of a subtask's parent: the closest earlier issue of the
        same project that is not a subtask. Other issues have no parent."""
        if self.issue_type[row] != SUBTASK:
            return None
        first = self.starts[self.project[row]]
        for candidate in range(row - 1, first - 1, -1):
            if self.issue_type[candidate] != SUBTASK:
                return candidate
        return None

    def subtasks_of(self, row: int) -> list[int]:
        """Return the rows of the subtasks that directly follow a parent issue."""
        if self.issue_type[row] == SUBTASK:
            return []
        end = self.starts[self.project[row] + 1]
        children = []
        for candidate in range(row + 1, end):
            if self.issue_type[candidate] != SUBTASK:
                break
            children.append(candidate)
        return children

    # Search results

    def cached_search(self, fingerprint: bytes, compute: Callable[[], array]) -> array:
        """Return the rows of a search, computing them when not cached."""
        with self._lock:
            rows = self._searches.get(fingerprint)
            if rows is not None:
                self._searches.move_to_end(fingerprint)
                return rows
        rows = compute()
        with self._lock:
            self._searches[fingerprint] = rows
            while len(self._searches) > _CACHED_SEARCHES:
                self._searches.popitem(last=False)
        return rows
