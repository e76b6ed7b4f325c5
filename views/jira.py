"""Explore Jira: projects, the issues of one project or of any JQL, one issue."""

import streamlit as st

from lib import jira
from lib.errors import DashboardError
from ui import cache
from ui.common import escape_markdown, open_store, show_error
from ui.explore import (
    GrowingTable,
    choose_item,
    continue_pages,
    jira_time,
    keep,
    missing_product_text,
    open_explorer,
    refresh_button,
    restore,
    site_link,
)
from ui.request_log import stop_page

PAGE_SIZE = 50

st.title("Jira")
store = open_store()
explorer = open_explorer(store)
session, endpoints, site = explorer.session, explorer.endpoints, explorer.site

st.caption(escape_markdown(f"Site {site.name} ({site.url})"))
if "jira" not in site.products:
    st.info(missing_product_text("Jira", explorer.connection.granted_scopes))
    stop_page()


def _project_rows(projects) -> list[dict]:
    return [
        {
            "key": project.key,
            "name": project.name,
            "type": project.type_key,
            "lead": project.lead,
            "open": site_link(site, f"/browse/{project.key}"),
        }
        for project in projects
    ]


PROJECT_COLUMNS = {"open": st.column_config.LinkColumn("open", display_text="Open")}

# Projects ----------------------------------------------------------------------

st.header("Projects")
filter_columns = st.columns([3, 2, 2])
for widget_key in ("jira_query", "jira_type", "jira_order", "jira_mode", "jira_jql"):
    restore(widget_key)
query = filter_columns[0].text_input(
    "Search projects",
    key="jira_query",
    help="Sent to Jira as the query parameter: matches project keys and names, "
    "ignoring case.",
)
type_choice = filter_columns[1].selectbox(
    "Type",
    ["all", *jira.PROJECT_TYPES],
    key="jira_type",
    help="Jira's project type (typeKey).",
)
order_by = filter_columns[2].selectbox(
    "Sort",
    list(jira.PROJECT_ORDERS),
    key="jira_order",
    format_func=jira.PROJECT_ORDERS.get,
)
for widget_key in ("jira_query", "jira_type", "jira_order"):
    keep(widget_key)
filters = {
    "query": query.strip() or None,
    "type_key": None if type_choice == "all" else type_choice,
    "order_by": order_by,
    "with_lead": True,
}
filter_key = tuple(sorted(filters.items(), key=str))
if st.session_state.get("project_filters") != filter_key:
    st.session_state["project_filters"] = filter_key
    st.session_state["project_start"] = 0
start_at = st.session_state.setdefault("project_start", 0)

all_projects = cache.get(explorer.key("projects", "all", filter_key))
button_columns = st.columns([1, 1, 1, 3])
load_all = button_columns[2].button(
    "Load all",
    icon=":material/download:",
    help="Fetch every page, four at a time, at the largest page size (100).",
)
with button_columns[3]:
    refresh_button("projects")

try:
    if load_all and all_projects is None:
        progress = st.progress(0.0, text="Loading projects…")
        table = GrowingTable()
        collected: list = []
        for page in jira.iter_all_projects(
            session, endpoints, site.cloud_id, **filters
        ):
            collected.extend(page.projects)
            total = page.total or len(collected)
            progress.progress(
                min(1.0, len(collected) / max(total, 1)),
                text=f"Loaded {len(collected)} of {total} projects",
            )
            table.show(lambda: _project_rows(collected))
        progress.empty()
        table.clear()
        all_projects = tuple(collected)
        cache.put(
            explorer.key("projects", "all", filter_key), all_projects, pinned=True
        )

    if all_projects is not None:
        projects = all_projects
        st.caption(f"All {len(projects)} projects.")
    else:
        page = cache.cached(
            explorer.key("projects", start_at, filter_key),
            lambda: jira.search_projects(
                session,
                endpoints,
                site.cloud_id,
                start_at=start_at,
                max_results=PAGE_SIZE,
                **filters,
            ),
        )
        projects = page.projects
        total = page.total if page.total is not None else "?"
        st.caption(
            f"Projects {start_at + 1}–{start_at + len(projects)} of {total}. "
            f"GET `{page.url}`"
            if projects
            else "No project matches."
        )
        if button_columns[0].button("Previous", disabled=start_at == 0):
            st.session_state["project_start"] = max(0, start_at - PAGE_SIZE)
            st.rerun()
        if button_columns[1].button("Next", disabled=page.is_last):
            st.session_state["project_start"] = start_at + len(projects)
            st.rerun()
except DashboardError as exc:
    show_error(exc)
    stop_page()

st.dataframe(
    cache.frame(projects, lambda: _project_rows(projects)),
    hide_index=True,
    width="stretch",
    column_config=PROJECT_COLUMNS,
)
project_key = choose_item(
    "Project",
    {project.key: f"{project.key}: {project.name}" for project in projects},
    placeholder="Choose a project to see its issues",
    key="jira_project",
)

# Issues ------------------------------------------------------------------------

