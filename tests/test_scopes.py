"""The scope catalogue's task table: the smallest scope set for what a person does."""

import pytest

from lib import scopes


@pytest.mark.parametrize(
    ("tasks", "expected"),
    [
        (["browse_projects"], ("read:jira-work",)),
        (["browse_projects", "read_issues"], ("read:jira-work",)),
        (["jira_profile"], ("read:jira-user",)),
        (
            ["browse_spaces", "read_pages"],
            ("read:space:confluence", "read:page:confluence"),
        ),
        (["create_issues"], ("write:jira-work",)),
        (["write_pages"], ("write:confluence-content",)),
        (["identity", "stay_connected"], ("read:me", "offline_access")),
        ([], ()),
    ],
)
def test_scopes_for_tasks(tasks, expected):
    assert scopes.scopes_for_tasks(tasks) == expected


def test_scopes_for_tasks_follow_catalogue_order():
    found = scopes.scopes_for_tasks(["stay_connected", "read_pages", "read_issues"])
    assert found == ("read:jira-work", "read:page:confluence", "offline_access")


def test_every_task_scope_is_in_the_catalogue():
    for task in scopes.TASKS:
        for name in scopes.scopes_for_tasks([task.key]):
            assert name in scopes.BY_NAME, (task.key, name)


def test_task_scopes_meet_each_call():
    for task in scopes.TASKS:
        granted = frozenset(scopes.scopes_for_tasks([task.key]))
        assert all(req.is_met_by(granted) for req in task.requirements), task.key


def test_smallest_set_shares_scopes_between_calls():
    # Taking each call's cheapest set in turn would give {x, g}; sharing g is smaller.
    first = scopes.Requirement(classic=frozenset({"x"}), granular=frozenset({"g"}))
    second = scopes.Requirement(
        classic=frozenset({"y", "z"}), granular=frozenset({"g"})
    )
    assert scopes.smallest_scope_set([first, second]) == {"g"}


def test_smallest_set_prefers_classic_on_a_tie():
    requirement = scopes.Requirement(
        classic=frozenset({"read:confluence-space.summary"}),
        granular=frozenset({"read:content-details:confluence"}),
    )
    assert scopes.smallest_scope_set([requirement]) == requirement.classic


def test_smallest_set_of_nothing_is_empty():
    assert scopes.smallest_scope_set([]) == frozenset()


def test_unknown_task_rejected():
    with pytest.raises(KeyError):
        scopes.scopes_for_tasks(["make coffee"])
