"""Explore: the grant's sites, then the first page of Jira projects and Confluence
spaces on the chosen site."""

import streamlit as st

from lib import confluence, jira
from lib.errors import DashboardError
from ui import cache
from ui.common import escape_markdown, open_store, show_error
from ui.explore import choose_site, missing_product_text, open_grant


def _rows(items, type_field: str) -> list[dict]:
    """Return the key, name and type of projects or spaces, one row each."""
    return [
        {"key": item.key, "name": item.name, "type": getattr(item, type_field)}
        for item in items
    ]


store = open_store()

st.title("Sites and first look")

grant = open_grant(store)
connection, sites = grant.connection, grant.sites
session, endpoints = grant.session, grant.endpoints

st.subheader("Sites this connection reaches")
if connection.is_api_token:
    st.caption(
        "An API-token connection reaches the one site it was verified on; its "
        "cloud id comes from the site's /_edge/tenant_info."
    )
else:
    st.caption(f"From GET `{endpoints.accessible_resources_url}`")
st.dataframe(
    [
        {
            "name": site.name,
            "url": site.url,
            "products": ", ".join(site.products) or "none",
            "cloud id": site.cloud_id,
        }
        for site in sites
    ],
    hide_index=True,
    width="stretch",
    column_config={"url": st.column_config.LinkColumn("url")},
)

chosen = choose_site(store, connection, sites)
if len(sites) == 1:
    st.caption(f"Using the only site, {escape_markdown(chosen.name)}.")
else:
    st.caption(
        f"Browsing {escape_markdown(chosen.name)}, chosen in the sidebar. The "
        "choice applies to every explorer page."
    )


def _count_text(shown: int, total: int | None, is_last: bool) -> str:
    if is_last and (total is None or total == shown):
        return f"All {shown} projects."
    if total is None:
        return f"The first {shown} projects. More are on later pages."
    return f"The first {shown} of {total} projects."


jira_column, confluence_column = st.columns(2)

with jira_column:
    st.subheader(f"Jira projects on {escape_markdown(chosen.name)}")
    if "jira" not in chosen.products:
        st.info(missing_product_text("Jira", connection.granted_scopes))
    else:
        try:
            page = cache.cached(
                (
                    "first_projects",
                    connection.id,
                    connection.granted_at,
                    chosen.cloud_id,
                ),
                lambda: jira.search_projects(
                    session, endpoints, chosen.cloud_id, max_results=50
                ),
            )
        except DashboardError as exc:
            show_error(exc)
        else:
            st.caption(f"GET `{page.url}`")
            if not page.projects:
                st.info("No projects are visible to your account on this site.")
            else:
                st.dataframe(
                    cache.frame(
                        page.projects, lambda: _rows(page.projects, "type_key")
                    ),
                    hide_index=True,
                    width="stretch",
                )
                st.caption(_count_text(len(page.projects), page.total, page.is_last))
            if st.toggle("Show the raw response", key="sites_raw_projects"):
                st.json(page.raw)

with confluence_column:
    st.subheader(f"Confluence spaces on {escape_markdown(chosen.name)}")
    api = confluence.confluence_api_for(connection.granted_scopes)
    if "confluence" not in chosen.products:
        st.info(missing_product_text("Confluence", connection.granted_scopes))
    elif api is None:
        st.warning(
            "No granted scope lets the dashboard list spaces. Tick "
            "read:space:confluence (REST v2) on the Scopes page and consent again."
        )
    else:
        try:
            space_page = cache.cached(
                ("first_spaces", connection.id, connection.granted_at, chosen.cloud_id),
                lambda: confluence.list_spaces(
                    session, endpoints, chosen.cloud_id, api=api, limit=25
                ),
            )
        except DashboardError as exc:
            show_error(exc)
        else:
            st.caption(f"GET `{space_page.url}`")
            if api == "v1":
                st.info(
                    "Answered by the v1 API (/wiki/rest/api/space) because only "
                    "classic Confluence scopes were granted. Add "
                    "read:space:confluence to use REST v2."
                )
            if not space_page.spaces:
                st.info("No spaces are visible to your account on this site.")
            else:
                st.dataframe(
                    cache.frame(
                        space_page.spaces, lambda: _rows(space_page.spaces, "type")
                    ),
                    hide_index=True,
                    width="stretch",
                )
                shown = len(space_page.spaces)
                if space_page.next_url:
                    st.caption(f"The first {shown} spaces. More are on later pages.")
                else:
                    st.caption(f"All {shown} spaces.")
            if st.toggle("Show the raw response", key="sites_raw_spaces"):
                st.json(space_page.raw)