st.header("Issues")
mode = st.radio(
    "Search",
    ["project", "jql"],
    key="jira_mode",
    format_func={
        "project": "Issues of the selected project",
        "jql": "Any JQL query",
    }.get,
    horizontal=True,
)
keep("jira_mode")
if mode == "project":
    if not project_key:
        st.info("Choose a project above to see its issues.")
        stop_page()
    jql = jira.project_jql(project_key)
    st.caption(f"JQL built from the project key: `{jql}`")
else:
    if "jira_jql" not in st.session_state:
        st.session_state["jira_jql"] = (
            jira.project_jql(project_key) if project_key else ""
        )
    jql = st.text_area(
        "JQL",
        key="jira_jql",
        help="Sent to Jira as typed. Jira requires a bounded query, one with a "
        "restriction such as project = KEY. Press Ctrl+Enter to run it.",
    )
    keep("jira_jql")
    if not jql.strip():
        st.info("Write a JQL query, for example project = ENG ORDER BY created DESC.")
        stop_page()

issues_key = explorer.key("issues", jql)
loaded = cache.get(issues_key)
try:
    if loaded is None:
        first = jira.search_issues(session, endpoints, site.cloud_id, jql)
        loaded = {"items": list(first.issues), "next": first.next_token}
        cache.put(issues_key, loaded)
except DashboardError as exc:
    show_error(exc)
    stop_page()

issues = loaded["items"]
count_columns = st.columns([1, 1, 2])
try:
    count = cache.cached(
        explorer.key("count", jql),
        lambda: jira.approximate_count(session, endpoints, site.cloud_id, jql),
    )
except DashboardError as exc:
    count_columns[0].metric("Issues (approximate)", "—")
    count_columns[0].caption(escape_markdown(f"Count unavailable: {exc.message}"))
else:
    count_columns[0].metric("Issues (approximate)", f"{count:,}")
count_columns[1].metric("Loaded", len(issues))
if loaded["next"] and count_columns[2].button(
    "Load more", icon=":material/expand_more:"
):
    try:
        continue_pages(
            loaded,
            lambda token: jira.search_issues(
                session, endpoints, site.cloud_id, jql, next_page_token=token
            ),
            next_of=lambda page: page.next_token,
            max_pages=1,
        )
    except DashboardError as exc:
        show_error(exc)
    cache.put(issues_key, loaded, pinned=True)
    st.rerun()


def _issue_rows() -> list[dict]:
    return [
        {
            "key": issue.key,
            "summary": issue.summary,
            "status": issue.status,
            "type": issue.issue_type,
            "assignee": issue.assignee,
            "updated": jira_time(issue.updated),
        }
        for issue in issues
    ]


st.dataframe(cache.frame(issues, _issue_rows), hide_index=True, width="stretch")
if not issues:
    st.info("No issue matches this query.")

if st.toggle(
    "Chart the issues by status and by type",
    key="jira_chart",
    help="Reads the status and type of every matching issue (up to 10,000), a "
    "thousand per request, so it is only done when asked.",
):
    try:
        breakdown = cache.cached(
            explorer.key("breakdown", jql),
            lambda: jira.issue_breakdown(session, endpoints, site.cloud_id, jql),
        )
    except DashboardError as exc:
        show_error(exc)
    else:
        chart_columns = st.columns(2)
        chart_columns[0].bar_chart(
            dict(breakdown.by_status), x_label="status", y_label="issues"
        )
        chart_columns[1].bar_chart(
            dict(breakdown.by_type), x_label="type", y_label="issues"
        )
        if not breakdown.complete:
            st.caption(f"Counted from the first {breakdown.counted} issues.")

# One issue ---------------------------------------------------------------------

chosen_key = choose_item(
    "Issue",
    {issue.key: f"{issue.key}: {(issue.summary or '')[:80]}" for issue in issues},
    placeholder="Choose an issue to see its details",
    key="jira_issue",
)
if chosen_key is None:
    stop_page()
try:
    detail = cache.cached(
        explorer.key("issue", chosen_key),
        lambda: jira.get_issue(session, endpoints, site.cloud_id, chosen_key),
    )
except DashboardError as exc:
    show_error(exc)
    stop_page()

issue = detail.issue
st.subheader(escape_markdown(f"{issue.key}: {issue.summary or '(no summary)'}"))
facts = st.columns(4)
facts[0].metric("Status", issue.status or "—")
facts[1].metric("Type", issue.issue_type or "—")
facts[2].metric("Assignee", issue.assignee or "Unassigned")
facts[3].metric("Priority", issue.priority or "—")
st.caption(
    escape_markdown(
        f"Created {jira_time(issue.created)}, updated {jira_time(issue.updated)}, "
        "reported "
        f"by {detail.reporter or 'unknown'}. Labels: "
        f"{', '.join(detail.labels) or 'none'}."
    )
)
st.link_button(
    "Open in Jira",
    site_link(site, f"/browse/{issue.key}"),
    icon=":material/open_in_new:",
)
st.text(detail.description or "(no description)")
# Drawn only on request: a closed expander would still send the JSON every run.
if st.toggle("Show the raw response", key="jira_issue_raw"):
    st.json(detail.raw, expanded=False)
