"""Unit tests of the sandbox's JQL parser and evaluator, without a server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lib.sandbox import jql
from lib.sandbox.data import PEOPLE, build_dataset
from lib.sandbox.issues import (
    LABEL_SETS,
    STATUSES,
    SUMMARIES,
    mix64,
    spread_issue_counts,
)

NOW_MS = 1_800_000_000_000


@pytest.fixture(scope="module")
def site():
    return build_dataset().site_by_slug("practice-cloud")


@pytest.fixture(scope="module")
def context(site):
    people = [(p.account_id, p.email, p.display_name) for p in PEOPLE]
    return jql.JqlContext(site.issues, site.projects, people, 0, NOW_MS)


def run(context, query: str) -> list[int]:
    return jql.compile_query(jql.parse(query), context).run(context.table)


def error_of(context, query: str) -> list[str]:
    with pytest.raises(jql.JqlError) as raised:
        jql.compile_query(jql.parse(query), context)
    return raised.value.messages


# Parsing


def test_parse_order_only_is_unbounded():
    query = jql.parse("order by key desc")
    assert query.where is None
    assert query.order[0].descending is True


def test_parse_and_binds_tighter_than_or():
    query = jql.parse("project = A OR project = B AND status = Done")
    assert query.where.operator == "or"
    assert query.where.items[1].operator == "and"


@pytest.mark.parametrize(
    "text",
    [
        "project = CAFE",
        "project=CAFE",
        "PROJECT = cafe",
        'project = "CAFE"',
        "project = 'CAFE'",
        "project in (CAFE)",
        "project IN (CAFE) ORDER BY created DESC, key",
    ],
)
def test_parse_spellings(context, text):
    rows = run(context, text)
    assert sorted(rows) == list(context.table.rows_of_project(0))


def test_parse_escaped_quote():
    clause = jql.parse(r'summary ~ "say \"hi\""').where
    assert clause.values[0].text == 'say "hi"'


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("project = CAFE status = Done", "(line 1, character 16)"),
        ("project\n= CAFE foo", "(line 2, character 8)"),
    ],
)
def test_parse_error_position(text, position):
    with pytest.raises(jql.JqlError) as raised:
        jql.parse(text)
    assert raised.value.messages[0].endswith(position)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "project",
        "project =",
        "project = (",
        "= CAFE",
        "project in CAFE",
        "project is Done",
        "(project = CAFE",
        "project = CAFE ORDER created",
        "project = CAFE ORDER BY",
        "a & b",
    ],
)
def test_parse_syntax_errors(text):
    with pytest.raises(jql.JqlError) as raised:
        jql.parse(text)
    assert raised.value.messages[0].startswith("Error in the JQL Query: ")


# Compiling


def test_compile_lists_every_unknown_value(context):
    messages = error_of(context, "project = NOPE AND status = Nope")
    assert messages == [
        "The value 'NOPE' does not exist for the field 'project'.",
        "The value 'Nope' does not exist for the field 'status'.",
    ]


def test_compile_unsupported_operator(context):
    messages = error_of(context, "status ~ Done")
    assert messages == ["The operator '~' is not supported by the 'status' field."]


def test_compile_unknown_function(context):
    messages = error_of(context, "assignee = someoneElse()")
    assert messages == ["Unable to find JQL function 'someoneElse()'."]


def test_compile_unknown_key(context):
    messages = error_of(context, "key = CAFE-999999")
    assert messages == [
        "An issue with key 'CAFE-999999' does not exist for field 'key'."
    ]


def test_compile_too_many_order_fields(context):
    order = ", ".join(["created"] * 8)
    messages = error_of(context, f"project = CAFE ORDER BY {order}")
    assert "at most 7" in messages[0]


def test_compile_unsortable_field(context):
    messages = error_of(context, "project = CAFE ORDER BY labels")
    assert messages == ["Field 'labels' does not support sorting."]


# Evaluation


def test_status_filter(context):
    rows = run(context, 'project = CAFE AND status = "In Progress"')
    assert rows
    assert {STATUSES[context.table.status[row]].name for row in rows} == {"In Progress"}


def test_not_equal_skips_unassigned(context):
    rows = run(context, "project = CAFE AND assignee != currentUser()")
    assert all(context.table.assignee[row] not in (0, 1) for row in rows)


def test_not_in_with_empty_keeps_unassigned(context):
    rows = run(context, "project = CAFE AND assignee not in (currentUser(), EMPTY)")
    everyone_else = run(context, "project = CAFE AND assignee != currentUser()")
    assert rows == everyone_else


def test_assignee_by_email(context):
    by_email = run(context, f"assignee = '{PEOPLE[2].email}'")
    by_id = run(context, f'assignee = "{PEOPLE[2].account_id}"')
    assert by_email == by_id
    assert by_email


def test_labels_not_equal_skips_unlabelled(context):
    rows = run(context, "project = CAFE AND labels != backend")
    labels = [LABEL_SETS[context.table.labels[row]] for row in rows]
    assert all(labels)
    assert all("backend" not in item for item in labels)


def test_text_prefix(context):
    rows = run(context, 'summary ~ "logi*"')
    assert rows
    assert all(
        "login" in SUMMARIES[context.table.summary[row]].casefold() for row in rows
    )


def test_text_all_terms_required(context):
    rows = run(context, 'summary ~ "login reset"')
    summaries = {SUMMARIES[context.table.summary[row]] for row in rows}
    assert summaries == {"Login fails after a password reset"}


def test_negation(context):
    everything = run(context, "project = CAFE")
    done = run(context, 'project = CAFE AND status = "Done"')
    not_done = run(context, 'project = CAFE AND NOT status = "Done"')
    assert sorted(done + not_done) == everything


def test_relative_date(context):
    rows = run(context, "created >= -1w")
    assert rows == []


def test_key_range_ordering(context):
    rows = run(context, "project in (TOKYO, CAFE) ORDER BY key DESC")
    keys = [context.table.key_of(row) for row in rows]
    assert keys[0] == f"TOKYO-{context.table.counts[3]}"
    assert keys[-1] == "CAFE-1"


def test_default_order_is_by_id(context):
    rows = run(context, "project in (ROCKET, CAFE)")
    assert rows == sorted(rows)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-06-01", datetime(2025, 5, 31, 22, 0, tzinfo=UTC)),
        ("2025/01/15 08:30", datetime(2025, 1, 15, 7, 30, tzinfo=UTC)),
        ("-1d", datetime.fromtimestamp(NOW_MS / 1000 - 86400, UTC)),
        ("-1w 2d", datetime.fromtimestamp(NOW_MS / 1000 - 9 * 86400, UTC)),
    ],
)
def test_parse_date(text, expected):
    assert jql.parse_date(text, NOW_MS) == int(expected.timestamp() * 1000)


def test_parse_date_invalid():
    assert jql.parse_date("yesterday", NOW_MS) is None


# Sample data


def test_spread_sums_to_total():
    assert sum(spread_issue_counts(2000, 120)) == 2000


def test_spread_has_empty_projects():
    assert 0 in spread_issue_counts(2000, 120)


def test_spread_single_project():
    assert spread_issue_counts(10, 1) == (10,)


def test_mix64_is_stable():
    assert mix64(1) == mix64(1)
    assert mix64(1) != mix64(2)


def test_issue_table_is_deterministic(site):
    other = build_dataset().site_by_slug("practice-cloud").issues
    other.ensure_built()
    site.issues.ensure_built()
    assert other.summary == site.issues.summary
    assert other.created == site.issues.created


def test_first_issue_is_epic(site):
    site.issues.ensure_built()
    assert site.issues.issue_type[0] == 3


@pytest.mark.parametrize(
    "query",
    ["(" * 4990 + "project = A" + ")" * 4990, "NOT " * 2400 + "project = A"],
)
def test_deep_nesting_is_syntax_error(query):
    with pytest.raises(jql.JqlError) as caught:
        jql.parse(query)
    assert "levels deep" in str(caught.value)
